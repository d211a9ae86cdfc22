import { S3ServiceException } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { RunLockedError } from "../../functions/core/runner/errors.ts";
import { MODEL_LAYOUT } from "../../functions/core/runner/layout.ts";
import type { RunRecord } from "../../functions/core/runner/runs.ts";
import { S3ModelOutputs } from "../../functions/core/runner/s3-outputs.ts";
import { S3ObjectStore } from "../../functions/storage/s3.ts";
import { type S3TestServer, s3rverClient, startS3Server } from "../helpers/s3-server.ts";

const BUCKET = "crmlake-score-test";
let server: S3TestServer;
let prefixCounter = 0;
/** Each test gets its own lake prefix in the one bucket, so tests cannot see each other's objects. */
let lakePrefix = "";
let lake: S3ObjectStore;

const text = (bytes: Uint8Array | undefined): string | undefined =>
  bytes === undefined ? undefined : Buffer.from(bytes).toString("utf8");

function outputs(options: { now?: () => Date; staleLockMs?: number } = {}): S3ModelOutputs {
  return new S3ModelOutputs({
    bucket: BUCKET,
    prefix: lakePrefix,
    client: server.client,
    pageSize: 2,
    ...options,
  });
}

/** What an UNLOAD of `model` would leave in the run's staging table. */
async function stage(
  runId: string,
  model: string,
  asOf: string,
  files: Record<string, string>,
): Promise<void> {
  for (const [name, body] of Object.entries(files)) {
    await lake.put(`${MODEL_LAYOUT.stagingTable(runId, model)}as_of=${asOf}/${name}`, body);
  }
}

async function keys(prefix: string): Promise<string[]> {
  return (await lake.list(prefix)).map((o) => o.key);
}

beforeAll(async () => {
  server = await startS3Server([BUCKET]);
});

afterAll(async () => {
  await server?.stop();
});

beforeEach(() => {
  lakePrefix = `lake-${++prefixCounter}`;
  lake = new S3ObjectStore({ bucket: BUCKET, prefix: lakePrefix, client: server.client });
});

describe("S3ModelOutputs against s3rver", () => {
  it("names each model's staging table under runs/staging/<run>/<model>/ in the lake", () => {
    const o = outputs();
    expect(o.location).toBe(`s3://${BUCKET}/${lakePrefix}/`);
    expect(o.stagingTable("run-1", "customer_rfm")).toBe(
      `s3://${BUCKET}/${lakePrefix}/runs/staging/run-1/customer_rfm/`,
    );
    const atRoot = new S3ModelOutputs({ bucket: BUCKET, client: server.client });
    expect(atRoot.stagingTable("r", "m")).toBe(`s3://${BUCKET}/runs/staging/r/m/`);
  });

  it("refuses a second lock while the first is held, naming the holder, and frees it on release", async () => {
    const o = outputs();
    const release = await o.lock("run-a");
    const holder = JSON.parse(text(await lake.get(MODEL_LAYOUT.lock)) ?? "{}") as { run_id?: string };
    expect(holder.run_id).toBe("run-a");

    const second = outputs().lock("run-b");
    await expect(second).rejects.toBeInstanceOf(RunLockedError);
    await expect(outputs().lock("run-b")).rejects.toThrow(
      new RegExp(
        `Another run is using the lake s3://${BUCKET}/${lakePrefix}/: run run-a \\(on .*, started .*\\)`,
      ),
    );

    await release();
    expect(await lake.get(MODEL_LAYOUT.lock)).toBeUndefined();
    const releaseB = await outputs().lock("run-b");
    await releaseB();
  });

  it("sends If-None-Match: * when creating the lock (S3 refuses a second creator with 412)", async () => {
    const client = s3rverClient(server.endpoint);
    const seen: Record<string, string>[] = [];
    client.middlewareStack.add(
      (next) => async (args) => {
        const request = args.request as { headers?: Record<string, string> };
        if (request.headers !== undefined) seen.push({ ...request.headers });
        return next(args);
      },
      { step: "finalizeRequest", name: "recordHeaders" },
    );
    try {
      const o = new S3ModelOutputs({ bucket: BUCKET, prefix: lakePrefix, client });
      const release = await o.lock("run-h");
      expect(seen.some((h) => h["if-none-match"] === "*")).toBe(true);
      await release();
    } finally {
      client.destroy();
    }
  });

  it("reports a lost conditional write (412) as a locked lake", async () => {
    const client = s3rverClient(server.endpoint);
    // s3rver ignores If-None-Match. Play S3 with a run that wins the race between our read and our write:
    // its lock appears, and our conditional PutObject gets S3's 412.
    client.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { IfNoneMatch?: string };
        if (input.IfNoneMatch !== "*") return next(args);
        await lake.put(
          MODEL_LAYOUT.lock,
          JSON.stringify({ run_id: "winner", host: "elsewhere", started_at: "2026-11-23T03:00:00.000Z" }),
        );
        throw new S3ServiceException({
          name: "PreconditionFailed",
          $fault: "client",
          $metadata: { httpStatusCode: 412 },
          message: "At least one of the pre-conditions you specified did not hold",
        });
      },
      { step: "initialize", name: "preconditionFailed" },
    );
    try {
      const o = new S3ModelOutputs({ bucket: BUCKET, prefix: lakePrefix, client });
      await expect(o.lock("loser")).rejects.toThrow(
        /run winner \(on elsewhere, started 2026-11-23T03:00:00.000Z\)/,
      );
    } finally {
      client.destroy();
    }
  });

  it("takes over a lock older than the stale timeout", async () => {
    await lake.put(
      MODEL_LAYOUT.lock,
      JSON.stringify({ run_id: "dead", host: "gone", started_at: "2026-11-23T03:00:00.000Z" }),
    );
    const fresh = outputs({ now: () => new Date("2026-11-23T03:10:00.000Z"), staleLockMs: 30 * 60_000 });
    await expect(fresh.lock("run-c")).rejects.toThrow(/run dead/);
    const later = outputs({ now: () => new Date("2026-11-23T03:31:00.000Z"), staleLockMs: 30 * 60_000 });
    const release = await later.lock("run-c");
    expect(text(await lake.get(MODEL_LAYOUT.lock))).toContain('"run_id":"run-c"');
    await release();
  });

  it("publishes: replaces the as-of partition's files, leaves other as-of partitions alone, removes staging", async () => {
    await lake.put("models/customer_rfm/as_of=2024-01-30/part-old-1", "jan30");
    await lake.put("models/customer_rfm/as_of=2024-01-31/part-old-1", "old-1");
    await lake.put("models/customer_rfm/as_of=2024-01-31/part-old-2", "old-2");
    await lake.put("models/customer_base/as_of=2024-01-31/part-old", "old-base");
    await stage("run-p", "customer_rfm", "2024-01-31", {
      "part-new-1": "new-1",
      "part-new-2": "new-2",
      "part-new-3": "new-3",
    });
    await stage("run-p", "customer_base", "2024-01-31", { "part-new": "new-base" });

    await outputs().publish("run-p", "2024-01-31", ["customer_rfm", "customer_base"]);

    expect(await keys("models/")).toEqual([
      "models/customer_base/as_of=2024-01-31/part-new",
      "models/customer_rfm/as_of=2024-01-30/part-old-1",
      "models/customer_rfm/as_of=2024-01-31/part-new-1",
      "models/customer_rfm/as_of=2024-01-31/part-new-2",
      "models/customer_rfm/as_of=2024-01-31/part-new-3",
    ]);
    expect(text(await lake.get("models/customer_rfm/as_of=2024-01-31/part-new-2"))).toBe("new-2");
    expect(text(await lake.get("models/customer_rfm/as_of=2024-01-30/part-old-1"))).toBe("jan30");
    expect(await keys("runs/staging/")).toEqual([]);
  });

  it("publishes an empty partition for a model that staged no files (no rows)", async () => {
    await lake.put("models/m/as_of=2024-01-31/old", "old");
    await outputs().publish("run-e", "2024-01-31", ["m"]);
    expect(await keys("models/")).toEqual([]);
  });

  it("discards a run's staging without touching published models", async () => {
    await lake.put("models/customer_rfm/as_of=2024-01-31/part-old", "old");
    await stage("run-d", "customer_rfm", "2024-01-31", { "part-new": "new" });
    await stage("run-other", "customer_rfm", "2024-01-31", { "part-x": "x" });
    await outputs().discard("run-d");
    expect(await keys("runs/staging/")).toEqual([
      "runs/staging/run-other/customer_rfm/as_of=2024-01-31/part-x",
    ]);
    expect(await keys("models/")).toEqual(["models/customer_rfm/as_of=2024-01-31/part-old"]);
  });

  it("recovers an interrupted publish by rolling forward from its journal, and drops journal-less debris", async () => {
    // A publish that died after copying part-1 and deleting its staged object, before copying part-2 and
    // before deleting the old file: the journal is there, part-2 is still staged.
    await lake.put("models/customer_rfm/as_of=2024-01-31/part-old", "old");
    await lake.put("models/customer_rfm/as_of=2024-01-31/part-1", "new-1");
    await stage("run-i", "customer_rfm", "2024-01-31", { "part-2": "new-2" });
    await lake.put(
      MODEL_LAYOUT.publishJournal("run-i"),
      JSON.stringify({
        run_id: "run-i",
        as_of: "2024-01-31",
        partitions: [{ model: "customer_rfm", files: ["part-1", "part-2"] }],
      }),
    );
    // A run that died while computing: staging, no journal.
    await stage("run-z", "customer_rfm", "2024-02-01", { "part-z": "z" });

    await outputs().recover();

    expect(await keys("models/")).toEqual([
      "models/customer_rfm/as_of=2024-01-31/part-1",
      "models/customer_rfm/as_of=2024-01-31/part-2",
    ]);
    expect(text(await lake.get("models/customer_rfm/as_of=2024-01-31/part-2"))).toBe("new-2");
    expect(await keys("runs/staging/")).toEqual([]);
    // Idempotent: a second recovery finds nothing to do.
    await outputs().recover();
    expect(await keys("models/")).toHaveLength(2);
  });

  it("refuses to roll forward a journal whose object is neither staged nor published (lost data)", async () => {
    await lake.put(
      MODEL_LAYOUT.publishJournal("run-lost"),
      JSON.stringify({
        run_id: "run-lost",
        as_of: "2024-01-31",
        partitions: [{ model: "m", files: ["gone"] }],
      }),
    );
    await expect(outputs().recover()).rejects.toThrow(
      `S3 CopyObject failed from s3://${BUCKET}/${lakePrefix}/runs/staging/run-lost/m/as_of=2024-01-31/gone`,
    );
    // The journal stays, so the next run tries again (and an operator can see why).
    expect(await lake.get(MODEL_LAYOUT.publishJournal("run-lost"))).toBeDefined();
  });

  it("fails recovery on a malformed journal, naming it, rather than guessing", async () => {
    await lake.put(MODEL_LAYOUT.publishJournal("run-bad"), '{"run_id": "run-bad"}');
    await expect(outputs().recover()).rejects.toThrow(
      `The publish journal s3://${BUCKET}/${lakePrefix}/runs/staging/run-bad/_publish.json lacks run_id, as_of or partitions`,
    );
  });

  it("writes the run record to runs/log/<run_id>.json, one JSON line", async () => {
    const record: RunRecord = {
      run_id: "run-r",
      as_of: "2024-01-31",
      status: "succeeded",
      engine: "athena",
      started_at: "2024-02-01 03:00:00.000",
      finished_at: "2024-02-01 03:05:00.000",
      duration_ms: 300_000,
      models_requested: null,
      config: "{}",
      models: [],
      bytes_scanned: 52_428_800,
      cost_usd: 0.000238,
      error: null,
    };
    await outputs().writeRunRecord(record);
    const written = text(await lake.get(MODEL_LAYOUT.runRecord("run-r")));
    expect(written).toBe(`${JSON.stringify(record)}\n`);
  });

  it("clears only locations inside the lake (the Athena adapter's retry of a failed UNLOAD)", async () => {
    await stage("run-c", "m", "2024-01-31", { a: "a", b: "b" });
    await lake.put("models/m/as_of=2024-01-31/keep", "keep");
    const o = outputs();
    await o.clearLocation(o.stagingTable("run-c", "m"));
    expect(await keys("runs/")).toEqual([]);
    expect(await keys("models/")).toEqual(["models/m/as_of=2024-01-31/keep"]);
    await expect(o.clearLocation("s3://other-bucket/x/")).rejects.toThrow(/not under the lake/);
  });
});
