import { describe, expect, it } from "vitest";
import { overflowFixture } from "./definition-fixtures.ts";
import { makeLake, pick, read, removeLake, run } from "./helpers.ts";

const AS_OF = "2024-06-30"; // value window: the 12 months to June 2024

// Issue 13, case 6: sums of money used to be cast to decimal(18,2), whose largest value is just under 10^16, so one
// customer whose lines add up to 10^16 failed the whole run (with a message naming the model but no customer).
// Ingest keeps every line below 10^12 (docs/contracts.md), so 10^4 lines are enough to get there. Sums are now
// decimal(38,2) (order margins decimal(38,6)): overflowing one would take more than 10^24 lines.
describe("money sums do not overflow", () => {
  it("publishes a customer whose lines add up to more than decimal(18,2) holds", {
    timeout: 120_000,
  }, async () => {
    // w1: one order (2024-05-01) of 20,000 lines of 500,000,000,000.00 = 10,000,000,000,000,000.00 (10^16);
    // margin at the default rate 0.3: 3 × 10^15, cost of goods 7 × 10^15. w2 buys 10.00 (margin 3.00) in June.
    const lake = await makeLake(overflowFixture());
    try {
      await run(lake, {
        asOf: AS_OF,
        models: [
          "customer_base",
          "customer_rfm",
          "customer_profitability",
          "pyramid_summary",
          "whale_curve",
          "performance_by_category",
          "customer_needs",
        ],
      });
      const base = await read(lake, "customer_base", AS_OF, "customer_id");
      expect(pick(base, ["customer_id", "net_revenue", "gross_margin", "cost_of_goods"])).toEqual([
        {
          customer_id: "w1",
          net_revenue: "10000000000000000.00",
          gross_margin: "3000000000000000.00",
          cost_of_goods: "7000000000000000.00",
        },
        { customer_id: "w2", net_revenue: "10.00", gross_margin: "3.00", cost_of_goods: "7.00" },
      ]);
      const rfm = await read(lake, "customer_rfm", AS_OF, "customer_id");
      expect(pick(rfm, ["customer_id", "monetary"])).toEqual([
        { customer_id: "w1", monetary: "10000000000000000.00" },
        { customer_id: "w2", monetary: "10.00" },
      ]);
      // Net profit: margin − 5.00 for the one purchase order: w1 3 × 10^15 − 5; w2 3 − 5 = −2.
      const profit = await read(lake, "customer_profitability", AS_OF, "customer_id");
      expect(pick(profit, ["customer_id", "revenue", "net_profit"])).toEqual([
        { customer_id: "w1", revenue: "10000000000000000.00", net_profit: "2999999999999995.00" },
        { customer_id: "w2", revenue: "10.00", net_profit: "-2.00" },
      ]);
      const curve = await read(lake, "whale_curve", AS_OF, "customer_percentile");
      expect(curve[99]?.total_net_profit).toBe("2999999999999993.00");
      // Tiers (n = 2): top = rank ≤ ceil(0.02) = 1 (w1); big and medium end at ceil(0.05) = ceil(0.2) = 1, so they
      // are empty; w2 is small.
      const tiers = await read(lake, "pyramid_summary", AS_OF, "tier_order");
      expect(tiers.map((t) => t.revenue)).toEqual([
        "10000000000000000.00",
        "0.00",
        "0.00",
        "10.00",
        "0.00",
        "0.00",
      ]);
      // A total over customers: May (w1) and June (w2) in the one category (books).
      const categories = await read(lake, "performance_by_category", AS_OF, "month_start_on");
      expect(categories.map((c) => [c.month_start_on, c.revenue])).toEqual([
        ["2024-05-01", "10000000000000000.00"],
        ["2024-06-01", "10.00"],
      ]);
    } finally {
      await removeLake(lake);
    }
  });
});
