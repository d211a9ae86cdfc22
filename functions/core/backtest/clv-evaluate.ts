/**
 * The lifetime-value backtest's arithmetic (issue 14, item 7; docs/lifetime-value.md, "Backtest"): BG/NBD fitted on
 * the buyers' histories as of a past date, its expected purchase days over the following horizon against the
 * purchase days that actually came, and a naive baseline beside it. Pure: the histories come in compressed,
 * (x, t_x, T, holdout purchase days) with counts, and the tables go out as Arrow; clv-backtest.ts reads and writes.
 *
 * The fit and the expectations are the stages' own functions (stats/clv-fit.ts): fitBgNbd,
 * bgnbdExpectedPurchasesIfAlive (the part of E[Y(t) | x, t_x, T] that depends on (x, T) only, computed once per
 * distinct (x, T) and week) and bgnbdProbabilityAlive.
 */
import * as arrow from "apache-arrow";
import { addDays } from "../dates.ts";
import { CrmlakeError } from "../errors.ts";
import type { BgNbdParameters } from "../stats/clv.ts";
import {
  bgnbdExpectedPurchasesIfAlive,
  bgnbdProbabilityAlive,
  type FitResult,
  fitBgNbd,
  type RfmCount,
} from "../stats/clv-fit.ts";

/** A backtest that cannot be run or cannot be trusted: the message says why, with the numbers. */
export class BacktestError extends CrmlakeError {
  override name = "BacktestError";
}

/** One distinct calibration history with the purchase days its customers made in the holdout. */
export interface HoldoutHistory extends RfmCount {
  /** Purchase days in (as_of, as_of + horizon] of each of these customers. */
  readonly holdout: number;
}

/** Purchase days of the calibration buyers in one week of the holdout (week 1 = days 1–7 after as_of). */
export interface HoldoutWeek {
  readonly week: number;
  readonly purchases: number;
}

/** The frequency buckets of clv_backtest_by_frequency: x = 0, 1, 2, 3–5, 6–10, 11+. */
export const FREQUENCY_BUCKETS: readonly {
  readonly label: string;
  readonly min: number;
  readonly max: number;
}[] = [
  { label: "0", min: 0, max: 0 },
  { label: "1", min: 1, max: 1 },
  { label: "2", min: 2, max: 2 },
  { label: "3-5", min: 3, max: 5 },
  { label: "6-10", min: 6, max: 10 },
  { label: "11+", min: 11, max: Number.POSITIVE_INFINITY },
];

/** The naive baseline: the customer keeps their past rate, x / T purchase days per day (0 when T = 0). */
export function naivePrediction(x: number, T: number, days: number): number {
  return T > 0 ? (x / T) * days : 0;
}

interface Totals {
  customers: number;
  actual: number;
  predicted: number;
  naive: number;
  /** Σ customers · |prediction − actual|. */
  absModel: number;
  absNaive: number;
}

const emptyTotals = (): Totals => ({
  customers: 0,
  actual: 0,
  predicted: 0,
  naive: 0,
  absModel: 0,
  absNaive: 0,
});

/** The summary's figures (one row of clv_backtest_summary, without its partition columns). */
export interface BacktestSummary {
  readonly holdoutEnd: string;
  readonly customers: number;
  readonly repeatBuyers: number;
  readonly parameters: BgNbdParameters;
  readonly standardErrors: BgNbdParameters;
  readonly logLikelihood: number;
  readonly iterations: number;
  readonly diagnostic: string;
  readonly meanPAlive: number;
  readonly actualPurchases: number;
  readonly predictedPurchases: number;
  readonly naivePurchases: number;
  /** (Σ predicted − Σ actual) / Σ actual; null when nobody bought in the holdout. */
  readonly aggregateErrorModel: number | null;
  readonly aggregateErrorNaive: number | null;
  readonly maeModel: number;
  readonly maeNaive: number;
}

export interface BucketRow {
  readonly bucket: string;
  readonly order: number;
  readonly totals: Readonly<Totals>;
}

export interface TrackingRow {
  readonly week: number;
  /** Days from as_of to the end of the week (the last week may be shorter). */
  readonly day: number;
  readonly actual: number;
  readonly predicted: number;
  readonly naive: number;
  readonly cumulativeActual: number;
  readonly cumulativePredicted: number;
  readonly cumulativeNaive: number;
}

export interface BacktestEvaluation {
  readonly fit: FitResult;
  readonly summary: BacktestSummary;
  readonly byFrequency: readonly BucketRow[];
  readonly tracking: readonly TrackingRow[];
}

function relative(predicted: number, actual: number): number | null {
  return actual > 0 ? (predicted - actual) / actual : null;
}

/**
 * Fits BG/NBD on the calibration histories and scores it against the holdout. Throws a BacktestError when
 * there are no buyers or the fit did not converge (its diagnostic quoted).
 */
export function evaluateClvBacktest(
  histories: readonly HoldoutHistory[],
  weeks: readonly HoldoutWeek[],
  asOf: string,
  horizonDays: number,
): BacktestEvaluation {
  const customers = histories.reduce((s, h) => s + h.customers, 0);
  if (customers === 0) {
    throw new BacktestError(
      "no_buyers",
      `No customer has a purchase day on or before ${asOf}: there is nothing to fit. Choose a later --as-of.`,
    );
  }
  // The fit reads the calibration histories only: (x, t_x, T) with counts, whatever came after as_of.
  const calibration = new Map<string, RfmCount>();
  for (const h of histories) {
    const key = `${h.frequency}|${h.recency}|${h.age}`;
    const seen = calibration.get(key);
    calibration.set(key, {
      frequency: h.frequency,
      recency: h.recency,
      age: h.age,
      customers: (seen?.customers ?? 0) + h.customers,
    });
  }
  const fit = fitBgNbd([...calibration.values()]);
  if (!fit.converged || fit.parameters === null || fit.standardErrors === null) {
    throw new BacktestError(
      "fit_failed",
      `The BG/NBD fit as of ${asOf} did not succeed, so there is nothing to backtest: ${fit.diagnostic} No backtest tables were written.`,
    );
  }
  const [r, alpha, a, b] = fit.parameters as [number, number, number, number];
  const params: BgNbdParameters = { r, alpha, a, b };
  const [rSe, alphaSe, aSe, bSe] = fit.standardErrors as [number, number, number, number];

  const weekCount = Math.ceil(horizonDays / 7);
  const weekEnds = Array.from({ length: weekCount }, (_, w) => Math.min(7 * (w + 1), horizonDays));
  // E[Y(t) | x, T, alive] at each week's end, once per distinct (x, T); Σ customers · P(alive) per (x, T).
  const ifAlive = new Map<string, Float64Array>();
  const aliveWeight = new Map<string, number>();
  const all = emptyTotals();
  const buckets = FREQUENCY_BUCKETS.map(() => emptyTotals());
  let repeatBuyers = 0;
  let pAliveSum = 0;
  let naiveRate = 0;
  for (const h of histories) {
    const key = `${h.frequency}|${h.age}`;
    let curve = ifAlive.get(key);
    if (curve === undefined) {
      curve = Float64Array.from(weekEnds, (t) =>
        bgnbdExpectedPurchasesIfAlive(t, params, h.frequency, h.age),
      );
      ifAlive.set(key, curve);
    }
    const alive = bgnbdProbabilityAlive(params, h.frequency, h.recency, h.age);
    aliveWeight.set(key, (aliveWeight.get(key) ?? 0) + h.customers * alive);
    const predicted = (curve[weekCount - 1] as number) * alive;
    const naive = naivePrediction(h.frequency, h.age, horizonDays);
    const bucket = buckets[FREQUENCY_BUCKETS.findIndex((k) => h.frequency >= k.min && h.frequency <= k.max)];
    for (const t of bucket === undefined ? [all] : [all, bucket]) {
      t.customers += h.customers;
      t.actual += h.customers * h.holdout;
      t.predicted += h.customers * predicted;
      t.naive += h.customers * naive;
      t.absModel += h.customers * Math.abs(predicted - h.holdout);
      t.absNaive += h.customers * Math.abs(naive - h.holdout);
    }
    if (h.frequency > 0) repeatBuyers += h.customers;
    pAliveSum += h.customers * alive;
    naiveRate += h.age > 0 ? (h.customers * h.frequency) / h.age : 0;
  }

  const cumulativePredicted = new Float64Array(weekCount);
  for (const [key, curve] of ifAlive) {
    const weight = aliveWeight.get(key) ?? 0;
    for (let w = 0; w < weekCount; w++) {
      cumulativePredicted[w] = (cumulativePredicted[w] as number) + weight * (curve[w] as number);
    }
  }
  const actualByWeek = new Map(weeks.map((w) => [w.week, w.purchases]));
  const tracking: TrackingRow[] = [];
  let cumulativeActual = 0;
  for (let w = 0; w < weekCount; w++) {
    const day = weekEnds[w] as number;
    const previousDay = w === 0 ? 0 : (weekEnds[w - 1] as number);
    const actual = actualByWeek.get(w + 1) ?? 0;
    cumulativeActual += actual;
    const predictedNow = cumulativePredicted[w] as number;
    const predictedBefore = w === 0 ? 0 : (cumulativePredicted[w - 1] as number);
    tracking.push({
      week: w + 1,
      day,
      actual,
      predicted: predictedNow - predictedBefore,
      naive: naiveRate * (day - previousDay),
      cumulativeActual,
      cumulativePredicted: predictedNow,
      cumulativeNaive: naiveRate * day,
    });
  }

  return {
    fit,
    summary: {
      holdoutEnd: addDays(asOf, horizonDays),
      customers,
      repeatBuyers,
      parameters: params,
      standardErrors: { r: rSe, alpha: alphaSe, a: aSe, b: bSe },
      logLikelihood: fit.logLikelihood ?? Number.NaN,
      iterations: fit.iterations,
      diagnostic: fit.diagnostic,
      meanPAlive: pAliveSum / customers,
      actualPurchases: all.actual,
      predictedPurchases: all.predicted,
      naivePurchases: all.naive,
      aggregateErrorModel: relative(all.predicted, all.actual),
      aggregateErrorNaive: relative(all.naive, all.actual),
      maeModel: all.absModel / customers,
      maeNaive: all.absNaive / customers,
    },
    byFrequency: FREQUENCY_BUCKETS.map((k, i) => ({
      bucket: k.label,
      order: i + 1,
      totals: buckets[i] as Totals,
    })),
    tracking,
  };
}

const f64 = (values: readonly (number | null)[]) => arrow.vectorFromArray(values, new arrow.Float64());
const i64 = (values: readonly number[]) =>
  arrow.vectorFromArray(
    values.map((v) => BigInt(v)),
    new arrow.Int64(),
  );
const i32 = (values: readonly number[]) => arrow.vectorFromArray(values, new arrow.Int32());
const utf8 = (values: readonly string[]) => arrow.vectorFromArray(values, new arrow.Utf8());
const dateOf = (iso: string) => new Date(`${iso}T00:00:00Z`);
const mean = (sum: number, n: number) => (n > 0 ? sum / n : null);

/**
 * The three tables, without their partition columns (as_of, horizon_days: the path carries them). Their columns
 * are documented in docs/lifetime-value.md ("Backtest").
 */
export function backtestTables(evaluation: BacktestEvaluation): Record<BacktestTable, arrow.Table> {
  const s = evaluation.summary;
  const beats =
    s.maeModel < s.maeNaive &&
    s.aggregateErrorModel !== null &&
    s.aggregateErrorNaive !== null &&
    Math.abs(s.aggregateErrorModel) < Math.abs(s.aggregateErrorNaive);
  const summary = new arrow.Table({
    holdout_end: arrow.vectorFromArray([dateOf(s.holdoutEnd)], new arrow.DateDay()),
    customers: i64([s.customers]),
    repeat_buyers: i64([s.repeatBuyers]),
    r: f64([s.parameters.r]),
    alpha: f64([s.parameters.alpha]),
    a: f64([s.parameters.a]),
    b: f64([s.parameters.b]),
    r_se: f64([s.standardErrors.r]),
    alpha_se: f64([s.standardErrors.alpha]),
    a_se: f64([s.standardErrors.a]),
    b_se: f64([s.standardErrors.b]),
    log_likelihood: f64([s.logLikelihood]),
    iterations: i32([s.iterations]),
    mean_p_alive: f64([s.meanPAlive]),
    actual_purchases: i64([s.actualPurchases]),
    predicted_purchases: f64([s.predictedPurchases]),
    naive_purchases: f64([s.naivePurchases]),
    aggregate_error_model: f64([s.aggregateErrorModel]),
    aggregate_error_naive: f64([s.aggregateErrorNaive]),
    mae_model: f64([s.maeModel]),
    mae_naive: f64([s.maeNaive]),
    model_beats_naive: arrow.vectorFromArray([beats], new arrow.Bool()),
    diagnostic: utf8([s.diagnostic]),
  });
  const rows = evaluation.byFrequency;
  const byFrequency = new arrow.Table({
    frequency_bucket: utf8(rows.map((b) => b.bucket)),
    bucket_order: i32(rows.map((b) => b.order)),
    customers: i64(rows.map((b) => b.totals.customers)),
    actual_purchases: i64(rows.map((b) => b.totals.actual)),
    predicted_purchases: f64(rows.map((b) => b.totals.predicted)),
    naive_purchases: f64(rows.map((b) => b.totals.naive)),
    actual_mean: f64(rows.map((b) => mean(b.totals.actual, b.totals.customers))),
    predicted_mean: f64(rows.map((b) => mean(b.totals.predicted, b.totals.customers))),
    naive_mean: f64(rows.map((b) => mean(b.totals.naive, b.totals.customers))),
    mae_model: f64(rows.map((b) => mean(b.totals.absModel, b.totals.customers))),
    mae_naive: f64(rows.map((b) => mean(b.totals.absNaive, b.totals.customers))),
  });
  const t = evaluation.tracking;
  const tracking = new arrow.Table({
    week: i32(t.map((w) => w.week)),
    days_after_as_of: i32(t.map((w) => w.day)),
    actual_purchases: i64(t.map((w) => w.actual)),
    predicted_purchases: f64(t.map((w) => w.predicted)),
    naive_purchases: f64(t.map((w) => w.naive)),
    cumulative_actual: i64(t.map((w) => w.cumulativeActual)),
    cumulative_predicted: f64(t.map((w) => w.cumulativePredicted)),
    cumulative_naive: f64(t.map((w) => w.cumulativeNaive)),
  });
  return {
    clv_backtest_summary: summary,
    clv_backtest_by_frequency: byFrequency,
    clv_backtest_tracking: tracking,
  };
}

/** The backtest's tables, each queryable under its name (engines/duckdb/model-views.ts). */
export const BACKTEST_TABLES = [
  "clv_backtest_summary",
  "clv_backtest_by_frequency",
  "clv_backtest_tracking",
] as const;
export type BacktestTable = (typeof BACKTEST_TABLES)[number];
