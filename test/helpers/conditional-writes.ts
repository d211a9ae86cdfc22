/**
 * The conditional-write part of the ObjectStore contract (ObjectStore.putIf, ADR 0010), for adapters whose
 * backend honours the conditions: the local store, and S3 as moto implements it (s3rver ignores them).
 */
import { expect, it } from "vitest";
import type { ObjectStore } from "../../functions/core/ports/object-store.ts";

const text = (bytes: Uint8Array | undefined): string | undefined =>
  bytes === undefined ? undefined : Buffer.from(bytes).toString("utf8");

export function conditionalWriteContract(freshStore: () => ObjectStore): void {
  it("putIf with ifNoneMatch creates an absent object once, and refuses while it exists", async () => {
    const store = freshStore();
    const etag = await store.putIf("ledger/content/a.json", "first", { ifNoneMatch: "*" });
    expect(etag).toEqual(expect.any(String));
    expect(await store.putIf("ledger/content/a.json", "second", { ifNoneMatch: "*" })).toBeUndefined();
    expect(text(await store.get("ledger/content/a.json"))).toBe("first");
    expect((await store.getTagged("ledger/content/a.json"))?.etag).toBe(etag);
  });

  it("putIf with ifMatch replaces only while the tag is the one read, and returns the new tag", async () => {
    const store = freshStore();
    await store.put("ledger/drops/d.json", "v1");
    const read = await store.getTagged("ledger/drops/d.json");
    expect(text(read?.body)).toBe("v1");
    const next = await store.putIf("ledger/drops/d.json", "v2", { ifMatch: read?.etag ?? "" });
    expect(next).toEqual(expect.any(String));
    expect(next).not.toBe(read?.etag);
    // The tag read before v2 is stale now: a writer that read v1 loses.
    expect(await store.putIf("ledger/drops/d.json", "v3", { ifMatch: read?.etag ?? "" })).toBeUndefined();
    expect(text(await store.get("ledger/drops/d.json"))).toBe("v2");
    expect(await store.putIf("ledger/drops/d.json", "v3", { ifMatch: next ?? "" })).toEqual(
      expect.any(String),
    );
    expect(text(await store.get("ledger/drops/d.json"))).toBe("v3");
  });

  it("putIf with ifMatch on an absent object fails, and getTagged of it is undefined", async () => {
    const store = freshStore();
    expect(await store.getTagged("ledger/drops/none.json")).toBeUndefined();
    expect(await store.putIf("ledger/drops/none.json", "x", { ifMatch: '"abc"' })).toBeUndefined();
    expect(await store.get("ledger/drops/none.json")).toBeUndefined();
  });

  it("of writers racing to create the same object, exactly one wins and its bytes are what is stored", async () => {
    const store = freshStore();
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        store.putIf("ledger/content/race.json", `writer ${i}`, { ifNoneMatch: "*" }),
      ),
    );
    const winners = results.flatMap((etag, i) => (etag === undefined ? [] : [i]));
    expect(winners).toHaveLength(1);
    expect(text(await store.get("ledger/content/race.json"))).toBe(`writer ${winners[0]}`);
  });

  it("of writers racing to replace the same version, exactly one wins", async () => {
    const store = freshStore();
    await store.put("ledger/drops/race.json", "v0");
    const read = await store.getTagged("ledger/drops/race.json");
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        store.putIf("ledger/drops/race.json", `writer ${i}`, { ifMatch: read?.etag ?? "" }),
      ),
    );
    const winners = results.flatMap((etag, i) => (etag === undefined ? [] : [i]));
    expect(winners).toHaveLength(1);
    expect(text(await store.get("ledger/drops/race.json"))).toBe(`writer ${winners[0]}`);
  });
}
