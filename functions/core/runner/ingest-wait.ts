/**
 * Before a scheduled run pins the ledger, it waits for the files that have already landed to be ingested
 * (issue 18): a file that lands at 02:55 is in the 03:00 run when its ingest takes a minute. The wait is bounded
 * (the run still has to finish within its invocation), and a run that starts with files still pending says so in
 * its record's diagnostics, so nobody mistakes it for a run over everything that had landed.
 */
import type { IngestBacklog } from "../ports/ingest-backlog.ts";

export interface IngestWaitOptions {
  readonly backlog: IngestBacklog;
  /** The longest wait, in milliseconds (the stack's crmlake:ingestWaitSeconds). */
  readonly maxWaitMs: number;
  /** How often the backlog is read while waiting. */
  readonly pollMs: number;
  /** Time left before the invocation's deadline: the wait takes at most a third of it. */
  readonly remainingMs?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Milliseconds of a monotonic clock (tests: a fake). */
  readonly clock?: () => number;
}

export interface IngestWaitResult {
  /** Landed files still not ingested when the wait ended (0: drained). */
  readonly pending: number;
  /** How long the run waited. */
  readonly waitedMs: number;
  /** The bound it waited within. */
  readonly budgetMs: number;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Reads the backlog until it is drained or the next poll would pass the bound. */
export async function waitForIngest(
  options: IngestWaitOptions,
  log: (message: string, fields?: Record<string, unknown>) => void,
): Promise<IngestWaitResult> {
  const clock = options.clock ?? (() => performance.now());
  const sleep = options.sleep ?? defaultSleep;
  const remaining = options.remainingMs?.() ?? Number.POSITIVE_INFINITY;
  const budgetMs = Math.max(0, Math.min(options.maxWaitMs, Math.floor(remaining / 3)));
  const started = clock();
  let pending = await options.backlog.pending();
  while (pending > 0 && clock() - started + options.pollMs <= budgetMs) {
    log("waiting for landed files to be ingested before the run pins the ledger", {
      pending,
      waited_ms: Math.round(clock() - started),
      budget_ms: budgetMs,
      queue: options.backlog.location,
    });
    await sleep(options.pollMs);
    pending = await options.backlog.pending();
  }
  return { pending, waitedMs: Math.round(clock() - started), budgetMs };
}

/** The run record's diagnostic for a run that started with files still waiting for ingest. */
export function pendingIngestNote(result: IngestWaitResult): string {
  return (
    `ingest_backlog: ${result.pending} landed file(s) were still waiting for ingest after ${Math.round(result.waitedMs / 1000)} s ` +
    `(the bound was ${Math.round(result.budgetMs / 1000)} s); this run does not include them`
  );
}
