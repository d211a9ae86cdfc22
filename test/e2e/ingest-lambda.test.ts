import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { openDuckDB } from "../../functions/engines/duckdb/session.ts";
import { S3ObjectStore } from "../../functions/storage/s3.ts";
import { type S3TestServer, startS3Server } from "../helpers/s3-server.ts";

/** An SQS record whose body is the S3 notification S3 itself sends (key URL-encoded, `+` for spaces). */
function sqsRecord(messageId: string, body: string): SQSRecord {
  return {
    messageId,
    receiptHandle: `handle-${messageId}`,
    body,
    attributes: {
      ApproximateReceiveCount: "1",
      SentTimestamp: "1717000000000",
      SenderId: "AIDAEXAMPLE",
      ApproximateFirstReceiveTimestamp: "1717000000001",
    },
    messageAttributes: {},
    md5OfBody: "",
    eventSource: "aws:sqs",
    eventSourceARN: "arn:aws:sqs:us-east-1:123456789012:crmlake-ingest",
    awsRegion: "us-east-1",
  };
}

function s3Notification(bucket: string, key: string, size = 100): string {
  return JSON.stringify({
    Records: [
      {
        eventVersion: "2.1",
        eventSource: "aws:s3",
        awsRegion: "us-east-1",
        eventTime: "2024-06-01T00:00:00.000Z",
        eventName: "ObjectCreated:Put",
        userIdentity: { principalId: "AWS:EXAMPLE" },
        requestParameters: { sourceIPAddress: "127.0.0.1" },
        responseElements: { "x-amz-request-id": "REQ", "x-amz-id-2": "ID2" },
        s3: {
          s3SchemaVersion: "1.0",
          configurationId: "crmlake-landing",
          bucket: { name: bucket, ownerIdentity: { principalId: "EXAMPLE" }, arn: `arn:aws:s3:::${bucket}` },
          object: {
            key: encodeURIComponent(key).replaceAll("%2F", "/").replaceAll("%20", "+"),
            size,
            eTag: "0123456789abcdef",
            sequencer: "0A1B2C3D4E5F678901",
          },
        },
      },
    ],
  });
}

const CSV = [
  "order_id,customer_id,ordered_at,amount",
  "o1,c1,2024-01-15 10:00:00,10.50",
  "o2,,2024-01-16 11:00:00,3.00",
  "o3,c2,2024-02-01 09:30:00.250,-2.00",
].join("\n");

describe("ingest Lambda on a real S3-compatible server", () => {
  let server: S3TestServer;
  let handler: (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse>;
  let lake: S3ObjectStore;
  /** The handler's WARN lines (a rejected drop is logged at WARN), parsed. */
  const warnings: Record<string, unknown>[] = [];
  /** The handler's metrics (EMF publishing is off): the alarms watch these names. */
  const metricNames = () => added.mock.calls.map(([name]) => name);
  const added = vi.spyOn(Metrics.prototype, "addMetric");

  beforeAll(async () => {
    server = await startS3Server(["landing", "lake"]);
    process.env.LAKE_BUCKET = "lake";
    process.env.CRMLAKE_S3_ENDPOINT = server.endpoint;
    process.env.AWS_ACCESS_KEY_ID = "S3RVER";
    process.env.AWS_SECRET_ACCESS_KEY = "S3RVER";
    process.env.AWS_REGION = "us-east-1";
    process.env.POWERTOOLS_METRICS_DISABLED = "true";
    process.env.POWERTOOLS_LOG_LEVEL = "WARN";
    // Dev mode makes the logger write through the global console, where the test reads its WARN lines.
    process.env.POWERTOOLS_DEV = "true";
    vi.spyOn(console, "warn").mockImplementation((line: unknown) => {
      // Metrics' own notices ("No application metrics to publish…") are plain text.
      if (String(line).startsWith("{")) warnings.push(JSON.parse(String(line)) as Record<string, unknown>);
    });
    process.env.CRMLAKE_WORK_DIR = await mkdtemp(join(tmpdir(), "crmlake-lambda-"));
    // The largest drop one invocation takes, as the event states it (test files are a few hundred bytes).
    process.env.CRMLAKE_MAX_DROP_BYTES = "1000000";
    ({ handler } = await import("../../functions/ingest.ts"));
    lake = new S3ObjectStore({ bucket: "lake", client: server.client });
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await server?.stop();
  });

  const put = (key: string, body: string) =>
    server.client.send(new PutObjectCommand({ Bucket: "landing", Key: key, Body: body }));

  async function readCurated(): Promise<Record<string, unknown>[]> {
    const dir = await mkdtemp(join(tmpdir(), "crmlake-read-"));
    const keys = (await lake.list("curated/transactions/")).map((o) => o.key);
    for (const key of keys) await lake.getToFile(key, join(dir, key));
    const session = await openDuckDB({ threads: 1 });
    try {
      const reader = await session.connection.runAndReadAll(
        `SELECT order_id, customer_id, ordered_at, amount, order_month FROM read_parquet('${dir}/**/*.parquet', hive_partitioning = true, hive_types_autocast = false) ORDER BY order_id`,
      );
      return reader.getRowObjectsJson() as Record<string, unknown>[];
    } finally {
      session.close();
    }
  }

  it("converts a landed CSV into partitioned Parquet, quarantine and ledger in the lake bucket", async () => {
    await put("transactions/day one.csv", CSV);
    const response = await handler({
      Records: [sqsRecord("m1", s3Notification("landing", "transactions/day one.csv"))],
    });
    expect(response.batchItemFailures).toEqual([]);

    const keys = (await lake.list("")).map((o) => o.key);
    expect(keys.filter((k) => k.startsWith("curated/"))).toEqual([
      // Named after the drop and its version (ADR 0010): no attempt overwrites another's files.
      expect.stringMatching(
        /^curated\/transactions\/order_month=2024-01\/day-one-[0-9a-f]{10}__\d{8}T\d{9}Z-[0-9a-f]{6}\.parquet$/,
      ),
      expect.stringMatching(
        /^curated\/transactions\/order_month=2024-02\/day-one-[0-9a-f]{10}__\d{8}T\d{9}Z-[0-9a-f]{6}\.parquet$/,
      ),
    ]);
    expect(keys.some((k) => /^quarantine\/dataset=transactions\/day-one-.*\.parquet$/.test(k))).toBe(true);
    const ledgerKey = keys.find((k) => k.startsWith("ledger/drops/"));
    expect(ledgerKey).toBeDefined();
    const ledger = JSON.parse(Buffer.from((await lake.get(ledgerKey ?? "")) ?? []).toString("utf8"));
    expect(ledger).toMatchObject({
      source: "s3://landing/transactions/day one.csv",
      status: "ok",
      rows_in: 3,
      rows_ok: 2,
      rows_quarantined: 1,
      quarantine_reasons: { missing_customer_id: 1 },
      // The ok rows' order days (ADR 0016): o2, quarantined, counts for nothing.
      first_business_day: "2024-01-15",
      last_business_day: "2024-02-01",
    });
    expect(await readCurated()).toEqual([
      {
        order_id: "o1",
        customer_id: "c1",
        ordered_at: "2024-01-15 10:00:00",
        amount: "10.50",
        order_month: "2024-01",
      },
      {
        order_id: "o3",
        customer_id: "c2",
        ordered_at: "2024-02-01 09:30:00.25",
        amount: "-2.00",
        order_month: "2024-02",
      },
    ]);
  });

  it("is harmless when S3 or SQS delivers the same event again", async () => {
    const before = (await lake.list("")).map((o) => o.key);
    const response = await handler({
      Records: [sqsRecord("m2", s3Notification("landing", "transactions/day one.csv"))],
    });
    expect(response.batchItemFailures).toEqual([]);
    expect((await lake.list("")).map((o) => o.key)).toEqual(before);
    expect(await readCurated()).toHaveLength(2);
  });

  it("applies the source profile named in the key", async () => {
    await server.client.send(
      new PutObjectCommand({
        Bucket: "landing",
        Key: "profiles/shop.json",
        Body: JSON.stringify({ rename: { Kunde: "customer_id" }, delimiter: ";" }),
      }),
    );
    await put("transactions/shop/2024-03.csv", "order_id;Kunde;ordered_at;amount\nx1;k1;2024-03-03;5\n");
    const response = await handler({
      Records: [sqsRecord("m3", s3Notification("landing", "transactions/shop/2024-03.csv"))],
    });
    expect(response.batchItemFailures).toEqual([]);
    expect((await readCurated()).map((r) => [r.order_id, r.customer_id])).toContainEqual(["x1", "k1"]);
  });

  it.each([
    [
      "is not JSON",
      '{"delimiter": ";",',
      /^Source profile s3:\/\/landing\/profiles\/broken-json\.json: not valid JSON \(/,
    ],
    [
      "breaks the schema",
      JSON.stringify({ delimiter: ";", renames: {} }),
      'Source profile s3://landing/profiles/broken-schema.json: unknown key "renames" at the top level',
    ],
  ])(
    "rejects a drop whose landing profile %s, naming the profile, and does not retry it",
    async (what, profile, message) => {
      const name = what === "is not JSON" ? "broken-json" : "broken-schema";
      await put(`profiles/${name}.json`, profile);
      await put(
        `transactions/${name}/2024-04.csv`,
        "order_id;customer_id;ordered_at;amount\nb1;k1;2024-04-01;5\n",
      );
      warnings.length = 0;
      const response = await handler({
        Records: [sqsRecord(`m-${name}`, s3Notification("landing", `transactions/${name}/2024-04.csv`))],
      });
      expect(response.batchItemFailures).toEqual([]);
      expect(warnings).toEqual([
        expect.objectContaining({
          message: "drop rejected",
          key: `transactions/${name}/2024-04.csv`,
          code: "bad_profile",
          error: expect.stringMatching(message),
        }),
      ]);
      expect((await readCurated()).map((r) => r.order_id)).not.toContain("b1");
    },
  );

  it("records a file the user must fix as rejected and does not retry it", async () => {
    await put("transactions/broken.csv", "order_id,amount\no1,1\n");
    added.mockClear();
    const response = await handler({
      Records: [sqsRecord("m4", s3Notification("landing", "transactions/broken.csv"))],
    });
    expect(response.batchItemFailures).toEqual([]);
    const rejected = (await lake.list("ledger/rejected/")).map((o) => o.key);
    expect(rejected).toEqual([expect.stringMatching(/^ledger\/rejected\/broken-/)]);
    // The rejected-files alarm (IngestRejectedFiles) watches DropsRejected.
    expect(added).toHaveBeenCalledWith("DropsRejected", "Count", 1);
    expect(metricNames()).not.toContain("DropsIngested");
  });

  it("counts a file recorded as a duplicate apart from rejected files: only these fire IngestRejectedFiles", async () => {
    // (s3rver has no conditional writes, so a real duplicate cannot be produced here: test/unit/ingest.test.ts
    // records one; this is the handler's classification of its codes.)
    const { skippedDropMetric } = await import("../../functions/ingest.ts");
    expect(skippedDropMetric("duplicate_drop")).toBe("DropsDuplicate");
    expect(skippedDropMetric("duplicate_in_progress")).toBe("DropsDuplicate");
    for (const code of ["missing_column", "too_large", "corrupt_gzip", "profile_dataset_mismatch"]) {
      expect(skippedDropMetric(code)).toBe("DropsRejected");
    }
  });

  it("fails only the poison message of a batch, so SQS dead-letters it without blocking the others", async () => {
    await put("customers/customers.csv", "customer_id,country\nc1,UK\n");
    const response = await handler({
      Records: [
        sqsRecord("poison", "this is not an S3 event"),
        sqsRecord("good", s3Notification("landing", "customers/customers.csv")),
        sqsRecord("missing", s3Notification("landing", "customers/gone.csv")),
      ],
    });
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: "poison" }, { itemIdentifier: "missing" }]);
    expect((await lake.list("curated/customers/")).length).toBe(1);
  });

  it("refuses a drop larger than the function can hold from the event's size, as too_large, without retrying", async () => {
    await put("transactions/huge.csv", CSV);
    warnings.length = 0;
    added.mockClear();
    const response = await handler({
      Records: [sqsRecord("m-huge", s3Notification("landing", "transactions/huge.csv", 5_000_000))],
    });
    expect(response.batchItemFailures).toEqual([]);
    expect(warnings).toEqual([
      expect.objectContaining({ message: "drop rejected", code: "too_large", key: "transactions/huge.csv" }),
    ]);
    // Both alarms: the file is too large (IngestDropTooLarge), and a whole file was refused (IngestRejectedFiles).
    expect(metricNames()).toEqual(["DropsTooLarge", "DropsRejected"]);
    const [record] = (await lake.list("ledger/rejected/huge-")).map((o) => o.key);
    const text = Buffer.from((await lake.get(record ?? "")) ?? []).toString();
    expect(JSON.parse(text)).toMatchObject({
      status: "rejected",
      error_code: "too_large",
      size_bytes: 5_000_000,
      source: "s3://landing/transactions/huge.csv",
    });
  });

  it("fails the message, to be retried, when the deadline is too close: no ledger record, nothing visible", async () => {
    await put("transactions/late.csv", CSV.replaceAll("o", "late-o"));
    const before = (await lake.list("")).map((o) => o.key);
    const errors: string[] = [];
    const spy = vi.spyOn(console, "error").mockImplementation((line: unknown) => {
      errors.push(String(line));
    });
    try {
      const context = { getRemainingTimeInMillis: () => 30_000 } as Context;
      const response = await handler(
        { Records: [sqsRecord("m-late", s3Notification("landing", "transactions/late.csv"))] },
        context,
      );
      expect(response.batchItemFailures).toEqual([{ itemIdentifier: "m-late" }]);
    } finally {
      spy.mockRestore();
    }
    expect(errors.join("\n")).toMatch(/"code": ?"deadline"/);
    // Neither a rejection nor a commit nor a curated file: the retry starts from scratch. The one new object
    // is the content claim, released (its lease ended), so the retry may claim the same bytes.
    const added = (await lake.list("")).map((o) => o.key).filter((key) => !before.includes(key));
    expect(added).toEqual([expect.stringMatching(/^ledger\/content\//)]);
    const claim = JSON.parse(Buffer.from((await lake.get(added[0] ?? "")) ?? []).toString());
    expect(Date.parse(claim.lease_until)).toBeLessThanOrEqual(Date.now());
  });

  it("ignores S3's test event", async () => {
    const response = await handler({
      Records: [
        sqsRecord("t", JSON.stringify({ Service: "Amazon S3", Event: "s3:TestEvent", Bucket: "landing" })),
      ],
    });
    expect(response.batchItemFailures).toEqual([]);
  });
});
