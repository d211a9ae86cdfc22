/**
 * Seeded pseudo-random numbers and the samplers the simulation needs. Never Math.random: the generator must
 * write byte-identical files for the same seed.
 *
 * The generator is xoshiro128** (Blackman & Vigna), 32-bit arithmetic only, so it is fast in JavaScript
 * (Math.imul, >>> 0) and the same on every platform. Each simulated customer gets its own independent stream,
 * keyed by (seed, purpose, index) through a 128-bit hash: a customer's data does not depend on the order in
 * which customers are simulated, and changing one purpose (e.g. faults) leaves the others untouched.
 */

import { logGamma } from "../stats/special.ts";

// The samplers' numerics live in functions/core/stats/; re-exported here for callers of the generator.
export { logGamma };

const TWO_POW_MINUS_32 = 2 ** -32;

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** MurmurHash3's 32-bit finaliser: a bijection with full avalanche. */
function fmix32(h: number): number {
  let x = h;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** MurmurHash3-style hash of 32-bit words with a salt; used to derive the 4 state words of a stream. */
function hashWords(words: readonly number[], salt: number): number {
  let h = salt >>> 0;
  for (const word of words) {
    let k = Math.imul(word >>> 0, 0xcc9e2d51);
    k = rotl(k, 15);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = rotl(h, 13);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  return fmix32(h ^ words.length);
}

const STATE_SALTS = [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344] as const;

/** A uniform random source. `next()` is in the open interval (0, 1), so log(u) and 1/u are always finite. */
export interface Random {
  next(): number;
  /** Raw 32 random bits as an unsigned integer. */
  nextUint32(): number;
}

/** xoshiro128**: period 2^128 − 1, passes BigCrush; 4 words of state. */
export class Xoshiro128 implements Random {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(state: readonly [number, number, number, number]) {
    [this.s0, this.s1, this.s2, this.s3] = state.map((w) => w | 0) as [number, number, number, number];
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // the all-zero state is a fixed point
  }

  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  next(): number {
    return (this.nextUint32() + 0.5) * TWO_POW_MINUS_32;
  }
}

/** Purposes of the independent streams. Never renumber one: it would change every generated data set. */
export const STREAMS = {
  catalogue: 1,
  customer: 2,
  campaign: 3,
  faults: 4,
  faultFiles: 5,
} as const;

/**
 * An independent stream for one purpose and index. The seed is a non-negative integer below 2^53; it enters as
 * two 32-bit words so that seeds differing only in high bits still give different streams.
 */
export function stream(seed: number, purpose: number, index: number): Random {
  const words = [
    seed % 2 ** 32,
    Math.floor(seed / 2 ** 32),
    purpose,
    index % 2 ** 32,
    Math.floor(index / 2 ** 32),
  ];
  const state = STATE_SALTS.map((salt) => hashWords(words, salt)) as [number, number, number, number];
  return new Xoshiro128(state);
}

/** Integer in [0, n). */
export function uniformInt(rng: Random, n: number): number {
  return Math.floor(rng.next() * n);
}

/** Exponential with the given rate (mean 1/rate); Infinity when the rate is 0. */
export function exponential(rng: Random, rate: number): number {
  return -Math.log(rng.next()) / rate;
}

/** Standard normal by Box–Muller (one of the pair is discarded: simpler state, same determinism). */
export function standardNormal(rng: Random): number {
  return Math.sqrt(-2 * Math.log(rng.next())) * Math.cos(2 * Math.PI * rng.next());
}

/**
 * Gamma(shape, rate): density ∝ x^(shape−1) e^(−rate·x), mean shape/rate. Marsaglia & Tsang (2000) for
 * shape ≥ 1; for shape < 1, Gamma(shape + 1) · U^(1/shape) (their boosting trick).
 */
export function gamma(rng: Random, shape: number, rate: number): number {
  if (shape < 1) return (gamma(rng, shape + 1, 1) * rng.next() ** (1 / shape)) / rate;
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = standardNormal(rng);
    const base = 1 + c * x;
    if (base <= 0) continue;
    const v = base * base * base;
    const u = rng.next();
    if (u < 1 - 0.0331 * x * x * x * x || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) {
      return (d * v) / rate;
    }
  }
}

/** Beta(a, b) as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b). */
export function beta(rng: Random, a: number, b: number): number {
  const x = gamma(rng, a, 1);
  const y = gamma(rng, b, 1);
  return x / (x + y);
}

/**
 * Poisson(mean). Knuth's product of uniforms for small means (cost ∝ mean), Hörmann's transformed rejection
 * (PTRS, 1993) above 30.
 */
export function poisson(rng: Random, mean: number): number {
  if (mean <= 0) return 0;
  if (mean < 30) {
    const limit = Math.exp(-mean);
    let k = 0;
    let product = rng.next();
    while (product > limit) {
      k++;
      product *= rng.next();
    }
    return k;
  }
  const sqrtMean = Math.sqrt(mean);
  const logMean = Math.log(mean);
  const b = 0.931 + 2.53 * sqrtMean;
  const a = -0.059 + 0.02483 * b;
  const invAlpha = 1.1239 + 1.1328 / (b - 3.4);
  const vr = 0.9277 - 3.6224 / (b - 2);
  for (;;) {
    const u = rng.next() - 0.5;
    const v = rng.next();
    const us = 0.5 - Math.abs(u);
    const k = Math.floor(((2 * a) / us + b) * u + mean + 0.43);
    if (us >= 0.07 && v <= vr) return k;
    if (k < 0 || (us < 0.013 && v > us)) continue;
    if (
      Math.log(v) + Math.log(invAlpha) - Math.log(a / (us * us) + b) <=
      -mean + k * logMean - logGamma(k + 1)
    ) {
      return k;
    }
  }
}

/** Cumulative weights for `categorical`; the weights need not sum to 1. */
export function cumulative(weights: readonly number[]): Float64Array {
  const out = new Float64Array(weights.length);
  let sum = 0;
  weights.forEach((w, i) => {
    sum += w;
    out[i] = sum;
  });
  return out;
}

/** Index drawn with probability proportional to its weight (given as cumulative weights). */
export function categorical(rng: Random, cumulativeWeights: Float64Array): number {
  const total = cumulativeWeights[cumulativeWeights.length - 1] ?? 0;
  const target = rng.next() * total;
  for (let i = 0; i < cumulativeWeights.length; i++) {
    if (target < (cumulativeWeights[i] ?? 0)) return i;
  }
  return cumulativeWeights.length - 1;
}
