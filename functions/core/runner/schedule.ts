/**
 * Scheduled scoring, engine-neutral (docs/adr/0005-scoring-on-athena.md, ADR 0006): which date a scheduled
 * invocation scores, which run it is, whether it resumes an earlier attempt, and what happens to the engine's
 * run resources afterwards. The scoring Lambda (functions/score.ts) only parses its environment, builds the
 * AWS backend (functions/backends/aws.ts) and maps the outcome to logs and metrics.
 *
 * EventBridge Scheduler invokes it with
 * `{"source": "crmlake.schedule", "scheduledTime": "<ISO>", "timeZone": "<IANA>", "executionId": "…"}`. The
 * run id is derived from the executionId, so Lambda's retry of the same event is the same run: a run that
 * reached the deadline is recorded `interrupted`, keeps its run database and files, and the retry resumes it;
 * a retry of a run that already succeeded does nothing; a failed run is never resumed (the retry is a fresh
 * run under the next id).
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import { type CrmlakeConfig, defaultConfig, parseConfigText } from "../config.ts";
import { isIsoDate, notADate } from "../dates.ts";
import { CrmlakeError, errorMessage, isCrmlakeError } from "../errors.ts";
import type { IngestBacklog } from "../ports/ingest-backlog.ts";
import { isDeletable, type ModelOutputs } from "../ports/model-outputs.ts";
import type { ObjectStore } from "../ports/object-store.ts";
import type { Warehouse } from "../ports/warehouse.ts";
import {
  type IngestWaitOptions,
  type IngestWaitResult,
  pendingIngestNote,
  waitForIngest,
} from "./ingest-wait.ts";
import { findLateDrops, type LateDropFinding, rescoreNote } from "./late-drops.ts";
import { type RetentionSweep, sweepRetention } from "./retention.ts";
import { type RunSummary, runModels } from "./run.ts";
import type { RunRecord } from "./runs.ts";
import type { Stage } from "./stage.ts";

/** An invocation whose payload is not the schedule's. Retrying cannot fix it; it is thrown all the same. */
export class ScoringEventError extends CrmlakeError {
  override name = "ScoringEventError";
}

/**
 * The Scheduler payload. `asOf` is optional and not sent by the schedule: a manual re-run
 * (`aws lambda invoke`) of a given date sets it instead of computing it from scheduledTime. Its date is
 * checked after the schema, by the one date parser (core/dates.ts).
 */
export const SCORING_EVENT = z.strictObject({
  source: z.literal("crmlake.schedule"),
  scheduledTime: z.iso.datetime({ offset: true }),
  timeZone: z.string().min(1),
  executionId: z.string().min(1),
  asOf: z.string().optional(),
});
export type ScoringEvent = z.infer<typeof SCORING_EVENT>;

/**
 * The late-drop check's payload (the stack's LateDropCheck schedule, docs/adr/0016-late-files-rescore-the-latest-as-of.md):
 * re-score the latest as-of when drops dated on or before it were committed after its run read the ledger.
 */
export const LATE_DROP_EVENT = z.strictObject({
  source: z.literal("crmlake.late-drops"),
  scheduledTime: z.iso.datetime({ offset: true }),
  executionId: z.string().min(1),
});
export type LateDropEvent = z.infer<typeof LATE_DROP_EVENT>;

/** Whether an invocation is the late-drop check's (by its source; its other fields are checked when parsed). */
export function isLateDropEvent(event: unknown): boolean {
  return (
    typeof event === "object" &&
    event !== null &&
    (event as { source?: unknown }).source === LATE_DROP_EVENT.shape.source.value
  );
}

export function parseLateDropEvent(event: unknown): LateDropEvent {
  const result = LATE_DROP_EVENT.safeParse(event);
  if (!result.success) {
    const problems = result.error.issues.map(
      (issue) => `${issue.path.map(String).join(".") || "(top level)"}: ${issue.message}`,
    );
    throw new ScoringEventError(
      "bad_event",
      `Invalid late-drop check event (${problems.join("; ")}). Expected {"source": "crmlake.late-drops", "scheduledTime": "<ISO 8601 time>", "executionId": "<id>"}; got ${JSON.stringify(event)?.slice(0, 500)}`,
    );
  }
  return result.data;
}

/** The run id of a late-drop check's re-score: its own, so that a Lambda retry resumes it (ADR 0006). */
export function lateDropRunIdFor(executionId: string): string {
  return runIdFor(`late-${executionId}`);
}

const EXPECTED_EVENT =
  '{"source": "crmlake.schedule", "scheduledTime": "<ISO 8601 time>", "timeZone": "<IANA zone>", "executionId": "<id>"}';

export function parseScoringEvent(event: unknown): ScoringEvent {
  const result = SCORING_EVENT.safeParse(event);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const path = issue.path.map(String).join(".");
      return `${path === "" ? "(top level)" : path}: ${issue.message}`;
    });
    throw new ScoringEventError(
      "bad_event",
      `Invalid scoring event (${problems.join("; ")}). Expected ${EXPECTED_EVENT}; got ${JSON.stringify(event)?.slice(0, 500)}`,
    );
  }
  const parsed = result.data;
  zoneFormatter(parsed.timeZone); // reject an unknown zone here, with the event's other problems
  if (parsed.asOf !== undefined && !isIsoDate(parsed.asOf)) {
    throw new ScoringEventError("bad_event", `Invalid scoring event: asOf ${notADate(parsed.asOf)}`);
  }
  return parsed;
}

function zoneFormatter(timeZone: string): Intl.DateTimeFormat {
  try {
    // en-CA formats a date as YYYY-MM-DD.
    return new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" });
  } catch (error) {
    throw new ScoringEventError(
      "bad_event",
      `Invalid scoring event: timeZone "${timeZone}" is not an IANA time zone (e.g. Etc/UTC, Europe/Berlin)`,
      { cause: error },
    );
  }
}

/**
 * The as_of of a scheduled run: the calendar day before the scheduled time, read in the schedule's zone.
 * A run at 03:00 scores the last complete day; the running day's transactions are still arriving.
 */
export function asOfFor(scheduledTime: string, timeZone: string): string {
  const instant = new Date(scheduledTime);
  if (Number.isNaN(instant.getTime())) {
    throw new ScoringEventError(
      "bad_event",
      `Invalid scoring event: scheduledTime "${scheduledTime}" is not a time`,
    );
  }
  const parts = zoneFormatter(timeZone).formatToParts(instant);
  const part = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const localDay = Date.UTC(part("year"), part("month") - 1, part("day"));
  return new Date(localDay - 86_400_000).toISOString().slice(0, 10);
}

/**
 * The run id of a scheduled execution: the executionId itself when it is lower-case letters, digits and `-`,
 * up to 64 characters (Scheduler's are UUIDs), else `x` and 32 hex digits of its SHA-256. The same event
 * always names the same run, which is what lets a retried invocation resume it. Lower case without `_`, so
 * that two ids never share a run database (runDatabaseName lower-cases and maps `-` to `_`).
 */
export function runIdFor(executionId: string): string {
  if (/^[a-z0-9][a-z0-9-]{0,63}$/.test(executionId)) return executionId;
  return `x${createHash("sha256").update(executionId).digest("hex").slice(0, 32)}`;
}

/** How many fresh runs one event may start after failed ones (`<id>`, `<id>-2`, … `<id>-5`). */
const MAX_RUNS_PER_EVENT = 5;

type RunChoice =
  | { readonly kind: "done"; readonly runId: string; readonly record: RunRecord }
  | { readonly kind: "run"; readonly runId: string; readonly resume: boolean };

/**
 * Which run an invocation of the event is: the first of `<id>`, `<id>-2`, … that has not failed. One that
 * succeeded (or succeeded and was deleted since) is done (a duplicate delivery); one left running or interrupted is resumed; none yet is started.
 * A failed run is never resumed (its files are discarded and its run database dropped): a retry after a
 * failure is a fresh run under the next id.
 */
export async function chooseRun(
  outputs: Pick<ModelOutputs, "readRunRecord">,
  base: string,
): Promise<RunChoice> {
  for (let n = 1; n <= MAX_RUNS_PER_EVENT; n++) {
    const runId = n === 1 ? base : `${base}-${n}`;
    const record = await outputs.readRunRecord(runId);
    if (record === undefined) return { kind: "run", runId, resume: false };
    // A deleted run's outputs were removed on purpose (crmlake runs delete): a redelivery does not redo it.
    if (record.status === "succeeded" || record.status === "deleted") return { kind: "done", runId, record };
    if (record.status !== "failed") return { kind: "run", runId, resume: true };
  }
  throw new ScoringEventError(
    "too_many_failures",
    `This event already failed ${MAX_RUNS_PER_EVENT} runs (${base} to ${base}-${MAX_RUNS_PER_EVENT}); see their records under runs/log/. Send a new executionId to try again.`,
  );
}

/** CRMLAKE_CONFIG: the run configuration as JSON; empty means the documented defaults. */
export function parseRunConfig(text: string): CrmlakeConfig {
  if (text.trim() === "") return defaultConfig();
  return parseConfigText(text, "CRMLAKE_CONFIG");
}

/** What a scoring backend gives one scheduled invocation (functions/backends/aws.ts builds it). */
export interface ScoringBackend {
  /** The publisher; its run records decide which run an event is (chooseRun). */
  readonly outputs: ModelOutputs;
  /** The lake whose ledger the run pins its inputs from. */
  readonly lake: ObjectStore;
  /** The engine of one run (named after it: the Athena adapter's run database); close() releases it. */
  warehouseFor(runId: string): Warehouse;
  readonly stages: readonly Stage[];
  /** Landed files not ingested yet (the ingest queue); a fresh run waits for them (ScheduledRunOptions.ingestWait). */
  readonly ingestBacklog?: IngestBacklog;
}

export interface ScheduledRunOptions {
  readonly event: unknown;
  /** The run configuration as JSON text (CRMLAKE_CONFIG); empty means the defaults. */
  readonly config: string;
  readonly backend: ScoringBackend;
  /** Directory of the models; default the project's sql/. */
  readonly sqlDir?: string;
  readonly now?: () => Date;
  /** Progress and housekeeping lines. */
  readonly log: (message: string, fields?: Record<string, unknown>) => void;
  /** Called once the run is chosen, before any work (the handler tags its logs with these). */
  readonly onRun?: (run: { runId: string; asOf: string; executionId: string }) => void;
  /**
   * How long a fresh run waits for the backend's ingest backlog to drain before it pins the ledger; no wait
   * without a backlog or these. A resumed run does not wait: its ledger snapshot is already pinned.
   */
  readonly ingestWait?: Omit<IngestWaitOptions, "backlog">;
  /** Called after the wait for ingest, with its outcome (the handler counts a run that started with files pending). */
  readonly onIngestWait?: (result: IngestWaitResult) => void;
  /** Called once the engine is done, whatever the outcome, with what it billed (engines that bill). */
  readonly onUsage?: (usage: ScoringUsage) => void;
  /**
   * Called after the retention sweep that follows a successful run (housekeeping: its failure never fails the
   * run), with what it removed or why it failed; not called when retention is off or the outputs cannot
   * remove as-ofs.
   */
  readonly onRetention?: (outcome: RetentionOutcome) => void;
  /** Time left in the invocation: the retention sweep removes no further as-of with less than this much. */
  readonly remainingMs?: () => number;
  /**
   * A fresh scheduled run that finds another run holding the lake polls the lock this often, for up to a third of
   * remainingMs, before failing; without it (or remainingMs), it fails at once. A late-drop check never waits.
   */
  readonly lockWait?: { readonly pollMs: number; readonly sleep?: (ms: number) => Promise<void> };
  /** A late-drop check's finding, before it re-scores or returns (the handler counts the late drops). */
  readonly onLateDrops?: (finding: LateDropFinding) => void;
}

export type RetentionOutcome =
  | { readonly kind: "swept"; readonly sweep: RetentionSweep }
  | { readonly kind: "failed"; readonly error: unknown };

/** The retention sweep starts no further as-of with less time than this left (one as-of: a few Glue calls per model). */
export const RETENTION_SWEEP_RESERVE_MS = 60_000;

/**
 * The retention sweep after a successful scheduled run (retention.ts): the run's own lock is released, so the
 * sweep takes it again. Housekeeping: never throws; a failure is reported to onRetention and logged, and the
 * next successful run sweeps again.
 */
async function sweepAfterRun(options: ScheduledRunOptions, config: CrmlakeConfig): Promise<void> {
  const { outputs } = options.backend;
  if (config.retention.keep_last === undefined || !isDeletable(outputs)) return;
  try {
    const sweep = await sweepRetention(outputs, config.retention, {
      command: "retention sweep after a scheduled run",
      ...(options.now === undefined ? {} : { now: options.now }),
      ...(options.remainingMs === undefined
        ? {}
        : { shouldStop: () => (options.remainingMs?.() ?? 0) < RETENTION_SWEEP_RESERVE_MS }),
    });
    options.log("retention sweep", {
      removed: sweep.removed,
      kept: sweep.plan.keep.length,
      ...(sweep.left.length === 0 ? {} : { left_for_next_run: sweep.left }),
      ...(sweep.plan.notes.length === 0 ? {} : { notes: sweep.plan.notes }),
    });
    options.onRetention?.({ kind: "swept", sweep });
  } catch (error) {
    options.log("retention sweep failed; the run succeeded and the next one sweeps again", {
      error: errorMessage(error),
    });
    options.onRetention?.({ kind: "failed", error });
  }
}

/** Totals of what the run's engine billed (engines that bill), for metrics. */
export type ScoringUsage = ReturnType<NonNullable<Warehouse["usage"]>>;

export type ScheduledRunOutcome =
  | {
      /** An earlier invocation already published this run: nothing was done. */
      readonly kind: "already_done";
      readonly runId: string;
      readonly record: RunRecord;
    }
  | {
      /** Another invocation of the same run (a duplicate delivery) holds its lock: nothing was done. */
      readonly kind: "already_running";
      readonly runId: string;
      readonly asOf: string;
    }
  | {
      readonly kind: "succeeded";
      readonly summary: RunSummary;
    }
  | {
      /** A late-drop check that found nothing late (or nothing scored): no run. */
      readonly kind: "nothing_late";
      readonly finding: LateDropFinding;
    }
  | {
      /** A late-drop check that found late drops while another run held the lake: the next check looks again. */
      readonly kind: "skipped_locked";
      readonly runId: string;
      readonly asOf: string;
      readonly reason: string;
    };

/**
 * Runs one scheduled invocation (the late-drop check's event goes to runLateDropCheck): parses the event, chooses the run (new, resumed or already done), runs the
 * models and releases the engine's run resources, except when the run must keep them (interrupted: the retry
 * resumes from them; a duplicate invocation: the running one works in them; a resumed run locked out by
 * another run: its next retry resumes). Rejects with the run's error (code `run_interrupted` when Lambda's
 * retry should resume it).
 */
export async function runScheduled(options: ScheduledRunOptions): Promise<ScheduledRunOutcome> {
  if (isLateDropEvent(options.event)) return runLateDropCheck(options);
  const parsed = parseScoringEvent(options.event);
  const asOf = parsed.asOf ?? asOfFor(parsed.scheduledTime, parsed.timeZone);
  const { backend } = options;
  const choice = await chooseRun(backend.outputs, runIdFor(parsed.executionId));
  options.onRun?.({ runId: choice.runId, asOf, executionId: parsed.executionId });
  if (choice.kind === "done") return { kind: "already_done", runId: choice.runId, record: choice.record };
  // The schedule's clock chose this as-of (yesterday in the schedule's zone, which calendar.time_zone may
  // not share); an asOf written in the event is held to today like `crmlake run --as-of`.
  const run = { allowFutureAsOf: parsed.asOf === undefined, notes: [] as string[], skipIngestWait: false };
  // A fresh run that finds the lake locked (a late-drop check's re-score, ADR 0016; a manual re-score) waits
  // for it, within a third of the time left, instead of failing into Lambda's retries and the dead letters.
  const budgetMs = options.lockWait === undefined ? 0 : (options.remainingMs?.() ?? 0) / 3;
  const waitStarted = Date.now();
  let slept = 0;
  for (;;) {
    try {
      return await runChosen(options, choice, asOf, run);
    } catch (error) {
      const locked = isCrmlakeError(error) && error.code === "run_locked" && !choice.resume;
      const pollMs = options.lockWait?.pollMs ?? 0;
      if (!locked || Math.max(Date.now() - waitStarted, slept) + pollMs > budgetMs) throw error;
      options.log("another run holds the lake; waiting for it", { error: errorMessage(error) });
      await (options.lockWait?.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms))))(pollMs);
      slept += pollMs;
      // The ingest queue was waited for before the first attempt; its outcome is on record in the notes.
      run.skipIngestWait = true;
    }
  }
}

/**
 * The late-drop check (ADR 0016): a retry of a check whose re-score started resumes it; otherwise, when drops
 * dated on or before the latest as-of were committed after its run read the ledger, re-scores that as-of (a
 * run as of the greatest as-of publishes over the latest tables). Nothing late: no run, nothing recorded. The
 * lake locked by another run: skipped, not failed; the next check looks again.
 */
async function runLateDropCheck(options: ScheduledRunOptions): Promise<ScheduledRunOutcome> {
  const parsed = parseLateDropEvent(options.event);
  const { backend } = options;
  const choice = await chooseRun(backend.outputs, lateDropRunIdFor(parsed.executionId));
  if (choice.kind === "done") {
    options.onRun?.({ runId: choice.runId, asOf: choice.record.as_of, executionId: parsed.executionId });
    return { kind: "already_done", runId: choice.runId, record: choice.record };
  }
  const notes: string[] = [];
  let asOf: string;
  const earlier = choice.resume ? await backend.outputs.readRunRecord(choice.runId) : undefined;
  if (earlier !== undefined) {
    asOf = earlier.as_of;
  } else {
    const finding = await findLateDrops(backend.outputs, backend.lake);
    options.onLateDrops?.(finding);
    if (finding.kind !== "found" || finding.late.length === 0) {
      options.log(
        finding.kind === "nothing_scored"
          ? "late-drop check: no run has succeeded yet; nothing to re-score"
          : finding.kind === "no_snapshot"
            ? `late-drop check: the inputs of run ${finding.latest.runId} (as of ${finding.latest.asOf}) are not pinned in the lake; nothing to compare with`
            : `late-drop check: nothing late for ${finding.latest.asOf} (run ${finding.latest.runId})`,
      );
      return { kind: "nothing_late", finding };
    }
    asOf = finding.latest.asOf;
    const note = rescoreNote(finding.latest, finding.late);
    options.log(note, { late_drops: finding.late.map((d) => d.drop_id) });
    notes.push(note);
  }
  options.onRun?.({ runId: choice.runId, asOf, executionId: parsed.executionId });
  try {
    // The as-of is one a run already scored (a what-if run's future date included).
    return await runChosen(options, choice, asOf, { allowFutureAsOf: true, notes });
  } catch (error) {
    if (isCrmlakeError(error) && error.code === "run_locked" && !choice.resume) {
      options.log("late-drop check: another run holds the lake; the next check re-scores", {
        error: error.message,
      });
      return { kind: "skipped_locked", runId: choice.runId, asOf, reason: error.message };
    }
    throw error;
  }
}

/** Runs a chosen (new or resumed) run as of `asOf`: the wait for ingest, the models, the retention sweep. */
async function runChosen(
  options: ScheduledRunOptions,
  choice: { readonly runId: string; readonly resume: boolean },
  asOf: string,
  run: {
    readonly allowFutureAsOf: boolean;
    /** The run's notes; the wait for ingest adds its own (kept for a later attempt that skips the wait). */
    readonly notes: string[];
    readonly skipIngestWait?: boolean;
  },
): Promise<ScheduledRunOutcome> {
  const config = parseRunConfig(options.config);
  const { backend } = options;
  if (
    backend.ingestBacklog !== undefined &&
    options.ingestWait !== undefined &&
    !choice.resume &&
    run.skipIngestWait !== true
  ) {
    const waited = await waitForIngest(
      { ...options.ingestWait, backlog: backend.ingestBacklog },
      options.log,
    );
    options.onIngestWait?.(waited);
    if (waited.pending > 0) run.notes.push(pendingIngestNote(waited));
  }

  const warehouse = backend.warehouseFor(choice.runId);
  let keepRunResources = false;
  try {
    const summary = await runModels({
      ...(options.sqlDir === undefined ? {} : { sqlDir: options.sqlDir }),
      asOf,
      allowFutureAsOf: run.allowFutureAsOf,
      config,
      warehouse,
      outputs: backend.outputs,
      lake: backend.lake,
      stages: backend.stages,
      runId: choice.runId,
      resume: choice.resume,
      log: (line) => options.log(line.trim()),
      notes: run.notes,
      ...(options.now === undefined ? {} : { now: options.now }),
    });
    await sweepAfterRun(options, config);
    return { kind: "succeeded", summary };
  } catch (error) {
    keepRunResources =
      isCrmlakeError(error) &&
      (error.code === "run_interrupted" ||
        error.code === "run_in_progress" ||
        (error.code === "run_locked" && choice.resume));
    if (isCrmlakeError(error) && error.code === "run_in_progress") {
      options.log("another invocation of this run is in progress; nothing to do", { error: error.message });
      return { kind: "already_running", runId: choice.runId, asOf };
    }
    throw error;
  } finally {
    if (!keepRunResources) {
      // Releasing the run's resources (dropping the run database) is housekeeping: its failure must not
      // hide the run's own outcome.
      try {
        await warehouse.close();
      } catch (error) {
        options.log("could not release the run's engine resources", { error: errorMessage(error) });
      }
    }
    const usage = warehouse.usage?.();
    if (usage !== undefined) options.onUsage?.(usage);
  }
}
