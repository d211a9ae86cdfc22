/**
 * `crmlake aws smoke-test --stack NAME` (issue 18, item 8) against moto: a CloudFormation stack whose outputs
 * name a landing bucket, a lake bucket, a Glue database with every model table and its latest table, the
 * analysts' workgroup and a scoring Lambda. moto stores and notifies but runs no Lambda code (its Lambda needs
 * Docker) and no Athena SQL, so the steps behind those are driven here by the real pipeline:
 *
 * - ingest: the landing bucket notifies an SQS queue (S3 event notifications, as the stack's do); this test
 *   receives the messages and hands them to the real ingest handler (functions/ingest.ts) in this process,
 *   which reads the file from moto's landing bucket and writes the drop into moto's lake bucket;
 * - scoring: the smoke test invokes moto's scoring Lambda (accepted, nothing runs); this test then runs the
 *   real models with DuckDB (runLocal) over a copy of what ingest wrote into the lake bucket, under the
 *   invocation's run id, and publishes each table into the lake bucket through moto's Glue partitions and
 *   latest tables (S3ModelOutputs.publish, as the scoring Lambda does) with its run record;
 * - Athena: the smoke test's own SQL runs in DuckDB over the Parquet files that the Glue table
 *   customer_scores_latest points at, with its as_of from the table's projection, as Athena would read it.
 *
 * Nothing is canned: a drop ingest refuses, a run that publishes nothing, a latest table left unmoved or a row
 * count that differs from the sample fails the test. Nothing here has run on AWS.
 */

import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import {
  CloudFormationClient,
  CreateStackCommand,
  waitUntilStackCreateComplete,
} from "@aws-sdk/client-cloudformation";
import {
  CreateDatabaseCommand,
  CreateTableCommand,
  GetTableCommand,
  GlueClient,
  type TableInput,
} from "@aws-sdk/client-glue";
import { CreateBucketCommand, PutBucketNotificationConfigurationCommand, S3Client } from "@aws-sdk/client-s3";
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import type { SQSEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { openStack, type StackBackend } from "../../functions/backends/aws-stack.ts";
import { runLocal } from "../../functions/backends/local.ts";
import { main } from "../../functions/cli/main.ts";
import { LATEST_TABLE } from "../../functions/core/catalogue/latest-tables.ts";
import { MODEL_LAYOUT } from "../../functions/core/catalogue/layout.ts";
import { loadCatalogueModels } from "../../functions/core/catalogue/stages.ts";
import { defaultConfig } from "../../functions/core/config.ts";
import { errorMessage } from "../../functions/core/errors.ts";
import { timestampText } from "../../functions/core/runner/runs.ts";
import {
  lakeContents,
  SMOKE_AS_OF,
  SmokeTestError,
  type SmokeTestTarget,
  smokeTest,
} from "../../functions/core/runner/smoke-test.ts";
import { openDuckDB, sqlString } from "../../functions/engines/duckdb/session.ts";
import { GluePartitions } from "../../functions/storage/glue-partitions.ts";
import { LocalModelOutputs } from "../../functions/storage/local-outputs.ts";
import { S3ObjectStore } from "../../functions/storage/s3.ts";
import { S3ModelOutputs } from "../../functions/storage/s3-outputs.ts";
import { latestTable, modelOutputTables, tableInput } from "../../infra/constructs/lake-catalog.ts";
import { apiCase } from "../helpers/glue-fake.ts";
import { runRecord } from "../helpers/run-record.ts";
import { type MotoServer, startMoto } from "./moto-server.ts";
import { MOTO_CLI_ENV, setEnv, stackTemplate } from "./stack-fixture.ts";

const STACK = "Crmlake-smoke";
const LANDING = "crmlake-smoke-landing";
const LAKE_BUCKET = "crmlake-smoke-lake";
const DB = "crmlake_smoke";

let moto: MotoServer;
let s3: S3Client;
let glue: GlueClient;
let sqs: SQSClient;
let cloudFormation: CloudFormationClient;
let queueUrl = "";
let scratch = "";
let ingestHandler: (event: SQSEvent) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>;
const savedEnv: Record<string, string | undefined> = {};

const ENV: Record<string, string | undefined> = {
  ...MOTO_CLI_ENV,
  // The ingest handler's environment, as the stack sets it.
  LAKE_BUCKET,
  POWERTOOLS_METRICS_DISABLED: "true",
  POWERTOOLS_LOG_LEVEL: "ERROR",
};

/** A template like the stack's where the CLI is concerned: its outputs, and a scoring Lambda to invoke. */
const TEMPLATE = stackTemplate({
  lakeBucket: LAKE_BUCKET,
  landingBucket: LANDING,
  database: DB,
  workGroup: "crmlake_smoke",
  analystWorkGroup: "crmlake_smoke_analysts",
});

/** The ingest Lambda's trigger: SQS messages of the landing bucket's notifications, to the real handler. */
async function pumpIngest(): Promise<number> {
  const received = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
  );
  let handled = 0;
  for (const message of received.Messages ?? []) {
    const event = {
      Records: [{ messageId: message.MessageId ?? "", body: message.Body ?? "" }],
    } as unknown as SQSEvent;
    const response = await ingestHandler(event);
    if (response.batchItemFailures.length === 0) {
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
    }
    handled++;
  }
  return handled;
}

/** What the scoring Lambda would do for the run: the real models (DuckDB) over the lake's inputs, published. */
async function scoreLikeTheLambda(runId: string, asOf: string): Promise<void> {
  const lakeDir = await mkdtemp(join(scratch, "score-"));
  const lake = new S3ObjectStore({ bucket: LAKE_BUCKET, client: s3 });
  const outputs = new S3ModelOutputs({
    bucket: LAKE_BUCKET,
    client: s3,
    partitions: new GluePartitions({ client: glue, database: DB }),
  });
  try {
    for (const prefix of ["ledger/", "curated/", "quarantine/"]) {
      for (const { key } of await lake.list(prefix)) {
        const bytes = await lake.get(key);
        if (bytes === undefined) continue;
        await mkdir(dirname(join(lakeDir, key)), { recursive: true });
        await writeFile(join(lakeDir, key), bytes);
      }
    }
    const summary = await runLocal({ lakeDir, config: defaultConfig(), asOf, runId, log: () => {} });
    const tables = summary.models.filter((m) => m.materialized === "table").map((m) => m.model);
    for (const model of tables) {
      const dir = join(lakeDir, "models", model, `as_of=${asOf}`);
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        await lake.putFile(`${MODEL_LAYOUT.runTable(runId, model)}as_of=${asOf}/${name}`, join(dir, name));
      }
    }
    const record = await new LocalModelOutputs(lakeDir).readRunRecord(runId);
    if (record === undefined) throw new Error(`runLocal left no record of ${runId}`);
    await outputs.writeRunRecord({ ...record, status: "running" });
    await outputs.publish(runId, asOf, tables);
    await outputs.writeRunRecord(record);
  } catch (error) {
    const now = timestampText(new Date());
    await outputs.writeRunRecord(
      runRecord({
        run_id: runId,
        as_of: asOf,
        status: "failed",
        started_at: now,
        finished_at: now,
        duration_ms: 0,
        error: `the test's scoring failed: ${errorMessage(error)}`,
      }),
    );
  } finally {
    await rm(lakeDir, { recursive: true, force: true });
  }
}

/**
 * Athena's reading of the smoke test's SQL: DuckDB over the files the Glue table customer_scores_latest
 * projects, resolved as Athena's partition projection does (its one-day as_of range and its location template).
 */
async function queryLikeAthena(sql: string): ReturnType<SmokeTestTarget["query"]> {
  const table = await glue.send(new GetTableCommand({ DatabaseName: DB, Name: "customer_scores_latest" }));
  const parameters = table.Table?.Parameters ?? {};
  const asOf = (parameters[LATEST_TABLE.rangeParameter] ?? "").split(",")[0] ?? "";
  const location = (parameters[LATEST_TABLE.templateParameter] ?? "").replace(`\${as_of}`, asOf);
  const prefix = location.replace(`s3://${LAKE_BUCKET}/`, "");
  const lake = new S3ObjectStore({ bucket: LAKE_BUCKET, client: s3 });
  const dir = await mkdtemp(join(scratch, "athena-"));
  const session = await openDuckDB({ threads: 1, memoryLimit: "256MB" });
  try {
    const files: string[] = [];
    for (const { key } of await lake.list(prefix)) {
      if (!key.endsWith(".parquet")) continue;
      const path = join(dir, `${files.length}.parquet`);
      await lake.getToFile(key, path);
      files.push(path);
    }
    const source =
      files.length === 0
        ? "(SELECT NULL AS customer_id WHERE false)"
        : `read_parquet([${files.map(sqlString).join(", ")}])`;
    await session.connection.run(
      `CREATE VIEW customer_scores_latest AS SELECT *, ${sqlString(asOf)} AS as_of FROM ${source}`,
    );
    const reader = await session.connection.runAndReadAll(sql);
    const rows = reader.getRowObjectsJS() as Record<string, unknown>[];
    return { columns: [], rows, workGroup: "crmlake_smoke_analysts (DuckDB in this test)" } as Awaited<
      ReturnType<SmokeTestTarget["query"]>
    >;
  } finally {
    session.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The stack's backend with Lambda's and Athena's work done as described above. */
function target(backend: StackBackend, scoring: Promise<void>[]): SmokeTestTarget {
  if (backend.landing === undefined) throw new Error("the stack has no landing bucket");
  return {
    name: `stack ${STACK}`,
    lake: backend.lake,
    landing: backend.landing,
    outputs: backend.outputs,
    async rescore(asOf) {
      const invoked = await backend.rescore(asOf);
      expect(invoked.statusCode).toBe(202);
      scoring.push(scoreLikeTheLambda(invoked.runId, asOf));
      return invoked;
    },
    query: queryLikeAthena,
  };
}

beforeAll(async () => {
  moto = await startMoto();
  const config = await fetch(`${moto.endpoint}/moto-api/config`, {
    method: "POST",
    body: JSON.stringify({ lambda: { use_docker: false } }),
  });
  expect(config.ok).toBe(true);
  for (const name of [...Object.keys(ENV), "AWS_ENDPOINT_URL"]) savedEnv[name] = process.env[name];
  setEnv({ ...ENV, AWS_ENDPOINT_URL: moto.endpoint });
  scratch = await mkdtemp(join(tmpdir(), "crmlake-moto-smoke-"));

  const client = {
    endpoint: moto.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
  };
  s3 = new S3Client({ ...client, forcePathStyle: true });
  glue = new GlueClient(client);
  sqs = new SQSClient(client);
  cloudFormation = new CloudFormationClient(client);
  for (const bucket of [LANDING, LAKE_BUCKET]) await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: "crmlake-smoke-ingest" }))).QueueUrl ?? "";
  const queueArn =
    (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] })))
      .Attributes?.QueueArn ?? "";
  await s3.send(
    new PutBucketNotificationConfigurationCommand({
      Bucket: LANDING,
      NotificationConfiguration: {
        QueueConfigurations: [{ QueueArn: queueArn, Events: ["s3:ObjectCreated:*"] }],
      },
    }),
  );
  await glue.send(new CreateDatabaseCommand({ DatabaseInput: { Name: DB } }));
  const specs = modelOutputTables(await loadCatalogueModels("sql"));
  for (const spec of [...specs, ...specs.map(latestTable)]) {
    await glue.send(
      new CreateTableCommand({
        DatabaseName: DB,
        TableInput: apiCase(tableInput(spec, LAKE_BUCKET)) as TableInput,
      }),
    );
  }
  await cloudFormation.send(
    new CreateStackCommand({
      StackName: STACK,
      TemplateBody: JSON.stringify(TEMPLATE),
      Capabilities: ["CAPABILITY_IAM"],
    }),
  );
  await waitUntilStackCreateComplete(
    { client: cloudFormation, maxWaitTime: 60, minDelay: 1, maxDelay: 2 },
    { StackName: STACK },
  );
  // The handler reads LAKE_BUCKET and builds its S3 client when it loads: after the environment is set.
  ingestHandler = (await import("../../functions/ingest.ts")).handler;
}, 120_000);

afterAll(async () => {
  setEnv(savedEnv);
  s3?.destroy();
  glue?.destroy();
  sqs?.destroy();
  cloudFormation?.destroy();
  await moto?.stop();
  if (scratch !== "") await rm(scratch, { recursive: true, force: true });
});

/** Runs the smoke test with the ingest pump running beside it; its log lines and outcome. */
async function runSmokeTest(
  options: { ingest: boolean; ingestTimeoutMs?: number } = { ingest: true },
): Promise<{ lines: string[]; result?: Awaited<ReturnType<typeof smokeTest>>; error?: unknown }> {
  const backend = await openStack(STACK);
  const lines: string[] = [];
  const scoring: Promise<void>[] = [];
  let pumping = options.ingest;
  const pump = (async () => {
    while (pumping) {
      if ((await pumpIngest()) === 0) await new Promise((resolve) => setTimeout(resolve, 200));
    }
  })();
  const workDir = await mkdtemp(join(scratch, "sample-"));
  try {
    const result = await smokeTest(target(backend, scoring), {
      workDir: join(workDir, "sample"),
      customers: 25,
      pollMs: 300,
      ...(options.ingestTimeoutMs === undefined ? {} : { ingestTimeoutMs: options.ingestTimeoutMs }),
      runTimeoutMs: 240_000,
      retryGraceMs: 1000,
      command: `crmlake aws smoke-test --stack ${STACK}`,
      log: (line) => lines.push(line),
    });
    return { lines, result };
  } catch (error) {
    return { lines, error };
  } finally {
    pumping = false;
    await pump;
    await Promise.all(scoring);
    backend.close();
  }
}

describe("crmlake aws smoke-test on moto", () => {
  it("drops a sample, waits for the real ingest, scores it, finds one row per customer in customer_scores_latest, and leaves the lake as it was", async () => {
    const { lines, result, error } = await runSmokeTest();
    expect(error, lines.join("\n")).toBeUndefined();
    expect(result).toMatchObject({ asOf: SMOKE_AS_OF, customers: 25, leftBehind: [] });
    expect(result?.drops).toBeGreaterThanOrEqual(8);
    for (const [i, step] of ["check", "sample", "drop", "ingest", "score", "query", "clean"].entries()) {
      expect(lines.some((l) => l.startsWith(`[${i + 1}/7] ${step}: `))).toBe(true);
    }
    expect(
      lines.some((l) =>
        l.startsWith(`      25 customers as of ${SMOKE_AS_OF} (workgroup crmlake_smoke_analysts`),
      ),
    ).toBe(true);
    expect(lines.filter((l) => /^ {6}.*\(\d+\.\d s\)$/.test(l)).length).toBeGreaterThanOrEqual(7);

    // The lake is as it was: no drop, run, partition or landed file; every latest table at its placeholder.
    const backend = await openStack(STACK);
    try {
      const landing = backend.landing;
      if (landing === undefined) throw new Error("no landing");
      expect(await lakeContents({ lake: backend.lake, landing, outputs: backend.outputs })).toEqual([]);
      expect(await landing.list("")).toEqual([]);
      expect((await backend.lake.list("curated/")).map((o) => o.key)).toEqual([]);
      expect((await backend.lake.list("models/")).map((o) => o.key)).toEqual([]);
      expect((await backend.lake.list("runs/")).map((o) => o.key)).toEqual([]);
      expect(
        await new GluePartitions({ client: glue, database: DB }).latestAsOf("customer_scores"),
      ).toBeUndefined();
    } finally {
      backend.close();
    }
  }, 600_000);

  it("names the step that failed and what to check, and still takes back what it landed", async () => {
    const { lines, error } = await runSmokeTest({ ingest: false, ingestTimeoutMs: 1500 });
    expect(error).toBeInstanceOf(SmokeTestError);
    expect((error as SmokeTestError).step).toBe("ingest");
    expect(errorMessage(error)).toMatch(
      /^Smoke test of stack Crmlake-smoke failed at step 4 \(ingest\) after \d+\.\d s: \d+ of \d+ drops not recorded within 1\.5 s\. Check: the ingest queue/,
    );
    expect(lines.at(-1)).toMatch(/^ {6}left behind: \d+ landed files had no drop record yet/);
    const backend = await openStack(STACK);
    try {
      expect(await backend.landing?.list("")).toEqual([]);
    } finally {
      backend.close();
    }
    // The notifications of the files it landed are still queued: what ingest does with a file gone since.
    while ((await pumpIngest()) > 0) {}
  }, 120_000);

  it("refuses a lake that holds data, before it lands anything (exit 1, the step named)", async () => {
    const lake = new S3ObjectStore({ bucket: LAKE_BUCKET, client: s3 });
    await lake.put(MODEL_LAYOUT.runRecord("sched-real"), "{}");
    let stdout = "";
    let stderr = "";
    const out = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
      stdout += String(chunk);
      return true;
    });
    const err = vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
      stderr += String(chunk);
      return true;
    });
    let code: number;
    try {
      code = await main(["aws", "smoke-test", "--stack", STACK]);
    } finally {
      out.mockRestore();
      err.mockRestore();
      await lake.delete([MODEL_LAYOUT.runRecord("sched-real")]);
    }
    expect(code).toBe(1);
    expect(stdout).toMatch(/^\[1\/7\] check: the lake s3:\/\/crmlake-smoke-lake and the landing bucket/);
    expect(stderr).toMatch(
      /^crmlake aws: Smoke test of stack Crmlake-smoke failed at step 1 \(check\) after \d+\.\d s: its lake is not empty \(1 run record\)\. Check: the smoke test runs only on a new deployment's empty lake/,
    );
    expect(await new S3ObjectStore({ bucket: LANDING, client: s3 }).list("")).toEqual([]);
  }, 60_000);
});
