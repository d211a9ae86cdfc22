/**
 * Closed-form expectations of the lifetime-value models: BG/NBD (Fader, Hardie & Lee 2005, "Counting your
 * customers the easy way") and Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV"). The generator uses
 * them as the ground truth of the data it simulates; the CLV stages can use them as known answers.
 */
import { hyp2f1 } from "./hypergeometric.ts";

export interface BgNbdParameters {
  /** Shape of the Gamma distribution of purchase rates λ. */
  readonly r: number;
  /** Rate of that Gamma distribution, in days (E[λ] = r / alpha purchases per day). */
  readonly alpha: number;
  /** Beta(a, b) distribution of the drop-out probability p after each repeat purchase. */
  readonly a: number;
  readonly b: number;
}

export interface GammaGammaParameters {
  /** Shape of the Gamma distribution of one order's value given the customer's ν. */
  readonly p: number;
  /** Shape of the Gamma distribution of ν across customers. */
  readonly q: number;
  /** Rate of the Gamma distribution of ν across customers (in currency units). */
  readonly gamma: number;
}

/**
 * E[X(t)]: expected number of repeat purchases in (0, t] after a first purchase at 0, under BG/NBD (Fader,
 * Hardie & Lee 2005, eq. 9):
 *   (a + b − 1)/(a − 1) · [1 − (α/(α + t))^r · 2F1(r, b; a + b − 1; t/(α + t))].
 * The expectation is finite for every a > 0; for a < 1 the same expression is its analytic continuation (both
 * sides are analytic in a), and a = 1 is a removable singularity, evaluated as the mean of its neighbours.
 * t is in the same unit as alpha (days).
 */
export function bgnbdExpectedRepeatPurchases(t: number, params: BgNbdParameters): number {
  const { r, alpha, a, b } = params;
  if (t <= 0) return 0;
  if (Math.abs(a - 1) < 1e-6) {
    return (
      (bgnbdExpectedRepeatPurchases(t, { ...params, a: 1 - 1e-4 }) +
        bgnbdExpectedRepeatPurchases(t, { ...params, a: 1 + 1e-4 })) /
      2
    );
  }
  const z = t / (alpha + t);
  return ((a + b - 1) / (a - 1)) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, z));
}

/** E[X(t) | λ, p] for one customer: (1 − e^(−λ·p·t)) / p (the BG/NBD story with fixed λ and p). */
export function bgnbdConditionalRepeatPurchases(t: number, lambda: number, p: number): number {
  return p > 0 ? -Math.expm1(-lambda * p * t) / p : lambda * t;
}

/**
 * E[order value] under Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV"): z | ν ~ Gamma(shape p, rate ν)
 * has mean p/ν, and ν ~ Gamma(shape q, rate γ) gives E[1/ν] = γ/(q − 1); so E[z] = p·γ/(q − 1), finite for q > 1.
 */
export function gammaGammaExpectedValue(params: GammaGammaParameters): number {
  return (params.p * params.gamma) / (params.q - 1);
}

/** Var[z] under Gamma-Gamma, finite for q > 2: p(p+1)γ²/((q−1)(q−2)) − (pγ/(q−1))². */
export function gammaGammaValueVariance(params: GammaGammaParameters): number {
  const { p, q, gamma } = params;
  const mean = gammaGammaExpectedValue(params);
  return (p * (p + 1) * gamma * gamma) / ((q - 1) * (q - 2)) - mean * mean;
}
