/**
 * The generator's random numbers and closed forms. Statistical checks allow 4 standard errors: with a fixed
 * seed they are deterministic, and a correct sampler lands within 4 SE with probability 0.99994, while the
 * errors they guard against (wrong rate vs scale, wrong shape boost, off-by-one in Knuth's loop) move the
 * estimate by tens of standard errors at these sample sizes.
 */
import { describe, expect, it } from "vitest";
import {
  beta,
  exponential,
  gamma,
  logGamma,
  poisson,
  type Random,
  STREAMS,
  stream,
  Xoshiro128,
} from "../../functions/core/generate/random.ts";
import {
  bgnbdConditionalRepeatPurchases,
  bgnbdExpectedRepeatPurchases,
  gammaGammaExpectedValue,
  gammaGammaValueVariance,
  hyp2f1,
} from "../../functions/core/generate/theory.ts";

interface Moments {
  mean: number;
  variance: number;
  n: number;
}

function moments(n: number, draw: () => number): Moments {
  let sum = 0;
  let sumSq = 0;
  for (let i = 0; i < n; i++) {
    const x = draw();
    sum += x;
    sumSq += x * x;
  }
  const mean = sum / n;
  return { mean, variance: (sumSq - n * mean * mean) / (n - 1), n };
}

/** |estimate − expected| within 4 standard errors of the mean. */
function expectMean(m: Moments, expected: number, variance: number): void {
  const se = Math.sqrt(variance / m.n);
  expect(Math.abs(m.mean - expected), `mean ${m.mean} vs ${expected} (SE ${se})`).toBeLessThan(4 * se);
}

/** Sample variance within 4 SE, SE² ≈ σ⁴ (2/(n − 1) + excess kurtosis / n). */
function expectVariance(m: Moments, expected: number, excessKurtosis: number): void {
  const se = expected * Math.sqrt(2 / (m.n - 1) + excessKurtosis / m.n);
  expect(Math.abs(m.variance - expected), `variance ${m.variance} vs ${expected} (SE ${se})`).toBeLessThan(
    4 * se,
  );
}

describe("xoshiro128**", () => {
  it("matches the reference C implementation (Blackman & Vigna) for known states", () => {
    const a = new Xoshiro128([1, 2, 3, 4]);
    expect(Array.from({ length: 6 }, () => a.nextUint32())).toEqual([
      11520, 0, 5927040, 70819200, 2031721883, 1637235492,
    ]);
    const b = new Xoshiro128([0x9e3779b9, 0x243f6a88, 0xdeadbeef, 0x12345678]);
    expect(Array.from({ length: 6 }, () => b.nextUint32())).toEqual([
      2463954730, 2412250963, 3566893527, 1252124002, 2862286852, 2745335766,
    ]);
  });

  it("gives the same stream for the same key and different streams for different seeds, purposes or indices", () => {
    const take = (rng: Random) => Array.from({ length: 4 }, () => rng.nextUint32());
    expect(take(stream(7, STREAMS.customer, 3))).toEqual(take(stream(7, STREAMS.customer, 3)));
    const variants = [
      stream(7, STREAMS.customer, 3),
      stream(8, STREAMS.customer, 3),
      stream(7 + 2 ** 32, STREAMS.customer, 3),
      stream(7, STREAMS.campaign, 3),
      stream(7, STREAMS.customer, 4),
    ].map((rng) => take(rng).join(","));
    expect(new Set(variants).size).toBe(variants.length);
  });

  it("draws uniforms strictly inside (0, 1) with mean 1/2 and variance 1/12", () => {
    const rng = stream(1, 100, 0);
    let min = 1;
    let max = 0;
    const m = moments(200_000, () => {
      const u = rng.next();
      min = Math.min(min, u);
      max = Math.max(max, u);
      return u;
    });
    expect(min).toBeGreaterThan(0);
    expect(max).toBeLessThan(1);
    expectMean(m, 0.5, 1 / 12);
    expectVariance(m, 1 / 12, -1.2);
  });
});

describe("samplers", () => {
  it.each([
    [0.3, 1],
    [0.75, 30],
    [1, 2],
    [4, 15],
    [6, 0.5],
  ])("Gamma(shape %s, rate %s) has mean shape/rate and variance shape/rate²", (shape, rate) => {
    const rng = stream(2, 100, shape * 1000 + rate);
    const m = moments(200_000, () => gamma(rng, shape, rate));
    expectMean(m, shape / rate, shape / rate ** 2);
    expectVariance(m, shape / rate ** 2, 6 / shape);
  });

  it.each([
    [0.8, 2.4],
    [2, 5],
  ])("Beta(%s, %s) has mean a/(a + b) and the Beta variance", (a, b) => {
    const rng = stream(3, 100, a * 10 + b);
    const variance = (a * b) / ((a + b) ** 2 * (a + b + 1));
    const m = moments(200_000, () => beta(rng, a, b));
    expectMean(m, a / (a + b), variance);
  });

  it.each([0.5, 1.5, 12, 45, 400])("Poisson(%s) has mean and variance equal to its mean", (mean) => {
    const rng = stream(4, 100, mean * 10);
    const m = moments(200_000, () => poisson(rng, mean));
    expectMean(m, mean, mean);
    expectVariance(m, mean, 1 / mean);
  });

  it("Exponential(rate) has mean 1/rate", () => {
    const rng = stream(5, 100, 0);
    const m = moments(200_000, () => exponential(rng, 0.25));
    expectMean(m, 4, 16);
  });

  it("logGamma matches known values", () => {
    expect(logGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 12);
    expect(logGamma(1)).toBeCloseTo(0, 12);
    expect(logGamma(10)).toBeCloseTo(Math.log(362_880), 10);
    expect(logGamma(0.1)).toBeCloseTo(2.252712651734206, 12);
  });
});

describe("closed forms", () => {
  it("hyp2f1 matches 2F1(1, 1; 2; z) = −ln(1 − z)/z and 2F1(a, b; b; z) = (1 − z)^−a", () => {
    for (const z of [0.1, 0.5, 0.95]) {
      expect(hyp2f1(1, 1, 2, z)).toBeCloseTo(-Math.log(1 - z) / z, 10);
      expect(hyp2f1(0.75, 2.4, 2.4, z)).toBeCloseTo((1 - z) ** -0.75, 10);
    }
  });

  it.each([
    [{ r: 0.75, alpha: 30, a: 0.8, b: 2.4 }, 365],
    [{ r: 0.243, alpha: 30.9, a: 0.793, b: 2.426 }, 273],
    [{ r: 2, alpha: 50, a: 3, b: 6 }, 500],
    [{ r: 1, alpha: 20, a: 1, b: 3 }, 200],
  ])("BG/NBD E[X(t)] for %o, t = %s agrees with an independent Monte-Carlo of the model", (params, t) => {
    // Simulated here from scratch (not with the generator's code): λ, p, then purchases until drop-out.
    const rng = stream(6, 100, t);
    const m = moments(100_000, () => {
      const lambda = gamma(rng, params.r, params.alpha);
      const p = beta(rng, params.a, params.b);
      let repeats = 0;
      let clock = exponential(rng, lambda);
      while (clock <= t) {
        repeats++;
        if (rng.next() < p) break;
        clock += exponential(rng, lambda);
      }
      return repeats;
    });
    expectMean(m, bgnbdExpectedRepeatPurchases(t, params), m.variance);
  });

  it("BG/NBD E[X(t)] is the mean over customers of (1 − e^(−λpt))/p", () => {
    const params = { r: 0.75, alpha: 30, a: 0.8, b: 2.4 };
    const rng = stream(7, 100, 0);
    const m = moments(400_000, () =>
      bgnbdConditionalRepeatPurchases(730, gamma(rng, params.r, params.alpha), beta(rng, params.a, params.b)),
    );
    expectMean(m, bgnbdExpectedRepeatPurchases(730, params), m.variance);
  });

  it("Gamma-Gamma E[z] = p·γ/(q − 1) and its variance agree with a Monte-Carlo", () => {
    const params = { p: 6, q: 4, gamma: 15 };
    expect(gammaGammaExpectedValue(params)).toBe(30);
    const rng = stream(8, 100, 0);
    const m = moments(400_000, () => gamma(rng, params.p, gamma(rng, params.q, params.gamma)));
    expectMean(m, 30, gammaGammaValueVariance(params));
  });
});
