/**
 * What `crmlake campaign assign` and `plan` read from the lake (docs/campaigns.md): the latest published
 * customer_scores an audience is chosen from, the campaign's earlier record, and the population's baseline
 * response and revenue. Each takes the lake's query function (the local backend's query session); the filter
 * comes in as SQL from filter.ts's filterToSql, never as the user's text.
 */
import { isAccessDenied, isCrmlakeError, UsageError } from "../errors.ts";
import { type FilterColumnKind, type FilterColumns, filterKindOf } from "./filter.ts";

/** Runs one SELECT over the lake's relations; rows in column order. */
export type LakeRows = (sql: string) => Promise<{ readonly rows: readonly (readonly unknown[])[] }>;

/** The published customer table an audience is chosen from (one row per customer, value_tier among its columns). */
export const AUDIENCE_TABLE = "customer_scores";
/** Columns of the audience table a filter may not name: the key and the partition. */
const NOT_FILTERABLE = new Set(["customer_id", "as_of"]);

const text = (value: unknown): string => (value === null || value === undefined ? "" : String(value));
export const num = (value: unknown): number | null =>
  value === null || value === undefined || value === "" ? null : Number(value);

/** A name that goes into SQL text as a string literal. */
const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,254}$/;

/**
 * The latest published audience table: its as-of and the columns a filter may name. Its columns come from
 * information_schema, which DuckDB and Athena both have (Athena's DESCRIBE answers in Hive's text form);
 * `schema` is the schema it is in (Athena: the stack's Glue database, since information_schema lists every
 * database), default any.
 */
export async function readAudience(
  query: LakeRows,
  schema?: string,
): Promise<{ asOf: string; columns: FilterColumns }> {
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw new UsageError("bad_schema", `"${schema}" is not a schema name`);
  }
  let described: Awaited<ReturnType<LakeRows>>;
  let asOf: unknown;
  try {
    described = await query(
      `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = '${AUDIENCE_TABLE}_latest'${schema === undefined ? "" : ` AND table_schema = '${schema}'`} ORDER BY ordinal_position`,
    );
    if (described.rows.length === 0) throw new UsageError("no_published_scores", "no such table");
    asOf = (await query(`SELECT CAST(MAX(as_of) AS VARCHAR) FROM ${AUDIENCE_TABLE}_latest`)).rows[0]?.[0];
  } catch (error) {
    if (!isCrmlakeError(error)) throw error;
    throw new UsageError(
      "no_published_scores",
      `The lake has no published ${AUDIENCE_TABLE}: run "crmlake run" first (the audience and its value tiers come from it)`,
    );
  }
  if (asOf === null || asOf === undefined) {
    throw new UsageError(
      "no_published_scores",
      `The lake's ${AUDIENCE_TABLE} is empty: run "crmlake run" first`,
    );
  }
  const columns = new Map<string, FilterColumnKind>();
  for (const [name, type] of described.rows) {
    const kind = filterKindOf(String(type));
    if (kind !== undefined && !NOT_FILTERABLE.has(String(name))) columns.set(String(name), kind);
  }
  return { asOf: String(asOf), columns };
}

/** A customer of the audience as the balance report describes them. */
export interface Profile {
  readonly customerId: string;
  readonly tier: string;
  readonly recency: number | null;
  readonly frequency: number | null;
  readonly spend: number | null;
}

/** The columns readProfiles needs of the audience table. */
export const PROFILE_COLUMNS = ["value_tier", "recency_days", "orders", "net_revenue"] as const;

/** The customers of the latest audience table that `whereSql` admits, by customer_id. */
export async function readProfiles(query: LakeRows, whereSql: string): Promise<Profile[]> {
  const { rows } = await query(`
    SELECT customer_id, COALESCE(value_tier, 'unknown'), recency_days, orders, CAST(net_revenue AS DOUBLE)
    FROM ${AUDIENCE_TABLE}_latest WHERE ${whereSql} ORDER BY customer_id`);
  return rows.map((r) => ({
    customerId: text(r[0]),
    tier: text(r[1]),
    recency: num(r[2]),
    frequency: num(r[3]),
    spend: num(r[4]),
  }));
}

/** A campaigns record's fields as text, as the drop file carries them. */
export interface CampaignRecord {
  /** False when the ledger could not be read: the record is then the last of the greatest drop id. */
  readonly byIngestOrder: boolean;
  readonly name: string;
  readonly channel: string;
  readonly startsOn: string;
  readonly endsOn: string;
  readonly costPerContact: string;
  readonly fixedCost: string;
}

/**
 * The campaign's latest record in ingest order, if the lake has one. `id` must be a checked campaign id.
 * Ingest order is the drop ledger's; when the engine refuses to read the ledger with the caller's rights (an
 * analyst on a deployment, ACCESS_DENIED), the record is the last line of the greatest drop id, and
 * `byIngestOrder` says so.
 */
export async function readCampaignRecord(query: LakeRows, id: string): Promise<CampaignRecord | undefined> {
  const select = `
    SELECT c.name, c.channel, CAST(c.starts_on AS VARCHAR), CAST(c.ends_on AS VARCHAR),
      CAST(c.cost_per_contact AS VARCHAR), CAST(c.fixed_cost AS VARCHAR)
    FROM campaigns AS c`;
  let rows: Awaited<ReturnType<LakeRows>>["rows"];
  let byIngestOrder = true;
  try {
    ({ rows } = await query(`${select}
    LEFT JOIN (SELECT drop_id, finished_at FROM drops WHERE ledger_dir = 'drops' AND status = 'ok') AS d
      ON d.drop_id = c.drop_id
    WHERE c.campaign_id = '${id}'
    ORDER BY d.finished_at DESC NULLS LAST, c.drop_id DESC, c.line_number DESC
    LIMIT 1`));
  } catch (error) {
    if (!isAccessDenied(error)) throw error;
    byIngestOrder = false;
    ({ rows } = await query(`${select}
    WHERE c.campaign_id = '${id}'
    ORDER BY c.drop_id DESC, c.line_number DESC
    LIMIT 1`));
  }
  const row = rows[0];
  if (row === undefined) return undefined;
  return {
    byIngestOrder,
    name: text(row[0]),
    channel: text(row[1]),
    startsOn: text(row[2]),
    endsOn: text(row[3]),
    costPerContact: text(row[4]),
    fixedCost: text(row[5]),
  };
}

/** The population's outcomes over a window: customers, those who bought, and revenue per customer. */
export interface Baseline {
  readonly population: number;
  readonly responders: number;
  readonly meanRevenue: number;
  /** Sample variance of revenue per customer (zeros included); 0 below two customers. */
  readonly revenueVariance: number;
}

/**
 * Purchase orders and net revenue per customer of the population (`whereSql` over the latest audience table) in
 * the days `from` to `asOf`, from the same run's int_customer_orders (one row per customer and order, overlapping
 * exports counted once). Dates must be checked ISO dates.
 */
export async function readBaseline(
  query: LakeRows,
  whereSql: string,
  asOf: string,
  from: string,
): Promise<Baseline> {
  const { rows } = await query(`
    WITH population AS (
      SELECT customer_id FROM ${AUDIENCE_TABLE}_latest WHERE ${whereSql}
    ),
    orders AS (
      SELECT customer_id, bool_or(is_purchase) AS responded, SUM(net_amount) AS revenue
      FROM int_customer_orders
      WHERE as_of = DATE '${asOf}' AND ordered_on BETWEEN DATE '${from}' AND DATE '${asOf}'
      GROUP BY customer_id
    ),
    outcomes AS (
      SELECT CASE WHEN COALESCE(o.responded, false) THEN 1 ELSE 0 END AS responded,
        CAST(COALESCE(o.revenue, 0) AS DOUBLE) AS revenue
      FROM population AS p LEFT JOIN orders AS o ON o.customer_id = p.customer_id
    )
    SELECT COUNT(*), SUM(responded), AVG(revenue), VAR_SAMP(revenue) FROM outcomes`);
  const row = rows[0];
  return {
    population: Number(row?.[0] ?? 0),
    responders: Number(row?.[1] ?? 0),
    meanRevenue: Number(row?.[2] ?? 0),
    revenueVariance: num(row?.[3]) ?? 0,
  };
}
