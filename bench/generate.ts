/**
 * Generator benchmark: runs `crmlake generate` in process at a given size and prints wall time, lines written,
 * throughput and peak memory (process.resourceUsage().maxRSS), to show that memory stays flat in the size.
 *
 *   npx tsx bench/generate.ts --customers 1000000 [--from 2022-01-01 --to 2024-12-31] [--files monthly|daily]
 *       [--dirty 0.001] [--out DIR] [--keep]
 *
 * The output goes to a temporary directory that is removed afterwards unless --keep (or --out) is given.
 */
import { readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { FILE_LAYOUTS } from "../functions/core/generate/format.ts";
import { generate } from "../functions/core/generate/generate.ts";
import { DEFAULT_OPTIONS, type GenerateOptions } from "../functions/core/generate/options.ts";

const { values } = parseArgs({
  options: {
    customers: { type: "string", default: "1000000" },
    from: { type: "string", default: "2022-01-01" },
    to: { type: "string", default: DEFAULT_OPTIONS.to },
    files: { type: "string", default: "monthly" },
    dirty: { type: "string", default: "0" },
    seed: { type: "string", default: "1" },
    campaigns: { type: "string", default: String(DEFAULT_OPTIONS.campaigns) },
    out: { type: "string" },
    keep: { type: "boolean", default: false },
  },
});

async function directorySize(dir: string): Promise<{ bytes: number; files: number }> {
  let bytes = 0;
  let files = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      const sub = await directorySize(path);
      bytes += sub.bytes;
      files += sub.files;
    } else {
      bytes += (await stat(path)).size;
      files++;
    }
  }
  return { bytes, files };
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const layout = FILE_LAYOUTS.find((l) => l === values.files);
if (!layout) throw new Error(`--files must be one of ${FILE_LAYOUTS.join(", ")}`);
const out = values.out ?? join(tmpdir(), `crmlake-bench-generate-${process.pid}`);
const options: GenerateOptions = {
  ...DEFAULT_OPTIONS,
  out,
  customers: Number(values.customers),
  from: values.from,
  to: values.to,
  files: layout,
  dirty: Number(values.dirty),
  seed: Number(values.seed),
  campaigns: Number(values.campaigns),
};

let peakHeap = 0;
const sampler = setInterval(() => {
  peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
}, 200);
const rssBefore = process.resourceUsage().maxRSS * 1024;
const started = performance.now();
const result = await generate(options, (p) => {
  if (p.customersDone % 65_536 < 2048) {
    const rss = process.memoryUsage().rss;
    process.stderr.write(
      `  ${p.customersDone.toLocaleString("en")} customers, ${p.lines.toLocaleString("en")} lines, ${(p.elapsedMs / 1000).toFixed(1)} s, rss ${mb(rss)}\n`,
    );
  }
});
const wallMs = performance.now() - started;
clearInterval(sampler);
const size = await directorySize(out);
const peakRss = process.resourceUsage().maxRSS * 1024;
const r = result.truth.realised;
process.stdout.write(
  [
    `customers       ${options.customers.toLocaleString("en")} (${options.from} .. ${options.to}, ${layout} files, dirty ${options.dirty})`,
    `wall time       ${(wallMs / 1000).toFixed(1)} s`,
    `lines           ${result.lines.toLocaleString("en")} transaction lines (${r.orders.toLocaleString("en")} orders, ${r.refund_lines.toLocaleString("en")} refund lines)`,
    `throughput      ${Math.round(result.lines / (wallMs / 1000)).toLocaleString("en")} lines/s, ${Math.round(options.customers / (wallMs / 1000)).toLocaleString("en")} customers/s`,
    `output          ${mb(size.bytes)} in ${size.files} files`,
    `peak RSS        ${mb(peakRss)} (${mb(rssBefore)} before generating)`,
    `peak heap used  ${mb(peakHeap)} (sampled every 200 ms)`,
    "",
  ].join("\n"),
);
if (values.out === undefined && !values.keep) await rm(out, { recursive: true, force: true });
