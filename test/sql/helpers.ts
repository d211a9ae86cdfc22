/**
 * Fixtures for the SQL model tests: a throw-away lake with curated Parquet written the way ingest writes it
 * (transactions Hive-partitioned by order_month, TIMESTAMP_MS, DECIMAL(18,2)), then a real run of the
 * runner, then the model's rows read back through the query views.
 */

import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runLocal } from "../../functions/backends/local.ts";
import { type ConfigInput, parseConfig } from "../../functions/core/config.ts";
import type { Row } from "../../functions/core/ports/warehouse.ts";
import type { RunSummary } from "../../functions/core/runner/run.ts";
import { attachModelViews } from "../../functions/engines/duckdb/model-views.ts";
import { openDuckDB, sqlString } from "../../functions/engines/duckdb/session.ts";
import { DuckDBWarehouse } from "../../functions/engines/duckdb/warehouse.ts";
import { commitFixtureFiles } from "../helpers/fixture-ledger.ts";

export interface TransactionFixture {
  order_id: string;
  customer_id: string;
  /** `YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS`. */
  ordered_at: string;
  amount: string;
  category?: string | null;
  channel?: string | null;
  store_id?: string | null;
  product_id?: string | null;
  quantity?: number;
  cost?: string | null;
  discount?: string | null;
  /**
   * Written only when some line of the fixture has one: without, the file lacks the column, as files ingested
   * before the column existed do (every line then reads as a product line).
   */
  line_type?: "product" | "non_product" | null;
}

export interface CustomerFixture {
  customer_id: string;
  signed_up_at?: string | null;
  country?: string | null;
}

export interface CampaignFixture {
  campaign_id: string;
  starts_on: string;
  ends_on: string;
  cost_per_contact?: string;
  fixed_cost?: string;
  /**
   * Written only when some campaign of the fixture has one: without, the file lacks the column, as files
   * ingested before the column existed do.
   */
  planned_control_share?: string;
}

export interface ContactFixture {
  campaign_id: string;
  customer_id: string;
  group: "treatment" | "control";
  contacted_on?: string | null;
}

export interface ProductFixture {
  product_id: string;
  category?: string | null;
  brand?: string | null;
  list_price?: string | null;
  cost?: string | null;
}

export interface LakeFixture {
  transactions?: TransactionFixture[];
  customers?: CustomerFixture[];
  campaigns?: CampaignFixture[];
  campaign_contacts?: ContactFixture[];
  products?: ProductFixture[];
}

const literal = (value: string | number | null | undefined, type: string): string =>
  value === null || value === undefined
    ? `CAST(NULL AS ${type})`
    : `CAST(${sqlString(String(value))} AS ${type})`;

/** Creates a lake directory holding the fixture's curated datasets. */
export async function makeLake(fixture: LakeFixture): Promise<string> {
  const lake = await mkdtemp(join(tmpdir(), "crmlake-sql-"));
  const session = await openDuckDB({ threads: 1 });
  const c = session.connection;
  try {
    const write = async (dataset: string, rows: string[], columns: string, partitioned: boolean) => {
      if (rows.length === 0) return;
      const select = `SELECT * FROM (VALUES ${rows.join(",\n")}) AS t(${columns})`;
      const target = join(lake, "curated", dataset);
      await mkdir(target, { recursive: true });
      await c.run(
        partitioned
          ? `COPY (${select}) TO ${sqlString(target)} (FORMAT parquet, PARTITION_BY (order_month))`
          : `COPY (${select}) TO ${sqlString(join(target, "fixture.parquet"))} (FORMAT parquet)`,
      );
    };
    const lineTypes = (fixture.transactions ?? []).some((t) => t.line_type !== undefined);
    await write(
      "transactions",
      (fixture.transactions ?? []).map(
        (t, i) =>
          `(${[
            literal(t.order_id, "VARCHAR"),
            literal(t.customer_id, "VARCHAR"),
            literal(t.ordered_at, "TIMESTAMP_MS"),
            literal(t.product_id, "VARCHAR"),
            literal(t.category === undefined ? "books" : t.category, "VARCHAR"),
            literal(t.channel === undefined ? "web" : t.channel, "VARCHAR"),
            literal(t.store_id, "VARCHAR"),
            literal(t.quantity ?? 1, "INTEGER"),
            literal(t.amount, "DECIMAL(18,2)"),
            literal(t.cost, "DECIMAL(18,2)"),
            literal(t.discount, "DECIMAL(18,2)"),
            ...(lineTypes ? [literal(t.line_type, "VARCHAR")] : []),
            literal("fixture", "VARCHAR"),
            literal(i + 2, "BIGINT"),
            literal(t.ordered_at.slice(0, 7), "VARCHAR"),
          ].join(", ")})`,
      ),
      `order_id, customer_id, ordered_at, product_id, category, channel, store_id, quantity, amount, cost, discount, ${lineTypes ? "line_type, " : ""}drop_id, line_number, order_month`,
      true,
    );
    await write(
      "customers",
      (fixture.customers ?? []).map(
        (k, i) =>
          `(${[
            literal(k.customer_id, "VARCHAR"),
            literal(k.signed_up_at, "DATE"),
            literal(k.country, "VARCHAR"),
            literal(null, "VARCHAR"),
            literal(null, "VARCHAR"),
            literal("fixture", "VARCHAR"),
            literal(i + 2, "BIGINT"),
          ].join(", ")})`,
      ),
      "customer_id, signed_up_at, country, region, acquisition_channel, drop_id, line_number",
      false,
    );
    const shares = (fixture.campaigns ?? []).some((k) => k.planned_control_share !== undefined);
    await write(
      "campaigns",
      (fixture.campaigns ?? []).map(
        (k, i) =>
          `(${[
            literal(k.campaign_id, "VARCHAR"),
            literal(k.campaign_id, "VARCHAR"),
            literal("email", "VARCHAR"),
            literal(k.starts_on, "DATE"),
            literal(k.ends_on, "DATE"),
            literal(k.cost_per_contact ?? "0", "DECIMAL(18,2)"),
            literal(k.fixed_cost ?? "0", "DECIMAL(18,2)"),
            ...(shares ? [literal(k.planned_control_share, "DECIMAL(9,6)")] : []),
            literal("fixture", "VARCHAR"),
            literal(i + 2, "BIGINT"),
          ].join(", ")})`,
      ),
      `campaign_id, name, channel, starts_on, ends_on, cost_per_contact, fixed_cost, ${shares ? "planned_control_share, " : ""}drop_id, line_number`,
      false,
    );
    await write(
      "campaign_contacts",
      (fixture.campaign_contacts ?? []).map(
        (k, i) =>
          `(${[
            literal(k.campaign_id, "VARCHAR"),
            literal(k.customer_id, "VARCHAR"),
            literal(k.group, "VARCHAR"),
            literal(k.contacted_on, "DATE"),
            literal("fixture", "VARCHAR"),
            literal(i + 2, "BIGINT"),
          ].join(", ")})`,
      ),
      'campaign_id, customer_id, "group", contacted_on, drop_id, line_number',
      false,
    );
    await write(
      "products",
      (fixture.products ?? []).map(
        (p, i) =>
          `(${[
            literal(p.product_id, "VARCHAR"),
            literal(p.category, "VARCHAR"),
            literal(p.brand, "VARCHAR"),
            literal(p.list_price, "DECIMAL(18,2)"),
            literal(p.cost, "DECIMAL(18,2)"),
            literal("fixture", "VARCHAR"),
            literal(i + 2, "BIGINT"),
          ].join(", ")})`,
      ),
      "product_id, category, brand, list_price, cost, drop_id, line_number",
      false,
    );
  } finally {
    session.close();
  }
  await commitFixtureFiles(lake);
  return lake;
}

export async function removeLake(lake: string): Promise<void> {
  await rm(lake, { recursive: true, force: true });
}

export interface RunFixtureOptions {
  asOf: string;
  models: string[];
  config?: ConfigInput;
  sqlDir?: string;
}

/** Runs the selected models (and what they need) on a lake. */
export async function run(lake: string, options: RunFixtureOptions): Promise<RunSummary> {
  return runLocal({
    lakeDir: lake,
    asOf: options.asOf,
    models: options.models,
    config: parseConfig(options.config ?? {}, "test config"),
    ...(options.sqlDir === undefined ? {} : { sqlDir: options.sqlDir }),
  });
}

/** Reads the published rows of a model for one as-of (without the as_of column), ordered as given. */
export async function read(lake: string, model: string, asOf: string, orderBy: string): Promise<Row[]> {
  const session = await openDuckDB({ threads: 1 });
  try {
    await attachModelViews(session.connection, lake);
    const result = await session.connection.runAndReadAll(
      `SELECT * EXCLUDE (as_of) FROM ${model} WHERE as_of = DATE ${sqlString(asOf)} ORDER BY ${orderBy}`,
    );
    return result.getRowObjectsJson() as Row[];
  } finally {
    session.close();
  }
}

/** Runs the models on a fresh lake built from `fixture` and returns `model`'s rows; removes the lake. */
export async function runAndRead(
  fixture: LakeFixture,
  options: RunFixtureOptions & { model: string; orderBy: string },
): Promise<Row[]> {
  const lake = await makeLake(fixture);
  try {
    await run(lake, options);
    return await read(lake, options.model, options.asOf, options.orderBy);
  } finally {
    await removeLake(lake);
  }
}

/** Keeps only the given columns of each row (tests state the columns they compute by hand). */
export function pick(rows: readonly Row[], columns: readonly string[]): Row[] {
  return rows.map((row) => Object.fromEntries(columns.map((c) => [c, row[c] ?? null])));
}

/**
 * Runs the models with a warehouse the test keeps open, then runs `sql` in it: the way to read staging views,
 * which are not published.
 */
export async function runAndQuery(
  fixture: LakeFixture,
  options: RunFixtureOptions,
  sql: string,
): Promise<Row[]> {
  const lake = await makeLake(fixture);
  const warehouse = await DuckDBWarehouse.open(lake);
  try {
    await runLocal({
      lakeDir: lake,
      asOf: options.asOf,
      models: options.models,
      config: parseConfig(options.config ?? {}, "test config"),
      warehouse,
    });
    return [...(await warehouse.query(sql)).rows];
  } finally {
    await warehouse.close();
    await removeLake(lake);
  }
}
