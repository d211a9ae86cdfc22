/**
 * The one configuration file (DESIGN.md §5): every threshold the models use, validated with zod. Every field
 * has a documented default, so `{}` (or no file at all) is a valid configuration; unknown keys are rejected so
 * that a typo never silently falls back to a default. docs/models.md lists the fields from this schema.
 */
import { z } from "zod";
import { isTimeZone } from "./dates.ts";
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
      .describe("Months of history that make up a customer's current value (pyramid, profitability)."),
    comparison_days: z
      .int()
      .min(1)
      .max(3650)
      .default(90)
      .describe(
        "Length of the comparison period in days: pyramid migration compares tiers with this many days earlier; the lifecycle levers count new, won-back and lost customers in the last this many days.",
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

const lifecycle = z
  .strictObject({
    loyal_min_orders: z
      .int()
      .min(2)
      .max(1000)
      .default(4)
      .describe("A customer with at least this many purchase orders (and not lapsed) is `loyal`."),
    lapsed_after_days: z
      .int()
      .min(1)
      .max(3650)
      .default(365)
      .describe(
        "A customer with no purchase order for more than this many days is `lapsed`; a purchase after such a gap is a win-back. 365 = the 12-month active-buyer window of direct marketing.",
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
        "The business's time zone (IANA): it decides what day is today, for the default as-of of a run and the report and for the future-date check of ingest.",
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

export const CONFIG_SCHEMA = z.strictObject({
  $schema: z.string().optional().describe("Optional JSON-schema reference for editors; ignored."),
  periods,
  pyramid,
  margin,
  rfm,
  lifecycle,
  needs,
  cost_to_serve: costToServe,
  affinity,
  clv,
  calendar,
});

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
  return validateJson(CONFIG_SCHEMA, value, source, CONFIG_DOCUMENT);
}

/** Parses and validates config JSON text (CRMLAKE_CONFIG); `source` names its origin in errors. */
export function parseConfigText(text: string, source: string): CrmlakeConfig {
  return parseJson(CONFIG_SCHEMA, text, source, CONFIG_DOCUMENT);
}

/** Reads and validates a config file. No file means the defaults. */
export async function loadConfig(file: string | undefined): Promise<CrmlakeConfig> {
  if (file === undefined) return defaultConfig();
  return readJsonFile(CONFIG_SCHEMA, file, CONFIG_DOCUMENT);
}
