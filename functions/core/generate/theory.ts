/**
 * Closed-form expectations of the models the generator simulates. The tests compare the generated files with
 * these; the CLV stages can use them as known answers. The model closed forms (BG/NBD, Gamma-Gamma) and the
 * hypergeometric function they need live in functions/core/stats/ and are re-exported here; what is left is
 * specific to the generator's story.
 */
export {
  type BgNbdParameters,
  bgnbdConditionalRepeatPurchases,
  bgnbdExpectedRepeatPurchases,
  type GammaGammaParameters,
  gammaGammaExpectedValue,
  gammaGammaValueVariance,
} from "../stats/clv.ts";
export { hyp2f1 } from "../stats/hypergeometric.ts";

/**
 * Probability that a customer who signed up at day `signupDay` has no purchase before `periodDays`: either a
 * never-buyer, or a buyer whose first purchase (signup + Exp(mean delay)) falls after the period.
 */
export function prospectProbability(
  signupDay: number,
  periodDays: number,
  neverBuyProbability: number,
  firstPurchaseDelayMeanDays: number,
): number {
  const late = Math.exp(-(periodDays - signupDay) / firstPurchaseDelayMeanDays);
  return neverBuyProbability + (1 - neverBuyProbability) * late;
}
