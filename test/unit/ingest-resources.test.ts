/**
 * Issue 18, item 1: running out of memory, temporary disk or time is the function's limit, not the file's
 * fault. Such a failure is a ResourceError (retried by the Lambda, never a rejection), leaves nothing visible
 * and no ledger record, and releases the content claim so the retry can ingest the same bytes.
 */
import { describe, expect, it, vi } from "vitest";
import { ResourceError } from "../../functions/core/errors.ts";
import * as convert from "../../functions/core/ingest/convert.ts";
import { ingestDrop, refuseOversizedDrop } from "../../functions/core/ingest/ingest.ts";
import { curatedFiles, takeSnapshot } from "../../functions/core/ledger/ledger.ts";
import type { ObjectStore } from "../../functions/core/ports/object-store.ts";
import { tempLake } from "../helpers/lake.ts";

// The conversion, real unless a test makes it fail once (DuckDB's errors are injected, as the test provoked them).
vi.mock("../../functions/core/ingest/convert.ts", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../functions/core/ingest/convert.ts")>();
  return { ...real, convertDrop: vi.fn(real.convertDrop) };
});

/**
 * DuckDB 1.5.6's own texts, provoked here: a 20 MB memory_limit with no temp directory; a spill directory and
 * a COPY target on a 2 MB tmpfs (`mount -t tmpfs -o size=2m`), with and without PARTITION_BY.
 */
const DUCKDB_OOM =
  "Out of Memory Error: failed to allocate data of size 32.0 KiB (19.0 MiB/19.0 MiB used)\nDatabase is launched in in-memory mode and no temporary directory is specified.\nUnused blocks cannot be offloaded to disk.\n\nLaunch the database with a persistent storage back-end\nOr set SET temp_directory='/path/to/tmp.tmp'\n\nPossible solutions:\n* Reducing the number of threads (SET threads=X)\n* Disabling insertion-order preservation (SET preserve_insertion_order=false)\n* Increasing the memory limit (SET memory_limit='...GB')\n\nSee also https://duckdb.org/docs/stable/guides/performance/how_to_tune_workloads";
const DUCKDB_PIN =
  "Out of Memory Error: failed to pin block of size 256.0 KiB (18.8 MiB/19.0 MiB used)\n\nPossible solutions:\n* Reducing the number of threads (SET threads=X)";
const DUCKDB_SPILL_DISK_FULL =
  "Out of Memory Error: failed to offload data block of size 96.0 KiB (1.7 MiB/1.7 MiB used).\nThis limit was set by the 'max_temp_directory_size' setting.\nBy default, this setting utilizes the available disk space on the drive where the 'temp_directory' is located.\nYou can adjust this setting, by using (for example) PRAGMA max_temp_directory_size='10GiB'";
const DUCKDB_COPY_DISK_FULL =
  'IO Error: Could not write file "/tmp/crmtiny/out.parquet": No space left on device';
const DUCKDB_PARTITIONED_DISK_FULL =
  'IO Error: Could not write file "/tmp/crmtiny/outp/p=0/data_0.parquet": No space left on device';

function nodeErrno(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}

describe("resourceFailure", () => {
  it.each([
    [DUCKDB_OOM, "out_of_memory"],
    [DUCKDB_PIN, "out_of_memory"],
    [DUCKDB_SPILL_DISK_FULL, "disk_full"],
    [DUCKDB_COPY_DISK_FULL, "disk_full"],
    [DUCKDB_PARTITIONED_DISK_FULL, "disk_full"],
  ])("classifies DuckDB's %j", (message, code) => {
    const failure = convert.resourceFailure("big.csv", new Error(message));
    expect(failure).toBeInstanceOf(ResourceError);
    expect(failure?.code).toBe(code);
    // One line in the log and the error, the first of DuckDB's.
    expect(failure?.message).toContain(message.split("\n")[0]);
    expect(failure?.message).not.toContain("\n");
  });

  it("classifies Node's ENOSPC and ENOMEM", () => {
    const disk = convert.resourceFailure("a.csv", nodeErrno("ENOSPC", "no space left on device, write"));
    expect(disk?.code).toBe("disk_full");
    const memory = convert.resourceFailure("a.csv", nodeErrno("ENOMEM", "not enough memory"));
    expect(memory?.code).toBe("out_of_memory");
  });

  it("leaves the file's own faults alone", () => {
    for (const message of [
      "Invalid Input Error: CSV Error on Line: 3\nInvalid unicode (byte sequence mismatch) detected.",
      "IO Error: Corrupt gzip file",
      'Invalid Input Error: File "/tmp/x.parquet" too small to be a Parquet file',
    ]) {
      expect(convert.resourceFailure("a.csv", new Error(message))).toBeUndefined();
    }
  });

  it("classifies an out-of-memory error DuckDB really raises", async () => {
    const { DuckDBInstance } = await import("@duckdb/node-api");
    const instance = await DuckDBInstance.create(":memory:", {
      memory_limit: "20MB",
      threads: "1",
      temp_directory: "",
    });
    const connection = await instance.connect();
    let caught: unknown;
    try {
      await connection.run(
        "CREATE TABLE t AS SELECT range AS i, md5(range::varchar) AS s FROM range(3000000) ORDER BY s",
      );
    } catch (error) {
      caught = error;
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
    expect(caught).toBeDefined();
    expect(convert.resourceFailure("a.csv", caught)?.code).toBe("out_of_memory");
  });
});

const CSV = [
  "order_id,customer_id,ordered_at,amount",
  "o1,c1,2024-01-15 10:00:00,10.50",
  "o2,c2,2024-02-16 11:00:00,3.00",
  "o3,,2024-03-01 09:30:00,2.00",
].join("\n");

/** What a reader of the lake sees: the committed transactions files and the ledger's records. */
async function visible(store: ObjectStore) {
  const snapshot = await takeSnapshot(store);
  return {
    curated: curatedFiles(snapshot, "transactions"),
    drops: (await store.list("ledger/drops/")).map((o) => o.key),
    rejected: (await store.list("ledger/rejected/")).map((o) => o.key),
  };
}

describe("ingestDrop out of resources", () => {
  it.each([
    ["out of memory", DUCKDB_OOM, "out_of_memory"],
    ["out of disk", DUCKDB_PARTITIONED_DISK_FULL, "disk_full"],
  ])(
    "%s: a ResourceError, nothing recorded or visible, and the retry ingests the same bytes",
    async (_, message, code) => {
      const lake = await tempLake();
      const path = await lake.file("day.csv", CSV);
      const spy = vi.mocked(convert.convertDrop);
      spy.mockClear();
      spy.mockRejectedValueOnce(new Error(message));
      const failure = await lake.ingest("transactions", path).catch((error: unknown) => error);
      expect(spy).toHaveBeenCalledTimes(1);
      expect(failure).toBeInstanceOf(ResourceError);
      expect((failure as ResourceError).code).toBe(code);
      expect(await visible(lake.store)).toEqual({ curated: [], drops: [], rejected: [] });
      // The claim was released: SQS's retry of the same bytes is not a duplicate_in_progress.
      const retry = await lake.ingest("transactions", path);
      expect(retry.ledger.status).toBe("ok");
      expect((await visible(lake.store)).curated).toHaveLength(2);
    },
  );

  it("gives up before converting when too little time is left, and says so", async () => {
    const lake = await tempLake();
    const path = await lake.file("day.csv", CSV);
    const failure = await ingestDrop({
      store: lake.store,
      dataset: "transactions",
      source: { localPath: path, uri: path },
      workDir: lake.root,
      remainingTimeMs: () => 59_000,
      deadlineReserveMs: 60_000,
    }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ResourceError);
    expect((failure as ResourceError).code).toBe("deadline");
    expect((failure as Error).message).toMatch(/before converting: 59 s left, 60 s needed/);
    expect(await visible(lake.store)).toEqual({ curated: [], drops: [], rejected: [] });
  });

  it("stops uploading near the deadline: the files already uploaded stay invisible, with no ledger record", async () => {
    const lake = await tempLake();
    const path = await lake.file("day.csv", CSV);
    let left = 600_000;
    const uploaded: string[] = [];
    // The clock runs out while the first month's file uploads.
    const store: ObjectStore = Object.assign(Object.create(lake.store) as ObjectStore, {
      putFile: async (key: string, localPath: string) => {
        await lake.store.putFile(key, localPath);
        uploaded.push(key);
        left = 5_000;
      },
    });
    const failure = await ingestDrop({
      store,
      dataset: "transactions",
      source: { localPath: path, uri: path },
      workDir: lake.root,
      remainingTimeMs: () => left,
      deadlineReserveMs: 60_000,
    }).catch((error: unknown) => error);
    expect((failure as ResourceError).code).toBe("deadline");
    expect((failure as Error).message).toMatch(/before uploading/);
    expect(uploaded).toHaveLength(1);
    // The orphan is in the bucket but no reader lists it: the commit (the ledger record) never happened.
    expect((await lake.store.list("curated/transactions/")).map((o) => o.key)).toEqual(uploaded);
    expect(await visible(lake.store)).toEqual({ curated: [], drops: [], rejected: [] });
    expect(await lake.query("SELECT count(*) AS n FROM transactions")).toEqual([{ n: "0" }]);
    const retry = await lake.ingest("transactions", path);
    expect(retry.ledger.status).toBe("ok");
    expect(await lake.query("SELECT count(*) AS n FROM transactions")).toEqual([{ n: "2" }]);
  });

  it("interrupts DuckDB when the deadline comes during the conversion", async () => {
    const lake = await tempLake();
    const lines = ["order_id,customer_id,ordered_at,amount"];
    for (let i = 0; i < 300_000; i += 1)
      lines.push(
        `o${i},c${i % 5000},2024-01-${String((i % 28) + 1).padStart(2, "0")} 10:00:00,${i % 100}.25`,
      );
    const path = await lake.file("big.csv", lines.join("\n"));
    const reserve = 60_000;
    let deadline = 0;
    // Time runs out 150 ms after the conversion starts (the hashing before it is not timed).
    const onProgress = ({ phase }: { phase: string }) => {
      if (phase === "converting") deadline = Date.now() + 150;
    };
    const failure = await ingestDrop({
      store: lake.store,
      dataset: "transactions",
      source: { localPath: path, uri: path },
      workDir: lake.root,
      duckdb: { threads: 2, memoryLimit: "512MB" },
      onProgress,
      remainingTimeMs: () => (deadline === 0 ? 600_000 : deadline + reserve - Date.now()),
      deadlineReserveMs: reserve,
    }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ResourceError);
    expect((failure as ResourceError).code).toBe("deadline");
    // DuckDB's interrupt, not the check after the conversion, stopped it.
    expect((failure as Error).message).toMatch(/^Gave up converting "big.csv" near the function's deadline/);
    expect(String((failure as Error).cause)).toMatch(/INTERRUPT/i);
    expect(await visible(lake.store)).toEqual({ curated: [], drops: [], rejected: [] });
  });
});

describe("refuseOversizedDrop", () => {
  it("records a too_large rejection before anything is downloaded", async () => {
    const lake = await tempLake();
    const failure = await refuseOversizedDrop({
      store: lake.store,
      dataset: "transactions",
      uri: "s3://landing/transactions/huge.csv",
      sizeBytes: 5 * 1024 ** 3,
      limitBytes: 4 * 1024 ** 3,
    }).catch((error: unknown) => error);
    expect((failure as { code: string }).code).toBe("too_large");
    expect((failure as Error).message).toContain("5.0 GiB, more than the 4.0 GiB");
    const rejected = await lake.store.list("ledger/rejected/");
    expect(rejected).toHaveLength(1);
    const record = JSON.parse(Buffer.from((await lake.store.get(rejected[0]?.key ?? "")) ?? []).toString());
    expect(record).toMatchObject({
      status: "rejected",
      error_code: "too_large",
      size_bytes: 5 * 1024 ** 3,
      source: "s3://landing/transactions/huge.csv",
    });
    expect(await visible(lake.store)).toMatchObject({ curated: [], drops: [] });
  });
});

describe("a reader that reads another number of records than the file holds", () => {
  // The guard behind the reconciliation (rows_in = the file's records): should DuckDB ever drop or split a
  // record, the scan of the file (csv-scan.ts) disagrees with it. Simulated by a scan that counted one record
  // more than DuckDB can read; the real conversion does the rest.
  it("is refused as unreadable, with both counts, and nothing becomes visible", async () => {
    const lake = await tempLake();
    const path = await lake.file("day.csv", CSV);
    const spy = vi.mocked(convert.convertDrop);
    const real = spy.getMockImplementation();
    if (real === undefined) throw new Error("convertDrop is not wrapped");
    spy.mockImplementationOnce((input) => {
      const layout = input.facts.format === "csv" ? input.facts.layout : undefined;
      if (layout === undefined) throw new Error("a CSV drop has a layout");
      return real({
        ...input,
        facts: { ...input.facts, layout: { ...layout, records: layout.records + 1 } },
      });
    });
    const failure = await lake.ingest("transactions", path).catch((error: unknown) => error);
    expect((failure as { code?: string }).code).toBe("unreadable");
    expect((failure as Error).message).toBe(
      '"day.csv" holds 4 records by a scan of the file, but the CSV reader read 3; refused rather than ingest a drop that does not account for every record',
    );
    // Recorded as a rejected file (the IngestRejectedFiles alarm on AWS), nothing curated, no committed drop.
    const seen = await visible(lake.store);
    expect(seen).toMatchObject({ curated: [], drops: [] });
    expect(seen.rejected).toHaveLength(1);
  });
});
