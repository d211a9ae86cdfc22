/**
 * Start-up benchmark: `crmlake --help` from the prebuilt bundle and from the TypeScript sources (tsx), each
 * beside a floor measured in the same run: a Node process that does nothing (`node -e 0`). Runs are
 * interleaved so a burst of load on this shared machine hits all three alike; medians are reported.
 *
 * Usage: npm run bench -- startup [--runs 10]
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { addFigure, median } from "./summary.ts";

interface Variant {
  name: string;
  args: string[];
  env?: Record<string, string>;
}

const VARIANTS: Variant[] = [
  { name: "floor: node -e 0", args: ["-e", "0"] },
  { name: "crmlake --help (bundle)", args: ["bin/crmlake.mjs", "--help"] },
  {
    name: "crmlake --help (sources, tsx)",
    args: ["bin/crmlake.mjs", "--help"],
    env: { CRMLAKE_FROM_SOURCE: "1" },
  },
];

function once(variant: Variant): number {
  const started = performance.now();
  const run = spawnSync(process.execPath, variant.args, {
    env: { ...process.env, ...variant.env },
    encoding: "utf8",
  });
  const ms = performance.now() - started;
  if (run.status !== 0) throw new Error(`${variant.name} failed: ${run.stderr}`);
  return ms;
}

export async function benchStartup(args: string[]): Promise<void> {
  const runsArg = args[args.indexOf("--runs") + 1];
  const runs = args.includes("--runs") && runsArg ? Number(runsArg) : 10;
  // A fresh bundle: bin/crmlake.mjs runs the sources instead of one older than any of them.
  const build = spawnSync(process.execPath, ["scripts/build-cli.mjs"], { encoding: "utf8" });
  if (build.status !== 0 || !existsSync("dist/crmlake.mjs")) throw new Error(`build failed: ${build.stderr}`);
  const times = new Map<string, number[]>(VARIANTS.map((v) => [v.name, []]));
  for (const variant of VARIANTS) once(variant); // warm the file cache
  for (let i = 0; i < runs; i++) {
    for (const variant of VARIANTS) times.get(variant.name)?.push(once(variant));
  }
  const floor = median(times.get(VARIANTS[0]?.name ?? "") ?? []);
  const bundle = median(times.get(VARIANTS[1]?.name ?? "") ?? []);
  addFigure({
    bench: "startup",
    measure: `crmlake --help (bundle), median of ${runs}`,
    value: `${(bundle / 1000).toFixed(3)} s`,
    floor: `${(floor / 1000).toFixed(3)} s (node -e 0)`,
    ratio: bundle / floor,
    target: "< 0.3 s",
    met: bundle < 300,
  });
  console.table(
    VARIANTS.map((variant) => {
      const values = times.get(variant.name) ?? [];
      return {
        command: variant.name,
        "median s": (median(values) / 1000).toFixed(3),
        "min s": (Math.min(...values) / 1000).toFixed(3),
        "max s": (Math.max(...values) / 1000).toFixed(3),
        "× floor": (median(values) / floor).toFixed(1),
        runs: values.length,
      };
    }),
  );
}
