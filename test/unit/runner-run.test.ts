import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runLocal } from "../../functions/backends/local.ts";
import type { Warehouse } from "../../functions/core/ports/warehouse.ts";
import { attachModelViews } from "../../functions/engines/duckdb/model-views.ts";
import { openDuckDB } from "../../functions/engines/duckdb/session.ts";
import { DuckDBWarehouse } from "../../functions/engines/duckdb/warehouse.ts";
import { LocalModelOutputs } from "../../functions/storage/local-outputs.ts";
import { STG_LINES } from "../helpers/score-models.ts";
import { makeLake, removeLake } from "../sql/helpers.ts";

const totals = (version: number) => `-- question: Revenue per customer.
-- grain: one row per customer
-- depends_on: stg_lines
-- unique_key: customer_id
-- column customer_id varchar: Customer.
-- column revenue decimal(18,2): Revenue.
-- column version integer: Which model version wrote the row.
select customer_id, CAST(SUM(amount) AS DECIMAL(18,2)) AS revenue, ${version} AS version
from stg_lines group by customer_id
`;

const summary = (body: string) => `-- question: Total revenue.
-- grain: one row
-- depends_on: customer_totals
-- unique_key: customers
-- column customers bigint: Customers.
-- column revenue decimal(18,2): Revenue.
${body}
`;

const GOOD_SUMMARY = summary(
  "select COUNT(*) AS customers, CAST(SUM(revenue) AS DECIMAL(18,2)) AS revenue from customer_totals",
);
/** Fails at run time, after customer_totals has been written: a conversion error in the engine. */
const FAILING_SUMMARY = summary(
  "select COUNT(*) AS customers, CAST('not a number' AS DECIMAL(18,2)) AS revenue from customer_totals",
);

let root: string;
let lake: string;

async function writeModels(dir: string, files: Record<string, string>): Promise<string> {
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(dir, path, ".."), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  return dir;
}

async function models(name: string, totalsVersion: number, summaryText: string): Promise<string> {
  return writeModels(join(root, name, "sql"), {
    "staging/stg_lines.sql": STG_LINES,
    "marts/customer_totals.sql": totals(totalsVersion),
    "marts/total_summary.sql": summaryText,
  });
}

/**
 * DuckDB standing in for another engine: it computes the models, but materialize() reports the column types
 * as `reported` spells them (as Trino / Athena would), so the runner's type check sees those names.
 */
async function reportingTypes(reported: Readonly<Record<string, string>>): Promise<Warehouse> {
  const duck = await DuckDBWarehouse.open(lake);
  return {
    engine: "trino-like",
    attachInputs: (inputs) => duck.attachInputs(inputs),
    replaceView: (name, select) => duck.replaceView(name, select),
    materialize: async (request) => {
      const result = await duck.materialize(request);
      return {
        rows: result.rows,
        columns: result.columns.map((c) => ({ name: c.name, type: reported[c.name] ?? c.type })),
      };
    },
    attachPublished: () => duck.attachPublished(),
    query: (sql) => duck.query(sql),
    close: () => duck.close(),
  };
}

async function query(sql: string): Promise<Record<string, unknown>[]> {
  const session = await openDuckDB({ threads: 1 });
  try {
    await attachModelViews(session.connection, lake);
    return (await session.connection.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    session.close();
  }
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "crmlake-runner-"));
  lake = await makeLake({
    transactions: [
      { order_id: "o1", customer_id: "c1", ordered_at: "2024-01-05 10:00:00", amount: "10.00" },
      { order_id: "o2", customer_id: "c1", ordered_at: "2024-01-20 10:00:00", amount: "5.50" },
      { order_id: "o3", customer_id: "c2", ordered_at: "2024-01-21 10:00:00", amount: "7.25" },
    ],
  });
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
  await removeLake(lake);
});

describe("model runner", () => {
  it("publishes every table under models/<model>/as_of=<date>/ and records the run", async () => {
    const sqlDir = await models("v1", 1, GOOD_SUMMARY);
    const result = await runLocal({ stages: [], lakeDir: lake, sqlDir });
    expect(result.asOf).toBe("2024-01-21"); // the latest order date
    expect(result.models.map((m) => [m.model, m.status, m.rows])).toEqual([
      ["stg_lines", "succeeded", null],
      ["customer_totals", "succeeded", 2],
      ["total_summary", "succeeded", 1],
    ]);
    await stat(join(lake, "models", "customer_totals", "as_of=2024-01-21", "data.parquet"));
    expect(await readdir(join(lake, "runs", "staging"))).toEqual([]);
    expect(
      await query("SELECT customer_id, revenue, version, as_of FROM customer_totals ORDER BY 1"),
    ).toEqual([
      { customer_id: "c1", revenue: "15.50", version: 1, as_of: "2024-01-21" },
      { customer_id: "c2", revenue: "7.25", version: 1, as_of: "2024-01-21" },
    ]);
    const runs = await query("SELECT run_id, as_of, status, error FROM runs");
    expect(runs).toEqual([{ run_id: result.runId, as_of: "2024-01-21", status: "succeeded", error: null }]);
    const perModel = await query(
      `SELECT model, status, "rows", duration_ms >= 0 AS timed FROM run_models ORDER BY started_at, model`,
    );
    expect(perModel).toEqual([
      { model: "stg_lines", status: "succeeded", rows: null, timed: true },
      { model: "customer_totals", status: "succeeded", rows: "2", timed: true },
      { model: "total_summary", status: "succeeded", rows: "1", timed: true },
    ]);
  });

  it("computes a temporary model once on DuckDB and as a view elsewhere, the same rows, never published", async () => {
    const sqlDir = await writeModels(join(root, "temporary", "sql"), {
      "staging/stg_lines.sql": STG_LINES.replace("-- materialized: view", "-- materialized: temporary"),
      "marts/customer_totals.sql": totals(1),
      "marts/total_summary.sql": GOOD_SUMMARY,
    });
    const duck = await DuckDBWarehouse.open(lake);
    try {
      const result = await runLocal({ stages: [], lakeDir: lake, sqlDir, warehouse: duck });
      expect(result.models.map((m) => [m.model, m.materialized, m.rows])).toEqual([
        ["stg_lines", "temporary", null],
        ["customer_totals", "table", 2],
        ["total_summary", "table", 1],
      ]);
      // Readable until the engine closes; published nowhere.
      expect((await duck.query("SELECT COUNT(*) AS n FROM stg_lines")).rows).toEqual([{ n: "3" }]);
      expect((await readdir(join(lake, "models"))).sort()).toEqual(["customer_totals", "total_summary"]);
    } finally {
      await duck.close();
    }
    const other = await reportingTypes({});
    try {
      const result = await runLocal({ stages: [], lakeDir: lake, sqlDir, warehouse: other });
      expect(result.models.map((m) => [m.model, m.rows])).toEqual([
        ["stg_lines", null],
        ["customer_totals", 2],
        ["total_summary", 1],
      ]);
    } finally {
      await other.close();
    }
    expect(await query("SELECT customer_id, revenue FROM customer_totals_latest ORDER BY 1")).toEqual([
      { customer_id: "c1", revenue: "15.50" },
      { customer_id: "c2", revenue: "7.25" },
    ]);
  });

  it("counts only transactions on or before as_of, and keeps one partition per as_of", async () => {
    const sqlDir = await models("v1", 1, GOOD_SUMMARY);
    await runLocal({ stages: [], lakeDir: lake, sqlDir, asOf: "2024-01-10" });
    await runLocal({ stages: [], lakeDir: lake, sqlDir, asOf: "2024-01-31" });
    expect(await query("SELECT as_of, customers, revenue FROM total_summary ORDER BY as_of")).toEqual([
      { as_of: "2024-01-10", customers: "1", revenue: "10.00" },
      { as_of: "2024-01-31", customers: "2", revenue: "22.75" },
    ]);
    expect(await query("SELECT as_of, revenue FROM total_summary_latest")).toEqual([
      { as_of: "2024-01-31", revenue: "22.75" },
    ]);
  });

  it("leaves the previous run intact when a model fails mid-run, and records the failure", async () => {
    const first = await runLocal({
      stages: [],
      lakeDir: lake,
      sqlDir: await models("v1", 1, GOOD_SUMMARY),
      asOf: "2024-01-31",
    });
    const published = join(lake, "models", "customer_totals", "as_of=2024-01-31", "data.parquet");
    const before = await readFile(published);

    // v2 changes customer_totals (written first, successfully) and then fails in total_summary.
    const failing = runLocal({
      stages: [],
      lakeDir: lake,
      sqlDir: await models("v2", 2, FAILING_SUMMARY),
      asOf: "2024-01-31",
    });
    await expect(failing).rejects.toThrow(
      /^Model total_summary \(sql\/marts\/total_summary\.sql\) failed: Conversion Error: .*not a number/,
    );

    expect(await readFile(published)).toEqual(before);
    expect(await query("SELECT DISTINCT version FROM customer_totals")).toEqual([{ version: 1 }]);
    expect(await query("SELECT revenue FROM total_summary")).toEqual([{ revenue: "22.75" }]);
    expect(await readdir(join(lake, "runs", "staging"))).toEqual([]);

    const runs = await query("SELECT run_id, status, error FROM runs ORDER BY started_at");
    expect(runs).toHaveLength(2);
    expect(runs[0]).toEqual({ run_id: first.runId, status: "succeeded", error: null });
    expect(runs[1]?.status).toBe("failed");
    expect(String(runs[1]?.error)).toMatch(/^Model total_summary .* failed: Conversion Error/);
    const failedModels = await query(
      `SELECT model, status, "rows" FROM run_models WHERE run_status = 'failed' ORDER BY model`,
    );
    expect(failedModels).toEqual([
      { model: "customer_totals", status: "succeeded", rows: "2" },
      { model: "stg_lines", status: "succeeded", rows: null },
      { model: "total_summary", status: "failed", rows: null },
    ]);
  });

  it("replaces an as_of atomically when it is re-run", async () => {
    await runLocal({
      stages: [],
      lakeDir: lake,
      sqlDir: await models("v1", 1, GOOD_SUMMARY),
      asOf: "2024-01-31",
    });
    await runLocal({
      stages: [],
      lakeDir: lake,
      sqlDir: await models("v3", 3, GOOD_SUMMARY),
      asOf: "2024-01-31",
    });
    expect(await query("SELECT version, COUNT(*) AS n FROM customer_totals GROUP BY 1")).toEqual([
      { version: 3, n: "2" },
    ]);
    expect(await readdir(join(lake, "models", "customer_totals", "as_of=2024-01-31"))).toEqual([
      "data.parquet",
    ]);
  });

  it("runs only the selected models and what they need", async () => {
    const result = await runLocal({
      stages: [],
      lakeDir: lake,
      sqlDir: await models("v1", 1, GOOD_SUMMARY),
      asOf: "2024-01-31",
      models: ["customer_totals"],
    });
    expect(result.models.map((m) => m.model)).toEqual(["stg_lines", "customer_totals"]);
    expect(await readdir(join(lake, "models"))).toEqual(["customer_totals"]);
  });

  it("fails when the output columns differ from the header, naming them", async () => {
    const sqlDir = await models(
      "cols",
      1,
      summary("select COUNT(*) AS customers, 1 AS extra from customer_totals"),
    );
    await expect(runLocal({ stages: [], lakeDir: lake, sqlDir, asOf: "2024-01-31" })).rejects.toThrow(
      "sql/marts/total_summary.sql: the output columns do not match the header (documented but not produced: revenue; produced but not documented: extra)",
    );
  });

  it("fails when a column's type differs from the declared one, naming the column and both types", async () => {
    // SUM of a DECIMAL(18,2) is a DECIMAL(38,2) on both engines: without the CAST the type is not the header's.
    const sqlDir = await models(
      "types",
      1,
      summary("select COUNT(*) AS customers, SUM(revenue) AS revenue from customer_totals"),
    );
    const run = runLocal({ stages: [], lakeDir: lake, sqlDir, asOf: "2024-01-31" });
    await expect(run).rejects.toThrow(
      "sql/marts/total_summary.sql: column revenue is DECIMAL(38,2) on duckdb, but the header declares decimal(18,2). Give each column its declared type in the SELECT (an explicit CAST, the same on every engine), or correct the header.",
    );
    await expect(run).rejects.toMatchObject({ name: "ModelError", code: "column_types_mismatch" });
    // Nothing is published and the run is recorded as failed.
    await expect(stat(join(lake, "models", "total_summary"))).rejects.toThrow(/ENOENT/);
    expect(await query("SELECT status FROM run_models WHERE model = 'total_summary'")).toEqual([
      { status: "failed" },
    ]);
  });

  it("lists every column whose type differs, and catches DuckDB's HUGEINT (a SUM of BIGINT)", async () => {
    // DuckDB's SUM of a BIGINT is a HUGEINT, which its Parquet writer stores as DOUBLE: never a bigint.
    const sqlDir = await models(
      "types-many",
      1,
      summary(
        "select SUM(CAST(version AS BIGINT)) AS customers, CAST(SUM(revenue) AS DOUBLE) AS revenue from customer_totals",
      ),
    );
    await expect(runLocal({ stages: [], lakeDir: lake, sqlDir, asOf: "2024-01-31" })).rejects.toThrow(
      "sql/marts/total_summary.sql: column customers is DOUBLE on duckdb, but the header declares bigint; column revenue is DOUBLE on duckdb, but the header declares decimal(18,2).",
    );
  });

  it("accepts Trino's spelling of the declared types (decimal(18, 2), lower case)", async () => {
    const warehouse = await reportingTypes({
      customer_id: "varchar",
      revenue: "decimal(18, 2)",
      version: "integer",
      customers: "bigint",
    });
    try {
      const result = await runLocal({
        stages: [],
        lakeDir: lake,
        sqlDir: await models("v1", 1, GOOD_SUMMARY),
        asOf: "2024-01-31",
        warehouse,
      });
      expect(result.models.map((m) => m.status)).toEqual(["succeeded", "succeeded", "succeeded"]);
    } finally {
      await warehouse.close();
    }
  });

  it("refuses a bounded varchar(n) for a varchar column and a HUGEINT for a bigint one, with the fix", async () => {
    // Trino types a CASE of string literals as varchar(<longest>); a CTAS keeps the bound.
    const warehouse = await reportingTypes({ customer_id: "varchar(2)", customers: "HUGEINT" });
    try {
      await expect(
        runLocal({
          stages: [],
          lakeDir: lake,
          sqlDir: await models("v1", 1, GOOD_SUMMARY),
          asOf: "2024-01-31",
          warehouse,
        }),
      ).rejects.toThrow(
        "sql/marts/customer_totals.sql: column customer_id is varchar(2) on trino-like, but the header declares varchar (CAST it AS VARCHAR: a bounded varchar truncates values in Athena).",
      );
    } finally {
      await warehouse.close();
    }
    const hugeint = await reportingTypes({ customers: "HUGEINT" });
    try {
      await expect(
        runLocal({
          stages: [],
          lakeDir: lake,
          sqlDir: await models("v1", 1, GOOD_SUMMARY),
          asOf: "2024-01-31",
          warehouse: hugeint,
        }),
      ).rejects.toThrow(
        "sql/marts/total_summary.sql: column customers is HUGEINT on trino-like, but the header declares bigint (CAST it AS BIGINT).",
      );
    } finally {
      await hugeint.close();
    }
  });

  it("fails when the unique_key repeats", async () => {
    const sqlDir = await models(
      "dup",
      1,
      summary("select CAST(1 AS BIGINT) AS customers, revenue from customer_totals"),
    );
    await expect(runLocal({ stages: [], lakeDir: lake, sqlDir, asOf: "2024-01-31" })).rejects.toThrow(
      "sql/marts/total_summary.sql: unique_key (customers) does not identify rows: 1 key value(s) repeat, 0 row(s) have a NULL key",
    );
  });

  it("refuses non-portable SQL before touching the lake", async () => {
    const sqlDir = await models(
      "lint",
      1,
      summary("select COUNT(*) AS customers, greatest(SUM(revenue), 0) AS revenue from customer_totals"),
    );
    await expect(runLocal({ stages: [], lakeDir: lake, sqlDir, asOf: "2024-01-31" })).rejects.toThrow(
      /^1 non-portable construct\(s\) in the models \(portable forms: docs\/sql-portability\.md\):\nsql\/marts\/total_summary\.sql:7:31 \[greatest-least\]/,
    );
    await expect(stat(join(lake, "runs"))).rejects.toThrow(/ENOENT/);
  });

  it("explains a lake without transactions and a bad as-of", async () => {
    const sqlDir = await models("v1", 1, GOOD_SUMMARY);
    const empty = join(root, "empty-lake");
    await expect(runLocal({ stages: [], lakeDir: empty, sqlDir })).rejects.toThrow(
      `The lake ${empty} has no transactions, so there is no default as-of date. Ingest data first, or pass --as-of YYYY-MM-DD.`,
    );
    await expect(runLocal({ stages: [], lakeDir: lake, sqlDir, asOf: "2024-02-30" })).rejects.toThrow(
      '--as-of "2024-02-30" is not a real date',
    );
  });

  it("refuses to run while another run holds the lake", async () => {
    const outputs = new LocalModelOutputs(lake);
    const release = await outputs.lock("other-run");
    try {
      await expect(
        runLocal({
          stages: [],
          lakeDir: lake,
          sqlDir: await models("v1", 1, GOOD_SUMMARY),
          asOf: "2024-01-31",
        }),
      ).rejects.toThrow(/^Another run is using the lake .*: run other-run \(pid \d+/);
    } finally {
      await release();
    }
  });

  it("rolls an interrupted publish forward and removes abandoned staging", async () => {
    await runLocal({
      stages: [],
      lakeDir: lake,
      sqlDir: await models("v1", 1, GOOD_SUMMARY),
      asOf: "2024-01-31",
    });
    const published = join(lake, "models", "customer_totals", "as_of=2024-01-31");
    // A run that died after writing its journal, before moving its file; and one that died while computing.
    const staged = join(lake, "runs", "staging", "run-b", "customer_totals", "as_of=2024-01-31");
    await mkdir(staged, { recursive: true });
    await writeFile(join(staged, "data.parquet"), "new bytes");
    await writeFile(join(published, "stale.parquet"), "left over");
    await writeFile(
      join(lake, "runs", "staging", "run-b", "_publish.json"),
      JSON.stringify({
        run_id: "run-b",
        as_of: "2024-01-31",
        partitions: [{ model: "customer_totals", files: ["data.parquet"] }],
      }),
    );
    await mkdir(join(lake, "runs", "staging", "run-c", "customer_totals"), { recursive: true });

    await new LocalModelOutputs(lake).recover("no-current-run");

    expect(await readdir(published)).toEqual(["data.parquet"]);
    expect(await readFile(join(published, "data.parquet"), "utf8")).toBe("new bytes");
    expect(await readdir(join(lake, "runs", "staging"))).toEqual([]);
  });
});
