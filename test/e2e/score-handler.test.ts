/**
 * The scoring handler end to end, on loopback: the real runner, the real AthenaWarehouse (UNLOAD
 * materialization) talking to the scripted Athena (test/helpers/athena-fake.ts), S3ModelOutputs on a real
 * s3rver, and the Glue fake (test/helpers/glue-fake.ts) holding the stack's model tables. The Athena fake
 * runs no SQL, so a client middleware plays Athena's part of UNLOAD: it writes a Parquet-named object under
 * the statement's TO location, as Athena would.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import type { AthenaClient } from "@aws-sdk/client-athena";
import type { GlueClient } from "@aws-sdk/client-glue";
import { SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { LATEST_TABLE } from "../../functions/core/catalogue/latest-tables.ts";
import { MODEL_LAYOUT } from "../../functions/core/catalogue/layout.ts";
import { findLateDrops } from "../../functions/core/runner/late-drops.ts";
import { GluePartitions } from "../../functions/storage/glue-partitions.ts";
import { S3ObjectStore } from "../../functions/storage/s3.ts";
import { S3ModelOutputs } from "../../functions/storage/s3-outputs.ts";
import {
  AthenaFake,
  columnsScript,
  countScript,
  type FakeQueryScript,
  NO_DUPLICATE_KEYS,
} from "../helpers/athena-fake.ts";
import { GlueFake } from "../helpers/glue-fake.ts";
import { type S3TestServer, startS3Server } from "../helpers/s3-server.ts";
import { CUSTOMER_TOTALS, STG_LINES, TOTALS_COLUMNS } from "../helpers/score-models.ts";

vi.stubEnv("LAKE_BUCKET", "unused-at-import");
vi.stubEnv("ATHENA_WORKGROUP", "unused-at-import");
vi.stubEnv("GLUE_DATABASE", "unused_at_import");
const { createScoringHandler } = await import("../../functions/score.ts");
type ScoringSettings = Parameters<typeof createScoringHandler>[0];

const BUCKET = "crmlake-score-handler";
const AS_OF = "2024-01-31";
const DB = "crmlake_db";
const EVENT = {
  source: "crmlake.schedule",
  scheduledTime: "2024-02-01T03:00:00Z",
  timeZone: "Etc/UTC",
  executionId: "0a1b2c3d-0000-4000-8000-000000000001",
};

const COUNT = `-- question: How many customers bought.
-- grain: one row
-- depends_on: customer_totals
-- unique_key: customers
-- column customers bigint: Customers.
select COUNT(*) AS customers from customer_totals
`;

/** Bytes the UNLOAD of customer_totals reports having scanned. */
const SCANNED = 50 * 1024 * 1024;

/** What Athena answers for the one table model, customer_totals, with 2 rows. */
function tableScripts(unload: FakeQueryScript = {}): FakeQueryScript[] {
  return [
    columnsScript("customer_totals__body", TOTALS_COLUMNS),
    { match: /^UNLOAD/, updateCount: 2, dataScannedBytes: SCANNED, ...unload },
    NO_DUPLICATE_KEYS,
    countScript(`WHERE as_of = DATE '${AS_OF}'`, 2),
  ];
}

let server: S3TestServer;
let fake: AthenaFake;
let athena: AthenaClient;
let glueFake: GlueFake;
let glue: GlueClient;
let db = DB;
let sqlDir = "";
let resumeDir = "";
let root = "";
let lake: S3ObjectStore;
let lakeCounter = 0;
let lakePrefix = "";

const text = (bytes: Uint8Array | undefined): string | undefined =>
  bytes === undefined ? undefined : Buffer.from(bytes).toString("utf8");

beforeAll(async () => {
  server = await startS3Server([BUCKET]);
  fake = await AthenaFake.start();
  athena = fake.client();
  glueFake = await GlueFake.start();
  glue = glueFake.client();
  // Athena's part of UNLOAD: the files appear under the TO location before the query is reported done.
  athena.middlewareStack.add(
    (next) => async (args) => {
      const result = await next(args);
      const input = args.input as { QueryString?: string };
      const to = /^UNLOAD [\s\S]*\nTO '(s3:\/\/[^']+)'/.exec(input.QueryString ?? "")?.[1];
      if (to !== undefined) {
        const key = to.replace(`s3://${BUCKET}/`, "");
        await new S3ObjectStore({ bucket: BUCKET, client: server.client }).put(
          `${key}20240201_030000_00001_abcde_part0`,
          "new rows",
        );
      }
      return result;
    },
    { step: "initialize", name: "athenaWritesUnloadFiles" },
  );
  root = await mkdtemp(join(tmpdir(), "crmlake-score-handler-"));
  sqlDir = join(root, "sql");
  await mkdir(join(sqlDir, "staging"), { recursive: true });
  await mkdir(join(sqlDir, "marts"), { recursive: true });
  await writeFile(join(sqlDir, "staging", "stg_lines.sql"), STG_LINES);
  await writeFile(join(sqlDir, "marts", "customer_totals.sql"), CUSTOMER_TOTALS);
  // Three models, two of them tables: for resuming and for a publish that fails half-way.
  resumeDir = join(root, "sql-resume");
  await mkdir(join(resumeDir, "staging"), { recursive: true });
  await mkdir(join(resumeDir, "marts"), { recursive: true });
  await writeFile(join(resumeDir, "staging", "stg_lines.sql"), STG_LINES);
  await writeFile(join(resumeDir, "marts", "customer_totals.sql"), CUSTOMER_TOTALS);
  await writeFile(join(resumeDir, "marts", "customer_count.sql"), COUNT);
});

afterAll(async () => {
  athena?.destroy();
  await fake?.close();
  glue?.destroy();
  await glueFake?.close();
  await server?.stop();
  if (root !== "") await rm(root, { recursive: true, force: true });
  vi.unstubAllEnvs();
});

beforeEach(async () => {
  lakePrefix = `lake-${++lakeCounter}`;
  lake = new S3ObjectStore({ bucket: BUCKET, prefix: lakePrefix, client: server.client });
  // Each test its own catalogue: the stack's tables, as deployed.
  db = `${DB}_${lakeCounter}`;
  for (const model of ["customer_totals", "customer_count"]) {
    glueFake.table(db, model, `${lakeUri()}models/${model}/`).latestTable(db, model, lakeUri());
  }
  // The last good run of this as_of (two files), and an older as_of that must stay.
  await lake.put(`models/customer_totals/run=old/as_of=${AS_OF}/old-part-1`, "old rows");
  await lake.put(`models/customer_totals/run=old/as_of=${AS_OF}/old-part-2`, "old rows");
  await lake.put("models/customer_totals/run=older/as_of=2024-01-30/part", "older run");
  const partitions = new GluePartitions({ client: glue, database: db });
  await partitions.point(
    "customer_totals",
    AS_OF,
    `${lakeUri()}models/customer_totals/run=old/as_of=${AS_OF}/`,
  );
  await partitions.point(
    "customer_totals",
    "2024-01-30",
    `${lakeUri()}models/customer_totals/run=older/as_of=2024-01-30/`,
  );
});

const lakeUri = () => `s3://${BUCKET}/${lakePrefix}/`;

/** Where the catalogue points customer_totals' partitions. */
const published = () => glueFake.partitions(db, "customer_totals");

function handlerUnderTest(dir = sqlDir, extra: Partial<ScoringSettings> = {}) {
  const metrics = new Metrics({ namespace: "crmlake", serviceName: "score" });
  const added = vi.spyOn(metrics, "addMetric");
  vi.spyOn(metrics, "publishStoredMetrics").mockReturnValue(metrics);
  const handler = createScoringHandler({
    lakeBucket: BUCKET,
    lakePrefix,
    workGroup: "crmlake",
    database: db,
    config: "",
    s3: server.client,
    glue,
    athena,
    sqlDir: dir,
    // The test's own models: the project's stages depend on models it does not have.
    stages: [],
    athenaOptions: { poll: { initialMs: 1, maxMs: 2 }, throttle: { initialMs: 1, maxMs: 2 } },
    logger: new Logger({ serviceName: "crmlake-score", logLevel: "SILENT" }),
    metrics,
    ...extra,
  });
  return { handler, added };
}

const INGEST_QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/crmlake-ingest";

/**
 * An SQSClient answered by SQS's recorded JSON-protocol response to GetQueueAttributes, one depth per call (the
 * last one repeated), keeping each request's target and body: the SDK serialises and parses as it does on AWS.
 */
function recordedSqs(...depths: number[]) {
  const requests: { target: string | undefined; body: unknown }[] = [];
  const requestHandler = {
    handle: async (request: { headers: Record<string, string>; body?: unknown }) => {
      const raw =
        typeof request.body === "string"
          ? request.body
          : new TextDecoder().decode(request.body as Uint8Array);
      requests.push({ target: request.headers["x-amz-target"], body: JSON.parse(raw) });
      const depth = depths[Math.min(requests.length - 1, depths.length - 1)] ?? 0;
      const body = JSON.stringify({
        Attributes: {
          ApproximateNumberOfMessages: String(depth),
          ApproximateNumberOfMessagesNotVisible: "1",
          ApproximateNumberOfMessagesDelayed: "0",
        },
      });
      return {
        response: {
          statusCode: 200,
          headers: { "content-type": "application/x-amz-json-1.0" },
          body: new TextEncoder().encode(body),
        },
      };
    },
  };
  const client = new SQSClient({
    region: "us-east-1",
    credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
    requestHandler: requestHandler as unknown as SQSClient["config"]["requestHandler"],
  });
  return { client, requests };
}

const context = { getRemainingTimeInMillis: () => 900_000 };

describe("scoring handler on the scripted Athena and s3rver", () => {
  it("runs the models as of the day before, publishes the partition, records the run, counts RunFailed 0", async () => {
    fake.script(...tableScripts());
    const before = fake.queries.length;
    const { handler, added } = handlerUnderTest();

    const result = await handler(EVENT, context);

    // The run is named after the event, so that a retry of the same event is the same run.
    expect(result).toMatchObject({ runId: EVENT.executionId, asOf: AS_OF, models: 2, rows: 2 });
    const newPartition = `models/customer_totals/run=${result.runId}/as_of=${AS_OF}/`;
    const keys = (await lake.list("")).map((o) => o.key);
    expect(keys).toEqual([
      `${newPartition}20240201_030000_00001_abcde_part0`,
      // The replaced run's files stay for queries that resolved it, until the sweep's grace period ends
      // (counted from the _retired marker, which Athena does not read).
      `models/customer_totals/run=old/as_of=${AS_OF}/_retired`,
      `models/customer_totals/run=old/as_of=${AS_OF}/old-part-1`,
      `models/customer_totals/run=old/as_of=${AS_OF}/old-part-2`,
      "models/customer_totals/run=older/as_of=2024-01-30/part",
      MODEL_LAYOUT.runRecord(result.runId),
      // The inputs the run pinned (ADR 0010): here, an empty ledger.
      MODEL_LAYOUT.snapshotKey(result.runId),
    ]);
    // Published = the catalogue points the as_of partition at the run's files; the older as_of is untouched.
    expect(published()).toEqual({
      "2024-01-30": `${lakeUri()}models/customer_totals/run=older/as_of=2024-01-30/`,
      [AS_OF]: `${lakeUri()}${newPartition}`,
    });
    const record = JSON.parse(text(await lake.get(MODEL_LAYOUT.runRecord(result.runId))) ?? "{}") as {
      status?: string;
      engine?: string;
      as_of?: string;
      models?: {
        model: string;
        status: string;
        rows: number | null;
        bytes_scanned: number | null;
        cost_usd: number | null;
      }[];
      bytes_scanned?: number | null;
      cost_usd?: number | null;
    };
    expect(record).toMatchObject({ status: "succeeded", engine: "athena", as_of: AS_OF });
    expect(record.models?.map((m) => [m.model, m.status, m.rows])).toEqual([
      ["stg_lines", "succeeded", null],
      ["customer_totals", "succeeded", 2],
    ]);
    // Bytes scanned and cost per model, and over the run: Athena bills USD 5 per TB, 10 MB minimum a query.
    const totals = record.models?.find((m) => m.model === "customer_totals");
    expect(totals?.bytes_scanned).toBe(SCANNED);
    expect(totals?.cost_usd).toBeGreaterThanOrEqual((SCANNED / 1024 ** 4) * 5);
    expect(record.bytes_scanned).toBe(SCANNED);
    expect(record.cost_usd).toBeGreaterThanOrEqual(totals?.cost_usd ?? Number.POSITIVE_INFINITY);

    const queries = fake.queries.slice(before);
    const runDb = `${db}_run_${result.runId.toLowerCase().replace(/-/g, "_")}`;
    expect(queries[0]?.sql).toBe(
      `CREATE DATABASE IF NOT EXISTS ${runDb} COMMENT 'crmlake run database: views over the inputs and the tables of one model run, dropped when the run ends'`,
    );
    expect(queries.every((q) => q.workGroup === "crmlake")).toBe(true);
    expect(queries.some((q) => q.sql.startsWith("CREATE TABLE"))).toBe(false); // UNLOAD, never CTAS
    expect(queries.find((q) => q.sql.startsWith("UNLOAD"))?.sql).toContain(
      `TO '${lakeUri()}${newPartition}'`,
    );
    // The runner verifies the publish through the stack's table, as BI users read it.
    expect(queries.map((q) => q.sql)).toContain(
      `CREATE OR REPLACE VIEW ${runDb}.customer_totals AS\nSELECT * FROM ${db}.customer_totals`,
    );
    expect(queries.at(-1)?.sql).toBe(`DROP DATABASE IF EXISTS ${runDb} CASCADE`);
    expect(added).toHaveBeenCalledWith("RunFailed", "Count", 0);
  });

  it("counts AthenaThrottled once per throttled Athena answer, and the run still succeeds", async () => {
    fake.script(...tableScripts());
    const throttled = { type: "ThrottlingException", message: "Rate exceeded" };
    fake.failNext("StartQueryExecution", throttled, throttled);
    fake.failNext("GetQueryExecution", throttled);
    const { handler, added } = handlerUnderTest();
    const result = await handler(EVENT, context);
    expect(result.alreadyDone).toBeUndefined();
    expect(added.mock.calls.filter(([name]) => name === "AthenaThrottled")).toEqual([
      ["AthenaThrottled", "Count", 1],
      ["AthenaThrottled", "Count", 1],
      ["AthenaThrottled", "Count", 1],
    ]);
    expect(added).toHaveBeenCalledWith("RunFailed", "Count", 0);
  });

  it("waits for the ingest queue to drain before it pins the ledger, reading only the queue's depth", async () => {
    fake.script(...tableScripts());
    // Two waiting and one in flight, then one in flight, then drained.
    const sqs = recordedSqs(2, 0, -1);
    const slept: number[] = [];
    const { handler, added } = handlerUnderTest(sqlDir, {
      ingestQueueUrl: INGEST_QUEUE,
      sqs: sqs.client,
      ingestPollMs: 10_000,
      sleep: async (ms) => {
        slept.push(ms);
      },
    });
    const result = await handler(EVENT, context);
    expect(sqs.requests).toHaveLength(3);
    expect(sqs.requests[0]).toEqual({
      target: "AmazonSQS.GetQueueAttributes",
      body: {
        QueueUrl: INGEST_QUEUE,
        AttributeNames: [
          "ApproximateNumberOfMessages",
          "ApproximateNumberOfMessagesNotVisible",
          "ApproximateNumberOfMessagesDelayed",
        ],
      },
    });
    expect(slept).toEqual([10_000, 10_000]);
    expect(added).toHaveBeenCalledWith("IngestPendingAtRun", "Count", 0);
    const record = JSON.parse(text(await lake.get(MODEL_LAYOUT.runRecord(result.runId))) ?? "{}") as {
      status?: string;
      diagnostics?: string[];
    };
    expect(record.status).toBe("succeeded");
    expect(record.diagnostics).toEqual([]);
  });

  it("runs after the bound with files still queued, and says so in the run record and a metric", async () => {
    fake.script(...tableScripts());
    const sqs = recordedSqs(4);
    const { handler, added } = handlerUnderTest(sqlDir, {
      ingestQueueUrl: INGEST_QUEUE,
      sqs: sqs.client,
      // A real wait of one second, the shortest bound, read every 250 ms.
      ingestWaitSeconds: 1,
      ingestPollMs: 250,
    });
    const result = await handler(EVENT, context);
    expect(added).toHaveBeenCalledWith("IngestPendingAtRun", "Count", 5);
    // Read once, then after each of the polls that fit in the bound (4 at most).
    expect(sqs.requests.length).toBeGreaterThanOrEqual(2);
    expect(sqs.requests.length).toBeLessThanOrEqual(5);
    const record = JSON.parse(text(await lake.get(MODEL_LAYOUT.runRecord(result.runId))) ?? "{}") as {
      status?: string;
      diagnostics?: string[];
    };
    expect(record.status).toBe("succeeded");
    expect(record.diagnostics?.[0]).toMatch(
      /^ingest_backlog: 5 landed file\(s\) were still waiting for ingest after \d+ s \(the bound was 1 s\); this run does not include them$/,
    );
  });

  it("records a failed run, leaves the last good partition, releases the lock, counts RunFailed 1 and throws", async () => {
    fake.script(
      ...tableScripts({
        states: [
          {
            state: "FAILED",
            error: { category: 2, type: 1306, message: "DIVISION_BY_ZERO: Division by zero" },
          },
        ],
      }),
    );
    const { handler, added } = handlerUnderTest();

    await expect(handler(EVENT, context)).rejects.toThrow(
      /customer_totals.*DIVISION_BY_ZERO: Division by zero/s,
    );

    const keys = (await lake.list("")).map((o) => o.key);
    // The failed run's files are gone; the last good run's are where they were, and still published.
    expect(keys.filter((k) => k.startsWith("models/"))).toEqual([
      `models/customer_totals/run=old/as_of=${AS_OF}/old-part-1`,
      `models/customer_totals/run=old/as_of=${AS_OF}/old-part-2`,
      "models/customer_totals/run=older/as_of=2024-01-30/part",
    ]);
    expect(published()[AS_OF]).toBe(`${lakeUri()}models/customer_totals/run=old/as_of=${AS_OF}/`);
    expect(keys.filter((k) => k.startsWith("runs/staging/") || k === MODEL_LAYOUT.lock)).toEqual([]);
    const logs = keys.filter((k) => k.startsWith(MODEL_LAYOUT.runLogPrefix));
    expect(logs).toHaveLength(1);
    const record = JSON.parse(text(await lake.get(logs[0] ?? "")) ?? "{}") as {
      status?: string;
      error?: string;
    };
    expect(record.status).toBe("failed");
    expect(record.error).toContain("DIVISION_BY_ZERO");
    expect(added).toHaveBeenCalledWith("RunFailed", "Count", 1);
  });

  it("feeds the Lambda's remaining time to the Athena deadline: with less than the safety margin left, nothing starts", async () => {
    const before = fake.queries.length;
    const { handler, added } = handlerUnderTest();
    await expect(handler(EVENT, { getRemainingTimeInMillis: () => 5_000 })).rejects.toMatchObject({
      code: "athena_deadline",
    });
    expect(fake.queries.length).toBe(before);
    expect(added).toHaveBeenCalledWith("RunFailed", "Count", 1);
  });

  it("keeps an interrupted run's work, and the retry of the same event resumes it, computing only what was not done", async () => {
    const dir = resumeDir;
    const runId = EVENT.executionId;
    const runDb = `${db}_run_${runId.toLowerCase().replace(/-/g, "_")}`;
    const countColumns = columnsScript("customer_count__body", [["customers", "bigint"]]);

    // Attempt 1: customer_totals completes; customer_count's UNLOAD is still running when the Lambda's time
    // runs out.
    fake.script(...tableScripts().slice(0, 3), countColumns);
    fake.script({ match: /^UNLOAD/, states: ["RUNNING"] });
    const first = fake.queries.length;
    // Once customer_count's body view exists, 50 ms are left after the 15 s safety margin: its UNLOAD
    // starts, and is stopped at the deadline while Athena still reports it RUNNING.
    const countStarted = () => fake.queries.slice(first).some((q) => q.sql.includes("customer_count__body"));
    const attempt1 = handlerUnderTest(dir);
    await expect(
      attempt1.handler(EVENT, { getRemainingTimeInMillis: () => (countStarted() ? 15_050 : 900_000) }),
    ).rejects.toMatchObject({ code: "run_interrupted" });

    expect(attempt1.added).toHaveBeenCalledWith("RunInterrupted", "Count", 1);
    expect(attempt1.added).not.toHaveBeenCalledWith("RunFailed", "Count", 1);
    const stopped = fake.inputsOf("StopQueryExecution").map((i) => i.QueryExecutionId);
    expect(stopped).toContain(fake.queries.slice(first).filter((q) => q.sql.startsWith("UNLOAD"))[1]?.id);
    // The run database and the finished model's files are kept; nothing is published yet.
    expect(fake.statements.slice(first).some((q) => q.startsWith("DROP DATABASE"))).toBe(false);
    const interrupted = JSON.parse(text(await lake.get(MODEL_LAYOUT.runRecord(runId))) ?? "{}") as {
      status?: string;
      models?: { model: string; status: string }[];
      bytes_scanned?: number;
    };
    expect(interrupted.status).toBe("interrupted");
    expect(interrupted.models?.map((m) => [m.model, m.status])).toEqual([
      ["stg_lines", "succeeded"],
      ["customer_totals", "succeeded"],
      ["customer_count", "not_run"],
    ]);
    expect(await lake.list(`models/customer_totals/run=${runId}/`)).toHaveLength(1);
    expect(published()[AS_OF]).toBe(`${lakeUri()}models/customer_totals/run=old/as_of=${AS_OF}/`);
    expect(glueFake.partitions(db, "customer_count")).toEqual({});
    expect(await lake.get(MODEL_LAYOUT.lock)).toBeUndefined();
    // What the stopped UNLOAD may have left behind.
    await lake.put(`models/customer_count/run=${runId}/as_of=${AS_OF}/partial-from-attempt-1`, "partial");

    // Attempt 2, Lambda's retry of the same event: customer_totals is found in the run database and checked,
    // not computed again; customer_count is computed from scratch; both are published.
    fake.script(
      columnsScript("customer_totals__unloaded", TOTALS_COLUMNS),
      countScript(`COUNT(*) AS n FROM ${runDb}.customer_totals__unloaded`, 2),
      NO_DUPLICATE_KEYS,
      countColumns,
      { match: /^UNLOAD/, updateCount: 1, dataScannedBytes: 1024 },
      NO_DUPLICATE_KEYS,
      countScript("FROM customer_totals WHERE as_of", 2),
      countScript("FROM customer_count WHERE as_of", 1),
    );
    const second = fake.queries.length;
    const attempt2 = handlerUnderTest(dir);
    const result = await attempt2.handler(EVENT, context);

    expect(result).toMatchObject({ runId, asOf: AS_OF, models: 3, rows: 3 });
    const statements = fake.statements.slice(second);
    const unloaded = statements.filter((q) => q.startsWith("UNLOAD"));
    expect(unloaded).toHaveLength(1);
    expect(unloaded[0]).toContain("customer_count__body");
    // UNLOAD mode looks for the earlier attempt's tables once per model, never for a CTAS table.
    expect(statements.some((q) => q.includes("__ctas"))).toBe(false);
    expect(statements.at(-1)).toBe(`DROP DATABASE IF EXISTS ${runDb} CASCADE`);
    expect(published()[AS_OF]).toBe(`${lakeUri()}models/customer_totals/run=${runId}/as_of=${AS_OF}/`);
    expect(glueFake.partitions(db, "customer_count")).toEqual({
      [AS_OF]: `${lakeUri()}models/customer_count/run=${runId}/as_of=${AS_OF}/`,
    });
    expect((await lake.list(`models/customer_count/run=${runId}/`)).map((o) => o.key)).toEqual([
      `models/customer_count/run=${runId}/as_of=${AS_OF}/20240201_030000_00001_abcde_part0`,
    ]);
    const record = JSON.parse(text(await lake.get(MODEL_LAYOUT.runRecord(runId))) ?? "{}") as {
      status?: string;
      models?: { model: string; status: string; rows: number | null; bytes_scanned: number | null }[];
      bytes_scanned?: number;
    };
    expect(record.status).toBe("succeeded");
    expect(record.models?.map((m) => [m.model, m.status, m.rows])).toEqual([
      ["stg_lines", "succeeded", null],
      ["customer_totals", "succeeded", 2],
      ["customer_count", "succeeded", 1],
    ]);
    // The bill of the kept model and of the run include the first attempt's scan.
    expect(record.models?.find((m) => m.model === "customer_totals")?.bytes_scanned).toBeGreaterThanOrEqual(
      SCANNED,
    );
    expect(record.bytes_scanned).toBeGreaterThanOrEqual(SCANNED + 1024);
    expect(attempt2.added).toHaveBeenCalledWith("RunFailed", "Count", 0);

    // Attempt 3, a duplicate delivery after success: nothing runs, nothing changes.
    const third = fake.queries.length;
    const glueWrites = glueFake.operations().filter((o) => o.endsWith("Partition")).length;
    const again = await handlerUnderTest(dir).handler(EVENT, context);
    expect(again).toMatchObject({ runId, alreadyDone: true, asOf: AS_OF, models: 3, rows: 3 });
    expect(fake.queries.length).toBe(third);
    expect(glueFake.operations().filter((o) => o.endsWith("Partition")).length).toBe(glueWrites);
  });

  it("a publish that fails half-way keeps what it published and its journal, and the next run rolls it forward", async () => {
    const runId = EVENT.executionId;
    fake.script(
      ...tableScripts().slice(0, 3),
      columnsScript("customer_count__body", [["customers", "bigint"]]),
    );
    fake.script({ match: /^UNLOAD/, updateCount: 1 }, NO_DUPLICATE_KEYS);
    // customer_totals' partition is updated; creating customer_count's (a new table's first as_of) fails.
    glueFake.failNext("CreatePartition", "InternalServiceException");
    const { handler, added } = handlerUnderTest(resumeDir);

    await expect(handler(EVENT, context)).rejects.toThrow(
      `Glue CreatePartition failed for ${db}.customer_count partition as_of=${AS_OF}`,
    );

    expect(added).toHaveBeenCalledWith("RunFailed", "Count", 1);
    const record = JSON.parse(text(await lake.get(MODEL_LAYOUT.runRecord(runId))) ?? "{}") as {
      status?: string;
    };
    expect(record.status).toBe("failed");
    // What readers already read is not discarded with the failed run: the partition and its files stay.
    expect(published()[AS_OF]).toBe(`${lakeUri()}models/customer_totals/run=${runId}/as_of=${AS_OF}/`);
    expect(await lake.list(`models/customer_totals/run=${runId}/`)).toHaveLength(1);
    expect(await lake.list(`models/customer_count/run=${runId}/`)).toHaveLength(1);
    expect(await lake.get(MODEL_LAYOUT.publishJournal(runId))).toBeDefined();

    // The next run, whatever its id, finishes that publish before it starts.
    await new S3ModelOutputs({
      bucket: BUCKET,
      prefix: lakePrefix,
      client: server.client,
      partitions: new GluePartitions({ client: glue, database: db }),
    }).recover("the-next-run");
    expect(glueFake.partitions(db, "customer_count")).toEqual({
      [AS_OF]: `${lakeUri()}models/customer_count/run=${runId}/as_of=${AS_OF}/`,
    });
    expect(await lake.get(MODEL_LAYOUT.publishJournal(runId))).toBeUndefined();
  });

  it("does nothing for a duplicate delivery while the same run holds the lock, and leaves its run database alone", async () => {
    await lake.put(
      MODEL_LAYOUT.lock,
      JSON.stringify({
        run_id: EVENT.executionId,
        host: "the-first-delivery",
        started_at: new Date().toISOString(),
      }),
    );
    const before = fake.queries.length;
    const { handler, added } = handlerUnderTest();

    const result = await handler(EVENT, context);

    expect(result).toMatchObject({ runId: EVENT.executionId, alreadyRunning: true });
    const statements = fake.statements.slice(before);
    expect(statements.some((q) => q.startsWith("DROP DATABASE") || q.startsWith("UNLOAD"))).toBe(false);
    expect(text(await lake.get(MODEL_LAYOUT.lock))).toContain("the-first-delivery");
    expect(added).toHaveBeenCalledWith("RunFailed", "Count", 0);
  });

  it("computes a kept model again when its table reads back other rows than the earlier attempt recorded", async () => {
    const runId = EVENT.executionId;
    const runDb = `${db}_run_${runId.replace(/-/g, "_")}`;
    // The earlier attempt recorded customer_totals done with 5 rows; its files have since lost some.
    await lake.put(
      MODEL_LAYOUT.runRecord(runId),
      JSON.stringify({
        run_id: runId,
        as_of: AS_OF,
        status: "interrupted",
        engine: "athena",
        started_at: "2024-02-01 03:00:00.000",
        finished_at: null,
        duration_ms: null,
        models_requested: null,
        config: "{}",
        models: [
          {
            model: "customer_totals",
            layer: "marts",
            materialized: "table",
            status: "succeeded",
            started_at: "2024-02-01 03:00:00.000",
            finished_at: "2024-02-01 03:01:00.000",
            duration_ms: 60_000,
            rows: 5,
            bytes_scanned: 1,
            cost_usd: 0,
            error: null,
          },
        ],
        bytes_scanned: null,
        cost_usd: null,
        error: null,
      }),
    );
    fake.script(
      columnsScript("customer_totals__unloaded", TOTALS_COLUMNS),
      countScript(`COUNT(*) AS n FROM ${runDb}.customer_totals__unloaded`, 2),
      ...tableScripts(),
    );
    const before = fake.queries.length;

    const result = await handlerUnderTest().handler(EVENT, context);

    expect(result).toMatchObject({ runId, rows: 2 });
    expect(fake.statements.slice(before).filter((q) => q.startsWith("UNLOAD"))).toHaveLength(1);
  });

  it("keeps an interrupted run's database when its retry finds another run holding the lake", async () => {
    const runId = EVENT.executionId;
    await lake.put(
      MODEL_LAYOUT.runRecord(runId),
      JSON.stringify({ run_id: runId, as_of: AS_OF, status: "interrupted", models: [] }),
    );
    await lake.put(
      MODEL_LAYOUT.lock,
      JSON.stringify({ run_id: "another-run", host: "elsewhere", started_at: new Date().toISOString() }),
    );
    const before = fake.queries.length;
    const { handler, added } = handlerUnderTest();

    await expect(handler(EVENT, context)).rejects.toMatchObject({ code: "run_locked" });

    expect(fake.statements.slice(before).some((q) => q.startsWith("DROP DATABASE"))).toBe(false);
    expect(added).toHaveBeenCalledWith("RunFailed", "Count", 1);
  });
  it("sweeps by the retention policy after a successful run: the older as-of goes, the run's stays", async () => {
    fake.script(...tableScripts());
    const { handler, added } = handlerUnderTest(sqlDir, {
      config: JSON.stringify({ retention: { keep_last: 1, keep_month_ends: 0 } }),
    });

    const result = await handler(EVENT, context);

    // 2024-01-30 is neither the latest nor one of the last 1: its partition is unregistered, its files are
    // marked retired for the publish sweep, and the latest table still shows the run's as-of.
    expect(published()).toEqual({
      [AS_OF]: `${lakeUri()}models/customer_totals/run=${result.runId}/as_of=${AS_OF}/`,
    });
    expect(await lake.get("models/customer_totals/run=older/as_of=2024-01-30/_retired")).toBeDefined();
    expect(glueFake.projected(db, "customer_totals_latest").asOf).toBe(AS_OF);
    expect(added).toHaveBeenCalledWith("SnapshotsRemoved", "Count", 1);
    expect(added).toHaveBeenCalledWith("RetentionSweepFailed", "Count", 0);
    expect(added).toHaveBeenCalledWith("RunFailed", "Count", 0);
  });

  it("a retention sweep that fails does not fail the run: it is counted, and the lock is released", async () => {
    fake.script(...tableScripts());
    glueFake.failNext("DeletePartition", "AccessDeniedException");
    const { handler, added } = handlerUnderTest(sqlDir, {
      config: JSON.stringify({ retention: { keep_last: 1, keep_month_ends: 0 } }),
    });

    const result = await handler(EVENT, context);

    expect(result).toMatchObject({ runId: EVENT.executionId, asOf: AS_OF, rows: 2 });
    expect(published()["2024-01-30"]).toBe(`${lakeUri()}models/customer_totals/run=older/as_of=2024-01-30/`);
    expect(await lake.get(MODEL_LAYOUT.lock)).toBeUndefined();
    expect(added).toHaveBeenCalledWith("RetentionSweepFailed", "Count", 1);
    expect(added).toHaveBeenCalledWith("RunFailed", "Count", 0);
    expect(added).not.toHaveBeenCalledWith("RunFailed", "Count", 1);
  });
});

describe("latest tables a deploy reset (ADR 0014)", () => {
  it("a run as of an older date re-points them at the greatest succeeded as-of, and says so in its record", async () => {
    fake.script(...tableScripts());
    const latest = await handlerUnderTest().handler(EVENT, context);
    // `cdk deploy` redeclares customer_totals_latest (a model's columns changed): at its placeholder again.
    glueFake.latestTable(db, "customer_totals", lakeUri());
    expect(glueFake.projected(db, "customer_totals_latest").asOf).toBe(LATEST_TABLE.placeholderAsOf);

    const OLDER = "2024-01-30";
    fake.script(
      columnsScript("customer_totals__body", TOTALS_COLUMNS),
      { match: /^UNLOAD/, updateCount: 2, dataScannedBytes: SCANNED },
      NO_DUPLICATE_KEYS,
      countScript(`WHERE as_of = DATE '${OLDER}'`, 2),
    );
    const older = await handlerUnderTest().handler(
      { ...EVENT, executionId: "0a1b2c3d-0000-4000-8000-0000000000aa", asOf: OLDER },
      context,
    );

    expect(older).toMatchObject({ asOf: OLDER, rows: 2 });
    expect(glueFake.projected(db, "customer_totals_latest")).toMatchObject({
      asOf: AS_OF,
      location: `${lakeUri()}models/customer_totals/run=${latest.runId}/as_of=${AS_OF}/`,
    });
    const record = JSON.parse(text(await lake.get(MODEL_LAYOUT.runRecord(older.runId))) ?? "{}") as {
      diagnostics?: string[];
    };
    expect(record.diagnostics).toEqual([
      `Re-pointed 1 latest table(s) that did not show their model's greatest succeeded as-of (a deploy resets them): customer_totals_latest → ${AS_OF}.`,
    ]);
  });
});

describe("the late-drop check (ADR 0016)", () => {
  const check = (executionId: string) => ({
    source: "crmlake.late-drops",
    scheduledTime: "2024-02-01T11:00:00Z",
    executionId,
  });

  /** Commits a transactions drop whose ok rows are dated from `first`, as ingest records it. */
  async function commit(dropId: string, first: string, finishedAt: string): Promise<void> {
    const key = `curated/transactions/order_month=2024-01/${dropId}__v1.parquet`;
    await lake.put(key, "rows");
    const record = {
      drop_id: dropId,
      dataset: "transactions",
      source: `s3://landing/transactions/${dropId}.csv`,
      content_sha256: dropId,
      size_bytes: 4,
      format: "csv",
      profile: null,
      status: "ok",
      rows_in: 1,
      rows_ok: 1,
      rows_quarantined: 0,
      quarantine_reasons: {},
      error_code: null,
      error: null,
      warnings: [],
      version: "v1",
      output_keys: [key],
      first_business_day: first,
      last_business_day: first,
      started_at: finishedAt,
      finished_at: finishedAt,
      duration_ms: 0,
    };
    await lake.put(`ledger/drops/${dropId}.json`, `${JSON.stringify(record)}\n`);
  }

  beforeEach(async () => {
    await lake.put("ledger/format.json", `${JSON.stringify({ format_version: 3 })}\n`);
    await commit("orders-0130", "2024-01-30", "2024-01-31 01:00:00.000");
  });

  it("does nothing while nothing is late, re-scores the latest as-of once a late drop lands, then nothing again", async () => {
    fake.script(...tableScripts());
    const scheduled = await handlerUnderTest().handler(EVENT, context);

    // Nothing committed since the scheduled run read the ledger: no run, nothing recorded.
    let { handler, added } = handlerUnderTest();
    const quiet = await handler(check("11111111-0000-4000-8000-000000000001"), context);
    expect(quiet).toMatchObject({ nothingLate: true, asOf: AS_OF });
    expect(added).toHaveBeenCalledWith("LateDrops", "Count", 0);
    expect(
      await lake.get(MODEL_LAYOUT.runRecord("late-11111111-0000-4000-8000-000000000001")),
    ).toBeUndefined();

    // A file with orders of the scored day lands after the run, and one of the next day.
    await commit("orders-0131-late", AS_OF, "2024-02-01 10:00:00.000");
    await commit("orders-0201", "2024-02-01", "2024-02-01 10:05:00.000");
    fake.script(...tableScripts());
    ({ handler, added } = handlerUnderTest());
    const rescore = await handler(check("22222222-0000-4000-8000-000000000002"), context);

    expect(rescore).toMatchObject({
      runId: "late-22222222-0000-4000-8000-000000000002",
      asOf: AS_OF,
      rows: 2,
    });
    expect(added).toHaveBeenCalledWith("LateDrops", "Count", 1);
    expect(added).toHaveBeenCalledWith("RunFailed", "Count", 0);
    // Published over the latest as-of, the latest table included; the scheduled run's inputs stay as they were.
    expect(published()[AS_OF]).toBe(
      `${lakeUri()}models/customer_totals/run=${rescore.runId}/as_of=${AS_OF}/`,
    );
    expect(glueFake.projected(db, "customer_totals_latest").asOf).toBe(AS_OF);
    expect(glueFake.projected(db, "customer_totals_latest").location).toContain(`run=${rescore.runId}/`);
    const snapshotOf = async (runId: string) =>
      (
        JSON.parse(text(await lake.get(MODEL_LAYOUT.snapshotKey(runId))) ?? "{}") as {
          drops: { drop_id: string }[];
        }
      ).drops.map((d) => d.drop_id);
    expect(await snapshotOf(scheduled.runId)).toEqual(["orders-0130"]);
    expect(await snapshotOf(rescore.runId)).toEqual(["orders-0130", "orders-0131-late", "orders-0201"]);
    const record = JSON.parse(text(await lake.get(MODEL_LAYOUT.runRecord(rescore.runId))) ?? "{}") as {
      status?: string;
      diagnostics?: string[];
      inputs_taken_at?: string;
    };
    expect(record.status).toBe("succeeded");
    expect(record.inputs_taken_at).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/);
    expect(record.diagnostics).toEqual([
      expect.stringMatching(
        new RegExp(
          `^Re-score of ${AS_OF} for late files: 1 drop\\(s\\) with data on or before ${AS_OF} were committed after run ${scheduled.runId} read the ledger \\(.+ UTC\\): orders-0131-late\\.$`,
        ),
      ),
    ]);

    // A retry of the same check is the same run, already done; the next check finds nothing new.
    expect(
      await handlerUnderTest().handler(check("22222222-0000-4000-8000-000000000002"), context),
    ).toMatchObject({
      alreadyDone: true,
    });
    expect(
      await handlerUnderTest().handler(check("33333333-0000-4000-8000-000000000003"), context),
    ).toMatchObject({ nothingLate: true, asOf: AS_OF });
  });

  it("reads only the ledger records written since the latest run read the ledger", async () => {
    const pause = () => new Promise((resolve) => setTimeout(resolve, 1100));
    await pause();
    fake.script(...tableScripts());
    await handlerUnderTest().handler(EVENT, context);
    await pause();
    await commit("orders-0131-late", AS_OF, "2024-02-01 10:00:00.000");
    const read: string[] = [];
    server.client.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { Key?: string; Prefix?: string };
        if (input.Key?.includes("/ledger/drops/") === true) read.push(input.Key.split("/").at(-1) ?? "");
        return next(args);
      },
      { step: "initialize", name: "ledgerReads" },
    );
    try {
      const outputs = new S3ModelOutputs({
        bucket: BUCKET,
        prefix: lakePrefix,
        client: server.client,
        partitions: new GluePartitions({ client: glue, database: db }),
      });
      const finding = await findLateDrops(outputs, lake, { clockSkewMs: 0 });
      expect(finding).toMatchObject({ kind: "found", late: [{ drop_id: "orders-0131-late" }] });
    } finally {
      server.client.middlewareStack.remove("ledgerReads");
    }
    expect(read).toEqual(["orders-0131-late.json"]);
  });

  it("skips, without failing, while another run holds the lake, and drops the run database it made", async () => {
    fake.script(...tableScripts());
    await handlerUnderTest().handler(EVENT, context);
    await commit("orders-0131-late", AS_OF, "2024-02-01 10:00:00.000");
    await lake.put(
      MODEL_LAYOUT.lock,
      JSON.stringify({ run_id: "another-run", host: "elsewhere", started_at: new Date().toISOString() }),
    );
    const { handler, added } = handlerUnderTest();
    const before = fake.statements.length;

    const result = await handler(check("44444444-0000-4000-8000-000000000004"), context);

    expect(result).toMatchObject({ locked: true, asOf: AS_OF });
    expect(fake.statements.slice(before).filter((q) => /^(CREATE|DROP) DATABASE/.test(q))).toEqual([
      expect.stringMatching(/^CREATE DATABASE/),
      expect.stringMatching(/^DROP DATABASE/),
    ]);
    expect(
      await lake.get(MODEL_LAYOUT.runRecord("late-44444444-0000-4000-8000-000000000004")),
    ).toBeUndefined();
    expect(added).toHaveBeenCalledWith("RunFailed", "Count", 0);
    expect(added).not.toHaveBeenCalledWith("RunFailed", "Count", 1);
  });

  it("makes the scheduled run wait for a re-score holding the lake, then run, instead of failing into the dead letters", async () => {
    await lake.put(
      MODEL_LAYOUT.lock,
      JSON.stringify({ run_id: "late-re-score", host: "elsewhere", started_at: new Date().toISOString() }),
    );
    const slept: number[] = [];
    fake.script(...tableScripts());
    const { handler, added } = handlerUnderTest(sqlDir, {
      ingestPollMs: 15_000,
      sleep: async (ms) => {
        slept.push(ms);
        // The re-score ends after the second poll.
        if (slept.length === 2) await lake.delete([MODEL_LAYOUT.lock]);
      },
    });

    const result = await handler(EVENT, context);

    expect(result).toMatchObject({ runId: EVENT.executionId, asOf: AS_OF, rows: 2 });
    expect(slept).toEqual([15_000, 15_000]);
    expect(added).toHaveBeenCalledWith("RunFailed", "Count", 0);
  });

  it("fails a scheduled run the lock keeps out for a third of the time left, for Lambda to retry", async () => {
    await lake.put(
      MODEL_LAYOUT.lock,
      JSON.stringify({ run_id: "late-re-score", host: "elsewhere", started_at: new Date().toISOString() }),
    );
    const slept: number[] = [];
    const { handler } = handlerUnderTest(sqlDir, {
      ingestPollMs: 60_000,
      sleep: async (ms) => {
        slept.push(ms);
      },
    });

    await expect(handler(EVENT, { getRemainingTimeInMillis: () => 900_000 })).rejects.toMatchObject({
      code: "run_locked",
    });
    // 300 s: five polls of a minute.
    expect(slept).toEqual([60_000, 60_000, 60_000, 60_000, 60_000]);
  });

  it("refuses a check event without its fields, naming what it expects", async () => {
    await expect(
      handlerUnderTest().handler({ source: "crmlake.late-drops", executionId: "x" }, context),
    ).rejects.toThrow(
      /Invalid late-drop check event \(scheduledTime: .*\)\. Expected \{"source": "crmlake\.late-drops"/,
    );
  });
});
