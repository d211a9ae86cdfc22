// The floor of the demo benchmark (bench/demo.ts), in a plain Node process of its own (no transpiling, as the
// demo runs from the prebuilt bundle): what the demo cannot avoid doing with the transactions it generated, in
// DuckDB with the local backend's settings (functions/engines/duckdb/session.ts). The generated CSV files read
// with their types (lines that do not parse skipped, as quarantine would take them), written as
// month-partitioned Parquet (ingest's floor), then one GROUP BY customer_id over that Parquet written as Parquet
// (the run's floor). The caller times the whole process, start-up included, as it times the demo.
//
// Usage: node bench/demo-floor.mjs <drops/transactions dir> <work dir>
import { mkdirSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";

const [drops, work] = process.argv.slice(2);
if (!drops || !work) throw new Error("usage: demo-floor.mjs <transactions dir> <work dir>");
mkdirSync(work, { recursive: true });
const quote = (text) => `'${text.replaceAll("'", "''")}'`;
const instance = await DuckDBInstance.create(":memory:", {
  threads: String(availableParallelism()),
  memory_limit: "2GB",
  temp_directory: join(work, "tmp"),
});
const connection = await instance.connect();
const curated = join(work, "curated");
await connection.run(`COPY (
    SELECT *, strftime(ordered_at, '%Y-%m') AS month
    FROM read_csv(${quote(join(drops, "*.csv"))}, header = true, ignore_errors = true,
      columns = {'order_id': 'VARCHAR', 'customer_id': 'VARCHAR', 'ordered_at': 'TIMESTAMP',
        'product_id': 'VARCHAR', 'category': 'VARCHAR', 'channel': 'VARCHAR', 'store_id': 'VARCHAR',
        'quantity': 'INTEGER', 'amount': 'DECIMAL(18,2)', 'cost': 'DECIMAL(18,2)', 'discount': 'DECIMAL(18,2)'})
  ) TO ${quote(curated)} (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (month))`);
await connection.run(`COPY (
    SELECT customer_id, COUNT(*) AS lines, SUM(amount) AS revenue, MAX(ordered_at) AS last_ordered_at
    FROM read_parquet(${quote(join(curated, "*", "*.parquet"))}, hive_partitioning = false)
    GROUP BY customer_id
  ) TO ${quote(join(work, "floor.parquet"))} (FORMAT parquet, COMPRESSION zstd)`);
connection.closeSync();
instance.closeSync();
