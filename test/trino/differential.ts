/**
 * One differential scenario: a fixture lake built by the real ingest, its input tables declared on Trino
 * from the Glue specs, every model run by the real runner on DuckDB and on Trino as of the same date, and
 * every relation — the inputs, the staging views, the published tables — read back from both engines for
 * compare.ts.
 */

import { join } from "node:path";
import { runLocal } from "../../functions/backends/local.ts";
import { DEFAULT_SQL_DIR, loadModels, type Model } from "../../functions/core/catalogue/models.ts";
import { loadCatalogueModels } from "../../functions/core/catalogue/stages.ts";
import { type ConfigInput, parseConfig } from "../../functions/core/config.ts";
import { type RunSummary, runModels } from "../../functions/core/runner/run.ts";
import { STAGES } from "../../functions/core/stages/index.ts";
import { DuckDBWarehouse } from "../../functions/engines/duckdb/warehouse.ts";
import { LocalObjectStore } from "../../functions/storage/local.ts";
import { LocalModelOutputs } from "../../functions/storage/local-outputs.ts";
import type { CompareOptions, Relation } from "./compare.ts";
import { AS_OF, buildFixtureLake, type FixtureLake, type FixtureOptions } from "./fixture-lake.ts";
import { registerLakeTables } from "./lake-tables.ts";
import { type TrinoQueryable, TrinoWarehouse } from "./trino-warehouse.ts";

export interface Scenario {
  /** Lower-case word: names the Trino schemas and the work directory. */
  readonly name: string;
  readonly fixture: FixtureOptions;
  readonly config: ConfigInput;
  readonly why: string;
  /** The as-of of both runs; default the fixture lake's AS_OF. */
  readonly asOf?: string;
  /** Models to run (with everything they depend on), as `crmlake run --models`; default all. */
  readonly models?: readonly string[];
  /** Models directory; default the project's `sql/`. */
  readonly sqlDir?: string;
}

/** A relation to compare, read from both engines. */
export interface Pair {
  readonly name: string;
  readonly kind: "input" | "view" | "table";
  readonly options: CompareOptions;
  readonly duckdb: Relation;
  readonly trino: Relation;
}

export interface ScenarioRun {
  readonly scenario: Scenario;
  readonly lake: FixtureLake;
  readonly models: readonly Model[];
  readonly duckdbRun: RunSummary;
  readonly trinoRun: RunSummary;
  readonly pairs: readonly Pair[];
  /** Wall-clock milliseconds per phase. */
  readonly timings: Readonly<Record<"lake" | "register" | "duckdb" | "trino" | "read", number>>;
  readonly slowestTrinoStatements: readonly { sql: string; ms: number }[];
}

/** Input relations: rows are identified by their lineage (every curated row and quarantined line has one). */
const INPUT_OPTIONS: Readonly<Record<string, CompareOptions>> = {
  transactions: { key: ["drop_id", "line_number"], columnOrder: "exact" },
  customers: { key: ["drop_id", "line_number"], columnOrder: "exact" },
  campaigns: { key: ["drop_id", "line_number"], columnOrder: "exact" },
  campaign_contacts: { key: ["drop_id", "line_number"], columnOrder: "exact" },
  // The system tables are declared once (functions/core/catalogue/system-tables.ts): same columns, same order
  // (partition keys last), same types on both engines, so they compare like the rest.
  quarantine: { key: ["dataset", "drop_id", "line_number"], columnOrder: "exact" },
  drops: { key: ["drop_id", "ledger_dir"], columnOrder: "exact" },
};

/** Keys of the staging views (tables have their header's unique_key). */
const VIEW_KEYS: Readonly<Record<string, readonly string[]>> = {
  stg_transactions: ["drop_id", "line_number"],
  stg_customers: ["customer_id"],
  stg_campaign_contacts: ["campaign_id", "customer_id"],
};

/**
 * Looser tolerances for some published doubles. clv_model's standard errors come from a Hessian taken by
 * central differences of the analytic gradient (functions/core/stats/clv-fit.ts), precise to about √ε ≈ 1e-8
 * relative: the engines' sums differ in the last bits, which moves the optimum by ~1e-12 and the standard
 * errors by up to ~1e-8, while the parameters themselves still agree within 1e-9.
 */
const TOLERANCES: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  clv_model: Object.fromEntries(
    ["r_se", "alpha_se", "a_se", "b_se", "p_se", "q_se", "gamma_se"].map((c) => [c, 1e-7]),
  ),
};

async function timed<T>(timings: Record<string, number>, phase: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await work();
  } finally {
    timings[phase] = performance.now() - started;
  }
}

function fromRows(
  columns: readonly { name: string; type: string }[],
  rows: readonly Record<string, unknown>[],
): Relation {
  return { columns, rows: rows.map((row) => columns.map((c) => row[c.name] ?? null)) };
}

/** The relation without its last column when that column is `as_of` (published tables). */
function withoutAsOf(relation: Relation): Relation {
  const last = relation.columns.at(-1);
  if (last?.name !== "as_of") throw new Error(`expected as_of as the last column, got ${last?.name}`);
  return { columns: relation.columns.slice(0, -1), rows: relation.rows.map((r) => r.slice(0, -1)) };
}

export async function runScenario(
  trino: TrinoQueryable,
  scenario: Scenario,
  root: string,
): Promise<ScenarioRun> {
  const timings: Record<string, number> = {};
  const dir = join(root, scenario.name);
  const config = parseConfig(scenario.config, `scenario ${scenario.name}`);
  const asOf = scenario.asOf ?? AS_OF;
  const lake = await timed(timings, "lake", () => buildFixtureLake(dir, scenario.fixture));

  const inputSchema = `${scenario.name}_lake`;
  const runSchema = `${scenario.name}_run`;
  // A reused server (CRMLAKE_TRINO_URL) may still hold the schemas of an earlier run.
  for (const schema of [runSchema, inputSchema])
    await trino.query(`DROP SCHEMA IF EXISTS hive.${schema} CASCADE`);
  await timed(timings, "register", () =>
    registerLakeTables(trino, inputSchema, lake.lakeDir, join(dir, "trino-schemas", inputSchema)),
  );

  const sqlDir = scenario.sqlDir ?? DEFAULT_SQL_DIR;
  // The project's models run with the project's TypeScript stages on both engines (the Trino warehouse reads
  // a stage's files back as the Athena adapter does); a scenario's own SQL directory runs without stages.
  const stages = scenario.sqlDir === undefined ? STAGES : [];
  const models = scenario.sqlDir === undefined ? await loadCatalogueModels(sqlDir) : await loadModels(sqlDir);
  // The real runner on each engine, same lake, same as_of, same config. DuckDB publishes into the lake
  // itself (as `crmlake run` does); Trino's outputs go to a lake directory of their own.
  const selection = scenario.models === undefined ? {} : { models: scenario.models };
  const duck = await DuckDBWarehouse.open(lake.lakeDir);
  const trinoLake = join(dir, "trino-lake");
  const trinoWarehouse = new TrinoWarehouse(trino, {
    inputSchema,
    runSchema,
    lakeDir: trinoLake,
    inputLakeDir: lake.lakeDir,
  });
  try {
    const duckdbRun = await timed(timings, "duckdb", () =>
      runLocal({ lakeDir: lake.lakeDir, sqlDir, warehouse: duck, asOf, config, stages, ...selection }),
    );
    // Trino publishes into a lake of its own, but pins its inputs from the ledger of the lake its input
    // tables are over, and reads them through the Athena adapter's symlink tables of its manifests (ADR 0010).
    const trinoRun = await timed(timings, "trino", () =>
      runModels({
        sqlDir,
        warehouse: trinoWarehouse,
        outputs: new LocalModelOutputs(trinoLake),
        lake: new LocalObjectStore(lake.lakeDir),
        asOf,
        config,
        stages,
        ...selection,
      }),
    );

    const pairs = await timed(timings, "read", async () => {
      const read: Pair[] = [];
      const readDuck = async (sql: string) => {
        const result = await duck.query(sql);
        return fromRows(result.columns, result.rows);
      };
      const readTrino = async (sql: string): Promise<Relation> => trinoWarehouse.select(sql);
      for (const [name, options] of Object.entries(INPUT_OPTIONS)) {
        // Both through the runner's input relations: DuckDB's lake views, the run schema's views on Trino.
        const sql = `SELECT * FROM ${name}`;
        read.push({ name, kind: "input", options, duckdb: await readDuck(sql), trino: await readTrino(sql) });
      }
      const ran = new Set(duckdbRun.models.map((m) => m.model));
      for (const model of models.filter((m) => ran.has(m.name))) {
        // A view, or a temporary model (DuckDB computed it once, Trino reads it as a view): never published.
        if (model.header.materialized !== "table") {
          const sql = `SELECT * FROM ${model.name}`;
          const key = VIEW_KEYS[model.name];
          read.push({
            name: model.name,
            kind: "view",
            options: { columnOrder: "exact", ...(key === undefined ? {} : { key }) },
            duckdb: await readDuck(sql),
            trino: await readTrino(sql),
          });
        } else {
          // The published partition, read the way users read it: through the query view / the table.
          const sql = `SELECT * FROM ${model.name} WHERE as_of = DATE '${asOf}'`;
          read.push({
            name: model.name,
            kind: "table",
            options: {
              columnOrder: "exact",
              key: model.header.uniqueKey,
              ...(TOLERANCES[model.name] === undefined ? {} : { tolerances: TOLERANCES[model.name] }),
            },
            duckdb: withoutAsOf(await readDuck(sql)),
            trino: withoutAsOf(await readTrino(sql)),
          });
        }
      }
      return read;
    });

    const slowestTrinoStatements = [...trinoWarehouse.history].sort((a, b) => b.ms - a.ms).slice(0, 3);
    return {
      scenario,
      lake,
      models,
      duckdbRun,
      trinoRun,
      pairs,
      timings: {
        lake: timings.lake ?? 0,
        register: timings.register ?? 0,
        duckdb: timings.duckdb ?? 0,
        trino: timings.trino ?? 0,
        read: timings.read ?? 0,
      },
      slowestTrinoStatements,
    };
  } finally {
    await duck.close();
  }
}
