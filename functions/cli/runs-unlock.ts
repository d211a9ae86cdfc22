/**
 * `crmlake runs unlock [--force] [--lake DIR | --stack NAME]`: removes a run lock whose holder is gone
 * (functions/core/runner/unlock.ts), saying whose lock it was and since when, and recording the removal.
 */
import { hostname, userInfo } from "node:os";
import { join } from "node:path";
import { MODEL_LAYOUT } from "../core/catalogue/layout.ts";
import type { ObjectStore } from "../core/ports/object-store.ts";
import { describeHolder, type Liveness, type LockHolder, removeRunLock } from "../core/runner/unlock.ts";
import { LocalObjectStore, processAlive } from "../storage/local.ts";
import type { ParsedArgs } from "./command.ts";
import { stringOption } from "./command.ts";
import { withStack } from "./stack.ts";

export const UNLOCK_USAGE = "crmlake runs unlock [--force] [--lake DIR | --stack NAME]";

export const UNLOCK_HELP = `unlock   Removes the lake's run lock (runs/lock) left by a run that died holding it, which blocks every
         run, runs delete and runs sweep. It says whose lock it was and since when, and records the removal
         in runs/unlocks/. Refused while the holder may still be running: on a lake directory, a process
         of this host that still exists, or a lock taken on another host; on a stack, a lock taken less
         than 15 minutes ago (a scoring Lambda lives up to 15 minutes), or an unreadable lock. --force
         removes it anyway. The holder's run record is left as it is (crmlake doctor finds a stuck run).`;

/**
 * The longest a scoring Lambda invocation lives (its timeout, the service's maximum); the S3 lock takes over
 * a lock of the same run after as long (storage/s3-outputs.ts, DEFAULT_SAME_RUN_TAKEOVER_MS; not imported
 * here, which would load the AWS SDK into every command's start-up, ADR 0012).
 */
const LAMBDA_LIFETIME_MS = 15 * 60 * 1000;

function minutes(ms: number): string {
  return ms < 60_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`;
}

/** On a stack: a scoring Lambda invocation lives at most 15 minutes, so an older lock has no living holder. */
export function stackLiveness(holder: LockHolder | undefined, takenMs: number | undefined): Liveness {
  if (holder === undefined || takenMs === undefined) {
    return { mayBeAlive: true, why: "the lock cannot be read, so neither its holder nor its age is known" };
  }
  const limit = LAMBDA_LIFETIME_MS;
  return takenMs < limit
    ? {
        mayBeAlive: true,
        why: `it was taken ${minutes(takenMs)} ago, and a scoring Lambda runs up to ${minutes(limit)}`,
      }
    : {
        mayBeAlive: false,
        why: `it was taken ${minutes(takenMs)} ago, longer than a scoring Lambda runs (${minutes(limit)})`,
      };
}

/** On a lake directory: a process of this host is alive while its pid exists; another host's cannot be seen. */
export function localLiveness(holder: LockHolder | undefined): Liveness {
  if (holder === undefined) {
    return { mayBeAlive: true, why: "the lock cannot be read, so its holder cannot be told" };
  }
  if (holder.host !== hostname()) {
    return {
      mayBeAlive: true,
      why: `it was taken on another host (${holder.host}), whose processes this one cannot see`,
    };
  }
  if (holder.pid !== undefined && processAlive(holder.pid)) {
    return { mayBeAlive: true, why: `process ${holder.pid} is still running on this host` };
  }
  return {
    mayBeAlive: false,
    why: `process ${holder.pid ?? "(none recorded)"} no longer exists on this host`,
  };
}

async function unlock(
  store: ObjectStore,
  where: string,
  command: string,
  force: boolean,
  liveness: (holder: LockHolder | undefined, takenMs: number | undefined) => Liveness,
  show: (key: string) => string,
): Promise<string> {
  const result = await removeRunLock(store, {
    force,
    by: `${userInfo().username}@${hostname()}`,
    command,
    now: new Date(),
    liveness,
    show,
  });
  if (result.kind === "none") return `No run lock in ${where}: nothing to remove.\n`;
  const state = result.forced
    ? `forced while it may still be running (${result.liveness.why})`
    : `its holder had ended: ${result.liveness.why}`;
  const record =
    result.record === undefined
      ? ""
      : ` Its run record says ${result.record.status}${result.record.status === "running" ? " (left as is; crmlake doctor reports a run stuck there)" : ""}.`;
  return `Removed the run lock ${show(MODEL_LAYOUT.lock)}, held by ${describeHolder(result.holder)}: ${state}.${record} Recorded in ${show(result.recordKey)}.\n`;
}

/** `crmlake runs unlock`: for a stack's lake bucket or a lake directory. */
export async function runsUnlock(args: ParsedArgs, stack: string | undefined): Promise<number> {
  const force = args.values.force === true;
  if (stack !== undefined) {
    const command = `crmlake runs unlock --stack ${stack}`;
    const text = await withStack(stack, ({ lake }) =>
      unlock(lake, `stack ${stack} (${lake.location})`, command, force, stackLiveness, (key) =>
        lake.uri(key),
      ),
    );
    process.stdout.write(text);
    return 0;
  }
  const lakeDir = stringOption(args, "lake") ?? "lake";
  const command = `crmlake runs unlock --lake ${lakeDir}`;
  process.stdout.write(
    await unlock(
      new LocalObjectStore(lakeDir),
      lakeDir,
      command,
      force,
      (holder) => localLiveness(holder),
      (key) => join(lakeDir, ...key.split("/")),
    ),
  );
  return 0;
}
