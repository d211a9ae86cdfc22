/**
 * The manager's report: one self-contained HTML page (no scripts, no external assets) that answers the
 * analytical-CRM questions from a run's model outputs, plus a short text summary for the terminal.
 * It only reads published tables; every number on the page comes from a model.
 */

import { daysBetween, isIsoDate, notADate } from "../dates.ts";
import { CrmlakeError, isAccessDenied } from "../errors.ts";

export type Value = string | number | boolean | null | Value[] | { [key: string]: Value };
export type Row = Record<string, Value>;
/** Runs a SELECT on the engine that holds the run's outputs. */
export type Query = (sql: string) => Promise<Row[]>;

const num = (v: Value | undefined): number => (v === null || v === undefined || v === "" ? 0 : Number(v));
const esc = (text: string) =>
  text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");
const int = (v: Value | undefined) => Math.round(num(v)).toLocaleString("en-US");
const money = (v: Value | undefined) =>
  num(v).toLocaleString("en-US", { minimumFractionDigits: 0, maximumFractionDigits: 0 });
const pct = (v: Value | undefined, digits = 1) =>
  v === null || v === undefined ? "–" : `${(num(v) * 100).toFixed(digits)} %`;
const str = (v: Value | undefined) => (v === null || v === undefined ? "–" : String(v));

/** The facts the report and the text summary share, read once. */
export interface ReportData {
  asOf: string;
  /** The drop ledger summed (drops); empty when `ingestUnavailable` says why it could not be read. */
  drops: Row;
  /** Quarantined rows per reason code; empty when `ingestUnavailable` is set. */
  quarantine: Row[];
  /**
   * Why the ingest figures (drops, quarantine) are missing: the engine refused to read the ledger or the
   * quarantine with the caller's rights (an analyst on a deployment: docs/operations.md). Absent when read.
   */
  ingestUnavailable?: string;
  pyramid: Row[];
  whale: Row[];
  migration: Row[];
  lifecycle: Row | undefined;
  stages: Row[];
  rfm: Row[];
  needs: Row[];
  categories: Row[];
  channels: Row[];
  cohorts: Row[];
  affinity: Row[];
  nextBest: Row[];
  profitability: Row;
  /** The lifetime-value fit (clv_model): one row per model; empty when the run did not compute it. */
  clvModels: Row[];
  /** The current × future profitability matrix (quadrant_summary), four rows; empty without it. */
  quadrants: Row[];
  /** Customers per next-best action (customer_actions); empty without it. */
  actions: Row[];
  /** Campaigns evaluated against their control group (campaign_results); empty without it. */
  campaigns: Row[];
  /** What the run's inputs carry (data_capabilities): one row per dimension; empty for older runs. */
  capabilities: Row[];
  /** The history checks the history is too short for (history_checks, is_sufficient false). */
  historyChecks: Row[];
  /** data_quality summed over the drops: duplicate and non-product lines; empty without it. */
  dataQuality: Row;
  /** The largest non-product line codes by absolute net amount (non_product_lines). */
  nonProduct: Row[];
}

/** Tables the report reads when the run computed them: a run of selected models may lack them. */
const OPTIONAL_TABLES = [
  "clv_model",
  "quadrant_summary",
  "customer_actions",
  "campaign_results",
  "data_capabilities",
  "history_checks",
  "data_quality",
  "non_product_lines",
] as const;

/** Where the report's tables are, beyond the query function. */
export interface ReportOptions {
  /**
   * The schema (Athena: the Glue database) the tables are in, to look the optional tables up in
   * information_schema: on Athena it lists every database of the catalogue, the run databases too. Default:
   * any schema (a local lake's session has one).
   */
  readonly schema?: string;
}

/** A name that goes into SQL text as a string literal. */
const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,254}$/;

export async function loadReportData(
  query: Query,
  asOf: string,
  options: ReportOptions = {},
): Promise<ReportData> {
  // The date goes into SQL text.
  if (!isIsoDate(asOf)) throw new CrmlakeError("bad_as_of", `as_of ${notADate(asOf)}`);
  if (options.schema !== undefined && !SCHEMA_NAME.test(options.schema)) {
    throw new CrmlakeError("bad_schema", `"${options.schema}" is not a schema name`);
  }
  // A DATE literal: Trino (Athena) compares a DATE with a DATE only, never with text.
  const at = `as_of = DATE '${asOf}'`;
  const one = async (sql: string): Promise<Row> => (await query(sql))[0] ?? {};
  const inSchema = options.schema === undefined ? "" : ` AND table_schema = '${options.schema}'`;
  const present = new Set(
    (
      await query(
        `SELECT DISTINCT table_name FROM information_schema.tables WHERE table_name IN (${OPTIONAL_TABLES.map((t) => `'${t}'`).join(", ")})${inSchema}`,
      )
    ).map((r) => String(r.table_name)),
  );
  const optional = async (table: (typeof OPTIONAL_TABLES)[number], sql: string): Promise<Row[]> =>
    present.has(table) ? await query(sql) : [];
  // The last 12 complete-or-current months of performance, by the as-of month.
  const since = `month_start_on > CAST(DATE '${asOf}' - INTERVAL '12' MONTH AS DATE)`;
  // The ledger and the quarantine are the operator's: an analyst on a deployment may not read them (their
  // records carry what the source sent). The rest of the report is the published models, which readers read.
  let ingest: Pick<ReportData, "drops" | "quarantine" | "ingestUnavailable">;
  try {
    ingest = {
      drops: await one(`SELECT count(*) AS drops, count(*) FILTER (WHERE status <> 'ok') AS rejected,
        sum(rows_in) AS rows_in, sum(rows_ok) AS rows_ok, sum(rows_quarantined) AS rows_quarantined FROM drops`),
      quarantine: await query(
        "SELECT reason_code, count(*) AS n FROM quarantine GROUP BY reason_code ORDER BY n DESC, reason_code",
      ),
    };
  } catch (error) {
    if (!isAccessDenied(error)) throw error;
    ingest = {
      drops: {},
      quarantine: [],
      ingestUnavailable: `the drop ledger and the quarantine are not readable with these credentials (${(error as Error).message})`,
    };
  }
  return {
    asOf,
    ...ingest,
    pyramid: await query(`SELECT * FROM pyramid_summary WHERE ${at} ORDER BY tier_order`),
    whale:
      await query(`SELECT customer_percentile, cumulative_profit_share, share_null_reason FROM whale_curve WHERE ${at}
      ORDER BY customer_percentile`),
    migration:
      await query(`SELECT previous_tier, current_tier, previous_tier_order, current_tier_order, customers
      FROM pyramid_migration WHERE ${at} AND customers > 0 ORDER BY previous_tier_order, current_tier_order`),
    lifecycle: (await query(`SELECT * FROM lifecycle_summary WHERE ${at}`))[0],
    stages: await query(`SELECT lifecycle_stage, count(*) AS customers, sum(net_revenue) AS revenue
      FROM customer_scores WHERE ${at} GROUP BY 1 ORDER BY customers DESC, lifecycle_stage`),
    rfm: await query(`SELECT rfm_segment, count(*) AS customers, sum(net_revenue) AS revenue,
        avg(CAST(recency_days AS DOUBLE)) AS recency, avg(CAST(orders AS DOUBLE)) AS orders
      FROM customer_scores WHERE ${at} AND rfm_segment IS NOT NULL GROUP BY 1 ORDER BY revenue DESC, rfm_segment`),
    needs: await query(`SELECT needs_segment, count(*) AS customers, sum(net_revenue) AS revenue
      FROM customer_scores WHERE ${at} AND needs_segment IS NOT NULL GROUP BY 1 ORDER BY customers DESC, needs_segment`),
    categories: await query(`SELECT category, sum(revenue) AS revenue, sum(gross_margin) AS margin,
        sum(orders) AS orders FROM performance_by_category WHERE ${at} AND ${since}
      GROUP BY 1 ORDER BY revenue DESC, category LIMIT 12`),
    channels: await query(`SELECT channel, sum(revenue) AS revenue, sum(gross_margin) AS margin,
        sum(orders) AS orders FROM performance_by_channel WHERE ${at} AND ${since}
      GROUP BY 1 ORDER BY revenue DESC, channel`),
    cohorts: await query(`SELECT cohort_month_on AS cohort, months_since_first,
        cohort_customers, retention_rate FROM cohort_retention
      WHERE ${at} AND months_since_first <= 12 AND cohort_month_on > CAST(DATE '${asOf}' - INTERVAL '13' MONTH AS DATE)
      ORDER BY cohort, months_since_first`),
    affinity: await query(`SELECT antecedent_category, consequent_category, confidence, lift, pair_baskets
      FROM product_affinity WHERE ${at} ORDER BY lift DESC, pair_baskets DESC, antecedent_category, consequent_category LIMIT 8`),
    nextBest: await query(`SELECT next_best_category, count(*) AS customers FROM customer_scores
      WHERE ${at} AND next_best_category IS NOT NULL GROUP BY 1 ORDER BY customers DESC, next_best_category LIMIT 8`),
    profitability: await one(`SELECT count(*) AS customers,
        count(*) FILTER (WHERE window_net_profit < 0) AS unprofitable,
        sum(window_net_profit) AS net_profit FROM customer_scores WHERE ${at}`),
    clvModels: await optional(
      "clv_model",
      `SELECT model, converged, n_customers, diagnostic FROM clv_model WHERE ${at} ORDER BY model`,
    ),
    quadrants: await optional(
      "quadrant_summary",
      `SELECT profitability_quadrant, customers, customer_share, current_value, clv, value_measure
      FROM quadrant_summary WHERE ${at} ORDER BY quadrant_order`,
    ),
    actions: await optional(
      "customer_actions",
      `SELECT next_action, count(*) AS customers, sum(clv) AS clv FROM customer_actions WHERE ${at}
      GROUP BY 1 ORDER BY customers DESC, next_action`,
    ),
    campaigns: await optional(
      "campaign_results",
      `SELECT campaign_id, treatment_n, control_n, response_uplift, response_uplift_ci_low, response_uplift_ci_high,
        response_p_value, incremental_revenue, campaign_cost, roi, roi_ci_low, roi_ci_high, flags
      FROM campaign_results WHERE ${at} ORDER BY campaign_id`,
    ),
    capabilities: await optional(
      "data_capabilities",
      `SELECT dimension, available, rows_with, rows_total, reason FROM data_capabilities WHERE ${at} ORDER BY dimension`,
    ),
    historyChecks: await optional(
      "history_checks",
      `SELECT check_code, message FROM history_checks WHERE ${at} AND NOT is_sufficient ORDER BY check_code`,
    ),
    dataQuality:
      (
        await optional(
          "data_quality",
          `SELECT count(*) AS drops, sum(lines) AS lines, sum(duplicate_lines) AS duplicate_lines,
          sum(duplicate_amount) AS duplicate_amount, sum(counted_duplicate_lines) AS counted_duplicate_lines,
          sum(lines_in_other_drops) AS lines_in_other_drops, sum(non_product_lines) AS non_product_lines,
          sum(non_product_amount) AS non_product_amount FROM data_quality WHERE ${at}`,
        )
      )[0] ?? {},
    nonProduct: await optional(
      "non_product_lines",
      `SELECT product_id, lines, net_amount FROM non_product_lines WHERE ${at}
      ORDER BY abs(net_amount) DESC, product_id LIMIT 6`,
    ),
  };
}

/** Where the report's runs are, for messages: `in lake` / `in the stack S`, and the option that names it. */
export interface ReportPlace {
  /** E.g. `in lake` or `in the stack Crmlake`. */
  readonly where: string;
  /** The option of `crmlake runs delete` that names the place, e.g. `--lake lake`, `--stack Crmlake`. */
  readonly option: string;
}

/**
 * The as-of the report is of: `asOf` when customer_scores has it, or else the latest as-of, the latest on or
 * before `notAfter` when that is given (today: the default report is never of a future date).
 */
export async function resolveReportAsOf(
  query: Query,
  place: ReportPlace,
  asOf?: string,
  notAfter?: string,
): Promise<string> {
  for (const date of [asOf, notAfter]) {
    if (date !== undefined && !isIsoDate(date))
      throw new CrmlakeError("bad_as_of", `as_of ${notADate(date)}`);
  }
  let date = asOf;
  if (date === undefined) {
    const bound = notAfter === undefined ? "" : ` WHERE as_of <= DATE '${notAfter}'`;
    const latest = (await query(`SELECT CAST(max(as_of) AS VARCHAR) AS d FROM customer_scores${bound}`))[0]
      ?.d;
    date = typeof latest === "string" ? latest : undefined;
    if (date === undefined && notAfter !== undefined) {
      const later = (
        await query(
          `SELECT DISTINCT CAST(as_of AS VARCHAR) AS d FROM customer_scores WHERE as_of > DATE '${notAfter}' ORDER BY 1`,
        )
      ).map((r) => String(r.d));
      if (later.length > 0) {
        throw new CrmlakeError(
          "no_run",
          `No run as of today (${notAfter}) or earlier ${place.where}, only after it, as of: ${later.join(", ")}. Pass --as-of ${later[0]} to report on one, or remove it with "crmlake runs delete --as-of ${later[0]} ${place.option}"`,
        );
      }
    }
  }
  if (date === undefined) throw new CrmlakeError("no_run", `No run found ${place.where}`);
  const found = await query(`SELECT count(*) AS n FROM customer_scores WHERE as_of = DATE '${date}'`);
  if (Number(found[0]?.n ?? 0) === 0) {
    const dates = await query("SELECT DISTINCT CAST(as_of AS VARCHAR) AS d FROM customer_scores ORDER BY 1");
    throw new CrmlakeError(
      "no_run",
      `No run as of ${date} ${place.where}. Runs exist as of: ${dates.map((r) => String(r.d)).join(", ")}`,
    );
  }
  return date;
}

/** Why a dimension is absent from the run's inputs (data_capabilities), or undefined when it is there. */
export function missingReason(d: ReportData, dimension: string): string | undefined {
  const row = d.capabilities.find((r) => r.dimension === dimension);
  return row !== undefined && row.available === false ? str(row.reason) : undefined;
}

const cannot = (reason: string) => `<span class="na">cannot be measured: ${esc(reason)}</span>`;

function table(headers: string[], rows: string[][], numeric: boolean[] = []): string {
  const head = headers.map((h, i) => `<th${numeric[i] ? ' class="n"' : ""}>${esc(h)}</th>`).join("");
  const body = rows
    .map((r) => `<tr>${r.map((c, i) => `<td${numeric[i] ? ' class="n"' : ""}>${c}</td>`).join("")}</tr>`)
    .join("");
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

function bar(share: number, color = "#2f6fb0"): string {
  const width = Math.max(0, Math.min(100, share * 100));
  return `<span class="bar"><span style="width:${width.toFixed(1)}%;background:${color}"></span></span>`;
}

/** The whale curve as an inline SVG line chart: cumulative profit share by customer percentile. */
function whaleSvg(points: Row[]): string {
  if (points.length === 0) return "<p>No customer was active in the value window.</p>";
  const reason = points.find((p) => p.share_null_reason !== null && p.share_null_reason !== undefined);
  if (reason !== undefined)
    return `<p>Total net profit over the value window is ${reason.share_null_reason === "total_net_profit_zero" ? "zero" : "negative"}: profit shares are not defined, so there is no curve to draw.</p>`;
  const shares = points.map((p) => num(p.cumulative_profit_share));
  const top = Math.max(1, ...shares) * 1.05;
  const bottom = Math.min(0, ...shares);
  const w = 560;
  const h = 240;
  const x = (p: number) => 40 + ((p - 1) / 99) * (w - 60);
  const y = (s: number) => 10 + (1 - (s - bottom) / (top - bottom)) * (h - 40);
  const path = points
    .map(
      (p, i) =>
        `${i === 0 ? "M" : "L"}${x(num(p.customer_percentile)).toFixed(1)},${y(num(p.cumulative_profit_share)).toFixed(1)}`,
    )
    .join(" ");
  const grid = [0, 0.25, 0.5, 0.75, 1, ...(top > 1.2 ? [Math.floor(top * 4) / 4] : [])]
    .map(
      (s) =>
        `<line x1="40" x2="${w - 20}" y1="${y(s)}" y2="${y(s)}" class="grid"/><text x="34" y="${y(s) + 4}" text-anchor="end">${Math.round(s * 100)}%</text>`,
    )
    .join("");
  const peak = Math.max(...shares);
  return `<svg viewBox="0 0 ${w} ${h}" role="img" aria-label="Whale curve">${grid}
    <line x1="40" x2="${w - 20}" y1="${y(1)}" y2="${y(1)}" class="hundred"/>
    <path d="${path}" class="curve"/>
    <text x="${w / 2}" y="${h - 6}" text-anchor="middle">customers ranked by profit (percentile) →</text></svg>
    <p class="note">The curve peaks at ${pct(peak, 0)} of total profit${peak > 1.001 ? ": the customers to the right of the peak destroy profit that the others make" : ""}.</p>`;
}

function heat(rate: number): string {
  const alpha = Math.max(0.05, Math.min(1, rate));
  return `background:rgba(47,111,176,${alpha.toFixed(2)});color:${alpha > 0.5 ? "#fff" : "#111"}`;
}

/**
 * The tiers of active customers, in order: those with a share (tier_share). The tiers, their order and their
 * shares are defined once, by the model int_value_tiers; the report reads them from pyramid_summary, so it
 * describes the run's own cut-offs, whatever the config said.
 */
function activeTiers(pyramid: readonly Row[]): Row[] {
  return pyramid.filter((r) => r.tier_share !== null && r.tier_share !== undefined);
}

/** A share as a percentage with at most two decimals: 0.01 → `1 %`, 0.045 → `4.5 %`. */
const sharePct = (share: number) => `${Number((share * 100).toFixed(2))} %`;

/** The cut-offs of the active tiers: `top 1 %, big (next 4 %), medium (next 15 %), small (the other 80 %)`. */
export function tierCutoffs(pyramid: readonly Row[]): string {
  const tiers = activeTiers(pyramid);
  return tiers
    .map((r, i) => {
      const name = str(r.value_tier);
      const share = sharePct(num(r.tier_share));
      if (i === 0) return `${name} ${share}`;
      return i === tiers.length - 1 ? `${name} (the other ${share})` : `${name} (next ${share})`;
    })
    .join(", ");
}

/** A difference of two rates in percentage points, signed: 0.031 → `+3.1 points`. */
const signedPoints = (v: Value | undefined) =>
  v === null || v === undefined
    ? "–"
    : `${num(v) >= 0 ? "+" : "−"}${Math.abs(num(v) * 100).toFixed(1)} points`;

/** Future value: the fit's state, the current × future matrix, the next-best actions. */
function futureValueSection(d: ReportData): string {
  const failed = d.clvModels.filter((r) => r.converged !== true);
  const fit =
    d.clvModels.length === 0
      ? "<p>This run did not compute lifetime value.</p>"
      : failed.length > 0
        ? `<p class="note">The lifetime-value fit did not converge, so future value is missing: ${failed
            .map((r) => `${esc(str(r.model))}: ${esc(str(r.diagnostic))}`)
            .join("; ")}.</p>`
        : `<p class="note">Future value is the expected gross margin over the lifetime-value horizon, discounted, from BG/NBD and Gamma-Gamma fitted on ${int(d.clvModels[0]?.n_customers)} buyers (docs/lifetime-value.md). Current value: ${esc(str(d.quadrants[0]?.value_measure ?? "–"))} over the last 12 months; high and low split at the medians of active customers unless configured.</p>`;
  const quadrants =
    d.quadrants.length === 0
      ? ""
      : table(
          ["Quadrant", "Customers", "Share", "Current value", "Future value"],
          d.quadrants.map((r) => [
            esc(str(r.profitability_quadrant)),
            int(r.customers),
            pct(r.customer_share),
            money(r.current_value),
            money(r.clv),
          ]),
          [false, true, true, true, true],
        );
  const actions =
    d.actions.length === 0
      ? ""
      : table(
          ["Next-best action", "Customers", "Future value"],
          d.actions.map((r) => [esc(str(r.next_action)), int(r.customers), money(r.clv)]),
          [false, true, true],
        );
  return `${fit}<div class="cols"><div><p class="note">best: high now and in future; invest: low now, high in future; retain: high now, low in future; worst: low, low.</p>${quadrants}</div><div><p class="note">One action per buyer (<code>crmlake export actions</code> writes a CSV per action).</p>${actions}</div></div>`;
}

/** Campaigns against their control groups. */
function campaignSection(d: ReportData): string {
  if (d.campaigns.length === 0) return "<p>No campaign with a control group was evaluated in this run.</p>";
  const rows = d.campaigns.map((r) => [
    esc(str(r.campaign_id)),
    `${int(r.treatment_n)} / ${int(r.control_n)}`,
    `${signedPoints(r.response_uplift)} <span class="note">(${signedPoints(r.response_uplift_ci_low)} to ${signedPoints(r.response_uplift_ci_high)})</span>`,
    r.response_p_value === null || r.response_p_value === undefined
      ? "–"
      : num(r.response_p_value).toPrecision(2),
    money(r.incremental_revenue),
    money(r.campaign_cost),
    r.roi === null || r.roi === undefined
      ? "–"
      : `${pct(r.roi, 0)} <span class="note">(${pct(r.roi_ci_low, 0)} to ${pct(r.roi_ci_high, 0)})</span>`,
    esc(Array.isArray(r.flags) ? r.flags.join(", ") : str(r.flags)),
  ]);
  return `<p class="note">Treated customers against the held-out control group over each campaign's response window: the uplift in response rate (95 % interval), the incremental revenue and the return on cost after margin (docs/campaigns.md). Flags warn before you trust a figure.</p>${table(
    [
      "Campaign",
      "Treated / control",
      "Response uplift",
      "p-value",
      "Incremental revenue",
      "Cost",
      "Return on cost",
      "Flags",
    ],
    rows,
    [false, true, true, true, true, true, true, false],
  )}`;
}

/** Headline sentences a manager reads first. */
export function headlines(d: ReportData): string[] {
  const lines: string[] = [];
  const [first, second] = activeTiers(d.pyramid);
  if (first && second) {
    lines.push(
      `The top ${sharePct(num(first.tier_share) + num(second.tier_share))} of active customers (${str(first.value_tier)} and ${str(second.value_tier)} tiers, ${int(num(first.customers) + num(second.customers))} customers) bring ${pct(num(first.margin_share) + num(second.margin_share), 0)} of the last 12 months' gross margin.`,
    );
  }
  const unprofitable = num(d.profitability.unprofitable);
  if (unprofitable > 0) {
    lines.push(`${int(unprofitable)} customers cost more to serve than they earned in the last 12 months.`);
  }
  if (d.lifecycle) {
    const l = d.lifecycle;
    lines.push(
      `Over the last ${int(daysBetween(str(l.period_start_on), str(l.period_end_on)))} days: ${int(l.new_customers)} new customers, ${int(l.won_back_in_period)} won back and ${int(l.lost_customers)} lost (churn rate ${pct(l.churn_rate)}).`,
    );
  }
  const champions = d.rfm.find((r) => r.rfm_segment === "Champions");
  const atRisk = d.rfm.filter((r) => ["At risk", "Cannot lose them"].includes(String(r.rfm_segment)));
  if (atRisk.length > 0) {
    const n = atRisk.reduce((s, r) => s + num(r.customers), 0);
    const revenue = atRisk.reduce((s, r) => s + num(r.revenue), 0);
    lines.push(
      `${int(n)} once-valuable customers are slipping away ("At risk" and "Cannot lose them": ${money(revenue)} of lifetime revenue).`,
    );
  }
  if (champions) lines.push(`${int(champions.customers)} Champions bought recently, often and a lot.`);
  const invest = d.quadrants.find((r) => r.profitability_quadrant === "invest");
  if (invest && num(invest.customers) > 0) {
    lines.push(
      `${int(invest.customers)} active customers are worth little today but much in future ("invest": ${money(invest.clv)} of expected margin over the lifetime-value horizon).`,
    );
  }
  const absent = ["categories", "discounts", "channels", "stores"].filter((k) => missingReason(d, k));
  if (absent.length > 0) {
    lines.push(
      `This data has no ${absent.join(", ")}: the measures that need them cannot be measured and are left out (see Data quality).`,
    );
  }
  for (const c of d.campaigns.filter((r) => r.response_p_value !== null && num(r.response_p_value) < 0.05)) {
    const flags = str(c.flags);
    lines.push(
      `Campaign ${str(c.campaign_id)} ${num(c.response_uplift) > 0 ? "beat" : "did worse than"} its control group: ${signedPoints(c.response_uplift)} response (95 % interval ${signedPoints(c.response_uplift_ci_low)} to ${signedPoints(c.response_uplift_ci_high)})${c.roi === null ? "" : `, return on cost ${pct(c.roi, 0)}`}${flags === "" || flags === "–" ? "" : `; check its flags first: ${flags.replaceAll(",", ", ")}`}.`,
    );
  }
  return lines;
}

/** What the data carry and what they do not say by themselves: capabilities, duplicates, non-product lines, history. */
function dataQualitySection(d: ReportData): string {
  const parts: string[] = [];
  const q = d.dataQuality;
  if (q.drops !== undefined && q.drops !== null) {
    parts.push(
      `<p class="note">Of ${int(q.lines)} lines in the lake, ${int(q.duplicate_lines)} repeat an earlier line of their file exactly (${money(q.duplicate_amount)}); ${int(q.counted_duplicate_lines)} of them count in this run, twice (kept by default: <code>data_quality</code>). ${int(q.lines_in_other_drops)} lines are also in another file. ${int(q.non_product_lines)} non-product lines (postage, fees, adjustments: ${money(q.non_product_amount)} net) are left out of customer and product figures.</p>`,
    );
  }
  if (d.nonProduct.length > 0) {
    parts.push(
      table(
        ["Non-product code", "Lines", "Net amount"],
        d.nonProduct.map((r) => [
          `<code>${esc(str(r.product_id))}</code>`,
          int(r.lines),
          money(r.net_amount),
        ]),
        [false, true, true],
      ),
    );
  }
  if (d.historyChecks.length > 0) {
    parts.push(
      `<p class="note">The history is too short for ${d.historyChecks.length} check${d.historyChecks.length === 1 ? "" : "s"} (<code>history_checks</code>):</p><ul>${d.historyChecks
        .map((r) => `<li><code>${esc(str(r.check_code))}</code>: ${esc(str(r.message))}</li>`)
        .join("")}</ul>`,
    );
  }
  if (d.capabilities.length > 0) {
    parts.push(
      table(
        ["In the data", "Rows with it", "Cannot be measured because"],
        d.capabilities.map((r) => [
          esc(str(r.dimension)),
          `${int(r.rows_with)} of ${int(r.rows_total)}`,
          r.available === false ? esc(str(r.reason)) : "",
        ]),
        [false, true, false],
      ),
    );
  }
  return parts.join("\n");
}

export function renderReport(d: ReportData): string {
  const totalCustomers = d.pyramid.reduce((s, r) => s + num(r.customers), 0);
  const revenue12 = d.pyramid.reduce((s, r) => s + num(r.revenue), 0);
  const margin12 = d.pyramid.reduce((s, r) => s + num(r.gross_margin), 0);
  const active = activeTiers(d.pyramid).reduce((s, r) => s + num(r.customers), 0);
  const l = d.lifecycle ?? {};
  const noCategories = missingReason(d, "categories");
  const noDiscounts = missingReason(d, "discounts");
  const deeper = (value: string) => (noCategories === undefined ? value : cannot(noCategories));

  const kpis = [
    ["Customers on file", int(totalCustomers)],
    ["Active (12 months)", int(active)],
    ["Revenue (12 months)", money(revenue12)],
    ["Gross margin (12 months)", money(margin12)],
    ["Churn rate (period)", pct(l.churn_rate)],
    ["Cross-sell rate", deeper(pct(l.cross_sell_rate))],
  ]
    .map(([k, v]) => `<div class="kpi"><div class="v">${v}</div><div class="k">${esc(k ?? "")}</div></div>`)
    .join("");

  const pyramid = table(
    ["Tier", "Customers", "Share", "Revenue", "Margin", "Margin share", ""],
    d.pyramid.map((r) => [
      esc(str(r.value_tier)),
      int(r.customers),
      pct(r.customer_share),
      money(r.revenue),
      money(r.gross_margin),
      pct(r.margin_share),
      bar(num(r.margin_share)),
    ]),
    [false, true, true, true, true, true, false],
  );

  const moves = d.migration.filter((r) => r.previous_tier !== r.current_tier);
  const up = moves.filter((r) => num(r.current_tier_order) < num(r.previous_tier_order));
  const down = moves.filter((r) => num(r.current_tier_order) > num(r.previous_tier_order));
  const sum = (rows: Row[]) => rows.reduce((s, r) => s + num(r.customers), 0);
  const migration = table(
    ["From", "To", "Customers"],
    moves
      .sort((a, b) => num(b.customers) - num(a.customers))
      .slice(0, 10)
      .map((r) => [esc(str(r.previous_tier)), esc(str(r.current_tier)), int(r.customers)]),
    [false, false, true],
  );

  const stages = table(
    ["Stage", "Customers", "Lifetime revenue"],
    d.stages.map((r) => [esc(str(r.lifecycle_stage)), int(r.customers), money(r.revenue)]),
    [false, true, true],
  );
  const levers = table(
    ["Lever", "Measure", "Value"],
    [
      ["More", "New customers in the period", int(l.new_customers)],
      ["More", "Won back in the period", int(l.won_back_in_period)],
      ["More", "Lost in the period", int(l.lost_customers)],
      ["Longer", "Average relationship (days)", int(l.avg_relationship_days)],
      ["Longer", "Churn rate", pct(l.churn_rate)],
      ["Deeper", "Categories per customer", deeper(num(l.avg_categories).toFixed(2))],
      ["Deeper", "Multi-category customers", deeper(pct(l.multi_category_share))],
      ["Deeper", "Cross-sell rate", deeper(pct(l.cross_sell_rate))],
    ],
    [false, false, true],
  );

  const rfmTotal = d.rfm.reduce((s, r) => s + num(r.revenue), 0);
  const rfm = table(
    ["RFM segment", "Customers", "Lifetime revenue", "Share", "Avg days since last order", "Avg orders"],
    d.rfm.map((r) => [
      esc(str(r.rfm_segment)),
      int(r.customers),
      money(r.revenue),
      pct(rfmTotal ? num(r.revenue) / rfmTotal : null),
      int(r.recency),
      num(r.orders).toFixed(1),
    ]),
    [false, true, true, true, true, true],
  );
  const needs =
    noDiscounts !== undefined
      ? `<p>Needs segments ${cannot(noDiscounts)}.</p>`
      : table(
          ["Needs segment", "Customers", "Lifetime revenue"],
          d.needs.map((r) => [esc(str(r.needs_segment)), int(r.customers), money(r.revenue)]),
          [false, true, true],
        );

  const catTotal = d.categories.reduce((s, r) => s + num(r.revenue), 0);
  const noChannels = missingReason(d, "channels");
  const categories =
    noCategories !== undefined
      ? `<p>Revenue by category ${cannot(noCategories)}.</p>`
      : table(
          ["Category", "Revenue", "Margin", "Margin %", "Orders", ""],
          d.categories.map((r) => [
            esc(str(r.category)),
            money(r.revenue),
            money(r.margin),
            pct(num(r.revenue) ? num(r.margin) / num(r.revenue) : null),
            int(r.orders),
            bar(catTotal ? num(r.revenue) / catTotal : 0),
          ]),
          [false, true, true, true, true, false],
        );
  const channels =
    noChannels !== undefined
      ? `<p>Revenue by channel ${cannot(noChannels)}.</p>`
      : table(
          ["Channel", "Revenue", "Margin", "Orders"],
          d.channels.map((r) => [esc(str(r.channel)), money(r.revenue), money(r.margin), int(r.orders)]),
          [false, true, true, true],
        );

  const cohortNames = [...new Set(d.cohorts.map((r) => String(r.cohort)))];
  const monthOf = (date: string) => date.slice(0, 7);
  const cohortRows = cohortNames.map((name) => {
    const rows = d.cohorts.filter((r) => r.cohort === name);
    const size = rows[0]?.cohort_customers;
    const cells = Array.from({ length: 13 }, (_, m) => {
      const cell = rows.find((r) => num(r.months_since_first) === m);
      return cell
        ? `<td class="n" style="${heat(num(cell.retention_rate))}">${pct(cell.retention_rate, 0)}</td>`
        : "<td></td>";
    });
    return `<tr><td>${esc(monthOf(name))}</td><td class="n">${int(size)}</td>${cells.join("")}</tr>`;
  });
  const cohorts = `<table class="cohort"><thead><tr><th>Cohort</th><th class="n">Customers</th>${Array.from(
    { length: 13 },
    (_, m) => `<th class="n">M${m}</th>`,
  ).join("")}</tr></thead><tbody>${cohortRows.join("")}</tbody></table>`;

  const affinity =
    noCategories !== undefined
      ? `<p>Categories bought together ${cannot(noCategories)}.</p>`
      : d.affinity.length === 0
        ? "<p>No pair of categories was bought together often enough (affinity.min_pair_baskets).</p>"
        : table(
            ["Bought", "Also buy", "Confidence", "Lift", "Baskets"],
            d.affinity.map((r) => [
              esc(str(r.antecedent_category)),
              esc(str(r.consequent_category)),
              pct(r.confidence),
              num(r.lift).toFixed(2),
              int(r.pair_baskets),
            ]),
            [false, false, true, true, true],
          );
  const nextBest =
    noCategories !== undefined
      ? `<p>The next category to offer ${cannot(noCategories)}.</p>`
      : d.nextBest.length === 0
        ? "<p>No customer has a category to offer next (no rule with lift above affinity.min_lift).</p>"
        : table(
            ["Offer next", "Customers"],
            d.nextBest.map((r) => [esc(str(r.next_best_category)), int(r.customers)]),
            [false, true],
          );
  const quarantine = d.quarantine.length
    ? table(
        ["Reason", "Rows"],
        d.quarantine.map((r) => [`<code>${esc(str(r.reason_code))}</code>`, int(r.n)]),
        [false, true],
      )
    : "<p>No row was quarantined.</p>";
  const dataQuality = dataQualitySection(d);

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Customer report as of ${esc(d.asOf)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1b1f24;max-width:1100px;margin:2rem auto;padding:0 1rem}
h1{font-size:1.7rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2.2rem;border-bottom:2px solid #e3e8ee;padding-bottom:.3rem}
.sub{color:#57606a}.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:.8rem;margin:1.2rem 0}
.kpi{background:#f3f6f9;border-radius:8px;padding:.8rem}.kpi .v{font-size:1.35rem;font-weight:600}.kpi .k{color:#57606a;font-size:.85rem}
ul.head li{margin:.3rem 0}table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}th,td{padding:.3rem .6rem;border-bottom:1px solid #e3e8ee;text-align:left}
th{background:#f6f8fa}.n{text-align:right;font-variant-numeric:tabular-nums}.bar{display:inline-block;width:120px;height:10px;background:#eef1f4;border-radius:5px}
.bar span{display:block;height:10px;border-radius:5px}.grid{stroke:#e3e8ee}.hundred{stroke:#999;stroke-dasharray:4}.curve{fill:none;stroke:#2f6fb0;stroke-width:2.5}
svg{max-width:560px;font-size:11px;fill:#57606a}.note{color:#57606a;font-size:.9rem}.cols{display:grid;grid-template-columns:1fr 1fr;gap:2rem}
table.cohort td,table.cohort th{padding:.2rem .35rem;font-size:.8rem}.na{color:#8a5a00;font-size:.85rem}footer{margin-top:3rem;color:#57606a;font-size:.85rem}
</style></head><body>
<h1>Customer report</h1>
<div class="sub">As of ${esc(d.asOf)}${d.ingestUnavailable === undefined ? ` · ${int(d.drops.drops)} files ingested, ${int(d.drops.rows_ok)} order and customer rows used, ${int(d.drops.rows_quarantined)} rows set aside for data fixes` : ""}</div>
<div class="kpis">${kpis}</div>
<h2>In brief</h2><ul class="head">${headlines(d)
    .map((h) => `<li>${esc(h)}</li>`)
    .join("")}</ul>
<h2>Who are our customers worth? The customer pyramid</h2>
<p class="note">Active customers ranked by gross margin over the last 12 months: ${esc(tierCutoffs(d.pyramid))}; inactive customers bought before but not in the window; prospects never bought.</p>
${pyramid}
<h2>Where does the profit come from? The whale curve</h2>${whaleSvg(d.whale)}
<h2>Who moved between tiers?</h2><p class="note">Compared with the start of the comparison period: ${int(sum(up))} customers moved up, ${int(sum(down))} moved down.</p>${migration}
<h2>Where are customers in their life with us?</h2><div class="cols"><div>${stages}</div><div>${levers}</div></div>
<h2>Segments</h2><div class="cols"><div><p class="note">RFM: recency, frequency and monetary value scored 1–5 by quintile.</p>${rfm}</div><div><p class="note">Needs: how much customers buy on discount and at what price level.</p>${needs}</div></div>
<h2>What sells where? The last 12 months</h2><div class="cols"><div>${categories}</div><div>${channels}</div></div>
<h2>Do new customers come back? Monthly cohorts</h2><p class="note">Share of each month's new customers who ordered again N months later.</p>${cohorts}
<h2>What will they be worth? Current against future value</h2>${futureValueSection(d)}
<h2>Did the campaigns work? Treated against control</h2>${campaignSection(d)}
<h2>What to offer next</h2><div class="cols"><div><p class="note">Categories bought together more often than chance (lift &gt; 1).</p>${affinity}</div><div><p class="note">The best next category for each customer, by lift, among categories they have not bought.</p>${nextBest}</div></div>
<h2>Data quality</h2>${ingestSection(d, quarantine)}
${dataQuality}
<footer>Generated by crmlake. Every figure comes from the published model tables of the run as of ${esc(d.asOf)}; see docs/models.md for their definitions.</footer>
</body></html>
`;
}

/** The files read and the rows set aside by reason, or why they are not shown. */
function ingestSection(d: ReportData, quarantine: string): string {
  if (d.ingestUnavailable !== undefined) {
    return `<p class="na">Files read and rows set aside are not shown: ${esc(d.ingestUnavailable)}. They need the operator's rights on the drop ledger and the quarantine (docs/operations.md).</p>`;
  }
  return `<p class="note">${int(d.drops.rows_in)} rows read from ${int(d.drops.drops)} files${num(d.drops.rejected) ? `, ${int(d.drops.rejected)} files rejected whole` : ""}. Rows set aside, by reason (query the <code>quarantine</code> table for the rows themselves):</p>${quarantine}`;
}

/** A few lines for the terminal. */
export function textSummary(d: ReportData): string {
  return [`Customer report as of ${d.asOf}`, ...headlines(d).map((h) => `  • ${h}`)].join("\n");
}
