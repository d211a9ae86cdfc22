/**
 * Maximum-likelihood fitting of the lifetime-value models and their per-customer expectations:
 * - BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way", eq. 6 for the likelihood, eq. 10
 *   for the conditional expectation, P(alive) from their technical note "Computing P(alive) using the BG/NBD
 *   model");
 * - Gamma-Gamma spend (Fader, Hardie & Lee 2005, "RFM and CLV", and Fader & Hardie 2013, "The Gamma-Gamma
 *   model of monetary value", eq. 1 for the density of a customer's mean spend, eq. 5 for the conditional mean).
 *
 * The likelihoods are maximised over the logarithms of the parameters (all are positive) with BFGS and a
 * backtracking line search, from several starts, with analytic gradients (digamma). The standard errors come from
 * the inverse of the observed information, the Hessian of the log-likelihood taken by central differences of the
 * analytic gradient in log space, and are carried to the parameters by the delta method (se(θ) = θ·se(ln θ)).
 * A fit the data cannot support returns no parameters and a diagnostic in plain words (docs/lifetime-value.md).
 */

import type { BgNbdParameters, GammaGammaParameters } from "./clv.ts";
import { hyp2f1 } from "./hypergeometric.ts";
import { digamma, logBeta, logGamma } from "./special.ts";

/** One distinct (x, t_x, T) with the number of customers who have it; times in days. */
export interface RfmCount {
  /** Repeat purchase days x. */
  readonly frequency: number;
  /** t_x: days from the first to the last purchase day. */
  readonly recency: number;
  /** T: days from the first purchase day to the as-of. */
  readonly age: number;
  readonly customers: number;
}

/** One customer with repeat purchases (x > 0) and their mean spend per repeat purchase day. */
export interface SpendRecord {
  readonly frequency: number;
  readonly monetary: number;
  /** Customers with this (x, m̄); 1 when not compressed. */
  readonly customers: number;
}

interface FrequencyTerms {
  readonly lgRX: number;
  readonly psiRX: number;
  readonly lb1: number;
  readonly lb2: number;
  readonly du1da: number;
  readonly du1db: number;
  readonly du2da: number;
  readonly du2db: number;
}

/** The parts of one customer's BG/NBD log-likelihood and gradient that depend on x only. */
function bgnbdFrequencyTerms(params: BgNbdParameters, x: number): FrequencyTerms {
  const { r, a, b } = params;
  const lbab = logBeta(a, b);
  const psiAB = digamma(a + b);
  const psiABX = digamma(a + b + x);
  return {
    lgRX: logGamma(r + x) - logGamma(r),
    psiRX: digamma(r + x) - digamma(r),
    lb1: logBeta(a, b + x) - lbab,
    lb2: x > 0 ? logBeta(a + 1, b + x - 1) - lbab : Number.NaN,
    du1da: psiAB - psiABX,
    du1db: digamma(b + x) - psiABX - digamma(b) + psiAB,
    du2da: x > 0 ? digamma(a + 1) - psiABX - digamma(a) + psiAB : 0,
    du2db: x > 0 ? digamma(b + x - 1) - psiABX - digamma(b) + psiAB : 0,
  };
}

function bgnbdLogLikelihoodWith(
  k: FrequencyTerms,
  params: BgNbdParameters,
  lnAlpha: number,
  x: number,
  tx: number,
  T: number,
): { value: number; gradient: [number, number, number, number] } {
  const { r, alpha } = params;
  const lnAT = Math.log(alpha + T);
  const u1 = k.lb1 - (r + x) * lnAT;
  if (x === 0) {
    return {
      value: k.lgRX + r * lnAlpha + u1,
      gradient: [k.psiRX + lnAlpha - lnAT, r / alpha - (r + x) / (alpha + T), k.du1da, k.du1db],
    };
  }
  const lnATx = Math.log(alpha + tx);
  const u2 = k.lb2 - (r + x) * lnATx;
  const m = Math.max(u1, u2);
  const e1 = Math.exp(u1 - m);
  const e2 = Math.exp(u2 - m);
  const s = e1 + e2;
  const w1 = e1 / s;
  const w2 = e2 / s;
  return {
    value: k.lgRX + r * lnAlpha + m + Math.log(s),
    gradient: [
      k.psiRX + lnAlpha - w1 * lnAT - w2 * lnATx,
      r / alpha - (r + x) * (w1 / (alpha + T) + w2 / (alpha + tx)),
      w1 * k.du1da + w2 * k.du2da,
      w1 * k.du1db + w2 * k.du2db,
    ],
  };
}

/**
 * ln L of one customer under BG/NBD (FHL 2005, eq. 6), and its gradient with respect to (r, α, a, b):
 *   L = B(a, b + x)/B(a, b) · Γ(r + x) α^r / (Γ(r) (α + T)^(r+x))
 *     + δ(x > 0) · B(a + 1, b + x − 1)/B(a, b) · Γ(r + x) α^r / (Γ(r) (α + t_x)^(r+x)),
 * the two terms added in logarithms (log-sum-exp).
 */
export function bgnbdLogLikelihood(
  params: BgNbdParameters,
  x: number,
  tx: number,
  T: number,
): { value: number; gradient: [number, number, number, number] } {
  return bgnbdLogLikelihoodWith(bgnbdFrequencyTerms(params, x), params, Math.log(params.alpha), x, tx, T);
}

/**
 * ln f(m̄ | x) of one customer's mean spend m̄ over x repeat purchases under Gamma-Gamma, and its gradient with
 * respect to (p, q, γ): m̄·x is a sum of x Gamma(p, ν) values, Gamma(px, ν), and ν ~ Gamma(q, γ).
 */
export function gammaGammaLogLikelihood(
  params: GammaGammaParameters,
  x: number,
  monetary: number,
): { value: number; gradient: [number, number, number] } {
  const { p, q, gamma } = params;
  const px = p * x;
  const lg = Math.log(gamma + monetary * x);
  const value =
    logGamma(px + q) -
    logGamma(px) -
    logGamma(q) +
    q * Math.log(gamma) +
    (px - 1) * Math.log(monetary) +
    px * Math.log(x) -
    (px + q) * lg;
  const psiPQ = digamma(px + q);
  const dp = x * (psiPQ - digamma(px) + Math.log(monetary) + Math.log(x) - lg);
  const dq = psiPQ - digamma(q) + Math.log(gamma) - lg;
  const dgamma = q / gamma - (px + q) / (gamma + monetary * x);
  return { value, gradient: [dp, dq, dgamma] };
}

/** What a fit returns; `parameters` and `standardErrors` are null when it did not converge. */
export interface FitResult {
  readonly converged: boolean;
  /** Parameters in the model's order (BG/NBD r, α, a, b; Gamma-Gamma p, q, γ); null unless converged. */
  readonly parameters: readonly number[] | null;
  readonly standardErrors: readonly number[] | null;
  /** Total log-likelihood at the best point found (also when not converged, for the diagnostic). */
  readonly logLikelihood: number | null;
  /** Customers the fit used. */
  readonly customers: number;
  /** BFGS iterations of the best start. */
  readonly iterations: number;
  /** '' when converged; otherwise what went wrong, with the numbers. */
  readonly diagnostic: string;
}

/** A fit not attempted: too few customers to fit on, as `diagnostic` says. */
function notAttempted(customers: number, diagnostic: string): FitResult {
  return {
    converged: false,
    parameters: null,
    standardErrors: null,
    logLikelihood: null,
    customers,
    iterations: 0,
    diagnostic,
  };
}

/** Limits of the fit, documented in docs/lifetime-value.md. */
export const FIT_LIMITS = {
  /** Fewer customers with repeat purchases than this and no fit is attempted. */
  minRepeatBuyers: 20,
  /** Each scaled parameter (α and γ divided by a data scale) is kept within [1e-4, 1e4] … */
  logBound: Math.log(1e4),
  /** … and one within this distance of a bound (in ln) is a parameter that ran to its bound. */
  boundTolerance: 0.01,
  /** Converged when the largest |∂ mean ln L / ∂ ln θ| is below this. */
  gradientTolerance: 1e-6,
  maxIterations: 500,
  /** Two starts whose optima differ by more than this in mean ln L are reported (several local optima). */
  startsAgreement: 1e-6,
} as const;

/** Mean log-likelihood per customer and its gradient, in the optimiser's (log, scaled) coordinates. */
type Objective = (z: readonly number[]) => { value: number; gradient: number[] };

interface Optimum {
  z: number[];
  value: number;
  gradient: number[];
  iterations: number;
  converged: boolean;
  reason: string;
}

function maxAbs(v: readonly number[]): number {
  return v.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
}

function clampBox(z: readonly number[]): number[] {
  return z.map((v) => Math.min(FIT_LIMITS.logBound, Math.max(-FIT_LIMITS.logBound, v)));
}

/** Maximises f by BFGS with an Armijo backtracking line search, inside the box |z_i| ≤ logBound. */
function bfgsMaximise(f: Objective, start: readonly number[]): Optimum {
  const n = start.length;
  let z = clampBox(start);
  let cur = f(z);
  if (!Number.isFinite(cur.value) || cur.gradient.some((g) => !Number.isFinite(g))) {
    return {
      z,
      ...cur,
      iterations: 0,
      converged: false,
      reason: "the likelihood is not finite at the start",
    };
  }
  // H approximates the inverse of the Hessian of −f.
  let H: number[][] = Array.from({ length: n }, (_, i) =>
    Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)),
  );
  for (let it = 1; it <= FIT_LIMITS.maxIterations; it++) {
    if (maxAbs(cur.gradient) < FIT_LIMITS.gradientTolerance) {
      return { z, ...cur, iterations: it - 1, converged: true, reason: "" };
    }
    // Ascent direction d = H·g.
    let d = H.map((row) => row.reduce((s, h, j) => s + h * (cur.gradient[j] as number), 0));
    let slope = d.reduce((s, di, i) => s + di * (cur.gradient[i] as number), 0);
    if (!(slope > 0)) {
      H = H.map((row, i) => row.map((_, j) => (i === j ? 1 : 0)));
      d = [...cur.gradient];
      slope = d.reduce((s, di) => s + di * di, 0);
    }
    // Keep the step within ±2 in ln θ (a factor e² per iteration at most).
    const big = maxAbs(d);
    if (big > 2) {
      d = d.map((v) => (v * 2) / big);
      slope = (slope * 2) / big;
    }
    let step = 1;
    let next: { value: number; gradient: number[] } | undefined;
    let zNext: number[] = z;
    for (let k = 0; k < 60; k++) {
      zNext = clampBox(z.map((v, i) => v + step * (d[i] as number)));
      const trial = f(zNext);
      if (Number.isFinite(trial.value) && trial.value >= cur.value + 1e-4 * step * slope) {
        next = trial;
        break;
      }
      step /= 2;
    }
    if (next === undefined) {
      // No ascent along d: converged as far as double precision allows, or stuck.
      const ok = maxAbs(cur.gradient) < 1e-4;
      return {
        z,
        ...cur,
        iterations: it,
        converged: ok,
        reason: ok
          ? ""
          : `the line search failed with largest gradient ${maxAbs(cur.gradient).toExponential(2)}`,
      };
    }
    const s = zNext.map((v, i) => v - (z[i] as number));
    const y = cur.gradient.map((g, i) => g - (next.gradient[i] as number)); // gradient of −f
    const sy = s.reduce((acc, si, i) => acc + si * (y[i] as number), 0);
    if (sy > 1e-12) {
      const Hy = H.map((row) => row.reduce((acc, h, j) => acc + h * (y[j] as number), 0));
      const yHy = y.reduce((acc, yi, i) => acc + yi * (Hy[i] as number), 0);
      H = H.map((row, i) =>
        row.map(
          (h, j) =>
            h +
            ((sy + yHy) * (s[i] as number) * (s[j] as number)) / (sy * sy) -
            ((Hy[i] as number) * (s[j] as number) + (s[i] as number) * (Hy[j] as number)) / sy,
        ),
      );
    }
    z = zNext;
    cur = next;
    const pinned = z.findIndex(
      (v, i) =>
        FIT_LIMITS.logBound - Math.abs(v) < FIT_LIMITS.boundTolerance &&
        Math.sign(v) * (cur.gradient[i] as number) > 0,
    );
    if (pinned >= 0) return { z, ...cur, iterations: it, converged: false, reason: "bound" };
  }
  return {
    z,
    ...cur,
    iterations: FIT_LIMITS.maxIterations,
    converged: false,
    reason: `no convergence in ${FIT_LIMITS.maxIterations} iterations (largest gradient ${maxAbs(cur.gradient).toExponential(2)})`,
  };
}

/** Cholesky of a symmetric matrix; null when it is not positive definite. */
function cholesky(A: readonly (readonly number[])[]): number[][] | null {
  const n = A.length;
  const L = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = (A[i] as number[])[j] as number;
      for (let k = 0; k < j; k++) s -= ((L[i] as number[])[k] as number) * ((L[j] as number[])[k] as number);
      if (i === j) {
        if (!(s > 0)) return null;
        (L[i] as number[])[i] = Math.sqrt(s);
      } else {
        (L[i] as number[])[j] = s / ((L[j] as number[])[j] as number);
      }
    }
  }
  return L;
}

/** Inverse of a symmetric positive definite matrix from its Cholesky factor. */
function inverseFromCholesky(L: readonly (readonly number[])[]): number[][] {
  const n = L.length;
  const inv = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let col = 0; col < n; col++) {
    const e = Array.from({ length: n }, (_, i) => (i === col ? 1 : 0));
    const y = new Array<number>(n).fill(0);
    for (let i = 0; i < n; i++) {
      let s = e[i] as number;
      for (let k = 0; k < i; k++) s -= ((L[i] as number[])[k] as number) * (y[k] as number);
      y[i] = s / ((L[i] as number[])[i] as number);
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = y[i] as number;
      for (let k = i + 1; k < n; k++)
        s -= ((L[k] as number[])[i] as number) * ((inv[k] as number[])[col] as number);
      (inv[i] as number[])[col] = s / ((L[i] as number[])[i] as number);
    }
  }
  return inv;
}

interface ModelSpec {
  readonly names: readonly string[];
  /** Data scale per parameter: the optimiser works on ln(θ_i / scale_i). */
  readonly scales: readonly number[];
  readonly starts: readonly (readonly number[])[];
  /** Customers behind the objective (its value is a mean per customer). */
  readonly customers: number;
  /** Mean ln L per customer at natural parameters θ, and its gradient with respect to θ. */
  meanLogLikelihood(theta: readonly number[]): { value: number; gradient: number[] };
}

function fmt(v: number): string {
  return Number.isFinite(v) ? Number(v.toPrecision(4)).toString() : String(v);
}

function fitModel(spec: ModelSpec): FitResult {
  const toTheta = (z: readonly number[]) => z.map((v, i) => Math.exp(v) * (spec.scales[i] as number));
  const objective: Objective = (z) => {
    const theta = toTheta(z);
    const { value, gradient } = spec.meanLogLikelihood(theta);
    return { value, gradient: gradient.map((g, i) => g * (theta[i] as number)) };
  };
  const optima = spec.starts.map((s) =>
    bfgsMaximise(
      objective,
      s.map((v, i) => Math.log(v / (spec.scales[i] as number))),
    ),
  );
  const ranked = [...optima].sort(
    (u, v) =>
      (Number.isFinite(v.value) ? v.value : -Infinity) - (Number.isFinite(u.value) ? u.value : -Infinity),
  );
  const best = ranked[0] as Optimum;
  const theta = toTheta(best.z);
  const logLikelihood = Number.isFinite(best.value) ? best.value * spec.customers : null;
  const named = spec.names.map((n, i) => `${n} = ${fmt(theta[i] as number)}`).join(", ");
  const fail = (diagnostic: string): FitResult => ({
    converged: false,
    parameters: null,
    standardErrors: null,
    logLikelihood,
    customers: spec.customers,
    iterations: best.iterations,
    diagnostic,
  });
  const atBound = best.z.findIndex((v) => FIT_LIMITS.logBound - Math.abs(v) < FIT_LIMITS.boundTolerance);
  if (atBound >= 0) {
    return fail(
      `${spec.names[atBound]} ran to the bound of its search range (${named}): the data do not identify it (see docs/lifetime-value.md).`,
    );
  }
  if (!best.converged) return fail(`The fit did not converge: ${best.reason}; last point ${named}.`);
  const convergedOthers = optima.filter((o) => o.converged && o !== best);
  const disagreeing = convergedOthers.filter((o) => best.value - o.value > FIT_LIMITS.startsAgreement);
  // Observed information in log space: −Hessian of the total ln L by central differences of the analytic gradient.
  const n = best.z.length;
  const h = 1e-4;
  const hess: number[][] = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let j = 0; j < n; j++) {
    const plus = objective(best.z.map((v, i) => (i === j ? v + h : v))).gradient;
    const minus = objective(best.z.map((v, i) => (i === j ? v - h : v))).gradient;
    for (let i = 0; i < n; i++) {
      (hess[i] as number[])[j] = ((((plus[i] as number) - (minus[i] as number)) / (2 * h)) *
        spec.customers) as number;
    }
  }
  const info = hess.map((row, i) =>
    row.map((_, j) => -(((hess[i] as number[])[j] as number) + ((hess[j] as number[])[i] as number)) / 2),
  );
  const L = cholesky(info);
  if (L === null) {
    return fail(
      `The Hessian of the log-likelihood at the optimum (${named}) is singular or not negative definite: the parameters are not identified by these data, so they have no standard errors.`,
    );
  }
  const cov = inverseFromCholesky(L);
  const diag = cov.map((row, i) => row[i] as number);
  const maxDiag = Math.max(...info.map((row, i) => row[i] as number));
  const minPivot = Math.min(...L.map((row, i) => row[i] as number)) ** 2;
  if (minPivot / maxDiag < 1e-12) {
    return fail(
      `The Hessian of the log-likelihood at the optimum (${named}) is nearly singular (pivot ratio ${fmt(minPivot / maxDiag)}): the parameters are not identified by these data.`,
    );
  }
  const standardErrors = theta.map((t, i) => t * Math.sqrt(diag[i] as number));
  const note =
    disagreeing.length > 0
      ? `${disagreeing.length} of ${optima.length} starts ended at a lower local optimum (mean ln L lower by up to ${fmt(Math.max(...disagreeing.map((o) => best.value - o.value)))}); the best is published.`
      : "";
  return {
    converged: true,
    parameters: theta,
    standardErrors,
    logLikelihood,
    customers: spec.customers,
    iterations: best.iterations,
    diagnostic: note,
  };
}

/** The histories of one x, columnar. */
interface BgNbdGroup {
  readonly x: number;
  readonly customers: Float64Array;
  total: number;
  /** Index of each row's T, and of its t_x, into the distinct values. */
  readonly age: Int32Array;
  readonly recency: Int32Array;
  /** Rows filled so far (while grouping). */
  filled: number;
}

/** The index of `value` among the distinct values met so far, adding it when new. */
function indexOf(seen: Map<number, number>, value: number): number {
  let k = seen.get(value);
  if (k === undefined) {
    k = seen.size;
    seen.set(value, k);
  }
  return k;
}

/** Rows per distinct x, for grouping into typed arrays. */
function countByFrequency(rows: readonly { readonly frequency: number }[]): Map<number, number> {
  const sizes = new Map<number, number>();
  for (const row of rows) sizes.set(row.frequency, (sizes.get(row.frequency) ?? 0) + 1);
  return sizes;
}

/** Fits BG/NBD to distinct (x, t_x, T) with counts. Parameters r, α (days), a, b. */
export function fitBgNbd(data: readonly RfmCount[]): FitResult {
  const customers = data.reduce((s, d) => s + d.customers, 0);
  const repeat = data.reduce((s, d) => s + (d.frequency > 0 ? d.customers : 0), 0);
  if (repeat < FIT_LIMITS.minRepeatBuyers) {
    return notAttempted(
      customers,
      `Too few repeat buyers to fit BG/NBD: ${repeat} of ${customers} customers have a repeat purchase day, at least ${FIT_LIMITS.minRepeatBuyers} are needed.`,
    );
  }
  const meanAge = data.reduce((s, d) => s + d.age * d.customers, 0) / customers;
  const scale = Math.max(meanAge, 1);
  // Columnar, grouped by x: ln(α + T) and ln(α + t_x) are then computed once per distinct T and t_x per
  // evaluation, and the loop over histories allocates nothing (docs/lifetime-value.md, Fitting).
  const groupOf = new Map<number, BgNbdGroup>();
  for (const [x, size] of countByFrequency(data)) {
    groupOf.set(x, {
      x,
      customers: new Float64Array(size),
      total: 0,
      age: new Int32Array(size),
      recency: new Int32Array(size),
      filled: 0,
    });
  }
  const ageIndex = new Map<number, number>();
  const recencyIndex = new Map<number, number>();
  for (const d of data) {
    const group = groupOf.get(d.frequency) as BgNbdGroup;
    const i = group.filled++;
    group.customers[i] = d.customers;
    group.total += d.customers;
    group.age[i] = indexOf(ageIndex, d.age);
    group.recency[i] = indexOf(recencyIndex, d.recency);
  }
  const groups = [...groupOf.values()];
  const ages = { distinct: Float64Array.from(ageIndex.keys()) };
  const recencies = { distinct: Float64Array.from(recencyIndex.keys()) };
  const lnAT = new Float64Array(ages.distinct.length);
  const invAT = new Float64Array(ages.distinct.length);
  const lnATx = new Float64Array(recencies.distinct.length);
  const invATx = new Float64Array(recencies.distinct.length);
  return fitModel({
    names: ["r", "alpha", "a", "b"],
    scales: [1, scale, 1, 1],
    starts: [
      [1, scale, 1, 1],
      [0.5, scale * 0.1, 0.5, 2],
      [2, scale * 0.5, 2, 5],
    ],
    customers,
    meanLogLikelihood(theta) {
      const [r, alpha, a, b] = theta as [number, number, number, number];
      const params = { r, alpha, a, b };
      const lnAlpha = Math.log(alpha);
      for (let k = 0; k < lnAT.length; k++) {
        const v = alpha + (ages.distinct[k] as number);
        lnAT[k] = Math.log(v);
        invAT[k] = 1 / v;
      }
      for (let k = 0; k < lnATx.length; k++) {
        const v = alpha + (recencies.distinct[k] as number);
        lnATx[k] = Math.log(v);
        invATx[k] = 1 / v;
      }
      // FHL 2005 eq. 6 per history, as bgnbdLogLikelihood: ln L = lgRX + r ln α + ln(e^u1 + δ(x > 0) e^u2),
      // u1 = lb1 − (r + x) ln(α + T), u2 = lb2 − (r + x) ln(α + t_x); the terms of x alone once per group.
      let value = 0;
      let g0 = 0;
      let g1 = 0;
      let g2 = 0;
      let g3 = 0;
      for (const group of groups) {
        const { x, customers: w, age, recency } = group;
        const k = bgnbdFrequencyTerms(params, x);
        const rx = r + x;
        // Σ w · (part common to every history of this x)
        value += group.total * (k.lgRX + r * lnAlpha);
        g0 += group.total * (k.psiRX + lnAlpha);
        g1 += group.total * (r / alpha);
        if (x === 0) {
          let sumLn = 0;
          let sumInv = 0;
          for (let i = 0; i < w.length; i++) {
            const wi = w[i] as number;
            const t = age[i] as number;
            sumLn += wi * (lnAT[t] as number);
            sumInv += wi * (invAT[t] as number);
          }
          value += group.total * k.lb1 - rx * sumLn;
          g0 -= sumLn;
          g1 -= rx * sumInv;
          g2 += group.total * k.du1da;
          g3 += group.total * k.du1db;
          continue;
        }
        let sumValue = 0;
        let sumG0 = 0;
        let sumG1 = 0;
        let sumW1 = 0;
        for (let i = 0; i < w.length; i++) {
          const wi = w[i] as number;
          const t = age[i] as number;
          const tx = recency[i] as number;
          const u1 = k.lb1 - rx * (lnAT[t] as number);
          const u2 = k.lb2 - rx * (lnATx[tx] as number);
          // log-sum-exp: e = e^(−|u1 − u2|) ≤ 1
          const first = u1 >= u2;
          const e = Math.exp(first ? u2 - u1 : u1 - u2);
          const w1 = (first ? 1 : e) / (1 + e);
          const w2 = 1 - w1;
          sumValue += wi * ((first ? u1 : u2) + Math.log1p(e));
          sumG0 -= wi * (w1 * (lnAT[t] as number) + w2 * (lnATx[tx] as number));
          sumG1 -= wi * (w1 * (invAT[t] as number) + w2 * (invATx[tx] as number));
          sumW1 += wi * w1;
        }
        const sumW2 = group.total - sumW1;
        value += sumValue;
        g0 += sumG0;
        g1 += rx * sumG1;
        g2 += sumW1 * k.du1da + sumW2 * k.du2da;
        g3 += sumW1 * k.du1db + sumW2 * k.du2db;
      }
      return {
        value: value / customers,
        gradient: [g0 / customers, g1 / customers, g2 / customers, g3 / customers],
      };
    },
  });
}

/** The repeat buyers of one x, columnar: weights and m̄·x, with Σ w and Σ w·ln m̄. */
interface SpendGroup {
  readonly x: number;
  readonly w: Float64Array;
  total: number;
  sumLnM: number;
  readonly spend: Float64Array;
  /** Rows filled so far (while grouping). */
  filled: number;
}

/** Fits Gamma-Gamma to customers with x > 0 and m̄ > 0 (others are dropped). Parameters p, q, γ (currency). */
export function fitGammaGamma(records: readonly SpendRecord[]): FitResult {
  const data = records.filter((d) => d.frequency > 0 && d.monetary > 0 && d.customers > 0);
  let customers = 0;
  let spendSum = 0;
  for (const d of data) {
    customers += d.customers;
    spendSum += d.monetary * d.customers;
  }
  if (customers < FIT_LIMITS.minRepeatBuyers) {
    return notAttempted(
      customers,
      `Too few repeat buyers with a positive mean repeat spend to fit Gamma-Gamma: ${customers}, at least ${FIT_LIMITS.minRepeatBuyers} are needed.`,
    );
  }
  const meanSpend = spendSum / customers;
  // Columnar, grouped by x, with what does not depend on the parameters computed once: Σ w, Σ w·ln m̄, and m̄·x.
  const groupOf = new Map<number, SpendGroup>();
  for (const [x, size] of countByFrequency(data)) {
    groupOf.set(x, {
      x,
      w: new Float64Array(size),
      total: 0,
      sumLnM: 0,
      spend: new Float64Array(size),
      filled: 0,
    });
  }
  for (const d of data) {
    const group = groupOf.get(d.frequency) as SpendGroup;
    const i = group.filled++;
    group.w[i] = d.customers;
    group.total += d.customers;
    group.sumLnM += d.customers * Math.log(d.monetary);
    group.spend[i] = d.monetary * d.frequency;
  }
  const groups = [...groupOf.values()];
  const result = fitModel({
    names: ["p", "q", "gamma"],
    scales: [1, 1, meanSpend],
    starts: [
      [1, 2, meanSpend],
      [5, 5, meanSpend * 0.5],
      [0.5, 1.5, meanSpend * 3],
    ],
    customers,
    meanLogLikelihood(theta) {
      const [p, q, gamma] = theta as [number, number, number];
      // ln f(m̄ | x) as gammaGammaLogLikelihood, summed: Σ w [base + (px − 1) ln m̄ − (px + q) ln(γ + m̄x)].
      let value = 0;
      const gradient = [0, 0, 0];
      const lnGamma = Math.log(gamma);
      const lgq = logGamma(q);
      const psiQ = digamma(q);
      for (const { x, w, total, sumLnM, spend } of groups) {
        const px = p * x;
        const lnX = Math.log(x);
        const base = logGamma(px + q) - logGamma(px) - lgq + q * lnGamma + px * lnX;
        const psiPQ = digamma(px + q);
        const psiPX = digamma(px);
        let sumLg = 0;
        let sumInv = 0;
        for (let i = 0; i < w.length; i++) {
          const wi = w[i] as number;
          const v = gamma + (spend[i] as number);
          sumLg += wi * Math.log(v);
          sumInv += wi / v;
        }
        value += total * base + (px - 1) * sumLnM - (px + q) * sumLg;
        gradient[0] = (gradient[0] as number) + x * (total * (psiPQ - psiPX + lnX) + sumLnM - sumLg);
        gradient[1] = (gradient[1] as number) + total * (psiPQ - psiQ + lnGamma) - sumLg;
        gradient[2] = (gradient[2] as number) + (total * q) / gamma - (px + q) * sumInv;
      }
      return { value: value / customers, gradient: gradient.map((g) => g / customers) };
    },
  });
  if (result.converged && result.parameters !== null && (result.parameters[1] as number) <= 1) {
    return {
      ...result,
      converged: false,
      parameters: null,
      standardErrors: null,
      diagnostic: `The fitted q = ${fmt(result.parameters[1] as number)} is at most 1, so the model's mean spend p·γ/(q − 1) does not exist: spend is too heavy-tailed for Gamma-Gamma.`,
    };
  }
  return result;
}

/**
 * P(alive | x, t_x, T) under BG/NBD: 1 / (1 + δ(x > 0) · a/(b + x − 1) · ((α + T)/(α + t_x))^(r + x)).
 * A customer without a repeat purchase is alive (BG/NBD has no drop-out right after the first purchase).
 */
export function bgnbdProbabilityAlive(params: BgNbdParameters, x: number, tx: number, T: number): number {
  if (x === 0) return 1;
  const { r, alpha, a, b } = params;
  const lnOdds = Math.log(a) - Math.log(b + x - 1) + (r + x) * (Math.log(alpha + T) - Math.log(alpha + tx));
  return 1 / (1 + Math.exp(lnOdds));
}

/**
 * E[Y(t) | x, t_x, T]: expected repeat purchases in (T, T + t] of a customer with history (x, t_x, T) under
 * BG/NBD (Fader, Hardie & Lee 2005, eq. 10): bgnbdExpectedPurchasesIfAlive(t, x, T) · P(alive | x, t_x, T).
 */
export function bgnbdConditionalExpectedPurchases(
  t: number,
  params: BgNbdParameters,
  x: number,
  tx: number,
  T: number,
): number {
  return bgnbdExpectedPurchasesIfAlive(t, params, x, T) * bgnbdProbabilityAlive(params, x, tx, T);
}

/**
 * E[Y(t) | x, T, alive at T]: the part of eq. 10 that does not depend on t_x, so it is computed once per
 * distinct (x, T). Through Euler's transformation the hypergeometric function keeps small parameters for any x
 * (docs/statistics.md, hyp2f1):
 *   (a + b + x − 1)/(a − 1) · [1 − w^(a−1) · 2F1(a + b − 1 − r, a − 1; a + b + x − 1; 1 − w)],
 *   w = (α + T)/(α + T + t).
 * a = 1 is a removable singularity, evaluated as the mean of a ± 1e-4.
 */
export function bgnbdExpectedPurchasesIfAlive(
  t: number,
  params: BgNbdParameters,
  x: number,
  T: number,
): number {
  if (t <= 0) return 0;
  const { r, alpha, a, b } = params;
  if (Math.abs(a - 1) < 1e-6) {
    return (
      (bgnbdExpectedPurchasesIfAlive(t, { ...params, a: 1 - 1e-4 }, x, T) +
        bgnbdExpectedPurchasesIfAlive(t, { ...params, a: 1 + 1e-4 }, x, T)) /
      2
    );
  }
  const w = (alpha + T) / (alpha + T + t);
  const c = a + b + x - 1;
  const core = 1 - w ** (a - 1) * hyp2f1(a + b - 1 - r, a - 1, c, 1 - w);
  return (c / (a - 1)) * core;
}

/**
 * Gamma-Gamma's conditional mean spend per purchase of a customer with x > 0 repeat purchases of mean m̄
 * (Fader & Hardie 2013, eq. 5): (p·γ + p·x·m̄) / (p·x + q − 1), a weighted mean of the population mean p·γ/(q − 1)
 * and m̄. With x = 0 it is the population mean.
 */
export function gammaGammaConditionalMean(params: GammaGammaParameters, x: number, monetary: number): number {
  const { p, q, gamma } = params;
  return (p * gamma + p * x * monetary) / (p * x + q - 1);
}
