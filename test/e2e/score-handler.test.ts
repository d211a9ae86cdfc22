/**
 * The scoring handler end to end, on loopback: the real runner, the real AthenaWarehouse (UNLOAD
 * materialization) talking to the scripted Athena (test/helpers/athena-fake.ts), and S3ModelOutputs on a
 * real s3rver. The fake runs no SQL, so a client middleware plays Athena's part of UNLOAD: it writes a
 * Parquet-named object under the statement's TO location, as Athena would.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import type { AthenaClient } from "@aws-sdk/client-athena";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { MODEL_LAYOUT } from "../../functions/core/runner/layout.ts";
import { S3ObjectStore } from "../../functions/storage/s3.ts";
import { AthenaFake, type FakeQueryScript } from "../helpers/athena-fake.ts";
import { type S3TestServer, startS3Server } from "../helpers/s3-server.ts";

vi.stubEnv("LAKE_BUCKET", "unused-at-import");
vi.stubEnv("ATHENA_WORKGROUP", "unused-at-import");
vi.stubEnv("GLUE_DATABASE", "unused_at_import");
const { createScoringHandler } = await import("../../functions/score.ts");

const BUCKET = "crmlake-score-handler";
const AS_OF = "2024-01-31";
const EVENT = {
  source: "crmlake.schedule",
  scheduledTime: "2024-02-01T03:00:00Z",
  timeZone: "Etc/UTC",
  executionId: "0a1b2c3d-0000-4000-8000-000000000001",
};

const STG = `-- question: Lines as of the run.
-- grain: one row per line
-- depends_on: none
-- sources: transactions
-- materialized: view
-- column customer_id: Customer.
-- column amount: Amount.
select customer_id, amount from transactions where CAST(ordered_at AS DATE) <= {{ as_of }}
`;

const TOTALS = `-- question: Revenue per customer.
-- grain: one row per customer
-- depends_on: stg_lines
-- unique_key: customer_id
-- column customer_id: Customer.
-- column revenue: Revenue.
select customer_id, CAST(SUM(amount) AS DECIMAL(18,2)) AS revenue
from stg_lines group by customer_id
`;

/** Bytes the UNLOAD of customer_totals reports having scanned. */
const SCANNED = 50 * 1024 * 1024;

/** What Athena answers for the one table model, customer_totals, with 2 rows. */
function tableScripts(unload: FakeQueryScript = {}): FakeQueryScript[] {
  return [
    {
      match: "table_name = 'customer_totals__body'",
      columns: [
        { name: "column_name", type: "varchar" },
        { name: "data_type", type: "varchar" },
      ],
      rows: [
        ["customer_id", "varchar"],
        ["revenue", "decimal(18,2)"],
      ],
    },
    { match: /^UNLOAD/, updateCount: 2, dataScannedBytes: SCANNED, ...unload },
    {
      match: "AS duplicate_keys",
      columns: [
        { name: "duplicate_keys", type: "bigint" },
        { name: "null_keys", type: "bigint" },
      ],
      rows: [["0", "0"]],
    },
    {
      match: `WHERE as_of = DATE '${AS_OF}'`,
      columns: [{ name: "n", type: "bigint" }],
      rows: [["2"]],
    },
  ];
}

let server: S3TestServer;
let fake: AthenaFake;
let athena: AthenaClient;
let sqlDir = "";
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
  await writeFile(join(sqlDir, "staging", "stg_lines.sql"), STG);
  await writeFile(join(sqlDir, "marts", "customer_totals.sql"), TOTALS);
});

afterAll(async () => {
  athena?.destroy();
  await fake?.close();
  await server?.stop();
  if (root !== "") await rm(root, { recursive: true, force: true });
  vi.unstubAllEnvs();
});

beforeEach(async () => {
  lakePrefix = `lake-${++lakeCounter}`;
  lake = new S3ObjectStore({ bucket: BUCKET, prefix: lakePrefix, client: server.client });
  // The last good run of this as_of (two files), and an older as_of that must stay.
  await lake.put(`models/customer_totals/as_of=${AS_OF}/old-part-1`, "old rows");
  await lake.put(`models/customer_totals/as_of=${AS_OF}/old-part-2`, "old rows");
  await lake.put("models/customer_totals/as_of=2024-01-30/part", "older run");
});

function handlerUnderTest() {
  const metrics = new Metrics({ namespace: "crmlake", serviceName: "score" });
  const added = vi.spyOn(metrics, "addMetric");
  vi.spyOn(metrics, "publishStoredMetrics").mockReturnValue(metrics);
  const handler = createScoringHandler({
    lakeBucket: BUCKET,
    lakePrefix,
    workGroup: "crmlake",
    database: "crmlake_db",
    config: "",
    s3: server.client,
    athena,
    sqlDir,
    athenaOptions: { poll: { initialMs: 1, maxMs: 2 } },
    logger: new Logger({ serviceName: "crmlake-score", logLevel: "SILENT" }),
    metrics,
  });
  return { handler, added };
}

const context = { getRemainingTimeInMillis: () => 900_000 };

describe("scoring handler on the scripted Athena and s3rver", () => {
  it("runs the models as of the day before, publishes the partition, records the run, counts RunFailed 0", async () => {
    fake.script(...tableScripts());
    const before = fake.queries.length;
    const { handler, added } = handlerUnderTest();

    const result = await handler(EVENT, context);

    expect(result).toMatchObject({ asOf: AS_OF, models: 2, rows: 2 });
    const keys = (await lake.list("")).map((o) => o.key);
    expect(keys).toEqual([
      "models/customer_totals/as_of=2024-01-30/part",
      "models/customer_totals/as_of=2024-01-31/20240201_030000_00001_abcde_part0",
      MODEL_LAYOUT.runRecord(result.runId),
    ]);
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
    const runDb = `crmlake_db_run_${result.runId.toLowerCase().replace(/-/g, "_")}`;
    expect(queries[0]?.sql).toBe(
      `CREATE DATABASE IF NOT EXISTS ${runDb} COMMENT 'crmlake run database: views over the inputs and the tables of one model run, dropped when the run ends'`,
    );
    expect(queries.every((q) => q.workGroup === "crmlake")).toBe(true);
    expect(queries.some((q) => q.sql.startsWith("CREATE TABLE"))).toBe(false); // UNLOAD, never CTAS
    expect(queries.find((q) => q.sql.startsWith("UNLOAD"))?.sql).toContain(
      `TO 's3://${BUCKET}/${lakePrefix}/runs/staging/${result.runId}/customer_totals/as_of=${AS_OF}/'`,
    );
    expect(queries.at(-1)?.sql).toBe(`DROP DATABASE IF EXISTS ${runDb} CASCADE`);
    expect(added).toHaveBeenCalledWith("RunFailed", "Count", 0);
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
    const published = keys.filter((k) => k.startsWith("models/"));
    expect(published).toEqual([
      "models/customer_totals/as_of=2024-01-30/part",
      "models/customer_totals/as_of=2024-01-31/old-part-1",
      "models/customer_totals/as_of=2024-01-31/old-part-2",
    ]);
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
});
