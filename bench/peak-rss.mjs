// Preloaded into a measured process (`node --import ./bench/peak-rss.mjs …`): on exit, writes the process's peak
// resident set size (bytes) and the CPU time of all its threads (ms), as JSON, to the file named by
// BENCH_PEAK_RSS_FILE.
import { writeFileSync } from "node:fs";

const file = process.env.BENCH_PEAK_RSS_FILE;
if (file) {
  process.on("exit", () => {
    const usage = process.resourceUsage();
    const cpuMs = Math.round((usage.userCPUTime + usage.systemCPUTime) / 1000);
    writeFileSync(file, JSON.stringify({ peakRssBytes: usage.maxRSS * 1024, cpuMs }));
  });
}
