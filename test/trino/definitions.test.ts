// Issue 13 on both engines: the hand-computed fixture of each numbered case (test/sql/definition-fixtures.ts)
// goes through the real ingest and the real runner on DuckDB and on a real Trino. Every relation must agree
// row for row, and the numbers the DuckDB tests check by hand are checked again on Trino's rows. Each case runs
// the models its numbers are in, with everything they depend on (the whole catalogue runs in differential.test.ts).

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  hundredCustomers,
  LIFECYCLE_FIXTURE,
  OCCASION_FIXTURE,
  overflowFixture,
  PERIODS_FIXTURE,
  TIED_PROFITS_FIXTURE,
  TIME_ZONE_FIXTURE,
  whaleFixture,
} from "../sql/definition-fixtures.ts";
import { type Comparison, compareRelations } from "./compare.ts";
import { runScenario, type Scenario, type ScenarioRun } from "./differential.ts";
import { lakeFixtureDrops } from "./fixture-lake.ts";
import { connectTrino, startTrino, type TrinoConnection, type TrinoServer } from "./server.ts";

type Row = Record<string, string | null>;

interface Case extends Scenario {
  /** Checks on Trino's published rows (each model's rows as text, keyed by column name). */
  readonly check: (rows: (model: string) => Row[]) => void;
}

const byCustomer = (rows: Row[], column: string) =>
  Object.fromEntries(rows.map((r) => [r.customer_id, r[column]]));

const CASES: readonly Case[] = [
  {
    name: "ties_tiers",
    models: ["customer_pyramid"],
    why: "case 1: values tied across the pyramid's cut-offs share a tier",
    asOf: "2024-06-30",
    fixture: { drops: lakeFixtureDrops(hundredCustomers()) },
    config: {},
    check: (rows) => {
      const tier = byCustomer(rows("customer_pyramid"), "value_tier");
      expect([tier.c001, tier.c002, tier.c003]).toEqual(["top", "top", "big"]);
      expect([tier.c005, tier.c006, tier.c007]).toEqual(["big", "big", "medium"]);
      expect([tier.c020, tier.c021, tier.c022]).toEqual(["medium", "medium", "small"]);
    },
  },
  {
    name: "ties_deciles",
    models: ["customer_profitability"],
    why: "case 1: equal profits share a decile",
    asOf: "2024-06-30",
    fixture: { drops: lakeFixtureDrops(TIED_PROFITS_FIXTURE) },
    config: {},
    check: (rows) => {
      expect(byCustomer(rows("customer_profitability"), "profit_decile")).toEqual({
        t1: "1",
        t2: "1",
        t3: "1",
        t4: "7",
        t5: "7",
      });
    },
  },
  {
    name: "lifecycle",
    models: ["customer_lifecycle", "lifecycle_summary"],
    why: "case 2: life-cycle states over the comparison period, churn against the customers active at its start",
    asOf: "2024-06-30",
    fixture: { drops: lakeFixtureDrops(LIFECYCLE_FIXTURE) },
    config: {},
    check: (rows) => {
      expect(byCustomer(rows("customer_lifecycle"), "lifecycle_stage")).toEqual({
        ac: "repeat",
        lo: "lapsed",
        lr: "won_back",
        nw: "first_time",
        pw: "repeat",
        wb: "won_back",
      });
    },
  },
  {
    name: "occasions",
    models: ["customer_rfm", "customer_lifecycle", "customer_pyramid"],
    why: "case 3: a purchase occasion is a purchase day, whatever was refunded",
    asOf: "2024-06-30",
    fixture: { drops: lakeFixtureDrops(OCCASION_FIXTURE) },
    config: {},
    check: (rows) => {
      const occasions = rows("int_purchase_occasions").map((r) => `${r.customer_id} ${r.occasion_on}`);
      expect(occasions.sort()).toEqual([
        "ex 2024-06-01",
        "md 2024-05-10",
        "od 2024-06-20",
        "rp 2024-01-10",
        "rp 2024-03-10",
      ]);
    },
  },
  {
    name: "periods",
    models: ["customer_profitability", "performance_by_category", "lifecycle_summary", "pyramid_migration"],
    why: "case 4: the value window is the 12 calendar months ending with the as-of month",
    asOf: "2024-06-15",
    fixture: { drops: lakeFixtureDrops(PERIODS_FIXTURE) },
    config: {},
    check: (rows) => {
      // a's 2023-06-20 order (100.00) is within 365 days but before July 2023: outside the window.
      expect(byCustomer(rows("customer_profitability"), "revenue")).toEqual({ a: "70.00", b: "30.00" });
    },
  },
  {
    name: "whale",
    models: ["whale_curve"],
    why: "case 5: total profit negative, cumulative profit published and shares NULL with the reason",
    asOf: "2024-06-30",
    fixture: { drops: lakeFixtureDrops(whaleFixture("-200.00")) },
    config: {},
    check: (rows) => {
      const curve = rows("whale_curve");
      expect(curve).toHaveLength(100);
      expect(new Set(curve.map((r) => `${r.cumulative_profit_share} ${r.share_null_reason}`))).toEqual(
        new Set(["null total_net_profit_negative"]),
      );
      expect(curve.find((r) => r.customer_percentile === "1")?.cumulative_net_profit).toBe("25.00");
    },
  },
  {
    name: "overflow",
    models: [
      "customer_base",
      "customer_rfm",
      "customer_profitability",
      "pyramid_summary",
      "whale_curve",
      "performance_by_category",
      "customer_needs",
    ],
    why: "case 6: one customer's lines sum to 10^16, beyond decimal(18,2)",
    asOf: "2024-06-30",
    fixture: { drops: lakeFixtureDrops(overflowFixture()) },
    config: {},
    check: (rows) => {
      expect(byCustomer(rows("customer_base"), "net_revenue")).toEqual({
        w1: "10000000000000000.00",
        w2: "10.00",
      });
    },
  },
  {
    name: "data_quality",
    why: "issue 16: a non-product line, an exact duplicate, a category, cost and discount from the products catalogue",
    asOf: "2024-06-30",
    models: ["data_quality", "non_product_lines", "data_capabilities", "customer_base", "history_checks"],
    fixture: {
      drops: [
        {
          dataset: "transactions",
          file: "lines.csv",
          text: [
            "order_id,customer_id,ordered_at,product_id,category,quantity,amount,line_type",
            "Q1,q1,2024-06-01 10:00:00,POST,,1,5.00,non_product",
            "Q1,q1,2024-06-01 10:00:00,P1,books,1,20.00,",
            "Q1,q1,2024-06-01 10:00:00,P1,books,1,20.00,", // an exact duplicate: kept, and counted
            "Q2,q2,2024-06-02 10:00:00,P2,,2,30.00,", // category and cost from the catalogue
            "",
          ].join("\n"),
        },
        {
          dataset: "products",
          file: "products.csv",
          text: "product_id,category,brand,list_price,cost\nP2,garden,Acme,16.00,9.00\n",
        },
      ],
    },
    config: {},
    check: (rows) => {
      expect(rows("non_product_lines").map((r) => [r.product_id, r.lines, r.net_amount])).toEqual([
        ["POST", "1", "5.00"],
      ]);
      // q1: the two product lines (the duplicate kept), not the postage; q2: 30.00, its cost 2 × 9.00.
      expect(byCustomer(rows("customer_base"), "net_revenue")).toEqual({ q1: "40.00", q2: "30.00" });
      expect(byCustomer(rows("customer_base"), "cost_of_goods")).toMatchObject({ q2: "18.00" });
      const quality = rows("data_quality");
      expect(quality.map((r) => [r.duplicate_lines, r.non_product_lines])).toEqual([["1", "1"]]);
      const capability = Object.fromEntries(rows("data_capabilities").map((r) => [r.dimension, r.available]));
      // No line has a discount, but P2's list price (16.00) makes q2's 2 × 16.00 − 30.00 a known one.
      expect([capability.categories, capability.discounts]).toEqual(["true", "true"]);
      expect(byCustomer(rows("customer_base"), "discounts")).toEqual({ q1: "0.00", q2: "2.00" });
      // Known categories only: q1 books (its postage is no product line), q2 garden from the catalogue.
      expect(byCustomer(rows("customer_base"), "categories")).toEqual({ q1: "1", q2: "1" });
      // One month of history as of June 30: far shorter than the 12-month value window and the 365-day lapse.
      const history = Object.fromEntries(rows("history_checks").map((r) => [r.check_code, r.is_sufficient]));
      expect([history.value_window, history.lifecycle_lapse]).toEqual(["false", "false"]);
    },
  },
  ...(
    [
      ["new_york", "America/New_York", { a: "2024-01-31", c: "2024-01-30", d: "2024-01-30" }],
      ["tokyo", "Asia/Tokyo", { c: "2024-01-31", d: "2024-01-31" }],
    ] as const
  ).map(
    ([name, zone, days]): Case => ({
      name: `zone_${name}`,
      models: ["customer_base"],
      why: `case 7: orders dated on their day in ${zone}`,
      asOf: "2024-01-31",
      fixture: { drops: lakeFixtureDrops(TIME_ZONE_FIXTURE) },
      config: { calendar: { time_zone: zone } },
      check: (rows) => {
        expect(byCustomer(rows("customer_base"), "last_order_on")).toEqual(days);
      },
    }),
  ),
];

let trino: TrinoServer | TrinoConnection;
let root: string;
const runs = new Map<string, ScenarioRun>();

function comparisonsOf(run: ScenarioRun): Map<string, Comparison> {
  return new Map(
    run.pairs.map((pair) => [
      pair.name,
      compareRelations(`${run.scenario.name}/${pair.name}`, pair.duckdb, pair.trino, pair.options),
    ]),
  );
}

beforeAll(async () => {
  const reuse = process.env.CRMLAKE_TRINO_URL;
  trino = reuse ? connectTrino(reuse) : await startTrino();
  root = await mkdtemp(join(tmpdir(), "crmlake-definitions-"));
  for (const scenario of CASES) {
    const started = performance.now();
    runs.set(scenario.name, await runScenario(trino, scenario, root));
    process.stderr.write(
      `[definitions] ${scenario.name}: ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
    );
  }
});

afterAll(async () => {
  if (trino !== undefined && "stop" in trino) await trino.stop();
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

describe.each(CASES)("$name ($why)", (scenario) => {
  it("gives the same rows on Trino as on DuckDB, in every relation", () => {
    const run = runs.get(scenario.name) as ScenarioRun;
    expect(run.trinoRun.models.every((m) => m.status !== "failed")).toBe(true);
    const problems = [...comparisonsOf(run).values()].flatMap((c) => c.problems);
    expect(problems).toEqual([]);
  });

  it("holds the hand-computed numbers on Trino", () => {
    const run = runs.get(scenario.name) as ScenarioRun;
    const rows = (model: string): Row[] => {
      const pair = run.pairs.find((p) => p.name === model);
      if (pair === undefined) throw new Error(`${model} was not read`);
      return pair.trino.rows.map((row) =>
        Object.fromEntries(
          pair.trino.columns.map((c, i) => [
            c.name,
            row[i] === null || row[i] === undefined ? null : String(row[i]),
          ]),
        ),
      );
    };
    scenario.check(rows);
  });
});
