/**
 * TypeScript stages in the runner on DuckDB (functions/core/runner/stage.ts): a stage between SQL models reads
 * its dependency's Parquet of this run as a typed Arrow table, its output is checked against its header,
 * written as Parquet, read by the SQL model after it, and published like any table.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as arrow from "apache-arrow";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runLocal } from "../../functions/backends/local.ts";
import { STAGE_DECLARATIONS } from "../../functions/core/catalogue/stages.ts";
import {
  decimalValues,
  decimalVector,
  describeArrowType,
} from "../../functions/core/runner/arrow-columns.ts";
import { defineStage, type Stage, type StageContext } from "../../functions/core/runner/stage.ts";
import { STAGES } from "../../functions/core/stages/index.ts";
import { attachModelViews } from "../../functions/engines/duckdb/model-views.ts";
import { openDuckDB } from "../../functions/engines/duckdb/session.ts";
import { makeLake, removeLake } from "../sql/helpers.ts";

const STG = `-- question: Lines as of the run.
-- grain: one row per line
-- depends_on: none
-- sources: transactions
-- materialized: view
-- column customer_id varchar: Customer.
-- column ordered_at timestamp(3): When.
-- column amount decimal(18,2): Amount.
select customer_id, ordered_at, amount from transactions where CAST(ordered_at AS DATE) <= {{ as_of }}
`;

/** DuckDB writes the timestamp as microseconds (TIMESTAMP): the stage still receives milliseconds. */
const TOTALS = `-- question: Revenue per customer.
-- grain: one row per customer
-- depends_on: stg_lines
-- unique_key: customer_id
-- column customer_id varchar: Customer.
-- column revenue decimal(18,2): Revenue.
-- column first_order_at timestamp(3): First order.
select customer_id, CAST(SUM(amount) AS DECIMAL(18,2)) AS revenue,
  CAST(MIN(ordered_at) AS TIMESTAMP) AS first_order_at
from stg_lines group by customer_id
`;

/** The SQL model after the stage. */
const TOP = `-- question: How concentrated is revenue?
-- grain: one row
-- depends_on: revenue_share
-- unique_key: customers
-- column customers bigint: Customers.
-- column top_share double: The largest share.
-- column top_customers bigint: Customers with half the revenue or more.
select CAST(COUNT(*) AS BIGINT) AS customers, MAX(revenue_share) AS top_share,
  CAST(COUNT(CASE WHEN is_top THEN 1 END) AS BIGINT) AS top_customers
from revenue_share
`;

const SHARE_HEADER = `-- question: What share of the total net revenue is each customer's?
-- grain: one row per customer
-- depends_on: customer_totals
-- unique_key: customer_id
-- column customer_id varchar: Customer.
-- column revenue decimal(18,2): Revenue, as customer_totals has it.
-- column revenue_share double: Revenue over all customers' revenue.
-- column revenue_rank integer: 1 for the customer with the most revenue.
-- column is_top boolean: Whether the share is half or more.
-- column scored_on date: The run's as-of date.
-- column first_order_at timestamp(3): First order, as customer_totals has it.
`;

/** What the stage saw, for the assertions. */
let seen: { inputs: string[]; types: string[]; asOf: string } | undefined;

/** Each customer's share of the total net revenue, computed in TypeScript from customer_totals. */
function shareStage(
  options: {
    header?: string;
    name?: string;
    override?: (columns: Record<string, arrow.Vector>) => void;
  } = {},
): Stage {
  return defineStage({
    name: options.name ?? "revenue_share",
    layer: "marts",
    header: options.header ?? SHARE_HEADER,
    run({ inputs, asOf }: StageContext) {
      const totals = inputs.get("customer_totals");
      if (totals === undefined) throw new Error("customer_totals is not an input");
      seen = {
        inputs: [...inputs.keys()],
        types: totals.schema.fields.map((f) => `${f.name} ${describeArrowType(f.type)}`),
        asOf,
      };
      const ids = totals.getChild("customer_id")?.toArray() as string[];
      const revenue = decimalValues(totals.getChild("revenue") as arrow.Vector);
      const total = revenue.reduce<bigint>((sum, r) => sum + (r ?? 0n), 0n);
      const order = [...ids.keys()].sort((a, b) => Number((revenue[b] ?? 0n) - (revenue[a] ?? 0n)));
      const share = revenue.map((r) => Number(r ?? 0n) / Number(total));
      const columns: Record<string, arrow.Vector> = {
        customer_id: arrow.vectorFromArray(ids, new arrow.Utf8()),
        revenue: decimalVector(revenue, 18, 2),
        revenue_share: arrow.vectorFromArray(share, new arrow.Float64()),
        revenue_rank: arrow.vectorFromArray(
          ids.map((_, i) => order.indexOf(i) + 1),
          new arrow.Int32(),
        ),
        is_top: arrow.vectorFromArray(
          share.map((s) => s >= 0.5),
          new arrow.Bool(),
        ),
        scored_on: arrow.vectorFromArray(
          ids.map(() => Date.parse(`${asOf}T00:00:00Z`)),
          new arrow.DateDay(),
        ),
        first_order_at: totals.getChild("first_order_at") as arrow.Vector,
      };
      options.override?.(columns);
      return new arrow.Table(columns);
    },
  });
}

let root: string;
let lake: string;

async function writeModels(files: Record<string, string>): Promise<string> {
  const dir = join(root, "sql");
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(dir, path, ".."), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  return dir;
}

const MODELS = {
  "staging/stg_lines.sql": STG,
  "intermediate/customer_totals.sql": TOTALS,
  "scores/revenue_top.sql": TOP,
};

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
  seen = undefined;
  root = await mkdtemp(join(tmpdir(), "crmlake-stages-"));
  lake = await makeLake({
    transactions: [
      { order_id: "o1", customer_id: "c1", ordered_at: "2024-01-05 10:00:00.250", amount: "10.00" },
      { order_id: "o2", customer_id: "c1", ordered_at: "2024-01-20 10:00:00", amount: "5.50" },
      { order_id: "o3", customer_id: "c2", ordered_at: "2024-01-21 10:00:00", amount: "7.25" },
      { order_id: "o4", customer_id: "c3", ordered_at: "2023-12-31 23:59:59.999", amount: "2.25" },
    ],
  });
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
  await removeLake(lake);
});

describe("TypeScript stages in the runner (DuckDB)", () => {
  it("registers exactly the declared stages, each on its own declaration", () => {
    expect(STAGES.map((s) => s.name).sort()).toEqual(STAGE_DECLARATIONS.map((d) => d.name).sort());
    for (const declaration of STAGE_DECLARATIONS) {
      expect(STAGES.find((s) => s.name === declaration.name)?.header).toBe(declaration.header);
    }
  });

  it("runs a stage between SQL models: typed inputs, exact output rows, read by the next SQL model, published", async () => {
    const sqlDir = await writeModels(MODELS);

    const result = await runLocal({ lakeDir: lake, sqlDir, stages: [shareStage()] });

    expect(result.asOf).toBe("2024-01-21");
    expect(result.models.map((m) => [m.model, m.status, m.materialized, m.rows])).toEqual([
      ["stg_lines", "succeeded", "view", null],
      ["customer_totals", "succeeded", "table", 3],
      ["revenue_share", "succeeded", "table", 3],
      ["revenue_top", "succeeded", "table", 1],
    ]);
    // The stage read its dependency's Parquet of this run, typed as customer_totals' header declares.
    expect(seen).toEqual({
      inputs: ["customer_totals"],
      types: ["customer_id Utf8", "revenue Decimal128(18,2)", "first_order_at Timestamp(ms)"],
      asOf: "2024-01-21",
    });
    expect(await readdir(join(lake, "models", "revenue_share", "as_of=2024-01-21"))).toEqual([
      "part-0.parquet",
    ]);
    expect(await readdir(join(lake, "runs", "staging"))).toEqual([]);

    // Published, read back by DuckDB from the stage's Parquet: declared types, exact values.
    expect(
      (await query("DESCRIBE SELECT * FROM revenue_share")).map((c) => [c.column_name, c.column_type]),
    ).toEqual([
      ["customer_id", "VARCHAR"],
      ["revenue", "DECIMAL(18,2)"],
      ["revenue_share", "DOUBLE"],
      ["revenue_rank", "INTEGER"],
      ["is_top", "BOOLEAN"],
      ["scored_on", "DATE"],
      ["first_order_at", "TIMESTAMP"],
      ["as_of", "DATE"],
    ]);
    // 25.00 in all: 15.50 / 25 = 0.62, 7.25 / 25 = 0.29, 2.25 / 25 = 0.09.
    expect(await query("SELECT * FROM revenue_share ORDER BY customer_id")).toEqual([
      {
        customer_id: "c1",
        revenue: "15.50",
        revenue_share: 0.62,
        revenue_rank: 1,
        is_top: true,
        scored_on: "2024-01-21",
        first_order_at: "2024-01-05 10:00:00.25",
        as_of: "2024-01-21",
      },
      {
        customer_id: "c2",
        revenue: "7.25",
        revenue_share: 0.29,
        revenue_rank: 2,
        is_top: false,
        scored_on: "2024-01-21",
        first_order_at: "2024-01-21 10:00:00",
        as_of: "2024-01-21",
      },
      {
        customer_id: "c3",
        revenue: "2.25",
        revenue_share: 0.09,
        revenue_rank: 3,
        is_top: false,
        scored_on: "2024-01-21",
        first_order_at: "2023-12-31 23:59:59.999",
        as_of: "2024-01-21",
      },
    ]);
    // The SQL model after the stage read the stage's rows.
    expect(await query("SELECT customers, top_share, top_customers, as_of FROM revenue_top")).toEqual([
      { customers: "3", top_share: 0.62, top_customers: "1", as_of: "2024-01-21" },
    ]);
    expect(await query("SELECT model, status, rows FROM run_models WHERE model = 'revenue_share'")).toEqual([
      { model: "revenue_share", status: "succeeded", rows: "3" },
    ]);
  });

  it("runs a selected SQL model's stage and the stage's own dependencies", async () => {
    const sqlDir = await writeModels(MODELS);
    const result = await runLocal({
      lakeDir: lake,
      sqlDir,
      stages: [shareStage()],
      models: ["revenue_top"],
      asOf: "2024-01-06",
    });
    expect(result.models.map((m) => [m.model, m.rows])).toEqual([
      ["stg_lines", null],
      ["customer_totals", 2],
      ["revenue_share", 2],
      ["revenue_top", 1],
    ]);
    // As of 2024-01-06: c1 10.00, c3 2.25.
    expect(await query("SELECT customer_id, revenue_share FROM revenue_share ORDER BY 1")).toEqual([
      { customer_id: "c1", revenue_share: 1000 / 1225 },
      { customer_id: "c3", revenue_share: 225 / 1225 },
    ]);
    expect(seen?.asOf).toBe("2024-01-06");
  });

  it("refuses a column of the wrong Arrow type, naming the stage, the column and both types; nothing is published", async () => {
    const sqlDir = await writeModels(MODELS);
    const stage = shareStage({
      override: (columns) => {
        columns.revenue = arrow.vectorFromArray([15.5, 7.25, 2.25], new arrow.Float64());
        columns.revenue_rank = arrow.vectorFromArray([1n, 2n, 3n], new arrow.Int64());
      },
    });

    await expect(runLocal({ lakeDir: lake, sqlDir, stages: [stage] })).rejects.toMatchObject({
      code: "column_types_mismatch",
      message:
        "stage revenue_share: column revenue is Float64, but the header declares decimal(18,2) (Arrow Decimal128(18,2)); " +
        "column revenue_rank is Int64, but the header declares integer (Arrow Int32). " +
        "Return each column as the Arrow type of its declared type (functions/core/runner/arrow-columns.ts), or correct the header.",
    });
    expect(await query("SELECT model, status FROM run_models ORDER BY model")).toEqual([
      { model: "customer_totals", status: "succeeded" },
      { model: "revenue_share", status: "failed" },
      { model: "revenue_top", status: "not_run" },
      { model: "stg_lines", status: "succeeded" },
    ]);
    await expect(readdir(join(lake, "models", "revenue_share"))).rejects.toThrow(/ENOENT/);
  });

  it("refuses a missing column and a string column built as a dictionary", async () => {
    const sqlDir = await writeModels(MODELS);
    const missing = shareStage({
      override: (columns) => {
        delete columns.is_top;
      },
    });
    await expect(runLocal({ lakeDir: lake, sqlDir, stages: [missing] })).rejects.toMatchObject({
      code: "columns_mismatch",
      message:
        "stage revenue_share: the output columns do not match the header (documented but not produced: is_top)",
    });
    const dictionary = shareStage({
      override: (columns) => {
        columns.customer_id = arrow.vectorFromArray(["c1", "c2", "c3"]);
      },
    });
    await expect(runLocal({ lakeDir: lake, sqlDir, stages: [dictionary] })).rejects.toThrow(
      "stage revenue_share: column customer_id is Dictionary<Int32, Utf8>, but the header declares varchar (Arrow Utf8)",
    );
  });

  it("checks the stage's unique_key like a SQL model's", async () => {
    const sqlDir = await writeModels(MODELS);
    const repeated = shareStage({
      override: (columns) => {
        columns.customer_id = arrow.vectorFromArray(["c1", "c1", "c3"], new arrow.Utf8());
      },
    });
    await expect(runLocal({ lakeDir: lake, sqlDir, stages: [repeated] })).rejects.toThrow(
      "stage revenue_share: unique_key (customer_id) does not identify rows: 1 key value(s) repeat, 0 row(s) have a NULL key",
    );
  });

  it("refuses a stage named like a SQL model, before running anything", async () => {
    const sqlDir = await writeModels(MODELS);
    await expect(
      runLocal({ lakeDir: lake, sqlDir, stages: [shareStage({ name: "customer_totals" })] }),
    ).rejects.toMatchObject({
      code: "duplicate_model",
      message:
        'Model "customer_totals" is defined twice: sql/intermediate/customer_totals.sql and stage customer_totals',
    });
    await expect(readdir(join(lake, "runs"))).rejects.toThrow(/ENOENT/);
  });

  it("refuses a stage that depends on a view, at plan time, saying what to depend on instead", async () => {
    const sqlDir = await writeModels(MODELS);
    const onView = shareStage({
      header: SHARE_HEADER.replace("depends_on: customer_totals", "depends_on: stg_lines"),
    });
    await expect(runLocal({ lakeDir: lake, sqlDir, stages: [onView] })).rejects.toMatchObject({
      code: "stage_reads_view",
      message:
        "stage revenue_share: depends on stg_lines (sql/staging/stg_lines.sql), which is materialized as a view. " +
        "A stage reads its dependencies as the Parquet files of tables this run writes; depend on a table model instead (one that selects from stg_lines)",
    });
    await expect(readdir(join(lake, "runs"))).rejects.toThrow(/ENOENT/);
  });

  it("refuses a stage header that is a view or reads input relations", async () => {
    const sqlDir = await writeModels(MODELS);
    const view = shareStage({ header: `${SHARE_HEADER}-- materialized: view\n` });
    await expect(runLocal({ lakeDir: lake, sqlDir, stages: [view] })).rejects.toThrow(
      'stage revenue_share: a stage is always materialized as a table (its rows are written as Parquet); remove "materialized: view"',
    );
    const sources = shareStage({ header: `${SHARE_HEADER}-- sources: transactions\n` });
    await expect(runLocal({ lakeDir: lake, sqlDir, stages: [sources] })).rejects.toThrow(
      /^stage revenue_share: a stage reads the tables of the models it depends on, not input relations \(sources: transactions\)/,
    );
  });

  it("reports a stage that throws as the model that failed", async () => {
    const sqlDir = await writeModels(MODELS);
    const failing = defineStage({
      name: "revenue_share",
      layer: "marts",
      header: SHARE_HEADER,
      run: () => {
        throw new Error("the likelihood did not converge");
      },
    });
    await expect(runLocal({ lakeDir: lake, sqlDir, stages: [failing] })).rejects.toMatchObject({
      code: "model_failed",
      message: "stage revenue_share failed: the likelihood did not converge",
    });
  });
});
