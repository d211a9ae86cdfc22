/**
 * campaign_results: each campaign's treatment group against its control group (docs/campaigns.md). The per-arm
 * sums come from int_campaign_arms (portable SQL, exact decimals); the statistics and guards are computed here
 * with functions/core/stats, so they are the same whichever engine summed the arms.
 */
import * as arrow from "apache-arrow";
import { CAMPAIGN_RESULTS } from "../catalogue/stages.ts";
import { decimalValues, decimalVector } from "../runner/arrow-columns.ts";
import { implementStage } from "../runner/stage.ts";
import {
  compareMeans,
  compareMeansCuped,
  compareProportions,
  type Moments,
  minimumDetectableEffect,
  momentsFromSums,
  sampleRatioTest,
  standardizedMeanDifference,
} from "../stats/index.ts";

/** |SMD| above which the groups differ before contact (the usual balance threshold). */
export const PRE_PERIOD_SMD_THRESHOLD = 0.1;
/** Expected responders and non-responders per group below which the normal approximation is not trusted. */
export const MIN_EXPECTED_CELL = 5;
/** p-value of the χ² test of the observed split against the planned one below which the split is suspect. */
export const SAMPLE_RATIO_ALPHA = 0.001;

/** Flags in the order they are listed in `flags`. */
export const CAMPAIGN_FLAGS = [
  "sample_ratio_mismatch",
  "contamination",
  "pre_period_imbalance",
  "insufficient_sample",
  "window_not_closed",
  "empty_group",
  "no_responders",
  "all_responded",
  "no_revenue_variance",
  "no_cost",
  "no_pre_period_history",
  "no_variance_reduction",
] as const;
export type CampaignFlag = (typeof CAMPAIGN_FLAGS)[number];

/** One campaign's per-arm sums, as int_campaign_arms gives them (decimals as unscaled bigints). */
export interface ArmSums {
  readonly n: bigint;
  readonly responders: bigint;
  /** Cents. */
  readonly revenue: bigint;
  /** Cents². */
  readonly revenueSq: bigint;
  readonly margin: bigint;
  readonly marginSq: bigint;
  readonly preSpend: bigint;
  readonly preSpendSq: bigint;
  /** Σ pre-period spend × window revenue, cents². */
  readonly preSpendRevenue: bigint;
  readonly preOrders: bigint;
  readonly preOrdersSq: bigint;
  readonly withHistory: bigint;
  readonly recency: bigint;
  readonly recencySq: bigint;
  readonly crossTreated: bigint;
}

export interface CampaignSums {
  readonly campaignId: string;
  /** Days since 1970-01-01. */
  readonly endsOn: number;
  readonly costPerContact: bigint;
  readonly fixedCost: bigint;
  /** Planned control share in (0, 1), or null when the campaign record gives none. */
  readonly plannedControlShare: number | null;
  readonly bothGroups: bigint;
  readonly treatment: ArmSums;
  readonly control: ArmSums;
}

export interface CampaignResult {
  readonly campaignId: string;
  readonly treatmentN: bigint;
  readonly controlN: bigint;
  readonly treatmentResponders: bigint;
  readonly controlResponders: bigint;
  readonly treatmentResponseRate: number | null;
  readonly controlResponseRate: number | null;
  readonly responseUplift: number | null;
  readonly responseUpliftCiLow: number | null;
  readonly responseUpliftCiHigh: number | null;
  readonly responsePValue: number | null;
  readonly treatmentRevenuePerCustomer: number | null;
  readonly controlRevenuePerCustomer: number | null;
  readonly revenueUpliftPerCustomer: number | null;
  readonly revenueUpliftCiLow: number | null;
  readonly revenueUpliftCiHigh: number | null;
  readonly revenuePValue: number | null;
  readonly cupedTheta: number | null;
  readonly cupedRevenueUpliftPerCustomer: number | null;
  readonly cupedRevenueUpliftCiLow: number | null;
  readonly cupedRevenueUpliftCiHigh: number | null;
  readonly cupedRevenuePValue: number | null;
  readonly cupedVarianceReduction: number | null;
  readonly incrementalResponders: number | null;
  readonly incrementalRevenue: number | null;
  readonly incrementalMargin: number | null;
  /** Cents. */
  readonly campaignCost: bigint;
  readonly roi: number | null;
  readonly roiCiLow: number | null;
  readonly roiCiHigh: number | null;
  readonly endsOn: number;
  readonly contaminatedCustomers: bigint;
  readonly responseMde: number | null;
  readonly revenueMde: number | null;
  readonly prePeriodMaxSmd: number | null;
  readonly plannedControlShare: number | null;
  readonly sampleRatioPValue: number | null;
  readonly flags: readonly CampaignFlag[];
}

const times = (x: number | null, n: bigint): number | null => (x === null ? null : x * Number(n));

/** The statistics and guards of one campaign, as of `asOfDay` (days since 1970-01-01). */
export function evaluateCampaign(sums: CampaignSums, asOfDay: number): CampaignResult {
  const { treatment: t, control: c } = sums;
  const flags = new Set<CampaignFlag>();
  const nT = Number(t.n);
  const nC = Number(c.n);

  const response = compareProportions(Number(t.responders), nT, Number(c.responders), nC);
  const revenueT = momentsFromSums(t.n, t.revenue, t.revenueSq, 2);
  const revenueC = momentsFromSums(c.n, c.revenue, c.revenueSq, 2);
  const revenue = compareMeans(revenueT, revenueC);
  const margin = compareMeans(
    momentsFromSums(t.n, t.margin, t.marginSq, 2),
    momentsFromSums(c.n, c.margin, c.marginSq, 2),
  );

  const cost = sums.fixedCost + sums.costPerContact * t.n;
  const incrementalMargin = times(margin.difference, t.n);
  const costValue = Number(cost) / 100;
  const roiOf = (im: number | null): number | null =>
    im === null || cost <= 0n ? null : (im - costValue) / costValue;

  // CUPED: revenue adjusted for pre-period spend, beside the unadjusted comparison.
  const covariates = (arm: ArmSums) => ({
    n: arm.n,
    sumY: arm.revenue,
    sumYSq: arm.revenueSq,
    sumX: arm.preSpend,
    sumXSq: arm.preSpendSq,
    sumXY: arm.preSpendRevenue,
  });
  const cuped = compareMeansCuped(covariates(t), covariates(c), 2);

  // Guards.
  const sampleRatio =
    sums.plannedControlShare === null ? null : sampleRatioTest(nT, nC, sums.plannedControlShare);
  if (sampleRatio !== null && sampleRatio.pValue < SAMPLE_RATIO_ALPHA) flags.add("sample_ratio_mismatch");
  const contaminated = sums.bothGroups + t.crossTreated + c.crossTreated;
  if (contaminated > 0n) flags.add("contamination");
  if (nT === 0 || nC === 0) flags.add("empty_group");
  const responders = t.responders + c.responders;
  if (nT > 0 && nC > 0) {
    if (responders === 0n) flags.add("no_responders");
    else if (responders === t.n + c.n) flags.add("all_responded");
  }
  if (revenue.difference !== null && revenue.se === 0) flags.add("no_revenue_variance");
  if (cost <= 0n) flags.add("no_cost");

  const pooled = nT + nC > 0 ? Number(responders) / (nT + nC) : 0;
  const expectedCells = [nT * pooled, nT * (1 - pooled), nC * pooled, nC * (1 - pooled)];
  if (nT < 2 || nC < 2 || expectedCells.some((e) => e < MIN_EXPECTED_CELL)) flags.add("insufficient_sample");
  const responseMde =
    response.pooledSe !== null && response.pooledSe > 0 ? minimumDetectableEffect(response.pooledSe) : null;
  const revenueMde = revenue.se !== null && revenue.se > 0 ? minimumDetectableEffect(revenue.se) : null;

  if (asOfDay < sums.endsOn) flags.add("window_not_closed");

  const prePeriodMaxSmd = maxAbsSmd([
    [momentsFromSums(t.n, t.preSpend, t.preSpendSq, 2), momentsFromSums(c.n, c.preSpend, c.preSpendSq, 2)],
    [
      momentsFromSums(t.n, t.preOrders, t.preOrdersSq, 0),
      momentsFromSums(c.n, c.preOrders, c.preOrdersSq, 0),
    ],
    [
      momentsFromSums(t.withHistory, t.recency, t.recencySq, 0),
      momentsFromSums(c.withHistory, c.recency, c.recencySq, 0),
    ],
  ]);
  if (nT > 0 && nC > 0 && t.withHistory === 0n && c.withHistory === 0n) flags.add("no_pre_period_history");
  if (prePeriodMaxSmd !== null && prePeriodMaxSmd > PRE_PERIOD_SMD_THRESHOLD)
    flags.add("pre_period_imbalance");
  // Only where there is an unadjusted comparison to improve on; a reduction of 0 or less is no gain.
  if (
    revenue.se !== null &&
    revenue.se > 0 &&
    !(cuped.varianceReduction !== null && cuped.varianceReduction > 0)
  ) {
    flags.add("no_variance_reduction");
  }

  return {
    campaignId: sums.campaignId,
    treatmentN: t.n,
    controlN: c.n,
    treatmentResponders: t.responders,
    controlResponders: c.responders,
    treatmentResponseRate: response.treatmentRate,
    controlResponseRate: response.controlRate,
    responseUplift: response.uplift,
    responseUpliftCiLow: response.ciLow,
    responseUpliftCiHigh: response.ciHigh,
    responsePValue: response.pValue,
    treatmentRevenuePerCustomer: revenueT.mean,
    controlRevenuePerCustomer: revenueC.mean,
    revenueUpliftPerCustomer: revenue.difference,
    revenueUpliftCiLow: revenue.ciLow,
    revenueUpliftCiHigh: revenue.ciHigh,
    revenuePValue: revenue.pValue,
    cupedTheta: cuped.theta,
    cupedRevenueUpliftPerCustomer: cuped.difference,
    cupedRevenueUpliftCiLow: cuped.ciLow,
    cupedRevenueUpliftCiHigh: cuped.ciHigh,
    cupedRevenuePValue: cuped.pValue,
    cupedVarianceReduction: cuped.varianceReduction,
    incrementalResponders: times(response.uplift, t.n),
    incrementalRevenue: times(revenue.difference, t.n),
    incrementalMargin,
    campaignCost: cost,
    roi: roiOf(incrementalMargin),
    roiCiLow: roiOf(times(margin.ciLow, t.n)),
    roiCiHigh: roiOf(times(margin.ciHigh, t.n)),
    endsOn: sums.endsOn,
    contaminatedCustomers: contaminated,
    responseMde,
    revenueMde,
    prePeriodMaxSmd,
    plannedControlShare: sums.plannedControlShare,
    sampleRatioPValue: sampleRatio?.pValue ?? null,
    flags: CAMPAIGN_FLAGS.filter((f) => flags.has(f)),
  };
}

/** The largest |SMD| of the pairs that have one; null when none has. */
function maxAbsSmd(pairs: readonly (readonly [Moments, Moments])[]): number | null {
  let max: number | null = null;
  for (const [a, b] of pairs) {
    const smd = standardizedMeanDifference(a, b);
    if (smd !== null && (max === null || Math.abs(smd) > max)) max = Math.abs(smd);
  }
  return max;
}

/** A table's column, or an error naming it. */
function column(table: arrow.Table, name: string): arrow.Vector {
  const vector = table.getChild(name);
  if (vector == null) throw new Error(`int_campaign_arms.${name} is not an input`);
  return vector;
}

function bigints(table: arrow.Table, name: string): bigint[] {
  const vector = column(table, name);
  const values: bigint[] = [];
  for (let i = 0; i < vector.length; i++) values.push(BigInt(vector.get(i) ?? 0n));
  return values;
}

function decimals(table: arrow.Table, name: string): bigint[] {
  return decimalValues(column(table, name)).map((v) => v ?? 0n);
}

function readArms(table: arrow.Table, arm: "treatment" | "control"): ArmSums[] {
  const b = (name: string) => bigints(table, `${arm}_${name}`);
  const d = (name: string) => decimals(table, `${arm}_${name}`);
  const n = b("n");
  const responders = b("responders");
  const revenue = d("revenue");
  const revenueSq = d("revenue_sq");
  const margin = d("margin");
  const marginSq = d("margin_sq");
  const preSpend = d("pre_spend");
  const preSpendSq = d("pre_spend_sq");
  const preSpendRevenue = d("pre_spend_revenue");
  const preOrders = b("pre_orders");
  const preOrdersSq = b("pre_orders_sq");
  const withHistory = b("with_history");
  const recency = b("recency");
  const recencySq = b("recency_sq");
  const crossTreated = b("cross_treated");
  return n.map((_, i) => ({
    n: n[i] ?? 0n,
    responders: responders[i] ?? 0n,
    revenue: revenue[i] ?? 0n,
    revenueSq: revenueSq[i] ?? 0n,
    margin: margin[i] ?? 0n,
    marginSq: marginSq[i] ?? 0n,
    preSpend: preSpend[i] ?? 0n,
    preSpendSq: preSpendSq[i] ?? 0n,
    preSpendRevenue: preSpendRevenue[i] ?? 0n,
    preOrders: preOrders[i] ?? 0n,
    preOrdersSq: preOrdersSq[i] ?? 0n,
    withHistory: withHistory[i] ?? 0n,
    recency: recency[i] ?? 0n,
    recencySq: recencySq[i] ?? 0n,
    crossTreated: crossTreated[i] ?? 0n,
  }));
}

const DAY_MS = 86_400_000;

/** A Date32 value (apache-arrow gives milliseconds since the epoch) as days since 1970-01-01. */
function epochDay(value: unknown): number {
  const ms = value instanceof Date ? value.getTime() : Number(value);
  if (!Number.isFinite(ms)) throw new Error(`int_campaign_arms.ends_on: not a date: ${String(value)}`);
  return Math.round(ms / DAY_MS);
}

/** A decimal(9,6) share (unscaled), or null. */
function shareValue(value: bigint | null | undefined): number | null {
  return value === null || value === undefined ? null : Number(value) / 1e6;
}

/** int_campaign_arms's rows as CampaignSums. */
export function readCampaignSums(table: arrow.Table): CampaignSums[] {
  const ids = column(table, "campaign_id");
  const endsOn = column(table, "ends_on");
  const costPerContact = decimals(table, "cost_per_contact");
  const fixedCost = decimals(table, "fixed_cost");
  const plannedControlShare = decimalValues(column(table, "planned_control_share"));
  const bothGroups = bigints(table, "both_groups_customers");
  const treatment = readArms(table, "treatment");
  const control = readArms(table, "control");
  const rows: CampaignSums[] = [];
  for (let i = 0; i < table.numRows; i++) {
    const t = treatment[i];
    const c = control[i];
    if (t === undefined || c === undefined) throw new Error("int_campaign_arms: ragged columns");
    rows.push({
      campaignId: String(ids.get(i)),
      endsOn: epochDay(endsOn.get(i)),
      costPerContact: costPerContact[i] ?? 0n,
      fixedCost: fixedCost[i] ?? 0n,
      plannedControlShare: shareValue(plannedControlShare[i]),
      bothGroups: bothGroups[i] ?? 0n,
      treatment: t,
      control: c,
    });
  }
  return rows;
}

/** Every campaign of int_campaign_arms, evaluated (campaign_results's header says what each column is). */
export const campaignResults = implementStage(CAMPAIGN_RESULTS, ({ inputs, asOf }) => {
  const arms = inputs.get("int_campaign_arms");
  if (arms === undefined) throw new Error("int_campaign_arms is not an input");
  const asOfDay = Date.parse(`${asOf}T00:00:00Z`) / DAY_MS;
  const results = readCampaignSums(arms).map((sums) => evaluateCampaign(sums, asOfDay));
  const doubles = (pick: (r: CampaignResult) => number | null) =>
    arrow.vectorFromArray(results.map(pick), new arrow.Float64());
  const bigintVector = (pick: (r: CampaignResult) => bigint) =>
    arrow.vectorFromArray(results.map(pick), new arrow.Int64());
  return new arrow.Table({
    campaign_id: arrow.vectorFromArray(
      results.map((r) => r.campaignId),
      new arrow.Utf8(),
    ),
    treatment_n: bigintVector((r) => r.treatmentN),
    control_n: bigintVector((r) => r.controlN),
    treatment_responders: bigintVector((r) => r.treatmentResponders),
    control_responders: bigintVector((r) => r.controlResponders),
    treatment_response_rate: doubles((r) => r.treatmentResponseRate),
    control_response_rate: doubles((r) => r.controlResponseRate),
    response_uplift: doubles((r) => r.responseUplift),
    response_uplift_ci_low: doubles((r) => r.responseUpliftCiLow),
    response_uplift_ci_high: doubles((r) => r.responseUpliftCiHigh),
    response_p_value: doubles((r) => r.responsePValue),
    treatment_revenue_per_customer: doubles((r) => r.treatmentRevenuePerCustomer),
    control_revenue_per_customer: doubles((r) => r.controlRevenuePerCustomer),
    revenue_uplift_per_customer: doubles((r) => r.revenueUpliftPerCustomer),
    revenue_uplift_ci_low: doubles((r) => r.revenueUpliftCiLow),
    revenue_uplift_ci_high: doubles((r) => r.revenueUpliftCiHigh),
    revenue_p_value: doubles((r) => r.revenuePValue),
    cuped_theta: doubles((r) => r.cupedTheta),
    cuped_revenue_uplift_per_customer: doubles((r) => r.cupedRevenueUpliftPerCustomer),
    cuped_revenue_uplift_ci_low: doubles((r) => r.cupedRevenueUpliftCiLow),
    cuped_revenue_uplift_ci_high: doubles((r) => r.cupedRevenueUpliftCiHigh),
    cuped_revenue_p_value: doubles((r) => r.cupedRevenuePValue),
    cuped_variance_reduction: doubles((r) => r.cupedVarianceReduction),
    incremental_responders: doubles((r) => r.incrementalResponders),
    incremental_revenue: doubles((r) => r.incrementalRevenue),
    incremental_margin: doubles((r) => r.incrementalMargin),
    campaign_cost: decimalVector(
      results.map((r) => r.campaignCost),
      38,
      2,
    ),
    roi: doubles((r) => r.roi),
    roi_ci_low: doubles((r) => r.roiCiLow),
    roi_ci_high: doubles((r) => r.roiCiHigh),
    window_ends_on: arrow.vectorFromArray(
      results.map((r) => new Date(r.endsOn * DAY_MS)),
      new arrow.DateDay(),
    ),
    contaminated_customers: bigintVector((r) => r.contaminatedCustomers),
    response_mde: doubles((r) => r.responseMde),
    revenue_mde: doubles((r) => r.revenueMde),
    pre_period_max_smd: doubles((r) => r.prePeriodMaxSmd),
    planned_control_share: doubles((r) => r.plannedControlShare),
    sample_ratio_p_value: doubles((r) => r.sampleRatioPValue),
    flags: arrow.vectorFromArray(
      results.map((r) => r.flags.join(",")),
      new arrow.Utf8(),
    ),
  });
});
