/**
 * The Athena adapter against a scripted Athena on loopback (test/helpers/athena-fake.ts): the real
 * AthenaClient serialises each request and parses each answer, so tokens, contexts, error shapes and
 * paging are exercised as they would be against AWS. Time is a fake clock: every test takes milliseconds.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { QueryFailedError } from "../../functions/core/errors.ts";
import type { InputSnapshot } from "../../functions/core/ledger/ledger.ts";
import {
  AthenaQueryError,
  AthenaQueryRunner,
  type AthenaQueryRunnerOptions,
  AthenaWarehouse,
  type AthenaWarehouseOptions,
  athenaSql,
  clientRequestToken,
  hiveType,
  normaliseDecimal,
  queryCostUsd,
  runDatabaseName,
} from "../../functions/engines/athena/warehouse.ts";
import { AthenaFake, type FakeQueryScript, fakeClock, immediateSdkRetries } from "../helpers/athena-fake.ts";

let fake: AthenaFake;

beforeEach(async () => {
  fake = await AthenaFake.start();
});

afterEach(async () => {
  await fake.close();
});

function runner(options: Partial<AthenaQueryRunnerOptions> = {}) {
  const clock = fakeClock();
  const athena = new AthenaQueryRunner({
    client: fake.client(),
    workGroup: "crmlake",
    tokenScope: "run-1",
    clock,
    random: () => 0.5,
    ...options,
  });
  return { clock, athena };
}

async function failure(promise: Promise<unknown>): Promise<AthenaQueryError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(QueryFailedError);
    expect(error).toBeInstanceOf(AthenaQueryError);
    return error as AthenaQueryError;
  }
  throw new Error("expected the promise to reject");
}

const MB = 2 ** 20;

describe("AthenaQueryRunner: running a statement", () => {
  it("starts with the workgroup, context, parameters and an idempotency token, and records statistics and cost", async () => {
    fake.script({ match: "SELECT", dataScannedBytes: 3 * 2 ** 40, engineExecutionTimeMs: 1234 });
    const { athena } = runner();
    const done = await athena.runQuery("SELECT 1 WHERE x = ?", {
      database: "crm_run",
      parameters: ["'usa'"],
      label: "probe",
    });

    const [start] = fake.inputsOf("StartQueryExecution");
    expect(start).toEqual({
      QueryString: "SELECT 1 WHERE x = ?",
      ClientRequestToken: clientRequestToken("run-1", 0, "SELECT 1 WHERE x = ?", 0),
      WorkGroup: "crmlake",
      QueryExecutionContext: { Database: "crm_run", Catalog: "AwsDataCatalog" },
      ExecutionParameters: ["'usa'"],
    });
    expect(String(start?.ClientRequestToken)).toMatch(/^crmlake-[0-9a-f]{64}$/);
    expect(done.queryExecutionId).toBe(fake.queries[0]?.id);
    expect(done.stats).toMatchObject({
      label: "probe",
      state: "SUCCEEDED",
      statementType: "DML",
      dataScannedBytes: 3 * 2 ** 40,
      engineExecutionTimeMs: 1234,
      costUsd: 15,
      attempt: 1,
    });
    expect(athena.usage()).toEqual({
      queries: 1,
      dataScannedBytes: 3 * 2 ** 40,
      engineExecutionTimeMs: 1234,
      costUsd: 15,
    });
  });

  it("gives the same statement in the same run the same token, and another run or statement another", () => {
    const a = clientRequestToken("run-1", 3, "SELECT 1", 0);
    expect(clientRequestToken("run-1", 3, "SELECT 1", 0)).toBe(a);
    expect(clientRequestToken("run-2", 3, "SELECT 1", 0)).not.toBe(a);
    expect(clientRequestToken("run-1", 4, "SELECT 1", 0)).not.toBe(a);
    expect(clientRequestToken("run-1", 3, "SELECT 1", 1)).not.toBe(a);
    expect(a.length).toBeGreaterThanOrEqual(32);
    expect(a.length).toBeLessThanOrEqual(128);
  });

  it("polls 200 ms doubling while QUEUED and RUNNING, RUNNING back to QUEUED included", async () => {
    fake.script({
      states: ["QUEUED", "RUNNING", "QUEUED", "RUNNING", "RUNNING", "RUNNING", "RUNNING", "SUCCEEDED"],
    });
    const { athena, clock } = runner();
    await athena.runQuery("SELECT 1");
    expect(clock.slept).toEqual([200, 400, 800, 1600, 3200, 5000, 5000]);
    expect(fake.inputsOf("GetQueryExecution")).toHaveLength(8);
    expect(fake.inputsOf("StopQueryExecution")).toHaveLength(0);
  });

  it("fails a FAILED statement with Athena's message, error type and query id, and does not retry it", async () => {
    fake.script({
      states: [
        "RUNNING",
        {
          state: "FAILED",
          reason: "COLUMN_NOT_FOUND: line 1:8: Column 'x' cannot be resolved",
          error: { category: 2, type: 1306, retryable: false },
        },
      ],
    });
    const { athena } = runner();
    const error = await failure(
      athena.runQuery("SELECT x FROM t", { label: "materialize customer_rfm (CTAS)" }),
    );
    const id = fake.queries[0]?.id ?? "";
    expect(error.code).toBe("athena_failed");
    expect(error.message).toBe(
      `Athena query ${id} (materialize customer_rfm (CTAS)) failed [user error, type 1306]: COLUMN_NOT_FOUND: line 1:8: Column 'x' cannot be resolved`,
    );
    expect(error.queryExecutionId).toBe(id);
    expect(error.errorType).toBe(1306);
    expect(fake.queries).toHaveLength(1);
    expect(athena.history[0]).toMatchObject({ state: "FAILED", costUsd: 0 });
  });

  it("resubmits a FAILED statement that Athena marks Retryable, with a new token, and succeeds", async () => {
    const transient = {
      state: "FAILED" as const,
      reason: "GENERIC_INTERNAL_ERROR: internal error",
      error: { category: 1, type: 401, retryable: true },
    };
    fake.script({ states: [transient] }, { states: [transient] }, { states: ["SUCCEEDED"] });
    const { athena } = runner();
    const done = await athena.runQuery("SELECT 1");
    expect(fake.queries).toHaveLength(3);
    const tokens = new Set(fake.queries.map((q) => q.token));
    expect(tokens.size).toBe(3);
    expect(done.queryExecutionId).toBe(fake.queries[2]?.id);
    expect(done.stats.attempt).toBe(3);
    expect(athena.history.map((h) => h.state)).toEqual(["FAILED", "FAILED", "SUCCEEDED"]);
  });

  it("stops resubmitting a retryable failure after maxFailedRetries and says how many attempts it made", async () => {
    const transient = {
      state: "FAILED" as const,
      reason: "GENERIC_INTERNAL_ERROR: internal error",
      error: { category: 1, type: 401, retryable: true },
    };
    fake.script({ states: [transient] }, { states: [transient] });
    const { athena } = runner({ maxFailedRetries: 1 });
    const error = await failure(athena.runQuery("SELECT 1"));
    expect(fake.queries).toHaveLength(2);
    expect(error.message).toContain(
      `Athena query ${fake.queries[1]?.id} (SELECT 1) failed [system error, type 401]`,
    );
    expect(error.message).toContain("(after 2 attempts)");
    expect(error.retryable).toBe(true);
  });

  it("names the workgroup's bytes-scanned cutoff when Athena cancels a statement for it", async () => {
    fake.script({
      dataScannedBytes: 10_737_418_240,
      states: ["RUNNING", { state: "CANCELLED", reason: "Bytes scanned limit was exceeded" }],
    });
    const { athena } = runner();
    const error = await failure(
      athena.runQuery("SELECT * FROM transactions", { label: "read transactions" }),
    );
    const id = fake.queries[0]?.id ?? "";
    expect(error.code).toBe("athena_bytes_scanned_cutoff");
    expect(error.message).toContain(
      `Athena query ${id} (read transactions) was cancelled by the workgroup crmlake's bytes-scanned cutoff`,
    );
    expect(error.message).toContain("after scanning 10737418240 bytes: Bytes scanned limit was exceeded");
    expect(error.state).toBe("CANCELLED");
    // A cancelled query is billed for what it scanned.
    expect(athena.history[0]?.costUsd).toBeCloseTo((10_737_418_240 / 2 ** 40) * 5, 12);
  });

  it("reports any other cancellation with Athena's reason and the query id", async () => {
    fake.script({ states: [{ state: "CANCELLED", reason: "Query cancelled by user" }] });
    const { athena } = runner();
    const error = await failure(athena.runQuery("SELECT 1"));
    expect(error.code).toBe("athena_cancelled");
    expect(error.message).toBe(
      `Athena query ${fake.queries[0]?.id} (SELECT 1) was cancelled: Query cancelled by user`,
    );
  });

  it("retries TooManyRequestsException and ThrottlingException with jittered backoff, resending the same token", async () => {
    fake.failNext(
      "StartQueryExecution",
      {
        type: "TooManyRequestsException",
        message: "You have exceeded the limit for the number of queries you can run concurrently",
        fields: { Reason: "CONCURRENT_QUERY_LIMIT_EXCEEDED" },
      },
      { type: "ThrottlingException", message: "Rate exceeded" },
    );
    const { athena, clock } = runner();
    await athena.runQuery("SELECT 1");
    const starts = fake.inputsOf("StartQueryExecution");
    expect(starts).toHaveLength(3);
    expect(new Set(starts.map((s) => s.ClientRequestToken)).size).toBe(1);
    expect(fake.queries).toHaveLength(1);
    // full jitter with random() = 0.5: half of 500 ms, then half of 1000 ms; then the first poll interval
    expect(clock.slept).toEqual([250, 500]);
  });

  it("gives up on throttling after maxRetries with Athena's reason in the message", async () => {
    const throttled = {
      type: "TooManyRequestsException",
      message: "Concurrent query limit reached",
      fields: { Reason: "CONCURRENT_QUERY_LIMIT_EXCEEDED" },
    };
    fake.failNext("StartQueryExecution", throttled, throttled, throttled);
    const { athena } = runner({ throttle: { maxRetries: 2 } });
    const error = await failure(athena.runQuery("SELECT 1", { label: "probe" }));
    expect(error.code).toBe("athena_throttled");
    expect(error.message).toBe(
      "Athena kept refusing to start the statement (probe) after 3 attempts: TooManyRequestsException (CONCURRENT_QUERY_LIMIT_EXCEEDED): Concurrent query limit reached",
    );
    expect(fake.queries).toHaveLength(0);
  });

  it("keeps the token when the SDK's own retry middleware resends a throttled start", async () => {
    fake.failNext("StartQueryExecution", { type: "ThrottlingException", message: "Rate exceeded" });
    const { athena, clock } = runner({
      client: fake.client({ maxAttempts: 3, retryStrategy: immediateSdkRetries(3) }),
    });
    await athena.runQuery("SELECT 1");
    const starts = fake.inputsOf("StartQueryExecution");
    expect(starts).toHaveLength(2);
    expect(starts[0]?.ClientRequestToken).toBe(starts[1]?.ClientRequestToken);
    expect(clock.slept).toEqual([]); // the SDK retried, not this layer
  });

  it("retries a throttled GetQueryExecution while polling", async () => {
    fake.script({ states: ["RUNNING", "SUCCEEDED"] });
    fake.failNext("GetQueryExecution", { type: "ThrottlingException", message: "Rate exceeded" });
    const { athena } = runner();
    const done = await athena.runQuery("SELECT 1");
    expect(done.stats.state).toBe("SUCCEEDED");
    expect(fake.inputsOf("GetQueryExecution")).toHaveLength(3);
  });

  it("reports each throttled answer to onThrottled (the AthenaThrottled metric), and nothing else", async () => {
    fake.script({
      states: ["RUNNING", "SUCCEEDED"],
      columns: [{ name: "n", type: "integer" }],
      rows: [["1"]],
    });
    fake.failNext(
      "StartQueryExecution",
      {
        type: "TooManyRequestsException",
        message: "Concurrent query limit reached",
        fields: { Reason: "CONCURRENT_QUERY_LIMIT_EXCEEDED" },
      },
      // A 5xx is retried too, but it is not throttling.
      { type: "InternalServerException", message: "Internal error", status: 500 },
    );
    fake.failNext("GetQueryExecution", { type: "ThrottlingException", message: "Rate exceeded" });
    fake.failNext("GetQueryResults", { type: "ThrottlingException", message: "Rate exceeded" });
    const throttled: unknown[] = [];
    const { athena } = runner({ onThrottled: (event) => throttled.push(event) });
    const result = await athena.query("SELECT 1 AS n", { label: "probe" });
    expect(result.rows).toEqual([{ n: 1 }]);
    expect(throttled).toEqual([
      {
        operation: "StartQueryExecution",
        label: "probe",
        errorName: "TooManyRequestsException",
        reason: "CONCURRENT_QUERY_LIMIT_EXCEEDED",
      },
      { operation: "GetQueryExecution", label: "probe", errorName: "ThrottlingException", reason: undefined },
      { operation: "GetQueryResults", label: "probe", errorName: "ThrottlingException", reason: undefined },
    ]);
  });

  it("reports the last throttled answer too when it gives up", async () => {
    const throttled = { type: "ThrottlingException", message: "Rate exceeded" };
    fake.failNext("StartQueryExecution", throttled, throttled);
    const events: unknown[] = [];
    const { athena } = runner({ throttle: { maxRetries: 1 }, onThrottled: (event) => events.push(event) });
    const error = await failure(athena.runQuery("SELECT 1"));
    expect(error.code).toBe("athena_throttled");
    expect(events).toHaveLength(2);
  });

  it("stops a statement still running at the Lambda deadline and names it in the error", async () => {
    fake.script({ states: ["RUNNING"] });
    const clock = fakeClock();
    const began = clock.now();
    const { athena } = runner({
      clock,
      remainingTimeMs: () => 60_000 - (clock.now() - began),
      safetyMarginMs: 15_000,
    });
    const error = await failure(athena.runQuery("SELECT * FROM big", { label: "materialize big (CTAS)" }));
    const id = fake.queries[0]?.id ?? "";
    expect(error.code).toBe("athena_deadline");
    expect(error.message).toContain(
      `Athena query ${id} (materialize big (CTAS)) was still RUNNING after 45000 ms`,
    );
    expect(error.message).toContain("the Lambda's remaining time minus a 15000 ms safety margin");
    expect(error.message).toContain("stopped it with StopQueryExecution");
    expect(fake.inputsOf("StopQueryExecution")).toEqual([{ QueryExecutionId: id }]);
    expect(clock.now() - began).toBe(45_000);
  });

  it("does not start a statement when the remaining time is already inside the safety margin", async () => {
    const { athena } = runner({ remainingTimeMs: () => 10_000, safetyMarginMs: 15_000 });
    const error = await failure(athena.runQuery("SELECT 1"));
    expect(error.code).toBe("athena_deadline");
    expect(fake.inputsOf("StartQueryExecution")).toHaveLength(0);
  });

  it("passes on Athena's text when it rejects a statement at start", async () => {
    fake.failNext("StartQueryExecution", {
      type: "InvalidRequestException",
      message: "line 1:8: mismatched input 'FORM'",
      fields: { AthenaErrorCode: "MALFORMED_QUERY" },
    });
    const { athena } = runner();
    const error = await failure(athena.runQuery("SELECT * FORM t"));
    expect(error.code).toBe("athena_rejected");
    expect(error.message).toBe(
      "Athena rejected the statement (SELECT * FORM t): InvalidRequestException: line 1:8: mismatched input 'FORM'",
    );
    expect(fake.inputsOf("StartQueryExecution")).toHaveLength(1);
  });

  it("refuses a statement longer than Athena's 262,144-byte limit without sending it", async () => {
    const { athena } = runner();
    const error = await failure(athena.runQuery(`SELECT '${"x".repeat(262_144)}'`));
    expect(error.code).toBe("athena_query_too_long");
    expect(fake.calls).toHaveLength(0);
  });
});

describe("AthenaQueryRunner: reading results", () => {
  it("reads every page (MaxResults 1000, NextToken) and drops the header row on the first page only", async () => {
    fake.script({
      columns: [{ name: "a", type: "varchar" }],
      // Pages of 2: [header, "a"], ["a", "b"], ["c", "d"]. Data rows spell the column name too, at row 1 of
      // page 1 and row 0 of page 2: only the header (row 0 of page 1) may be dropped.
      rows: [["a"], ["a"], ["b"], ["c"], ["d"]],
      pageSize: 2,
    });
    const { athena } = runner();
    const result = await athena.query("SELECT a FROM t");
    expect(result.rows).toEqual([{ a: "a" }, { a: "a" }, { a: "b" }, { a: "c" }, { a: "d" }]);
    expect(result.columns).toEqual([{ name: "a", type: "varchar" }]);
    const pages = fake.inputsOf("GetQueryResults");
    expect(pages).toHaveLength(3);
    expect(pages.map((p) => p.MaxResults)).toEqual([1000, 1000, 1000]);
    expect(pages[0]?.NextToken).toBeUndefined();
    expect(pages[1]?.NextToken).toBe(`${fake.queries[0]?.id}:2`);
  });

  it("keeps the first row of a utility statement, which has no header", async () => {
    fake.script({
      statementType: "UTILITY",
      substatementType: "SHOW_TABLES",
      columns: [{ name: "tab_name", type: "varchar" }],
      rows: [["tab_name"], ["customers"]],
    });
    const { athena } = runner();
    const result = await athena.query("SHOW TABLES");
    expect(result.rows).toEqual([{ tab_name: "tab_name" }, { tab_name: "customers" }]);
  });

  it("decodes each column type by ColumnInfo, and tells NULL from ''", async () => {
    fake.script({
      columns: [
        { name: "s", type: "varchar" },
        { name: "b", type: "boolean" },
        { name: "i", type: "integer" },
        { name: "n", type: "bigint" },
        { name: "d", type: "double" },
        { name: "m", type: "decimal", precision: 18, scale: 2 },
        { name: "dt", type: "date" },
        { name: "ts", type: "timestamp", precision: 3 },
        { name: "arr", type: "array" },
        { name: "r", type: "row" },
      ],
      rows: [
        [
          "hello",
          "true",
          "42",
          "9007199254740993",
          "1.0E7",
          "12.3",
          "2024-01-31",
          "2024-01-02 03:04:05",
          "[1, 2]",
          "{x=1, y=2.0}",
        ],
        [
          "",
          "false",
          "-7",
          "-9223372036854775808",
          "NaN",
          "12.350",
          "2000-02-29",
          "2024-01-02 03:04:05.1",
          "[]",
          "{x=null}",
        ],
        [null, null, null, null, "Infinity", "-0.5", null, "2024-01-02 03:04:05.123456", null, null],
        ["x", "true", "0", "0", "-2.5E-3", "7", "1999-12-31", "2024-01-02 03:04:05.120", "[a]", "{}"],
      ],
    });
    const { athena } = runner();
    const result = await athena.query("SELECT * FROM typed");
    expect(result.rows).toEqual([
      {
        s: "hello",
        b: true,
        i: 42,
        n: "9007199254740993",
        d: 10_000_000,
        m: "12.30",
        dt: "2024-01-31",
        ts: "2024-01-02 03:04:05.000",
        arr: "[1, 2]",
        r: "{x=1, y=2.0}",
      },
      {
        s: "",
        b: false,
        i: -7,
        n: "-9223372036854775808",
        d: "NaN",
        m: "12.35",
        dt: "2000-02-29",
        ts: "2024-01-02 03:04:05.100",
        arr: "[]",
        r: "{x=null}",
      },
      {
        s: null,
        b: null,
        i: null,
        n: null,
        d: "Infinity",
        m: "-0.50",
        dt: null,
        ts: "2024-01-02 03:04:05.123",
        arr: null,
        r: null,
      },
      {
        s: "x",
        b: true,
        i: 0,
        n: "0",
        d: -0.0025,
        m: "7.00",
        dt: "1999-12-31",
        ts: "2024-01-02 03:04:05.120",
        arr: "[a]",
        r: "{}",
      },
    ]);
    expect(result.columns.map((c) => c.type)).toEqual([
      "varchar",
      "boolean",
      "integer",
      "bigint",
      "double",
      "decimal(18,2)",
      "date",
      "timestamp(3)",
      "array",
      "row",
    ]);
  });

  it("fails on a value its column type cannot hold, naming the column, the value and the query id", async () => {
    fake.script({
      columns: [{ name: "amount", type: "decimal", precision: 18, scale: 2 }],
      rows: [["12.345"]],
    });
    const { athena } = runner();
    await expect(athena.query("SELECT amount FROM t")).rejects.toThrow(
      `Athena query ${"q-0001-0000-4000-8000-000000000000"} (SELECT amount FROM t): column amount of type decimal(18,2) has the value "12.345", which is not a valid decimal`,
    );
  });

  it("refuses to page through more rows than maxRows", async () => {
    fake.script({ columns: [{ name: "a", type: "integer" }], rows: [["1"], ["2"], ["3"]] });
    const { athena } = runner();
    const error = await failure(athena.query("SELECT a FROM t", { maxRows: 2 }));
    expect(error.code).toBe("athena_result_too_large");
    expect(error.message).toBe(
      `Athena query ${"q-0001-0000-4000-8000-000000000000"} (SELECT a FROM t) returns more than 2 rows, the most it reads through GetQueryResults; aggregate or filter in SQL`,
    );
  });
});

describe("pure helpers", () => {
  it("estimates cost: USD 5 per TB, rounded up to the MB, 10 MB minimum; DDL and failures free, CTAS charged", () => {
    const ok = { state: "SUCCEEDED", statementType: "DML", dataScannedBytes: 0 };
    expect(queryCostUsd(ok)).toBeCloseTo((10 * MB * 5) / 2 ** 40, 15);
    expect(queryCostUsd({ ...ok, dataScannedBytes: 11 * MB + 1 })).toBeCloseTo((12 * MB * 5) / 2 ** 40, 15);
    expect(queryCostUsd({ ...ok, dataScannedBytes: 2 ** 40 })).toBe(5);
    expect(
      queryCostUsd({ ...ok, dataScannedBytes: 2 ** 40 }, { usdPerTerabyte: 6.75, minimumBytes: 0 }),
    ).toBe(6.75);
    expect(queryCostUsd({ ...ok, state: "FAILED", dataScannedBytes: 2 ** 40 })).toBe(0);
    expect(queryCostUsd({ ...ok, statementType: "DDL", substatementType: "CREATE_VIEW" })).toBe(0);
    expect(
      queryCostUsd({
        ...ok,
        statementType: "DDL",
        substatementType: "CREATE_TABLE_AS_SELECT",
        dataScannedBytes: 2 ** 40,
      }),
    ).toBe(5);
  });

  it("normalises decimals to the declared scale without rounding", () => {
    expect(normaliseDecimal("12.3", 2)).toBe("12.30");
    expect(normaliseDecimal("012.300", 2)).toBe("12.30");
    expect(normaliseDecimal("-0.00", 2)).toBe("0.00");
    expect(normaliseDecimal(".5", 3)).toBe("0.500");
    expect(normaliseDecimal("5.0", 0)).toBe("5");
    expect(normaliseDecimal("1.005", 2)).toBeUndefined();
    expect(normaliseDecimal("1e3", 2)).toBeUndefined();
  });

  it("turns Athena column types into Hive DDL types", () => {
    expect(hiveType("varchar")).toBe("string");
    expect(hiveType("integer")).toBe("int");
    expect(hiveType("decimal(18,2)")).toBe("decimal(18,2)");
    expect(hiveType("timestamp(3)")).toBe("timestamp");
    expect(hiveType("array(varchar)")).toBe("array<string>");
    expect(hiveType("map(varchar, bigint)")).toBe("map<string,bigint>");
    expect(hiveType('row(a integer, "b" array(double))')).toBe("struct<a:int,b:array<double>>");
    expect(hiveType("array<struct<a:int,b:string>>")).toBe("array<struct<a:int,b:string>>");
    expect(() => hiveType("timestamp(3) with time zone")).toThrow(/Cannot declare the Athena type/);
  });

  it("names a run database after the run", () => {
    expect(runDatabaseName("crmlake", "20240131T120000123Z-a1b2c3")).toBe(
      "crmlake_run_20240131t120000123z_a1b2c3",
    );
  });
});

// ---- The Warehouse adapter.

const COLUMNS_OF: FakeQueryScript = {
  match: "information_schema.columns",
  columns: [
    { name: "column_name", type: "varchar" },
    { name: "data_type", type: "varchar" },
  ],
};

/** The run manifests a warehouse wrote: relation → body. */
const manifests = new Map<string, string>();

function warehouse(options: Partial<AthenaWarehouseOptions> = {}) {
  const clock = fakeClock();
  manifests.clear();
  const wh = new AthenaWarehouse({
    client: fake.client(),
    workGroup: "crmlake",
    inputDatabase: "crmlake",
    runDatabase: "crmlake_run_r1",
    lakeLocation: "s3://crm-lake/",
    tokenScope: "r1",
    clock,
    random: () => 0.5,
    writeInputManifest: async (relation, body) => {
      manifests.set(relation, body);
      return `s3://crm-lake/runs/manifests/r1/${relation}/`;
    },
    ...options,
  });
  return { wh, clock };
}

const LAKE_URI = "s3://crm-lake/";

/** A run's pinned inputs: two drops, one with two months and a quarantine file. */
const PINNED: InputSnapshot = {
  taken_at: "2024-03-01T00:00:00.000Z",
  drops: [
    { drop_id: "c1", dataset: "customers", version: "v1", keys: ["curated/customers/c1__v1.parquet"] },
    {
      drop_id: "d1",
      dataset: "transactions",
      version: "v2",
      keys: [
        "curated/transactions/order_month=2024-02/d1__v2.parquet",
        "curated/transactions/order_month=2024-01/d1__v2.parquet",
        "quarantine/dataset=transactions/d1__v2.parquet",
      ],
    },
  ],
};

const BODY =
  "with final as (\n  select customer_id, revenue from stg_lines\n)\n\nselect * from final -- the end";

describe("AthenaWarehouse", () => {
  it("creates the run database once and one view per input relation, reading only the pinned files", async () => {
    const { wh } = warehouse();
    await wh.attachInputs(PINNED);
    expect(fake.statements).toEqual([
      "CREATE DATABASE IF NOT EXISTS crmlake_run_r1 COMMENT 'crmlake run database: views over the inputs and the tables of one model run, dropped when the run ends'",
      "DROP TABLE IF EXISTS crmlake_run_r1.transactions__pinned",
      expect.stringMatching(
        /^CREATE EXTERNAL TABLE crmlake_run_r1\.transactions__pinned \(\n {2}`order_id` string,[\s\S]*\n {2}`order_month` string\n\)\nROW FORMAT SERDE 'org\.apache\.hadoop\.hive\.ql\.io\.parquet\.serde\.ParquetHiveSerDe'\nSTORED AS INPUTFORMAT 'org\.apache\.hadoop\.hive\.ql\.io\.SymlinkTextInputFormat'\nOUTPUTFORMAT 'org\.apache\.hadoop\.hive\.ql\.io\.HiveIgnoreKeyTextOutputFormat'\nLOCATION 's3:\/\/crm-lake\/runs\/manifests\/r1\/transactions\/'$/,
      ),
      expect.stringMatching(
        /^CREATE OR REPLACE VIEW crmlake_run_r1\.transactions AS SELECT "order_id", .*"line_number", coalesce\("order_month", regexp_extract\("\$path", '\/order_month=\(\[\^\/\]\+\)\/', 1\)\) AS "order_month" FROM crmlake_run_r1\.transactions__pinned$/,
      ),
      "DROP TABLE IF EXISTS crmlake_run_r1.customers__pinned",
      expect.stringContaining("CREATE EXTERNAL TABLE crmlake_run_r1.customers__pinned ("),
      expect.stringMatching(/^CREATE OR REPLACE VIEW crmlake_run_r1\.customers AS SELECT /),
      "CREATE OR REPLACE VIEW crmlake_run_r1.campaigns AS SELECT * FROM crmlake.campaigns WHERE false",
      "CREATE OR REPLACE VIEW crmlake_run_r1.campaign_contacts AS SELECT * FROM crmlake.campaign_contacts WHERE false",
      "CREATE OR REPLACE VIEW crmlake_run_r1.products AS SELECT * FROM crmlake.products WHERE false",
      "DROP TABLE IF EXISTS crmlake_run_r1.quarantine__pinned",
      expect.stringContaining("CREATE EXTERNAL TABLE crmlake_run_r1.quarantine__pinned ("),
      `CREATE OR REPLACE VIEW crmlake_run_r1.quarantine AS SELECT "drop_id", "line_number", "reason_code", "reason", "raw", regexp_extract("$path", '/dataset=([^/]+)/', 1) AS "dataset" FROM crmlake_run_r1.quarantine__pinned`,
      "CREATE OR REPLACE VIEW crmlake_run_r1.drops AS SELECT * FROM crmlake.drops",
    ]);
    expect(fake.queries[0]?.database).toBeUndefined();
    expect(
      fake.queries.slice(1).every((q) => q.database === "crmlake_run_r1" && q.catalog === "AwsDataCatalog"),
    ).toBe(true);
    expect(fake.queries.every((q) => q.workGroup === "crmlake")).toBe(true);
    await wh.replaceView("stg_lines", "select customer_id, amount from transactions;");
    expect(fake.statements.at(-1)).toBe(
      "CREATE OR REPLACE VIEW crmlake_run_r1.stg_lines AS\nselect customer_id, amount from transactions",
    );
    expect(fake.statements.filter((s) => s.startsWith("CREATE DATABASE"))).toHaveLength(1);
    // The manifests list exactly the pinned files, as full locations, one per line.
    expect(Object.fromEntries(manifests)).toEqual({
      transactions: `${LAKE_URI}curated/transactions/order_month=2024-01/d1__v2.parquet\n${LAKE_URI}curated/transactions/order_month=2024-02/d1__v2.parquet\n`,
      customers: `${LAKE_URI}curated/customers/c1__v1.parquet\n`,
      quarantine: `${LAKE_URI}quarantine/dataset=transactions/d1__v2.parquet\n`,
    });
  });

  it("materializes a model with a CTAS (as_of last, external_location, Parquet) and a view without as_of", async () => {
    fake.script(
      { match: "CREATE TABLE", updateCount: 42, dataScannedBytes: 20 * MB },
      {
        ...COLUMNS_OF,
        rows: [
          ["customer_id", "varchar"],
          ["revenue", "decimal(18,2)"],
          ["as_of", "varchar"],
        ],
      },
    );
    const { wh } = warehouse();
    const result = await wh.materialize({
      model: "customer_revenue",
      body: BODY,
      tableLocation: "s3://crm-lake/runs/staging/20240131T120000000Z-abc123/customer_revenue/",
      orderBy: ["customer_id"], // Athena's CTAS ignores ORDER BY: the statement has none
      partition: { column: "as_of", value: "2024-01-31" },
    });
    expect(result).toEqual({
      rows: 42,
      columns: [
        { name: "customer_id", type: "varchar" },
        { name: "revenue", type: "decimal(18,2)" },
      ],
    });
    expect(fake.statements.slice(1)).toEqual([
      [
        "CREATE TABLE crmlake_run_r1.customer_revenue__ctas",
        "WITH (",
        "  format = 'PARQUET',",
        "  write_compression = 'ZSTD',",
        "  external_location = 's3://crm-lake/runs/staging/20240131T120000000Z-abc123/customer_revenue/',",
        "  partitioned_by = ARRAY['as_of']",
        ")",
        "AS SELECT *, CAST('2024-01-31' AS varchar) AS as_of FROM (",
        "with final as (",
        "  select customer_id, revenue from stg_lines",
        ")",
        "",
        "select * from final -- the end",
        ")",
      ].join("\n"),
      [
        "SELECT column_name, data_type",
        "FROM AwsDataCatalog.information_schema.columns",
        "WHERE table_schema = 'crmlake_run_r1' AND table_name = 'customer_revenue__ctas'",
        "ORDER BY ordinal_position",
      ].join("\n"),
      'CREATE OR REPLACE VIEW crmlake_run_r1.customer_revenue AS SELECT "customer_id", "revenue" FROM crmlake_run_r1.customer_revenue__ctas',
    ]);
    expect(fake.queries[1]?.database).toBe("crmlake_run_r1");
    expect(wh.usage().queries).toBe(4);
    expect(wh.history[1]?.costUsd).toBeCloseTo((20 * MB * 5) / 2 ** 40, 15);
  });

  it("counts the rows when Athena reports no UpdateCount", async () => {
    fake.script(
      { match: "CREATE TABLE" },
      {
        ...COLUMNS_OF,
        rows: [
          ["customer_id", "varchar"],
          ["as_of", "varchar"],
        ],
      },
      { match: "COUNT(*)", columns: [{ name: "n", type: "bigint" }], rows: [["7"]] },
    );
    const { wh } = warehouse();
    const result = await wh.materialize({
      model: "customers_seen",
      body: "select customer_id from transactions",
      tableLocation: "s3://crm-lake/runs/staging/r1/customers_seen",
      orderBy: [],
      partition: { column: "as_of", value: "2024-01-31" },
    });
    expect(result.rows).toBe(7);
    expect(fake.statements.at(-1)).toBe("SELECT COUNT(*) AS n FROM crmlake_run_r1.customers_seen__ctas");
  });

  it("does not resubmit a retryable CTAS failure unless it can empty the location first", async () => {
    const transient = {
      state: "FAILED" as const,
      reason: "HIVE_CANNOT_OPEN_SPLIT: slow down",
      error: { category: 1, type: 401, retryable: true },
    };
    fake.script({ match: "CREATE TABLE", states: [transient] });
    const { wh } = warehouse();
    const request = {
      model: "m",
      body: "select 1 AS x",
      tableLocation: "s3://crm-lake/runs/staging/r1/m/",
      orderBy: [],
      partition: { column: "as_of" as const, value: "2024-01-31" },
    };
    const error = await failure(wh.materialize(request));
    expect(error.message).toContain(`Athena query ${fake.queries[1]?.id} (materialize m (CTAS)) failed`);
    expect(fake.statements.filter((s) => s.startsWith("CREATE TABLE"))).toHaveLength(1);

    const cleared: string[] = [];
    fake.script(
      { match: "CREATE TABLE", states: [transient] },
      { match: "CREATE TABLE", updateCount: 1 },
      {
        ...COLUMNS_OF,
        rows: [
          ["x", "integer"],
          ["as_of", "varchar"],
        ],
      },
    );
    const retrying = warehouse({
      tokenScope: "r1-second-invocation",
      clearLocation: async (location) => {
        cleared.push(location);
      },
    }).wh;
    await retrying.materialize(request);
    expect(cleared).toEqual(["s3://crm-lake/runs/staging/r1/m/"]);
    expect(fake.statements.filter((s) => s.startsWith("CREATE TABLE"))).toHaveLength(3);
  });

  it("materializes with UNLOAD and an external table when the workgroup enforces its result location", async () => {
    fake.script(
      {
        ...COLUMNS_OF,
        rows: [
          ["customer_id", "varchar"],
          ["tags", "array(varchar)"],
        ],
      },
      { match: "UNLOAD", updateCount: 3 },
    );
    const { wh } = warehouse({ materialization: "unload" });
    const result = await wh.materialize({
      model: "tagged",
      body: "select customer_id, tags from stg_tags",
      tableLocation: "s3://crm-lake/runs/staging/r1/tagged/",
      orderBy: [],
      partition: { column: "as_of", value: "2024-01-31" },
    });
    expect(result).toEqual({
      rows: 3,
      columns: [
        { name: "customer_id", type: "varchar" },
        { name: "tags", type: "array(varchar)" },
      ],
    });
    expect(fake.statements.slice(1)).toEqual([
      "CREATE OR REPLACE VIEW crmlake_run_r1.tagged__body AS\nselect customer_id, tags from stg_tags",
      [
        "SELECT column_name, data_type",
        "FROM AwsDataCatalog.information_schema.columns",
        "WHERE table_schema = 'crmlake_run_r1' AND table_name = 'tagged__body'",
        "ORDER BY ordinal_position",
      ].join("\n"),
      "UNLOAD (\nSELECT * FROM crmlake_run_r1.tagged__body\n)\nTO 's3://crm-lake/runs/staging/r1/tagged/as_of=2024-01-31/'\nWITH (format = 'PARQUET', compression = 'ZSTD')",
      "DROP TABLE IF EXISTS crmlake_run_r1.tagged__unloaded",
      [
        "CREATE EXTERNAL TABLE crmlake_run_r1.tagged__unloaded (",
        "  `customer_id` string,",
        "  `tags` array<string>",
        ")",
        "STORED AS PARQUET",
        "LOCATION 's3://crm-lake/runs/staging/r1/tagged/as_of=2024-01-31/'",
      ].join("\n"),
      'CREATE OR REPLACE VIEW crmlake_run_r1.tagged AS SELECT "customer_id", "tags" FROM crmlake_run_r1.tagged__unloaded',
    ]);
  });

  it("attaches the published outputs as views of the stack's model tables, which BI users read", async () => {
    fake.script(
      { match: "CREATE TABLE", updateCount: 2 },
      {
        ...COLUMNS_OF,
        rows: [
          ["customer_id", "varchar"],
          ["revenue", "decimal(18,2)"],
          ["as_of", "varchar"],
        ],
      },
    );
    const { wh } = warehouse();
    await wh.materialize({
      model: "customer_revenue",
      body: "select 1",
      tableLocation: "s3://crm-lake/models/customer_revenue/run=r1/",
      orderBy: [],
      partition: { column: "as_of", value: "2024-01-31" },
    });
    const before = fake.statements.length;
    await wh.attachPublished();
    expect(fake.statements.slice(before)).toEqual([
      `CREATE OR REPLACE VIEW crmlake_run_r1.customer_revenue AS\nSELECT * FROM ${wh.inputDatabase}.customer_revenue`,
    ]);
  });

  it("counts only a statement stopped at the deadline as an interruption, not a failed model", () => {
    const { wh } = warehouse();
    expect(wh.interrupted(new QueryFailedError("athena_deadline", "stopped at the deadline"))).toBe(true);
    expect(wh.interrupted(new QueryFailedError("athena_failed", "DIVISION_BY_ZERO"))).toBe(false);
    expect(wh.interrupted(new Error("athena_deadline"))).toBe(false);
  });

  it("queries in the run database, typed", async () => {
    fake.script(
      { match: "MAX(ordered_at)", columns: [{ name: "latest_on", type: "date" }], rows: [["2024-01-31"]] },
      {
        match: "FROM customer_revenue",
        columns: [
          { name: "customer_id", type: "varchar" },
          { name: "revenue", type: "decimal", precision: 18, scale: 2 },
        ],
        rows: [["c1", "10.5"]],
      },
    );
    const { wh } = warehouse();
    expect(await wh.query("SELECT CAST(MAX(ordered_at) AS DATE) AS latest_on FROM transactions")).toEqual({
      columns: [{ name: "latest_on", type: "date" }],
      rows: [{ latest_on: "2024-01-31" }],
    });
    expect(fake.statements[0]).toMatch(/^CREATE DATABASE IF NOT EXISTS crmlake_run_r1 /);
    expect(fake.queries[1]?.database).toBe("crmlake_run_r1");
    const table = await wh.query("SELECT customer_id, revenue FROM customer_revenue");
    expect(table.rows).toEqual([{ customer_id: "c1", revenue: "10.50" }]);
    expect(fake.queries[2]?.database).toBe("crmlake_run_r1");
  });

  it("restores a model materialized by an earlier invocation of the same run", async () => {
    fake.script(
      {
        ...COLUMNS_OF,
        match: "'done__ctas'",
        rows: [
          ["x", "integer"],
          ["as_of", "varchar"],
        ],
      },
      { match: "COUNT(*)", columns: [{ name: "n", type: "bigint" }], rows: [["5"]] },
    );
    const { wh } = warehouse();
    expect(await wh.materialized("done", "2024-01-31")).toEqual({
      rows: 5,
      columns: [{ name: "x", type: "integer" }],
    });
    expect(fake.statements).toContain(
      'CREATE OR REPLACE VIEW crmlake_run_r1.done AS SELECT "x" FROM crmlake_run_r1.done__ctas',
    );
    expect(await wh.materialized("not_done", "2024-01-31")).toBeUndefined();
  });

  it("rejects unsafe names, locations and dates before sending anything", async () => {
    const { wh } = warehouse();
    const request = {
      model: "ok_model",
      body: "select 1",
      tableLocation: "s3://crm-lake/runs/r1/ok_model/",
      orderBy: [],
      partition: { column: "as_of" as const, value: "2024-01-31" },
    };
    await expect(wh.materialize({ ...request, model: "x; DROP DATABASE crmlake" })).rejects.toThrow(
      'Invalid model name "x; DROP DATABASE crmlake"',
    );
    await expect(wh.materialize({ ...request, tableLocation: "s3://crm-lake/it's/" })).rejects.toThrow(
      /Invalid S3 location/,
    );
    await expect(
      wh.materialize({ ...request, orderBy: [], partition: { column: "as_of", value: "2024-02-30" } }),
    ).rejects.toThrow('Invalid as_of: "2024-02-30" is not a real date');
    await expect(wh.replaceView("v v", "select 1")).rejects.toThrow('Invalid view name "v v"');
    expect(() => warehouse({ runDatabase: "crmlake" })).toThrow(/must differ from the input database/);
    expect(() => warehouse({ inputs: ["Customers"] })).toThrow('Invalid relation name "Customers"');
    expect(fake.calls).toHaveLength(0);
  });

  it("drops the run database with CASCADE on close, unless asked to keep it", async () => {
    const { wh } = warehouse();
    await wh.attachInputs(PINNED);
    await wh.close();
    expect(fake.statements.at(-1)).toBe("DROP DATABASE IF EXISTS crmlake_run_r1 CASCADE");

    const kept = warehouse({ dropRunDatabaseOnClose: false, tokenScope: "r2" }).wh;
    await kept.attachInputs(PINNED);
    const count = fake.statements.length;
    await kept.close();
    expect(fake.statements).toHaveLength(count);
  });

  it("carries Athena's error text and the query id out of materialize", async () => {
    fake.script({
      match: "CREATE TABLE",
      states: [
        {
          state: "FAILED",
          reason:
            "HIVE_PATH_ALREADY_EXISTS: Target directory for table 'crmlake_run_r1.m__ctas' already exists",
          error: { category: 2, type: 1005 },
        },
      ],
    });
    const { wh } = warehouse();
    const error = await failure(
      wh.materialize({
        model: "m",
        body: "select 1 AS x",
        tableLocation: "s3://crm-lake/runs/staging/r1/m/",
        orderBy: [],
        partition: { column: "as_of", value: "2024-01-31" },
      }),
    );
    expect(error.message).toBe(
      `Athena query ${fake.queries[1]?.id} (materialize m (CTAS)) failed [user error, type 1005]: HIVE_PATH_ALREADY_EXISTS: Target directory for table 'crmlake_run_r1.m__ctas' already exists`,
    );
  });
});

describe("the Athena run's pinned inputs", () => {
  it("list any number of files in the run's manifest, with statements of the same size", async () => {
    const keys = Array.from(
      { length: 5000 },
      (_, i) => `curated/transactions/order_month=2024-01/drop-${i}__20240101T000000000Z-abcdef.parquet`,
    );
    const { wh } = warehouse({ inputs: ["transactions"] });
    await wh.attachInputs({
      taken_at: "2024-03-01T00:00:00.000Z",
      drops: [{ drop_id: "many", dataset: "transactions", version: "v1", keys }],
    });
    expect(
      manifests
        .get("transactions")
        ?.split("\n")
        .filter((l) => l !== ""),
    ).toHaveLength(5000);
    expect(Math.max(...fake.statements.map((x) => x.length))).toBeLessThan(4000);
  });

  it("refuse to pin files without a way to write the manifest", async () => {
    const { wh } = warehouse({ writeInputManifest: undefined });
    await expect(wh.attachInputs(PINNED)).rejects.toThrow(/given no writeInputManifest/);
  });

  it("refuse a manifest location that is not a plain S3 folder", () => {
    expect(() =>
      athenaSql.symlinkTable("run_db", "t__pinned", [{ name: "a", hive: "string" }], "s3://b/it's/"),
    ).toThrow(/Invalid S3 location/);
  });
});
