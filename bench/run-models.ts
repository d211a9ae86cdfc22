/**
 * Run benchmark (issue 17, item 3): a full `crmlake run` (every model, the local DuckDB backend) on a lake of the
 * generator's customers, against the floor, a single `GROUP BY customer_id` over the same curated transactions
 * Parquet (bench/run-floor.ts: DuckDB opened as the local backend opens it, only the query timed), measured in
 * the same benchmark, runs and floors interleaved so that a burst of load on this shared machine hits both alike.
 *
 * The lake is `crmlake generate --customers N` (its default campaigns) ingested with `crmlake ingest`
 * (transactions, customers, campaigns, campaign contacts). Each run is the real command line
 * (`bin/crmlake.mjs run --as-of 2024-12-31`) in a fresh process; its duration and per-model split come from its
 * run record (runs/log/), its peak RSS and CPU time from the process (bench/peak-rss.mjs). Medians of `--runs`.
 * The CPU ratio (the run process's CPU time, start-up included, against the floor query's) moves less with the
 * load of this shared machine than the wall-clock ratio, which is the target's measure.
 *
 * Targets: at 100,000 customers the run within 15× the floor; at 1,000,000 (`--customers 1000000`, one run by
 * default) a peak RSS under 2 GiB.
 *
 * Usage: npm run bench -- run [--customers 100000] [--runs 3] [--keep DIR]
 * Writes bench/run-results.json (bench/run-results-<customers>.json for a size other than 100,000).
 */
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { addFigure, markdown, median } from "./summary.ts";

const AS_OF = "2024-12-31";
const DATASETS = ["transactions", "customers", "campaigns", "campaign_contacts"] as const;
const GIB = 1024 ** 3;
const RATIO_TARGET = 15;

interface ModelTiming {
  model: string;
  materialized: string;
  ms: number;
  rows: number | null;
}

interface RunMeasure {
  /** The run's duration from its record (the runner's own clock: planning, models, publishing). */
  ms: number;
  /** The process's wall time, start-up included. */
  wallMs: number;
  peakRssBytes: number;
  /** CPU time of all the run process's threads, start-up included. */
  cpuMs: number;
  models: ModelTiming[];
}

interface FloorMeasure {
  ms: number;
  cpuMs: number;
  groups: number;
  maxRssMb: number;
}

function crmlake(args: string[]): string {
  const run = spawnSync(process.execPath, ["bin/crmlake.mjs", ...args], {
    encoding: "utf8",
    maxBuffer: 1 << 26,
  });
  if (run.status !== 0) throw new Error(`crmlake ${args[0]} failed: ${run.stderr}${run.stdout}`);
  return run.stdout;
}

/** One `crmlake run` of every model in a fresh process, read back from its run record. */
async function timeRun(lake: string, work: string): Promise<RunMeasure> {
  const logDir = join(lake, "runs", "log");
  const before = new Set(await readdir(logDir).catch(() => []));
  const rssFile = join(work, "peak-rss");
  const started = performance.now();
  const run = spawnSync(
    process.execPath,
    ["--import", "./bench/peak-rss.mjs", "bin/crmlake.mjs", "run", "--lake", lake, "--as-of", AS_OF],
    { encoding: "utf8", env: { ...process.env, BENCH_PEAK_RSS_FILE: rssFile } },
  );
  const wallMs = performance.now() - started;
  if (run.status !== 0) throw new Error(`crmlake run failed: ${run.stderr}${run.stdout}`);
  const added = (await readdir(logDir)).filter((f) => !before.has(f));
  if (added.length !== 1) throw new Error(`expected one new run record in ${lake}, found ${added.length}`);
  const record = JSON.parse(await readFile(join(logDir, added[0] ?? ""), "utf8")) as {
    status: string;
    duration_ms: number;
    models: { model: string; materialized: string; duration_ms: number | null; rows: number | null }[];
  };
  if (record.status !== "succeeded") throw new Error(`run on ${lake}: ${record.status}`);
  return {
    ms: record.duration_ms,
    wallMs: Math.round(wallMs),
    ...(JSON.parse(await readFile(rssFile, "utf8")) as { peakRssBytes: number; cpuMs: number }),
    models: record.models.map((m) => ({
      model: m.model,
      materialized: m.materialized,
      ms: m.duration_ms ?? 0,
      rows: m.rows,
    })),
  };
}

/** What writing the run's published tables alone costs (bench/run-write-floor.ts), after a run. */
function timeWriteFloor(lake: string, work: string): FloorMeasure & { tables: number; rows: number } {
  const run = spawnSync(
    process.execPath,
    ["--import", "tsx", "bench/run-write-floor.ts", lake, AS_OF, join(work, "write-floor")],
    { encoding: "utf8" },
  );
  if (run.status !== 0) throw new Error(`the write floor failed: ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split("\n").pop() ?? "") as FloorMeasure & {
    tables: number;
    rows: number;
  };
}

function timeFloor(lake: string, work: string): FloorMeasure {
  const run = spawnSync(
    process.execPath,
    ["--import", "tsx", "bench/run-floor.ts", lake, join(work, "floor.parquet")],
    { encoding: "utf8" },
  );
  if (run.status !== 0) throw new Error(`the floor failed: ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split("\n").pop() ?? "") as FloorMeasure;
}

function option(args: string[], name: string): string | undefined {
  const value = args[args.indexOf(name) + 1];
  return args.includes(name) && value ? value : undefined;
}

const seconds = (ms: number) => (ms / 1000).toFixed(2);
const mib = (bytes: number) => Math.round(bytes / 1024 ** 2).toLocaleString("en-US");

export async function benchRun(args: string[]): Promise<void> {
  const customers = Number(option(args, "--customers") ?? 100_000);
  const runs = Number(option(args, "--runs") ?? (customers >= 1_000_000 ? 1 : 3));
  const keep = option(args, "--keep");
  const dir = keep ? resolve(keep) : await mkdtemp(join(tmpdir(), "crmlake-bench-run-"));
  await mkdir(dir, { recursive: true });
  const lake = join(dir, "lake");
  try {
    const generated = join(dir, "generated");
    const reuse = keep !== undefined && (await readdir(lake).catch(() => [])).length > 0;
    if (!reuse) {
      process.stderr.write(`  generating ${customers.toLocaleString("en-US")} customers\n`);
      crmlake(["generate", "--out", generated, "--customers", String(customers)]);
      for (const dataset of DATASETS) crmlake(["ingest", dataset, join(generated, dataset), "--lake", lake]);
    }
    const lines = Number(
      crmlake(["query", "select count(*) as n from transactions", "--lake", lake, "--format", "csv"])
        .trim()
        .split("\n")
        .pop(),
    );
    const measured: { run: RunMeasure; floor: FloorMeasure; writes: FloorMeasure & { tables: number } }[] =
      [];
    timeFloor(lake, dir); // warm the file cache
    for (let i = 0; i < runs; i++) {
      const floor = timeFloor(lake, dir);
      const run = await timeRun(lake, dir);
      const writes = timeWriteFloor(lake, dir);
      measured.push({ run, floor, writes });
      process.stderr.write(
        `  run ${i + 1} of ${runs}: ${seconds(run.ms)} s (floor ${seconds(floor.ms)} s), CPU ${seconds(run.cpuMs)} s (floor ${seconds(floor.cpuMs)} s), peak RSS ${mib(run.peakRssBytes)} MiB\n`,
      );
    }
    const runMs = median(measured.map((m) => m.run.ms));
    const floorMs = median(measured.map((m) => m.floor.ms));
    const pairRatio = median(measured.map((m) => m.run.ms / m.floor.ms));
    const cpuRatio = median(measured.map((m) => m.run.cpuMs)) / median(measured.map((m) => m.floor.cpuMs));
    const writeMs = median(measured.map((m) => m.writes.ms));
    const writeCpuMs = median(measured.map((m) => m.writes.cpuMs));
    const tables = measured[0]?.writes.tables ?? 0;
    const peakRss = median(measured.map((m) => m.run.peakRssBytes));
    const maxPeakRss = Math.max(...measured.map((m) => m.run.peakRssBytes));
    const names = measured[0]?.run.models ?? [];
    const perModel = names
      .map((first) => {
        const times = measured.map((m) => m.run.models.find((x) => x.model === first.model)?.ms ?? 0);
        return { ...first, ms: median(times) };
      })
      .sort((a, b) => b.ms - a.ms);
    const summary = {
      customers,
      lines,
      runs,
      runMs,
      floorMs,
      ratio: runMs / floorMs,
      ratioMedianOfPairs: pairRatio,
      runCpuMs: median(measured.map((m) => m.run.cpuMs)),
      floorCpuMs: median(measured.map((m) => m.floor.cpuMs)),
      cpuRatio,
      ratioTarget: RATIO_TARGET,
      peakRssBytes: peakRss,
      maxPeakRssBytes: maxPeakRss,
      peakRssTargetBytes: 2 * GIB,
      writeFloorMs: writeMs,
      writeFloorCpuMs: writeCpuMs,
      writeFloorTables: tables,
      writeFloorRatio: writeMs / floorMs,
      writeFloorCpuRatio: writeCpuMs / median(measured.map((m) => m.floor.cpuMs)),
    };
    console.log(
      `Run: ${customers.toLocaleString("en-US")} customers, ${lines.toLocaleString("en-US")} transaction lines, medians of ${runs}`,
    );
    console.log(
      markdown(
        [
          "full run",
          "floor (GROUP BY customer_id)",
          "× floor",
          "× floor, median of pairs",
          "CPU: run (process) / floor (query)",
          "run wall (process)",
          "peak RSS",
        ],
        [
          [
            `${seconds(runMs)} s`,
            `${seconds(floorMs)} s`,
            summary.ratio.toFixed(1),
            pairRatio.toFixed(1),
            `${seconds(summary.runCpuMs)} s / ${seconds(summary.floorCpuMs)} s = ${cpuRatio.toFixed(1)}×`,
            `${seconds(median(measured.map((m) => m.run.wallMs)))} s`,
            `${mib(peakRss)} MiB (max ${mib(maxPeakRss)})`,
          ],
        ],
      ),
    );
    console.log(
      `Writing the run's ${tables} published tables alone (held in memory, written again, nothing computed): ${seconds(writeMs)} s, ${summary.writeFloorRatio.toFixed(1)}× the floor (CPU ${seconds(writeCpuMs)} s, ${summary.writeFloorCpuRatio.toFixed(1)}×): no run that publishes these tables gets below that`,
    );
    console.log(
      `Target: within ${RATIO_TARGET}× the floor: ${summary.ratio <= RATIO_TARGET ? "met" : "NOT met"}; peak RSS under 2 GiB: ${maxPeakRss < 2 * GIB ? "met" : "NOT met"}`,
    );
    console.log("\nPer model (medians; views are defined, not computed, so they cost next to nothing):\n");
    console.log(
      markdown(
        ["model", "materialized", "rows", "s", "share of run"],
        perModel.map((m) => [
          m.model,
          m.materialized,
          m.rows === null ? "" : m.rows.toLocaleString("en-US"),
          seconds(m.ms),
          `${((100 * m.ms) / runMs).toFixed(1)} %`,
        ]),
      ),
    );
    addFigure({
      bench: "run",
      measure: `full run, ${customers.toLocaleString("en-US")} customers (${lines.toLocaleString("en-US")} lines), median of ${runs}`,
      value: `${seconds(runMs)} s`,
      floor: `${seconds(floorMs)} s (GROUP BY customer_id)`,
      ratio: summary.ratio,
      target: `≤ ${RATIO_TARGET}× floor`,
      met: summary.ratio <= RATIO_TARGET,
    });
    addFigure({
      bench: "run",
      measure: `writing the run's ${tables} published tables alone (a lower bound of any run of this model set)`,
      value: `${seconds(writeMs)} s`,
      floor: `${seconds(floorMs)} s (GROUP BY customer_id)`,
      ratio: summary.writeFloorRatio,
      target: "",
      met: null,
    });
    addFigure({
      bench: "run",
      measure: `full run's peak RSS, ${customers.toLocaleString("en-US")} customers`,
      value: `${mib(maxPeakRss)} MiB`,
      floor: `${Math.round(median(measured.map((m) => m.floor.maxRssMb)))} MB (the floor's process)`,
      ratio: null,
      target: "< 2 GiB",
      met: maxPeakRss < 2 * GIB,
    });
    const file = customers === 100_000 ? "run-results.json" : `run-results-${customers}.json`;
    await writeFile(join("bench", file), `${JSON.stringify({ ...summary, perModel, measured }, null, 2)}\n`);
  } finally {
    if (!keep) await rm(dir, { recursive: true, force: true });
  }
}
