import { describe, expect, it } from "vitest";
import { type LakeFixture, makeLake, read, removeLake, run } from "./helpers.ts";

const AS_OF = "2024-03-31";

// Default margin rate 0.3 where cost is absent.
const FIXTURE: LakeFixture = {
  customers: [
    { customer_id: "a", signed_up_at: "2023-12-01" },
    { customer_id: "p1", signed_up_at: "2024-01-01" }, // a prospect
    { customer_id: "p2", signed_up_at: "2024-05-01" }, // signs up after as_of: not a customer yet
  ],
  transactions: [
    // a, order A1: 100.00 (cost 60 → margin 40, 2 units, discount 5) + 50.00 in store (margin 15).
    {
      order_id: "A1",
      customer_id: "a",
      ordered_at: "2024-01-10 10:00:00",
      amount: "100.00",
      cost: "60.00",
      quantity: 2,
      discount: "5.00",
    },
    {
      order_id: "A1",
      customer_id: "a",
      ordered_at: "2024-01-10 10:00:00",
      amount: "50.00",
      category: "toys",
      channel: "store",
    },
    // a, order A2: 20.00 bought and refunded in the same order: net 0, yet a purchase order (it has a purchase
    // line) and a purchase occasion (issue 13: refunds never cancel a purchase); also a return order.
    { order_id: "A2", customer_id: "a", ordered_at: "2024-02-15", amount: "20.00" },
    { order_id: "A2", customer_id: "a", ordered_at: "2024-02-15", amount: "-20.00", quantity: -1 },
    // a, order A3: 10.00, cost 4.00 → margin 6; at 23:59:59 it still counts for 2024-03-01.
    {
      order_id: "A3",
      customer_id: "a",
      ordered_at: "2024-03-01 23:59:59",
      amount: "10.00",
      cost: "4.00",
      category: "toys",
    },
    // a, after as_of: ignored.
    { order_id: "A4", customer_id: "a", ordered_at: "2024-04-02", amount: "999.00" },
    // r has only a refund.
    { order_id: "R1", customer_id: "r", ordered_at: "2024-02-01", amount: "-30.00", quantity: -1 },
    // d: a one-day history, two orders on as_of itself; 60.05 × 0.3 = 18.015.
    { order_id: "D1", customer_id: "d", ordered_at: "2024-03-31 08:00:00", amount: "40.00" },
    {
      order_id: "D2",
      customer_id: "d",
      ordered_at: "2024-03-31 18:00:00",
      amount: "60.05",
      quantity: 3,
      category: "music",
      channel: "app",
    },
  ],
};

describe("customer_base and int_customer_orders", () => {
  it("computes one row per customer, prospects with zeros", async () => {
    const lake = await makeLake(FIXTURE);
    try {
      await run(lake, { asOf: AS_OF, models: ["customer_base"] });
      const orders = await read(lake, "int_customer_orders", AS_OF, "customer_id, order_id");
      expect(orders).toEqual([
        // A1: 2 lines, 3 units, 150.00, margin 40 + 15 = 55.
        {
          customer_id: "a",
          order_id: "A1",
          ordered_on: "2024-01-10",
          lines: "2",
          units: "3",
          net_amount: "150.00",
          margin: "55.000000",
          discount: "5.00",
          is_purchase: true,
          is_return: false,
        },
        {
          customer_id: "a",
          order_id: "A2",
          ordered_on: "2024-02-15",
          lines: "2",
          units: "0",
          net_amount: "0.00",
          margin: "0.000000",
          discount: "0.00",
          is_purchase: true,
          is_return: true,
        },
        {
          customer_id: "a",
          order_id: "A3",
          ordered_on: "2024-03-01",
          lines: "1",
          units: "1",
          net_amount: "10.00",
          margin: "6.000000",
          discount: "0.00",
          is_purchase: true,
          is_return: false,
        },
        {
          customer_id: "d",
          order_id: "D1",
          ordered_on: "2024-03-31",
          lines: "1",
          units: "1",
          net_amount: "40.00",
          margin: "12.000000",
          discount: "0.00",
          is_purchase: true,
          is_return: false,
        },
        {
          customer_id: "d",
          order_id: "D2",
          ordered_on: "2024-03-31",
          lines: "1",
          units: "3",
          net_amount: "60.05",
          margin: "18.015000",
          discount: "0.00",
          is_purchase: true,
          is_return: false,
        },
        {
          customer_id: "r",
          order_id: "R1",
          ordered_on: "2024-02-01",
          lines: "1",
          units: "-1",
          net_amount: "-30.00",
          margin: "-9.000000",
          discount: "0.00",
          is_purchase: false,
          is_return: true,
        },
      ]);

      const base = await read(lake, "customer_base", AS_OF, "customer_id");
      expect(base).toEqual([
        {
          // 5 lines; units 2+1+1−1+1 = 4; revenue 100+50+20−20+10 = 160; margin 40+15+6−6+6 = 61; cost 160 − 61.
          // Purchase orders A1, A2 and A3 (A2's refund does not cancel its purchase line), on three days; tenure 2024-01-10 → 03-31 = 21 + 29 + 31 = 81; recency 03-01 → 03-31 = 30.
          customer_id: "a",
          is_prospect: false,
          signed_up_on: "2023-12-01",
          first_order_on: "2024-01-10",
          last_order_on: "2024-03-01",
          orders: "3",
          occasions: "3",
          order_days: "3",
          return_orders: "1",
          lines: "5",
          units: "4",
          net_revenue: "160.00",
          cost_of_goods: "99.00",
          gross_margin: "61.00",
          returned_amount: "20.00",
          discounts: "5.00",
          categories: "2",
          channels: "2",
          tenure_days: "81",
          recency_days: "30",
        },
        {
          // Two orders on one day: orders 2, one purchase occasion (one day), order_days 1, tenure = recency = 0.
          // Margin 12 + 18.015 = 30.015 → rounded half up to 30.02; cost = 100.05 − 30.02 = 70.03.
          customer_id: "d",
          is_prospect: false,
          signed_up_on: null,
          first_order_on: "2024-03-31",
          last_order_on: "2024-03-31",
          orders: "2",
          occasions: "1",
          order_days: "1",
          return_orders: "0",
          lines: "2",
          units: "4",
          net_revenue: "100.05",
          cost_of_goods: "70.03",
          gross_margin: "30.02",
          returned_amount: "0.00",
          discounts: "0.00",
          categories: "2",
          channels: "2",
          tenure_days: "0",
          recency_days: "0",
        },
        {
          customer_id: "p1",
          is_prospect: true,
          signed_up_on: "2024-01-01",
          first_order_on: null,
          last_order_on: null,
          orders: "0",
          occasions: "0",
          order_days: "0",
          return_orders: "0",
          lines: "0",
          units: "0",
          net_revenue: "0.00",
          cost_of_goods: "0.00",
          gross_margin: "0.00",
          returned_amount: "0.00",
          discounts: "0.00",
          categories: "0",
          channels: "0",
          tenure_days: null,
          recency_days: null,
        },
        {
          // Only a refund: not a prospect, no purchase order; margin −30 × 0.3 = −9, cost −21.
          customer_id: "r",
          is_prospect: false,
          signed_up_on: null,
          first_order_on: null,
          last_order_on: null,
          orders: "0",
          occasions: "0",
          order_days: "0",
          return_orders: "1",
          lines: "1",
          units: "-1",
          net_revenue: "-30.00",
          cost_of_goods: "-21.00",
          gross_margin: "-9.00",
          returned_amount: "30.00",
          discounts: "0.00",
          categories: "0",
          channels: "0",
          tenure_days: null,
          recency_days: null,
        },
      ]);
    } finally {
      await removeLake(lake);
    }
  });
});
