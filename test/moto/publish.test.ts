/**
 * Publishing on S3 (S3ModelOutputs + GluePartitions, docs/adr/0006) against moto, a second implementation of
 * the S3 and Glue APIs written by others, so that the behaviour the e2e tests show on s3rver and the
 * project's Glue fake is not an artefact of those fakes. The model tables and their `<model>_latest` tables are
 * created from the stack's own table specs (infra/constructs/lake-catalog.ts), so moto also has to accept the
 * TableInput the stack deploys, and give back through UpdateTable the parameters a latest table is switched by
 * (ADR 0014).
 */

import {
  CreateDatabaseCommand,
  CreateTableCommand,
  GetPartitionCommand,
  GetTableCommand,
  GlueClient,
  type TableInput,
  UpdateTableCommand,
} from "@aws-sdk/client-glue";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LATEST_TABLE } from "../../functions/core/catalogue/latest-tables.ts";
import { MODEL_LAYOUT } from "../../functions/core/catalogue/layout.ts";
import { loadCatalogueModels } from "../../functions/core/catalogue/stages.ts";
import { RunLockedError } from "../../functions/core/errors.ts";
import { GluePartitions } from "../../functions/storage/glue-partitions.ts";
import { S3ObjectStore } from "../../functions/storage/s3.ts";
import { S3ModelOutputs } from "../../functions/storage/s3-outputs.ts";
import { latestTable, modelOutputTables, tableInput } from "../../infra/constructs/lake-catalog.ts";
import { apiCase } from "../helpers/glue-fake.ts";
import { type MotoServer, startMoto } from "./moto-server.ts";

const BUCKET = "crmlake-lake";
const DB = "crmlake";
const AS_OF = "2024-01-31";
const MODELS = ["customer_rfm", "pyramid_summary"] as const;

let moto: MotoServer;
let s3: S3Client;
let glue: GlueClient;
/** The reader's own client: a reader is another process, and this one is not watched by the tests. */
let readerGlue: GlueClient;
let lake: S3ObjectStore;

const clientConfig = () => ({
  endpoint: moto.endpoint,
  region: "us-east-1",
  credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
});

const uri = (key: string) => `s3://${BUCKET}/${key}`;
const outputs = (options: { now?: () => Date } = {}) =>
  new S3ModelOutputs({
    bucket: BUCKET,
    client: s3,
    partitions: new GluePartitions({ client: glue, database: DB }),
    ...options,
  });

async function stage(runId: string, model: string, files: Record<string, string>): Promise<void> {
  for (const [name, body] of Object.entries(files)) {
    await lake.put(`${MODEL_LAYOUT.runTable(runId, model)}as_of=${AS_OF}/${name}`, body);
  }
}

async function partitionLocation(model: string): Promise<string | undefined> {
  const response = await readerGlue.send(
    new GetPartitionCommand({ DatabaseName: DB, TableName: model, PartitionValues: [AS_OF] }),
  );
  return response.Partition?.StorageDescriptor?.Location;
}

/** What Athena reads for the partition: the objects under the location Glue holds for it. */
async function readerSees(model: string): Promise<string[]> {
  const location = await partitionLocation(model).catch(() => undefined);
  if (location === undefined) return [];
  const prefix = location.slice(uri("").length);
  return (await lake.list(prefix)).map((o) => o.key.slice(prefix.length));
}

beforeAll(async () => {
  moto = await startMoto();
  const client = clientConfig();
  s3 = new S3Client({ ...client, forcePathStyle: true });
  glue = new GlueClient(client);
  readerGlue = new GlueClient(client);
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  lake = new S3ObjectStore({ bucket: BUCKET, client: s3 });
  await glue.send(new CreateDatabaseCommand({ DatabaseInput: { Name: DB } }));
  const specs = modelOutputTables(await loadCatalogueModels("sql")).filter((t) =>
    (MODELS as readonly string[]).includes(t.name),
  );
  for (const spec of [...specs, ...specs.map(latestTable)]) {
    await glue.send(
      new CreateTableCommand({
        DatabaseName: DB,
        TableInput: apiCase(tableInput(spec, BUCKET)) as TableInput,
      }),
    );
  }
});

afterAll(async () => {
  s3?.destroy();
  glue?.destroy();
  readerGlue?.destroy();
  await moto?.stop();
});

describe("publishing on moto's S3 and Glue", () => {
  it("accepts the stack's model tables, and publishes by pointing each partition at the run, with the table's columns", async () => {
    for (const model of MODELS) await stage("run-1", model, { "part-0": "run 1" });
    await outputs().publish("run-1", AS_OF, [...MODELS]);
    for (const model of MODELS) {
      expect(await partitionLocation(model)).toBe(
        uri(`${MODEL_LAYOUT.runTable("run-1", model)}as_of=${AS_OF}/`),
      );
    }

    await stage("run-2", "customer_rfm", { "part-0": "run 2", "part-1": "run 2" });
    await outputs().publish("run-2", AS_OF, ["customer_rfm"]);

    expect(await partitionLocation("customer_rfm")).toBe(
      uri(`${MODEL_LAYOUT.runTable("run-2", "customer_rfm")}as_of=${AS_OF}/`),
    );
    expect(await readerSees("customer_rfm")).toEqual(["part-0", "part-1"]);
    const table = await glue.send(new GetTableCommand({ DatabaseName: DB, Name: "customer_rfm" }));
    const partition = await glue.send(
      new GetPartitionCommand({ DatabaseName: DB, TableName: "customer_rfm", PartitionValues: [AS_OF] }),
    );
    expect(partition.Partition?.StorageDescriptor?.Columns).toEqual(table.Table?.StorageDescriptor?.Columns);
    // As customer_rfm's header declares it (money sums are decimal(38,2): docs/contracts.md).
    expect(table.Table?.StorageDescriptor?.Columns?.find((c) => c.Name === "monetary")?.Type).toBe(
      "decimal(38,2)",
    );
    // The replaced files stay for queries that planned against them, until the sweep's grace period ends,
    // counted from the _retired marker publish leaves there.
    expect((await lake.list(MODEL_LAYOUT.runTable("run-1", "customer_rfm"))).map((o) => o.key)).toEqual([
      `${MODEL_LAYOUT.runTable("run-1", "customer_rfm")}as_of=${AS_OF}/_retired`,
      `${MODEL_LAYOUT.runTable("run-1", "customer_rfm")}as_of=${AS_OF}/part-0`,
    ]);
  });

  it("never shows a reader a mix of two runs while it publishes", async () => {
    await stage("run-3", "pyramid_summary", { "part-a": "run 3", "part-b": "run 3", "part-c": "run 3" });
    const seen: string[][] = [];
    glue.middlewareStack.add(
      (next) => async (args) => {
        seen.push(await readerSees("pyramid_summary"));
        const result = await next(args);
        seen.push(await readerSees("pyramid_summary"));
        return result;
      },
      { step: "initialize", name: "readerDuringPublish" },
    );
    try {
      await outputs().publish("run-3", AS_OF, ["pyramid_summary"]);
    } finally {
      glue.middlewareStack.remove("readerDuringPublish");
    }
    expect(seen.length).toBeGreaterThan(2);
    for (const view of seen) expect([["part-0"], ["part-a", "part-b", "part-c"]]).toContainEqual(view);
    expect(seen.at(-1)).toEqual(["part-a", "part-b", "part-c"]);
  });

  it("sweeps replaced run partitions after the grace period, using moto's LastModified", async () => {
    const later = outputs({ now: () => new Date(Date.now() + 25 * 60 * 60 * 1000) });
    const swept = await later.sweep(["customer_rfm", "pyramid_summary"], "run-9");
    expect(swept.sort()).toEqual([
      `${MODEL_LAYOUT.runTable("run-1", "customer_rfm")}as_of=${AS_OF}/`,
      `${MODEL_LAYOUT.runTable("run-1", "pyramid_summary")}as_of=${AS_OF}/`,
    ]);
    expect(await readerSees("customer_rfm")).toEqual(["part-0", "part-1"]);
  });

  it("loses a lock race by S3's own conditional write: moto answers 412 to If-None-Match, and the winner is named", async () => {
    const racing = new S3Client({ ...clientConfig(), forcePathStyle: true });
    // Another run creates the lock between our read (none there) and our conditional PutObject.
    racing.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { Key?: string; IfNoneMatch?: string };
        if (input.IfNoneMatch === "*" && input.Key === MODEL_LAYOUT.lock) {
          await lake.put(
            MODEL_LAYOUT.lock,
            JSON.stringify({ run_id: "winner", host: "elsewhere", started_at: new Date().toISOString() }),
          );
        }
        return next(args);
      },
      { step: "initialize", name: "anotherRunWins" },
    );
    try {
      const loser = new S3ModelOutputs({
        bucket: BUCKET,
        client: racing,
        partitions: new GluePartitions({ client: glue, database: DB }),
      });
      const attempt = loser.lock("loser");
      await expect(attempt).rejects.toBeInstanceOf(RunLockedError);
      await expect(attempt).rejects.toThrow(/run winner \(on elsewhere/);
    } finally {
      racing.destroy();
      await lake.delete([MODEL_LAYOUT.lock]);
    }
  });

  it("keeps a latest table's parameters through UpdateTable: the run's as-of and template, the stack's columns and projection", async () => {
    // The first test published run-1 as of AS_OF with no run record: the greatest as-of, so the latest too.
    const table = (
      await readerGlue.send(new GetTableCommand({ DatabaseName: DB, Name: "pyramid_summary_latest" }))
    ).Table;
    const model = (await readerGlue.send(new GetTableCommand({ DatabaseName: DB, Name: "pyramid_summary" })))
      .Table;
    expect(table?.Parameters).toMatchObject({
      "projection.enabled": "true",
      "projection.as_of.type": "date",
      "projection.as_of.format": "yyyy-MM-dd",
      "projection.as_of.interval": "1",
      "projection.as_of.interval.unit": "DAYS",
      [LATEST_TABLE.rangeParameter]: `${AS_OF},${AS_OF}`,
    });
    // run-3 re-published pyramid_summary as of AS_OF (the reader test above): the latest follows it.
    expect(table?.Parameters?.[LATEST_TABLE.templateParameter]).toBe(
      `${uri(MODEL_LAYOUT.runTable("run-3", "pyramid_summary"))}as_of=\${as_of}/`,
    );
    expect(table?.StorageDescriptor?.Columns).toEqual(model?.StorageDescriptor?.Columns);
    expect(table?.PartitionKeys?.map((k) => [k.Name, k.Type])).toEqual([["as_of", "date"]]);
    expect(table?.StorageDescriptor?.Location).toBe(uri(MODEL_LAYOUT.latestPlaceholder("pyramid_summary")));
  });

  it("switches a latest table with one UpdateTable: a reader between and after the calls sees one complete as-of, never a mix", async () => {
    const NEXT = "2024-02-29";
    /** What Athena reads of pyramid_summary_latest: its table's properties give the one partition. */
    const latestSees = async (): Promise<{ asOf: string; files: string[] }> => {
      const response = await readerGlue.send(
        new GetTableCommand({ DatabaseName: DB, Name: "pyramid_summary_latest" }),
      );
      const parameters = response.Table?.Parameters ?? {};
      const [asOf = "", to] = (parameters[LATEST_TABLE.rangeParameter] ?? "").split(",");
      expect(to).toBe(asOf);
      const template = parameters[LATEST_TABLE.templateParameter] ?? "";
      const placeholder = `\${as_of}`;
      expect(template).toContain(placeholder);
      const prefix = template.replace(placeholder, asOf).slice(uri("").length);
      return { asOf, files: (await lake.list(prefix)).map((o) => o.key.slice(prefix.length)) };
    };
    const before = await latestSees();
    expect(before).toEqual({ asOf: AS_OF, files: ["part-a", "part-b", "part-c"] });
    for (const [name, body] of Object.entries({ "next-1": "x", "next-2": "x" })) {
      await lake.put(`${MODEL_LAYOUT.runTable("run-6", "pyramid_summary")}as_of=${NEXT}/${name}`, body);
    }
    const seen: { asOf: string; files: string[] }[] = [];
    const updates: string[] = [];
    glue.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { TableInput?: { Name?: string } };
        if (input.TableInput?.Name !== undefined) updates.push(input.TableInput.Name);
        seen.push(await latestSees());
        const result = await next(args);
        seen.push(await latestSees());
        return result;
      },
      { step: "initialize", name: "latestReaderDuringPublish" },
    );
    try {
      await outputs().publish("run-6", NEXT, ["pyramid_summary"]);
    } finally {
      glue.middlewareStack.remove("latestReaderDuringPublish");
    }
    const after = { asOf: NEXT, files: ["next-1", "next-2"] };
    expect(updates).toEqual(["pyramid_summary_latest"]);
    expect(seen.length).toBeGreaterThan(2);
    for (const view of seen) expect([before, after]).toContainEqual(view);
    expect(seen.at(-1)).toEqual(after);
    const flip = seen.findIndex((v) => v.asOf === NEXT);
    expect(flip).toBeGreaterThan(0);
    expect(seen.slice(flip).every((v) => v.asOf === NEXT)).toBe(true);
    // The model table keeps both as-ofs; only its latest table moved.
    const model = await readerGlue.send(
      new GetPartitionCommand({ DatabaseName: DB, TableName: "pyramid_summary", PartitionValues: [AS_OF] }),
    );
    expect(model.Partition?.StorageDescriptor?.Location).toBe(
      uri(`${MODEL_LAYOUT.runTable("run-3", "pyramid_summary")}as_of=${AS_OF}/`),
    );
  });

  it("repairs a latest table a deploy reset, from a run of an older as-of, with one UpdateTable; then sends none", async () => {
    const NEXT = "2024-02-29";
    // The switch test above published run-6 as of NEXT: recorded as the greatest succeeded as-of.
    const model = (name: string, status: "succeeded" | "failed") => ({
      model: name,
      layer: "marts",
      materialized: "table",
      status,
      started_at: null,
      finished_at: null,
      duration_ms: null,
      rows: 1,
      bytes_scanned: null,
      cost_usd: null,
      error: null,
    });
    const record = (runId: string, asOf: string, models: ReturnType<typeof model>[]) => ({
      run_id: runId,
      as_of: asOf,
      status: "succeeded" as const,
      engine: "athena",
      started_at: "2024-03-01 03:00:00.000",
      finished_at: "2024-03-01 03:10:00.000",
      duration_ms: 600_000,
      models_requested: null,
      config: "{}",
      models,
      bytes_scanned: null,
      cost_usd: null,
      error: null,
    });
    await outputs().writeRunRecord(record("run-6", NEXT, [model("pyramid_summary", "succeeded")]));
    // A later as-of in which pyramid_summary failed does not count for it.
    await outputs().writeRunRecord(record("run-8", "2024-03-31", [model("pyramid_summary", "failed")]));
    // `cdk deploy` redeclares the latest table as the stack declares it: at its placeholder.
    const spec = modelOutputTables(await loadCatalogueModels("sql")).find(
      (t) => t.name === "pyramid_summary",
    );
    if (spec === undefined) throw new Error("no pyramid_summary table spec");
    await glue.send(
      new UpdateTableCommand({
        DatabaseName: DB,
        TableInput: apiCase(tableInput(latestTable(spec), BUCKET)) as TableInput,
      }),
    );
    const latestShows = async () => {
      const parameters =
        (await readerGlue.send(new GetTableCommand({ DatabaseName: DB, Name: "pyramid_summary_latest" })))
          .Table?.Parameters ?? {};
      return [parameters[LATEST_TABLE.rangeParameter], parameters[LATEST_TABLE.templateParameter]];
    };
    expect((await latestShows())[0]).toBe(`${LATEST_TABLE.placeholderAsOf},${LATEST_TABLE.placeholderAsOf}`);

    // A re-score of the older as-of publishes it and leaves the latest alone; the repair re-points it.
    await stage("run-7", "pyramid_summary", { "part-0": "run 7" });
    const calls: string[] = [];
    glue.middlewareStack.add(
      (next) => async (args) => {
        calls.push((args.input as { TableInput?: { Name?: string } }).TableInput?.Name ?? "read");
        return next(args);
      },
      { step: "initialize", name: "countUpdates" },
    );
    try {
      await outputs().publish("run-7", AS_OF, ["pyramid_summary"]);
      expect(calls.filter((c) => c !== "read")).toEqual([]);
      expect(await outputs().repairLatest("run-7", AS_OF, ["pyramid_summary"])).toEqual([
        `pyramid_summary_latest → ${NEXT}`,
      ]);
      expect(calls.filter((c) => c !== "read")).toEqual(["pyramid_summary_latest"]);
      expect(await latestShows()).toEqual([
        `${NEXT},${NEXT}`,
        `${uri(MODEL_LAYOUT.runTable("run-6", "pyramid_summary"))}as_of=\${as_of}/`,
      ]);
      // Already right: reads only.
      calls.length = 0;
      expect(await outputs().repairLatest("run-9", AS_OF, ["pyramid_summary"])).toEqual([]);
      expect(calls.filter((c) => c !== "read")).toEqual([]);
    } finally {
      glue.middlewareStack.remove("countUpdates");
    }
  });

  it("explains a model whose Glue table the stack did not declare", async () => {
    await stage("run-4", "not_deployed", { "part-0": "x" });
    await expect(outputs().publish("run-4", AS_OF, ["not_deployed"])).rejects.toThrow(
      `The Glue table ${DB}.not_deployed does not exist, so model not_deployed cannot be published`,
    );
  });
});
