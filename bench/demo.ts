/**
 * Demo and report benchmark (issue 17, item 5): `crmlake demo` end to end, and `crmlake report` on the lake it
 * made, each the real command line in a fresh process (the prebuilt bundle, as `npm run demo` runs it), each
 * beside a floor timed in the same run, runs and floors interleaved so that a burst of load on this shared
 * machine hits both alike; medians are reported.
 *
 * - The demo's floor (bench/demo-floor.mjs, a plain Node process of its own): the demo's generated transactions read with
 *   their types and written as month-partitioned Parquet, then one GROUP BY customer_id over them: ingest's
 *   and the run's floors on the demo's data. The demo's promise is absolute: the whole thing within a minute.
 * - The report's floor: `crmlake query` of one count over the latest customer_scores of the same lake, the
 *   least a command that reads the published models does (start-up, the lake's views, one query).
 *
 * Usage: npm run bench -- demo [--runs 3] [--customers 2000]
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addFigure, median, seconds } from "./summary.ts";

const DEMO_TARGET_MS = 60_000;

function timed(args: string[], what: string): number {
  const started = performance.now();
  const run = spawnSync(process.execPath, args, { encoding: "utf8", maxBuffer: 1 << 26 });
  const ms = performance.now() - started;
  if (run.status !== 0) throw new Error(`${what} failed: ${run.stderr}${run.stdout}`);
  return ms;
}

function option(args: string[], name: string, fallback: number): number {
  const value = args[args.indexOf(name) + 1];
  return args.includes(name) && value ? Number(value) : fallback;
}

export async function benchDemo(args: string[]): Promise<void> {
  const runs = option(args, "--runs", 3);
  const customers = option(args, "--customers", 2000);
  // The bundle, fresh: bin/crmlake.mjs runs the sources instead of a bundle older than any of them.
  const build = spawnSync(process.execPath, ["scripts/build-cli.mjs"], { encoding: "utf8" });
  if (build.status !== 0 || !existsSync("dist/crmlake.mjs")) throw new Error(`build failed: ${build.stderr}`);
  const dir = await mkdtemp(join(tmpdir(), "crmlake-bench-demo-"));
  const demoDir = join(dir, "demo");
  const lake = join(demoDir, "lake");
  const times = {
    demo: [] as number[],
    demoFloor: [] as number[],
    report: [] as number[],
    reportFloor: [] as number[],
  };
  try {
    for (let i = 0; i < runs; i++) {
      times.demo.push(
        timed(
          ["bin/crmlake.mjs", "demo", "--dir", demoDir, "--customers", String(customers)],
          "crmlake demo",
        ),
      );
      const work = join(dir, `floor-${i}`);
      times.demoFloor.push(
        timed(["bench/demo-floor.mjs", join(demoDir, "drops", "transactions"), work], "the demo's floor"),
      );
      await rm(work, { recursive: true, force: true });
      const out = join(dir, "report.html");
      times.report.push(timed(["bin/crmlake.mjs", "report", "--lake", lake, "--out", out], "crmlake report"));
      times.reportFloor.push(
        timed(
          ["bin/crmlake.mjs", "query", "select count(*) from customer_scores_latest", "--lake", lake],
          "the report's floor",
        ),
      );
      process.stderr.write(
        `  run ${i + 1} of ${runs}: demo ${seconds(times.demo.at(-1) ?? 0)} (floor ${seconds(times.demoFloor.at(-1) ?? 0)}), report ${seconds(times.report.at(-1) ?? 0)} (floor ${seconds(times.reportFloor.at(-1) ?? 0)})\n`,
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const demo = median(times.demo);
  const demoFloor = median(times.demoFloor);
  const report = median(times.report);
  const reportFloor = median(times.reportFloor);
  addFigure({
    bench: "demo",
    measure: `crmlake demo end to end, ${customers.toLocaleString("en-US")} customers, two years, median of ${runs}`,
    value: seconds(demo),
    floor: `${seconds(demoFloor)} (typed CSV read → partitioned Parquet → GROUP BY customer_id, one process)`,
    ratio: demo / demoFloor,
    target: "< 60 s",
    met: demo < DEMO_TARGET_MS,
  });
  addFigure({
    bench: "report",
    measure: `crmlake report on the demo's lake, median of ${runs}`,
    value: seconds(report),
    floor: `${seconds(reportFloor)} (crmlake query: one count over customer_scores_latest)`,
    ratio: report / reportFloor,
    target: "",
    met: null,
  });
  console.log(
    `Demo ${seconds(demo)} (floor ${seconds(demoFloor)}, ${(demo / demoFloor).toFixed(1)}×; target < 60 s: ${demo < DEMO_TARGET_MS ? "met" : "NOT met"}); report ${seconds(report)} (floor ${seconds(reportFloor)}, ${(report / reportFloor).toFixed(1)}×)`,
  );
}
