/**
 * Affinity benchmark (issue 17, item 4): a full run on an export with about 1,000 categories beside the same run
 * on the same export without categories, the floor, measured in the same process, runs interleaved so that a burst
 * of load on this shared machine hits both alike; medians are reported.
 *
 * The export is the generator's (`crmlake generate`, no campaigns), written twice: once with each line's category
 * replaced by its product id and one of three variants drawn from a hash of the order and product (9 categories ×
 * 40 products × 3 variants, of which about 970 are sold), once with no category at all (every line is 'unknown',
 * so the cross-sell models have nothing to pair). Both are ingested into lakes of their own and run with
 * `crmlake run` (the default configuration: baskets are customers, affinity.min_pair_baskets = 10). The
 * per-model timings come from each run's record (runs/log/).
 *
 * Usage: npm run bench -- affinity [--customers 20000] [--runs 3]
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { addFigure, median } from "./summary.ts";

const AS_OF = "2024-12-31";
const CROSS_SELL = ["product_affinity", "next_best_category"];

interface RunTiming {
  ms: number;
  crossSellMs: number;
}

function crmlake(args: string[]): string {
  const run = spawnSync(process.execPath, ["bin/crmlake.mjs", ...args], { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`crmlake ${args[0]} failed: ${run.stderr}${run.stdout}`);
  return run.stdout;
}

/** Writes the generator's transactions with about 1,000 categories (many.csv) and with none (none.csv). */
async function writeVariants(generated: string, dir: string): Promise<number> {
  const instance = await DuckDBInstance.create(":memory:");
  const db = await instance.connect();
  try {
    const source = `read_csv('${join(generated, "transactions", "*.csv")}', all_varchar = true, header = true)`;
    const many = `product_id || '-' || CAST(hash(order_id || product_id) % 3 AS VARCHAR)`;
    await db.run(
      `COPY (SELECT * REPLACE (${many} AS category) FROM ${source}) TO '${join(dir, "many.csv")}' (HEADER)`,
    );
    await db.run(
      `COPY (SELECT * REPLACE (CAST(NULL AS VARCHAR) AS category) FROM ${source}) TO '${join(dir, "none.csv")}' (HEADER)`,
    );
    const counted = await db.runAndReadAll(
      `SELECT COUNT(DISTINCT category) FROM read_csv('${join(dir, "many.csv")}', header = true)`,
    );
    return Number(counted.getRows()[0]?.[0]);
  } finally {
    db.closeSync();
    instance.closeSync();
  }
}

/** Runs every model on the lake and reads the run's duration and its cross-sell models' from its record. */
async function timeRun(lake: string): Promise<RunTiming> {
  const before = new Set(await readdir(join(lake, "runs", "log")).catch(() => []));
  crmlake(["run", "--lake", lake, "--as-of", AS_OF]);
  const added = (await readdir(join(lake, "runs", "log"))).filter((f) => !before.has(f));
  if (added.length !== 1) throw new Error(`expected one new run record in ${lake}, found ${added.length}`);
  const record = JSON.parse(await readFile(join(lake, "runs", "log", added[0] ?? ""), "utf8")) as {
    status: string;
    duration_ms: number;
    models: { model: string; duration_ms: number | null }[];
  };
  if (record.status !== "succeeded") throw new Error(`run on ${lake}: ${record.status}`);
  const crossSellMs = record.models
    .filter((m) => CROSS_SELL.includes(m.model))
    .reduce((sum, m) => sum + (m.duration_ms ?? 0), 0);
  return { ms: record.duration_ms, crossSellMs };
}

function option(args: string[], name: string, fallback: number): number {
  const value = args[args.indexOf(name) + 1];
  return args.includes(name) && value ? Number(value) : fallback;
}

export async function benchAffinity(args: string[]): Promise<void> {
  const customers = option(args, "--customers", 20_000);
  const runs = option(args, "--runs", 3);
  const dir = await mkdtemp(join(tmpdir(), "crmlake-bench-affinity-"));
  try {
    const generated = join(dir, "generated");
    crmlake(["generate", "--out", generated, "--customers", String(customers), "--campaigns", "0"]);
    const categories = await writeVariants(generated, dir);
    const lakes = { many: join(dir, "lake-many"), none: join(dir, "lake-none") };
    for (const [variant, lake] of Object.entries(lakes)) {
      crmlake(["ingest", "transactions", join(dir, `${variant}.csv`), "--lake", lake]);
      crmlake(["ingest", "customers", join(generated, "customers"), "--lake", lake]);
    }
    const times: Record<keyof typeof lakes, RunTiming[]> = { many: [], none: [] };
    await timeRun(lakes.none); // warm the file cache
    for (let i = 0; i < runs; i++) {
      times.many.push(await timeRun(lakes.many));
      times.none.push(await timeRun(lakes.none));
      process.stderr.write(`  run ${i + 1} of ${runs} done\n`);
    }
    const floor = median(times.none.map((t) => t.ms));
    const rows = (["many", "none"] as const).map((variant) => ({
      export: variant === "many" ? `${categories} categories` : "no categories (floor)",
      "run s": (median(times[variant].map((t) => t.ms)) / 1000).toFixed(2),
      "cross-sell models s": (median(times[variant].map((t) => t.crossSellMs)) / 1000).toFixed(2),
      "× floor": (median(times[variant].map((t) => t.ms)) / floor).toFixed(2),
      // Each run beside the floor run next to it: a burst of load hits a pair alike.
      "× floor, median of pairs": median(
        times[variant].map((t, i) => t.ms / (times.none[i]?.ms ?? 1)),
      ).toFixed(2),
    }));
    const many = median(times.many.map((t) => t.ms));
    addFigure({
      bench: "affinity",
      measure: `full run, ${categories} categories, ${customers.toLocaleString("en-US")} customers, median of ${runs}`,
      value: `${(many / 1000).toFixed(2)} s`,
      floor: `${(floor / 1000).toFixed(2)} s (same export, no categories)`,
      ratio: many / floor,
      target: "≤ 2× floor",
      met: many / floor <= 2,
    });
    console.log(`Affinity: ${customers.toLocaleString("en-US")} customers, medians of ${runs} runs`);
    console.table(rows);
    await writeFile(
      join("bench", "affinity-results.json"),
      `${JSON.stringify({ customers, categories, runs, times }, null, 2)}\n`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
