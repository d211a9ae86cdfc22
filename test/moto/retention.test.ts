/**
 * The retention sweep (issue 18, item 6; functions/core/runner/retention.ts) on moto's S3 and Glue: the model
 * tables and their `<model>_latest` tables as the stack declares them, seven published as-ofs, and a sweep that
 * spares what is pointed at (each latest table's as-of, a pinned run's, the month-end and the last N) and removes
 * the rest through the runs-delete path: Glue partitions unregistered, their run records marked deleted, their
 * files marked retired and deleted by the publish sweep once the grace period has passed.
 */
import {
  CreateDatabaseCommand,
  CreateTableCommand,
  GetPartitionsCommand,
  GetTableCommand,
  GlueClient,
  type TableInput,
} from "@aws-sdk/client-glue";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LATEST_TABLE } from "../../functions/core/catalogue/latest-tables.ts";
import { MODEL_LAYOUT } from "../../functions/core/catalogue/layout.ts";
import { loadCatalogueModels } from "../../functions/core/catalogue/stages.ts";
import { parseConfig } from "../../functions/core/config.ts";
import { sweepRetention } from "../../functions/core/runner/retention.ts";
import type { RunRecord } from "../../functions/core/runner/runs.ts";
import { GluePartitions } from "../../functions/storage/glue-partitions.ts";
import { S3ObjectStore } from "../../functions/storage/s3.ts";
import { S3ModelOutputs } from "../../functions/storage/s3-outputs.ts";
import { latestTable, modelOutputTables, tableInput } from "../../infra/constructs/lake-catalog.ts";
import { apiCase } from "../helpers/glue-fake.ts";
import { runRecord } from "../helpers/run-record.ts";
import { type MotoServer, startMoto } from "./moto-server.ts";

const BUCKET = "crmlake-retention";
const DB = "crmlake";
const MODELS = ["customer_rfm", "pyramid_summary"] as const;
const AS_OFS = [
  "2024-01-29",
  "2024-01-30",
  "2024-01-31",
  "2024-02-01",
  "2024-02-02",
  "2024-02-03",
  "2024-02-04",
] as const;

let moto: MotoServer;
let s3: S3Client;
let glue: GlueClient;
let lake: S3ObjectStore;

const uri = (key: string) => `s3://${BUCKET}/${key}`;
const runOf = (asOf: string) => `run-${asOf}`;
const location = (model: string, asOf: string) =>
  uri(`${MODEL_LAYOUT.runTable(runOf(asOf), model)}as_of=${asOf}/`);
const outputs = (now?: Date) =>
  new S3ModelOutputs({
    bucket: BUCKET,
    client: s3,
    partitions: new GluePartitions({ client: glue, database: DB }),
    ...(now === undefined ? {} : { now: () => now }),
  });

function record(runId: string, asOf: string): RunRecord {
  return runRecord({
    run_id: runId,
    as_of: asOf,
    status: "succeeded",
    engine: "athena",
    started_at: `${asOf} 03:00:00.000`,
    finished_at: `${asOf} 03:10:00.000`,
    duration_ms: 600_000,
  });
}

/** As-of → location of every registered partition of the table, as a reader's Glue client sees them. */
async function partitions(model: string): Promise<Record<string, string>> {
  const response = await glue.send(new GetPartitionsCommand({ DatabaseName: DB, TableName: model }));
  return Object.fromEntries(
    (response.Partitions ?? []).map((p) => [p.Values?.[0] ?? "", p.StorageDescriptor?.Location ?? ""]),
  );
}

/** The as-of and location template a latest table projects (ADR 0014). */
async function latest(model: string): Promise<{ asOf: string; template: string }> {
  const table = (await glue.send(new GetTableCommand({ DatabaseName: DB, Name: LATEST_TABLE.name(model) })))
    .Table;
  const range = table?.Parameters?.[LATEST_TABLE.rangeParameter] ?? "";
  return {
    asOf: range.split(",")[0] ?? "",
    template: table?.Parameters?.[LATEST_TABLE.templateParameter] ?? "",
  };
}

beforeAll(async () => {
  moto = await startMoto();
  const client = {
    endpoint: moto.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
  };
  s3 = new S3Client({ ...client, forcePathStyle: true });
  glue = new GlueClient(client);
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
  // One scheduled run a day: each publishes both models and is recorded succeeded after its publish, as the
  // runner does; each publish moves the latest tables to its as-of.
  for (const asOf of AS_OFS) {
    for (const model of MODELS) {
      await lake.put(`${MODEL_LAYOUT.runTable(runOf(asOf), model)}as_of=${asOf}/part-0`, `${model} ${asOf}`);
    }
    await outputs().publish(runOf(asOf), asOf, [...MODELS]);
    await outputs().writeRunRecord(record(runOf(asOf), asOf));
  }
});

afterAll(async () => {
  s3?.destroy();
  glue?.destroy();
  await moto?.stop();
});

describe("the retention sweep on moto's S3 and Glue", () => {
  it("spares each latest table's as-of, a pinned run's, the month-end and the last N, and removes the rest", async () => {
    for (const model of MODELS) expect(Object.keys(await partitions(model)).sort()).toEqual([...AS_OFS]);
    expect((await latest("customer_rfm")).asOf).toBe("2024-02-04");
    // A latest table that shows an older as-of than the greatest (here pointed by hand, as a deploy that
    // reset it and a later re-point could leave it): what it shows must stay.
    await new GluePartitions({ client: glue, database: DB }).pointLatest("pyramid_summary", {
      asOf: "2024-02-01",
      location: location("pyramid_summary", "2024-02-01"),
    });
    const { retention } = parseConfig(
      { retention: { keep_last: 2, keep_month_ends: 1, keep_runs: [runOf("2024-01-29")] } },
      "test",
    );

    const dry = await sweepRetention(outputs(), retention, { dryRun: true });
    expect(dry.removed).toEqual([]);
    expect(dry.plan.remove.map((r) => r.asOf)).toEqual(["2024-01-30", "2024-02-02"]);
    for (const model of MODELS) expect(Object.keys(await partitions(model))).toHaveLength(AS_OFS.length);

    const sweep = await sweepRetention(outputs(), retention, { command: "test" });

    expect(sweep.removed).toEqual(["2024-01-30", "2024-02-02"]);
    expect(sweep.plan.keep).toEqual([
      { asOf: "2024-01-29", reasons: ["pinned_run"], runs: [runOf("2024-01-29")] },
      // January is closed: its greatest as-of is its last day.
      { asOf: "2024-01-31", reasons: ["month_end"], runs: [] },
      { asOf: "2024-02-01", reasons: ["latest_table"], runs: [] },
      { asOf: "2024-02-03", reasons: ["last"], runs: [] },
      { asOf: "2024-02-04", reasons: ["latest", "latest_table", "last"], runs: [] },
    ]);
    const kept = ["2024-01-29", "2024-01-31", "2024-02-01", "2024-02-03", "2024-02-04"];
    for (const model of MODELS) {
      expect(await partitions(model)).toEqual(Object.fromEntries(kept.map((d) => [d, location(model, d)])));
    }
    // The latest tables did not move: customer_rfm's shows the greatest as-of, pyramid_summary's the one it was
    // pointed at, and both their files are there.
    expect(await latest("customer_rfm")).toEqual({
      asOf: "2024-02-04",
      template: LATEST_TABLE.template(location("customer_rfm", "2024-02-04"), "2024-02-04"),
    });
    expect((await latest("pyramid_summary")).asOf).toBe("2024-02-01");
    expect(
      await lake.get(
        `${MODEL_LAYOUT.runTable(runOf("2024-02-01"), "pyramid_summary")}as_of=2024-02-01/part-0`,
      ),
    ).toBeDefined();
    // The removed as-ofs' runs are marked deleted, with the sweep named; the others still succeeded.
    const records = new Map((await outputs().listRunRecords()).map((r) => [r.as_of, r]));
    for (const asOf of AS_OFS) {
      const removed = sweep.removed.includes(asOf);
      expect(records.get(asOf)?.status, asOf).toBe(removed ? "deleted" : "succeeded");
      if (removed)
        expect(records.get(asOf)?.error).toMatch(/removed by the retention sweep on .* \(test: keep_last 2/);
    }
    // Nothing holds the lock.
    expect(await lake.get(MODEL_LAYOUT.lock)).toBeUndefined();

    // The files of the removed as-ofs are marked retired; the publish sweep deletes them after its grace
    // period (a query may have planned against them), and only them.
    for (const model of MODELS) {
      for (const asOf of sweep.removed) {
        expect(
          await lake.get(`${MODEL_LAYOUT.runTable(runOf(asOf), model)}as_of=${asOf}/_retired`),
        ).toBeDefined();
      }
    }
    const later = new Date(Date.now() + 2 * 24 * 60 * 60 * 1000);
    await outputs(later).sweep([...MODELS], "none");
    const left = (await lake.list(MODEL_LAYOUT.modelsPrefix)).map((o) => o.key).sort();
    expect(left).toEqual(
      MODELS.flatMap((model) =>
        kept.map((asOf) => `${MODEL_LAYOUT.runTable(runOf(asOf), model)}as_of=${asOf}/part-0`),
      ).sort(),
    );

    // A second sweep finds nothing more to remove.
    expect((await sweepRetention(outputs(), retention)).removed).toEqual([]);
  });
});
