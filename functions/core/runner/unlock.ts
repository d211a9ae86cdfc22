/**
 * Removing a run lock that a dead run left (`crmlake runs unlock`, for a lake directory or a stack). The lock
 * (MODEL_LAYOUT.lock) is taken by every run, `runs delete` and `runs sweep`; a holder that dies without
 * releasing it blocks them all until a run takes it over (on S3 after 30 minutes; locally when the holder's
 * process is gone from this host), or for good when the lock object is unreadable.
 *
 * Whether the holder is still alive is the caller's to say (its `liveness`): a process of this host is
 * checked by its pid; a scoring Lambda lives at most 15 minutes. A lock whose holder may be alive is kept
 * unless forced: two runs publishing at once is what the lock prevents. What was removed is written to
 * runs/unlocks/<time>-<run id>.json (the lock's text, its holder, who removed it, forced or not). The holder's
 * run record is left as it is: a scoring run interrupted by the Lambda's limit is resumed under its own id,
 * and `crmlake doctor --repair` marks a run failed once its retries can no longer come.
 *
 * The lock is read with its entity tag and read again just before the delete: a lock taken over in between
 * (another tag) is kept. The port has no conditional delete, so a takeover between that read and the delete
 * would still be lost; a takeover happens only to a lock at least 15 minutes old, and this is a manual step.
 */
import { MODEL_LAYOUT } from "../catalogue/layout.ts";
import { RunLockedError } from "../errors.ts";
import type { ObjectStore } from "../ports/object-store.ts";
import { parseRunRecord, type RunRecord } from "./runs.ts";

/** The lock's content as the adapters write it (S3: no pid). */
export interface LockHolder {
  readonly run_id: string;
  readonly host: string;
  readonly started_at: string;
  readonly pid?: number;
}

/** Whether the holder may still be running: false only when it is certainly gone. */
export interface Liveness {
  readonly mayBeAlive: boolean;
  /** Why, in a phrase: "process 123 no longer exists on host-a", "taken 3 min ago: …". */
  readonly why: string;
}

export interface UnlockOptions {
  /** Remove the lock even when its holder may be alive. */
  readonly force: boolean;
  /** Who removes it, for the record (user@host). */
  readonly by: string;
  /** The command, for the record. */
  readonly command: string;
  readonly now: Date;
  /** How a key of the lake is shown in messages (default the store's URI of it). */
  readonly show?: (key: string) => string;
  /** Whether the holder may still be running; `holder` is undefined for an unreadable lock. */
  liveness(holder: LockHolder | undefined, takenMs: number | undefined): Liveness | Promise<Liveness>;
}

export type UnlockResult =
  | { readonly kind: "none" }
  | {
      readonly kind: "removed";
      /** The lock's holder; undefined for an unreadable lock. */
      readonly holder: LockHolder | undefined;
      readonly text: string;
      readonly liveness: Liveness;
      readonly forced: boolean;
      /** The holder run's record as it was, when it has one. */
      readonly record: RunRecord | undefined;
      /** Where the removal is recorded (a key of the lake). */
      readonly recordKey: string;
    };

function parseHolder(text: string): LockHolder | undefined {
  try {
    const value = JSON.parse(text) as Partial<LockHolder>;
    if (
      typeof value.run_id !== "string" ||
      typeof value.host !== "string" ||
      typeof value.started_at !== "string"
    ) {
      return undefined;
    }
    return {
      run_id: value.run_id,
      host: value.host,
      started_at: value.started_at,
      ...(typeof value.pid === "number" ? { pid: value.pid } : {}),
    };
  } catch {
    return undefined;
  }
}

/** "run X (pid 1 on host, taken T)", or what an unreadable lock is. */
export function describeHolder(holder: LockHolder | undefined): string {
  if (holder === undefined) return "an unreadable lock (no run id, host and start time in it)";
  const pid = holder.pid === undefined ? "" : `pid ${holder.pid} `;
  return `run ${holder.run_id} (${pid}on ${holder.host}, taken ${holder.started_at})`;
}

async function holderRecord(store: ObjectStore, runId: string): Promise<RunRecord | undefined> {
  const key = MODEL_LAYOUT.runRecord(runId);
  const bytes = await store.get(key);
  if (bytes === undefined) return undefined;
  try {
    return parseRunRecord(Buffer.from(bytes).toString("utf8"), store.uri(key));
  } catch {
    return undefined;
  }
}

/** Removes the lake's run lock when its holder is gone (or `force`), and records the removal. */
export async function removeRunLock(store: ObjectStore, options: UnlockOptions): Promise<UnlockResult> {
  const lockUri = (options.show ?? ((key: string) => store.uri(key)))(MODEL_LAYOUT.lock);
  const seen = await store.getTagged(MODEL_LAYOUT.lock);
  if (seen === undefined) return { kind: "none" };
  const text = Buffer.from(seen.body).toString("utf8");
  const holder = parseHolder(text);
  const taken = holder === undefined ? Number.NaN : Date.parse(holder.started_at);
  const takenMs = Number.isFinite(taken) ? options.now.getTime() - taken : undefined;
  const liveness = await options.liveness(holder, takenMs);
  const record = holder === undefined ? undefined : await holderRecord(store, holder.run_id);
  if (liveness.mayBeAlive && !options.force) {
    const status = record === undefined ? "" : ` Its run record says ${record.status}.`;
    throw new RunLockedError(
      "lock_held",
      `The run lock ${lockUri} is held by ${describeHolder(holder)}, which may still be running: ${liveness.why}.${status} Wait for it; remove the lock anyway only when you know it has ended: ${options.command} --force`,
    );
  }
  const again = await store.getTagged(MODEL_LAYOUT.lock);
  if (again === undefined) return { kind: "none" };
  if (again.etag !== seen.etag) {
    throw new RunLockedError(
      "lock_changed",
      `The run lock ${lockUri} changed while it was being removed (another run took it): kept. Run ${options.command} again to see who holds it now.`,
    );
  }
  const at = options.now.toISOString();
  const recordKey = MODEL_LAYOUT.unlockRecord(at.replace(/[:.]/g, "-"), holder?.run_id ?? "unreadable");
  // Recorded before the delete: a removal is never left unexplained.
  await store.put(
    recordKey,
    `${JSON.stringify(
      {
        removed_at: at,
        removed_by: options.by,
        command: options.command,
        forced: options.force && liveness.mayBeAlive,
        holder_may_be_alive: liveness.mayBeAlive,
        why: liveness.why,
        holder: holder ?? null,
        holder_run_status: record?.status ?? null,
        lock_text: text,
      },
      null,
      2,
    )}\n`,
  );
  await store.delete([MODEL_LAYOUT.lock]);
  return {
    kind: "removed",
    holder,
    text,
    liveness,
    forced: options.force && liveness.mayBeAlive,
    record,
    recordKey,
  };
}
