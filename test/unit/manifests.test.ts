/**
 * The datasets' symlink manifests (functions/core/ledger/manifests.ts, ADR 0010 decision 5): built from the
 * ledger, replaced only on the entity tag read before the ledger, never behind a newer commit, and protected
 * from retirement while they list a file.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LAKE } from "../../functions/core/catalogue/layout.ts";
import type { LedgerRecord } from "../../functions/core/ingest/types.ts";
import { ensureLakeFormat, upgradeLake } from "../../functions/core/ledger/format.ts";
import { commitDrop } from "../../functions/core/ledger/ledger.ts";
import {
  manifestFresh,
  manifestStates,
  parseManifest,
  refreshManifests,
} from "../../functions/core/ledger/manifests.ts";
import { markRetired, sweepRetired } from "../../functions/core/ledger/retire.ts";
import type { ObjectStore, WriteCondition } from "../../functions/core/ports/object-store.ts";
import { LocalObjectStore } from "../../functions/storage/local.ts";

const roots: string[] = [];
afterAll(async () => {
  for (const root of roots) await rm(root, { recursive: true, force: true });
});

async function freshStore(): Promise<LocalObjectStore> {
  const root = await mkdtemp(join(tmpdir(), "crmlake-manifests-"));
  roots.push(root);
  return new LocalObjectStore(root);
}

function record(dropId: string, version: string, keys: string[]): LedgerRecord {
  return {
    drop_id: dropId,
    dataset: "transactions",
    source: `/exports/${dropId}.csv`,
    content_sha256: dropId.padEnd(64, "0"),
    size_bytes: 10,
    format: "csv",
    profile: null,
    status: "ok",
    rows_in: 2,
    rows_ok: 2,
    rows_quarantined: 0,
    quarantine_reasons: {},
    error_code: null,
    error: null,
    warnings: [],
    version,
    output_keys: keys,
    started_at: "2024-02-01 00:00:00.000",
    finished_at: "2024-02-01 00:00:01.000",
    duration_ms: 1000,
  };
}

const file = (drop: string, version: string, month = "2024-01") =>
  `curated/transactions/order_month=${month}/${drop}__${version}.parquet`;

async function manifestKeys(store: ObjectStore): Promise<string[]> {
  const bytes = await store.get(LAKE.manifestKey("transactions"));
  return bytes === undefined ? [] : parseManifest(store, Buffer.from(bytes).toString("utf8"));
}

const noRetire = { retire: async () => undefined };

describe("a dataset's manifest", () => {
  it("lists every committed curated file of the dataset as an absolute URI, once, sorted, and no quarantine file", async () => {
    const store = await freshStore();
    await commitDrop(
      store,
      record("b", "v2", [
        file("b", "v2", "2024-02"),
        file("b", "v2"),
        "quarantine/dataset=transactions/b__v2.parquet",
      ]),
      noRetire,
    );
    await commitDrop(store, record("a", "v1", [file("a", "v1")]), noRetire);
    expect(await refreshManifests(store)).toEqual([
      "transactions",
      "customers",
      "campaigns",
      "campaign_contacts",
      "products",
    ]);
    const text = Buffer.from((await store.get(LAKE.manifestKey("transactions"))) ?? []).toString("utf8");
    expect(text).toBe(
      [file("a", "v1"), file("b", "v2"), file("b", "v2", "2024-02")]
        .map((k) => `file://${store.location}/${k}\n`)
        .join(""),
    );
    // An empty dataset gets an empty manifest: its table exists and reads nothing.
    expect((await store.get(LAKE.manifestKey("customers")))?.length).toBe(0);
    // Nothing changed: nothing is written.
    expect(await refreshManifests(store)).toEqual([]);
  });

  it("follows a replacement: the superseded version leaves it with the commit's rebuild", async () => {
    const store = await freshStore();
    await commitDrop(store, record("a", "v1", [file("a", "v1")]), noRetire);
    await refreshManifests(store, ["transactions"]);
    await commitDrop(store, record("a", "v2", [file("a", "v2")]), noRetire);
    const [before] = await manifestStates(store, [record("a", "v2", [file("a", "v2")])]);
    expect(before !== undefined && manifestFresh(before)).toBe(false);
    await refreshManifests(store, ["transactions"]);
    expect(await manifestKeys(store)).toEqual([file("a", "v2")]);
  });

  it("is never overwritten by a rebuild that read an older ledger (the write is conditional on the tag read first)", async () => {
    const inner = await freshStore();
    await commitDrop(inner, record("a", "v1", [file("a", "v1")]), noRetire);
    // A slow rebuild: between its reads and its write, another drop commits and another rebuild lands.
    let raced = false;
    const slow: ObjectStore = Object.assign(Object.create(inner) as ObjectStore, {
      putIf: async (key: string, body: string | Uint8Array, condition: WriteCondition) => {
        if (!raced && key === LAKE.manifestKey("transactions")) {
          raced = true;
          await commitDrop(inner, record("b", "v1", [file("b", "v1")]), noRetire);
          await refreshManifests(inner, ["transactions"]);
        }
        return inner.putIf(key, body, condition);
      },
    });
    await refreshManifests(slow, ["transactions"]);
    expect(raced).toBe(true);
    expect(await manifestKeys(inner)).toEqual([file("a", "v1"), file("b", "v1")]);
  });

  it("keeps a listed file from retirement, even past the grace period and off the ledger", async () => {
    const store = await freshStore();
    await store.put(file("a", "v1"), "x");
    await store.put(file("a", "v2"), "y");
    await commitDrop(store, record("a", "v1", [file("a", "v1")]), noRetire);
    await refreshManifests(store, ["transactions"]);
    // v2 commits, but the process dies before the manifest rebuild: the manifest still lists v1.
    await commitDrop(store, record("a", "v2", [file("a", "v2")]), {
      retire: (previous) => markRetired(store, previous, new Date("2024-01-01T00:00:00Z")),
    });
    const swept = await sweepRetired(store, { now: new Date("2024-06-01T00:00:00Z") });
    expect(swept.deleted).toEqual([]);
    expect(await store.get(file("a", "v1"))).toBeDefined();
    // Once the manifest is rebuilt, the next sweep retires it.
    await refreshManifests(store, ["transactions"]);
    const again = await sweepRetired(store, { now: new Date("2024-06-01T00:00:00Z") });
    expect(again.deleted).toEqual([file("a", "v1")]);
  });
});

describe("the lake format 3 upgrade", () => {
  it("builds the manifests of a lake written by format 2 (the previous main), which writers refused before", async () => {
    const store = await freshStore();
    await store.put(LAKE.formatKey, `${JSON.stringify({ format_version: 2 })}\n`);
    await commitDrop(store, record("a", "v1", [file("a", "v1")]), noRetire);
    await expect(ensureLakeFormat(store, "crmlake doctor --upgrade")).rejects.toThrow(
      /has format 2; this crmlake writes format 3\. Upgrade it in place with: crmlake doctor --upgrade/,
    );
    expect(await upgradeLake(store)).toEqual({ from: 2, to: 3, records: 0, manifests: 5 });
    expect(await manifestKeys(store)).toEqual([file("a", "v1")]);
    await ensureLakeFormat(store, "x");
  });
});
