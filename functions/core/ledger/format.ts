/**
 * The lake's format version (docs/adr/0010-ledger-visibility-and-snapshots.md, decision 7): `ledger/format.json` in
 * the lake root. Version 2 is the versioned ledger of ADR 0010; version 3 adds the datasets' symlink manifests
 * (ledger/manifests/, decision 5) and writes the partition column into the files. A lake without
 * `ledger/format.json` that holds data is version 1 (written before it: records without versions, files named
 * after their drop); an empty one gets the current version when something first writes to it. Commands that
 * write refuse a lake of another version, naming the command that upgrades it; `upgradeLake` upgrades an older
 * lake in place.
 */
import { z } from "zod";
import { LAKE, LAKE_PREFIXES } from "../catalogue/layout.ts";
import { CrmlakeError } from "../errors.ts";
import type { ObjectStore } from "../ports/object-store.ts";
import { FIRST_VERSION, parseLedgerRecord } from "./ledger.ts";
import { refreshManifests } from "./manifests.ts";

export const LAKE_FORMAT_VERSION = 3;

const LAKE_FILE = z.looseObject({ format_version: z.number().int().positive() });

/** A lake whose format this crmlake does not write. */
export class LakeFormatError extends CrmlakeError {
  override name = "LakeFormatError";
}

/** The lake's format version: from ledger/format.json, else 1 when it holds data, else undefined (an empty lake). */
export async function lakeFormat(store: ObjectStore): Promise<number | undefined> {
  const bytes = await store.get(LAKE.formatKey);
  if (bytes !== undefined) {
    let value: unknown;
    try {
      value = JSON.parse(Buffer.from(bytes).toString("utf8"));
    } catch {
      value = undefined;
    }
    const parsed = LAKE_FILE.safeParse(value);
    if (!parsed.success) {
      throw new LakeFormatError(
        "bad_lake_file",
        `${store.location}/${LAKE.formatKey} is not a crmlake lake file (expected {"format_version": ${LAKE_FORMAT_VERSION}})`,
      );
    }
    return parsed.data.format_version;
  }
  for (const prefix of [LAKE_PREFIXES.ledger, LAKE_PREFIXES.curated, LAKE_PREFIXES.quarantine]) {
    if ((await store.list(prefix)).length > 0) return 1;
  }
  return undefined;
}

/**
 * Checks that this crmlake may write the lake; with `create`, records the current format in an empty one
 * (ingest, the first writer of a lake, does). `upgrade` is the command line that upgrades it in place
 * (shown in the error).
 */
export async function ensureLakeFormat(
  store: ObjectStore,
  upgrade: string,
  options: { readonly create: boolean } = { create: true },
): Promise<void> {
  const found = await lakeFormat(store);
  if (found === LAKE_FORMAT_VERSION) return;
  if (found === undefined) {
    if (!options.create) return;
    // Two first writers racing both find an empty lake; the conditional create makes one file of it.
    await store.putIf(LAKE.formatKey, `${JSON.stringify({ format_version: LAKE_FORMAT_VERSION })}\n`, {
      ifNoneMatch: "*",
    });
    return;
  }
  if (found > LAKE_FORMAT_VERSION) {
    throw new LakeFormatError(
      "lake_too_new",
      `The lake ${store.location} has format ${found}, written by a newer crmlake; this one writes format ${LAKE_FORMAT_VERSION}. Upgrade crmlake.`,
    );
  }
  throw new LakeFormatError(
    "lake_needs_upgrade",
    `The lake ${store.location} has format ${found}; this crmlake writes format ${LAKE_FORMAT_VERSION}. Upgrade it in place with: ${upgrade}`,
  );
}

export interface UpgradeReport {
  readonly from: number | undefined;
  readonly to: number;
  /** Ledger records given a version. */
  readonly records: number;
  /** Datasets whose symlink manifest was written. */
  readonly manifests: number;
}

/**
 * Upgrades a lake in place to the current format. Version 1 → 2: each committed record gets the version
 * "v1" (its files, named after the drop, are already exactly the ones it lists). 2 → 3: every dataset's
 * manifest is built from the ledger (files written before version 3 keep `order_month` in their path only;
 * the run tables read it from there, functions/engines/athena/inputs.ts). ledger/format.json is written last,
 * so an upgrade killed half-way is finished by running it again.
 */
export async function upgradeLake(store: ObjectStore): Promise<UpgradeReport> {
  const from = await lakeFormat(store);
  if (from !== undefined && from > LAKE_FORMAT_VERSION) {
    throw new LakeFormatError(
      "lake_too_new",
      `The lake ${store.location} has format ${from}, written by a newer crmlake; this one cannot upgrade it.`,
    );
  }
  let records = 0;
  if (from === 1) {
    for (const { key } of await store.list(LAKE.ledgerPrefix)) {
      if (!key.endsWith(".json")) continue;
      const bytes = await store.get(key);
      if (bytes === undefined) continue;
      const raw = JSON.parse(Buffer.from(bytes).toString("utf8")) as { version?: string };
      if (raw.version !== undefined) continue;
      const record = parseLedgerRecord(bytes, key, store.location);
      await store.put(key, `${JSON.stringify({ ...record, version: FIRST_VERSION })}\n`);
      records++;
    }
  }
  const manifests = from === undefined || from >= 3 ? 0 : (await refreshManifests(store)).length;
  await store.put(LAKE.formatKey, `${JSON.stringify({ format_version: LAKE_FORMAT_VERSION })}\n`);
  return { from, to: LAKE_FORMAT_VERSION, records, manifests };
}
