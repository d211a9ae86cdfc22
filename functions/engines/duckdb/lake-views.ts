import { join } from "node:path";
import type { DuckDBConnection } from "@duckdb/node-api";
import {
  COLUMN_TYPES,
  CONTRACTS,
  DATASET_NAMES,
  type DatasetContract,
  LINEAGE_COLUMNS,
} from "../../core/catalogue/contracts.ts";
import { SYSTEM_TABLES } from "../../core/catalogue/system-tables.ts";
import { curatedFiles, type InputSnapshot, quarantineFiles } from "../../core/ledger/ledger.ts";
import { sqlIdent, sqlPath } from "./session.ts";
import { systemTableSelect } from "./system-tables.ts";

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
 * `campaign_contacts`, `quarantine` and `drops`. The datasets and the quarantine read exactly the files the
 * snapshot lists (docs/adr/0010-ledger-visibility-and-snapshots.md): anything else under `curated/` or
 * `quarantine/` (a killed attempt's files, a stray copy) is never read. A dataset with no files yet is an
 * empty view of the right types, so queries and models run on a fresh lake.
 */
export async function attachLakeViews(
  connection: DuckDBConnection,
  lakeDir: string,
  snapshot: InputSnapshot,
): Promise<void> {
  for (const name of DATASET_NAMES) {
    const contract = CONTRACTS[name];
    const columns = curatedColumns(contract);
    const files = curatedFiles(snapshot, name).map((key) => sqlPath(join(lakeDir, ...key.split("/"))));
    const read = `read_parquet([${files.join(", ")}], hive_partitioning = true,
           hive_types_autocast = false, union_by_name = true)`;
    // A column added to the contract later is missing from older files: a typed empty row set, unioned by
    // name, gives every column (NULL where a file lacks it).
    const from = contract.columns.some((c) => c.addedLater)
      ? `(SELECT * FROM ${read} UNION ALL BY NAME ${emptySelect(columns)})`
      : read;
    const select =
      files.length > 0
        ? `SELECT ${columns.map((c) => `CAST(${sqlIdent(c.name)} AS ${c.sql}) AS ${sqlIdent(c.name)}`).join(", ")}
         FROM ${from}`
        : emptySelect(columns);
    await connection.run(`CREATE OR REPLACE VIEW ${sqlIdent(name)} AS ${select}`);
  }

  // The system tables, generated from their one declaration (functions/core/catalogue/system-tables.ts).
  const quarantine = quarantineFiles(snapshot).map((key) => join(lakeDir, ...key.split("/")));
  await connection.run(
    `CREATE OR REPLACE VIEW quarantine AS ${await systemTableSelect(SYSTEM_TABLES.quarantine, lakeDir, quarantine)}`,
  );
  await connection.run(
    `CREATE OR REPLACE VIEW drops AS ${await systemTableSelect(SYSTEM_TABLES.drops, lakeDir)}`,
  );
}
