/**
 * Run parameters and the one macro syntax models may use: `{{ name }}`, replaced by a typed SQL literal
 * (`DATE '2024-01-31'`, `CAST(0.3 AS DECIMAL(9,4))`, `90`, `'gross_margin'`). Values come from the
 * validated config and the as-of date only, never from data, and every one is checked here again before
 * it is rendered, so no model ever receives a string-built value.
 */

import { didYouMean } from "../catalogue/models.ts";
import type { CrmlakeConfig } from "../config.ts";
import { addDays, canonicalZone, formatIsoDate, isIsoDate, notADate, parseIsoDate } from "../dates.ts";
import { ModelError } from "../errors.ts";

export type ParamType =
  | { readonly kind: "date" }
  | { readonly kind: "integer" }
  | { readonly kind: "double" }
  | { readonly kind: "decimal"; readonly precision: number; readonly scale: number }
  | { readonly kind: "varchar" }
  | { readonly kind: "boolean" };

export type ParamValue = string | number | boolean;

export interface ParamDefinition {
  readonly name: string;
  readonly type: ParamType;
  readonly description: string;
  readonly value: (context: RunContext) => ParamValue;
}

export interface RunContext {
  /** The as-of date, `YYYY-MM-DD`. */
  readonly asOf: string;
  readonly config: CrmlakeConfig;
}

function requireDate(text: string): Date {
  const date = parseIsoDate(text);
  if (date === undefined) throw new ModelError("bad_parameter", notADate(text));
  return date;
}

/** `date` minus `days` days. */
export function minusDays(date: string, days: number): string {
  const d = requireDate(date);
  d.setUTCDate(d.getUTCDate() - days);
  return formatIsoDate(d);
}

/**
 * `date` minus `months` calendar months, clamped to the end of the month (2024-03-31 − 1 month =
 * 2024-02-29), which is what `CAST(d - INTERVAL 'n' MONTH AS DATE)` gives on Trino and on DuckDB.
 */
export function minusMonths(date: string, months: number): string {
  const d = requireDate(date);
  const target = d.getUTCFullYear() * 12 + d.getUTCMonth() - months;
  const year = Math.floor(target / 12);
  const month = target - year * 12;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return formatIsoDate(new Date(Date.UTC(year, month, Math.min(d.getUTCDate(), lastDay))));
}

/**
 * The last day of the month `months` calendar months before the month of `date`: the exclusive start of a
 * period of `months` calendar months ending with the month of `date` (docs/definitions.md, Periods).
 * monthEndBefore('2024-12-09', 12) = '2023-12-31'.
 */
export function monthEndBefore(date: string, months: number): string {
  const d = requireDate(date);
  return formatIsoDate(new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - months + 1, 0)));
}

const decimal = (precision: number, scale: number): ParamType => ({ kind: "decimal", precision, scale });
const DOUBLE: ParamType = { kind: "double" };
const INTEGER: ParamType = { kind: "integer" };
const DATE_TYPE: ParamType = { kind: "date" };
const VARCHAR: ParamType = { kind: "varchar" };
const BOOLEAN: ParamType = { kind: "boolean" };

/**
 * Every parameter a model can use. Dates derived from as-of are computed here (not in SQL), so each model
 * sees the same window edges. Windows are half-open on the left: (start, end].
 */
export const PARAMETERS: readonly ParamDefinition[] = [
  {
    name: "as_of",
    type: DATE_TYPE,
    description: "The run's as-of date: only transactions on or before it count.",
    value: (c) => c.asOf,
  },
  {
    name: "as_of_partition_month",
    type: VARCHAR,
    description:
      "The month, `YYYY-MM`, of the day after as_of: no order_month partition (the month of the UTC timestamp) after it can hold an order dated on or before as_of in any time zone, so the transactions are pruned to it.",
    // 9999-12-31 has no next day in YYYY-MM-DD; its own month is the last one.
    value: (c) => (c.asOf === "9999-12-31" ? "9999-12" : addDays(c.asOf, 1).slice(0, 7)),
  },
  {
    name: "as_of_month_is_partial",
    type: BOOLEAN,
    description:
      "True when as_of is before the last day of its month: the as-of month is seen only in part (history_checks, the is_partial of monthly rows).",
    value: (c) => c.asOf !== monthEndBefore(c.asOf, 0),
  },
  {
    name: "calendar.time_zone",
    type: VARCHAR,
    description:
      "Config calendar.time_zone, canonical (`UTC` for every alias of UTC): the zone whose days are the models' days.",
    value: (c) => canonicalZone(c.config.calendar.time_zone),
  },
  {
    name: "value_window_start",
    type: DATE_TYPE,
    description:
      "Exclusive start of the value window: the last day of the month periods.value_window_months calendar months before the as-of month.",
    value: (c) => monthEndBefore(c.asOf, c.config.periods.value_window_months),
  },
  {
    name: "comparison_as_of",
    type: DATE_TYPE,
    description:
      "Exclusive start of the comparison period (periods.comparison_months calendar months ending with the as-of month): the last day of the month before it, the date the pyramid migration and the lifecycle levers compare with.",
    value: (c) => monthEndBefore(c.asOf, c.config.periods.comparison_months),
  },
  {
    name: "comparison_window_start",
    type: DATE_TYPE,
    description:
      "Exclusive start of the value window at comparison_as_of (value_window_months months before it).",
    value: (c) =>
      monthEndBefore(c.asOf, c.config.periods.comparison_months + c.config.periods.value_window_months),
  },
  {
    name: "pyramid.top_share",
    type: decimal(9, 6),
    description: "Config pyramid.top_share.",
    value: (c) => c.config.pyramid.top_share,
  },
  {
    name: "pyramid.big_share",
    type: decimal(9, 6),
    description: "Config pyramid.big_share.",
    value: (c) => c.config.pyramid.big_share,
  },
  {
    name: "pyramid.medium_share",
    type: decimal(9, 6),
    description: "Config pyramid.medium_share.",
    value: (c) => c.config.pyramid.medium_share,
  },
  {
    name: "pyramid.value_measure",
    type: VARCHAR,
    description: "Config pyramid.value_measure.",
    value: (c) => c.config.pyramid.value_measure,
  },
  {
    name: "margin.default_rate",
    type: decimal(9, 4),
    description: "Config margin.default_rate.",
    value: (c) => c.config.margin.default_rate,
  },
  {
    name: "rfm.quantiles",
    type: INTEGER,
    description: "Config rfm.quantiles.",
    value: (c) => c.config.rfm.quantiles,
  },
  {
    name: "occasions.unit",
    type: VARCHAR,
    description: "Config occasions.unit: what one purchase occasion is, 'day' or 'order'.",
    value: (c) => c.config.occasions.unit,
  },
  {
    name: "lifecycle.loyal_min_occasions",
    type: INTEGER,
    description: "Config lifecycle.loyal_min_occasions.",
    value: (c) => c.config.lifecycle.loyal_min_occasions,
  },
  {
    name: "lifecycle.lapsed_after_days",
    type: INTEGER,
    description: "Config lifecycle.lapsed_after_days.",
    value: (c) => c.config.lifecycle.lapsed_after_days,
  },
  {
    name: "comparison_months",
    type: INTEGER,
    description: "Config periods.comparison_months.",
    value: (c) => c.config.periods.comparison_months,
  },
  {
    name: "needs.price_discount_share_min",
    type: decimal(9, 6),
    description: "Config needs.price_discount_share_min.",
    value: (c) => c.config.needs.price_discount_share_min,
  },
  {
    name: "needs.price_index_max",
    type: decimal(9, 4),
    description: "Config needs.price_index_max.",
    value: (c) => c.config.needs.price_index_max,
  },
  {
    name: "needs.value_discount_share_max",
    type: decimal(9, 6),
    description: "Config needs.value_discount_share_max.",
    value: (c) => c.config.needs.value_discount_share_max,
  },
  {
    name: "needs.value_price_index_min",
    type: decimal(9, 4),
    description: "Config needs.value_price_index_min.",
    value: (c) => c.config.needs.value_price_index_min,
  },
  {
    name: "cost_to_serve.per_order",
    type: decimal(18, 2),
    description: "Config cost_to_serve.per_order.",
    value: (c) => c.config.cost_to_serve.per_order,
  },
  {
    name: "cost_to_serve.per_return",
    type: decimal(18, 2),
    description: "Config cost_to_serve.per_return.",
    value: (c) => c.config.cost_to_serve.per_return,
  },
  {
    name: "cost_to_serve.include_campaign_contacts",
    type: BOOLEAN,
    description: "Config cost_to_serve.include_campaign_contacts.",
    value: (c) => c.config.cost_to_serve.include_campaign_contacts,
  },
  {
    name: "affinity.basket",
    type: VARCHAR,
    description: "Config affinity.basket.",
    value: (c) => c.config.affinity.basket,
  },
  {
    name: "affinity.min_pair_baskets",
    type: INTEGER,
    description: "Config affinity.min_pair_baskets.",
    value: (c) => c.config.affinity.min_pair_baskets,
  },
  {
    name: "affinity.min_lift",
    type: decimal(9, 4),
    description: "Config affinity.min_lift.",
    value: (c) => c.config.affinity.min_lift,
  },
  {
    name: "clv.horizon_months",
    type: INTEGER,
    description: "Config clv.horizon_months.",
    value: (c) => c.config.clv.horizon_months,
  },
  {
    name: "clv.annual_discount_rate",
    type: decimal(9, 6),
    description: "Config clv.annual_discount_rate.",
    value: (c) => c.config.clv.annual_discount_rate,
  },
  {
    name: "quadrants.has_current_value_cutoff",
    type: BOOLEAN,
    description:
      "True when config quadrants.current_value_cutoff is set (else the median of the active customers).",
    value: (c) => c.config.quadrants.current_value_cutoff !== undefined,
  },
  {
    name: "quadrants.current_value_cutoff",
    type: DOUBLE,
    description:
      "Config quadrants.current_value_cutoff; 0 when not set (has_current_value_cutoff is then false).",
    value: (c) => c.config.quadrants.current_value_cutoff ?? 0,
  },
  {
    name: "quadrants.has_clv_cutoff",
    type: BOOLEAN,
    description: "True when config quadrants.clv_cutoff is set (else the median of the active customers).",
    value: (c) => c.config.quadrants.clv_cutoff !== undefined,
  },
  {
    name: "quadrants.clv_cutoff",
    type: DOUBLE,
    description: "Config quadrants.clv_cutoff; 0 when not set (has_clv_cutoff is then false).",
    value: (c) => c.config.quadrants.clv_cutoff ?? 0,
  },
  {
    name: "actions.p_alive_drop",
    type: DOUBLE,
    description: "Config actions.p_alive_drop.",
    value: (c) => c.config.actions.p_alive_drop,
  },
];

function badValue(name: string, value: ParamValue, expected: string): never {
  throw new ModelError("bad_parameter", `Parameter ${name} = ${JSON.stringify(value)} is not ${expected}`);
}

/** Renders one checked value as a typed SQL literal that means the same on Trino and DuckDB. */
export function renderLiteral(name: string, type: ParamType, value: ParamValue): string {
  switch (type.kind) {
    case "date":
      if (typeof value !== "string" || !isIsoDate(value))
        badValue(name, value, "a real date written YYYY-MM-DD");
      return `DATE '${value}'`;
    case "integer":
      if (typeof value !== "number" || !Number.isSafeInteger(value) || Math.abs(value) > 2_147_483_647) {
        badValue(name, value, "an integer");
      }
      return value < 0 ? `(${value})` : String(value);
    case "double": {
      if (typeof value !== "number" || !Number.isFinite(value)) badValue(name, value, "a finite number");
      const text = String(value);
      const literal = /e/i.test(text) ? text : `${text}e0`;
      return value < 0 ? `(${literal})` : literal;
    }
    case "decimal": {
      if (typeof value !== "number" || !Number.isFinite(value)) badValue(name, value, "a finite number");
      const text = value.toFixed(type.scale);
      if (Number(text) !== value) badValue(name, value, `a number with at most ${type.scale} decimals`);
      if (text.replace(/^-/, "").replace(".", "").replace(/^0+/, "").length > type.precision) {
        badValue(name, value, `a DECIMAL(${type.precision},${type.scale})`);
      }
      return `CAST(${text} AS DECIMAL(${type.precision},${type.scale}))`;
    }
    case "varchar":
      if (typeof value !== "string" || !/^[A-Za-z0-9_. /+-]*$/.test(value)) {
        badValue(name, value, "a plain word (letters, digits, _ . / + - and spaces)");
      }
      return `'${value}'`;
    case "boolean":
      if (typeof value !== "boolean") badValue(name, value, "true or false");
      return value ? "TRUE" : "FALSE";
  }
}

/** All parameters of a run, rendered once: name → SQL literal. */
export function renderParameters(context: RunContext): ReadonlyMap<string, string> {
  if (!isIsoDate(context.asOf)) {
    throw new ModelError("bad_parameter", `as_of ${notADate(context.asOf)}`);
  }
  return new Map(PARAMETERS.map((p) => [p.name, renderLiteral(p.name, p.type, p.value(context))]));
}

const MACRO = /\{\{\s*([^{}]*?)\s*\}\}/g;

/**
 * Replaces every `{{ name }}` in a model with its literal. Unknown names and stray braces fail with the
 * file, the line and the known parameters.
 */
export function expandMacros(sql: string, file: string, literals: ReadonlyMap<string, string>): string {
  const lineOf = (offset: number) => sql.slice(0, offset).split("\n").length;
  const known = [...literals.keys()];
  const expanded = sql.replace(MACRO, (match, name: string, offset: number) => {
    const literal = literals.get(name);
    if (literal === undefined) {
      throw new ModelError(
        "unknown_parameter",
        `${file}:${lineOf(offset)}: unknown parameter "${name}" in ${match}.${didYouMean(name, known)} Known parameters: ${known.join(", ")}`,
      );
    }
    return literal;
  });
  const stray = /\{\{|\}\}/.exec(sql.replace(MACRO, (match) => " ".repeat(match.length)));
  if (stray !== null) {
    throw new ModelError(
      "bad_macro",
      `${file}:${lineOf(stray.index)}: unmatched "${stray[0]}"; a parameter is written {{ name }}`,
    );
  }
  return expanded;
}
