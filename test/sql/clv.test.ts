/**
 * Lifetime value through the real runner: the summary models (int_clv_summary, int_clv_rfm_counts) against
 * histories worked out by hand, the stages (clv_model, clv_expectations) and customer_clv on a degenerate lake (no
 * repeat buyer: no parameters, a diagnostic, no failed run) and on simulated BG/NBD data (a fit, and customer_clv's
 * columns consistent with the published parameters and the closed forms).
 */
import { describe, expect, it } from "vitest";
import { beta, exponential, gamma, stream } from "../../functions/core/generate/random.ts";
import { bgnbdProbabilityAlive } from "../../functions/core/stats/clv-fit.ts";
import type { TransactionFixture } from "./helpers.ts";
import { makeLake, read, removeLake, run } from "./helpers.ts";

const AS_OF = "2024-03-01";

const HAND = {
  transactions: [
    // a: two orders on 2024-01-01 are one purchase day (15.00); repeat days 2024-01-11 (20.00) and 2024-02-10
    // (30.00, its refund the next day does not cancel it). x = 2, t_x = 40, T = 60, repeat spend 50.00, m̄ = 25.
    { order_id: "a1", customer_id: "a", ordered_at: "2024-01-01 09:00:00", amount: "10.00" },
    { order_id: "a2", customer_id: "a", ordered_at: "2024-01-01 17:00:00", amount: "5.00" },
    { order_id: "a3", customer_id: "a", ordered_at: "2024-01-11", amount: "20.00" },
    { order_id: "a4", customer_id: "a", ordered_at: "2024-02-10", amount: "30.00" },
    { order_id: "a5", customer_id: "a", ordered_at: "2024-02-11", amount: "-10.00" },
    // b: one purchase day: x = 0, t_x = 0, T = 29, no m̄.
    { order_id: "b1", customer_id: "b", ordered_at: "2024-02-01", amount: "12.00" },
    // c: only a refund, no purchase day. d: buys only after as_of.
    { order_id: "c1", customer_id: "c", ordered_at: "2024-01-05", amount: "-3.00" },
    { order_id: "d1", customer_id: "d", ordered_at: "2024-03-05", amount: "9.00" },
    // e: same history shape as b (x = 0, T = 29): shares b's row of int_clv_rfm_counts.
    { order_id: "e1", customer_id: "e", ordered_at: "2024-02-01", amount: "99.00" },
  ],
};

describe("int_clv_summary and int_clv_rfm_counts", () => {
  it("count purchase days, not orders, in days, up to as_of", async () => {
    const lake = await makeLake(HAND);
    try {
      await run(lake, { asOf: AS_OF, models: ["int_clv_rfm_counts", "customer_clv"] });
      const summary = await read(lake, "int_clv_summary", AS_OF, "customer_id");
      expect(summary).toEqual([
        {
          customer_id: "a",
          first_purchase_on: "2024-01-01",
          last_purchase_on: "2024-02-10",
          frequency: "2",
          recency: 40,
          age: 60,
          repeat_spend: "50.00",
          monetary: 25,
          // comparison_as_of is 2023-12-31 (three calendar months ending with March): no history then.
          comparison_frequency: null,
          comparison_recency: null,
          comparison_age: null,
        },
        ...["b", "e"].map((id) => ({
          customer_id: id,
          first_purchase_on: "2024-02-01",
          last_purchase_on: "2024-02-01",
          frequency: "0",
          recency: 0,
          age: 29,
          repeat_spend: "0.00",
          monetary: null,
          comparison_frequency: null,
          comparison_recency: null,
          comparison_age: null,
        })),
      ]);
      expect(await read(lake, "int_clv_rfm_counts", AS_OF, "frequency")).toEqual([
        { period: "current", frequency: "0", recency: 0, age: 29, customers: "2" },
        { period: "current", frequency: "2", recency: 40, age: 60, customers: "1" },
      ]);
      // One repeat buyer: neither model can be fitted; the run still succeeds and says why.
      const models = await read(lake, "clv_model", AS_OF, "model");
      expect(
        models.map((m) => [m.model, m.time_unit, m.converged, m.r, m.p, m.n_customers, m.diagnostic]),
      ).toEqual([
        [
          "bg_nbd",
          "day",
          false,
          null,
          null,
          "3",
          "Too few repeat buyers to fit BG/NBD: 1 of 3 customers have a repeat purchase day, at least 20 are needed.",
        ],
        [
          "gamma_gamma",
          "day",
          false,
          null,
          null,
          "1",
          "Too few repeat buyers with a positive mean repeat spend to fit Gamma-Gamma: 1, at least 20 are needed.",
        ],
      ]);
      const clv = await read(lake, "customer_clv", AS_OF, "customer_id");
      expect(clv.map((c) => [c.customer_id, c.p_alive, c.expected_spend, c.clv, c.clv_percentile])).toEqual([
        ["a", null, null, null, null],
        ["b", null, null, null, null],
        ["e", null, null, null, null],
      ]);
    } finally {
      await removeLake(lake);
    }
  }, 60_000);
});

/** 400 customers of the BG/NBD + Gamma-Gamma story, whole days, first purchases over 2023. */
function simulatedTransactions(seed: number): TransactionFixture[] {
  const rows: TransactionFixture[] = [];
  const start = Date.UTC(2023, 0, 1);
  const end = Date.UTC(2024, 2, 1);
  for (let i = 0; i < 400; i++) {
    const rng = stream(seed, 4242, i);
    const lambda = gamma(rng, 0.75, 30);
    const p = beta(rng, 0.8, 2.4);
    const nu = gamma(rng, 4, 15);
    let t = start + Math.floor(rng.next() * 365) * 86_400_000;
    let n = 0;
    for (;;) {
      const amount = gamma(rng, 6, nu).toFixed(2);
      rows.push({
        order_id: `o${i}-${n}`,
        customer_id: `c${i}`,
        ordered_at: new Date(t).toISOString().slice(0, 10),
        amount: Number(amount) > 0 ? amount : "0.01",
        cost: (Number(amount) * 0.6).toFixed(2),
      });
      n += 1;
      t += Math.ceil(exponential(rng, lambda)) * 86_400_000;
      if (t > end || (n > 1 && rng.next() < p)) break;
    }
  }
  return rows;
}

describe("clv_model, clv_expectations and customer_clv on simulated data", () => {
  it("fit, and score each customer consistently with the published parameters", async () => {
    const lake = await makeLake({ transactions: simulatedTransactions(7) });
    try {
      await run(lake, { asOf: AS_OF, models: ["customer_clv"] });
      const models = await read(lake, "clv_model", AS_OF, "model");
      const bg = models[0] as Record<string, unknown>;
      const gg = models[1] as Record<string, unknown>;
      expect([bg.converged, bg.diagnostic, gg.converged]).toEqual([true, "", true]);
      const params = { r: bg.r as number, alpha: bg.alpha as number, a: bg.a as number, b: bg.b as number };
      const population = ((gg.p as number) * (gg.gamma as number)) / ((gg.q as number) - 1);
      // One row per distinct history: P(alive) from the published parameters, the customers summing to all.
      const all = await read(lake, "clv_expectations", AS_OF, "period, frequency, recency, age");
      const expectations = all.filter((e) => e.period === "current");
      expect(expectations.reduce((n, e) => n + Number(e.customers), 0)).toBe(400);
      for (const e of expectations) {
        expect(e.p_alive).toBeCloseTo(
          bgnbdProbabilityAlive(params, Number(e.frequency), e.recency as number, e.age as number),
          12,
        );
        expect(e.discounted_purchases as number).toBeLessThanOrEqual(e.expected_purchases as number);
      }
      // The histories as of comparison_as_of (2023-12-31), scored with the same parameters: P(alive) only.
      const comparison = all.filter((e) => e.period === "comparison");
      expect(comparison.length).toBeGreaterThan(0);
      for (const e of comparison) {
        expect(e.p_alive).toBeCloseTo(
          bgnbdProbabilityAlive(params, Number(e.frequency), e.recency as number, e.age as number),
          12,
        );
        expect([e.expected_purchases, e.discounted_purchases, e.horizon_days]).toEqual([null, null, null]);
      }
      const summary = new Map(
        (await read(lake, "int_clv_summary", AS_OF, "customer_id")).map((row) => [row.customer_id, row]),
      );
      const clv = await read(lake, "customer_clv", AS_OF, "customer_id");
      expect(clv.length).toBe(400);
      let compared = 0;
      for (const c of clv) {
        const then = summary.get(c.customer_id);
        if (then?.comparison_frequency === null) {
          expect((then.first_purchase_on as string) > "2023-12-31").toBe(true);
          expect(c.comparison_p_alive).toBeNull();
          continue;
        }
        compared += 1;
        expect(then?.comparison_age).toBe(
          (Date.UTC(2023, 11, 31) - Date.parse(`${then?.first_purchase_on}T00:00:00Z`)) / 86_400_000,
        );
        expect(c.comparison_p_alive).toBeCloseTo(
          bgnbdProbabilityAlive(
            params,
            Number(then?.comparison_frequency),
            then?.comparison_recency as number,
            then?.comparison_age as number,
          ),
          12,
        );
      }
      expect(compared).toBe(comparison.reduce((n, e) => n + Number(e.customers), 0));
      for (const c of clv) {
        const x = Number(c.frequency);
        expect(c.p_alive).toBeCloseTo(
          bgnbdProbabilityAlive(params, x, c.recency as number, c.age as number),
          12,
        );
        if (x === 0) expect(c.expected_spend).toBeCloseTo(population, 9);
        // Every cost is 60 % of the amount: the customer's own margin rate is 40 % (to the cent's rounding).
        if (c.margin_rate_source === "customer") expect(c.margin_rate as number).toBeCloseTo(0.4, 2);
        // Discounting at 10 % a year over 12 months lowers the value by between 0 and 10 %.
        const undiscounted = (c.expected_revenue as number) * (c.margin_rate as number);
        expect(c.clv as number).toBeLessThanOrEqual(undiscounted);
        expect(c.clv as number).toBeGreaterThan(undiscounted / 1.1);
      }
      const percentiles = clv.map((c) => c.clv_percentile as number);
      expect(Math.min(...percentiles)).toBe(0);
      expect(Math.max(...percentiles)).toBe(100);
    } finally {
      await removeLake(lake);
    }
  }, 120_000);
});
