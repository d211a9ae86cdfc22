/**
 * `crmlake runs` without a subcommand: the lake's run records (runs/log/<run id>.json, the runs table), newest
 * first, one line each, for a local lake or a deployed stack alike; and `runs delete` on a stack.
 */
import { localRunRecords } from "../backends/local.ts";
import { deletePublishedAsOf } from "../core/runner/delete.ts";
import type { RunRecord } from "../core/runner/runs.ts";
import { intOption, type ParsedArgs, stringOption } from "./command.ts";
import { withStack } from "./stack.ts";

function duration(ms: number | null): string {
  if (ms === null) return "-";
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** One line of at most this many characters per error, so a table stays a table. */
const ERROR_WIDTH = 100;

/**
 * The records as a table, newest first (by started_at, then run id), at most `limit` of them (0: all), with a
 * last line that says how many there are and where they came from.
 */
export function formatRunRecords(records: readonly RunRecord[], limit: number, where: string): string {
  if (records.length === 0) return `No runs recorded in ${where}.\n`;
  const sorted = [...records].sort(
    (a, b) => b.started_at.localeCompare(a.started_at) || b.run_id.localeCompare(a.run_id),
  );
  const shown = limit === 0 ? sorted : sorted.slice(0, limit);
  const rows = [
    ["run_id", "as_of", "status", "started_at", "duration", "models", "error"],
    ...shown.map((r) => {
      const error = (r.error ?? "").replace(/\s+/g, " ");
      return [
        r.run_id,
        r.as_of,
        r.status,
        r.started_at,
        duration(r.duration_ms),
        String(r.models.length),
        error.length > ERROR_WIDTH ? `${error.slice(0, ERROR_WIDTH - 1)}…` : error,
      ];
    }),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? "").length))) ?? [];
  const lines = rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd(),
  );
  const more = shown.length < sorted.length ? ` (the newest ${shown.length} shown; --limit 0 shows all)` : "";
  return `${lines.join("\n")}\n${sorted.length} run${sorted.length === 1 ? "" : "s"} recorded in ${where}${more}.\n`;
}

/** `crmlake runs [--limit N] [--lake DIR | --stack NAME]`: prints the run records. */
export async function listRuns(args: ParsedArgs, stack: string | undefined): Promise<number> {
  const limit = intOption(args, "limit", 20);
  if (stack !== undefined) {
    const text = await withStack(stack, async ({ outputs, stack: deployed }) =>
      formatRunRecords(await outputs.listRunRecords(), limit, `stack ${deployed.name} (${outputs.location})`),
    );
    process.stdout.write(text);
    return 0;
  }
  const lakeDir = stringOption(args, "lake") ?? "lake";
  process.stdout.write(formatRunRecords(await localRunRecords(lakeDir), limit, lakeDir));
  return 0;
}

/** "; runs a, b marked deleted in the runs table", or nothing without runs: what runs delete says of them. */
export function deletedRunsPhrase(runs: readonly string[]): string {
  return runs.length === 0
    ? ""
    : `; run${runs.length === 1 ? "" : "s"} ${runs.join(", ")} marked deleted in the runs table`;
}

/**
 * `crmlake runs delete --as-of D --stack NAME`: deletePublishedAsOf through the stack's S3ModelOutputs, under
 * its run lock: each `<model>_latest` table is first pointed at the greatest as-of its model keeps (ADR 0014),
 * then the as-of's Glue partitions are removed; their files are marked retired for the publish sweep.
 */
export async function deleteAsOfOnStack(stack: string, asOf: string): Promise<number> {
  const text = await withStack(stack, async ({ outputs }) => {
    const deleted = await deletePublishedAsOf(outputs, asOf, {
      command: `crmlake runs delete --as-of ${asOf} --stack ${stack}`,
    });
    const models = `${deleted.models.length} model partition${deleted.models.length === 1 ? "" : "s"}`;
    const runs = deletedRunsPhrase(deleted.runs);
    const latest =
      deleted.latest === undefined
        ? "Nothing else is published: the *_latest tables are empty until the next run publishes."
        : `The *_latest tables now show as of ${deleted.latest}.`;
    return `Deleted as of ${asOf} from stack ${stack} (${outputs.location}): ${models}${runs}. ${latest} The files are deleted by a later run's sweep, a day after.\n`;
  });
  process.stdout.write(text);
  return 0;
}
