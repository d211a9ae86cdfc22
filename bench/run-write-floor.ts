/**
 * A second reference of the run benchmark (bench/run-models.ts), in a process of its own: what writing the run's
 * outputs alone costs. Every table the run published (models/<model>/as_of=<d>/*.parquet) is read into memory
 * (untimed), then written again as Parquet as the runner writes a model (ZSTD), with DuckDB opened as the local
 * backend opens it, and nothing computed. A run that publishes these tables cannot take less than this, whatever its SQL does, so
 * this figure against the run's floor bounds from below the ratio any run of this model set can reach.
 * Only the copies are timed, in wall time and in the CPU time of all the process's threads. Prints one JSON line:
 * { ms, cpuMs, tables, rows }.
 *
 * Usage: tsx bench/run-write-floor.ts <lake> <as-of> <work dir>
 */
import { readdirSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { RUN_MEMORY_LIMIT } from "../functions/backends/local.ts";
import { openDuckDB, sqlString } from "../functions/engines/duckdb/session.ts";

const [lake, asOf, work] = process.argv.slice(2);
if (!lake || !asOf || !work) throw new Error("usage: run-write-floor.ts <lake> <as-of> <work dir>");
await mkdir(work, { recursive: true });
const session = await openDuckDB({ memoryLimit: RUN_MEMORY_LIMIT });
const modelsDir = join(lake, "models");
const tables = readdirSync(modelsDir).filter((model) =>
  readdirSync(join(modelsDir, model)).includes(`as_of=${asOf}`),
);
// Each table read into memory first, untimed: the timed part is the writes alone.
for (const [i, model] of tables.entries()) {
  const files = join(modelsDir, model, `as_of=${asOf}`, "*.parquet");
  await session.connection.run(`CREATE TEMP TABLE t${i} AS SELECT * FROM read_parquet(${sqlString(files)})`);
}
let rows = 0;
const started = performance.now();
const cpuStarted = process.cpuUsage();
for (const [i, model] of tables.entries()) {
  const reader = await session.connection.runAndReadAll(
    `COPY t${i} TO ${sqlString(join(work, `${model}.parquet`))} (FORMAT parquet, COMPRESSION zstd)`,
  );
  rows += Number(reader.getRowObjectsJS()[0]?.Count ?? 0);
}
const ms = performance.now() - started;
const cpu = process.cpuUsage(cpuStarted);
session.close();
process.stdout.write(
  `${JSON.stringify({ ms: Math.round(ms), cpuMs: Math.round((cpu.user + cpu.system) / 1000), tables: tables.length, rows })}\n`,
);
