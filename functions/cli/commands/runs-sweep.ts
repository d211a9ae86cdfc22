/**
 * `crmlake runs sweep [--dry-run] [--config FILE] [--lake DIR | --stack NAME]`: the retention sweep (issue 18,
 * item 6; functions/core/runner/retention.ts) of a local lake or a deployed stack (whose scoring Lambda also
 * sweeps after each successful scheduled run). The policy is the run configuration's `retention`; the sweep
 * prints each as-of it removes and each it keeps, and why. The `runs` command (runs.ts) dispatches here.
 */
import { existsSync } from "node:fs";
import { loadConfig } from "../../core/config.ts";
import { ModelError } from "../../core/errors.ts";
import { describeKeep, type RetentionSweep, sweepRetention } from "../../core/runner/retention.ts";
import { LocalModelOutputs } from "../../storage/local-outputs.ts";
import type { ParsedArgs } from "../command.ts";
import { stringOption } from "../command.ts";
import { withStack } from "../stack.ts";

export const SWEEP_USAGE = "crmlake runs sweep [--dry-run] [--config FILE] [--lake DIR | --stack NAME]";

export const SWEEP_HELP = `sweep    Applies the retention policy of the run configuration (retention in --config FILE; off unless
         retention.keep_last is set) and removes, as runs delete does, every as-of it does not keep: each
         model's latest and last keep_last as-ofs, the month-ends of the last keep_month_ends closed
         months, retention.keep_as_of, the as-ofs of the runs in retention.keep_runs and of runs still
         running or interrupted. Prints what it removes and what it keeps, and why. --dry-run prints the
         same and removes nothing. Refused while a run holds the lake's run lock. On a stack, pass the
         configuration the stack deploys (crmlake:configFile): its scoring Lambda sweeps by that one after
         each successful scheduled run (docs/operations.md, "Retention").`;

/** The sweep's lines of the runs command's options. */
export const SWEEP_OPTIONS_HELP = `  --dry-run        (sweep) print what would be removed and kept; remove nothing
  --config FILE    (sweep) the run configuration whose retention applies (default: none, retention off)`;

/** The sweep's own options, merged into the runs command's. */
export const SWEEP_OPTIONS = {
  "dry-run": { type: "boolean" },
  config: { type: "string" },
} as const;

export async function runsSweep(args: ParsedArgs, stack: string | undefined): Promise<number> {
  const { retention } = await loadConfig(stringOption(args, "config"));
  const dryRun = args.values["dry-run"] === true;
  if (stack !== undefined) {
    const text = await withStack(stack, async ({ outputs }) =>
      sweepReport(
        await sweepRetention(outputs, retention, {
          dryRun,
          command: `crmlake runs sweep --stack ${stack}`,
        }),
        `stack ${stack} (${outputs.location})`,
      ),
    );
    process.stdout.write(text);
    return 0;
  }
  const lakeDir = stringOption(args, "lake") ?? "lake";
  // Taking the run lock creates <lake>/runs/: a mistyped --lake must not leave a lake behind.
  if (!existsSync(lakeDir)) {
    throw new ModelError("no_lake", `No lake at ${lakeDir}: nothing is published there. Pass --lake DIR`);
  }
  const sweep = await sweepRetention(new LocalModelOutputs(lakeDir), retention, {
    dryRun,
    command: `crmlake runs sweep --lake ${lakeDir}`,
  });
  process.stdout.write(sweepReport(sweep, lakeDir));
  return 0;
}

/** What the sweep did, or would do, one as-of a line. */
export function sweepReport(sweep: RetentionSweep, where: string): string {
  const { plan } = sweep;
  if (!plan.enabled) {
    return `Retention is off (retention.keep_last is not set in the run configuration): nothing removed from ${where}.\n`;
  }
  const policy = sweep.policy;
  const removed = new Set(sweep.removed);
  const lines = [
    `Retention sweep of ${where} (keep_last ${policy.keep_last}, keep_month_ends ${policy.keep_month_ends})${sweep.dryRun ? ", dry run" : ""}:`,
  ];
  const rows = [
    ...plan.remove.map((r) => ({
      asOf: r.asOf,
      line: `  ${sweep.dryRun ? "would remove" : removed.has(r.asOf) ? "removed" : "left"} ${r.asOf}  ${r.models.length} model${r.models.length === 1 ? "" : "s"}`,
    })),
    ...plan.keep.map((k) => ({ asOf: k.asOf, line: `  kept ${k.asOf}  ${describeKeep(k, policy)}` })),
  ].sort((a, b) => (a.asOf < b.asOf ? -1 : a.asOf > b.asOf ? 1 : 0));
  lines.push(...rows.map((r) => r.line));
  for (const note of plan.notes) lines.push(`  note: ${note}`);
  const count = (n: number) => `${n} as-of${n === 1 ? "" : "s"}`;
  lines.push(
    sweep.dryRun
      ? `Would remove ${count(plan.remove.length)} and keep ${count(plan.keep.length)}; nothing removed (--dry-run).`
      : `Removed ${count(sweep.removed.length)}, kept ${count(plan.keep.length)}.${sweep.removed.length > 0 ? " Their runs are marked deleted in the runs table." : ""}`,
  );
  return `${lines.join("\n")}\n`;
}
