import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LAKE, MODEL_LAYOUT } from "../../functions/core/catalogue/layout.ts";
import type { LedgerRecord } from "../../functions/core/ingest/types.ts";
import { claimContent, releaseClaim } from "../../functions/core/ledger/claims.ts";
import {
  ensureLakeFormat,
  LAKE_FORMAT_VERSION,
  lakeFormat,
  upgradeLake,
} from "../../functions/core/ledger/format.ts";
import {
  commitDrop,
  curatedFiles,
  newVersion,
  quarantineFiles,
  readLedger,
  takeSnapshot,
} from "../../functions/core/ledger/ledger.ts";
import { markRetired, sweepRetired } from "../../functions/core/ledger/retire.ts";
import { LocalObjectStore } from "../../functions/storage/local.ts";

const roots: string[] = [];
afterAll(async () => {
  for (const root of roots) await rm(root, { recursive: true, force: true });
});

async function freshStore(): Promise<LocalObjectStore> {
  const root = await mkdtemp(join(tmpdir(), "crmlake-ledger-"));
  roots.push(root);
  return new LocalObjectStore(root);
}

function record(dropId: string, version: string, sha = "a".repeat(64), keys?: string[]): LedgerRecord {
  return {
    drop_id: dropId,
    dataset: "transactions",
    source: `/exports/${dropId}.csv`,
    content_sha256: sha,
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
    output_keys: keys ?? [`curated/transactions/order_month=2024-01/${dropId}__${version}.parquet`],
    started_at: "2024-02-01 00:00:00.000",
    finished_at: "2024-02-01 00:00:01.000",
    duration_ms: 1000,
  };
}

const NOW = new Date("2024-02-01T00:00:00Z");
const HOUR = 60 * 60 * 1000;

describe("versions", () => {
  it("sort by time and differ within the same millisecond", () => {
    const a = newVersion(new Date("2024-01-01T00:00:00.001Z"));
    const b = newVersion(new Date("2024-01-01T00:00:00.002Z"));
    expect(a < b).toBe(true);
    expect(a).toMatch(/^20240101T000000001Z-[0-9a-f]{6}$/);
    expect(newVersion(NOW)).not.toBe(newVersion(NOW));
  });
});

describe("commits", () => {
  it("the first commit creates the record; the next supersedes it and retires the previous version first", async () => {
    const store = await freshStore();
    const retired: string[] = [];
    const retire = async (previous: LedgerRecord) => {
      retired.push(previous.version ?? "");
    };
    expect(await commitDrop(store, record("d1", "v-a"), { retire })).toBeUndefined();
    const previous = await commitDrop(store, record("d1", "v-b"), { retire });
    expect(previous?.version).toBe("v-a");
    expect(retired).toEqual(["v-a"]);
    expect((await readLedger(store)).map((r) => [r.drop_id, r.version])).toEqual([["d1", "v-b"]]);
  });

  it("of attempts of one drop committing at once, every commit lands in turn and exactly one version is current", async () => {
    const store = await freshStore();
    const retired: string[] = [];
    const versions = Array.from({ length: 6 }, (_, i) => `v-${i}`);
    await Promise.all(
      versions.map((v) =>
        commitDrop(store, record("d1", v), {
          retire: async (previous) => {
            retired.push(previous.version ?? "");
          },
        }),
      ),
    );
    const [current] = await readLedger(store);
    expect(versions).toContain(current?.version);
    // Each commit but the first superseded exactly one version, and the current one was never retired.
    expect(new Set(retired).size).toBe(versions.length - 1);
    expect(retired).not.toContain(current?.version);
  });

  it("a snapshot lists exactly the committed versions' files, by dataset and quarantine", async () => {
    const store = await freshStore();
    const retire = async () => {};
    await commitDrop(
      store,
      record("d1", "v1", "a".repeat(64), [
        "curated/transactions/d1__v1.parquet",
        "quarantine/dataset=transactions/d1__v1.parquet",
      ]),
      { retire },
    );
    await commitDrop(
      store,
      { ...record("c1", "v1", "b".repeat(64), ["curated/customers/c1__v1.parquet"]), dataset: "customers" },
      { retire },
    );
    await commitDrop(store, { ...record("r1", "v1"), status: "rejected", output_keys: [] }, { retire });
    // A stray file under curated/ is no drop's: nothing reads it.
    await store.put("curated/transactions/stray.parquet", "x");
    const snapshot = await takeSnapshot(store, NOW);
    expect(snapshot.drops.map((d) => d.drop_id)).toEqual(["c1", "d1"]);
    expect(curatedFiles(snapshot, "transactions")).toEqual(["curated/transactions/d1__v1.parquet"]);
    expect(curatedFiles(snapshot, "customers")).toEqual(["curated/customers/c1__v1.parquet"]);
    expect(quarantineFiles(snapshot)).toEqual(["quarantine/dataset=transactions/d1__v1.parquet"]);
  });

  it("names a corrupt record and how to repair it", async () => {
    const store = await freshStore();
    await store.put(LAKE.ledgerKey("bad"), "{not json");
    await expect(readLedger(store)).rejects.toThrow(
      /ledger\/drops\/bad\.json is not valid JSON .*delete it and ingest its file again/,
    );
  });
});

describe("content claims", () => {
  const request = (dropId: string, version: string, now = NOW) => ({
    dataset: "transactions" as const,
    sha256: "c".repeat(64),
    dropId,
    version,
    now,
    leaseMs: HOUR,
  });

  it("of drops racing for the same bytes, exactly one holds the claim", async () => {
    const store = await freshStore();
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, (_, i) => claimContent(store, request(`drop-${i}`, `v${i}`))),
    );
    expect(outcomes.filter((o) => o.kind === "claimed")).toHaveLength(1);
    expect(outcomes.filter((o) => o.kind === "in_progress")).toHaveLength(7);
  });

  it("once the holder committed those bytes, another drop with them is a duplicate of it", async () => {
    const store = await freshStore();
    expect((await claimContent(store, request("first", "v1"))).kind).toBe("claimed");
    await commitDrop(store, record("first", "v1", "c".repeat(64)), { retire: async () => {} });
    const outcome = await claimContent(store, request("second", "v1", new Date(NOW.getTime() + 2 * HOUR)));
    expect(outcome.kind).toBe("duplicate");
    expect(outcome.kind === "duplicate" ? outcome.holder.drop_id : "").toBe("first");
  });

  it("a claim whose lease ran out without a commit is taken over; a released one at once", async () => {
    const store = await freshStore();
    expect((await claimContent(store, request("dead", "v1"))).kind).toBe("claimed");
    expect((await claimContent(store, request("next", "v1", new Date(NOW.getTime() + HOUR / 2)))).kind).toBe(
      "in_progress",
    );
    expect((await claimContent(store, request("next", "v1", new Date(NOW.getTime() + 2 * HOUR)))).kind).toBe(
      "claimed",
    );
    await releaseClaim(store, request("next", "v1", new Date(NOW.getTime() + 2 * HOUR)));
    expect((await claimContent(store, request("third", "v1", new Date(NOW.getTime() + 2 * HOUR)))).kind).toBe(
      "claimed",
    );
  });

  it("the same drop re-claims its own content (a re-ingest of an unchanged file)", async () => {
    const store = await freshStore();
    expect((await claimContent(store, request("d1", "v1"))).kind).toBe("claimed");
    expect((await claimContent(store, request("d1", "v2"))).kind).toBe("claimed");
  });
});

describe("retirement", () => {
  it("deletes a superseded version's files after the grace period, never a listed or pinned one", async () => {
    const store = await freshStore();
    const old = record("d1", "v-old", "a".repeat(64), [
      "curated/transactions/d1__v-old.parquet",
      "curated/transactions/shared.parquet",
    ]);
    const current = record("d1", "v-new", "b".repeat(64), [
      "curated/transactions/d1__v-new.parquet",
      "curated/transactions/shared.parquet",
    ]);
    for (const key of [...old.output_keys, ...current.output_keys]) await store.put(key, "x");
    await commitDrop(store, old, { retire: async () => {} });
    await commitDrop(store, current, { retire: (previous) => markRetired(store, previous, NOW) });

    // Within the grace period nothing goes.
    expect(await sweepRetired(store, { now: new Date(NOW.getTime() + HOUR), graceMs: 2 * HOUR })).toEqual({
      deleted: [],
      finished: 0,
      waiting: 1,
    });
    // A run still running pinned the old version: its file stays, and so does the marker.
    await store.put(
      MODEL_LAYOUT.runRecord("r1"),
      JSON.stringify({
        run_id: "r1",
        as_of: "2024-01-31",
        status: "running",
        engine: "duckdb",
        started_at: "2024-02-01 00:00:00.000",
        finished_at: null,
        duration_ms: null,
        models_requested: null,
        config: "{}",
        models: [],
        bytes_scanned: null,
        cost_usd: null,
        error: null,
      }),
    );
    await store.put(
      MODEL_LAYOUT.snapshotKey("r1"),
      JSON.stringify({
        taken_at: NOW.toISOString(),
        drops: [{ drop_id: "d1", dataset: "transactions", version: "v-old", keys: old.output_keys }],
      }),
    );
    const later = new Date(NOW.getTime() + 3 * HOUR);
    expect(await sweepRetired(store, { now: later, graceMs: 2 * HOUR })).toEqual({
      deleted: [],
      finished: 0,
      waiting: 1,
    });
    // The run ended: the old file goes; the file the current version lists too stays.
    await store.delete([MODEL_LAYOUT.runRecord("r1")]);
    expect(await sweepRetired(store, { now: later, graceMs: 2 * HOUR })).toEqual({
      deleted: ["curated/transactions/d1__v-old.parquet"],
      finished: 1,
      waiting: 0,
    });
    expect((await store.list("curated/")).map((o) => o.key)).toEqual([
      "curated/transactions/d1__v-new.parquet",
      "curated/transactions/shared.parquet",
    ]);
    expect(await store.list(LAKE.retiredPrefix)).toEqual([]);
  });
});

describe("the lake format", () => {
  it("an empty lake becomes the current format when first written", async () => {
    const store = await freshStore();
    expect(await lakeFormat(store)).toBeUndefined();
    await ensureLakeFormat(store, "crmlake doctor --upgrade");
    expect(await lakeFormat(store)).toBe(LAKE_FORMAT_VERSION);
  });

  it("a lake written before formats (version 1) is refused with the upgrade command, and upgraded in place", async () => {
    const store = await freshStore();
    const { version: _, ...v1 } = record("old", "unused");
    await store.put(
      LAKE.ledgerKey("old"),
      `${JSON.stringify({ ...v1, output_keys: ["curated/transactions/old.parquet"] })}\n`,
    );
    await expect(ensureLakeFormat(store, "crmlake doctor --upgrade --lake L")).rejects.toThrow(
      /has format 1; this crmlake writes format 3\. Upgrade it in place with: crmlake doctor --upgrade --lake L/,
    );
    expect(await upgradeLake(store)).toEqual({ from: 1, to: 3, records: 1, manifests: 5 });
    await ensureLakeFormat(store, "x");
    const [upgraded] = await readLedger(store);
    expect(upgraded?.version).toBe("v1");
    expect(upgraded?.output_keys).toEqual(["curated/transactions/old.parquet"]);
    // Upgrading again changes nothing.
    expect(await upgradeLake(store)).toEqual({ from: 3, to: 3, records: 0, manifests: 0 });
    expect((await store.get(LAKE.manifestKey("transactions")))?.toString()).toBe(
      `${store.uri("curated/transactions/old.parquet")}\n`,
    );
  });

  it("refuses a lake written by a newer crmlake", async () => {
    const store = await freshStore();
    await store.put(LAKE.formatKey, JSON.stringify({ format_version: 99 }));
    await expect(ensureLakeFormat(store, "x")).rejects.toThrow(/format 99, written by a newer crmlake/);
  });
});

describe("a claim left by a replaced version", () => {
  it("is spent once its holder committed a later version with other bytes, lease or not", async () => {
    const store = await freshStore();
    const old = {
      dataset: "transactions" as const,
      sha256: "d".repeat(64),
      dropId: "export",
      version: "v-1",
      now: NOW,
      leaseMs: HOUR,
    };
    expect((await claimContent(store, old)).kind).toBe("claimed");
    await commitDrop(store, record("export", "v-1", "d".repeat(64)), { retire: async () => {} });
    // The file was replaced (other bytes, a later version) and the process died before it released the old
    // claim, whose lease still runs: the old bytes arriving under another name are new business again.
    await commitDrop(store, record("export", "v-2", "e".repeat(64)), { retire: async () => {} });
    const copy = { ...old, dropId: "old-copy", version: "v-3", now: new Date(NOW.getTime() + HOUR / 4) };
    expect((await claimContent(store, copy)).kind).toBe("claimed");
  });

  it("still holds while a newer attempt of its holder is converting", async () => {
    const store = await freshStore();
    await commitDrop(store, record("export", "v-1", "d".repeat(64)), { retire: async () => {} });
    const newer = {
      dataset: "transactions" as const,
      sha256: "e".repeat(64),
      dropId: "export",
      version: "v-2",
      now: NOW,
      leaseMs: HOUR,
    };
    expect((await claimContent(store, newer)).kind).toBe("claimed");
    const copy = { ...newer, dropId: "copy", version: "v-3", now: new Date(NOW.getTime() + HOUR / 4) };
    expect((await claimContent(store, copy)).kind).toBe("in_progress");
  });
});
