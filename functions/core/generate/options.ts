import { notADate } from "../dates.ts";
import { CrmlakeError } from "../errors.ts";
import { epochDayOf, FILE_LAYOUTS, type FileLayout } from "./format.ts";
import type { BgNbdParameters, GammaGammaParameters } from "./theory.ts";

/** Errors of the generator: options that do not validate, an output directory it must not overwrite. */
export class GenerateError extends CrmlakeError {
  override name = "GenerateError";
}

/**
 * Everything that determines the generated data. Same options (seed included) → byte-identical files.
 * Time parameters are in **days**: the BG/NBD purchase rate λ is per day (λ ~ Gamma(shape r, rate alpha), so
 * E[λ] = r/alpha purchases per day and alpha is measured in days), delays are in days.
 */
export interface GenerateOptions {
  /** Output directory; created if missing, must be empty unless `force` (see `generate`). */
  readonly out: string;
  readonly customers: number;
  /** First day of the simulated period, `YYYY-MM-DD` (UTC). */
  readonly from: string;
  /** Last day of the simulated period (inclusive), `YYYY-MM-DD`. */
  readonly to: string;
  /** Non-negative integer below 2^53. */
  readonly seed: number;
  readonly campaigns: number;
  /** Probability, per clean transaction line, that a faulty line is injected after it; 0 = clean output. */
  readonly dirty: number;
  readonly files: FileLayout;
  /** Gzip the transaction files (`.csv.gz`). */
  readonly gzip: boolean;
  /** Replace an earlier generator output in `out` (recognised by its ground_truth.json). */
  readonly force: boolean;
  readonly bgnbd: BgNbdParameters;
  readonly gammaGamma: GammaGammaParameters;
  /** Probability that a customer never buys (a prospect for ever). */
  readonly neverBuyProbability: number;
  /** Mean delay from sign-up to the first purchase (exponential), in days. */
  readonly firstPurchaseDelayDays: number;
  /** Share of customers who buy mostly on discount. */
  readonly priceSensitiveShare: number;
  /** Probability that a customer selected for a campaign is held out as control. */
  readonly controlShare: number;
}

export const DEFAULT_OPTIONS: Omit<GenerateOptions, "out"> = {
  customers: 2000,
  from: "2023-01-01",
  to: "2024-12-31",
  seed: 1,
  campaigns: 3,
  dirty: 0,
  files: "monthly",
  gzip: false,
  force: false,
  // CDNOW-like shape (Fader, Hardie & Lee 2005 fitted r = 0.24, alpha = 4.4 weeks ≈ 31 days, a = 0.79,
  // b = 2.43), with a more active base: E[λ] = 0.75/30 = 0.025 purchases per day, about 9 a year while alive.
  bgnbd: { r: 0.75, alpha: 30, a: 0.8, b: 2.4 },
  // E[order value] = p·γ/(q − 1) = 6·15/3 = 30 currency units.
  gammaGamma: { p: 6, q: 4, gamma: 15 },
  neverBuyProbability: 0.2,
  firstPurchaseDelayDays: 14,
  priceSensitiveShare: 0.25,
  controlShare: 0.2,
};

/** Inclusive bounds of each numeric option, with the reason shown to the user when it is outside. */
const LIMITS = {
  customers: { min: 1, max: 100_000_000, integer: true },
  seed: { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true },
  campaigns: { min: 0, max: 1000, integer: true },
  dirty: { min: 0, max: 0.5, integer: false },
  neverBuyProbability: { min: 0, max: 1, integer: false },
  firstPurchaseDelayDays: { min: 0.001, max: 100_000, integer: false },
  priceSensitiveShare: { min: 0, max: 1, integer: false },
  controlShare: { min: 0, max: 1, integer: false },
} as const;

function checkRange(
  name: string,
  value: number,
  limit: { min: number; max: number; integer: boolean },
): string[] {
  if (!Number.isFinite(value) || (limit.integer && !Number.isInteger(value))) {
    return [`${name} must be ${limit.integer ? "an integer" : "a number"}, got ${value}`];
  }
  if (value < limit.min || value > limit.max)
    return [`${name} must be in [${limit.min}, ${limit.max}], got ${value}`];
  return [];
}

function checkPositive(name: string, value: number, min = 0): string[] {
  return Number.isFinite(value) && value > min ? [] : [`${name} must be a number > ${min}, got ${value}`];
}

/** Every problem with the options, as readable sentences; empty when they are valid. */
export function validateOptions(options: GenerateOptions): string[] {
  const problems: string[] = [];
  for (const [key, limit] of Object.entries(LIMITS)) {
    problems.push(...checkRange(key, options[key as keyof typeof LIMITS], limit));
  }
  const from = epochDayOf(options.from);
  const to = epochDayOf(options.to);
  if (from === undefined) problems.push(`from ${notADate(options.from)}`);
  if (to === undefined) problems.push(`to ${notADate(options.to)}`);
  if (from !== undefined && to !== undefined) {
    if (to < from) problems.push(`to (${options.to}) must not be before from (${options.from})`);
    if (to - from + 1 > 36_600) problems.push("the period must not exceed 100 years");
    if (from < 0) problems.push("from must not be before 1970-01-01");
  }
  if (!(FILE_LAYOUTS as readonly string[]).includes(options.files)) {
    problems.push(`files must be one of ${FILE_LAYOUTS.join(", ")}, got "${options.files}"`);
  }
  const { r, alpha, a, b } = options.bgnbd;
  problems.push(...checkPositive("bgnbd r", r), ...checkPositive("bgnbd alpha", alpha));
  problems.push(...checkPositive("bgnbd a", a), ...checkPositive("bgnbd b", b));
  const { p, q, gamma } = options.gammaGamma;
  problems.push(...checkPositive("gamma-gamma p", p), ...checkPositive("gamma-gamma gamma", gamma));
  // q > 1 keeps E[order value] = p·γ/(q − 1) finite.
  problems.push(...checkPositive("gamma-gamma q", q, 1));
  return problems;
}

/** Days since 1970-01-01 of `from`, and the number of days in the period; options must be valid. */
export function periodOf(options: GenerateOptions): { fromEpochDay: number; days: number } {
  const from = epochDayOf(options.from);
  const to = epochDayOf(options.to);
  if (from === undefined || to === undefined) {
    throw new GenerateError("bad_option", `Invalid period ${options.from} .. ${options.to}`);
  }
  return { fromEpochDay: from, days: to - from + 1 };
}
