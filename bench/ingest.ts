/**
 * Ingest benchmark: speed and memory of `ingestDrop` on transaction drops of growing size, each against its
 * floor measured in the same run on the same file, because these machines are shared and noisy. The floor is
 * what ingest cannot avoid (issue 17): the file's SHA-256, then DuckDB's typed read written as
 * month-partitioned Parquet, in one process. Two more references: the floor of any ingest that parses the
 * file once into a table (the same typed read into a temporary table, then its partitioned write), and
 * DuckDB's plain typed CSV → one Parquet file. Issue 17's target: ingest within 1.5× of the floor. Memory must stay flat in the drop's size.
 * Each figure is the median of `--repeat` runs (default 3), the three processes of a repetition run back
 * to back; CPU time (all threads) is reported beside wall time, being less disturbed by other processes.
 *
 * Usage: npm run bench -- ingest [--sizes 250000,1000000,4000000,8000000] [--repeat 3]
 */
import { spawnSync } from "node:child_process";
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addFigure } from "./summary.ts";

interface Measure {
  mode: string;
  rows: number;
  ms: number;
  cpuMs: number;
  maxRssMb: number;
  /** Wall milliseconds per step (ingest: IngestOptions.onStep; floor: hash, read and write). */
  steps: Record<string, number>;
}

/** A deterministic transactions CSV: 1 in 200 lines lacks a customer, 1 in 1000 has a bad amount. */
export async function writeCsv(path: string, lines: number): Promise<void> {
  const out = createWriteStream(path);
  out.write(
    "order_id,customer_id,ordered_at,product_id,category,channel,store_id,quantity,amount,cost,discount\n",
  );
  const base = Date.UTC(2022, 0, 1);
  let chunk = "";
  for (let i = 1; i <= lines; i++) {
    const ts = new Date(base + ((i * 7919) % (730 * 86400)) * 1000)
      .toISOString()
      .replace("T", " ")
      .slice(0, 23);
    const customer = i % 200 === 0 ? "" : `c${(i * 31) % 50000}`;
    const amount = i % 1000 === 0 ? "n/a" : ((i % 9973) / 100 + 1).toFixed(2);
    chunk += `o${Math.floor(i / 3)},${customer},${ts},p${i % 5000},cat${i % 12},${i % 2 ? "web" : "store"},s${i % 40},${(i % 5) + 1},${amount},${((i % 9973) / 250).toFixed(2)},0.00\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, "drain");
      chunk = "";
    }
  }
  out.end(chunk);
  await once(out, "finish");
}

type Mode = "ingest" | "floor" | "table" | "copy";

function measure(mode: Mode, csv: string, work: string): Measure {
  const run = spawnSync(process.execPath, ["--import", "tsx", "bench/ingest-one.ts", mode, csv, work], {
    encoding: "utf8",
  });
  if (run.status !== 0) throw new Error(`${mode} failed: ${run.stderr}`);
  const line = run.stdout.trim().split("\n").pop() ?? "";
  return JSON.parse(line) as Measure;
}

/** The run of median wall time (its CPU, memory and steps with it). */
function median(runs: Measure[]): Measure {
  const sorted = [...runs].sort((a, b) => a.ms - b.ms);
  return sorted[Math.floor(sorted.length / 2)] as Measure;
}

export async function benchIngest(args: string[]): Promise<void> {
  const sizesArg = args[args.indexOf("--sizes") + 1];
  const repeat = args.includes("--repeat") ? Number(args[args.indexOf("--repeat") + 1]) : 3;
  const sizes =
    args.includes("--sizes") && sizesArg
      ? sizesArg.split(",").map(Number)
      : [250_000, 1_000_000, 4_000_000, 8_000_000];
  const dir = await mkdtemp(join(tmpdir(), "crmlake-bench-"));
  const results: ({ lines: number; mb: number } & Record<Mode, Measure>)[] = [];
  try {
    for (const lines of sizes) {
      const csv = join(dir, `tx-${lines}.csv`);
      await writeCsv(csv, lines);
      const mb = (await stat(csv)).size / 1e6;
      const runs: Record<Mode, Measure[]> = { ingest: [], floor: [], table: [], copy: [] };
      for (let i = 0; i < repeat; i++) {
        for (const mode of ["floor", "ingest", "table", "copy"] as const) {
          const work = join(dir, `${mode}-${lines}-${i}`);
          runs[mode].push(measure(mode, csv, work));
          await rm(work, { recursive: true, force: true });
        }
      }
      const ingest = median(runs.ingest);
      if (ingest.rows !== lines) throw new Error(`ingest accounted for ${ingest.rows} of ${lines} lines`);
      results.push({
        lines,
        mb,
        ingest,
        floor: median(runs.floor),
        table: median(runs.table),
        copy: median(runs.copy),
      });
      process.stderr.write(`  ${lines.toLocaleString("en-US")} lines done\n`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const seconds = (ms: number) => (ms / 1000).toFixed(2);
  const rows = results.map((r) => ({
    lines: r.lines,
    "csv MB": r.mb.toFixed(0),
    "ingest s": seconds(r.ingest.ms),
    "floor s": seconds(r.floor.ms),
    "× floor": (r.ingest.ms / r.floor.ms).toFixed(2),
    "table s": seconds(r.table.ms),
    "table × floor": (r.table.ms / r.floor.ms).toFixed(2),
    "copy s": seconds(r.copy.ms),
    "× copy": (r.ingest.ms / r.copy.ms).toFixed(2),
    "ingest CPU s": seconds(r.ingest.cpuMs),
    "floor CPU s": seconds(r.floor.cpuMs),
    "CPU × floor": (r.ingest.cpuMs / r.floor.cpuMs).toFixed(2),
    "ingest lines/s": Math.round(r.lines / (r.ingest.ms / 1000)).toLocaleString("en-US"),
    "ingest RSS MB": r.ingest.maxRssMb,
    "floor RSS MB": r.floor.maxRssMb,
  }));
  console.table(rows);
  // Where ingest's time goes, step by step, beside the floor's (the median runs').
  for (const r of results) {
    const steps = Object.entries(r.ingest.steps)
      .filter(([, ms]) => ms >= 10)
      .map(([step, ms]) => `${step} ${seconds(ms)}`);
    const list = (m: Measure) =>
      Object.entries(m.steps)
        .map(([step, ms]) => `${step} ${seconds(ms)}`)
        .join(", ");
    console.log(
      `${r.lines.toLocaleString("en-US")} lines: ingest ${steps.join(", ")} | floor ${list(r.floor)} | table ${list(r.table)}`,
    );
  }
  // Flat means bounded: past the size where DuckDB's buffers fill up (its memory_limit, and a row group per
  // month in the partitioned write: about 3 M lines of this file's 24 months), twice the lines
  // must not take noticeably more memory. The two largest drops decide.
  const [prev, last] = results.slice(-2);
  if (prev && last) {
    const growth = last.ingest.maxRssMb / prev.ingest.maxRssMb;
    console.log(
      `Memory: ${(last.lines / prev.lines).toFixed(1)}× the lines took ${growth.toFixed(2)}× the peak RSS (${prev.ingest.maxRssMb} → ${last.ingest.maxRssMb} MB): ${growth < 1.2 ? "flat" : "GROWS with the drop"}`,
    );
  }
  for (const r of results) {
    addFigure({
      bench: "ingest",
      measure: `ingest, ${r.lines.toLocaleString("en-US")} lines (${r.mb.toFixed(0)} MB CSV), median of ${repeat}`,
      value: `${(r.ingest.ms / 1000).toFixed(2)} s, ${r.ingest.maxRssMb} MB peak RSS`,
      floor: `${(r.floor.ms / 1000).toFixed(2)} s (hash + typed read → month-partitioned Parquet)`,
      ratio: r.ingest.ms / r.floor.ms,
      target: "≤ 1.5× floor",
      met: r.ingest.ms / r.floor.ms <= 1.5,
    });
  }
  if (prev && last) {
    const growth = last.ingest.maxRssMb / prev.ingest.maxRssMb;
    addFigure({
      bench: "ingest",
      measure: `ingest peak RSS, ${(last.lines / prev.lines).toFixed(1)}× the lines (${prev.lines.toLocaleString("en-US")} → ${last.lines.toLocaleString("en-US")})`,
      value: `${prev.ingest.maxRssMb} → ${last.ingest.maxRssMb} MB`,
      floor: `${prev.floor.maxRssMb} → ${last.floor.maxRssMb} MB (the floor's process)`,
      ratio: growth,
      target: "flat: < 1.2× growth",
      met: growth < 1.2,
    });
  }
  await writeFile(join("bench", "ingest-results.json"), `${JSON.stringify(results, null, 2)}\n`);
}
