/**
 * A TypeScript stage on S3 (functions/core/runner/stage.ts): the runner on the Athena adapter (UNLOAD
 * materialization, the scripted Athena of test/helpers/athena-fake.ts), S3ModelOutputs on a real s3rver and
 * the Glue fake. The Athena fake runs no SQL: a client middleware plays Athena's part of the UNLOAD of the
 * stage's dependency and writes a real ZSTD Parquet file (DuckDB's) under the statement's TO location.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as arrow from "apache-arrow";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decimalValues, decimalVector } from "../../functions/core/runner/arrow-columns.ts";
import { decodeParquet } from "../../functions/core/runner/parquet.ts";
import { runModels } from "../../functions/core/runner/run.ts";
import { defineStage } from "../../functions/core/runner/stage.ts";
import { AthenaWarehouse } from "../../functions/engines/athena/warehouse.ts";
import { openDuckDB, sqlString } from "../../functions/engines/duckdb/session.ts";
import { GluePartitions } from "../../functions/storage/glue-partitions.ts";
import { S3ObjectStore } from "../../functions/storage/s3.ts";
import { S3ModelOutputs } from "../../functions/storage/s3-outputs.ts";
import { AthenaFake, columnsScript, countScript, NO_DUPLICATE_KEYS } from "../helpers/athena-fake.ts";
import { GlueFake } from "../helpers/glue-fake.ts";
import { type S3TestServer, startS3Server } from "../helpers/s3-server.ts";
import { CUSTOMER_TOTALS, STG_LINES, TOTALS_COLUMNS } from "../helpers/score-models.ts";

const BUCKET = "crmlake-stage-s3";
const DB = "crmlake_db";
const AS_OF = "2024-01-31";
const RUN_ID = "stage-run-1";
const RUN_DB = "crmlake_db_run_stage_run_1";
const LAKE = `s3://${BUCKET}/lake/`;
const UNLOADED_FILE = "20240201_030000_00001_abcde_part0";

const share = defineStage({
  name: "revenue_share",
  layer: "marts",
  header: `-- question: What share of the total revenue is each customer's?
-- grain: one row per customer
-- depends_on: customer_totals
-- unique_key: customer_id
-- column customer_id varchar: Customer.
-- column revenue decimal(18,2): Revenue.
-- column revenue_share double: Revenue over all customers' revenue.
`,
  run({ inputs }) {
    const totals = inputs.get("customer_totals");
    if (totals === undefined) throw new Error("no customer_totals");
    const revenue = decimalValues(totals.getChild("revenue") as arrow.Vector);
    const total = revenue.reduce<bigint>((sum, r) => sum + (r ?? 0n), 0n);
    return new arrow.Table({
      customer_id: totals.getChild("customer_id") as arrow.Vector,
      revenue: decimalVector(revenue, 18, 2),
      revenue_share: arrow.vectorFromArray(
        revenue.map((r) => Number(r ?? 0n) / Number(total)),
        new arrow.Float64(),
      ),
    });
  },
});

let server: S3TestServer;
let fake: AthenaFake;
let glueFake: GlueFake;
let root = "";
let sqlDir = "";
/** What Athena's UNLOAD of customer_totals writes: 12345678901.23 for c1, -0.01 for c2 (ZSTD, by DuckDB). */
let unloaded: Uint8Array;

beforeAll(async () => {
  server = await startS3Server([BUCKET]);
  fake = await AthenaFake.start();
  glueFake = await GlueFake.start();
  for (const model of ["customer_totals", "revenue_share"]) {
    glueFake.table(DB, model, `${LAKE}models/${model}/`).latestTable(DB, model, LAKE);
  }
  root = await mkdtemp(join(tmpdir(), "crmlake-stage-s3-"));
  sqlDir = join(root, "sql");
  await mkdir(join(sqlDir, "staging"), { recursive: true });
  await mkdir(join(sqlDir, "marts"), { recursive: true });
  await writeFile(join(sqlDir, "staging", "stg_lines.sql"), STG_LINES);
  await writeFile(join(sqlDir, "marts", "customer_totals.sql"), CUSTOMER_TOTALS);
  const file = join(root, "unloaded.parquet");
  const session = await openDuckDB({ threads: 1 });
  try {
    await session.connection.run(
      `COPY (SELECT * FROM (VALUES ('c1', CAST(12345678901.23 AS DECIMAL(18,2))), ('c2', CAST(-0.01 AS DECIMAL(18,2))))
        AS t(customer_id, revenue)) TO ${sqlString(file)} (FORMAT parquet, COMPRESSION zstd)`,
    );
  } finally {
    session.close();
  }
  unloaded = await readFile(file);
});

afterAll(async () => {
  await fake?.close();
  await glueFake?.close();
  await server?.stop();
  if (root !== "") await rm(root, { recursive: true, force: true });
});

describe("a TypeScript stage on S3 with the Athena adapter", () => {
  it("reads its dependency's UNLOADed Parquet from S3, writes its own under the run's prefix, and Athena registers it", async () => {
    const athena = fake.client();
    const glue = glueFake.client();
    const lake = new S3ObjectStore({ bucket: BUCKET, prefix: "lake", client: server.client });
    athena.middlewareStack.add(
      (next) => async (args) => {
        const result = await next(args);
        const to = /^UNLOAD [\s\S]*\nTO '(s3:\/\/[^']+)'/.exec(
          (args.input as { QueryString?: string }).QueryString ?? "",
        )?.[1];
        if (to !== undefined) await lake.put(`${to.slice(LAKE.length)}${UNLOADED_FILE}`, unloaded);
        return result;
      },
      { step: "initialize", name: "athenaWritesUnloadFiles" },
    );
    fake.script(
      columnsScript("customer_totals__body", TOTALS_COLUMNS),
      { match: /^UNLOAD/, updateCount: 2 },
      NO_DUPLICATE_KEYS,
      NO_DUPLICATE_KEYS,
      countScript(`FROM customer_totals WHERE as_of = DATE '${AS_OF}'`, 2),
      countScript(`FROM revenue_share WHERE as_of = DATE '${AS_OF}'`, 2),
    );
    const outputs = new S3ModelOutputs({
      bucket: BUCKET,
      prefix: "lake",
      client: server.client,
      partitions: new GluePartitions({ client: glue, database: DB }),
    });
    const warehouse = new AthenaWarehouse({
      client: athena,
      workGroup: "crmlake",
      inputDatabase: DB,
      runDatabase: RUN_DB,
      lakeLocation: LAKE,
      materialization: "unload",
      poll: { initialMs: 1, maxMs: 2 },
      clearLocation: (location) => outputs.clearLocation(location),
    });

    try {
      const summary = await runModels({
        sqlDir,
        asOf: AS_OF,
        runId: RUN_ID,
        warehouse,
        outputs,
        lake,
        stages: [share],
      });

      expect(summary.models.map((m) => [m.model, m.status, m.rows])).toEqual([
        ["stg_lines", "succeeded", null],
        ["customer_totals", "succeeded", 2],
        ["revenue_share", "succeeded", 2],
      ]);
    } finally {
      await warehouse.close();
      athena.destroy();
      glue.destroy();
    }

    // The stage's Parquet, under the run's own prefix, from the dependency's UNLOADed rows.
    const stagePartition = `models/revenue_share/run=${RUN_ID}/as_of=${AS_OF}/`;
    expect((await lake.list("models/")).map((o) => o.key)).toEqual([
      `models/customer_totals/run=${RUN_ID}/as_of=${AS_OF}/${UNLOADED_FILE}`,
      `${stagePartition}part-0.parquet`,
    ]);
    const written = decodeParquet(
      (await lake.get(`${stagePartition}part-0.parquet`)) ?? new Uint8Array(),
      "x",
    );
    expect(written.getChild("customer_id")?.toArray()).toEqual(["c1", "c2"]);
    expect(decimalValues(written.getChild("revenue") as arrow.Vector)).toEqual([1234567890123n, -1n]);
    expect(written.getChild("revenue_share")?.toArray()).toEqual(
      new Float64Array([1234567890123 / 1234567890122, -1 / 1234567890122]),
    );
    // Published like any table: the catalogue points the stage's partition at the run's files.
    expect(glueFake.partitions(DB, "revenue_share")).toEqual({ [AS_OF]: `${LAKE}${stagePartition}` });

    // The adapter reads the stage's files as it reads an UNLOAD's: the external table a resumed run finds.
    const statements = fake.statements;
    expect(statements).toContain(
      [
        `CREATE EXTERNAL TABLE ${RUN_DB}.revenue_share__unloaded (`,
        "  `customer_id` string,",
        "  `revenue` decimal(18,2),",
        "  `revenue_share` double",
        ")",
        "STORED AS PARQUET",
        `LOCATION '${LAKE}${stagePartition}'`,
      ].join("\n"),
    );
    expect(statements).toContain(
      `CREATE OR REPLACE VIEW ${RUN_DB}.revenue_share AS SELECT "customer_id", "revenue", "revenue_share" FROM ${RUN_DB}.revenue_share__unloaded`,
    );
    // Athena computed customer_totals; nothing computed revenue_share but the stage.
    expect(statements.filter((s) => s.startsWith("UNLOAD"))).toHaveLength(1);
    expect(statements.some((s) => s.includes("revenue_share__body"))).toBe(false);
  });

  it("keeps a stage an earlier invocation of the run registered: a resumed run finds its table and does not run it", async () => {
    const runId = "stage-run-2";
    const runDb = "crmlake_db_run_stage_run_2";
    const athena = fake.client();
    const glue = glueFake.client();
    // What the earlier invocation left in the run database: both tables, the stage's as an external table.
    fake.script(
      columnsScript("customer_totals__unloaded", TOTALS_COLUMNS),
      countScript(`COUNT(*) AS n FROM ${runDb}.customer_totals__unloaded`, 2),
      NO_DUPLICATE_KEYS,
      columnsScript("revenue_share__unloaded", [...TOTALS_COLUMNS, ["revenue_share", "double"]]),
      countScript(`COUNT(*) AS n FROM ${runDb}.revenue_share__unloaded`, 2),
      NO_DUPLICATE_KEYS,
      countScript(`FROM customer_totals WHERE as_of = DATE '${AS_OF}'`, 2),
      countScript(`FROM revenue_share WHERE as_of = DATE '${AS_OF}'`, 2),
    );
    const outputs = new S3ModelOutputs({
      bucket: BUCKET,
      prefix: "lake",
      client: server.client,
      partitions: new GluePartitions({ client: glue, database: DB }),
    });
    const warehouse = new AthenaWarehouse({
      client: athena,
      workGroup: "crmlake",
      inputDatabase: DB,
      runDatabase: runDb,
      lakeLocation: LAKE,
      materialization: "unload",
      poll: { initialMs: 1, maxMs: 2 },
    });
    // What the earlier invocation recorded as it went: both tables done, with their rows.
    const done = (model: string, rows: number | null) => ({
      model,
      layer: "marts",
      materialized: rows === null ? "view" : "table",
      status: "succeeded" as const,
      started_at: "2024-02-01 03:00:00.000",
      finished_at: "2024-02-01 03:01:00.000",
      duration_ms: 60_000,
      rows,
      bytes_scanned: 1024,
      cost_usd: 0,
      error: null,
    });
    await outputs.writeRunRecord({
      run_id: runId,
      as_of: AS_OF,
      status: "interrupted",
      engine: "athena",
      started_at: "2024-02-01 03:00:00.000",
      finished_at: "2024-02-01 03:14:45.000",
      duration_ms: 885_000,
      models_requested: null,
      config: "{}",
      models: [done("stg_lines", null), done("customer_totals", 2), done("revenue_share", 2)],
      bytes_scanned: 2048,
      cost_usd: 0,
      error: "interrupted",
    });
    let ran = 0;
    const counted = {
      ...share,
      run: (context: Parameters<typeof share.run>[0]) => {
        ran++;
        return share.run(context);
      },
    };
    const before = fake.statements.length;
    try {
      const summary = await runModels({
        sqlDir,
        asOf: AS_OF,
        runId,
        resume: true,
        warehouse,
        outputs,
        lake: new S3ObjectStore({ bucket: BUCKET, prefix: "lake", client: server.client }),
        stages: [counted],
      });
      expect(summary.models.map((m) => [m.model, m.status, m.rows])).toEqual([
        ["stg_lines", "succeeded", null],
        ["customer_totals", "succeeded", 2],
        ["revenue_share", "succeeded", 2],
      ]);
    } finally {
      await warehouse.close();
      athena.destroy();
      glue.destroy();
    }
    expect(ran).toBe(0);
    const statements = fake.statements.slice(before);
    expect(statements).toContain(
      `CREATE OR REPLACE VIEW ${runDb}.revenue_share AS SELECT "customer_id", "revenue", "revenue_share" FROM ${runDb}.revenue_share__unloaded`,
    );
    expect(statements.some((s) => s.startsWith("UNLOAD") || s.startsWith("CREATE EXTERNAL TABLE"))).toBe(
      false,
    );
  });
});
