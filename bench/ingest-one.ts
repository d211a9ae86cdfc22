/**
 * One measured ingest in a fresh process (so peak RSS is this drop's alone). Prints one JSON line.
 * Usage: tsx bench/ingest-one.ts <mode: ingest|copy> <csv> <workdir>
 *   ingest  the real `ingestDrop` (validation, quarantine, partitioning, ledger)
 *   copy    baseline: DuckDB's plain typed read_csv → Parquet COPY of the same file, same settings
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { ingestDrop } from "../functions/core/ingest/ingest.ts";
import { openDuckDB, sqlString } from "../functions/engines/duckdb/session.ts";
import { LocalObjectStore } from "../functions/storage/local.ts";

const [mode, csv, work] = process.argv.slice(2);
if (!mode || !csv || !work) throw new Error("usage: ingest-one.ts <ingest|copy> <csv> <workdir>");
const duckdb = { threads: 2, memoryLimit: "1GB", tempDirectory: join(work, "spill") };
await mkdir(work, { recursive: true });
const started = performance.now();
let rows = 0;
if (mode === "ingest") {
  const { ledger } = await ingestDrop({
    store: new LocalObjectStore(join(work, "lake")),
    dataset: "transactions",
    source: { localPath: csv, uri: csv },
    workDir: work,
    duckdb,
  });
  rows = ledger.rows_in;
} else {
  const session = await openDuckDB(duckdb);
  const names = ["order_id", "customer_id", "ordered_at", "product_id", "category", "channel", "store_id"];
  const reader = await session.connection.runAndReadAll(`COPY (
      SELECT ${names.join(", ")}, TRY_CAST(quantity AS INTEGER) AS quantity, TRY_CAST(amount AS DECIMAL(18,2)) AS amount,
        TRY_CAST(cost AS DECIMAL(18,2)) AS cost, TRY_CAST(discount AS DECIMAL(18,2)) AS discount
      FROM read_csv(${sqlString(csv)}, header = true, auto_detect = false, delim = ',', quote = '"', escape = '"',
        columns = {${[...names, "quantity", "amount", "cost", "discount"].map((n) => `'${n}': 'VARCHAR'`).join(", ")}}))
    TO ${sqlString(join(work, "baseline.parquet"))} (FORMAT parquet, COMPRESSION zstd)`);
  rows = Number(reader.getRowObjectsJS()[0]?.Count ?? 0);
  session.close();
}
const ms = performance.now() - started;
process.stdout.write(
  `${JSON.stringify({ mode, rows, ms: Math.round(ms), maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024) })}\n`,
);
