/** `npm run bench [-- <name> [options]]`: runs the named benchmark, or all of them. */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { benchAffinity } from "./affinity.ts";
import { benchClv } from "./clv.ts";
import { benchDemo } from "./demo.ts";
import { benchIngest } from "./ingest.ts";
import { benchRun } from "./run-models.ts";
import { benchStartup } from "./startup.ts";
import { figures, summaryTable } from "./summary.ts";
import { benchTrinoBytes } from "./trino-bytes.ts";

/** The generator benchmark is a script of its own (it measures its process's peak RSS). */
async function benchGenerate(args: string[]): Promise<void> {
  const run = spawnSync(process.execPath, ["--import", "tsx", "bench/generate.ts", ...args], {
    stdio: "inherit",
  });
  if (run.status !== 0) throw new Error(`bench/generate.ts exited with ${run.status}`);
}

const BENCHES: Record<string, (args: string[]) => Promise<void>> = {
  ingest: benchIngest,
  startup: benchStartup,
  generate: benchGenerate,
  clv: benchClv,
  affinity: benchAffinity,
  run: benchRun,
  demo: benchDemo,
  "trino-bytes": benchTrinoBytes,
};

const [name, ...args] = process.argv.slice(2);
const selected = name && !name.startsWith("--") ? [name] : Object.keys(BENCHES);
for (const bench of selected) {
  const run = BENCHES[bench];
  if (!run) {
    console.error(`Unknown benchmark "${bench}". Known: ${Object.keys(BENCHES).join(", ")}`);
    process.exit(2);
  }
  console.log(`== bench ${bench}`);
  await run(name === bench ? args : process.argv.slice(2));
}

if (figures.length > 0) {
  const table = summaryTable(figures);
  const when = new Date().toISOString();
  console.log(`\n== summary (bench/results.md, bench/results.json)\n\n${table}`);
  const title = `# npm run bench ${process.argv.slice(2).join(" ")}`.trimEnd();
  writeFileSync(join("bench", "results.md"), `${title}\n\n${when}\n\n${table}\n`);
  writeFileSync(
    join("bench", "results.json"),
    `${JSON.stringify({ when, args: process.argv.slice(2), figures }, null, 2)}\n`,
  );
}
