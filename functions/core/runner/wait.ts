/**
 * Waiting for a run that another process does (`crmlake run --stack NAME --as-of D --wait`, and the smoke
 * test): the scoring Lambda, invoked asynchronously, records the run in runs/log/<run id>.json when it starts,
 * after each model, and when it ends. This polls that record until the run ended.
 *
 * One event is not always one run (schedule.ts, chooseRun): Lambda retries a failed invocation up to twice,
 * and each retry after a failed run is a fresh run `<id>-2`, `<id>-3`; a run interrupted by the 15-minute
 * limit is resumed under its own id. So the wait follows the chain `<id>`, `<id>-2`, … and a failed run is the
 * outcome only once no retry of it has appeared for `retryGraceMs` (Lambda's retries come about one and two
 * minutes after a failure).
 */
import type { ModelOutputs } from "../ports/model-outputs.ts";
import type { RunRecord } from "./runs.ts";

/** Lambda retries an asynchronous invocation after about 1 and then 2 minutes; a little more is allowed. */
export const DEFAULT_RETRY_GRACE_MS = 4 * 60 * 1000;
export const DEFAULT_WAIT_POLL_MS = 10_000;
/** The longest chain of runs one event makes (schedule.ts: `<id>` … `<id>-5`). */
const MAX_RUNS_PER_EVENT = 5;

export interface WaitForRunOptions {
  /** How long to wait in all (milliseconds). */
  readonly timeoutMs: number;
  /** How often the record is read (default 10 s). */
  readonly pollMs?: number;
  /** How long a failed run's retry may take to appear (default 4 minutes). */
  readonly retryGraceMs?: number;
  /** Told each change worth a line: started, a model done, failed and retried, ended. */
  readonly onProgress?: (line: string) => void;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export type WaitOutcome =
  | { readonly kind: "succeeded"; readonly record: RunRecord }
  /** The run failed and no retry followed within the grace (or the event's runs are used up). */
  | { readonly kind: "failed"; readonly record: RunRecord }
  /** Its outputs were removed since (crmlake runs delete) before this saw it end. */
  | { readonly kind: "deleted"; readonly record: RunRecord }
  /** Still not ended: the run goes on (or has not started); `record` is the last one read. */
  | { readonly kind: "timeout"; readonly runId: string; readonly record: RunRecord | undefined };

/** The run ids one event's runs take, in order (chooseRun's). */
export function eventRunIds(base: string): string[] {
  return Array.from({ length: MAX_RUNS_PER_EVENT }, (_, i) => (i === 0 ? base : `${base}-${i + 1}`));
}

/** The newest run of the event that has a record: where the event stands now. */
async function currentRun(
  outputs: Pick<ModelOutputs, "readRunRecord">,
  base: string,
): Promise<{ runId: string; record: RunRecord | undefined; last: boolean }> {
  const ids = eventRunIds(base);
  let current: { runId: string; record: RunRecord | undefined; last: boolean } = {
    runId: base,
    record: undefined,
    last: false,
  };
  for (const [i, runId] of ids.entries()) {
    const record = await outputs.readRunRecord(runId);
    if (record === undefined) break;
    current = { runId, record, last: i === ids.length - 1 };
    if (record.status !== "failed") break;
  }
  return current;
}

function seconds(ms: number): string {
  return ms < 60_000
    ? `${Math.round(ms / 1000)} s`
    : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** What a record says of the run's progress: its status and the models it recorded done. */
export function runProgress(record: RunRecord): string {
  const done = record.models.filter((m) => m.status === "succeeded");
  const last = done.at(-1)?.model;
  const models = `${done.length} model${done.length === 1 ? "" : "s"} done${last === undefined ? "" : ` (last: ${last})`}`;
  return `${record.status}, ${models}`;
}

/** Polls the run records of the event whose first run is `base` until its run ended, or `timeoutMs` passed. */
export async function waitForRun(
  outputs: Pick<ModelOutputs, "readRunRecord">,
  base: string,
  options: WaitForRunOptions,
): Promise<WaitOutcome> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const pollMs = options.pollMs ?? DEFAULT_WAIT_POLL_MS;
  const graceMs = options.retryGraceMs ?? DEFAULT_RETRY_GRACE_MS;
  const start = now();
  const say = (line: string) => options.onProgress?.(`[${seconds(now() - start)}] ${line}`);
  let shown = "";
  let failedSeen: { runId: string; at: number } | undefined;
  let last: { runId: string; record: RunRecord | undefined } = { runId: base, record: undefined };
  for (;;) {
    const current = await currentRun(outputs, base);
    last = current;
    const { runId, record } = current;
    const state =
      record === undefined
        ? `run ${runId}: not started yet (waiting in Lambda's queue)`
        : `run ${runId}: ${runProgress(record)}`;
    if (state !== shown) {
      say(state);
      shown = state;
    }
    if (record?.status === "succeeded") return { kind: "succeeded", record };
    if (record?.status === "deleted") return { kind: "deleted", record };
    if (record?.status === "failed") {
      if (failedSeen?.runId !== runId) {
        failedSeen = { runId, at: now() };
        if (!current.last) {
          say(
            `run ${runId} failed: ${record.error ?? "(no error recorded)"}; Lambda may retry it as a fresh run (${runId === base ? `${base}-2` : "the next id"}): waiting up to ${seconds(graceMs)} for it`,
          );
        }
      }
      if (current.last || now() - failedSeen.at >= graceMs) return { kind: "failed", record };
    }
    if (now() - start >= options.timeoutMs)
      return { kind: "timeout", runId: last.runId, record: last.record };
    await sleep(Math.min(pollMs, Math.max(0, start + options.timeoutMs - now())));
  }
}
