import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { DuckDBConnection } from "@duckdb/node-api";
import {
  COLUMN_TYPES,
  CONTRACTS,
  DATASET_NAMES,
  type DatasetContract,
  LINEAGE_COLUMNS,
} from "../../core/catalogue/contracts.ts";
import { LAKE } from "../../core/catalogue/layout.ts";
import { SYSTEM_TABLES } from "../../core/catalogue/system-tables.ts";
import { sqlIdent, sqlString } from "./session.ts";
import { systemTableSelect } from "./system-tables.ts";

async function hasFiles(dir: string, suffix: string): Promise<boolean> {
  try {
    const entries = await readdir(dir, { recursive: true });
    for (const entry of entries) {
      if (entry.endsWith(suffix) && !entry.includes(".tmp-") && (await stat(join(dir, entry))).isFile())
        return true;
    }
    return false;
  } catch {
    return false;
  }
}

/** The typed columns of a curated dataset, in file order, plus its partition column if any. */
export function curatedColumns(contract: DatasetContract): { name: string; sql: string }[] {
  return [
    ...contract.columns.map((c) => ({ name: c.name, sql: COLUMN_TYPES[c.type].sql })),
    ...LINEAGE_COLUMNS.map((c) => ({ name: c.name, sql: COLUMN_TYPES[c.type].sql })),
    ...(contract.partition ? [{ name: contract.partition.column, sql: "VARCHAR" }] : []),
  ];
}

/** A typed, empty SELECT: what a table looks like before anything was ingested into it. */
function emptySelect(columns: readonly { name: string; sql: string }[]): string {
  return `SELECT ${columns.map((c) => `CAST(NULL AS ${c.sql}) AS ${sqlIdent(c.name)}`).join(", ")} WHERE false`;
}

/**
 * Creates (or replaces) views over a local lake directory: `transactions`, `customers`, `campaigns`,
 * `campaign_contacts`, `quarantine` and `drops`. A dataset with no files yet is an empty view of the
 * right types, so queries and models run on a fresh lake.
 */
export async function attachLakeViews(connection: DuckDBConnection, lakeDir: string): Promise<void> {
  for (const name of DATASET_NAMES) {
    const contract = CONTRACTS[name];
    const columns = curatedColumns(contract);
    const dir = join(lakeDir, LAKE.curatedPrefix(name));
    const select = (await hasFiles(dir, ".parquet"))
      ? `SELECT ${columns.map((c) => `CAST(${sqlIdent(c.name)} AS ${c.sql}) AS ${sqlIdent(c.name)}`).join(", ")}
         FROM read_parquet(${sqlString(join(dir, "**", "*.parquet"))}, hive_partitioning = true,
           hive_types_autocast = false, union_by_name = true)`
      : emptySelect(columns);
    await connection.run(`CREATE OR REPLACE VIEW ${sqlIdent(name)} AS ${select}`);
  }

  // The system tables, generated from their one declaration (functions/core/catalogue/system-tables.ts).
  for (const table of [SYSTEM_TABLES.quarantine, SYSTEM_TABLES.drops]) {
    await connection.run(
      `CREATE OR REPLACE VIEW ${sqlIdent(table.name)} AS ${await systemTableSelect(table, lakeDir)}`,
    );
  }
}
