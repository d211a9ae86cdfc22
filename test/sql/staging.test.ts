import { describe, expect, it } from "vitest";
import { runAndQuery } from "./helpers.ts";

// Staging models are views (not published), so these tests read them in the run's own warehouse.
describe("staging models", () => {
  it("stg_transactions keeps lines on or before as_of, fills defaults and derives cost and margin", async () => {
    const rows = await runAndQuery(
      {
        transactions: [
          // 100.00 with cost 60.00: margin 40.
          {
            order_id: "o1",
            customer_id: "a",
            ordered_at: "2024-03-31 23:59:59",
            amount: "100.00",
            cost: "60.00",
            discount: "5.00",
          },
          // No cost: margin = 12.00 × 0.3 = 3.6, cost = 12.00 − 3.6 = 8.4; category/channel/store missing.
          {
            order_id: "o2",
            customer_id: "a",
            ordered_at: "2024-03-20",
            amount: "12.00",
            category: null,
            channel: null,
          },
          // A refund: margin = −20.00 × 0.3 = −6, cost = −14.
          { order_id: "o3", customer_id: "b", ordered_at: "2024-02-01", amount: "-20.00", quantity: -1 },
          // After as_of: left out.
          { order_id: "o4", customer_id: "a", ordered_at: "2024-04-01 00:00:00", amount: "999.00" },
        ],
      },
      { asOf: "2024-03-31", models: ["stg_transactions"] },
      `SELECT order_id, ordered_on, order_month, category, channel, store_id, quantity, amount, line_cost, line_margin,
              discount, is_return_line
       FROM stg_transactions ORDER BY order_id`,
    );
    expect(rows).toEqual([
      {
        order_id: "o1",
        ordered_on: "2024-03-31",
        order_month: "2024-03",
        category: "books",
        channel: "web",
        store_id: "unknown",
        quantity: 1,
        amount: "100.00",
        line_cost: "60.000000",
        line_margin: "40.000000",
        discount: "5.00",
        is_return_line: false,
      },
      {
        order_id: "o2",
        ordered_on: "2024-03-20",
        order_month: "2024-03",
        category: "unknown",
        channel: "unknown",
        store_id: "unknown",
        quantity: 1,
        amount: "12.00",
        line_cost: "8.400000",
        line_margin: "3.600000",
        discount: "0.00",
        is_return_line: false,
      },
      {
        order_id: "o3",
        ordered_on: "2024-02-01",
        order_month: "2024-02",
        category: "books",
        channel: "web",
        store_id: "unknown",
        quantity: -1,
        amount: "-20.00",
        line_cost: "-14.000000",
        line_margin: "-6.000000",
        discount: "0.00",
        is_return_line: true,
      },
    ]);
  });

  it("stg_transactions applies the configured default margin rate", async () => {
    const rows = await runAndQuery(
      { transactions: [{ order_id: "o1", customer_id: "a", ordered_at: "2024-03-01", amount: "10.05" }] },
      { asOf: "2024-03-31", models: ["stg_transactions"], config: { margin: { default_rate: 0.25 } } },
      "SELECT line_cost, line_margin FROM stg_transactions",
    );
    // 10.05 × 0.25 = 2.5125 (kept exact at 6 decimals); cost = 10.05 − 2.5125 = 7.5375.
    expect(rows).toEqual([{ line_cost: "7.537500", line_margin: "2.512500" }]);
  });

  it("stg_customers drops customers who signed up after as_of and keeps one record per customer", async () => {
    const rows = await runAndQuery(
      {
        customers: [
          { customer_id: "a", signed_up_at: "2024-01-01", country: "FR" },
          { customer_id: "b", signed_up_at: "2024-04-01" }, // after as_of
          { customer_id: "c", signed_up_at: null },
          { customer_id: "a", signed_up_at: "2024-01-01", country: "DE" }, // later record of a: wins
        ],
      },
      { asOf: "2024-03-31", models: ["stg_customers"] },
      "SELECT customer_id, signed_up_on, country FROM stg_customers ORDER BY customer_id",
    );
    expect(rows).toEqual([
      { customer_id: "a", signed_up_on: "2024-01-01", country: "DE" },
      { customer_id: "c", signed_up_on: null, country: null },
    ]);
  });

  it("stg_campaign_contacts dates contacts, costs only treatment, and drops later contacts", async () => {
    const rows = await runAndQuery(
      {
        campaigns: [
          { campaign_id: "k1", starts_on: "2024-03-01", ends_on: "2024-03-31", cost_per_contact: "1.50" },
          { campaign_id: "k2", starts_on: "2024-04-01", ends_on: "2024-04-30", cost_per_contact: "9.99" },
        ],
        campaign_contacts: [
          { campaign_id: "k1", customer_id: "a", group: "treatment" }, // contacted_on defaults to 2024-03-01
          { campaign_id: "k1", customer_id: "b", group: "control" }, // control: no cost
          { campaign_id: "k1", customer_id: "c", group: "treatment", contacted_on: "2024-03-15" },
          { campaign_id: "k2", customer_id: "a", group: "treatment" }, // 2024-04-01 > as_of
        ],
      },
      { asOf: "2024-03-31", models: ["stg_campaign_contacts"] },
      "SELECT campaign_id, customer_id, contact_group, contacted_on, contact_cost FROM stg_campaign_contacts ORDER BY 1, 2",
    );
    expect(rows).toEqual([
      {
        campaign_id: "k1",
        customer_id: "a",
        contact_group: "treatment",
        contacted_on: "2024-03-01",
        contact_cost: "1.50",
      },
      {
        campaign_id: "k1",
        customer_id: "b",
        contact_group: "control",
        contacted_on: "2024-03-01",
        contact_cost: "0.00",
      },
      {
        campaign_id: "k1",
        customer_id: "c",
        contact_group: "treatment",
        contacted_on: "2024-03-15",
        contact_cost: "1.50",
      },
    ]);
  });
});
