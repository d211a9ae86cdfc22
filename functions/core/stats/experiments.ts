/**
 * Two-group comparisons for campaign evaluation (docs/campaigns.md): moments from exact per-arm sums, the
 * two-proportion z-test with Wald's interval, Welch's t-test and interval, the chi-square sample-ratio test,
 * standardised mean differences and minimum detectable effects. Each takes summaries, never rows, and gives
 * null where the figure does not exist (an empty group, no variance) instead of throwing or returning NaN.
 */
import { chiSquareSf, normalIsf, normalTwoSidedP, studentTIsf, studentTTwoSidedP } from "./distributions.ts";

/** Count, mean and unbiased variance of one group; variance is null below two members. */
export interface Moments {
  readonly n: number;
  readonly mean: number | null;
  readonly variance: number | null;
}

/**
 * Moments from exact sums: `sum` and `sumSq` are unscaled integers (a decimal's digits), `sum` with `scale`
 * decimals and `sumSq` with twice as many, as SQL's decimal sums give them. The centred sum of squares
 * n·Σx² − (Σx)² is formed in integers, so the variance does not cancel however large the mean.
 */
export function momentsFromSums(n: bigint, sum: bigint, sumSq: bigint, scale: number): Moments {
  if (n < 0n) throw new RangeError(`momentsFromSums: n must be ≥ 0, got ${n}`);
  if (n === 0n) return { n: 0, mean: null, variance: null };
  const unit = 10 ** scale;
  const count = Number(n);
  const mean = Number(sum) / unit / count;
  if (n < 2n) return { n: count, mean, variance: null };
  const centred = n * sumSq - sum * sum;
  if (centred < 0n)
    throw new RangeError("momentsFromSums: the sum of squares is smaller than the sum allows");
  return { n: count, mean, variance: Number(centred) / (unit * unit) / (count * (count - 1)) };
}

/** Moments of the values present (nulls left out), by two passes over them. */
export function momentsOf(values: readonly (number | null)[]): Moments {
  const present = values.filter((v): v is number => v !== null);
  const n = present.length;
  if (n === 0) return { n, mean: null, variance: null };
  const mean = present.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { n, mean, variance: null };
  return { n, mean, variance: present.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1) };
}

/** The two-sided normal quantile of a confidence level: 1.959963984540054 for 0.95. */
export function normalCritical(level: number): number {
  if (!(level > 0 && level < 1))
    throw new RangeError(`normalCritical: level must be in (0, 1), got ${level}`);
  return normalIsf((1 - level) / 2);
}

export interface ProportionComparison {
  readonly treatmentRate: number | null;
  readonly controlRate: number | null;
  /** treatmentRate − controlRate. */
  readonly uplift: number | null;
  /** Wald interval: uplift ± z·√(p_t(1 − p_t)/n_t + p_c(1 − p_c)/n_c); null when that standard error is 0. */
  readonly ciLow: number | null;
  readonly ciHigh: number | null;
  /** Two-sided p-value of the pooled two-proportion z-test; null when the pooled rate is 0 or 1. */
  readonly pValue: number | null;
  /** Standard error of the uplift under the null hypothesis (pooled rate); null when a group is empty. */
  readonly pooledSe: number | null;
}

/** Compares responders x out of n in treatment and control (two-proportion z-test, Wald interval). */
export function compareProportions(
  xT: number,
  nT: number,
  xC: number,
  nC: number,
  level = 0.95,
): ProportionComparison {
  for (const [name, x, n] of [
    ["treatment", xT, nT],
    ["control", xC, nC],
  ] as const) {
    if (!(Number.isInteger(x) && Number.isInteger(n) && x >= 0 && n >= 0 && x <= n)) {
      throw new RangeError(`compareProportions: ${name} needs integers 0 ≤ x ≤ n, got x = ${x}, n = ${n}`);
    }
  }
  const treatmentRate = nT > 0 ? xT / nT : null;
  const controlRate = nC > 0 ? xC / nC : null;
  if (treatmentRate === null || controlRate === null) {
    return {
      treatmentRate,
      controlRate,
      uplift: null,
      ciLow: null,
      ciHigh: null,
      pValue: null,
      pooledSe: null,
    };
  }
  const uplift = treatmentRate - controlRate;
  const se = Math.sqrt((treatmentRate * (1 - treatmentRate)) / nT + (controlRate * (1 - controlRate)) / nC);
  const z = normalCritical(level);
  const pooled = (xT + xC) / (nT + nC);
  const pooledSe = Math.sqrt(pooled * (1 - pooled) * (1 / nT + 1 / nC));
  return {
    treatmentRate,
    controlRate,
    uplift,
    ciLow: se > 0 ? uplift - z * se : null,
    ciHigh: se > 0 ? uplift + z * se : null,
    pValue: pooledSe > 0 ? normalTwoSidedP(uplift / pooledSe) : null,
    pooledSe,
  };
}

export interface MeanComparison {
  /** mean_t − mean_c; null when a group is empty. */
  readonly difference: number | null;
  /** √(s_t²/n_t + s_c²/n_c); null below two members in a group. */
  readonly se: number | null;
  /** Welch–Satterthwaite degrees of freedom; null when se is null or 0. */
  readonly df: number | null;
  /** difference ± t(df)·se; null when df is. */
  readonly ciLow: number | null;
  readonly ciHigh: number | null;
  /** Two-sided p-value of Welch's t-test; null when df is. */
  readonly pValue: number | null;
}

/** Welch's unequal-variance comparison of two means. */
export function compareMeans(treatment: Moments, control: Moments, level = 0.95): MeanComparison {
  if (!(level > 0 && level < 1)) throw new RangeError(`compareMeans: level must be in (0, 1), got ${level}`);
  const difference = treatment.mean !== null && control.mean !== null ? treatment.mean - control.mean : null;
  if (difference === null || treatment.variance === null || control.variance === null) {
    return { difference, se: null, df: null, ciLow: null, ciHigh: null, pValue: null };
  }
  const a = treatment.variance / treatment.n;
  const b = control.variance / control.n;
  const se = Math.sqrt(a + b);
  if (!(se > 0)) return { difference, se, df: null, ciLow: null, ciHigh: null, pValue: null };
  const df = (a + b) ** 2 / (a ** 2 / (treatment.n - 1) + b ** 2 / (control.n - 1));
  const t = studentTIsf((1 - level) / 2, df);
  return {
    difference,
    se,
    df,
    ciLow: difference - t * se,
    ciHigh: difference + t * se,
    pValue: studentTTwoSidedP(difference / se, df),
  };
}

export interface SampleRatioTest {
  readonly statistic: number;
  readonly pValue: number;
}

/**
 * Pearson's chi-square test (1 degree of freedom) of the observed split against the planned control share:
 * Σ (observed − expected)² / expected over the two groups. Null without members or without a share in (0, 1).
 */
export function sampleRatioTest(nT: number, nC: number, plannedControlShare: number): SampleRatioTest | null {
  if (!(Number.isInteger(nT) && Number.isInteger(nC) && nT >= 0 && nC >= 0)) {
    throw new RangeError(`sampleRatioTest: group sizes must be integers ≥ 0, got ${nT}, ${nC}`);
  }
  if (!(plannedControlShare > 0 && plannedControlShare < 1)) return null;
  const total = nT + nC;
  if (total === 0) return null;
  const expectedC = total * plannedControlShare;
  const expectedT = total - expectedC;
  const statistic = (nC - expectedC) ** 2 / expectedC + (nT - expectedT) ** 2 / expectedT;
  return { statistic, pValue: chiSquareSf(statistic, 1) };
}

/**
 * Standardised mean difference (mean_t − mean_c)/√((s_t² + s_c²)/2); null when a variance is missing or
 * both are 0.
 */
export function standardizedMeanDifference(treatment: Moments, control: Moments): number | null {
  if (
    treatment.mean === null ||
    control.mean === null ||
    treatment.variance === null ||
    control.variance === null
  ) {
    return null;
  }
  const pooled = Math.sqrt((treatment.variance + control.variance) / 2);
  return pooled > 0 ? (treatment.mean - control.mean) / pooled : null;
}

/**
 * The smallest true difference a two-sided test at `alpha` detects with probability `power`, given the
 * standard error of the difference: (z_{1−α/2} + z_{power})·se (2.8016·se at α = 0.05, power = 0.8).
 */
export function minimumDetectableEffect(se: number, alpha = 0.05, power = 0.8): number {
  if (!(se >= 0)) throw new RangeError(`minimumDetectableEffect: se must be ≥ 0, got ${se}`);
  if (!(alpha > 0 && alpha < 1 && power > 0 && power < 1)) {
    throw new RangeError(
      `minimumDetectableEffect: alpha and power must be in (0, 1), got ${alpha}, ${power}`,
    );
  }
  return (normalIsf(alpha / 2) + normalIsf(1 - power)) * se;
}

/**
 * One group's exact sums of an outcome y and a pre-period covariate x: unscaled integers (a decimal's digits),
 * the sums with `scale` decimals, the squares and cross products with twice as many.
 */
export interface CovariateSums {
  readonly n: bigint;
  readonly sumY: bigint;
  readonly sumYSq: bigint;
  readonly sumX: bigint;
  readonly sumXSq: bigint;
  readonly sumXY: bigint;
}

export interface CupedComparison extends MeanComparison {
  /**
   * θ = cov(y, x)/var(x), pooled within the groups: (Σ_g S_xy,g/n_g)/(Σ_g S_xx,g/n_g), with S the centred sums
   * of cross products and squares. Null when x does not vary within either group, or a group has < 2 members.
   */
  readonly theta: number | null;
  /**
   * 1 − se²_cuped/se²_unadjusted: the share of the difference's variance the adjustment removed. ≤ 0 when it
   * removed none (x does not predict y, or the groups are small); null when either standard error is missing.
   */
  readonly varianceReduction: number | null;
}

const NO_CUPED: CupedComparison = {
  difference: null,
  se: null,
  df: null,
  ciLow: null,
  ciHigh: null,
  pValue: null,
  theta: null,
  varianceReduction: null,
};

/**
 * CUPED (Deng, Xu, Kohavi & Walker 2013): the difference of the means of y − θ(x − x̄), x the pre-period
 * covariate and x̄ its mean over both groups, compared by Welch's test as `compareMeans` does. The adjusted
 * difference is Δȳ − θ·Δx̄; each group's adjusted variance is s_y² − 2θ·s_xy + θ²·s_x². The centred sums are
 * formed in exact integers. θ is estimated from the same data, which the interval ignores (its effect is of
 * order 1/n). Null figures where θ or the unadjusted comparison does not exist.
 */
export function compareMeansCuped(
  treatment: CovariateSums,
  control: CovariateSums,
  scale: number,
  level = 0.95,
): CupedComparison {
  const groups = [treatment, control];
  if (groups.some((g) => g.n < 2n)) return NO_CUPED;
  const centred = groups.map((g) => ({
    n: Number(g.n),
    yy: g.n * g.sumYSq - g.sumY * g.sumY,
    xx: g.n * g.sumXSq - g.sumX * g.sumX,
    xy: g.n * g.sumXY - g.sumX * g.sumY,
  }));
  for (const c of centred) {
    if (c.yy < 0n || c.xx < 0n) {
      throw new RangeError("compareMeansCuped: a sum of squares is smaller than the sum allows");
    }
  }
  // n·S (S the centred sum) over n: the centred sums, pooled.
  const pooledXx = centred.reduce((sum, c) => sum + Number(c.xx) / c.n, 0);
  const pooledXy = centred.reduce((sum, c) => sum + Number(c.xy) / c.n, 0);
  const unit = 10 ** scale;
  const moments = (g: CovariateSums): Moments => momentsFromSums(g.n, g.sumY, g.sumYSq, scale);
  const unadjusted = compareMeans(moments(treatment), moments(control), level);
  if (!(pooledXx > 0) || unadjusted.difference === null) return NO_CUPED;
  const theta = pooledXy / pooledXx;
  const meanX = Number(treatment.sumX + control.sumX) / unit / Number(treatment.n + control.n);
  const adjusted = groups.map((g, i): Moments => {
    const c = centred[i] as (typeof centred)[number];
    const meanY = Number(g.sumY) / unit / c.n;
    const ownMeanX = Number(g.sumX) / unit / c.n;
    // n(n − 1)·(s_y² − 2θ s_xy + θ² s_x²), in units²; never below 0 (rounding of a perfect fit).
    const scaled = Number(c.yy) - 2 * theta * Number(c.xy) + theta * theta * Number(c.xx);
    const variance = Math.max(0, scaled) / (unit * unit) / (c.n * (c.n - 1));
    return { n: c.n, mean: meanY - theta * (ownMeanX - meanX), variance };
  });
  const cuped = compareMeans(adjusted[0] as Moments, adjusted[1] as Moments, level);
  const varianceReduction =
    cuped.se !== null && unadjusted.se !== null && unadjusted.se > 0
      ? 1 - (cuped.se * cuped.se) / (unadjusted.se * unadjusted.se)
      : null;
  return { ...cuped, theta, varianceReduction };
}

export interface SampleSize {
  /** Customers in both groups together. */
  readonly total: number;
  readonly treatment: number;
  readonly control: number;
}

/**
 * The group sizes at which a two-sided test at `alpha` detects a true difference `uplift` with probability
 * `power`, when a share `controlShare` is held out: (z_{1−α/2} + z_power)²·(σ_t²/(1 − s) + σ_c²/s)/δ² in all,
 * each group rounded up. σ_t² and σ_c² are the per-customer variances of the outcome in each group.
 */
export function sampleSizeForUplift(options: {
  readonly uplift: number;
  readonly treatmentVariance: number;
  readonly controlVariance: number;
  readonly controlShare: number;
  readonly alpha?: number;
  readonly power?: number;
}): SampleSize {
  const { uplift, treatmentVariance, controlVariance, controlShare } = options;
  const alpha = options.alpha ?? 0.05;
  const power = options.power ?? 0.8;
  if (!(uplift !== 0 && Number.isFinite(uplift))) {
    throw new RangeError(`sampleSizeForUplift: uplift must be a non-zero number, got ${uplift}`);
  }
  if (!(controlShare > 0 && controlShare < 1)) {
    throw new RangeError(`sampleSizeForUplift: controlShare must be in (0, 1), got ${controlShare}`);
  }
  if (!(treatmentVariance >= 0 && controlVariance >= 0)) {
    throw new RangeError("sampleSizeForUplift: variances must be ≥ 0");
  }
  const z = minimumDetectableEffect(1, alpha, power);
  const total =
    (z * z * (treatmentVariance / (1 - controlShare) + controlVariance / controlShare)) / (uplift * uplift);
  const treatment = Math.ceil(total * (1 - controlShare) - 1e-9);
  const control = Math.ceil(total * controlShare - 1e-9);
  return { total: treatment + control, treatment, control };
}
