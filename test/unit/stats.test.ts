/**
 * The statistics module against values computed independently of it. Three kinds of reference, each named
 * where it is used:
 *   - closed forms and published values (Γ(½) = √π, 2F1(1, 1; 2; z) = −ln(1 − z)/z, Φ⁻¹(0.975), …);
 *   - tables computed once with mpmath 1.3.0 at 40 digits (test/unit/stats-reference.ts names each call);
 *   - a few values from SciPy 1.17.1 (scipy.stats / scipy.special), a second double-precision
 *     implementation, compared at a looser tolerance because SciPy itself is off by up to 3e-14 in the far
 *     normal tail (norm.sf(20)).
 * Tail functions are held to a relative error of 2ε·(8 + |ln p|), p the true value: ε per unit of |ln p| is
 * the conditioning of a tail probability computed through an exponential (a p of 1e-300 is e^(−691), and
 * one rounding of the exponent moves it by 691·ε). docs/statistics.md reports the errors measured here.
 */
import { describe, expect, it } from "vitest";
import {
  betaInc,
  betaIncComplement,
  chiSquareCdf,
  chiSquareSf,
  digamma,
  EPSILON,
  erf,
  erfc,
  gamma,
  gammaIncLower,
  gammaIncUpper,
  hyp2f1,
  logBeta,
  logGamma,
  normalCdf,
  normalIsf,
  normalPdf,
  normalQuantile,
  normalSf,
  normalTwoSidedP,
  studentTCdf,
  studentTIsf,
  studentTPdf,
  studentTQuantile,
  studentTSf,
  studentTTwoSidedP,
} from "../../functions/core/stats/index.ts";
import {
  BETA_INC,
  CHI_SQUARE,
  DIGAMMA,
  ERF,
  GAMMA,
  GAMMA_INC,
  HYP2F1_BGNBD,
  HYP2F1_OTHER,
  LOG_BETA,
  LOG_GAMMA,
  LOG_GAMMA_NEGATIVE,
  NORMAL_QUANTILE,
  NORMAL_SF,
  STUDENT_T_ISF,
  STUDENT_T_SF,
} from "./stats-reference.ts";

const EULER_GAMMA = 0.5772156649015329; // Euler–Mascheroni constant, A&S 6.1.3

function relativeError(actual: number, expected: number): number {
  if (expected === 0) return Math.abs(actual);
  return Math.abs(actual - expected) / Math.abs(expected);
}

function expectRelative(actual: number, expected: number, tolerance: number, what = ""): void {
  const error = relativeError(actual, expected);
  expect(error, `${what} got ${actual}, expected ${expected}, relative error ${error}`).toBeLessThanOrEqual(
    tolerance,
  );
}

/** The tolerance for a tail probability p: 2ε·(8 + |ln p|). */
function tailTolerance(p: number): number {
  return 2 * EPSILON * (8 + Math.abs(Math.log(p)));
}

function row(values: readonly number[], count: number): number[] {
  if (values.length !== count)
    throw new Error(`reference row ${values} has ${values.length} values, not ${count}`);
  return [...values];
}

describe("logGamma, gamma, logBeta, digamma", () => {
  it("match closed forms and published values", () => {
    expect(logGamma(1)).toBe(0);
    expect(logGamma(2)).toBe(0);
    expectRelative(logGamma(0.5), Math.log(Math.sqrt(Math.PI)), 2 * EPSILON, "ln Γ(½) = ln √π");
    expectRelative(gamma(0.5), Math.sqrt(Math.PI), 2 * EPSILON, "Γ(½) = √π");
    expectRelative(
      gamma(1.5),
      Math.sqrt(Math.PI) / 2,
      2 * EPSILON,
      "Γ(3/2) = √π/2 (A&S Table 6.1: 0.88622 69255)",
    );
    expectRelative(gamma(5.5), (945 * Math.sqrt(Math.PI)) / 32, 4 * EPSILON, "Γ(11/2) = 945√π/32");
    // Γ(n) = (n − 1)!, exact in doubles up to 22!
    let factorial = 1;
    for (let n = 1; n <= 23; n++) {
      expect(gamma(n)).toBe(factorial);
      expectRelative(logGamma(n), Math.log(factorial), 2 * EPSILON, `ln Γ(${n})`);
      factorial *= n;
    }
    expectRelative(logBeta(0.5, 0.5), Math.log(Math.PI), 2 * EPSILON, "B(½, ½) = π");
    expectRelative(logBeta(3, 1), -Math.log(3), 2 * EPSILON, "B(a, 1) = 1/a");
    expectRelative(logBeta(1e6, 1), -Math.log(1e6), 2 * EPSILON, "B(a, 1) = 1/a, a large");
    expectRelative(digamma(1), -EULER_GAMMA, 4 * EPSILON, "ψ(1) = −γ (A&S 6.3.2)");
    expectRelative(digamma(0.5), -EULER_GAMMA - 2 * Math.LN2, 2 * EPSILON, "ψ(½) = −γ − 2 ln 2 (A&S 6.3.3)");
    expectRelative(digamma(11), 7381 / 2520 - EULER_GAMMA, 4 * EPSILON, "ψ(n) = H(n−1) − γ (A&S 6.3.2)");
  });

  it("ln Γ(x) for x > 0 has relative error below 1e-15, the zeros at 1 and 2 included (mpmath)", () => {
    for (const values of LOG_GAMMA) {
      const [x = 0, expected = 0] = row(values, 2);
      expectRelative(logGamma(x), expected, 1e-15, `ln Γ(${x})`);
    }
  });

  it("ln |Γ(x)| for x < 0 has absolute error below 1e-15 · max(1, |ln |Γ(x)||) (mpmath)", () => {
    for (const values of LOG_GAMMA_NEGATIVE) {
      const [x = 0, expected = 0] = row(values, 2);
      expect(Math.abs(logGamma(x) - expected)).toBeLessThanOrEqual(1e-15 * Math.max(1, Math.abs(expected)));
    }
  });

  it("Γ(x) has relative error below 4ε·(2 + |ln Γ(x)|), 1e-13 next to its overflow (mpmath)", () => {
    for (const values of GAMMA) {
      const [x = 0, expected = 0] = row(values, 2);
      expectRelative(
        gamma(x),
        expected,
        4 * EPSILON * (2 + Math.abs(Math.log(Math.abs(expected)))),
        `Γ(${x})`,
      );
    }
    expect(gamma(172)).toBe(Number.POSITIVE_INFINITY);
  });

  it("ln B(a, b) has relative error below 1e-15, with no cancellation for large arguments (mpmath)", () => {
    for (const values of LOG_BETA) {
      const [a = 0, b = 0, expected = 0] = row(values, 3);
      expectRelative(logBeta(a, b), expected, 1e-15, `ln B(${a}, ${b})`);
    }
  });

  it("ψ(x) has absolute error below 1e-15 · max(1, |ψ(x)|) (mpmath)", () => {
    for (const values of DIGAMMA) {
      const [x = 0, expected = 0] = row(values, 2);
      expect(Math.abs(digamma(x) - expected), `ψ(${x})`).toBeLessThanOrEqual(
        1e-15 * Math.max(1, Math.abs(expected)),
      );
    }
  });

  it("throw a RangeError at the poles and outside their domain", () => {
    for (const bad of [0, -1, -2, Number.NaN]) {
      expect(() => logGamma(bad)).toThrow(RangeError);
      expect(() => gamma(bad)).toThrow(RangeError);
      expect(() => digamma(bad)).toThrow(RangeError);
    }
    expect(() => logBeta(0, 1)).toThrow(RangeError);
    expect(() => logBeta(1, -0.5)).toThrow(RangeError);
  });
});

describe("hyp2f1", () => {
  /**
   * Relative error allowed: 2ε·(8 + κ). For z ≥ 0, κ = |ab|z/(|c|(1 − z)) is the condition number of 2F1
   * in z (to first order; rounding z by one ulp moves the value by κ·ε/2). For z < 0, κ = (|a| + |b|)·ln(1 − z),
   * the error the factor (1 − z)^−a of Pfaff's transformation may carry.
   */
  function hypTolerance(a: number, b: number, c: number, z: number): number {
    const kappa =
      z >= 0
        ? Math.abs(a * b * z) / (Math.abs(c) * Math.max(1 - z, 1e-300))
        : (Math.abs(a) + Math.abs(b)) * Math.log1p(-z);
    return 2 * EPSILON * (8 + kappa);
  }

  it("matches closed forms (A&S 15.1.3, 15.1.8, 15.1.6) on both sides of 0 and next to 1", () => {
    for (const z of [-1e3, -5, -0.5, 0.1, 0.5, 0.95, 0.999, 0.9999]) {
      // 2F1(1, 1; 2; z) = −ln(1 − z)/z: c − a − b = 0, the hardest case of the connection formula
      expectRelative(hyp2f1(1, 1, 2, z), -Math.log1p(-z) / z, hypTolerance(1, 1, 2, z), `2F1(1, 1; 2; ${z})`);
      // 2F1(a, b; b; z) = (1 − z)^−a
      expectRelative(hyp2f1(0.75, 2.4, 2.4, z), (1 - z) ** -0.75, 1e-14, `2F1(0.75, 2.4; 2.4; ${z})`);
    }
    for (const x of [0.1, 0.5, 0.9, 0.999]) {
      // 2F1(½, ½; 3/2; x²) = arcsin(x)/x
      expectRelative(hyp2f1(0.5, 0.5, 1.5, x * x), Math.asin(x) / x, 1e-14, `2F1(½, ½; 3/2; ${x}²)`);
    }
    expect(hyp2f1(2.5, 1.5, 3, 0)).toBe(1);
    expect(hyp2f1(0, 1.5, 3, 0.99)).toBe(1);
  });

  it("matches mpmath at the BG/NBD arguments 2F1(r + x, b + x; a + b + x − 1; t/(α + T + t))", () => {
    for (const values of HYP2F1_BGNBD) {
      const [a = 0, b = 0, c = 0, z = 0, expected = 0] = row(values, 5);
      expectRelative(hyp2f1(a, b, c, z), expected, hypTolerance(a, b, c, z), `2F1(${a}, ${b}; ${c}; ${z})`);
    }
  });

  it("matches mpmath near z = 1, with c − a − b near an integer, for z < 0 and for polynomials", () => {
    for (const values of HYP2F1_OTHER) {
      const [a = 0, b = 0, c = 0, z = 0, expected = 0] = row(values, 5);
      expectRelative(hyp2f1(a, b, c, z), expected, hypTolerance(a, b, c, z), `2F1(${a}, ${b}; ${c}; ${z})`);
    }
  });

  it("agrees with SciPy's scipy.special.hyp2f1(0.243, 2.426, 1.219, 0.9) = 6.531093108965213", () => {
    expectRelative(hyp2f1(0.243, 2.426, 1.219, 0.9), 6.531093108965213, 1e-13);
  });

  it("throws a RangeError outside its range rather than returning a wrong number", () => {
    expect(() => hyp2f1(1, 1, 2, 1)).toThrow(/z < 1/);
    expect(() => hyp2f1(1, 1, 2, 1.5)).toThrow(RangeError);
    expect(() => hyp2f1(1, 1, 0, 0.5)).toThrow(/pole/);
    expect(() => hyp2f1(1, 1, -3, 0.5)).toThrow(/pole/);
    expect(() => hyp2f1(Number.NaN, 1, 2, 0.5)).toThrow(RangeError);
    expect(() => hyp2f1(1, 1, 2, Number.NEGATIVE_INFINITY)).toThrow(RangeError);
    // c − a − b = 0 (no connection formula) and 1 − z = 1e-9: the series would need 4e10 terms
    expect(() => hyp2f1(1, 1, 2, 1 - 1e-9)).toThrow(/does not converge/);
    // the same for z → −∞: Pfaff's transformation maps z = −1e6 to 1 − 1e-6, again with c − a − b = 0
    expect(() => hyp2f1(1, 1, 2, -1e6)).toThrow(/does not converge/);
    // a polynomial of degree 60 whose terms reach 1e17 and cancel to about 1e-3: no digit would be right
    expect(() => hyp2f1(-60, 60.5, 1, 0.5)).toThrow(/relative error/);
  });

  it("returns Infinity, not an error, for a result beyond the largest double", () => {
    expect(hyp2f1(202, 206, 208, 0.99)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe("normal distribution", () => {
  it("matches mpmath's ncdf and npdf to 2e-15, far tails included (normalSf(7) ≈ 1.28e-12, not 0)", () => {
    for (const values of NORMAL_SF) {
      const [z = 0, sf = 0, pdf = 0] = row(values, 3);
      expectRelative(normalSf(z), sf, 2e-15, `Φ̄(${z})`);
      expectRelative(normalCdf(-z), sf, 2e-15, `Φ(${-z})`);
      expectRelative(normalPdf(z), pdf, 4 * EPSILON, `φ(${z})`);
      expect(Math.abs(normalCdf(z) + normalSf(z) - 1)).toBeLessThanOrEqual(2 * EPSILON);
    }
  });

  it("gives the tail values of the brief and of SciPy (scipy.stats.norm.sf)", () => {
    // mpmath mp.ncdf(-7), mp.ncdf(-10), mp.ncdf(-20); SciPy 1.17.1 gives 1.279812543885835e-12,
    // 7.61985302416047e-24 and 2.7536241186061556e-89 (its last is 2.8e-14 off mpmath).
    expectRelative(normalSf(7), 1.279812543885835e-12, 2 * EPSILON);
    expectRelative(normalSf(10), 7.619853024160525e-24, 4 * EPSILON);
    expectRelative(normalSf(20), 2.7536241186062337e-89, 4 * EPSILON);
    expectRelative(normalSf(20), 2.7536241186061556e-89, 1e-13, "SciPy");
    expectRelative(normalTwoSidedP(-7), 2 * 1.279812543885835e-12, 2 * EPSILON);
    // two-sided p of the 97.5% point is 5% (to the precision of the quantile below)
    expectRelative(normalTwoSidedP(1.959963984540054), 0.05, 4e-15);
    expect(normalTwoSidedP(0)).toBe(1);
    expect(normalSf(40)).toBe(0); // 3.7e-350 underflows
  });

  it("erf and erfc match mpmath to 3e-15 and A&S 7.1 (erf(1) = 0.8427007929497149)", () => {
    expectRelative(erf(1), 0.8427007929497149, 2 * EPSILON);
    for (const values of ERF) {
      const [x = 0, erfValue = 0, erfcValue = 0] = row(values, 3);
      expectRelative(erf(x), erfValue, 3e-15, `erf(${x})`);
      expectRelative(erf(-x), -erfValue, 3e-15, `erf(${-x})`);
      expectRelative(erfc(x), erfcValue, 3e-15, `erfc(${x})`);
      expectRelative(erfc(-x), 2 - erfcValue, 3e-15, `erfc(${-x})`);
    }
  });

  it("normalQuantile (AS 241) matches mpmath to 1e-15 down to p = 1e-300", () => {
    for (const values of NORMAL_QUANTILE) {
      const [p = 0, expected = 0] = row(values, 2);
      if (expected === 0) {
        expect(normalQuantile(p)).toBe(0);
        continue;
      }
      expectRelative(normalQuantile(p), expected, 1e-15, `Φ⁻¹(${p})`);
      expectRelative(normalIsf(p), -expected, 1e-15, `Φ̄⁻¹(${p})`);
    }
    // Published critical values (and scipy.stats.norm.ppf): 1.959963984540054, 2.5758293035489004
    expectRelative(normalQuantile(0.975), 1.959963984540054, 2 * EPSILON);
    expectRelative(normalQuantile(0.995), 2.5758293035489004, 2 * EPSILON);
    expect(normalQuantile(0)).toBe(Number.NEGATIVE_INFINITY);
    expect(normalIsf(0)).toBe(Number.POSITIVE_INFINITY);
  });

  it("normalIsf inverts normalSf where 1 − q would round to 1", () => {
    for (const q of [1e-300, 1e-200, 1e-50, 1e-17, 1e-9, 0.01, 0.3]) {
      // the quantile's own rounding moves the tail by a factor z² (its elasticity)
      const z = normalIsf(q);
      expectRelative(normalSf(z), q, tailTolerance(q) + 4 * EPSILON * z * z, `Φ̄(Φ̄⁻¹(${q}))`);
    }
  });

  it("throws a RangeError outside its range", () => {
    expect(() => normalQuantile(1.5)).toThrow(RangeError);
    expect(() => normalQuantile(-0.1)).toThrow(RangeError);
    expect(() => normalIsf(Number.NaN)).toThrow(RangeError);
    expect(() => normalSf(Number.NaN)).toThrow(RangeError);
    expect(() => erfc(Number.NaN)).toThrow(RangeError);
  });
});

describe("Student's t distribution", () => {
  it("matches closed forms for 1 and 2 degrees of freedom", () => {
    for (const t of [0.5, 3, 1e3, 1e8]) {
      // ν = 1 (Cauchy): P(T > t) = atan(1/t)/π
      expectRelative(studentTSf(t, 1), Math.atan(1 / t) / Math.PI, 1e-14, `ν = 1, t = ${t}`);
      // ν = 2: P(T > t) = (1 − t/√(2 + t²))/2 = 1/(√(2 + t²)(√(2 + t²) + t))
      const s = Math.sqrt(2 + t * t);
      expectRelative(studentTSf(t, 2), 1 / (s * (s + t)), 1e-14, `ν = 2, t = ${t}`);
    }
    expect(studentTSf(0, 7.3)).toBe(0.5);
    expectRelative(studentTPdf(0, 1), 1 / Math.PI, 2 * EPSILON, "Cauchy density at 0");
  });

  it("matches mpmath's incomplete beta far into the tails (ν = 3 to t = 1e6, ν = 30 to t = 100)", () => {
    for (const values of STUDENT_T_SF) {
      const [t = 0, df = 0, expected = 0] = row(values, 3);
      const tolerance = tailTolerance(expected);
      expectRelative(studentTSf(t, df), expected, tolerance, `P(T > ${t}), ν = ${df}`);
      expectRelative(studentTCdf(-t, df), expected, tolerance, `P(T < ${-t}), ν = ${df}`);
      if (t > 0) expectRelative(studentTTwoSidedP(-t, df), 2 * expected, tolerance, `two-sided, ν = ${df}`);
    }
  });

  it("keeps the tail where t² overflows and x = ν/(ν + t²) underflows", () => {
    // mpmath: mp.betainc(df/2, 1/2, 0, df/(df+t^2), regularized=True)/2 at (t, ν) = (1e200, 0.5), (1e160, 1)
    expectRelative(studentTSf(1e200, 0.5), 3.207009754142229e-101, tailTolerance(3.2e-101));
    expectRelative(studentTSf(1e160, 1), 3.1830988618379067e-161, tailTolerance(3.2e-161));
    expectRelative(studentTSf(studentTIsf(1e-100, 0.5), 0.5), 1e-100, 1e-13);
    // the quantile itself is beyond the largest double (about 1e600)
    expect(studentTIsf(1e-300, 0.5)).toBe(Number.POSITIVE_INFINITY);
  });

  it("agrees with SciPy (scipy.stats.t.sf) at Welch-style fractional degrees of freedom", () => {
    expectRelative(studentTSf(2.5, 12.7), 0.013481476759559472, 1e-14); // t.sf(2.5, 12.7); mpmath agrees
    expectRelative(studentTSf(10, 3), 0.0010641995292070751, 1e-14); // t.sf(10, 3)
    expectRelative(studentTSf(10, 30), 2.287625704114809e-11, 1e-13); // t.sf(10, 30)
  });

  it("quantiles match mpmath's root of the survival function to 2e-14, and the printed t-tables", () => {
    for (const values of STUDENT_T_ISF) {
      const [q = 0, df = 0, expected = 0] = row(values, 3);
      expectRelative(studentTIsf(q, df), expected, 2e-14, `t with P(T > t) = ${q}, ν = ${df}`);
      expectRelative(studentTQuantile(q, df), -expected, 2e-14, `t with P(T ≤ t) = ${q}, ν = ${df}`);
    }
    // Fisher & Yates' tables give 2.042, 3.182, 63.657; full digits from scipy.stats.t.ppf (SciPy 1.17.1).
    expectRelative(studentTQuantile(0.975, 30), 2.0422724563012378, 1e-14);
    expectRelative(studentTQuantile(0.975, 3), 3.1824463052837078, 1e-14);
    expectRelative(studentTQuantile(0.995, 1), 63.656741162871526, 1e-14);
    expect(studentTQuantile(0.5, 4)).toBe(0);
  });

  it("approaches the normal as ν grows, and is the normal at ν = Infinity", () => {
    expectRelative(studentTSf(3, Number.POSITIVE_INFINITY), normalSf(3), 0);
    expectRelative(studentTIsf(1e-6, Number.POSITIVE_INFINITY), normalIsf(1e-6), 0);
    expectRelative(studentTSf(3, 1e12), normalSf(3), 1e-10);
  });

  it("throws a RangeError outside its range", () => {
    expect(() => studentTSf(1, 0)).toThrow(RangeError);
    expect(() => studentTSf(1, -2)).toThrow(RangeError);
    expect(() => studentTSf(Number.NaN, 3)).toThrow(RangeError);
    expect(() => studentTQuantile(1.2, 3)).toThrow(RangeError);
    expect(() => studentTIsf(0.1, Number.NaN)).toThrow(RangeError);
  });
});

describe("chi-square and the incomplete gamma and beta functions", () => {
  it("chi-square matches closed forms: ν = 2 is e^(−x/2), ν = 1 is erfc(√(x/2))", () => {
    for (const x of [0.01, 1, 30, 500, 1400]) {
      expectRelative(chiSquareSf(x, 2), Math.exp(-x / 2), 4 * EPSILON, `ν = 2, x = ${x}`);
    }
    for (const x of [0.5, 2, 8, 200]) {
      expectRelative(chiSquareSf(2 * x * x, 1), erfc(x), 1e-14, `ν = 1, x = ${2 * x * x}`);
    }
  });

  it("chi-square survival and CDF match mpmath's gammainc, large statistics included", () => {
    for (const values of CHI_SQUARE) {
      const [x = 0, df = 0, sf = 0, cdf = 0] = row(values, 4);
      expectRelative(chiSquareSf(x, df), sf, tailTolerance(sf), `P(χ² > ${x}), ν = ${df}`);
      expectRelative(chiSquareCdf(x, df), cdf, tailTolerance(cdf), `P(χ² ≤ ${x}), ν = ${df}`);
    }
    // SciPy: scipy.stats.chi2.sf(100, 3) = 1.5541594313896026e-21, chi2.sf(1000, 10) = 1.870290720915977e-208
    expectRelative(chiSquareSf(100, 3), 1.5541594313896026e-21, 1e-14);
    expectRelative(chiSquareSf(1000, 10), 1.870290720915977e-208, 1e-13);
  });

  it("P(a, x) and Q(a, x) match mpmath, each side with relative accuracy (small a included)", () => {
    for (const values of GAMMA_INC) {
      const [a = 0, x = 0, lower = 0, upper = 0] = row(values, 4);
      expectRelative(gammaIncLower(a, x), lower, tailTolerance(lower), `P(${a}, ${x})`);
      expectRelative(gammaIncUpper(a, x), upper, tailTolerance(upper), `Q(${a}, ${x})`);
    }
    // closed forms: Q(1, x) = e^(−x); Q(½, x) = erfc(√x)
    expectRelative(gammaIncUpper(1, 50), Math.exp(-50), 4 * EPSILON);
    expectRelative(gammaIncUpper(0.5, 64), erfc(8), 1e-14);
  });

  it("I_x(a, b) and its complement match mpmath and closed forms", () => {
    for (const values of BETA_INC) {
      const [a = 0, b = 0, x = 0, lower = 0, upper = 0] = row(values, 5);
      expectRelative(betaInc(a, b, x), lower, tailTolerance(lower), `I_${x}(${a}, ${b})`);
      expectRelative(betaIncComplement(a, b, x), upper, tailTolerance(upper), `1 − I_${x}(${a}, ${b})`);
    }
    // I_x(a, 1) = x^a; I_x(1, b) = 1 − (1 − x)^b; I_x(½, ½) = (2/π) arcsin √x
    expectRelative(betaInc(3.5, 1, 0.2), 0.2 ** 3.5, 1e-14);
    expectRelative(betaIncComplement(1, 4, 0.3), 0.7 ** 4, 1e-14);
    expectRelative(betaInc(0.5, 0.5, 0.25), (2 / Math.PI) * Math.asin(0.5), 1e-14);
  });

  it("throw a RangeError outside their range", () => {
    expect(() => chiSquareSf(1, 0)).toThrow(RangeError);
    expect(() => chiSquareSf(1, Number.POSITIVE_INFINITY)).toThrow(RangeError);
    expect(() => gammaIncUpper(0, 1)).toThrow(RangeError);
    expect(() => gammaIncLower(1, -1)).toThrow(RangeError);
    expect(() => betaInc(1, 1, 1.5)).toThrow(RangeError);
    expect(() => betaInc(0, 1, 0.5)).toThrow(RangeError);
    expect(() => betaIncComplement(1, -1, 0.5)).toThrow(RangeError);
  });
});

describe("the module's boundary", () => {
  it("imports nothing from the rest of the project, only its own files", async () => {
    const { readdir, readFile } = await import("node:fs/promises");
    const dir = new URL("../../functions/core/stats/", import.meta.url);
    for (const file of await readdir(dir)) {
      const source = await readFile(new URL(file, dir), "utf8");
      for (const match of source.matchAll(/from\s+"([^"]+)"/g)) {
        expect(match[1], `${file} imports ${match[1]}`).toMatch(/^(\.\/[\w-]+\.ts|node:.+)$/);
      }
    }
  });
});
