// The Athena dialect proof (DESIGN.md §6): every SQL model runs on a real Trino — through the real runner,
// wrapped by the Athena adapter's own statement builders — and agrees with DuckDB, row for row, on lakes the
// real ingest wrote. Set CRMLAKE_TRINO_URL to reuse a running test server while iterating.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_SQL_DIR } from "../../functions/core/catalogue/models.ts";
import { loadCatalogueModels } from "../../functions/core/catalogue/stages.ts";
import { type Comparison, compareRelations, type Relation } from "./compare.ts";
import { runScenario, type Scenario, type ScenarioRun } from "./differential.ts";
import { AS_OF, ORDERED_PAIR, PYRAMID_GROUP, UNICODE_CUSTOMER } from "./fixture-lake.ts";
import { connectTrino, serverMemory, startTrino, type TrinoConnection, type TrinoServer } from "./server.ts";

const SCENARIOS: readonly Scenario[] = [
  {
    name: "generated",
    fixture: { customers: 3000 },
    config: {},
    why: "the generator's two-year business (3,000 customers, faulty lines, a re-delivered file) plus the edge cases, default config",
  },
  {
    name: "edge",
    fixture: {},
    config: {
      pyramid: { value_measure: "net_profit" },
      affinity: { basket: "order", min_pair_baskets: 1, min_lift: 0 },
      cost_to_serve: { include_campaign_contacts: false },
      // West of UTC with daylight saving: orders dated on their New York day (issue 13, case 7).
      calendar: { time_zone: "America/New_York" },
    },
    why: "the edge cases alone (100 active customers: pyramid ties exactly on the cut-offs) and the other arm of every config switch, the business time zone included",
  },
  {
    name: "empty",
    fixture: { edgeDatasets: ["customers", "campaigns", "campaign_contacts"] },
    config: { pyramid: { value_measure: "net_revenue" } },
    why: "customers and campaigns but no transactions: every aggregate over no rows, every table that comes out empty (and the third value measure)",
  },
];

const INPUTS = ["transactions", "customers", "campaigns", "campaign_contacts", "quarantine", "drops"];
// The SQL models and the TypeScript stages, in one plan on both engines.
const MODELS = await loadCatalogueModels(DEFAULT_SQL_DIR);

let trino: TrinoServer | TrinoConnection;
let root: string;
const runs = new Map<string, ScenarioRun>();
const comparisons = new Map<string, Comparison>();
let tierStarted = 0;
let trinoStartMs = 0;

function log(line: string): void {
  process.stderr.write(`[differential] ${line}\n`);
}

function compared(
  scenario: string,
  relation: string,
): { comparison: Comparison; pair: ScenarioRun["pairs"][number] } {
  const run = runs.get(scenario);
  const pair = run?.pairs.find((p) => p.name === relation);
  const comparison = comparisons.get(`${scenario}/${relation}`);
  if (pair === undefined || comparison === undefined) throw new Error(`${scenario}/${relation} was not read`);
  return { comparison, pair };
}

beforeAll(async () => {
  tierStarted = performance.now();
  const reuse = process.env.CRMLAKE_TRINO_URL;
  trino = reuse ? connectTrino(reuse) : await startTrino();
  trinoStartMs = performance.now() - tierStarted;
  root = await mkdtemp(join(tmpdir(), "crmlake-differential-"));
  for (const scenario of SCENARIOS) {
    const run = await runScenario(trino, scenario, root);
    runs.set(scenario.name, run);
    for (const pair of run.pairs) {
      comparisons.set(
        `${scenario.name}/${pair.name}`,
        compareRelations(`${scenario.name}/${pair.name}`, pair.duckdb, pair.trino, pair.options),
      );
    }
    const t = run.timings;
    log(
      `${scenario.name} (${scenario.why}): lake ${(t.lake / 1000).toFixed(1)} s (${run.lake.totals.drops} drops, ${run.lake.totals.rejected} rejected, ${run.lake.totals.rowsOk} rows, ${run.lake.totals.rowsQuarantined} quarantined), ` +
        `Trino tables ${(t.register / 1000).toFixed(1)} s, DuckDB run ${(t.duckdb / 1000).toFixed(1)} s, Trino run ${(t.trino / 1000).toFixed(1)} s, read back ${(t.read / 1000).toFixed(1)} s`,
    );
  }
});

afterAll(async () => {
  for (const [key, c] of comparisons) {
    const d = c.doubles;
    const doubles =
      d.compared === 0
        ? ""
        : `, doubles ${d.compared} (${d.inexact} not bit-identical, max rel. diff ${d.maxRelative.toExponential(1)})`;
    log(
      `${key.padEnd(40)} ${String(c.duckdbRows).padStart(6)} rows ${c.problems.length === 0 ? "agree" : "DIFFER"}${doubles}`,
    );
  }
  const tables = MODELS.filter((m) => m.header.materialized === "table").length;
  log(
    `${MODELS.length} models (${tables} tables, ${MODELS.length - tables} views) × ${runs.size} scenarios, ${INPUTS.length} inputs each; ` +
      `Trino start ${(trinoStartMs / 1000).toFixed(1)} s, whole file ${((performance.now() - tierStarted) / 1000).toFixed(1)} s`,
  );
  if (trino !== undefined && "stop" in trino) {
    log(`Trino JVM memory at the end: ${serverMemory(trino.pid)}`);
    await trino.stop();
  }
  if (root !== undefined && !process.env.CRMLAKE_TRINO_KEEP) await rm(root, { recursive: true, force: true });
});

describe.each(SCENARIOS)("on the $name lake", ({ name }) => {
  it.each(INPUTS)(
    "Trino reads %s exactly as DuckDB does (the ingest's Parquet, the quarantine, the ledger)",
    (input) => {
      const { comparison } = compared(name, input);
      expect(comparison.problems).toEqual([]);
    },
  );

  it.each(MODELS.map((m) => m.name))("%s gives the same rows on Trino as on DuckDB", (model) => {
    const { comparison } = compared(name, model);
    expect(comparison.problems).toEqual([]);
  });

  it("runs every model on both engines in the same order, writing the same row counts", () => {
    const run = runs.get(name);
    const summary = (models: ScenarioRun["duckdbRun"]["models"]) =>
      models.map((m) => `${m.model}:${m.status}:${m.rows ?? "view"}`);
    expect(run?.trinoRun.models.length).toBe(MODELS.length);
    expect(summary(run?.trinoRun.models ?? [])).toEqual(summary(run?.duckdbRun.models ?? []));
    expect(run?.trinoRun.asOf).toBe(AS_OF);
  });
});

describe("across the scenarios", () => {
  it("gives every table the same Trino column types whatever the config (Athena re-declares a published table per run)", () => {
    // Published tables hold every as_of; a type that follows the config (varchar(12) for 'gross_margin',
    // varchar(10) for 'net_profit') makes Athena truncate the partitions written under another config.
    const typesOf = (scenario: string, model: string): string[] =>
      compared(scenario, model).pair.trino.columns.map((c) => `${c.name} ${c.type}`);
    for (const model of MODELS) {
      const reference = typesOf("generated", model.name);
      for (const scenario of SCENARIOS)
        expect(typesOf(scenario.name, model.name), `${scenario.name}/${model.name}`).toEqual(reference);
    }
  });

  it("exercises every tier, lifecycle stage, needs segment and RFM segment", () => {
    const values = (model: string, column: string): Set<unknown> => {
      const all = new Set<unknown>();
      for (const scenario of SCENARIOS) {
        const { trino: relation } = compared(scenario.name, model).pair;
        const index = relation.columns.findIndex((c) => c.name === column);
        for (const row of relation.rows) all.add(row[index]);
      }
      return all;
    };
    const sorted = (set: Set<unknown>) => [...set].map(String).sort();
    expect(sorted(values("customer_pyramid", "value_tier"))).toEqual([
      "big",
      "inactive",
      "medium",
      "prospect",
      "small",
      "top",
    ]);
    expect(sorted(values("customer_lifecycle", "lifecycle_stage"))).toEqual([
      "first_time",
      "lapsed",
      "loyal",
      "prospect",
      "repeat",
      "won_back",
    ]);
    expect(sorted(values("customer_needs", "needs_segment"))).toEqual([
      "composite",
      "null",
      "price_oriented",
      "value_oriented",
    ]);
    expect(values("customer_rfm", "rfm_segment").size).toBe(12); // 11 segments and NULL (no purchase)
    expect(values("customer_base", "customer_id").has(UNICODE_CUSTOMER)).toBe(true);
  });

  // Issue 13, case 1: ties share a rank (RANK()), so the ORDERED_PAIR tie, which ROW_NUMBER … customer_id used
  // to break by UTF-8 byte order, now gets one rank and no string order can reach value_rank on either engine.
  it("gives the ORDERED_PAIR tie one rank on both engines, whatever the engines' string order", () => {
    const relation: Relation = compared("edge", "customer_pyramid").pair.trino;
    const column = (n: string) => relation.columns.findIndex((c) => c.name === n);
    const rank = (id: string) =>
      Number(relation.rows.find((r) => r[column("customer_id")] === id)?.[column("value_rank")]);
    const [tilde, emoji] = ORDERED_PAIR;
    expect(rank(tilde)).toBeGreaterThan(0);
    expect(rank(emoji)).toBe(rank(tilde));
  });

  // Issue 13, case 1: a tie on a cut-off goes wholly to the higher tier (equal values take the lowest rank among
  // them); before, customer_id split P001/P002, P005/P006 and P020/P021 across the edges.
  it("puts each of the edge lake's pyramid ties on the default cut-offs wholly in the higher tier", () => {
    const relation: Relation = compared("edge", "customer_pyramid").pair.trino;
    const column = (n: string) => relation.columns.findIndex((c) => c.name === n);
    const tier = new Map(relation.rows.map((r) => [r[column("customer_id")], r[column("value_tier")]]));
    const active = relation.rows.filter((r) => r[column("value_rank")] !== null).length;
    expect(active).toBe(100);
    expect(PYRAMID_GROUP).toBeGreaterThanOrEqual(21);
    // Ranks: P001 = P002 = 1 (top ≤ 1), P005 = P006 = 5 (big ≤ 5), P020 = P021 = 20 (medium ≤ 20), P022 22.
    expect(
      ["P001", "P002", "P003", "P005", "P006", "P007", "P020", "P021", "P022"].map((id) => tier.get(id)),
    ).toEqual(["top", "top", "big", "big", "big", "medium", "medium", "medium", "small"]);
  });
});
