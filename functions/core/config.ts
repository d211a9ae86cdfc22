/**
 * The one configuration file (DESIGN.md §5): every threshold the models use, validated with zod. Every field
 * has a documented default, so `{}` (or no file at all) is a valid configuration; unknown keys are rejected so
 * that a typo never silently falls back to a default. docs/models.md lists the fields from this schema.
 */
import { z } from "zod";
import { isIsoDate, isTimeZone } from "./dates.ts";
import { parseJson, readJsonFile, validateJson } from "./json.ts";

/** A number with at most `scale` decimals (it reaches SQL as an exact DECIMAL literal). */
function decimal(scale: number, min: number, max: number) {
  return z
    .number()
    .min(min)
    .max(max)
    .refine((value) => Number(value.toFixed(scale)) === value, {
      message: `expected at most ${scale} decimal places`,
    });
}

const share = () => decimal(6, 0, 1);
const money = () => decimal(2, 0, 1_000_000);

const periods = z
  .strictObject({
    value_window_months: z
      .int()
      .min(1)
      .max(120)
      .default(12)
      .describe(
        "The value window (pyramid, profitability): this many calendar months ending with the as-of month, the as-of month up to the as-of date (docs/definitions.md, Periods).",
      ),
    comparison_months: z
      .int()
      .min(1)
      .max(120)
      .default(3)
      .describe(
        "The comparison period: this many calendar months ending with the as-of month. Pyramid migration compares tiers with the last day before it; the lifecycle levers count new, won-back and lost customers in it (docs/definitions.md, Periods).",
      ),
  })
  .prefault({});

const pyramid = z
  .strictObject({
    top_share: share()
      .default(0.01)
      .describe("Share of active customers in the `top` tier (highest value first)."),
    big_share: share().default(0.04).describe("Share of active customers in the `big` tier, after `top`."),
    medium_share: share()
      .default(0.15)
      .describe("Share of active customers in the `medium` tier, after `big`; the rest are `small`."),
    value_measure: z
      .enum(["gross_margin", "net_revenue", "net_profit"])
      .default("gross_margin")
      .describe(
        "Measure of current value over the value window: gross_margin, net_revenue, or net_profit (margin minus cost to serve).",
      ),
  })
  .refine((p) => p.top_share + p.big_share + p.medium_share <= 1, {
    message: "expected top_share + big_share + medium_share ≤ 1 (small takes the rest)",
  })
  .prefault({});

const margin = z
  .strictObject({
    default_rate: decimal(4, 0, 1)
      .default(0.3)
      .describe(
        "Gross margin rate applied to a line's amount when its cost is absent: margin = amount × rate, cost = amount − margin.",
      ),
  })
  .prefault({});

const rfm = z
  .strictObject({
    quantiles: z
      .literal(5)
      .default(5)
      .describe(
        "R, F and M scores are quintiles (1–5); fixed at 5 because the segment map is defined on 1–5.",
      ),
  })
  .prefault({});

const occasions = z
  .strictObject({
    unit: z
      .enum(["day", "order"])
      .default("day")
      .describe(
        "What one purchase occasion is, for RFM frequency, the life cycle and the pyramid's activity: a `day` with purchase lines (amount > 0) of the customer, or an `order` with purchase lines; refunds never cancel one (docs/definitions.md, Purchase occasion).",
      ),
  })
  .prefault({});

const lifecycle = z
  .strictObject({
    loyal_min_occasions: z
      .int()
      .min(2)
      .max(1000)
      .default(4)
      .describe(
        "A customer with at least this many purchase occasions (and not lapsed or won back) is `loyal`.",
      ),
    lapsed_after_days: z
      .int()
      .min(1)
      .max(3650)
      .default(365)
      .describe(
        "A customer with no purchase occasion for more than this many days is `lapsed`; an occasion after such a gap is a return (won back). At least 31 × periods.comparison_months. 365 = the 12-month active-buyer window of direct marketing.",
      ),
  })
  .prefault({});

const needs = z
  .strictObject({
    price_discount_share_min: share()
      .default(0.2)
      .describe("`price_oriented` when at least this share of list value was discounted away …"),
    price_index_max: decimal(4, 0, 100)
      .default(0.9)
      .describe("… or when the customer pays at most this multiple of the category's average unit price."),
    value_discount_share_max: share()
      .default(0.05)
      .describe("`value_oriented` when the discount share is below this …"),
    value_price_index_min: decimal(4, 0, 100)
      .default(1.1)
      .describe("… and the price index is at least this; everyone else with purchases is `composite`."),
  })
  .prefault({});

const costToServe = z
  .strictObject({
    per_order: money()
      .default(5)
      .describe("Cost of serving one purchase order (picking, shipping, payment)."),
    per_return: money()
      .default(10)
      .describe("Cost of handling one return order (an order with a refunded line)."),
    include_campaign_contacts: z
      .boolean()
      .default(true)
      .describe("Add the cost_per_contact of campaign contacts (treatment group) in the value window."),
  })
  .prefault({});

const affinity = z
  .strictObject({
    basket: z
      .enum(["customer", "order"])
      .default("customer")
      .describe(
        "What counts as one basket for category affinity: all purchases of a customer (cross-sell) or one order (market basket).",
      ),
    min_pair_baskets: z
      .int()
      .min(1)
      .max(1_000_000_000)
      .default(10)
      .describe("A category pair needs at least this many baskets with both categories to be reported."),
    min_lift: decimal(4, 0, 1000)
      .default(1)
      .describe("next_best_category only recommends a category whose lift is above this."),
  })
  .prefault({});

const clv = z
  .strictObject({
    horizon_months: z
      .int()
      .min(1)
      .max(120)
      .default(12)
      .describe("Horizon of predicted customer lifetime value."),
    annual_discount_rate: share()
      .default(0.1)
      .describe("Annual discount rate applied to future margin in the CLV."),
    parameter_drift_threshold: decimal(4, 0, 100)
      .default(0.25)
      .describe(
        "A run notes in its record (runs.diagnostics) each fitted clv_model parameter that moved by more than this share (relative) since the latest earlier successful run.",
      ),
  })
  .prefault({});

const quadrants = z
  .strictObject({
    current_value_cutoff: decimal(2, -1_000_000_000, 1_000_000_000)
      .optional()
      .describe(
        "Profitability matrix: an active customer's current value (pyramid.value_measure over the value window) is high when at least this; absent: the median current value of the active customers (docs/lifetime-value.md).",
      ),
    clv_cutoff: decimal(2, -1_000_000_000, 1_000_000_000)
      .optional()
      .describe(
        "Profitability matrix: an active customer's clv (customer_clv) is high when at least this; absent: the median clv of the active customers.",
      ),
  })
  .prefault({});

const actions = z
  .strictObject({
    p_alive_drop: share()
      .default(0.1)
      .describe(
        "Next-best action: P(alive) is falling when it is at least this much lower at as_of than at comparison_as_of (both from the same fitted BG/NBD; 0.1 = ten percentage points).",
      ),
  })
  .prefault({});

const calendar = z
  .strictObject({
    time_zone: z
      .string()
      .refine(isTimeZone, {
        error: (issue) =>
          `${JSON.stringify(issue.input)} is not an IANA time zone; expected one such as "Etc/UTC" or "Europe/Berlin"`,
      })
      .default("Etc/UTC")
      .describe(
        "The business's time zone (IANA): what a day is. Ingest reads a timestamp without an offset as wall-clock time here; the models date each order on its day here; today (the default as-of of a run and the report, the future-date check) and the schedule are read here (docs/definitions.md).",
      ),
    future_date_tolerance_days: z
      .int()
      .min(0)
      .max(366)
      .default(2)
      .describe(
        "Ingest quarantines a row (future_date) whose order, sign-up or contact date lies more than this many days after the day of ingest in time_zone: a stray year 2150 cannot move the as-of.",
      ),
  })
  .prefault({});

/**
 * Retention of published model snapshots (docs/operations.md, "Retention"; functions/core/runner/retention.ts).
 * Off unless keep_last is set: removing an as-of cannot be undone on a lake directory, and a deployment keeps
 * the files only for the versioning rules' days, so an upgrade must never start deleting a team's history.
 */
const retention = z
  .strictObject({
    keep_last: z
      .int()
      .min(1)
      .max(100_000)
      .optional()
      .describe(
        "Retention of model snapshots: keep each model's last this many as-ofs, and remove every as-of no rule below keeps (`crmlake runs sweep`; on AWS after each successful scheduled run). Absent: retention is off and every as-of is kept. Suggested: 30.",
      ),
    keep_month_ends: z
      .int()
      .min(0)
      .max(1200)
      .default(24)
      .describe(
        "With keep_last: also keep the month-end snapshot of this many of the latest closed months (a month's greatest as-of, once it is the month's last day or a later month has one).",
      ),
    keep_as_of: z
      .array(
        z.string().refine(isIsoDate, {
          error: (issue) => `${JSON.stringify(issue.input)} is not a date; expected YYYY-MM-DD`,
        }),
      )
      .default([])
      .describe("With keep_last: as-ofs (YYYY-MM-DD) never removed, e.g. a campaign's or an audit's."),
    keep_runs: z
      .array(z.string().min(1))
      .default([])
      .describe(
        "With keep_last: run ids whose as-of is never removed (a pinned run). Runs still running or interrupted are always kept.",
      ),
  })
  .prefault({});

/** Longest a comparison period of `months` calendar months can be, in days (31 days a month bounds it). */
export function longestComparisonDays(months: number): number {
  return 31 * months;
}

export const CONFIG_SCHEMA = z
  .strictObject({
    $schema: z.string().optional().describe("Optional JSON-schema reference for editors; ignored."),
    periods,
    pyramid,
    margin,
    rfm,
    occasions,
    lifecycle,
    needs,
    cost_to_serve: costToServe,
    affinity,
    clv,
    quadrants,
    actions,
    calendar,
    retention,
  })
  .superRefine((config, ctx) => {
    const { lapsed_after_days: lapsed } = config.lifecycle;
    const months = config.periods.comparison_months;
    if (lapsed < longestComparisonDays(months)) {
      ctx.addIssue({
        code: "custom",
        path: ["lifecycle", "lapsed_after_days"],
        message: `${lapsed} days is shorter than the comparison period (periods.comparison_months = ${months}, counted as ${longestComparisonDays(months)} days, 31 a month); a customer could then be won back and lapse again, or be acquired and lapse, within one period, and the life-cycle levers would not add up. Set lifecycle.lapsed_after_days to at least ${longestComparisonDays(months)} or shorten periods.comparison_months (docs/definitions.md, Life-cycle stages)`,
      });
    }
  });

/** Settings renamed by issue 13: the old name is refused with a message that names the new one. */
const RENAMED_SETTINGS: readonly { readonly path: readonly [string, string]; readonly message: string }[] = [
  {
    path: ["lifecycle", "loyal_min_orders"],
    message:
      "renamed lifecycle.loyal_min_occasions (a customer is loyal after this many purchase occasions, not orders; see docs/definitions.md); rename the key, the value means the same",
  },
  {
    path: ["periods", "comparison_days"],
    message:
      "replaced by periods.comparison_months (the comparison period is now calendar months ending with the as-of month, see docs/definitions.md, Periods); 90 days ≈ 3 months",
  },
];

/** The schema that parses a config file: renamed settings first, then CONFIG_SCHEMA. */
const CONFIG_PARSER = z
  .unknown()
  .superRefine((value, ctx) => {
    for (const { path, message } of RENAMED_SETTINGS) {
      const section = isRecord(value) ? value[path[0]] : undefined;
      if (isRecord(section) && Object.hasOwn(section, path[1])) {
        ctx.addIssue({ code: "custom", path: [...path], message });
      }
    }
  })
  .pipe(CONFIG_SCHEMA);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export type CrmlakeConfig = z.infer<typeof CONFIG_SCHEMA>;

/** A deeply partial config, for tests and callers that override a few fields. */
export type ConfigInput = z.input<typeof CONFIG_SCHEMA>;

/** The default configuration (what `{}` parses to). */
export function defaultConfig(): CrmlakeConfig {
  return CONFIG_SCHEMA.parse({});
}

const CONFIG_DOCUMENT = { code: "bad_config" } as const;

/** Validates an already-parsed JSON value; `source` names the file (or origin) in errors. */
export function parseConfig(value: unknown, source: string): CrmlakeConfig {
  return validateJson(CONFIG_PARSER, value, source, CONFIG_DOCUMENT);
}

/** Parses and validates config JSON text (CRMLAKE_CONFIG); `source` names its origin in errors. */
export function parseConfigText(text: string, source: string): CrmlakeConfig {
  return parseJson(CONFIG_PARSER, text, source, CONFIG_DOCUMENT);
}

/** Reads and validates a config file. No file means the defaults. */
export async function loadConfig(file: string | undefined): Promise<CrmlakeConfig> {
  if (file === undefined) return defaultConfig();
  return readJsonFile(CONFIG_PARSER, file, CONFIG_DOCUMENT);
}
