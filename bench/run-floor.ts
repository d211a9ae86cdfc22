/**
 * The floor of the run benchmark (bench/run-models.ts), in a process of its own: DuckDB opened as the local
 * backend opens it (functions/engines/duckdb/session.ts, the same threads; its RUN_MEMORY_LIMIT), then one
 * `GROUP BY customer_id` over the lake's curated transactions Parquet, written as Parquet as a model is. Only
 * the query is timed, in wall time and in the CPU time of all the process's threads. Prints one JSON line:
 * { ms, cpuMs, groups, maxRssMb }.
 *
 * Usage: tsx bench/run-floor.ts <lake> <out.parquet> [memoryLimit]
 */
import { join } from "node:path";
import { RUN_MEMORY_LIMIT } from "../functions/backends/local.ts";
import { openDuckDB, sqlString } from "../functions/engines/duckdb/session.ts";

const [lake, out, memoryLimit] = process.argv.slice(2);
if (!lake || !out) throw new Error("usage: run-floor.ts <lake> <out.parquet> [memoryLimit]");
const session = await openDuckDB({ memoryLimit: memoryLimit ?? RUN_MEMORY_LIMIT });
const files = join(lake, "curated", "transactions", "*", "*.parquet");
const started = performance.now();
const cpuStarted = process.cpuUsage();
const reader = await session.connection.runAndReadAll(`COPY (
    SELECT customer_id, COUNT(*) AS lines, SUM(amount) AS revenue, MAX(ordered_at) AS last_ordered_at
    FROM read_parquet(${sqlString(files)}, hive_partitioning = false)
    GROUP BY customer_id
  ) TO ${sqlString(out)} (FORMAT parquet, COMPRESSION zstd)`);
const ms = performance.now() - started;
const cpu = process.cpuUsage(cpuStarted);
const groups = Number(reader.getRowObjectsJS()[0]?.Count ?? 0);
session.close();
process.stdout.write(
  `${JSON.stringify({ ms: Math.round(ms), cpuMs: Math.round((cpu.user + cpu.system) / 1000), groups, maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024) })}\n`,
);
