/**
 * Statistics for lifetime value and campaign evaluation: special functions, Gauss's hypergeometric
 * function, incomplete gamma and beta functions, the normal, Student t and chi-square distributions, and the
 * closed forms of BG/NBD and Gamma-Gamma. Pure TypeScript on node builtins only; it imports nothing from the
 * rest of the project (the data generator imports it, never the reverse). docs/statistics.md describes the
 * methods, the accuracy measured by test/unit/stats.test.ts, and the range of each function.
 */
export {
  type BgNbdParameters,
  bgnbdConditionalRepeatPurchases,
  bgnbdExpectedRepeatPurchases,
  type GammaGammaParameters,
  gammaGammaExpectedValue,
  gammaGammaValueVariance,
} from "./clv.ts";
export {
  chiSquareCdf,
  chiSquareSf,
  erf,
  erfc,
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
} from "./distributions.ts";
export {
  type CovariateSums,
  type CupedComparison,
  compareMeans,
  compareMeansCuped,
  compareProportions,
  type MeanComparison,
  type Moments,
  minimumDetectableEffect,
  momentsFromSums,
  momentsOf,
  normalCritical,
  type ProportionComparison,
  type SampleRatioTest,
  type SampleSize,
  sampleRatioTest,
  sampleSizeForUplift,
  standardizedMeanDifference,
} from "./experiments.ts";
export { HYP2F1_MAX_RELATIVE_ERROR, hyp2f1 } from "./hypergeometric.ts";
export {
  type BetaIncPair,
  betaInc,
  betaIncComplement,
  betaIncPair,
  gammaIncLower,
  gammaIncUpper,
  log1pmx,
} from "./incomplete.ts";
export {
  cosPi,
  digamma,
  EPSILON,
  gamma,
  gammaSign,
  logBeta,
  logGamma,
  sinPi,
  stirlingCorrection,
} from "./special.ts";
