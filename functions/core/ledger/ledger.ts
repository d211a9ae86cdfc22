/**
 * The ledger decides what readers see (docs/adr/0010-ledger-visibility-and-snapshots.md). A drop's record,
 * `ledger/drops/<drop_id>.json`, is its commit: it names the version a reader reads and that version's
 * files. Readers never glob `curated/`: they read the records (readLedger), take a snapshot of them
 * (snapshotOf), and read exactly the files the snapshot lists.
 */
import { randomBytes } from "node:crypto";
import { z } from "zod";
import { DATASET_NAMES, type DatasetName } from "../catalogue/contracts.ts";
import { LAKE } from "../catalogue/layout.ts";
import { errorMessage, StorageError } from "../errors.ts";
import type { LedgerRecord } from "../ingest/types.ts";
import type { ObjectStore } from "../ports/object-store.ts";

/** The version of records written before versions existed (lake format 1): their files are the listed ones. */
export const FIRST_VERSION = "v1";

/** A new version id: the UTC time to the millisecond and 6 random hex digits, so versions sort by time. */
export function newVersion(now: Date): string {
  const stamp = now.toISOString().replace(/[-:.]/g, "").slice(0, 18);
  return `${stamp}Z-${randomBytes(3).toString("hex")}`;
}

/** What a reader needs of a committed record; the rest of LedgerRecord is kept as it was written. */
const RECORD = z.looseObject({
  drop_id: z.string().min(1),
  dataset: z.enum(DATASET_NAMES),
  status: z.string(),
  version: z.string().min(1).optional(),
  content_sha256: z.string(),
  output_keys: z.array(z.string()),
});

/** Parses a record's bytes; a record that does not parse names its key and how to repair it. */
export function parseLedgerRecord(bytes: Uint8Array, key: string, location: string): LedgerRecord {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch (error) {
    throw new StorageError(
      "corrupt_ledger",
      `Ledger object ${location}/${key} is not valid JSON (${errorMessage(error)}); restore it, or delete it and ingest its file again`,
      { cause: error },
    );
  }
  const parsed = RECORD.safeParse(value);
  if (!parsed.success) {
    throw new StorageError(
      "corrupt_ledger",
      `Ledger object ${location}/${key} is not a drop record (${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}); restore it, or delete it and ingest its file again`,
    );
  }
  const record = parsed.data as unknown as LedgerRecord;
  return { ...record, version: record.version ?? FIRST_VERSION };
}

/** Every committed drop record of the lake, in drop id order. */
export async function readLedger(store: ObjectStore): Promise<LedgerRecord[]> {
  const records: LedgerRecord[] = [];
  for (const { key } of await store.list(LAKE.ledgerPrefix)) {
    if (!key.endsWith(".json")) continue;
    const bytes = await store.get(key);
    if (bytes === undefined) continue; // replaced between the listing and the read: a commit renames, not deletes
    records.push(parseLedgerRecord(bytes, key, store.location));
  }
  return records;
}

/** One committed drop as a reader pins it: its version and the files of that version. */
export interface PinnedDrop {
  readonly drop_id: string;
  readonly dataset: DatasetName;
  readonly version: string;
  readonly keys: readonly string[];
}

/** What a reader reads: every committed drop of the ledger at one moment (a run records it, ADR 0010). */
export interface InputSnapshot {
  /** When the ledger was read, ISO 8601. */
  readonly taken_at: string;
  readonly drops: readonly PinnedDrop[];
}

export const INPUT_SNAPSHOT = z.strictObject({
  taken_at: z.string(),
  drops: z.array(
    z.strictObject({
      drop_id: z.string(),
      dataset: z.enum(DATASET_NAMES),
      version: z.string(),
      keys: z.array(z.string()),
    }),
  ),
});

/** The committed drops (status ok) of a ledger, as a snapshot. */
export function snapshotOf(records: readonly LedgerRecord[], takenAt: Date): InputSnapshot {
  return {
    taken_at: takenAt.toISOString(),
    drops: records
      .filter((r) => r.status === "ok")
      .map((r) => ({
        drop_id: r.drop_id,
        dataset: r.dataset,
        version: r.version ?? FIRST_VERSION,
        keys: [...r.output_keys],
      })),
  };
}

/** Reads the ledger now and returns its snapshot. */
export async function takeSnapshot(store: ObjectStore, now: Date = new Date()): Promise<InputSnapshot> {
  return snapshotOf(await readLedger(store), now);
}

/** The curated files of a dataset in a snapshot, sorted (keys relative to the lake root). */
export function curatedFiles(snapshot: InputSnapshot, dataset: DatasetName): string[] {
  const prefix = LAKE.curatedPrefix(dataset);
  return snapshot.drops.flatMap((d) => d.keys.filter((k) => k.startsWith(prefix))).sort();
}

/** The quarantine files of a snapshot, sorted. */
export function quarantineFiles(snapshot: InputSnapshot): string[] {
  return snapshot.drops.flatMap((d) => d.keys.filter((k) => k.startsWith(LAKE.quarantinePrefix))).sort();
}

/**
 * The lake keys an input relation reads in a snapshot: a dataset's curated files, the quarantine's files, or
 * undefined for relations read whole (the drop ledger itself).
 */
export function relationFiles(snapshot: InputSnapshot, relation: string): string[] | undefined {
  if (relation === "quarantine") return quarantineFiles(snapshot);
  const dataset = DATASET_NAMES.find((d) => d === relation);
  return dataset === undefined ? undefined : curatedFiles(snapshot, dataset);
}

/** Every file a snapshot lists. */
export function snapshotKeys(snapshot: InputSnapshot): Set<string> {
  return new Set(snapshot.drops.flatMap((d) => d.keys));
}

/** How many times a commit re-reads the record after another attempt of the same drop committed first. */
const COMMIT_ATTEMPTS = 8;

export interface CommitOptions {
  /**
   * Called with the record a commit is about to supersede, before the commit: writes its retirement marker.
   * A marker for a version that stays current is harmless (the sweep never deletes a listed file).
   */
  readonly retire: (previous: LedgerRecord) => Promise<void>;
}

/**
 * Makes `record` the drop's committed version in one conditional write (ADR 0010, decision 2): readers see
 * the previous version until it returns, and exactly this one after. If another attempt of the same drop
 * commits in between, the record is read again and this commit supersedes that one (commit order is ingest
 * order). Returns the record it superseded, if any.
 */
export async function commitDrop(
  store: ObjectStore,
  record: LedgerRecord,
  options: CommitOptions,
): Promise<LedgerRecord | undefined> {
  const key = LAKE.ledgerKey(record.drop_id);
  const body = `${JSON.stringify(record)}\n`;
  for (let attempt = 0; attempt < COMMIT_ATTEMPTS; attempt++) {
    const current = await store.getTagged(key);
    const previous = current === undefined ? undefined : parseLedgerRecord(current.body, key, store.location);
    if (previous !== undefined && previous.version !== record.version) await options.retire(previous);
    const written = await store.putIf(
      key,
      body,
      current === undefined ? { ifNoneMatch: "*" } : { ifMatch: current.etag },
    );
    if (written !== undefined) return previous;
  }
  throw new StorageError(
    "commit_contended",
    `Could not commit drop ${record.drop_id}: its ledger record ${store.location}/${key} changed ${COMMIT_ATTEMPTS} times while committing. Ingest the file again.`,
  );
}
