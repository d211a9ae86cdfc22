/**
 * Distribution functions for campaign evaluation: the standard normal (z-tests, Wald intervals), Student's t
 * (Welch's test) and chi-square (the sample-ratio test). Every survival function is computed directly, never
 * as 1 − CDF, so p-values far in the tail keep their relative accuracy (normalSf(7) ≈ 1.28e-12, not 0 or a
 * rounding residue).
 */
import { betaIncPair, gammaIncLower, gammaIncUpper, upperGammaFraction } from "./incomplete.ts";
import { EPSILON, logBeta } from "./special.ts";

const SQRT_PI = 1.772453850905516;
const SQRT_TWO_PI = 2.5066282746310007;
/** erf's series serves below this x, erfc's continued fraction above (x² = 1.5, as Numerical Recipes). */
const ERFC_FRACTION_FROM = Math.sqrt(1.5);
/** The same switch for the normal distribution: z²/2 = 1.5. */
const NORMAL_FRACTION_FROM = Math.sqrt(3);

/**
 * exp(−x²/2·k) without the rounding error of x² (which costs x²·ε relative, 4e-14 at x = 20): x is split
 * into xh = ⌊16x⌋/16, whose square is exact, and the rest, as W. J. Cody does in his erfc (1969).
 * k = 2 gives exp(−x²), k = 1 exp(−x²/2).
 */
function expNegSquare(x: number, half: boolean): number {
  const ax = Math.abs(x);
  const hi = Math.trunc(ax * 16) / 16;
  const lo = ax - hi; // exact
  const scale = half ? 0.5 : 1;
  return Math.exp(-hi * hi * scale) * Math.exp(-lo * (ax + hi) * scale);
}

/**
 * Σ_{n≥0} x^(2n+1)/(2n+1)!! (all terms positive): Φ(x) − ½ = φ(x)·S(x), and erf(x) = (2/√π) e^(−x²) S'(x)
 * with the variant whose ratio is 2x².
 */
function oddSeries(x: number, ratio: number): number {
  let term = x;
  let sum = x;
  for (let n = 1; n < 1000; n++) {
    term *= ratio / (2 * n + 1);
    sum += term;
    if (Math.abs(term) <= 0.25 * EPSILON * Math.abs(sum)) break;
  }
  return sum;
}

/**
 * h(X) of Legendre's continued fraction for the incomplete gamma function with a = ½:
 * Q(½, X) = e^(−X) √X h(X) / √π (incomplete.ts upperGammaFraction; converges for X > 0, fast for X ≥ 1).
 */
function halfGammaFraction(xx: number): number {
  return upperGammaFraction(0.5, xx);
}

function requireNumber(name: string, value: number): void {
  if (Number.isNaN(value)) throw new RangeError(`${name} of NaN`);
}

// ---------------------------------------------------------------------------------------------------------
// Error function

/**
 * erfc(x) for x ≥ ERFC_FRACTION_FROM: e^(−x²) · x · h(x²) / √π. Below x² = 1.5 the continued fraction
 * converges slowly enough that its stopping rule (the last factor within ε of 1) stops early, so the series
 * takes over there.
 */
function erfcTail(x: number): number {
  if (x > 27.3) return 0; // erfc(27.3) ≈ 5e-326, below the smallest subnormal
  return (expNegSquare(x, false) * x * halfGammaFraction(x * x)) / SQRT_PI;
}

/**
 * erf(x) = (2/√π) ∫₀ˣ e^(−t²) dt: the series (2/√π) e^(−x²) Σ (2x²)^n x/(2n+1)!! (positive terms) below
 * x² = 1.5, 1 − erfc beyond.
 */
export function erf(x: number): number {
  requireNumber("erf", x);
  const ax = Math.abs(x);
  if (ax < ERFC_FRACTION_FROM) return (2 / SQRT_PI) * expNegSquare(ax, false) * oddSeries(x, 2 * x * x);
  const value = 1 - erfcTail(ax);
  return x < 0 ? -value : value;
}

/**
 * erfc(x) = 1 − erf(x), with relative accuracy for large x (the continued fraction from x² = 1.5 on; below,
 * 1 − erf loses at most a factor 12, erfc(√1.5) ≈ 0.084).
 */
export function erfc(x: number): number {
  requireNumber("erfc", x);
  if (x < ERFC_FRACTION_FROM) return 1 - erf(x);
  return erfcTail(x);
}

// ---------------------------------------------------------------------------------------------------------
// Standard normal

/** Standard normal density φ(z) = e^(−z²/2)/√(2π). */
export function normalPdf(z: number): number {
  requireNumber("normalPdf", z);
  if (!Number.isFinite(z)) return 0;
  return expNegSquare(z, true) / SQRT_TWO_PI;
}

/**
 * P(Z > z) for z ≥ 0: ½ − φ(z)·Σ z^(2n+1)/(2n+1)!! below z = √3 (where the tail is at least 0.042, so the
 * subtraction loses less than a factor 12), Legendre's continued fraction above (Mills ratio z·h(z²/2)/2).
 */
function normalUpperTail(z: number): number {
  if (z < NORMAL_FRACTION_FROM) return 0.5 - normalPdf(z) * oddSeries(z, z * z);
  if (z > 38.6) return 0; // Φ̄(38.6) ≈ 4e-327
  return (normalPdf(z) * z * halfGammaFraction(0.5 * z * z)) / 2;
}

/** Survival function of the standard normal, P(Z > z), with relative accuracy in the upper tail. */
export function normalSf(z: number): number {
  requireNumber("normalSf", z);
  return z >= 0 ? normalUpperTail(z) : 1 - normalUpperTail(-z);
}

/** CDF of the standard normal, P(Z ≤ z), with relative accuracy in the lower tail. */
export function normalCdf(z: number): number {
  requireNumber("normalCdf", z);
  return z <= 0 ? normalUpperTail(-z) : 1 - normalUpperTail(z);
}

/** Two-sided p-value of a z statistic, P(|Z| ≥ |z|) = 2·Φ̄(|z|). */
export function normalTwoSidedP(z: number): number {
  requireNumber("normalTwoSidedP", z);
  return Math.min(1, 2 * normalUpperTail(Math.abs(z)));
}

/**
 * Wichura's AS 241 (PPND16, Applied Statistics 37(3), 1988): rational approximations in q = p − ½ for the
 * centre and in r = √(−ln(min(p, 1 − p))) for the tails, about 1e-16 relative. The coefficients are the
 * published ones (checked against CPython's statistics.NormalDist.inv_cdf), written as the shortest literal
 * of the same double. `tail` is min(p, 1 − p),
 * passed separately so that an upper-tail probability need not go through 1 − q.
 */
function as241(q: number, tail: number): number {
  if (Math.abs(q) <= 0.425) {
    const r = 0.180625 - q * q;
    return (
      (q *
        (((((((2509.0809287301227 * r + 33430.57558358813) * r + 67265.7709270087) * r + 45921.95393154987) *
          r +
          13731.69376550946) *
          r +
          1971.5909503065513) *
          r +
          133.14166789178438) *
          r +
          3.3871328727963665)) /
      (((((((5226.495278852854 * r + 28729.085735721943) * r + 39307.89580009271) * r + 21213.794301586597) *
        r +
        5394.196021424751) *
        r +
        687.1870074920579) *
        r +
        42.31333070160091) *
        r +
        1)
    );
  }
  let r = Math.sqrt(-Math.log(tail));
  let x: number;
  if (r <= 5) {
    r -= 1.6;
    x =
      (((((((0.0007745450142783414 * r + 0.022723844989269184) * r + 0.2417807251774506) * r +
        1.2704582524523684) *
        r +
        3.6478483247632045) *
        r +
        5.769497221460691) *
        r +
        4.630337846156546) *
        r +
        1.4234371107496835) /
      (((((((1.0507500716444169e-9 * r + 0.0005475938084995345) * r + 0.015198666563616457) * r +
        0.14810397642748008) *
        r +
        0.6897673349851) *
        r +
        1.6763848301838038) *
        r +
        2.053191626637759) *
        r +
        1);
  } else {
    r -= 5;
    x =
      (((((((2.0103343992922881e-7 * r + 2.7115555687434876e-5) * r + 0.0012426609473880784) * r +
        0.026532189526576124) *
        r +
        0.29656057182850487) *
        r +
        1.7848265399172913) *
        r +
        5.463784911164114) *
        r +
        6.657904643501103) /
      (((((((2.0442631033899397e-15 * r + 1.421511758316446e-7) * r + 1.8463183175100548e-5) * r +
        0.0007868691311456133) *
        r +
        0.014875361290850615) *
        r +
        0.1369298809227358) *
        r +
        0.599832206555888) *
        r +
        1);
  }
  return q < 0 ? -x : x;
}

/** Quantile of the standard normal, Φ⁻¹(p) for 0 < p < 1 (±Infinity at 1 and 0), by AS 241. */
export function normalQuantile(p: number): number {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`normalQuantile: p must be in [0, 1], got ${p}`);
  if (p === 0) return Number.NEGATIVE_INFINITY;
  if (p === 1) return Number.POSITIVE_INFINITY;
  return as241(p - 0.5, Math.min(p, 1 - p));
}

/**
 * Inverse survival function of the standard normal: z with P(Z > z) = q. Use it rather than
 * normalQuantile(1 − q) for a small upper-tail q (1 − q rounds away everything below 1.1e-16).
 */
export function normalIsf(q: number): number {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`normalIsf: q must be in [0, 1], got ${q}`);
  if (q === 0) return Number.POSITIVE_INFINITY;
  if (q === 1) return Number.NEGATIVE_INFINITY;
  return as241(0.5 - q, Math.min(q, 1 - q));
}

// ---------------------------------------------------------------------------------------------------------
// Student's t

function checkDf(name: string, df: number): void {
  if (!(df > 0)) throw new RangeError(`${name}: degrees of freedom must be > 0, got ${df}`);
}

/**
 * I_x(ν/2, ½) and its complement for x = ν/(ν + t²): P(|T| > |t|) = I_x(ν/2, ½). x, 1 − x = t²/(ν + t²)
 * and ln x = −log1p(t²/ν) are all formed without cancellation; beyond t² ≈ 1e308 in logarithms.
 */
function tBetaPair(t: number, df: number): { lower: number; upper: number } {
  const t2 = t * t;
  if (Number.isFinite(t2) && Number.isFinite(df + t2)) {
    const s = df + t2;
    const x = df / s;
    const y = t2 / s;
    const logX = -Math.log1p(t2 / df);
    const logY = y > 0.5 ? Math.log1p(-x) : Math.log(y);
    return betaIncPair(df / 2, 0.5, x, y, logX, logY);
  }
  const logX = Math.log(df) - 2 * Math.log(Math.abs(t));
  const x = Math.exp(logX);
  return betaIncPair(df / 2, 0.5, x, 1 - x, logX, Math.log1p(-x));
}

/** P(T > t) for t ≥ 0. */
function tUpperTail(t: number, df: number): number {
  if (t === Number.POSITIVE_INFINITY) return 0;
  if (df === Number.POSITIVE_INFINITY) return normalUpperTail(t);
  return 0.5 * tBetaPair(t, df).lower;
}

/** Survival function of Student's t with df > 0 degrees of freedom (real df allowed; Infinity is the normal). */
export function studentTSf(t: number, df: number): number {
  requireNumber("studentTSf", t);
  checkDf("studentTSf", df);
  if (t >= 0) return tUpperTail(t, df);
  if (df === Number.POSITIVE_INFINITY) return 1 - normalUpperTail(-t);
  if (t === Number.NEGATIVE_INFINITY) return 1;
  return 0.5 + 0.5 * tBetaPair(t, df).upper;
}

/** CDF of Student's t, P(T ≤ t), with relative accuracy in the lower tail. */
export function studentTCdf(t: number, df: number): number {
  requireNumber("studentTCdf", t);
  return studentTSf(-t, df);
}

/** Two-sided p-value of a t statistic, P(|T| ≥ |t|) = I_(ν/(ν+t²))(ν/2, ½). */
export function studentTTwoSidedP(t: number, df: number): number {
  requireNumber("studentTTwoSidedP", t);
  checkDf("studentTTwoSidedP", df);
  const at = Math.abs(t);
  if (df === Number.POSITIVE_INFINITY) return normalTwoSidedP(at);
  if (at === Number.POSITIVE_INFINITY) return 0;
  return tBetaPair(at, df).lower;
}

/** Density of Student's t: (1 + t²/ν)^(−(ν+1)/2) / (√ν B(ν/2, ½)). */
export function studentTPdf(t: number, df: number): number {
  requireNumber("studentTPdf", t);
  checkDf("studentTPdf", df);
  if (df === Number.POSITIVE_INFINITY) return normalPdf(t);
  if (!Number.isFinite(t)) return 0;
  return Math.exp(-((df + 1) / 2) * Math.log1p((t * t) / df) - 0.5 * Math.log(df) - logBeta(df / 2, 0.5));
}

/**
 * t > 0 with P(T > t) = q for 0 < q < ½: closed forms for ν = 1 and 2; otherwise Newton's method on
 * ln P(T > t) − ln q, safeguarded by a bracket (geometric bisection when a step leaves it), started from the
 * better of the Cornish–Fisher expansion around the normal quantile (A&S 26.7.5) and the tail asymptote
 * P(T > t) ≈ ν^(ν/2−1) t^(−ν) / B(ν/2, ½).
 */
function tUpperQuantile(q: number, df: number): number {
  if (df === 1) return 1 / Math.tan(Math.PI * q);
  if (df === 2) return (1 - 2 * q) / Math.sqrt(2 * q * (1 - q));
  if (df === Number.POSITIVE_INFINITY) return normalIsf(q);
  const z = normalIsf(q);
  const z2 = z * z;
  const cornishFisher = z + (z * (z2 + 1)) / (4 * df) + (z * (3 + z2 * (16 + 5 * z2))) / (96 * df * df);
  const asymptote = Math.exp(((df / 2 - 1) * Math.log(df) - logBeta(df / 2, 0.5) - Math.log(q)) / df);
  const logQ = Math.log(q);
  const residual = (t: number): number => Math.log(tUpperTail(t, df)) - logQ;
  // Start from whichever guess fits better.
  let t = Math.abs(residual(cornishFisher)) <= Math.abs(residual(asymptote)) ? cornishFisher : asymptote;
  if (!(t > 0 && Number.isFinite(t))) t = Number.isFinite(asymptote) && asymptote > 0 ? asymptote : 1;
  let lo = 0; // P(T > lo) ≥ q
  let hi = Number.POSITIVE_INFINITY; // P(T > hi) < q
  for (let i = 0; i < 400; i++) {
    const sf = tUpperTail(t, df);
    const f = Math.log(sf) - logQ;
    if (f === 0) return t;
    if (f > 0) lo = t;
    else hi = t;
    // d/dt ln P(T > t) = −pdf/sf
    const step = (f * sf) / studentTPdf(t, df);
    let next = t + step;
    if (!(next > lo && next < hi) || !Number.isFinite(next)) {
      if (hi === Number.POSITIVE_INFINITY) next = t * 4;
      else if (lo > 0 && hi > 4 * lo) next = Math.sqrt(lo * hi);
      else next = (lo + hi) / 2;
    }
    if (!Number.isFinite(next)) return Number.POSITIVE_INFINITY; // the quantile is beyond 1.8e308
    if (Math.abs(next - t) <= 2 * EPSILON * t || hi - lo <= 2 * EPSILON * t) return next;
    t = next;
  }
  return t;
}

/** Quantile of Student's t with df > 0 degrees of freedom: t with P(T ≤ t) = p. */
export function studentTQuantile(p: number, df: number): number {
  checkDf("studentTQuantile", df);
  if (!(p >= 0 && p <= 1)) throw new RangeError(`studentTQuantile: p must be in [0, 1], got ${p}`);
  if (p === 0) return Number.NEGATIVE_INFINITY;
  if (p === 1) return Number.POSITIVE_INFINITY;
  if (p === 0.5) return 0;
  return p < 0.5 ? -tUpperQuantile(p, df) : tUpperQuantile(1 - p, df);
}

/** Inverse survival function of Student's t: t with P(T > t) = q (accurate for a small upper-tail q). */
export function studentTIsf(q: number, df: number): number {
  checkDf("studentTIsf", df);
  if (!(q >= 0 && q <= 1)) throw new RangeError(`studentTIsf: q must be in [0, 1], got ${q}`);
  if (q === 0) return Number.POSITIVE_INFINITY;
  if (q === 1) return Number.NEGATIVE_INFINITY;
  if (q === 0.5) return 0;
  return q < 0.5 ? tUpperQuantile(q, df) : -tUpperQuantile(1 - q, df);
}

// ---------------------------------------------------------------------------------------------------------
// Chi-square

function checkChiSquare(name: string, x: number, df: number): void {
  requireNumber(name, x);
  if (!(df > 0) || df === Number.POSITIVE_INFINITY) {
    throw new RangeError(`${name}: degrees of freedom must be finite and > 0, got ${df}`);
  }
}

/** Survival function of chi-square with df degrees of freedom, P(X > x) = Q(df/2, x/2). */
export function chiSquareSf(x: number, df: number): number {
  checkChiSquare("chiSquareSf", x, df);
  if (x <= 0) return 1;
  return gammaIncUpper(df / 2, x / 2);
}

/** CDF of chi-square with df degrees of freedom, P(X ≤ x) = P(df/2, x/2). */
export function chiSquareCdf(x: number, df: number): number {
  checkChiSquare("chiSquareCdf", x, df);
  if (x <= 0) return 0;
  return gammaIncLower(df / 2, x / 2);
}
