import { describe, expect, it } from "vitest";
import { TIED_PROFITS_FIXTURE, whaleFixture } from "./definition-fixtures.ts";
import { type LakeFixture, makeLake, pick, read, removeLake, run, runAndRead } from "./helpers.ts";

const AS_OF = "2024-06-30"; // value window (2023-06-30, 2024-06-30]

const FIXTURE: LakeFixture = {
  customers: [{ customer_id: "f3", signed_up_at: "2023-01-01" }],
  campaigns: [
    { campaign_id: "k1", starts_on: "2024-03-01", ends_on: "2024-03-31", cost_per_contact: "1.50" },
    { campaign_id: "k2", starts_on: "2023-01-01", ends_on: "2023-01-31", cost_per_contact: "2.00" }, // before the window
  ],
  campaign_contacts: [
    { campaign_id: "k1", customer_id: "f1", group: "treatment" },
    { campaign_id: "k2", customer_id: "f1", group: "treatment" },
    { campaign_id: "k1", customer_id: "f2", group: "control" },
    { campaign_id: "k1", customer_id: "f3", group: "treatment" },
  ],
  transactions: [
    // f1: order F1 = 200 (cost 120 → margin 80) + 100 (margin 30); order F2 refunds 50 (margin −15).
    { order_id: "F1", customer_id: "f1", ordered_at: "2024-05-01", amount: "200.00", cost: "120.00" },
    { order_id: "F1", customer_id: "f1", ordered_at: "2024-05-01", amount: "100.00" },
    { order_id: "F2", customer_id: "f1", ordered_at: "2024-06-01", amount: "-50.00", quantity: -1 },
    { order_id: "G1", customer_id: "f2", ordered_at: "2024-04-01", amount: "40.00" },
    { order_id: "H1", customer_id: "f4", ordered_at: "2022-01-01", amount: "80.00" }, // before the window
    { order_id: "I1", customer_id: "f5", ordered_at: "2024-06-30 23:00:00", amount: "10.00" },
  ],
};

const COLUMNS = [
  "customer_id",
  "is_in_window",
  "orders",
  "return_orders",
  "revenue",
  "cost_of_goods",
  "gross_margin",
  "order_cost",
  "return_cost",
  "contact_cost",
  "cost_to_serve",
  "net_profit",
  "profit_decile",
];

describe("customer_profitability", () => {
  it("subtracts the cost of goods and the cost to serve, and ranks profit deciles", async () => {
    const lake = await makeLake(FIXTURE);
    try {
      await run(lake, { asOf: AS_OF, models: ["customer_profitability", "whale_curve"] });
      const rows = await read(lake, "customer_profitability", AS_OF, "customer_id");
      // Cost to serve: 5.00 per purchase order, 10.00 per return order, 1.50 per k1 treatment contact.
      // In-window ranking by net profit: f1 78.50, f2 7.00, f3 −1.50, f5 −2.00 (n = 4):
      // decile 1 + floor(10(k − 1)/4) = 1, 3, 6, 8.
      expect(pick(rows, COLUMNS)).toEqual([
        // 300 − 50 = 250; margin 80 + 30 − 15 = 95; serve 5 + 10 + 1.50 = 16.50; profit 78.50.
        {
          customer_id: "f1",
          is_in_window: true,
          orders: "1",
          return_orders: "1",
          revenue: "250.00",
          cost_of_goods: "155.00",
          gross_margin: "95.00",
          order_cost: "5.00",
          return_cost: "10.00",
          contact_cost: "1.50",
          cost_to_serve: "16.50",
          net_profit: "78.50",
          profit_decile: 1,
        },
        // Control group: no contact cost. 40 × 0.3 = 12 − 5 = 7.
        {
          customer_id: "f2",
          is_in_window: true,
          orders: "1",
          return_orders: "0",
          revenue: "40.00",
          cost_of_goods: "28.00",
          gross_margin: "12.00",
          order_cost: "5.00",
          return_cost: "0.00",
          contact_cost: "0.00",
          cost_to_serve: "5.00",
          net_profit: "7.00",
          profit_decile: 3,
        },
        // A contacted prospect only costs.
        {
          customer_id: "f3",
          is_in_window: true,
          orders: "0",
          return_orders: "0",
          revenue: "0.00",
          cost_of_goods: "0.00",
          gross_margin: "0.00",
          order_cost: "0.00",
          return_cost: "0.00",
          contact_cost: "1.50",
          cost_to_serve: "1.50",
          net_profit: "-1.50",
          profit_decile: 6,
        },
        {
          customer_id: "f4",
          is_in_window: false,
          orders: "0",
          return_orders: "0",
          revenue: "0.00",
          cost_of_goods: "0.00",
          gross_margin: "0.00",
          order_cost: "0.00",
          return_cost: "0.00",
          contact_cost: "0.00",
          cost_to_serve: "0.00",
          net_profit: "0.00",
          profit_decile: null,
        },
        // 10 × 0.3 = 3 − 5 = −2.
        {
          customer_id: "f5",
          is_in_window: true,
          orders: "1",
          return_orders: "0",
          revenue: "10.00",
          cost_of_goods: "7.00",
          gross_margin: "3.00",
          order_cost: "5.00",
          return_cost: "0.00",
          contact_cost: "0.00",
          cost_to_serve: "5.00",
          net_profit: "-2.00",
          profit_decile: 8,
        },
      ]);

      // Whale curve over the 4 customers, total 78.50 + 7 − 1.50 − 2 = 82.00; point p covers ceil(4p/100):
      // p 1–25 → f1 (78.50), 26–50 → + f2 (85.50, the peak), 51–75 → + f3 (84.00), 76–100 → all (82.00).
      const curve = await read(lake, "whale_curve", AS_OF, "customer_percentile");
      const at = (p: number) => curve[p - 1];
      expect(
        [1, 25, 26, 50, 51, 75, 76, 100].map((p) => [p, at(p)?.customers, at(p)?.cumulative_net_profit]),
      ).toEqual([
        [1, "1", "78.50"],
        [25, "1", "78.50"],
        [26, "2", "85.50"],
        [50, "2", "85.50"],
        [51, "3", "84.00"],
        [75, "3", "84.00"],
        [76, "4", "82.00"],
        [100, "4", "82.00"],
      ]);
      expect(Math.max(...curve.map((r) => Number(r.cumulative_profit_share)))).toBeCloseTo(85.5 / 82, 12);
    } finally {
      await removeLake(lake);
    }
  });

  it("leaves campaign contacts out of the cost to serve when configured, and applies other unit costs", async () => {
    const rows = await runAndRead(FIXTURE, {
      asOf: AS_OF,
      models: ["customer_profitability"],
      config: { cost_to_serve: { per_order: 2.5, per_return: 0, include_campaign_contacts: false } },
      model: "customer_profitability",
      orderBy: "customer_id",
    });
    // f1: 95 − 2.50 = 92.50; f3 is still in the window (contacted) at 0.
    expect(pick(rows, ["customer_id", "cost_to_serve", "net_profit"])).toEqual([
      { customer_id: "f1", cost_to_serve: "2.50", net_profit: "92.50" },
      { customer_id: "f2", cost_to_serve: "2.50", net_profit: "9.50" },
      { customer_id: "f3", cost_to_serve: "0.00", net_profit: "0.00" },
      { customer_id: "f4", cost_to_serve: "0.00", net_profit: "0.00" },
      { customer_id: "f5", cost_to_serve: "2.50", net_profit: "0.50" },
    ]);
  });

  // Issue 13, case 1: equal profits share the lowest rank among them (RANK()) and so a decile. Before,
  // ROW_NUMBER broke ties by customer_id and three customers with the same profit got deciles 1, 3 and 5.
  it("gives equal profits the same decile", async () => {
    const lake = await makeLake(TIED_PROFITS_FIXTURE);
    try {
      await run(lake, { asOf: AS_OF, models: ["customer_profitability", "whale_curve"] });
      // Net profit 0.3 × amount − 5: t1–t3 25.00, t4–t5 10.00. n = 5, ranks 1, 1, 1, 4, 4:
      // decile 1 + floor(10(k − 1)/5) = 1, 1, 1, 7, 7.
      const rows = await read(lake, "customer_profitability", AS_OF, "customer_id");
      expect(pick(rows, ["customer_id", "net_profit", "profit_decile"])).toEqual([
        { customer_id: "t1", net_profit: "25.00", profit_decile: 1 },
        { customer_id: "t2", net_profit: "25.00", profit_decile: 1 },
        { customer_id: "t3", net_profit: "25.00", profit_decile: 1 },
        { customer_id: "t4", net_profit: "10.00", profit_decile: 7 },
        { customer_id: "t5", net_profit: "10.00", profit_decile: 7 },
      ]);
      // The whale curve orders equal profits by id, which changes no number: point p covers ceil(5p/100).
      const curve = await read(lake, "whale_curve", AS_OF, "customer_percentile");
      expect([20, 40, 60, 80, 100].map((p) => curve[p - 1]?.cumulative_net_profit)).toEqual([
        "25.00",
        "50.00",
        "75.00",
        "85.00",
        "95.00",
      ]);
    } finally {
      await removeLake(lake);
    }
  });
});

// Issue 13, case 5: a share of a total that is not positive is undefined (0) or inverted (negative: the most
// profitable customer would show a negative share). The curve keeps the cumulative profit and gives the reason.
describe("whale_curve when total profit is not positive", () => {
  it.each([
    // w1 buys 100 (margin 30 − 5 per order = 25.00); w2 refunds 200 (margin −60 − 10 per return = −70.00).
    // Total −45.00. Before, p = 1 showed 25 / −45 = −56 %.
    { refund: "-200.00", w2: "-70.00", total: "-45.00", reason: "total_net_profit_negative" },
    // w2 refunds 50 (−15 − 10 = −25.00). Total 0.00.
    { refund: "-50.00", w2: "-25.00", total: "0.00", reason: "total_net_profit_zero" },
  ])(
    "publishes cumulative profit and NULL shares with the reason $reason",
    async ({ refund, w2, total, reason }) => {
      const lake = await makeLake(whaleFixture(refund));
      try {
        await run(lake, { asOf: AS_OF, models: ["customer_profitability", "whale_curve"] });
        const profit = await read(lake, "customer_profitability", AS_OF, "customer_id");
        expect(pick(profit, ["customer_id", "net_profit"])).toEqual([
          { customer_id: "w1", net_profit: "25.00" },
          { customer_id: "w2", net_profit: w2 },
        ]);
        const curve = await read(lake, "whale_curve", AS_OF, "customer_percentile");
        expect(curve).toHaveLength(100);
        // n = 2: p 1–50 covers ceil(2p/100) = 1 customer (w1), p 51–100 both.
        const columns = [
          "customer_percentile",
          "customers",
          "cumulative_net_profit",
          "total_net_profit",
          "cumulative_profit_share",
          "share_null_reason",
        ];
        expect(
          pick(
            [curve[0], curve[50], curve[99]].filter((r) => r !== undefined),
            columns,
          ),
        ).toEqual([
          {
            customer_percentile: 1,
            customers: "1",
            cumulative_net_profit: "25.00",
            total_net_profit: total,
            cumulative_profit_share: null,
            share_null_reason: reason,
          },
          {
            customer_percentile: 51,
            customers: "2",
            cumulative_net_profit: total,
            total_net_profit: total,
            cumulative_profit_share: null,
            share_null_reason: reason,
          },
          {
            customer_percentile: 100,
            customers: "2",
            cumulative_net_profit: total,
            total_net_profit: total,
            cumulative_profit_share: null,
            share_null_reason: reason,
          },
        ]);
        expect(curve.every((r) => r.cumulative_profit_share === null && r.share_null_reason === reason)).toBe(
          true,
        );
      } finally {
        await removeLake(lake);
      }
    },
  );
});
