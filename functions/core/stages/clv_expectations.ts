import * as arrow from "apache-arrow";
import { CLV_EXPECTATIONS } from "../catalogue/clv-stages.ts";
import { implementStage } from "../runner/stage.ts";
import type { BgNbdParameters } from "../stats/clv.ts";
import { bgnbdExpectedPurchasesIfAlive, bgnbdProbabilityAlive } from "../stats/clv-fit.ts";
import { readRfmCounts } from "./clv_model.ts";
import { float64Vector, int32Vector, int64Vector, utf8Vector } from "./columns.ts";

const DAY_MS = 86_400_000;

/** Days from `asOf` to the same day `months` calendar months later (the day clamped to the month's last). */
export function daysToMonthsAfter(asOf: string, months: number): number {
  const [y, m, d] = asOf.split("-").map(Number) as [number, number, number];
  const start = Date.UTC(y, m - 1, d);
  const lastDay = new Date(Date.UTC(y, m - 1 + months + 1, 0)).getUTCDate();
  const end = Date.UTC(y, m - 1 + months, Math.min(d, lastDay));
  return Math.round((end - start) / DAY_MS);
}

/** The fitted BG/NBD parameters of clv_model, or null when the fit did not converge. */
function bgNbdParameters(table: arrow.Table | undefined): BgNbdParameters | null {
  if (table === undefined) throw new Error("clv_model is not an input of clv_expectations");
  const models = table.getChild("model");
  for (let i = 0; i < table.numRows; i++) {
    if (models?.get(i) !== "bg_nbd") continue;
    if (table.getChild("converged")?.get(i) !== true) return null;
    const get = (name: string) => table.getChild(name)?.get(i) as number;
    return { r: get("r"), alpha: get("alpha"), a: get("a"), b: get("b") };
  }
  return null;
}

/** P(alive) and expected purchase days over the horizon per distinct history (clv_expectations' header). */
export const clvExpectations = implementStage(CLV_EXPECTATIONS, ({ inputs, asOf, config }) => {
  const table = inputs.get("int_clv_rfm_counts");
  const current = readRfmCounts(table, "current");
  // The histories as of comparison_as_of: P(alive) then, with the parameters fitted now (not the expectations).
  const comparison = readRfmCounts(table, "comparison");
  const params = bgNbdParameters(inputs.get("clv_model"));
  const months = config.clv.horizon_months;
  const rate = config.clv.annual_discount_rate;
  const ends = Array.from({ length: months + 1 }, (_, m) => daysToMonthsAfter(asOf, m));
  const horizon = ends[months] as number;
  // The part of E[Y(t)] that does not depend on t_x, once per distinct (x, T): [undiscounted, discounted].
  const ifAlive = new Map<string, [number, number]>();
  const counts = [...current, ...comparison];
  const n = counts.length;
  // Columns as typed arrays (columns.ts): NaN is NULL in the Float64 columns.
  const pAlive = new Float64Array(n).fill(Number.NaN);
  const expected = new Float64Array(n).fill(Number.NaN);
  const discounted = new Float64Array(n).fill(Number.NaN);
  if (params !== null) {
    for (const [i, row] of current.entries()) {
      const key = `${row.frequency}|${row.age}`;
      let parts = ifAlive.get(key);
      if (parts === undefined) {
        let previous = 0;
        let sum = 0;
        for (let m = 1; m <= months; m++) {
          const end = ends[m] as number;
          const value = bgnbdExpectedPurchasesIfAlive(end, params, row.frequency, row.age);
          const middle = ((ends[m - 1] as number) + end) / 2;
          sum += (value - previous) * (1 + rate) ** (-middle / 365.25);
          previous = value;
        }
        parts = [previous, sum];
        ifAlive.set(key, parts);
      }
      const alive = bgnbdProbabilityAlive(params, row.frequency, row.recency, row.age);
      pAlive[i] = alive;
      expected[i] = parts[0] * alive;
      discounted[i] = parts[1] * alive;
    }
    // 'comparison' rows: P(alive) at comparison_as_of only, with the parameters fitted now.
    for (const [j, row] of comparison.entries()) {
      pAlive[current.length + j] = bgnbdProbabilityAlive(params, row.frequency, row.recency, row.age);
    }
  }
  const periods = new Uint8Array(n).fill(1, current.length);
  const isCurrent = (i: number) => i < current.length;
  return new arrow.Table({
    period: utf8Vector(["current", "comparison"], periods),
    frequency: int64Vector(Float64Array.from(counts, (c) => c.frequency)),
    recency: int32Vector(Int32Array.from(counts, (c) => c.recency)),
    age: int32Vector(Int32Array.from(counts, (c) => c.age)),
    customers: int64Vector(Float64Array.from(counts, (c) => c.customers)),
    p_alive: float64Vector(pAlive),
    expected_purchases: float64Vector(expected),
    discounted_purchases: float64Vector(discounted),
    horizon_days: int32Vector(new Int32Array(n).fill(horizon, 0, current.length), isCurrent),
  });
});
