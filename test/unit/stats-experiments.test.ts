/**
 * The two-group comparisons of functions/core/stats/experiments.ts against values worked out by hand and, for
 * the distribution tails and Student quantiles, mpmath 1.3.0 at 30 digits (each call named where it is used).
 */
import { describe, expect, it } from "vitest";
import {
  compareMeans,
  compareProportions,
  minimumDetectableEffect,
  momentsFromSums,
  normalCritical,
  sampleRatioTest,
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
