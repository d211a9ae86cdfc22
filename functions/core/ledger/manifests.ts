/**
 * Symlink manifests (docs/adr/0010-ledger-visibility-and-snapshots.md, decision 5): one object per dataset,
 * `ledger/manifests/<dataset>/manifest`, listing the URI of every file the ledger's committed records list
 * for that dataset, one per line. The dataset's Athena table is a symlink table over that folder, so BI
 * readers see exactly the committed drops: never half a drop, an uncommitted attempt, a superseded version
 * or a stray file.
 *
 * A manifest is rebuilt from the ledger after each commit (ingest) and by `crmlake doctor --repair`. The
 * rebuild reads the manifest's entity tag first, then the ledger, then replaces the manifest on that tag:
 * of two rebuilds racing, the one that read the older ledger fails its write and starts again, so the last
 * write always reflects a ledger read after every commit before it. Between a commit and its rebuild (or
 * until a repair, after a crash there) readers see the previous state: README states this lag.
 */
import { DATASET_NAMES, type DatasetName } from "../catalogue/contracts.ts";
import { LAKE } from "../catalogue/layout.ts";
import { StorageError } from "../errors.ts";
import type { LedgerRecord } from "../ingest/types.ts";
import type { ObjectStore } from "../ports/object-store.ts";
import { readLedger } from "./ledger.ts";

/** How many times a rebuild starts again after another rebuild replaced the manifest first. */
const REBUILD_ATTEMPTS = 8;

/** The keys a dataset's manifest lists for these records: committed files of the dataset, sorted, once each. */
export function manifestEntries(records: readonly LedgerRecord[], dataset: DatasetName): string[] {
  const prefix = LAKE.curatedPrefix(dataset);
  const keys = new Set<string>();
  for (const r of records) {
    if (r.status !== "ok" || r.dataset !== dataset) continue;
    for (const k of r.output_keys) if (k.startsWith(prefix)) keys.add(k);
  }
  return [...keys].sort();
}

/** A manifest's text: one URI per line, each ending in a newline (an empty manifest is empty). */
export function manifestText(store: ObjectStore, keys: readonly string[]): string {
  return keys.map((k) => `${store.uri(k)}\n`).join("");
}

/** The lake keys a manifest's text lists (lines that are not this store's URIs are kept as they are). */
export function parseManifest(store: ObjectStore, text: string): string[] {
  const root = store.uri("x").slice(0, -1); // the root's URI, with its trailing separator
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => (line.startsWith(root) ? line.slice(root.length) : line));
}

export interface ManifestState {
  readonly dataset: DatasetName;
  /** What the ledger says the manifest should list. */
  readonly expected: readonly string[];
  /** What it lists now, or undefined when it does not exist. */
  readonly actual: readonly string[] | undefined;
}

/** True when a manifest lists exactly what the ledger commits (a missing manifest of no files is fresh). */
export function manifestFresh(state: ManifestState): boolean {
  const actual = state.actual ?? [];
  return (
    (state.actual !== undefined || state.expected.length === 0) &&
    actual.length === state.expected.length &&
    actual.every((k, i) => k === state.expected[i])
  );
}

/** The manifests of every dataset beside what the given records say they should list. */
export async function manifestStates(
  store: ObjectStore,
  records: readonly LedgerRecord[],
): Promise<ManifestState[]> {
  const states: ManifestState[] = [];
  for (const dataset of DATASET_NAMES) {
    const bytes = await store.get(LAKE.manifestKey(dataset));
    states.push({
      dataset,
      expected: manifestEntries(records, dataset),
      actual: bytes === undefined ? undefined : parseManifest(store, Buffer.from(bytes).toString("utf8")),
    });
  }
  return states;
}

/** Every key the current manifests list: retirement never deletes one (a BI reader may be reading it). */
export async function manifestListedKeys(store: ObjectStore): Promise<Set<string>> {
  const listed = new Set<string>();
  for (const dataset of DATASET_NAMES) {
    const bytes = await store.get(LAKE.manifestKey(dataset));
    if (bytes === undefined) continue;
    for (const k of parseManifest(store, Buffer.from(bytes).toString("utf8"))) listed.add(k);
  }
  return listed;
}

/**
 * Rebuilds the manifests of `datasets` (default all) from the ledger, each in one conditional write; returns
 * the datasets whose manifest changed. A manifest already equal to the ledger's is not written. Each round
 * reads the tags of the manifests still to write, then the ledger once, then writes each on its tag; a
 * manifest another rebuild replaced meanwhile is tried again in the next round.
 */
export async function refreshManifests(
  store: ObjectStore,
  datasets: readonly DatasetName[] = DATASET_NAMES,
): Promise<DatasetName[]> {
  const changed: DatasetName[] = [];
  let pending = [...datasets];
  for (let round = 0; round < REBUILD_ATTEMPTS && pending.length > 0; round++) {
    // The tags before the ledger: a rebuild that read an older ledger cannot overwrite a newer one's.
    const tagged = await Promise.all(pending.map((d) => store.getTagged(LAKE.manifestKey(d))));
    const records = await readLedger(store);
    const contended: DatasetName[] = [];
    for (const [index, dataset] of pending.entries()) {
      const current = tagged[index];
      const body = manifestText(store, manifestEntries(records, dataset));
      if (current !== undefined && Buffer.from(current.body).toString("utf8") === body) continue;
      const etag = await store.putIf(
        LAKE.manifestKey(dataset),
        body,
        current === undefined ? { ifNoneMatch: "*" } : { ifMatch: current.etag },
      );
      if (etag === undefined) contended.push(dataset);
      else changed.push(dataset);
    }
    pending = contended;
  }
  const [first] = pending;
  if (first !== undefined) {
    throw new StorageError(
      "manifest_contended",
      `Could not rebuild ${store.location}/${LAKE.manifestKey(first)}: it changed ${REBUILD_ATTEMPTS} times while rebuilding. Run crmlake doctor --repair.`,
    );
  }
  return changed;
}
