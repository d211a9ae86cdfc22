/**
 * One measured ingest in a fresh process (so peak RSS is this drop's alone). Prints one JSON line.
 * Usage: tsx bench/ingest-one.ts <mode: ingest|floor|table|copy> <csv> <workdir>
 *   ingest  the real `ingestDrop` (hash, validation, quarantine, partitioning, ledger), with its steps' times
 *   floor   what ingest cannot avoid (issue 17): the file's SHA-256 as ingest computes it, then DuckDB's typed
 *           read of the CSV written as month-partitioned Parquet like the curated layout
 *   table   the floor of any ingest that parses the file once into a table: the floor's hash and typed
 *           read, but into a temporary table in file order (no validation), then the partitioned write of
 *           it with each row's line number (its row id), as ingest writes its typed table
 *   copy    DuckDB's plain typed read_csv → one Parquet file (no partitions, no hash): a second reference
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { INGEST_MEMORY_LIMIT, ingestDrop } from "../functions/core/ingest/ingest.ts";
import { sha256File } from "../functions/core/ingest/inspect.ts";
import { openDuckDB, sqlString } from "../functions/engines/duckdb/session.ts";
import { LocalObjectStore } from "../functions/storage/local.ts";

const [mode, csv, work] = process.argv.slice(2);
if (!mode || !csv || !work) throw new Error("usage: ingest-one.ts <ingest|floor|table|copy> <csv> <workdir>");
/** The ingest and its references get the same DuckDB: two threads, ingest's default memory limit. */
const duckdb = {
  threads: 2,
  memoryLimit: process.env.BENCH_DUCKDB_MEMORY ?? INGEST_MEMORY_LIMIT,
  tempDirectory: join(work, "spill"),
};
await mkdir(work, { recursive: true });
const names = ["order_id", "customer_id", "ordered_at", "product_id", "category", "channel", "store_id"];
const text = [...names, "quantity", "amount", "cost", "discount"];
const readCsv = `read_csv(${sqlString(csv)}, header = true, auto_detect = false, delim = ',', quote = '"', escape = '"',
  columns = {${text.map((n) => `'${n}': 'VARCHAR'`).join(", ")}})`;
const money = (name: string) => `TRY_CAST(${name} AS DECIMAL(18,2)) AS ${name}`;
const steps: Record<string, number> = {};
const peaks: Record<string, number> = {};
const started = performance.now();
const cpuStarted = process.cpuUsage();
let rows = 0;
if (mode === "ingest") {
  const { ledger } = await ingestDrop({
    store: new LocalObjectStore(join(work, "lake")),
    dataset: "transactions",
    source: { localPath: csv, uri: csv },
    workDir: work,
    duckdb,
    onStep: (step, ms) => {
      steps[step] = Math.round((steps[step] ?? 0) + ms);
      // The process's peak RSS when the step ended: the step that raises it is where memory goes.
      peaks[step] = Math.round(process.resourceUsage().maxRSS / 1024);
    },
  });
  rows = ledger.rows_in;
} else if (mode === "floor" || mode === "table") {
  const hashStarted = performance.now();
  await sha256File(csv);
  steps.hash = Math.round(performance.now() - hashStarted);
  const copyStarted = performance.now();
  const session = await openDuckDB(duckdb);
  await session.connection.run("SET preserve_insertion_order = false");
  const typed = ["order_id", "customer_id", "product_id", "category", "channel", "store_id"];
  const typedRead = `SELECT ${typed.join(", ")}, ordered_at, TRY_CAST(quantity AS INTEGER) AS quantity, ${["amount", "cost", "discount"].map(money).join(", ")}
    FROM (SELECT * REPLACE (CAST(TRY_CAST(ordered_at AS TIMESTAMP) AS TIMESTAMP_MS) AS ordered_at) FROM ${readCsv})`;
  let source = typedRead;
  if (mode === "table") {
    await session.connection.run("SET preserve_insertion_order = true");
    await session.connection.run(`CREATE TEMP TABLE typed AS ${typedRead}`);
    await session.connection.run("SET preserve_insertion_order = false");
    steps["read into table"] = Math.round(performance.now() - copyStarted);
    source = "SELECT *, rowid + 1 AS line_number FROM typed";
  }
  const reader = await session.connection.runAndReadAll(`COPY (
      SELECT *, strftime(ordered_at, '%Y-%m') AS order_month FROM (${source}))
    TO ${sqlString(join(work, "floor"))} (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (order_month),
      WRITE_PARTITION_COLUMNS true, FILENAME_PATTERN 'part_{i}', OVERWRITE_OR_IGNORE true)`);
  rows = Number(reader.getRowObjectsJS()[0]?.Count ?? 0);
  session.close();
  const total = Math.round(performance.now() - copyStarted);
  if (mode === "table") steps["write from table"] = total - (steps["read into table"] ?? 0);
  else steps["read and write"] = total;
} else {
  const session = await openDuckDB(duckdb);
  const reader = await session.connection.runAndReadAll(`COPY (
      SELECT ${names.join(", ")}, TRY_CAST(quantity AS INTEGER) AS quantity, ${["amount", "cost", "discount"].map(money).join(", ")}
      FROM ${readCsv})
    TO ${sqlString(join(work, "baseline.parquet"))} (FORMAT parquet, COMPRESSION zstd)`);
  rows = Number(reader.getRowObjectsJS()[0]?.Count ?? 0);
  session.close();
}
const ms = performance.now() - started;
const cpu = process.cpuUsage(cpuStarted);
process.stdout.write(
  `${JSON.stringify({ mode, rows, ms: Math.round(ms), cpuMs: Math.round((cpu.user + cpu.system) / 1000), maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024), steps, ...(mode === "ingest" ? { peakRssMbAfterStep: peaks } : {}) })}\n`,
);
