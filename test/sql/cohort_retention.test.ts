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
      reason: string | null = null,
    ) => ({
      cohort_month_on: cohort,
      months_since_first: months,
      month_start_on: month,
      cohort_customers: size,
      active_customers: active,
      retention_rate: rate,
      revenue,
      is_partial: reason !== null,
      partial_reason: reason,
    });
    expect(rows).toEqual([
      // 2023-12 cohort (k5): 12 × (2024 − 2023) + (3 − 12) = 3 months to the as_of month.
      // The history begins on 2023-12-31 and k5 has no sign-up date: the first cohort may hold earlier buyers.
      row("2023-12-01", 0, "2023-12-01", "1", "1", 1, "10.00", "first_cohort"),
      row("2023-12-01", 1, "2024-01-01", "1", "1", 1, "5.00", "first_cohort"),
      row("2023-12-01", 2, "2024-02-01", "1", "0", 0, "0.00", "first_cohort"),
      // March counts up to as_of 2024-03-15 only.
      row("2023-12-01", 3, "2024-03-01", "1", "0", 0, "0.00", "first_cohort, as_of_month"),
      // 2024-01 cohort (k1, k2): January 40 + 20; February k1 10; March k2 30 (active) and k1's refund −5.
      row("2024-01-01", 0, "2024-01-01", "2", "2", 1, "60.00"),
      row("2024-01-01", 1, "2024-02-01", "2", "1", 0.5, "10.00"),
      row("2024-01-01", 2, "2024-03-01", "2", "1", 0.5, "25.00", "as_of_month"),
      // 2024-02 cohort (k3).
      row("2024-02-01", 0, "2024-02-01", "1", "1", 1, "50.00"),
      row("2024-02-01", 1, "2024-03-01", "1", "0", 0, "0.00", "as_of_month"),
    ]);
  });

  it("a first cohort whose customers all signed up on or after the history's first day is a true cohort", async () => {
    const rows = await runAndRead(
      {
        customers: [
          { customer_id: "n1", signed_up_at: "2024-01-10" },
          { customer_id: "n2", signed_up_at: "2024-01-12" },
          { customer_id: "old", signed_up_at: "2023-06-01" },
        ],
        transactions: [
          { order_id: "a", customer_id: "n1", ordered_at: "2024-01-10", amount: "10.00" },
          { order_id: "b", customer_id: "n2", ordered_at: "2024-01-12", amount: "10.00" },
          // Signed up before the history began, first bought in its second month: only the first cohort can absorb.
          { order_id: "c", customer_id: "old", ordered_at: "2024-02-03", amount: "10.00" },
        ],
      },
      {
        asOf: "2024-02-29",
        models: ["cohort_retention"],
        model: "cohort_retention",
        orderBy: "cohort_month_on, months_since_first",
      },
    );
    expect(rows.map((r) => [r.cohort_month_on, r.months_since_first, r.partial_reason])).toEqual([
      ["2024-01-01", 0, null],
      ["2024-01-01", 1, null],
      ["2024-02-01", 0, null],
    ]);
  });
});
