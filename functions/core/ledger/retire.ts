/**
 * Retirement of superseded versions (docs/adr/0010-ledger-visibility-and-snapshots.md, decision 3). A commit
 * that supersedes a version first writes a marker naming that version's files; the sweep deletes them once
 * the grace period has passed and nothing reads them any more: no committed record or dataset manifest lists
 * them, and no run
 * that may still read (running, or interrupted and resumable) pinned them. Then it deletes the marker. A kill
 * at any step leaves the marker, and the next sweep finishes the job; deleting is idempotent.
 */
import { z } from "zod";
import { LAKE, MODEL_LAYOUT } from "../catalogue/layout.ts";
import type { LedgerRecord } from "../ingest/types.ts";
import type { ObjectStore } from "../ports/object-store.ts";
import { parseRunRecord } from "../runner/runs.ts";
import { FIRST_VERSION, INPUT_SNAPSHOT, readLedger } from "./ledger.ts";
import { manifestListedKeys } from "./manifests.ts";

/** A day: longer than any query or scoring attempt that read a superseded version before its commit. */
export const DEFAULT_RETIRE_GRACE_MS = 24 * 60 * 60 * 1000;

const MARKER = z.looseObject({
  drop_id: z.string(),
  version: z.string(),
  keys: z.array(z.string()),
  retired_at: z.string(),
});
type RetirementMarker = z.infer<typeof MARKER>;

/** Writes the retirement marker of a version about to be superseded. */
export async function markRetired(store: ObjectStore, previous: LedgerRecord, now: Date): Promise<void> {
  const version = previous.version ?? FIRST_VERSION;
  const marker: RetirementMarker = {
    drop_id: previous.drop_id,
    version,
    keys: previous.output_keys,
    retired_at: now.toISOString(),
  };
  await store.put(LAKE.retiredKey(previous.drop_id, version), `${JSON.stringify(marker)}\n`);
}

/** Runs that may still read their pinned inputs: running (alive or not yet repaired) or interrupted. */
const PINNING_STATUSES = new Set(["running", "interrupted"]);

/** Every file a run that may still read pinned (its snapshot, MODEL_LAYOUT.snapshotKey). */
export async function pinnedKeys(store: ObjectStore): Promise<Set<string>> {
  const pinned = new Set<string>();
  for (const { key } of await store.list(MODEL_LAYOUT.runLogPrefix)) {
    if (!key.endsWith(".json")) continue;
    const bytes = await store.get(key);
    if (bytes === undefined) continue;
    const record = parseRunRecord(Buffer.from(bytes).toString("utf8"), `${store.location}/${key}`);
    if (!PINNING_STATUSES.has(record.status)) continue;
    const snapshot = await store.get(MODEL_LAYOUT.snapshotKey(record.run_id));
    if (snapshot === undefined) continue;
    const parsed = INPUT_SNAPSHOT.safeParse(JSON.parse(Buffer.from(snapshot).toString("utf8")));
    // A snapshot that does not parse pins nothing it could name: keep everything of this sweep instead.
    if (!parsed.success) return new Set(["*"]);
    for (const drop of parsed.data.drops) for (const k of drop.keys) pinned.add(k);
  }
  return pinned;
}

export interface SweepReport {
  /** Files deleted. */
  readonly deleted: readonly string[];
  /** Markers finished and removed. */
  readonly finished: number;
  /** Markers still waiting: within the grace period, or with files a run pins or a manifest lists. */
  readonly waiting: number;
}

/** Deletes the files of retired versions whose grace period has passed and that nothing reads. */
export async function sweepRetired(
  store: ObjectStore,
  options: { readonly now: Date; readonly graceMs?: number },
): Promise<SweepReport> {
  const markers = (await store.list(LAKE.retiredPrefix)).filter((o) => o.key.endsWith(".json"));
  if (markers.length === 0) return { deleted: [], finished: 0, waiting: 0 };
  const grace = options.graceMs ?? DEFAULT_RETIRE_GRACE_MS;
  // Read only once some marker is past its grace period: ingest sweeps after every commit, and reading the
  // whole ledger each time would make a folder of replacements quadratic.
  let listed: Set<string> | undefined;
  let pinned: Set<string> | undefined;
  let manifested: Set<string> | undefined;
  const deleted: string[] = [];
  let finished = 0;
  let waiting = 0;
  for (const { key } of markers) {
    const bytes = await store.get(key);
    if (bytes === undefined) continue;
    let marker: RetirementMarker;
    try {
      marker = MARKER.parse(JSON.parse(Buffer.from(bytes).toString("utf8")));
    } catch {
      waiting++; // unreadable: left for `crmlake doctor` to report
      continue;
    }
    const retiredAt = Date.parse(marker.retired_at);
    if (!(options.now.getTime() - retiredAt >= grace)) {
      waiting++;
      continue;
    }
    // Listed by a committed record: current again, never deleted. Listed by a manifest not rebuilt yet, or
    // pinned by a run: held, the marker waits for the next sweep.
    listed ??= new Set((await readLedger(store)).flatMap((r) => r.output_keys));
    manifested ??= await manifestListedKeys(store);
    pinned ??= await pinnedKeys(store);
    if (pinned.has("*")) return { deleted, finished, waiting: markers.length - finished };
    const isHeld = (k: string) =>
      listed?.has(k) !== true && (pinned?.has(k) === true || manifested?.has(k) === true);
    const held = marker.keys.filter(isHeld);
    const free = marker.keys.filter((k) => listed?.has(k) !== true && !isHeld(k));
    await store.delete(free);
    deleted.push(...free);
    if (held.length > 0) {
      waiting++;
      continue;
    }
    await store.delete([key]);
    finished++;
  }
  return { deleted, finished, waiting };
}
