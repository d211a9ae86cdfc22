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
import { sqlIdent, sqlString } from "./session.ts";

/** Columns of the `quarantine` table (DESIGN.md §4). `dataset` comes from the Hive partition. */
export const QUARANTINE_COLUMNS = [
  { name: "drop_id", sql: "VARCHAR" },
  { name: "line_number", sql: "BIGINT" },
  { name: "reason_code", sql: "VARCHAR" },
  { name: "reason", sql: "VARCHAR" },
  { name: "raw", sql: "VARCHAR" },
] as const;

/** Columns of the `drops` table (the drop ledger), in the order of LedgerRecord. */
export const LEDGER_COLUMNS = [
  { name: "drop_id", sql: "VARCHAR" },
  { name: "dataset", sql: "VARCHAR" },
  { name: "source", sql: "VARCHAR" },
  { name: "content_sha256", sql: "VARCHAR" },
  { name: "size_bytes", sql: "BIGINT" },
  { name: "format", sql: "VARCHAR" },
  { name: "profile", sql: "VARCHAR" },
  { name: "status", sql: "VARCHAR" },
  { name: "rows_in", sql: "BIGINT" },
  { name: "rows_ok", sql: "BIGINT" },
  { name: "rows_quarantined", sql: "BIGINT" },
  { name: "quarantine_reasons", sql: "JSON" },
  { name: "error_code", sql: "VARCHAR" },
  { name: "error", sql: "VARCHAR" },
  { name: "warnings", sql: "VARCHAR[]" },
  { name: "output_keys", sql: "VARCHAR[]" },
  { name: "started_at", sql: "TIMESTAMP" },
  { name: "finished_at", sql: "TIMESTAMP" },
  { name: "duration_ms", sql: "BIGINT" },
] as const;

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

  const quarantineDir = join(lakeDir, LAKE.quarantinePrefix);
  const quarantineColumns = [{ name: "dataset", sql: "VARCHAR" }, ...QUARANTINE_COLUMNS];
  const quarantine = (await hasFiles(quarantineDir, ".parquet"))
    ? `SELECT ${quarantineColumns.map((c) => `CAST(${sqlIdent(c.name)} AS ${c.sql}) AS ${sqlIdent(c.name)}`).join(", ")}
       FROM read_parquet(${sqlString(join(quarantineDir, "**", "*.parquet"))}, hive_partitioning = true,
         hive_types_autocast = false)`
    : emptySelect(quarantineColumns);
  await connection.run(`CREATE OR REPLACE VIEW quarantine AS ${quarantine}`);

  const ledgerSources: string[] = [];
  for (const sub of ["drops", "rejected"]) {
    const dir = join(lakeDir, "ledger", sub);
    if (await hasFiles(dir, ".json")) {
      const columnSpec = `{${LEDGER_COLUMNS.map((c) => `${sqlString(c.name)}: ${sqlString(c.sql)}`).join(", ")}}`;
      ledgerSources.push(
        `SELECT * FROM read_json(${sqlString(join(dir, "*.json"))}, format = 'newline_delimited', columns = ${columnSpec})`,
      );
    }
  }
  const drops = ledgerSources.length > 0 ? ledgerSources.join(" UNION ALL ") : emptySelect(LEDGER_COLUMNS);
  await connection.run(`CREATE OR REPLACE VIEW drops AS ${drops}`);
}
