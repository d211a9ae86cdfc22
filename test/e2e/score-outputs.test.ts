/**
 * S3ModelOutputs against a real s3rver and the Glue fake (test/helpers/glue-fake.ts): runs write under their
 * own prefixes, and publishing points the Glue partitions at them (docs/adr/0006).
 */

import type { GlueClient } from "@aws-sdk/client-glue";
import { S3ServiceException } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { MODEL_LAYOUT } from "../../functions/core/catalogue/layout.ts";
import { RunLockedError } from "../../functions/core/errors.ts";
import { deletePublishedAsOf } from "../../functions/core/runner/delete.ts";
import type { RunRecord } from "../../functions/core/runner/runs.ts";
import { GluePartitions } from "../../functions/storage/glue-partitions.ts";
import { S3ObjectStore } from "../../functions/storage/s3.ts";
import { S3ModelOutputs } from "../../functions/storage/s3-outputs.ts";
import { GlueFake } from "../helpers/glue-fake.ts";
import { type S3TestServer, s3rverClient, startS3Server } from "../helpers/s3-server.ts";

const BUCKET = "crmlake-score-test";
const DB = "crmlake_db";
const DAY = 24 * 60 * 60 * 1000;
let server: S3TestServer;
let glueFake: GlueFake;
let glue: GlueClient;
let partitions: GluePartitions;
let prefixCounter = 0;
/** Each test gets its own lake prefix in the one bucket, and its own tables, so tests cannot see each other. */
let lakePrefix = "";
let lake: S3ObjectStore;
let db = DB;

const text = (bytes: Uint8Array | undefined): string | undefined =>
  bytes === undefined ? undefined : Buffer.from(bytes).toString("utf8");

function outputs(
  options: { now?: () => Date; staleLockMs?: number; retiredGraceMs?: number } = {},
): S3ModelOutputs {
  return new S3ModelOutputs({
    bucket: BUCKET,
    prefix: lakePrefix,
    client: server.client,
    partitions,
    pageSize: 2,
    ...options,
  });
}

/** What an UNLOAD of `model` leaves in the run's own table. */
async function stage(
  runId: string,
  model: string,
  asOf: string,
  files: Record<string, string>,
): Promise<void> {
  for (const [name, body] of Object.entries(files)) {
    await lake.put(`${MODEL_LAYOUT.runTable(runId, model)}as_of=${asOf}/${name}`, body);
  }
}

async function keys(prefix: string): Promise<string[]> {
  return (await lake.list(prefix)).map((o) => o.key);
}

const uri = (key: string) => `s3://${BUCKET}/${lakePrefix}/${key}`;
const runPartition = (runId: string, model: string, asOf: string) =>
  uri(`${MODEL_LAYOUT.runTable(runId, model)}as_of=${asOf}/`);

/** What Athena reads for one partition: the files under the location the catalogue holds for it. */
async function readerSees(model: string, asOf: string): Promise<Record<string, string>> {
  const location = glueFake.partitions(db, model)[asOf];
  if (location === undefined) return {};
  const key = location.slice(`s3://${BUCKET}/${lakePrefix}/`.length);
  const out: Record<string, string> = {};
  for (const k of await keys(key)) out[k.slice(key.length)] = text(await lake.get(k)) ?? "";
  return out;
}

beforeAll(async () => {
  server = await startS3Server([BUCKET]);
  glueFake = await GlueFake.start();
  glue = glueFake.client();
});

afterAll(async () => {
  glue?.destroy();
  await glueFake?.close();
  await server?.stop();
});

beforeEach(() => {
  lakePrefix = `lake-${++prefixCounter}`;
  db = `${DB}_${prefixCounter}`;
  lake = new S3ObjectStore({ bucket: BUCKET, prefix: lakePrefix, client: server.client });
  for (const model of ["customer_rfm", "customer_base", "m"]) {
    glueFake.table(db, model, uri(MODEL_LAYOUT.modelPrefix(model))).latestTable(db, model, uri(""));
  }
  partitions = new GluePartitions({ client: glue, database: db });
});

describe("S3ModelOutputs against s3rver and the Glue fake", () => {
  it("gives each run its own table under models/<model>/run=<run>/ in the lake", () => {
    const o = outputs();
    expect(o.location).toBe(`s3://${BUCKET}/${lakePrefix}/`);
    expect(o.stagingTable("run-1", "customer_rfm")).toBe(uri("models/customer_rfm/run=run-1/"));
    const atRoot = new S3ModelOutputs({ bucket: BUCKET, client: server.client, partitions });
    expect(atRoot.stagingTable("r", "m")).toBe(`s3://${BUCKET}/models/m/run=r/`);
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
      const o = new S3ModelOutputs({ bucket: BUCKET, prefix: lakePrefix, client, partitions });
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
      const o = new S3ModelOutputs({ bucket: BUCKET, prefix: lakePrefix, client, partitions });
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

  it("takes over a lock of its own run id only when older than a Lambda's life; a younger one is a duplicate in progress", async () => {
    await lake.put(
      MODEL_LAYOUT.lock,
      JSON.stringify({ run_id: "run-r", host: "gone", started_at: "2026-11-23T03:00:00.000Z" }),
    );
    const at = (time: string) => outputs({ now: () => new Date(time) });
    await expect(at("2026-11-23T03:16:00.000Z").lock("run-other")).rejects.toThrow(/run run-r/);
    // Ten minutes in: the holder may still be running (a duplicate delivery of the same event).
    await expect(at("2026-11-23T03:10:00.000Z").lock("run-r")).rejects.toMatchObject({
      code: "run_in_progress",
      message: expect.stringContaining("Run run-r is already running"),
    });
    // Sixteen: no Lambda lives that long, so the holder is a dead attempt of this run; its retry resumes.
    const release = await at("2026-11-23T03:16:00.000Z").lock("run-r");
    expect(text(await lake.get(MODEL_LAYOUT.lock))).toContain('"started_at":"2026-11-23T03:16:00.000Z"');
    await release();
    expect(await lake.get(MODEL_LAYOUT.lock)).toBeUndefined();
  });

  it("publishes by pointing each model's partition at the run's files: created for a new as_of, updated for an existing one", async () => {
    await stage("run-1", "customer_rfm", "2024-01-30", { "part-a": "jan30" });
    await stage("run-1", "customer_rfm", "2024-01-31", { "part-a": "old-1", "part-b": "old-2" });
    await outputs().publish("run-1", "2024-01-30", ["customer_rfm"]);
    await outputs().publish("run-1", "2024-01-31", ["customer_rfm"]);
    await stage("run-2", "customer_rfm", "2024-01-31", {
      "part-x": "new-1",
      "part-y": "new-2",
      "part-z": "new-3",
    });
    await stage("run-2", "customer_base", "2024-01-31", { "part-x": "new-base" });
    const before = glueFake.calls.length;

    await outputs().publish("run-2", "2024-01-31", ["customer_rfm", "customer_base"]);

    expect(glueFake.partitions(db, "customer_rfm")).toEqual({
      "2024-01-30": runPartition("run-1", "customer_rfm", "2024-01-30"),
      "2024-01-31": runPartition("run-2", "customer_rfm", "2024-01-31"),
    });
    expect(glueFake.partitions(db, "customer_base")).toEqual({
      "2024-01-31": runPartition("run-2", "customer_base", "2024-01-31"),
    });
    const writes = glueFake.calls.slice(before).filter((c) => /^(Create|Update)Partition$/.test(c.operation));
    expect(writes.map((c) => [c.operation, c.input.TableName])).toEqual([
      ["UpdatePartition", "customer_rfm"],
      ["CreatePartition", "customer_base"],
    ]);
    // The partition takes the table's storage descriptor (columns, SerDe, formats) with its own location.
    expect(writes[0]?.input.PartitionInput).toMatchObject({
      Values: ["2024-01-31"],
      StorageDescriptor: {
        Columns: [{ Name: "customer_id", Type: "string" }],
        Location: runPartition("run-2", "customer_rfm", "2024-01-31"),
        SerdeInfo: { SerializationLibrary: "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe" },
      },
    });
    expect(await readerSees("customer_rfm", "2024-01-31")).toEqual({
      "part-x": "new-1",
      "part-y": "new-2",
      "part-z": "new-3",
    });
    expect(await readerSees("customer_rfm", "2024-01-30")).toEqual({ "part-a": "jan30" });
    // The replaced files stay for queries that resolved the old location, until the grace period ends,
    // which counts from the _retired marker publish leaves there (Athena ignores files starting with _).
    expect(await keys("models/customer_rfm/run=run-1/as_of=2024-01-31/")).toEqual([
      "models/customer_rfm/run=run-1/as_of=2024-01-31/_retired",
      "models/customer_rfm/run=run-1/as_of=2024-01-31/part-a",
      "models/customer_rfm/run=run-1/as_of=2024-01-31/part-b",
    ]);
    expect(await keys("models/customer_base/")).toEqual([
      "models/customer_base/run=run-2/as_of=2024-01-31/part-x",
    ]);
    expect(await keys("runs/staging/")).toEqual([]);
  });

  it("never shows a reader a mix: the partition reads the old run's files until one call makes it read the new run's", async () => {
    await stage("run-1", "m", "2024-01-31", { "part-1": "old", "part-2": "old" });
    await outputs().publish("run-1", "2024-01-31", ["m"]);
    await stage("run-2", "m", "2024-01-31", { "part-1": "new", "part-3": "new", "part-4": "new" });
    const seen: Record<string, string>[] = [];
    const observe = async () => {
      seen.push(await readerSees("m", "2024-01-31"));
    };
    // A reader looks before and after every catalogue call of the publish.
    glue.middlewareStack.add(
      (next) => async (args) => {
        await observe();
        const result = await next(args);
        await observe();
        return result;
      },
      { step: "initialize", name: "readerDuringPublish" },
    );
    try {
      await outputs().publish("run-2", "2024-01-31", ["m"]);
    } finally {
      glue.middlewareStack.remove("readerDuringPublish");
    }
    const old = { "part-1": "old", "part-2": "old" };
    const fresh = { "part-1": "new", "part-3": "new", "part-4": "new" };
    expect(seen.length).toBeGreaterThan(2);
    for (const view of seen) expect([old, fresh]).toContainEqual(view);
    expect(seen[0]).toEqual(old);
    expect(seen.at(-1)).toEqual(fresh);
    // Once it flips, it stays.
    const flip = seen.findIndex((v) => v["part-3"] !== undefined);
    expect(seen.slice(flip).every((v) => v["part-3"] === "new")).toBe(true);
  });

  it("sweeps run partitions no Glue partition points at once they are older than the grace period, and only those", async () => {
    await stage("run-1", "m", "2024-01-30", { p: "still published" });
    await stage("run-1", "m", "2024-01-31", { p: "replaced by run-2" });
    await outputs().publish("run-1", "2024-01-30", ["m"]);
    await outputs().publish("run-1", "2024-01-31", ["m"]);
    await stage("run-dead", "m", "2024-01-31", { p: "a run that died computing" });
    await stage("run-2", "m", "2024-01-31", { p: "new" });
    await outputs().publish("run-2", "2024-01-31", ["m"]);
    // Within the grace period nothing is deleted (s3rver stamps the files with the real time).
    expect(await keys("models/m/")).toHaveLength(5); // with run-1's 2024-01-31 _retired marker

    const later = outputs({ now: () => new Date(Date.now() + DAY + 60_000) });
    // run-dead is the current run here (resuming): its files are kept whatever their age.
    expect(await later.sweep(["m"], "run-dead")).toEqual(["models/m/run=run-1/as_of=2024-01-31/"]);
    expect(await later.sweep(["m"], "run-3")).toEqual(["models/m/run=run-dead/as_of=2024-01-31/"]);
    expect(await keys("models/m/")).toEqual([
      "models/m/run=run-1/as_of=2024-01-30/p",
      "models/m/run=run-2/as_of=2024-01-31/p",
    ]);
    expect(await readerSees("m", "2024-01-30")).toEqual({ p: "still published" });
    expect(await readerSees("m", "2024-01-31")).toEqual({ p: "new" });
  });

  it("discards a failed run's files in every model, and its journal, leaving other runs and the catalogue alone", async () => {
    await stage("run-1", "customer_rfm", "2024-01-31", { p: "published" });
    await outputs().publish("run-1", "2024-01-31", ["customer_rfm"]);
    await stage("run-d", "customer_rfm", "2024-01-31", { p: "failed run" });
    await stage("run-d", "customer_base", "2024-01-31", { p: "failed run" });
    await stage("run-other", "customer_rfm", "2024-01-31", { p: "another run" });
    await lake.put(MODEL_LAYOUT.publishJournal("run-d"), "{}");

    await outputs().discard("run-d");

    expect(await keys("models/")).toEqual([
      "models/customer_rfm/run=run-1/as_of=2024-01-31/p",
      "models/customer_rfm/run=run-other/as_of=2024-01-31/p",
    ]);
    expect(await keys("runs/")).toEqual([]);
    expect(glueFake.partitions(db, "customer_rfm")).toEqual({
      "2024-01-31": runPartition("run-1", "customer_rfm", "2024-01-31"),
    });
  });

  it("never deletes what a Glue partition points at: discard keeps a failed run's published files, clearTable refuses", async () => {
    // run-f published customer_rfm, then failed (e.g. while verifying); its customer_base was never published.
    await stage("run-f", "customer_rfm", "2024-01-31", { p: "published by run-f" });
    await stage("run-f", "customer_base", "2024-01-31", { p: "never published" });
    await partitions.point("customer_rfm", "2024-01-31", runPartition("run-f", "customer_rfm", "2024-01-31"));

    await outputs().discard("run-f");

    expect(await keys("models/")).toEqual(["models/customer_rfm/run=run-f/as_of=2024-01-31/p"]);
    expect(await readerSees("customer_rfm", "2024-01-31")).toEqual({ p: "published by run-f" });
    await expect(outputs().clearTable("run-f", "customer_rfm")).rejects.toMatchObject({
      code: "published_files",
      message: `Refusing to clear ${uri("models/customer_rfm/run=run-f/")}: the Glue table customer_rfm publishes ${runPartition("run-f", "customer_rfm", "2024-01-31")} from it`,
    });
    expect(await keys("models/")).toHaveLength(1);
  });

  it("rolls an interrupted publish forward from its journal, keeps the current run's staging, and is idempotent", async () => {
    await stage("run-1", "customer_rfm", "2024-01-31", { p: "old" });
    await stage("run-1", "customer_base", "2024-01-31", { p: "old" });
    await outputs().publish("run-1", "2024-01-31", ["customer_rfm", "customer_base"]);
    // run-i died after pointing customer_rfm and before customer_base: its journal is there.
    await stage("run-i", "customer_rfm", "2024-01-31", { p: "new" });
    await stage("run-i", "customer_base", "2024-01-31", { p: "new" });
    await partitions.point("customer_rfm", "2024-01-31", runPartition("run-i", "customer_rfm", "2024-01-31"));
    await lake.put(
      MODEL_LAYOUT.publishJournal("run-i"),
      JSON.stringify({
        run_id: "run-i",
        as_of: "2024-01-31",
        partitions: ["customer_rfm", "customer_base"].map((model) => ({
          model,
          location: runPartition("run-i", model, "2024-01-31"),
        })),
      }),
    );
    // The current run (resuming) has a journal of its own: recovery must not touch it.
    await lake.put(
      MODEL_LAYOUT.publishJournal("run-now"),
      JSON.stringify({ run_id: "run-now", as_of: "2024-02-01", partitions: [] }),
    );

    await outputs().recover("run-now");

    expect(await readerSees("customer_base", "2024-01-31")).toEqual({ p: "new" });
    expect(await readerSees("customer_rfm", "2024-01-31")).toEqual({ p: "new" });
    expect(await keys("runs/staging/")).toEqual([MODEL_LAYOUT.publishJournal("run-now")]);
    await outputs().recover("run-now");
    expect(await readerSees("customer_base", "2024-01-31")).toEqual({ p: "new" });
  });

  it("refuses a journal that points a model outside its own prefix, and a malformed journal, naming them", async () => {
    await lake.put(
      MODEL_LAYOUT.publishJournal("run-x"),
      JSON.stringify({
        run_id: "run-x",
        as_of: "2024-01-31",
        partitions: [{ model: "m", location: uri("curated/") }],
      }),
    );
    await expect(outputs().recover("run-now")).rejects.toThrow(
      `The publish journal of run run-x points m at ${uri("curated/")}, outside ${uri("models/m/")}. Every run first finishes the interrupted publish of run run-x; fix ${uri("runs/staging/run-x/_publish.json")}, or delete it`,
    );
    await lake.delete([MODEL_LAYOUT.publishJournal("run-x")]);
    await lake.put(MODEL_LAYOUT.publishJournal("run-bad"), '{"run_id": "run-bad"}');
    await expect(outputs().recover("run-now")).rejects.toThrow(
      `The publish journal ${uri("runs/staging/run-bad/_publish.json")} lacks run_id, as_of or partitions`,
    );
  });

  it("explains a model without a Glue table (stack not deployed with these models) and names Glue's failures", async () => {
    await stage("run-1", "no_such_model", "2024-01-31", { p: "x" });
    await expect(outputs().publish("run-1", "2024-01-31", ["no_such_model"])).rejects.toThrow(
      new RegExp(
        `The Glue table ${db}.no_such_model does not exist, so model no_such_model cannot be published.*cdk deploy`,
      ),
    );
    glueFake.failNext("UpdatePartition", "InternalServiceException");
    await stage("run-1", "m", "2024-01-31", { p: "x" });
    await partitions.point("m", "2024-01-31", runPartition("run-0", "m", "2024-01-31"));
    await expect(outputs().publish("run-1", "2024-01-31", ["m"])).rejects.toThrow(
      `Glue UpdatePartition failed for ${db}.m partition as_of=2024-01-31: injected InternalServiceException`,
    );
    // The journal stays for the next run to roll forward.
    expect(await lake.get(MODEL_LAYOUT.publishJournal("run-1"))).toBeDefined();
  });

  it("writes the run record to runs/log/<run_id>.json, one JSON line, and reads it back", async () => {
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
    expect(text(await lake.get(MODEL_LAYOUT.runRecord("run-r")))).toBe(`${JSON.stringify(record)}\n`);
    expect(await outputs().readRunRecord("run-r")).toEqual(record);
    expect(await outputs().readRunRecord("run-none")).toBeUndefined();
    await lake.put(MODEL_LAYOUT.runRecord("run-broken"), '{"run_id": "run-broken", "status": "odd"}');
    await expect(outputs().readRunRecord("run-broken")).rejects.toThrow(
      "The run record run-broken lacks run_id, as_of, a known status or models",
    );
  });

  it("clears only locations inside the lake, and one model's run table", async () => {
    await stage("run-c", "m", "2024-01-31", { a: "a", b: "b" });
    await stage("run-c", "customer_rfm", "2024-01-31", { a: "a" });
    await stage("run-k", "m", "2024-01-31", { keep: "keep" });
    const o = outputs();
    await o.clearLocation(`${o.stagingTable("run-c", "m")}as_of=2024-01-31/`);
    expect(await keys("models/m/")).toEqual(["models/m/run=run-k/as_of=2024-01-31/keep"]);
    await o.clearTable("run-c", "customer_rfm");
    expect(await keys("models/customer_rfm/")).toEqual([]);
    await expect(o.clearLocation("s3://other-bucket/x/")).rejects.toThrow(/not under the lake/);
  });
});

/** A run's record as the runner leaves it. */
function runRecord(runId: string, asOf: string, status: RunRecord["status"]): RunRecord {
  return {
    run_id: runId,
    as_of: asOf,
    status,
    engine: "athena",
    started_at: "2024-02-01 03:00:00.000",
    finished_at: "2024-02-01 03:05:00.000",
    duration_ms: 300_000,
    models_requested: null,
    config: "{}",
    models: [],
    bytes_scanned: null,
    cost_usd: null,
    error: null,
  };
}

/** What the runner does for one run: stage each model's files, publish, record the run as succeeded. */
async function run(runId: string, asOf: string, models: readonly string[], status = "succeeded" as const) {
  for (const model of models) await stage(runId, model, asOf, { "part-0": `${runId} ${asOf}` });
  await outputs().publish(runId, asOf, models);
  await outputs().writeRunRecord(runRecord(runId, asOf, status));
}

/** What Athena reads of `<model>_latest`: the one projected as-of, and the files under its location. */
async function latestSees(model: string): Promise<{ asOf: string; files: Record<string, string> }> {
  const { asOf, location } = glueFake.projected(db, `${model}_latest`);
  const key = location.slice(`s3://${BUCKET}/${lakePrefix}/`.length);
  const files: Record<string, string> = {};
  for (const k of await keys(key)) files[k.slice(key.length)] = text(await lake.get(k)) ?? "";
  return { asOf, files };
}

const updateTables = (since: number) =>
  glueFake.calls
    .slice(since)
    .filter((c) => c.operation === "UpdateTable")
    .map((c) => (c.input.TableInput as { Name: string }).Name);

describe("<model>_latest on S3 and the Glue fake (ADR 0014)", () => {
  it("shows nothing before the first publish: the placeholder date, under a prefix with no files", async () => {
    expect(await latestSees("m")).toEqual({ asOf: "1970-01-01", files: {} });
    expect(glueFake.projected(db, "m_latest").location).toBe(uri("models/m/latest=none/as_of=1970-01-01/"));
  });

  it("moves to the run's partition with one UpdateTable per model when its as-of is the greatest succeeded one, keeping the rest of the table", async () => {
    const declared = glueFake.tableInput(db, "customer_rfm_latest");
    const before = glueFake.calls.length;
    await run("run-1", "2024-01-31", ["customer_rfm", "customer_base"]);

    expect(updateTables(before)).toEqual(["customer_rfm_latest", "customer_base_latest"]);
    // After the partitions: a latest table never shows an as-of whose partition is not pointed yet.
    const operations = glueFake.operations().slice(before);
    expect(operations.lastIndexOf("CreatePartition")).toBeLessThan(operations.indexOf("UpdateTable"));
    expect(await latestSees("customer_rfm")).toEqual({
      asOf: "2024-01-31",
      files: { "part-0": "run-1 2024-01-31" },
    });
    expect(glueFake.projected(db, "customer_base_latest").location).toBe(
      runPartition("run-1", "customer_base", "2024-01-31"),
    );
    // UpdateTable replaces the whole table: columns, partition key, formats and location come back as they
    // were; only the projected date and the template changed.
    const now = glueFake.tableInput(db, "customer_rfm_latest");
    expect(now).toEqual({
      ...declared,
      Parameters: {
        ...declared?.Parameters,
        "projection.as_of.range": "2024-01-31,2024-01-31",
        "storage.location.template": `${uri("models/customer_rfm/run=run-1/")}as_of=\${as_of}/`,
      },
    });
    expect(glueFake.calls.find((c) => c.operation === "UpdateTable")?.input.SkipArchive).toBe(true);
    // The model tables themselves are not changed.
    expect(updateTables(0).filter((name) => !name.endsWith("_latest"))).toEqual([]);
  });

  it("stays for a re-score of an older date and for a run as of a date no later than a succeeded one; moves for the same date and a later one", async () => {
    await run("run-1", "2024-01-31", ["m"]);
    let before = glueFake.calls.length;
    await run("run-old", "2024-01-15", ["m"]);
    expect(updateTables(before)).toEqual([]);
    expect(await latestSees("m")).toEqual({ asOf: "2024-01-31", files: { "part-0": "run-1 2024-01-31" } });
    // The older date is published all the same.
    expect(await readerSees("m", "2024-01-15")).toEqual({ "part-0": "run-old 2024-01-15" });

    // A re-score of the latest date replaces its partition, and the latest table follows.
    await run("run-again", "2024-01-31", ["m"]);
    expect(await latestSees("m")).toEqual({
      asOf: "2024-01-31",
      files: { "part-0": "run-again 2024-01-31" },
    });

    // A failed run as of a later date does not count as the greatest.
    await outputs().writeRunRecord(runRecord("run-failed", "2024-03-31", "failed"));
    before = glueFake.calls.length;
    await run("run-feb", "2024-02-29", ["m"]);
    expect(updateTables(before)).toEqual(["m_latest"]);
    expect(await latestSees("m")).toEqual({ asOf: "2024-02-29", files: { "part-0": "run-feb 2024-02-29" } });
  });

  it("is rolled forward from the journal when a run dies between the partitions and the latest tables", async () => {
    await run("run-1", "2024-01-31", ["customer_rfm", "customer_base"]);
    await stage("run-2", "customer_rfm", "2024-02-29", { "part-0": "run-2" });
    await stage("run-2", "customer_base", "2024-02-29", { "part-0": "run-2" });
    glueFake.failNext("UpdateTable", "InternalServiceException");
    await expect(outputs().publish("run-2", "2024-02-29", ["customer_rfm", "customer_base"])).rejects.toThrow(
      `Glue UpdateTable failed for ${db}.customer_rfm_latest`,
    );
    // The partitions are pointed, the latest tables are not: the journal says they are to be.
    expect(await readerSees("customer_rfm", "2024-02-29")).toEqual({ "part-0": "run-2" });
    expect((await latestSees("customer_rfm")).asOf).toBe("2024-01-31");
    const journal = JSON.parse(text(await lake.get(MODEL_LAYOUT.publishJournal("run-2"))) ?? "{}");
    expect(journal.latest).toEqual(["customer_rfm", "customer_base"]);

    const before = glueFake.calls.length;
    await outputs().recover("run-3");
    expect(updateTables(before)).toEqual(["customer_rfm_latest", "customer_base_latest"]);
    for (const model of ["customer_rfm", "customer_base"]) {
      expect(await latestSees(model)).toEqual({ asOf: "2024-02-29", files: { "part-0": "run-2" } });
    }
    expect(await keys("runs/staging/")).toEqual([]);
  });

  it("rolls a journal written before the latest tables forward without moving them", async () => {
    await stage("run-old", "m", "2024-01-31", { p: "x" });
    await lake.put(
      MODEL_LAYOUT.publishJournal("run-old"),
      JSON.stringify({
        run_id: "run-old",
        as_of: "2024-01-31",
        partitions: [{ model: "m", location: runPartition("run-old", "m", "2024-01-31") }],
      }),
    );
    const before = glueFake.calls.length;
    await outputs().recover("run-now");
    expect(glueFake.partitions(db, "m")).toEqual({
      "2024-01-31": runPartition("run-old", "m", "2024-01-31"),
    });
    expect(updateTables(before)).toEqual([]);
  });

  it("runs delete points each latest table at the greatest as-of left, before removing the partitions, and at the placeholder when none is left", async () => {
    await run("run-a", "2024-01-31", ["customer_rfm", "customer_base"]);
    await run("run-b", "2024-02-29", ["customer_rfm", "customer_base"]);
    expect((await latestSees("customer_rfm")).asOf).toBe("2024-02-29");

    const before = glueFake.calls.length;
    const deleted = await deletePublishedAsOf(outputs(), "2024-02-29");
    expect(deleted).toEqual({
      asOf: "2024-02-29",
      models: ["customer_base", "customer_rfm"],
      runs: ["run-b"],
      latest: "2024-01-31",
    });
    for (const model of ["customer_rfm", "customer_base"]) {
      expect(await latestSees(model)).toEqual({
        asOf: "2024-01-31",
        files: { "part-0": "run-a 2024-01-31" },
      });
      expect(glueFake.partitions(db, model)).toEqual({
        "2024-01-31": runPartition("run-a", model, "2024-01-31"),
      });
    }
    const operations = glueFake.operations().slice(before);
    expect(operations.lastIndexOf("UpdateTable")).toBeLessThan(operations.indexOf("DeletePartition"));
    expect((await outputs().readRunRecord("run-b"))?.status).toBe("deleted");
    // The files stay for queries that planned against them, until the sweep's grace period is over.
    expect(await keys("models/customer_rfm/run=run-b/")).toEqual([
      "models/customer_rfm/run=run-b/as_of=2024-02-29/_retired",
      "models/customer_rfm/run=run-b/as_of=2024-02-29/part-0",
    ]);

    // Deleting an older as-of leaves the latest tables where they are: no call.
    await run("run-c", "2024-03-31", ["customer_rfm", "customer_base"]);
    let since = glueFake.calls.length;
    await deletePublishedAsOf(outputs(), "2024-01-31");
    expect(updateTables(since)).toEqual([]);
    expect((await latestSees("customer_rfm")).asOf).toBe("2024-03-31");

    since = glueFake.calls.length;
    await deletePublishedAsOf(outputs(), "2024-03-31");
    expect(updateTables(since)).toEqual(["customer_base_latest", "customer_rfm_latest"]);
    for (const model of ["customer_rfm", "customer_base"]) {
      expect(await latestSees(model)).toEqual({ asOf: "1970-01-01", files: {} });
      expect(glueFake.partitions(db, model)).toEqual({});
    }
  });

  it("explains a model whose latest table the stack did not declare, after publishing its partition", async () => {
    glueFake.table(db, "no_latest", uri("models/no_latest/"));
    await stage("run-1", "no_latest", "2024-01-31", { p: "x" });
    await expect(outputs().publish("run-1", "2024-01-31", ["no_latest"])).rejects.toThrow(
      new RegExp(`The Glue table ${db}\\.no_latest_latest does not exist.*ADR 0014.*cdk deploy`),
    );
    expect(glueFake.partitions(db, "no_latest")).toEqual({
      "2024-01-31": runPartition("run-1", "no_latest", "2024-01-31"),
    });
  });
});
