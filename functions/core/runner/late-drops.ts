/**
 * Late drops (docs/adr/0016-late-files-rescore-the-latest-as-of.md): committed drops dated on or before the
 * latest scored as-of that the run of that as-of did not read. The decision is pure (lateDropsFor); findLateDrops
 * reads what it needs through the ports.
 */
import { LAKE, MODEL_LAYOUT } from "../catalogue/layout.ts";
import type { LedgerRecord } from "../ingest/types.ts";
import { INPUT_SNAPSHOT, type InputSnapshot, parseLedgerRecord, readLedger } from "../ledger/ledger.ts";
import type { ModelOutputs } from "../ports/model-outputs.ts";
import type { ObjectStore } from "../ports/object-store.ts";
import type { RunRecord } from "./runs.ts";

/** A drop the latest as-of's run did not read, though its data is dated on or before that as-of. */
export interface LateDrop {
  readonly drop_id: string;
  readonly dataset: string;
  readonly version: string;
  readonly first_business_day: string;
  /** When it was committed (the record's finished_at). */
  readonly finished_at: string;
}

export interface LatestAsOf {
  /** The greatest as-of of a succeeded run. */
  readonly asOf: string;
  /** The succeeded run as of it that started last: what the model tables show for it. */
  readonly runId: string;
  /** When that run read the ledger, where its record says (older records do not). */
  readonly inputsTakenAt: string | null;
}

/**
 * The latest as-of and its run: the greatest as-of among succeeded runs, and of the runs as of it the one that
 * started last (it published last). Undefined when no run has succeeded.
 */
export function latestScored(runs: readonly RunRecord[]): LatestAsOf | undefined {
  let best: RunRecord | undefined;
  for (const run of runs) {
    if (run.status !== "succeeded") continue;
    if (
      best === undefined ||
      run.as_of > best.as_of ||
      (run.as_of === best.as_of && run.started_at > best.started_at)
    ) {
      best = run;
    }
  }
  return best === undefined
    ? undefined
    : { asOf: best.as_of, runId: best.run_id, inputsTakenAt: best.inputs_taken_at ?? null };
}

/**
 * The committed drops late for `asOf`: status ok, a first business day on or before it, and not in `seen` at
 * their committed version (a new drop, or a new version of one the run read). Drops without business days
 * (reference data, records written before ADR 0016) are never late. Sorted by commit time, then drop id.
 */
export function lateDropsFor(asOf: string, seen: InputSnapshot, ledger: readonly LedgerRecord[]): LateDrop[] {
  const versions = new Map(seen.drops.map((d) => [d.drop_id, d.version]));
  return ledger
    .filter(
      (r) =>
        r.status === "ok" &&
        typeof r.first_business_day === "string" &&
        r.first_business_day <= asOf &&
        versions.get(r.drop_id) !== (r.version ?? "v1"),
    )
    .map((r) => ({
      drop_id: r.drop_id,
      dataset: r.dataset,
      version: r.version ?? "v1",
      first_business_day: r.first_business_day as string,
      finished_at: r.finished_at,
    }))
    .sort((a, b) =>
      a.finished_at === b.finished_at
        ? a.drop_id.localeCompare(b.drop_id)
        : a.finished_at < b.finished_at
          ? -1
          : 1,
    );
}

export type LateDropFinding =
  /** No run has succeeded: nothing is scored, so nothing is late. */
  | { readonly kind: "nothing_scored" }
  /** The latest run's pinned inputs are gone (or unreadable): lateness cannot be told. */
  | { readonly kind: "no_snapshot"; readonly latest: LatestAsOf }
  | { readonly kind: "found"; readonly latest: LatestAsOf; readonly late: readonly LateDrop[] };

/**
 * How much earlier than a snapshot's taken_at a ledger record is still read (findLateDrops): the run's clock and
 * the store's may disagree by this much.
 */
export const LEDGER_CLOCK_SKEW_MS = 15 * 60 * 1000;

/**
 * The committed records that may have changed since `since`: a record the store says was last written before it
 * was already there when a snapshot taken then listed the ledger, so it is in that snapshot and is not read
 * again (an hourly check of a lake of 10,000 drops then reads a listing and a few records, not 10,000). A store
 * that does not know when an object was written (a lake directory) has every record read.
 */
async function readLedgerSince(lake: ObjectStore, since: Date): Promise<LedgerRecord[]> {
  const records: LedgerRecord[] = [];
  for (const { key, lastModified } of await lake.list(LAKE.ledgerPrefix)) {
    if (!key.endsWith(".json")) continue;
    if (lastModified !== undefined && lastModified.getTime() < since.getTime()) continue;
    const bytes = await lake.get(key);
    if (bytes !== undefined) records.push(parseLedgerRecord(bytes, key, lake.location));
  }
  return records;
}

/**
 * Reads the run records, the latest run's pinned snapshot (runs/snapshots/<run_id>.json) and the ledger
 * records written since that snapshot was taken (less `clockSkewMs`, default LEDGER_CLOCK_SKEW_MS), and tells
 * which committed drops the latest as-of did not see.
 */
export async function findLateDrops(
  outputs: Pick<ModelOutputs, "listRunRecords">,
  lake: ObjectStore,
  options: { readonly clockSkewMs?: number } = {},
): Promise<LateDropFinding> {
  const latest = latestScored((await outputs.listRunRecords?.()) ?? []);
  if (latest === undefined) return { kind: "nothing_scored" };
  const bytes = await lake.get(MODEL_LAYOUT.snapshotKey(latest.runId));
  if (bytes === undefined) return { kind: "no_snapshot", latest };
  let parsed: ReturnType<typeof INPUT_SNAPSHOT.safeParse>;
  try {
    parsed = INPUT_SNAPSHOT.safeParse(JSON.parse(Buffer.from(bytes).toString("utf8")));
  } catch {
    return { kind: "no_snapshot", latest };
  }
  if (!parsed.success) return { kind: "no_snapshot", latest };
  const since = new Date(
    new Date(parsed.data.taken_at).getTime() - (options.clockSkewMs ?? LEDGER_CLOCK_SKEW_MS),
  );
  const ledger = Number.isNaN(since.getTime()) ? await readLedger(lake) : await readLedgerSince(lake, since);
  return { kind: "found", latest, late: lateDropsFor(latest.asOf, parsed.data, ledger) };
}

/** The drops of a list, for a message: the first few ids and how many more. */
export function dropList(late: readonly LateDrop[], shown = 5): string {
  const ids = late.slice(0, shown).map((d) => d.drop_id);
  return late.length > shown ? `${ids.join(", ")} and ${late.length - shown} more` : ids.join(", ");
}

/** The note a re-score for late drops records in its diagnostics (and a check logs). */
export function rescoreNote(latest: LatestAsOf, late: readonly LateDrop[]): string {
  return `Re-score of ${latest.asOf} for late files: ${late.length} drop(s) with data on or before ${latest.asOf} were committed after run ${latest.runId} read the ledger${latest.inputsTakenAt === null ? "" : ` (${latest.inputsTakenAt} UTC)`}: ${dropList(late)}.`;
}
