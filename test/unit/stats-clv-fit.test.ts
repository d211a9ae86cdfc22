/**
 * BG/NBD and Gamma-Gamma fitting (functions/core/stats/clv-fit.ts).
 *
 * Reference values are computed in this file, independently of the code under test:
 * - the BG/NBD likelihood of one customer by 2-D numerical integration (tanh-sinh quadrature) of the
 *   individual-level likelihood L(x, t_x, T | λ, p) = (1 − p)^x λ^x e^(−λT) + δ(x > 0) p (1 − p)^(x−1) λ^x e^(−λ t_x)
 *   over λ ~ Gamma(r, α) and p ~ Beta(a, b) (FHL 2005, eqs. 3–5), which shares no formula with the closed form;
 * - the Gamma-Gamma density of m̄ by 1-D integration over ν ~ Gamma(q, γ) of the Gamma(px, ν·x) density of m̄;
 * - the gradients by central differences of those integrals;
 * - the conditional expectation by integrating the individual-level E[Y(t) | λ, p, alive] against the posterior.
 * Parameter recovery simulates the BG/NBD and Gamma-Gamma stories with the generator's random streams and its
 * default parameters (functions/core/generate/options.ts DEFAULT_OPTIONS), then fits.
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_OPTIONS } from "../../functions/core/generate/options.ts";
import { beta, exponential, gamma, stream } from "../../functions/core/generate/random.ts";
import {
  bgnbdConditionalExpectedPurchases,
  bgnbdLogLikelihood,
  bgnbdProbabilityAlive,
  fitBgNbd,
  fitGammaGamma,
  gammaGammaConditionalMean,
  gammaGammaLogLikelihood,
  type RfmCount,
  type SpendRecord,
} from "../../functions/core/stats/clv-fit.ts";
import { logGamma } from "../../functions/core/stats/special.ts";

/** ∫₀¹ f by tanh-sinh quadrature (handles integrable singularities at both ends). */
function tanhSinh01(f: (u: number) => number, h = 1 / 24, tMax = 4): number {
  let sum = 0;
  for (let t = -tMax; t <= tMax + 1e-12; t += h) {
    const s = (Math.PI / 2) * Math.sinh(t);
    const c = Math.cosh(s);
    // u = (1 + tanh s)/2, computed without cancellation near both ends.
    const u = 1 / (1 + Math.exp(-2 * s));
    const w = ((Math.PI / 2) * Math.cosh(t)) / (2 * c * c);
    if (u <= 0 || u >= 1 || w === 0) continue;
    sum += w * f(u);
  }
  return sum * h;
}

/** ∫₀^∞ f(λ) dλ through λ = y/(1 − y). */
function halfLine(f: (l: number) => number, h?: number): number {
  return tanhSinh01((y) => {
    const l = y / (1 - y);
    return f(l) / ((1 - y) * (1 - y));
  }, h);
}

function gammaDensity(x: number, shape: number, rate: number): number {
  return Math.exp(shape * Math.log(rate) + (shape - 1) * Math.log(x) - rate * x - logGamma(shape));
}

function betaDensity(p: number, a: number, b: number): number {
  return Math.exp(
    (a - 1) * Math.log(p) + (b - 1) * Math.log1p(-p) + logGamma(a + b) - logGamma(a) - logGamma(b),
  );
}

type Bg = { r: number; alpha: number; a: number; b: number };

function integratedBgNbd(params: Bg, x: number, tx: number, T: number): number {
  const { r, alpha, a, b } = params;
  return halfLine((l) =>
    tanhSinh01((p) => {
      const alive = (1 - p) ** x * l ** x * Math.exp(-l * T);
      const dead = x > 0 ? p * (1 - p) ** (x - 1) * l ** x * Math.exp(-l * tx) : 0;
      return (alive + dead) * gammaDensity(l, r, alpha) * betaDensity(p, a, b);
    }),
  );
}

function integratedGammaGamma(params: { p: number; q: number; gamma: number }, x: number, m: number): number {
  // m̄ = (sum of x Gamma(p, ν) values)/x ~ Gamma(px, ν·x).
  // Sharply peaked for large x: a finer step (1-D, cheap).
  return halfLine(
    (nu) => gammaDensity(m, params.p * x, nu * x) * gammaDensity(nu, params.q, params.gamma),
    1 / 128,
  );
}

const CASES: Array<{ params: Bg; x: number; tx: number; T: number }> = [
  // CDNOW-like scale in days (FHL 2005 published r = 0.243, α = 4.414 weeks).
  { params: { r: 0.243, alpha: 30.9, a: 0.793, b: 2.426 }, x: 0, tx: 0, T: 200 },
  { params: { r: 0.243, alpha: 30.9, a: 0.793, b: 2.426 }, x: 2, tx: 150, T: 270 },
  { params: { r: 0.75, alpha: 30, a: 0.8, b: 2.4 }, x: 7, tx: 300, T: 320 },
  { params: { r: 1.7, alpha: 12, a: 1.3, b: 0.9 }, x: 1, tx: 5, T: 60 },
];

describe("BG/NBD log-likelihood (closed form against numerical integration)", () => {
  it.each(CASES)("x=$x t_x=$tx T=$T", ({ params, x, tx, T }) => {
    const got = bgnbdLogLikelihood(params, x, tx, T);
    const ref = Math.log(integratedBgNbd(params, x, tx, T));
    expect(Math.abs(got.value - ref)).toBeLessThan(1e-8);
    // Gradient: central differences of the integrated likelihood, relative step 1e-5.
    const keys = ["r", "alpha", "a", "b"] as const;
    keys.forEach((k, i) => {
      const h = params[k] * 1e-5;
      const up = Math.log(integratedBgNbd({ ...params, [k]: params[k] + h }, x, tx, T));
      const down = Math.log(integratedBgNbd({ ...params, [k]: params[k] - h }, x, tx, T));
      const fd = (up - down) / (2 * h);
      expect(Math.abs((got.gradient[i] as number) - fd)).toBeLessThan(1e-6 * Math.max(1, Math.abs(fd)));
    });
  });
});

describe("Gamma-Gamma log-likelihood (closed form against numerical integration)", () => {
  const params = { p: 6, q: 4, gamma: 15 };
  it.each([
    { x: 1, m: 31.5 },
    { x: 4, m: 12.25 },
    { x: 15, m: 80 },
  ])("x=$x m̄=$m", ({ x, m }) => {
    const got = gammaGammaLogLikelihood(params, x, m);
    expect(Math.abs(got.value - Math.log(integratedGammaGamma(params, x, m)))).toBeLessThan(1e-8);
    const keys = ["p", "q", "gamma"] as const;
    keys.forEach((k, i) => {
      const h = params[k] * 1e-5;
      const fd =
        (Math.log(integratedGammaGamma({ ...params, [k]: params[k] + h }, x, m)) -
          Math.log(integratedGammaGamma({ ...params, [k]: params[k] - h }, x, m))) /
        (2 * h);
      expect(Math.abs((got.gradient[i] as number) - fd)).toBeLessThan(1e-6 * Math.max(1, Math.abs(fd)));
    });
  });

  it("conditional mean equals the posterior mean of p/ν, by integration", () => {
    const x = 3;
    const m = 20;
    const num = halfLine(
      (nu) =>
        (params.p / nu) * gammaDensity(m, params.p * x, nu * x) * gammaDensity(nu, params.q, params.gamma),
    );
    const den = integratedGammaGamma(params, x, m);
    expect(gammaGammaConditionalMean(params, x, m)).toBeCloseTo(num / den, 8);
  });
});

describe("BG/NBD per-customer expectations (against integration over the posterior)", () => {
  it.each(CASES)("P(alive) and E[Y(90)] for x=$x t_x=$tx T=$T", ({ params, x, tx, T }) => {
    const { r, alpha, a, b } = params;
    const t = 90;
    // Joint posterior of (λ, p, alive) ∝ prior × likelihood; alive: (1−p)^x λ^x e^(−λT); then
    // E[Y(t) | λ, p, alive at T] = (1 − e^(−λ p t))/p.
    let alive = 0;
    let expected = 0;
    const total = integratedBgNbd(params, x, tx, T);
    alive = halfLine((l) =>
      tanhSinh01(
        (p) => (1 - p) ** x * l ** x * Math.exp(-l * T) * gammaDensity(l, r, alpha) * betaDensity(p, a, b),
      ),
    );
    expected = halfLine((l) =>
      tanhSinh01(
        (p) =>
          (-Math.expm1(-l * p * t) / p) *
          (1 - p) ** x *
          l ** x *
          Math.exp(-l * T) *
          gammaDensity(l, r, alpha) *
          betaDensity(p, a, b),
      ),
    );
    expect(bgnbdProbabilityAlive(params, x, tx, T)).toBeCloseTo(alive / total, 8);
    expect(bgnbdConditionalExpectedPurchases(t, params, x, tx, T)).toBeCloseTo(expected / total, 7);
  });
});

/** Simulates the BG/NBD story for n customers with first purchase at 0 and ages T uniform on 30..730 days. */
function simulate(seed: number, n: number): { counts: RfmCount[]; spend: SpendRecord[] } {
  const { r, alpha, a, b } = DEFAULT_OPTIONS.bgnbd;
  const gg = DEFAULT_OPTIONS.gammaGamma;
  const triples = new Map<string, RfmCount>();
  const spend: SpendRecord[] = [];
  for (let i = 0; i < n; i++) {
    const rng = stream(seed, 9001, i);
    const T = 30 + Math.floor(rng.next() * 701);
    const lambda = gamma(rng, r, alpha);
    const p = beta(rng, a, b);
    const nu = gamma(rng, gg.q, gg.gamma);
    let t = 0;
    let x = 0;
    let tx = 0;
    let total = 0;
    for (;;) {
      t += exponential(rng, lambda);
      if (t > T) break;
      x += 1;
      tx = t;
      total += gamma(rng, gg.p, nu);
      if (rng.next() < p) break;
    }
    const key = `${x}|${tx}|${T}`;
    const prev = triples.get(key);
    triples.set(key, { frequency: x, recency: tx, age: T, customers: (prev?.customers ?? 0) + 1 });
    if (x > 0) spend.push({ frequency: x, monetary: total / x, customers: 1 });
  }
  return { counts: [...triples.values()], spend };
}

describe("parameter recovery on simulated data (generator's default parameters)", () => {
  // Each estimate must lie within 4 of its own standard errors of the truth: for an asymptotically normal MLE the
  // chance of a false failure is 6e-5 per parameter, 2e-3 over the 21 checks below.
  it.each([1, 2, 3])(
    "seed %i, 20,000 customers",
    (seed) => {
      const { counts, spend } = simulate(seed, 20_000);
      const bg = fitBgNbd(counts);
      expect(bg.diagnostic).toBe("");
      expect(bg.converged).toBe(true);
      const truth = DEFAULT_OPTIONS.bgnbd;
      [truth.r, truth.alpha, truth.a, truth.b].forEach((v, i) => {
        const est = bg.parameters?.[i] as number;
        const se = bg.standardErrors?.[i] as number;
        expect(se).toBeGreaterThan(0);
        expect(Math.abs(est - v)).toBeLessThan(4 * se);
      });
      const gg = fitGammaGamma(spend);
      expect(gg.converged).toBe(true);
      const gt = DEFAULT_OPTIONS.gammaGamma;
      [gt.p, gt.q, gt.gamma].forEach((v, i) => {
        expect(Math.abs((gg.parameters?.[i] as number) - v)).toBeLessThan(
          4 * (gg.standardErrors?.[i] as number),
        );
      });
    },
    60_000,
  );
});

describe("degenerate data", () => {
  it("no repeat buyers: no parameters, converged = false, a diagnostic with the numbers", () => {
    const counts: RfmCount[] = [
      { frequency: 0, recency: 0, age: 100, customers: 500 },
      { frequency: 0, recency: 0, age: 300, customers: 200 },
    ];
    const bg = fitBgNbd(counts);
    expect(bg.converged).toBe(false);
    expect(bg.parameters).toBeNull();
    expect(bg.diagnostic).toBe(
      "Too few repeat buyers to fit BG/NBD: 0 of 700 customers have a repeat purchase day, at least 20 are needed.",
    );
    const gg = fitGammaGamma([]);
    expect(gg.converged).toBe(false);
    expect(gg.parameters).toBeNull();
    expect(gg.diagnostic).toMatch(
      /Too few repeat buyers with a positive mean repeat spend to fit Gamma-Gamma: 0/,
    );
  });

  it("every customer with identical spend: Gamma-Gamma cannot be fitted and says why", () => {
    const spend: SpendRecord[] = Array.from({ length: 50 }, (_, i) => ({
      frequency: 1 + (i % 5),
      monetary: 25,
      customers: 1,
    }));
    const gg = fitGammaGamma(spend);
    expect(gg.converged).toBe(false);
    expect(gg.parameters).toBeNull();
    // Equal spends mean no spread within or between customers: q and p run off to infinity.
    expect(gg.diagnostic).toMatch(
      /^(p|q|gamma) ran to the bound of its search range \(p = .*, q = .*, gamma = .*\)/,
    );
  });
});
