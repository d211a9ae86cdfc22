/**
 * Coverage of campaign_results' 95 % intervals on the data generator's own campaigns (issue 15), at the
 * statistics level: the generator simulates each customer (functions/core/generate/customer.ts) without writing
 * files, its CampaignTallies record the true effect in the sample exactly as ground_truth.json does (both
 * potential outcomes of every contact), and the per-arm sums that int_campaign_arms would compute from the files
 * go through the same functions campaign_results calls: the Wald interval of the response uplift, the Welch
 * interval of the revenue uplift and its CUPED-adjusted twin (pre-period spend: the net amount of the 365 days
 * before contact).
 *
 * 200 seeds × 3 campaigns (one per template: win-back, cross-sell, loyalty), 1,500 customers over 2024, 30 %
 * held out. For each campaign template and interval, the number of seeds whose interval covers the truth is
 * Binomial(200, ≥ 0.95) if the method is right: standard deviation √(200 · 0.95 · 0.05) = 3.08 seeds, so the
 * band is ≥ 0.95 − 3 · 0.0154 = 0.904 (181 of 200 seeds). Measured figures: docs/campaigns.md (coverage).
 */
import { describe, expect, it } from "vitest";
import { planCampaigns } from "../../functions/core/generate/campaigns.ts";
import { buildCatalogue } from "../../functions/core/generate/catalogue.ts";
import { type SimulationContext, simulateCustomer } from "../../functions/core/generate/customer.ts";
import { dayStrings } from "../../functions/core/generate/format.ts";
import { DEFAULT_OPTIONS, type GenerateOptions, periodOf } from "../../functions/core/generate/options.ts";
import { STREAMS, stream } from "../../functions/core/generate/random.ts";
import { CampaignTallies } from "../../functions/core/generate/truth.ts";
import {
  compareMeans,
  compareMeansCuped,
  compareProportions,
  momentsFromSums,
} from "../../functions/core/stats/index.ts";

const SEEDS = 200;
const CUSTOMERS = 1500;
const CAMPAIGNS = 3;
const BAND = 0.95 - 3 * Math.sqrt((0.95 * 0.05) / SEEDS);
const PRE_PERIOD_DAYS = 365;

interface Arm {
  n: bigint;
  responders: number;
  revenue: bigint;
  revenueSq: bigint;
  pre: bigint;
  preSq: bigint;
  preRevenue: bigint;
}

const emptyArm = (): Arm => ({
  n: 0n,
  responders: 0,
  revenue: 0n,
  revenueSq: 0n,
  pre: 0n,
  preSq: 0n,
  preRevenue: 0n,
});

interface Covered {
  response: boolean;
  revenue: boolean;
  cuped: boolean;
  reduction: number | null;
}

/** One generated business: per campaign, whether each interval covers the sample's true effect. */
function simulate(seed: number): Covered[] {
  const options: GenerateOptions = {
    ...DEFAULT_OPTIONS,
    out: "",
    customers: CUSTOMERS,
    from: "2023-07-01",
    to: "2024-12-31",
    seed,
    campaigns: CAMPAIGNS,
    controlShare: 0.3,
  };
  const { fromEpochDay, days } = periodOf(options);
  const dayText = dayStrings(fromEpochDay, days);
  const ctx: SimulationContext = {
    options,
    days,
    catalogue: buildCatalogue(stream(seed, STREAMS.catalogue, 0)),
    campaigns: planCampaigns(CAMPAIGNS, days, (day) => dayText[day] ?? ""),
  };
  const tallies = new CampaignTallies(CAMPAIGNS);
  const arms = ctx.campaigns.map(() => ({ treatment: emptyArm(), control: emptyArm() }));
  for (let index = 0; index < CUSTOMERS; index++) {
    const customer = simulateCustomer(ctx, index);
    for (const contact of customer.contacts) {
      tallies.add(contact);
      const plan = ctx.campaigns[contact.campaign];
      const arm = arms[contact.campaign]?.[contact.group];
      if (plan === undefined || arm === undefined) throw new Error("unknown campaign");
      // What the files show: the treated outcome for the treated, the untreated one for the held out.
      const treated = contact.group === "treatment";
      const revenue = BigInt(treated ? contact.r1 : contact.r0);
      let pre = 0n;
      for (const event of customer.events) {
        if (event.day < plan.startDay && event.day >= plan.startDay - PRE_PERIOD_DAYS) {
          for (const line of event.lines) pre += BigInt(line.amountCents);
        }
      }
      arm.n += 1n;
      arm.responders += Number(treated ? contact.y1 : contact.y0);
      arm.revenue += revenue;
      arm.revenueSq += revenue * revenue;
      arm.pre += pre;
      arm.preSq += pre * pre;
      arm.preRevenue += pre * revenue;
    }
  }
  return ctx.campaigns.map((plan, k) => {
    const { treatment: t, control: c } = arms[k] as { treatment: Arm; control: Arm };
    const truth = tallies.results(plan).all.true_effect;
    const response = compareProportions(t.responders, Number(t.n), c.responders, Number(c.n));
    const revenue = compareMeans(
      momentsFromSums(t.n, t.revenue, t.revenueSq, 2),
      momentsFromSums(c.n, c.revenue, c.revenueSq, 2),
    );
    const sums = (a: Arm) => ({
      n: a.n,
      sumY: a.revenue,
      sumYSq: a.revenueSq,
      sumX: a.pre,
      sumXSq: a.preSq,
      sumXY: a.preRevenue,
    });
    const cuped = compareMeansCuped(sums(t), sums(c), 2);
    const covers = (low: number | null, high: number | null, value: number | null) =>
      low !== null && high !== null && value !== null && low <= value && value <= high;
    return {
      response: covers(response.ciLow, response.ciHigh, truth.response_uplift),
      revenue: covers(revenue.ciLow, revenue.ciHigh, truth.revenue_uplift_per_contact),
      cuped: covers(cuped.ciLow, cuped.ciHigh, truth.revenue_uplift_per_contact),
      reduction: cuped.varianceReduction,
    };
  });
}

describe("coverage of the 95 % intervals on the generator's campaigns", () => {
  it(`covers the sample's true effect in at least ${BAND.toFixed(3)} of ${SEEDS} seeds, per campaign`, () => {
    const counts = Array.from({ length: CAMPAIGNS }, () => ({ response: 0, revenue: 0, cuped: 0 }));
    const reductions: number[] = [];
    for (let seed = 1; seed <= SEEDS; seed++) {
      simulate(seed).forEach((r, k) => {
        const count = counts[k] as (typeof counts)[number];
        count.response += Number(r.response);
        count.revenue += Number(r.revenue);
        count.cuped += Number(r.cuped);
        if (r.reduction !== null) reductions.push(r.reduction);
      });
    }
    reductions.sort((a, b) => a - b);
    const median = reductions[Math.floor(reductions.length / 2)] ?? Number.NaN;
    console.info(
      `coverage over ${SEEDS} seeds, per campaign (response, revenue, CUPED revenue): ${counts
        .map((c) => `${c.response / SEEDS}, ${c.revenue / SEEDS}, ${c.cuped / SEEDS}`)
        .join("; ")}; median CUPED variance reduction ${median.toFixed(3)}`,
    );
    for (const count of counts) {
      expect(count.response / SEEDS).toBeGreaterThanOrEqual(BAND);
      expect(count.revenue / SEEDS).toBeGreaterThanOrEqual(BAND);
      expect(count.cuped / SEEDS).toBeGreaterThanOrEqual(BAND);
    }
    // Simulating 300,000 customers takes about 8 s here.
  }, 120_000);
});
