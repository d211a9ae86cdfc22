/**
 * Retention of published model snapshots (issue 18, item 6; docs/operations.md, "Retention"). Every run adds one
 * as-of partition per published model; this decides which as-ofs may go and removes them through the same path
 * as `crmlake runs delete` (delete.ts removeAsOf: run records marked `deleted`, then the partitions; on S3 the
 * files are marked retired and the publish sweep deletes them after its grace). The latest tables stay where
 * they are: the plan never removes an as-of one of them shows.
 *
 * The policy is `retention` in the run configuration (config.ts), off unless `keep_last` is set. An as-of is
 * kept when any of these holds, and removed otherwise:
 * - `latest`: it is the greatest as-of of some model (what a `<model>_latest` view reads in a lake directory);
 * - `latest_table`: a `<model>_latest` Glue table points at it (S3 with Glue, ADR 0014);
 * - `last`: it is one of the last `keep_last` as-ofs of some model;
 * - `month_end`: it is the month-end of one of the last `keep_month_ends` closed months of some model. A month's
 *   month-end is its greatest as-of; a month is closed when that as-of is the month's last day or the model has
 *   an as-of in a later month (a partial month whose runs stopped on the 20th keeps its 20th; the current month
 *   is not closed until its last day is scored);
 * - `kept_as_of`: `retention.keep_as_of` names it;
 * - `pinned_run`: a run named in `retention.keep_runs` is as of it;
 * - `unfinished_run`: a run that is running or interrupted (it may still publish or resume) is as of it.
 *
 * The unit removed is the as-of, from every model at once, as `runs delete` removes it: the run records then
 * say which runs' outputs are gone. An as-of any model keeps stays for all of them.
 */
import type { CrmlakeConfig } from "../config.ts";
import { addDays } from "../dates.ts";
import { errorMessage, RunLockedError } from "../errors.ts";
import type { DeletableOutputs, PublishedPartition } from "../ports/model-outputs.ts";
import { removeAsOf } from "./delete.ts";
import { type RunRecord, timestampText } from "./runs.ts";

export type RetentionPolicy = CrmlakeConfig["retention"];

export const KEEP_REASONS = [
  "latest",
  "latest_table",
  "last",
  "month_end",
  "kept_as_of",
  "pinned_run",
  "unfinished_run",
] as const;
export type KeepReason = (typeof KEEP_REASONS)[number];

export interface RetentionInput {
  readonly policy: RetentionPolicy;
  /** Every published partition of the lake. */
  readonly published: readonly PublishedPartition[];
  /** The as-of each model's latest table points at, where latest tables are tables of their own. */
  readonly latestTables?: ReadonlyMap<string, string>;
  /** The lake's run records: those keep_runs names and those still running or interrupted pin their as-of. */
  readonly runs: readonly Pick<RunRecord, "run_id" | "as_of" | "status">[];
}

export interface KeptAsOf {
  readonly asOf: string;
  /** Why, in KEEP_REASONS order. */
  readonly reasons: readonly KeepReason[];
  /** The runs that pin it (pinned_run, unfinished_run), sorted. */
  readonly runs: readonly string[];
}

export interface RemovedAsOf {
  readonly asOf: string;
  /** The models it is published for, sorted. */
  readonly models: readonly string[];
}

export interface RetentionPlan {
  /** False when retention is off (no keep_last): nothing is removed. */
  readonly enabled: boolean;
  /** Every published as-of that stays, ascending. */
  readonly keep: readonly KeptAsOf[];
  /** Every published as-of to remove, ascending. */
  readonly remove: readonly RemovedAsOf[];
  /** What the policy names that the lake does not have (a keep_runs id without a record). */
  readonly notes: readonly string[];
}

/** Runs that may still publish or resume: their as-of is kept whatever the policy says. */
const UNFINISHED = new Set(["running", "interrupted"]);

/** The month-ends of a model's ascending as-ofs: each closed month's greatest as-of, ascending. */
export function monthEnds(asOfs: readonly string[]): string[] {
  const greatest = new Map<string, string>();
  for (const asOf of [...asOfs].sort()) greatest.set(asOf.slice(0, 7), asOf);
  const months = [...greatest.keys()];
  const current = months.at(-1);
  return months
    .filter((month) => month !== current || addDays(greatest.get(month) as string, 1).endsWith("-01"))
    .map((month) => greatest.get(month) as string);
}

/** The as-ofs to remove under `policy`, and why each other one stays. Pure. */
export function planRetention(input: RetentionInput): RetentionPlan {
  const { policy } = input;
  const byModel = new Map<string, Set<string>>();
  for (const { model, asOf } of input.published) {
    byModel.set(model, (byModel.get(model) ?? new Set()).add(asOf));
  }
  const asOfs = [...new Set(input.published.map((p) => p.asOf))].sort();
  const reasons = new Map<string, Set<KeepReason>>();
  const pins = new Map<string, Set<string>>();
  const keep = (asOf: string, reason: KeepReason) =>
    reasons.set(asOf, (reasons.get(asOf) ?? new Set()).add(reason));
  const pin = (asOf: string, runId: string) => pins.set(asOf, (pins.get(asOf) ?? new Set()).add(runId));

  const notes: string[] = [];
  const enabled = policy.keep_last !== undefined;
  if (enabled) {
    const last = policy.keep_last as number;
    for (const [model, set] of byModel) {
      const sorted = [...set].sort();
      const greatest = sorted.at(-1);
      if (greatest !== undefined) keep(greatest, "latest");
      for (const asOf of sorted.slice(Math.max(0, sorted.length - last))) keep(asOf, "last");
      const ends = monthEnds(sorted);
      for (const asOf of ends.slice(Math.max(0, ends.length - policy.keep_month_ends)))
        keep(asOf, "month_end");
      const table = input.latestTables?.get(model);
      if (table !== undefined) keep(table, "latest_table");
    }
    for (const asOf of policy.keep_as_of) keep(asOf, "kept_as_of");
    const named = new Set(policy.keep_runs);
    for (const run of input.runs) {
      if (named.has(run.run_id)) {
        keep(run.as_of, "pinned_run");
        pin(run.as_of, run.run_id);
      }
      if (UNFINISHED.has(run.status)) {
        keep(run.as_of, "unfinished_run");
        pin(run.as_of, run.run_id);
      }
    }
    const recorded = new Set(input.runs.map((r) => r.run_id));
    for (const runId of policy.keep_runs) {
      if (!recorded.has(runId))
        notes.push(`retention.keep_runs names run ${runId}, which has no record here`);
    }
  }
  return {
    enabled,
    keep: asOfs
      .filter((asOf) => !enabled || reasons.has(asOf))
      .map((asOf) => ({
        asOf,
        reasons: KEEP_REASONS.filter((r) => reasons.get(asOf)?.has(r) === true),
        runs: [...(pins.get(asOf) ?? [])].sort(),
      })),
    remove: !enabled
      ? []
      : asOfs
          .filter((asOf) => !reasons.has(asOf))
          .map((asOf) => ({
            asOf,
            models: input.published
              .filter((p) => p.asOf === asOf)
              .map((p) => p.model)
              .sort(),
          })),
    notes,
  };
}

/** One line's words for a kept as-of's reasons (the CLI and the logs). */
export function describeKeep(kept: KeptAsOf, policy: RetentionPolicy): string {
  const words: Record<KeepReason, string> = {
    latest: "a model's latest",
    latest_table: "a <model>_latest table points at it",
    last: `one of a model's last ${policy.keep_last ?? "—"}`,
    month_end: `a month-end of the last ${policy.keep_month_ends} months`,
    kept_as_of: "named in retention.keep_as_of",
    pinned_run: "a run named in retention.keep_runs",
    unfinished_run: "a run still running or interrupted",
  };
  const runs = kept.runs.length === 0 ? "" : ` (${kept.runs.join(", ")})`;
  return `${kept.reasons.map((r) => words[r]).join("; ")}${runs}`;
}

export interface RetentionSweep {
  readonly policy: RetentionPolicy;
  readonly plan: RetentionPlan;
  /** The as-ofs removed (none on a dry run), ascending. */
  readonly removed: readonly string[];
  /** As-ofs the plan removes that this sweep left for the next one (shouldStop said so). */
  readonly left: readonly string[];
  readonly dryRun: boolean;
}

export interface RetentionSweepOptions {
  /** Plan only: read, lock nothing, remove nothing. */
  readonly dryRun?: boolean;
  readonly now?: () => Date;
  /** How the sweep is written in the notes left on run records. */
  readonly command?: string;
  /** Asked before each as-of (a Lambda's time left): true stops the sweep, and the next one goes on. */
  readonly shouldStop?: () => boolean;
}

/**
 * Applies `policy` to the lake: under the run lock (no run publishes meanwhile), finishes a half-done publish,
 * plans from what is published, the latest tables and the run records, and removes each as-of the plan
 * removes, oldest first, through removeAsOf. Retention off: nothing is read or removed.
 */
export async function sweepRetention(
  outputs: DeletableOutputs,
  policy: RetentionPolicy,
  options: RetentionSweepOptions = {},
): Promise<RetentionSweep> {
  const dryRun = options.dryRun === true;
  if (policy.keep_last === undefined) {
    return {
      policy,
      plan: planRetention({ policy, published: [], runs: [] }),
      removed: [],
      left: [],
      dryRun,
    };
  }
  const now = options.now ?? (() => new Date());
  const read = async (): Promise<Omit<RetentionInput, "runs"> & { readonly runs: readonly RunRecord[] }> => ({
    policy,
    published: await outputs.publishedPartitions(),
    runs: await outputs.listRunRecords(),
    ...(outputs.latestAsOfs === undefined ? {} : { latestTables: await outputs.latestAsOfs() }),
  });
  if (dryRun) return { policy, plan: planRetention(await read()), removed: [], left: [], dryRun };

  const holder = `retention-sweep-${now().getTime().toString(36)}`;
  let release: () => Promise<void>;
  try {
    release = await outputs.lock(holder);
  } catch (error) {
    if (!(error instanceof RunLockedError)) throw error;
    throw new RunLockedError("run_locked", `Cannot sweep now: ${errorMessage(error)}`, { cause: error });
  }
  try {
    // A publish a dead run left half-done is finished first: it may point at an as-of, or move a latest table.
    await outputs.recover(holder);
    const state = await read();
    const planned = planRetention(state);
    const removed: string[] = [];
    const left: string[] = [];
    const note = `Its outputs were removed by the retention sweep on ${timestampText(now())} (${
      options.command ?? "retention"
    }: keep_last ${policy.keep_last}, keep_month_ends ${policy.keep_month_ends})`;
    for (const { asOf } of planned.remove) {
      if (left.length > 0 || options.shouldStop?.() === true) {
        left.push(asOf);
        continue;
      }
      await removeAsOf(outputs, asOf, {
        partitions: state.published.filter((p) => p.asOf === asOf),
        records: state.runs.filter((r) => r.as_of === asOf && r.status === "succeeded"),
        note,
        // The plan keeps every as-of a latest table shows, read under this lock: none has to move. Moving them
        // anyway (runs delete's moveLatestFrom) would re-point one that shows an older kept as-of.
        moveLatest: false,
      });
      removed.push(asOf);
    }
    return { policy, plan: planned, removed, left, dryRun };
  } finally {
    await release();
  }
}
