/**
 * The two-group comparisons of functions/core/stats/experiments.ts against values worked out by hand and, for
 * the distribution tails and Student quantiles, mpmath 1.3.0 at 30 digits (each call named where it is used).
 */
import { describe, expect, it } from "vitest";
import {
  compareMeans,
  compareMeansCuped,
  compareProportions,
  minimumDetectableEffect,
  momentsFromSums,
  momentsOf,
  normalCritical,
  sampleRatioTest,
  sampleSizeForUplift,
  standardizedMeanDifference,
} from "../../functions/core/stats/index.ts";

function expectRelative(actual: number | null, expected: number, tolerance = 1e-13): void {
  expect(actual).not.toBeNull();
  const error = Math.abs((actual as number) - expected) / Math.abs(expected);
  expect(error, `${actual} vs ${expected}`).toBeLessThanOrEqual(tolerance);
}

// mpmath: findroot(lambda z: ncdf(z) - 0.975, 2) and ncdf(z) - 0.8.
const Z975 = 1.959963984540054;
const Z80 = 0.8416212335729142;

describe("momentsFromSums", () => {
  it("gives the mean and the unbiased variance from exact sums", () => {
    // 30.00, 10.00, 15.00, 0.00: Σ = 5500 cents, Σx² = 900 + 100 + 225 + 0 = 1225 → 12,250,000 cents².
    const m = momentsFromSums(4n, 5500n, 12_250_000n, 2);
    expect(m).toEqual({ n: 4, mean: 13.75, variance: 156.25 });
  });

  it("does not cancel when the mean dwarfs the spread", () => {
    // 1e9 + 0.01 and 1e9 − 0.01 (cents 1e11 ± 1): variance = 2 × 0.01² / 1 = 0.0002.
    const sum = 2n * 100_000_000_000n;
    const sumSq = (100_000_000_000n + 1n) ** 2n + (100_000_000_000n - 1n) ** 2n;
    expectRelative(momentsFromSums(2n, sum, sumSq, 2).variance, 0.0002, 1e-15);
  });

  it("has no mean for an empty group and no variance for one member", () => {
    expect(momentsFromSums(0n, 0n, 0n, 2)).toEqual({ n: 0, mean: null, variance: null });
    expect(momentsFromSums(1n, 700n, 490_000n, 2)).toEqual({ n: 1, mean: 7, variance: null });
    expect(() => momentsFromSums(2n, 10n, 1n, 0)).toThrow(RangeError);
  });
});

describe("momentsOf", () => {
  it("gives the mean and the unbiased variance of the values present, as momentsFromSums", () => {
    expect(momentsOf([30, null, 10, 15, 0])).toEqual({ n: 4, mean: 13.75, variance: 156.25 });
    expect(momentsOf([null])).toEqual({ n: 0, mean: null, variance: null });
    expect(momentsOf([7])).toEqual({ n: 1, mean: 7, variance: null });
  });
});

describe("compareProportions", () => {
  it("gives rates, the Wald interval and the pooled z-test", () => {
    // 3/4 against 1/4: uplift 0.5; Wald se √(0.75·0.25/4 × 2) = √0.09375; pooled rate ½, se √(¼·½) = √0.125,
    // z = 0.5/√0.125 = √2, p = 2Φ(−√2) = 0.157299207050285 (mpmath 2*ncdf(-sqrt(2))).
    const r = compareProportions(3, 4, 1, 4);
    expect(r.treatmentRate).toBe(0.75);
    expect(r.controlRate).toBe(0.25);
    expect(r.uplift).toBe(0.5);
    expectRelative(r.ciLow, 0.5 - Z975 * Math.sqrt(0.09375));
    expectRelative(r.ciHigh, 0.5 + Z975 * Math.sqrt(0.09375));
    expectRelative(r.pValue, 0.157299207050285);
    expectRelative(r.pooledSe, Math.sqrt(0.125));
  });

  it("keeps relative accuracy far in the tail", () => {
    // 600/1000 against 400/1000: z = 0.2/√0.0005 = 8.944; p = 3.74409738420289876e-19 (mpmath 2*ncdf(-z)).
    expectRelative(compareProportions(600, 1000, 400, 1000).pValue, 3.744097384202899e-19, 1e-13);
  });

  it("gives NULLs, not NaN, for an empty group or nobody responding", () => {
    const empty = compareProportions(0, 1, 0, 0);
    expect(empty).toEqual({
      treatmentRate: 0,
      controlRate: null,
      uplift: null,
      ciLow: null,
      ciHigh: null,
      pValue: null,
      pooledSe: null,
    });
    const none = compareProportions(0, 3, 0, 3);
    expect(none.uplift).toBe(0);
    expect(none.ciLow).toBeNull();
    expect(none.pValue).toBeNull();
    expect(compareProportions(3, 3, 3, 3).pValue).toBeNull();
    expect(() => compareProportions(5, 4, 0, 4)).toThrow(RangeError);
  });
});

describe("compareMeans (Welch)", () => {
  it("matches a hand-worked Welch test", () => {
    // Means 13.75 and 2.5, variances 156.25 and 25, n = 4 each: se = √(39.0625 + 6.25) = √45.3125,
    // df = 45.3125² / ((39.0625² + 6.25²)/3) = 3.9360374414976599;
    // mpmath: t = findroot(tsf(t, df) − 0.025) = 2.7943298297211925, p = 2·tsf(11.25/se, df).
    const r = compareMeans({ n: 4, mean: 13.75, variance: 156.25 }, { n: 4, mean: 2.5, variance: 25 });
    expect(r.difference).toBe(11.25);
    expectRelative(r.se, Math.sqrt(45.3125));
    expectRelative(r.df, 3.93603744149766);
    expectRelative(r.ciLow, -7.559908323175897, 1e-12);
    expectRelative(r.ciHigh, 30.059908323175897, 1e-12);
    expectRelative(r.pValue, 0.17114865210441443, 1e-12);
  });

  it("has no test below two members or without variance", () => {
    const one = compareMeans({ n: 1, mean: 3, variance: null }, { n: 4, mean: 2.5, variance: 25 });
    expect(one).toEqual({ difference: 0.5, se: null, df: null, ciLow: null, ciHigh: null, pValue: null });
    const flat = compareMeans({ n: 3, mean: 0, variance: 0 }, { n: 3, mean: 0, variance: 0 });
    expect(flat).toEqual({ difference: 0, se: 0, df: null, ciLow: null, ciHigh: null, pValue: null });
  });
});

describe("sampleRatioTest", () => {
  it("gives Pearson's chi-square against the planned split", () => {
    // 520 treated, 480 control, planned ½: χ² = 20²/500 + 20²/500 = 1.6; p = Q(½, 0.8) = 0.205903210732068.
    const r = sampleRatioTest(520, 480, 0.5);
    expectRelative(r?.statistic ?? null, 1.6);
    expectRelative(r?.pValue ?? null, 0.205903210732068);
    // 900 and 100 against a planned control share of 0.2: χ² = 100²/200 + 100²/800 = 62.5;
    // p = Q(½, 31.25) = 2.66444638923592855e-15 (mpmath gammainc(0.5, 31.25, inf, regularized=True)).
    expectRelative(sampleRatioTest(900, 100, 0.2)?.pValue ?? null, 2.6644463892359287e-15, 1e-13);
  });

  it("has no test without members or without a planned share in (0, 1)", () => {
    expect(sampleRatioTest(0, 0, 0.5)).toBeNull();
    expect(sampleRatioTest(10, 0, 0)).toBeNull();
  });
});

describe("standardizedMeanDifference and minimumDetectableEffect", () => {
  it("standardises by the mean of the two variances", () => {
    // (0.25 − 0.5)/√((0.25 + 1)/2) = −0.25/√0.625.
    expectRelative(
      standardizedMeanDifference({ n: 4, mean: 0.25, variance: 0.25 }, { n: 4, mean: 0.5, variance: 1 }),
      -0.25 / Math.sqrt(0.625),
    );
    expect(
      standardizedMeanDifference({ n: 4, mean: 0, variance: 0 }, { n: 4, mean: 0, variance: 0 }),
    ).toBeNull();
    expect(
      standardizedMeanDifference({ n: 1, mean: 0, variance: null }, { n: 4, mean: 0, variance: 1 }),
    ).toBeNull();
  });

  it("is (z_0.975 + z_0.8)·se", () => {
    expectRelative(normalCritical(0.95), Z975, 1e-15);
    expectRelative(minimumDetectableEffect(2), 2 * (Z975 + Z80), 1e-15);
    expect(() => minimumDetectableEffect(-1)).toThrow(RangeError);
  });
});

/** Exact sums (scale 0) of pairs (x, y). */
function covariateSums(x: readonly number[], y: readonly number[]) {
  const big = (values: readonly number[]) => values.reduce((sum, v) => sum + BigInt(v), 0n);
  return {
    n: BigInt(x.length),
    sumX: big(x),
    sumXSq: big(x.map((v) => v * v)),
    sumY: big(y),
    sumYSq: big(y.map((v) => v * v)),
    sumXY: big(x.map((v, i) => v * (y[i] as number))),
  };
}

describe("compareMeansCuped", () => {
  // Treatment (x, y): (10, 14), (20, 25), (30, 31), (40, 48); control: (5, 12), (15, 20), (25, 33).
  // Centred sums: S_xx = 500 and 200, S_xy = 540 and 210, so θ = (540 + 210)/(500 + 200) = 15/14.
  // Δȳ = 29.5 − 21.6667 = 7.8333, Δx̄ = 25 − 15 = 10, adjusted Δ = 7.8333 − 10·15/14 = −2.8809523809523810.
  // Adjusted variances s_y² − 2θ s_xy + θ² s_x², then Welch, worked in mpmath 1.3.0 (30 digits):
  // se = 1.5904334183014033, ν = 4.719608994010125, 95 % interval [−7.04343810949141869, 1.28153334758665678],
  // p = 0.133298693728991523 (tsf as in campaign_results.test.ts); unadjusted se² = 87.8611111, so the variance
  // reduction is 1 − 1.5904334²/87.8611111 = 0.971210488621626330.
  const treatment = covariateSums([10, 20, 30, 40], [14, 25, 31, 48]);
  const control = covariateSums([5, 15, 25], [12, 20, 33]);

  it("matches the hand-worked adjustment, interval, p-value and variance reduction", () => {
    const r = compareMeansCuped(treatment, control, 0);
    expectRelative(r.theta, 15 / 14, 1e-15);
    expectRelative(r.difference, 7.5 + 1 / 3 - 150 / 14, 1e-13);
    expectRelative(r.se, 1.5904334183014033, 1e-13);
    expectRelative(r.df, 4.719608994010125, 1e-13);
    expectRelative(r.ciLow, -7.043438109491419, 1e-12);
    expectRelative(r.ciHigh, 1.2815333475866568, 1e-12);
    expectRelative(r.pValue, 0.13329869372899153, 1e-12);
    expectRelative(r.varianceReduction, 0.9712104886216263, 1e-13);
  });

  it("scales: the same figures from cents", () => {
    const cents = (s: ReturnType<typeof covariateSums>) => ({
      n: s.n,
      sumX: s.sumX * 100n,
      sumY: s.sumY * 100n,
      sumXSq: s.sumXSq * 10_000n,
      sumYSq: s.sumYSq * 10_000n,
      sumXY: s.sumXY * 10_000n,
    });
    const r = compareMeansCuped(cents(treatment), cents(control), 2);
    expectRelative(r.theta, 15 / 14, 1e-15);
    expectRelative(r.ciLow, -7.043438109491419, 1e-12);
  });

  it("reports no gain as a reduction ≤ 0, never as a gain", () => {
    // x unrelated to y in both groups: θ = 0, nothing removed.
    const none = compareMeansCuped(
      covariateSums([1, 2, 3, 4], [10, 30, 30, 10]),
      covariateSums([1, 2, 3, 4], [20, 0, 0, 20]),
      0,
    );
    expect(none.theta).toBe(0);
    expect(none.varianceReduction).toBe(0);
    expect(none.difference).toBe(10);
    // x predicts y in opposite directions: the pooled θ = (5 − 42)/(5 + 42) = −37/47 fits neither group, and
    // the adjusted variance is larger. Treatment y = x, control y = 9 − x: adjusted variances (1 − θ)²·5/3 and
    // (1 + θ)²·6, against 5/3 and 6 unadjusted: 1 − ((1 − θ)²·5/12 + (1 + θ)²·6/8)/(5/12 + 6/8) = −2627/15463.
    const worse = compareMeansCuped(
      covariateSums([1, 2, 3, 4], [1, 2, 3, 4]),
      covariateSums([1, 2, 3, 4, 5, 6, 7, 8], [8, 7, 6, 5, 4, 3, 2, 1]),
      0,
    );
    expectRelative(worse.theta, -37 / 47, 1e-15);
    expectRelative(worse.varianceReduction, -2627 / 15463, 1e-13);
  });

  it("has no adjustment when x does not vary, or a group has fewer than two members", () => {
    const flat = compareMeansCuped(covariateSums([0, 0, 0], [1, 2, 3]), covariateSums([0, 0], [1, 5]), 0);
    expect(flat).toMatchObject({ theta: null, difference: null, varianceReduction: null });
    const small = compareMeansCuped(covariateSums([1], [1]), covariateSums([0, 2], [1, 5]), 0);
    expect(small.theta).toBeNull();
  });
});

describe("sampleSizeForUplift", () => {
  it("is (z_0.975 + z_0.8)²·(σ_t²/(1 − s) + σ_c²/s)/δ², each group rounded up", () => {
    // Response 10 % → 12 %, half held out: (2.8015852)²·(0.1056/0.5 + 0.09/0.5)/0.02² = 7676.2 → 3839 + 3839.
    const z = Z975 + Z80;
    const total = (z * z * (0.12 * 0.88 * 2 + 0.1 * 0.9 * 2)) / 0.0004;
    const r = sampleSizeForUplift({
      uplift: 0.02,
      treatmentVariance: 0.12 * 0.88,
      controlVariance: 0.1 * 0.9,
      controlShare: 0.5,
    });
    expect(r).toEqual({
      treatment: Math.ceil(total / 2),
      control: Math.ceil(total / 2),
      total: 2 * Math.ceil(total / 2),
    });
    expect(r.treatment).toBe(3839);
    // A 10 % holdout needs more in all: σ²(1/0.9 + 1/0.1)/δ² with σ = 40, δ = 5: 7.849·1600·11.111/25 = 5581.7.
    const revenue = sampleSizeForUplift({
      uplift: 5,
      treatmentVariance: 1600,
      controlVariance: 1600,
      controlShare: 0.1,
    });
    const n = (z * z * 1600 * (1 / 0.9 + 1 / 0.1)) / 25;
    expect(revenue.control).toBe(Math.ceil(n * 0.1));
    expect(revenue.treatment).toBe(Math.ceil(n * 0.9));
    expect(() =>
      sampleSizeForUplift({ uplift: 0, treatmentVariance: 1, controlVariance: 1, controlShare: 0.5 }),
    ).toThrow(RangeError);
  });
});
