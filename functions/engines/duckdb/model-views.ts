/**
 * Query views over published model outputs: one view per model (every as-of, with an `as_of` DATE column
 * last, as in the Glue tables), `<model>_latest` (the newest as-of only), and `runs` / `run_models` over
 * the run records. `crmlake query` and the runner both call attachModelViews, so what a user queries is
 * exactly what the runner verified after publishing. The backtest tables (`crmlake backtest`) are views too,
 * every (as_of, horizon_days) partition, both columns last.
 */
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import type { DuckDBConnection } from "@duckdb/node-api";
import { IDENTIFIER } from "../../core/catalogue/header.ts";
import { BACKTEST_LAYOUT, MODEL_LAYOUT } from "../../core/catalogue/layout.ts";
import { SYSTEM_TABLES } from "../../core/catalogue/system-tables.ts";
import { escapeGlob, sqlIdent, sqlString } from "./session.ts";
import { systemTableSelect } from "./system-tables.ts";

async function listDir(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return [];
  }
}

async function hasParquet(dir: string): Promise<boolean> {
  for (const partition of await listDir(dir)) {
    try {
      if ((await readdir(join(dir, partition))).some((f) => f.endsWith(".parquet"))) return true;
    } catch {
      // a partition removed while listing: ignore
    }
  }
  return false;
}

/** The SELECT of a model's view over every as_of partition under `modelDir`. */
export function modelViewSelect(modelDir: string): string {
  const glob = join(escapeGlob(modelDir), "as_of=*", "*.parquet");
  return `SELECT * FROM read_parquet(${sqlString(glob)}, hive_partitioning = true, hive_types = {'as_of': DATE}, union_by_name = true)`;
}

/** Names of the models with published output under `<lakeDir>/models/`, sorted. */
export async function publishedModels(lakeDir: string): Promise<string[]> {
  const root = join(lakeDir, MODEL_LAYOUT.modelsPrefix);
  const names: string[] = [];
  for (const name of (await listDir(root)).sort()) {
    if (IDENTIFIER.test(name) && (await hasParquet(join(root, name)))) names.push(name);
  }
  return names;
}

/**
 * Creates (or replaces) `<model>`, `<model>_latest`, `runs` and `run_models` views over a local lake.
 * Returns the model names it attached.
 */
export async function attachModelViews(connection: DuckDBConnection, lakeDir: string): Promise<string[]> {
  const models = await publishedModels(lakeDir);
  for (const model of models) {
    const view = sqlIdent(model);
    await connection.run(
      `CREATE OR REPLACE VIEW ${view} AS ${modelViewSelect(join(lakeDir, MODEL_LAYOUT.modelPrefix(model)))}`,
    );
    await connection.run(
      `CREATE OR REPLACE VIEW ${sqlIdent(`${model}_latest`)} AS SELECT * FROM ${view} WHERE as_of = (SELECT MAX(as_of) FROM ${view})`,
    );
  }
  await attachBacktestViews(connection, lakeDir);
  // `runs` from the system tables' one declaration (functions/core/catalogue/system-tables.ts).
  await connection.run(
    `CREATE OR REPLACE VIEW runs AS ${await systemTableSelect(SYSTEM_TABLES.runs, lakeDir)}`,
  );
  await connection.run(
    `CREATE OR REPLACE VIEW run_models AS SELECT r.run_id, r.as_of, r.status AS run_status, m.* FROM runs AS r, UNNEST(r.models) AS u(m)`,
  );
  return models;
}

/** One view per backtest table with written partitions (backtests/<table>/as_of=<d>/horizon_days=<h>/). */
async function attachBacktestViews(connection: DuckDBConnection, lakeDir: string): Promise<void> {
  const root = join(lakeDir, BACKTEST_LAYOUT.backtestsPrefix);
  for (const table of (await listDir(root)).sort()) {
    if (!IDENTIFIER.test(table)) continue;
    const dir = join(lakeDir, BACKTEST_LAYOUT.tablePrefix(table));
    const partitions = await listDir(dir);
    let found = false;
    for (const asOf of partitions) if (await hasParquet(join(dir, asOf))) found = true;
    if (!found) continue;
    const glob = join(escapeGlob(dir), "as_of=*", "horizon_days=*", "*.parquet");
    await connection.run(
      `CREATE OR REPLACE VIEW ${sqlIdent(table)} AS SELECT * FROM read_parquet(${sqlString(glob)}, hive_partitioning = true, hive_types = {'as_of': DATE, 'horizon_days': INTEGER}, union_by_name = true)`,
    );
  }
}
