import { describe, expect, it } from "vitest";
import { makeLake, pick, read, removeLake, run } from "./helpers.ts";

const AS_OF = "2024-06-30";

describe("customer_scores", () => {
  it("joins one row per customer from every per-customer model", async () => {
    const lake = await makeLake({
      customers: [{ customer_id: "p", signed_up_at: "2024-01-01" }],
      transactions: [
        // One discount (1.00) in the data: without any, needs segments are not measured (data_capabilities).
        {
          order_id: "a1",
          customer_id: "a",
          ordered_at: "2024-06-01",
          category: "books",
          amount: "100.00",
          discount: "1.00",
        },
        { order_id: "a2", customer_id: "a", ordered_at: "2024-06-20", category: "toys", amount: "50.00" },
        { order_id: "b1", customer_id: "b", ordered_at: "2023-01-10", category: "books", amount: "20.00" },
      ],
    });
    try {
      await run(lake, { asOf: AS_OF, models: ["customer_scores"] });
      const rows = await read(lake, "customer_scores", AS_OF, "customer_id");
      // a: 2 orders, 150.00, margin 45.00, window profit 45 − 2 × 5 = 35; recency 10, tenure 29; active: top of 1.
      //   RFM over 2 buyers (k = 1, 2 → 1 + floor(5(k − 1)/2) = 1, 3): a is R3 F3 M3 → Need attention.
      //   Needs: books average unit price (100 + 20) / 2 = 60, toys 50; a pays 150 / (60 + 50) = 1.36 with a
      //   discount share of 1 / 151 → value_oriented.
      // b: 1 order 2023-01-10, recency 537 > 365 → lapsed; inactive in the 12-month window; R1 F1 M1 → Lost;
      //   pays 20 / 60 = 0.33 of the books average → price_oriented.
      expect(
        pick(rows, [
          "customer_id",
          "is_prospect",
          "lifecycle_stage",
          "value_tier",
          "rfm_segment",
          "rfm_cell",
          "needs_segment",
          "orders",
          "net_revenue",
          "gross_margin",
          "recency_days",
          "tenure_days",
          "window_net_profit",
          "profit_decile",
          "next_best_category",
        ]),
      ).toEqual([
        {
          customer_id: "a",
          is_prospect: false,
          lifecycle_stage: "repeat",
          value_tier: "top",
          rfm_segment: "Need attention",
          rfm_cell: "333",
          needs_segment: "value_oriented",
          orders: "2",
          net_revenue: "150.00",
          gross_margin: "45.00",
          recency_days: "10",
          tenure_days: "29",
          window_net_profit: "35.00",
          profit_decile: 1,
          next_best_category: null,
        },
        {
          customer_id: "b",
          is_prospect: false,
          lifecycle_stage: "lapsed",
          value_tier: "inactive",
          rfm_segment: "Lost",
          rfm_cell: "111",
          needs_segment: "price_oriented",
          orders: "1",
          net_revenue: "20.00",
          gross_margin: "6.00",
          recency_days: "537",
          tenure_days: "537",
          window_net_profit: "0.00",
          profit_decile: null,
          next_best_category: null,
        },
        {
          customer_id: "p",
          is_prospect: true,
          lifecycle_stage: "prospect",
          value_tier: "prospect",
          rfm_segment: null,
          rfm_cell: null,
          needs_segment: null,
          orders: "0",
          net_revenue: "0.00",
          gross_margin: "0.00",
          recency_days: null,
          tenure_days: null,
          window_net_profit: "0.00",
          profit_decile: null,
          next_best_category: null,
        },
      ]);
    } finally {
      await removeLake(lake);
    }
  });
});
