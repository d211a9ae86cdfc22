import { describe, expect, it } from "vitest";
import { runAndRead } from "./helpers.ts";

describe("cohort_retention", () => {
  it("follows each monthly cohort until the as_of month, across a year boundary", async () => {
    const rows = await runAndRead(
      {
        customers: [{ customer_id: "p", signed_up_at: "2024-01-01" }],
        transactions: [
          { order_id: "k1a", customer_id: "k1", ordered_at: "2024-01-10", amount: "40.00" },
          { order_id: "k1b", customer_id: "k1", ordered_at: "2024-02-05", amount: "10.00" },
          { order_id: "k1c", customer_id: "k1", ordered_at: "2024-03-01", amount: "-5.00", quantity: -1 }, // refund: revenue, not activity
          { order_id: "k2a", customer_id: "k2", ordered_at: "2024-01-25", amount: "20.00" },
          { order_id: "k2b", customer_id: "k2", ordered_at: "2024-03-10", amount: "30.00" },
          { order_id: "k3a", customer_id: "k3", ordered_at: "2024-02-14", amount: "50.00" },
          { order_id: "k4a", customer_id: "k4", ordered_at: "2024-02-01", amount: "-8.00", quantity: -1 }, // no cohort
          { order_id: "k5a", customer_id: "k5", ordered_at: "2023-12-31 23:00:00", amount: "10.00" },
          { order_id: "k5b", customer_id: "k5", ordered_at: "2024-01-01", amount: "5.00" },
          { order_id: "k2c", customer_id: "k2", ordered_at: "2024-03-16", amount: "70.00" }, // after as_of
        ],
      },
      {
        asOf: "2024-03-15",
        models: ["cohort_retention"],
        model: "cohort_retention",
        orderBy: "cohort_month_on, months_since_first",
      },
    );
    const row = (
      cohort: string,
      months: number,
      month: string,
      size: string,
      active: string,
      rate: number,
      revenue: string,
    ) => ({
      cohort_month_on: cohort,
      months_since_first: months,
      month_start_on: month,
      cohort_customers: size,
      active_customers: active,
      retention_rate: rate,
      revenue,
    });
    expect(rows).toEqual([
      // 2023-12 cohort (k5): 12 × (2024 − 2023) + (3 − 12) = 3 months to the as_of month.
      row("2023-12-01", 0, "2023-12-01", "1", "1", 1, "10.00"),
      row("2023-12-01", 1, "2024-01-01", "1", "1", 1, "5.00"),
      row("2023-12-01", 2, "2024-02-01", "1", "0", 0, "0.00"),
      row("2023-12-01", 3, "2024-03-01", "1", "0", 0, "0.00"),
      // 2024-01 cohort (k1, k2): January 40 + 20; February k1 10; March k2 30 (active) and k1's refund −5.
      row("2024-01-01", 0, "2024-01-01", "2", "2", 1, "60.00"),
      row("2024-01-01", 1, "2024-02-01", "2", "1", 0.5, "10.00"),
      row("2024-01-01", 2, "2024-03-01", "2", "1", 0.5, "25.00"),
      // 2024-02 cohort (k3).
      row("2024-02-01", 0, "2024-02-01", "1", "1", 1, "50.00"),
      row("2024-02-01", 1, "2024-03-01", "1", "0", 0, "0.00"),
    ]);
  });
});
