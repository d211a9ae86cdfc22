/**
 * The generator's customers (functions/core/generate/customer.ts) as the lifetime-value backtest sees them, without
 * writing files: purchase days as int_purchase_occasions counts them (the UTC day of each purchase order; the
 * default calendar.time_zone is Etc/UTC), the calibration history (x, t_x, T) as of an as-of, the purchase days in
 * the holdout, and what the generator knows: whether the customer was still alive at the as-of, and λ and p.
 * test/e2e/clv-backtest.test.ts checks that the warehouse counts the same purchase days from the files.
 */
import { buildCatalogue } from "../../functions/core/generate/catalogue.ts";
import { type SimulationContext, simulateCustomer } from "../../functions/core/generate/customer.ts";
import { epochDayOf } from "../../functions/core/generate/format.ts";
import { DEFAULT_OPTIONS, type GenerateOptions, periodOf } from "../../functions/core/generate/options.ts";
import { STREAMS, stream } from "../../functions/core/generate/random.ts";

export interface GeneratedBuyer {
  readonly frequency: number;
  readonly recency: number;
  readonly age: number;
  /** Purchase days in (as_of, as_of + horizon]. */
  readonly holdout: number;
  /** Purchase days in the holdout, by week (index 0 = days 1–7 after the as-of). */
  readonly holdoutWeeks: readonly number[];
  /** Not dropped out by the end of the as-of day (BG/NBD drop-out follows a repeat purchase). */
  readonly alive: boolean;
  readonly lambda: number;
  readonly p: number;
  /**
   * The same customer in the generator's own continuous time, every order a purchase (the BG/NBD story exactly):
   * repeat orders by the end of the as-of day, the times of the last and of the end of the as-of day since the
   * first order, in days, and the orders in the holdout.
   */
  readonly exact: {
    readonly frequency: number;
    readonly recency: number;
    readonly age: number;
    readonly holdout: number;
  };
}

/**
 * The buyers (a purchase day on or before asOf) of one generated business: `customers` simulated over the
 * generator's default period and parameters, without campaigns. Returns are simulated but never reach the models
 * (a refund has no purchase line, so it is not a purchase occasion, and spend counts purchase lines only).
 */
export function generatedBuyers(
  seed: number,
  customers: number,
  asOf: string,
  horizonDays: number,
  overrides: Partial<GenerateOptions> = {},
): GeneratedBuyer[] {
  const options: GenerateOptions = {
    ...DEFAULT_OPTIONS,
    out: "",
    customers,
    seed,
    campaigns: 0,
    ...overrides,
  };
  const { fromEpochDay, days } = periodOf(options);
  const ctx: SimulationContext = {
    options,
    days,
    catalogue: buildCatalogue(stream(seed, STREAMS.catalogue, 0)),
    campaigns: [],
  };
  const asOfDay = (epochDayOf(asOf) as number) - fromEpochDay;
  const buyers: GeneratedBuyer[] = [];
  for (let index = 0; index < customers; index++) {
    const customer = simulateCustomer(ctx, index);
    const purchaseDays = [
      ...new Set(customer.events.filter((e) => e.kind === "purchase").map((e) => e.day)),
    ].sort((a, b) => a - b);
    const calibration = purchaseDays.filter((d) => d <= asOfDay);
    const first = calibration[0];
    const last = calibration.at(-1);
    if (first === undefined || last === undefined) continue;
    const weeks = new Array<number>(Math.ceil(horizonDays / 7)).fill(0);
    let holdout = 0;
    for (const d of purchaseDays) {
      if (d <= asOfDay || d > asOfDay + horizonDays) continue;
      holdout++;
      const w = Math.floor((d - asOfDay - 1) / 7);
      weeks[w] = (weeks[w] as number) + 1;
    }
    const { dropoutT, lambda, p } = customer.latent;
    const orders = customer.events.filter((e) => e.kind === "purchase").map((e) => e.t);
    const before = orders.filter((t) => t < asOfDay + 1);
    const t0 = before[0] as number;
    buyers.push({
      frequency: calibration.length - 1,
      recency: last - first,
      age: asOfDay - first,
      holdout,
      holdoutWeeks: weeks,
      alive: dropoutT === undefined || dropoutT >= asOfDay + 1,
      lambda,
      p,
      exact: {
        frequency: before.length - 1,
        recency: (before.at(-1) as number) - t0,
        age: asOfDay + 1 - t0,
        holdout: orders.filter((t) => t >= asOfDay + 1 && t < asOfDay + 1 + horizonDays).length,
      },
    });
  }
  return buyers;
}
