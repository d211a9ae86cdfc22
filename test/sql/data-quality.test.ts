/**
 * Issue 16: non-product lines (stg_order_lines, stg_transactions, non_product_lines), exact duplicate lines
 * (data_quality) and history checks (history_checks), on fixtures computed by hand, through the real runner.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LakeFixture, makeLake, pick, read, removeLake, run, runAndRead } from "./helpers.ts";

const AS_OF = "2024-03-31";

// c1 pays postage on o1 and gets a discount line on o2; c3 has a manual adjustment only; c2's line is
// delivered twice, exactly; c2's lines have no line_type (NULL: a product line).
const FIXTURE: LakeFixture = {
  transactions: [
    {
      order_id: "o1",
      customer_id: "c1",
      ordered_at: "2024-01-10",
      product_id: "P1",
      amount: "100.00",
      line_type: "product",
    },
    {
      order_id: "o1",
      customer_id: "c1",
      ordered_at: "2024-01-10",
      product_id: "POST",
      amount: "10.00",
      line_type: "non_product",
    },
    {
      order_id: "o2",
      customer_id: "c1",
      ordered_at: "2024-02-10",
      product_id: "P2",
      amount: "50.00",
      line_type: "product",
    },
    {
      order_id: "o2",
      customer_id: "c1",
      ordered_at: "2024-02-10",
      product_id: "D",
      amount: "-5.00",
      quantity: -1,
      line_type: "non_product",
    },
    {
      order_id: "o3",
      customer_id: "c2",
      ordered_at: "2024-01-15",
      product_id: "P1",
      amount: "30.00",
      line_type: null,
    },
    {
      order_id: "o3",
      customer_id: "c2",
      ordered_at: "2024-01-15",
      product_id: "P1",
      amount: "30.00",
      line_type: null,
    },
    {
      order_id: "o4",
      customer_id: "c3",
      ordered_at: "2024-02-01",
      product_id: "M",
      amount: "20.00",
      line_type: "non_product",
    },
    {
      order_id: "o5",
      customer_id: "c4",
      ordered_at: "2024-03-05",
      product_id: "P3",
      amount: "40.00",
      line_type: "product",
    },
  ],
};

describe("non-product lines and duplicates", () => {
  let lake: string;
  beforeAll(async () => {
    lake = await makeLake(FIXTURE);
    await run(lake, {
      asOf: AS_OF,
      models: [
        "stg_order_lines",
        "customer_base",
        "customer_rfm",
        "int_customer_value",
        "performance_by_category",
        "non_product_lines",
        "data_quality",
      ],
    });
  });
  afterAll(async () => {
    await removeLake(lake);
  });

  it("leave customer value, orders and RFM monetary: products only, duplicates counted twice", async () => {
    // c1: 100 + 50 (POST and D left out); c2: 30 twice (kept duplicates count); c3 has no product line.
    expect(
      pick(await read(lake, "customer_base", AS_OF, "customer_id"), [
        "customer_id",
        "orders",
        "lines",
        "net_revenue",
      ]),
    ).toEqual([
      { customer_id: "c1", orders: "2", lines: "2", net_revenue: "150.00" },
      { customer_id: "c2", orders: "1", lines: "2", net_revenue: "60.00" },
      { customer_id: "c4", orders: "1", lines: "1", net_revenue: "40.00" },
    ]);
    expect(pick(await read(lake, "customer_rfm", AS_OF, "customer_id"), ["customer_id", "monetary"])).toEqual(
      [
        { customer_id: "c1", monetary: "150.00" },
        { customer_id: "c2", monetary: "60.00" },
        { customer_id: "c4", monetary: "40.00" },
      ],
    );
    const value = (await read(lake, "int_customer_value", AS_OF, "customer_id")).filter(
      (r) => r.period === "current",
    );
    expect(pick(value, ["customer_id", "window_lines", "revenue"])).toEqual([
      { customer_id: "c1", window_lines: "2", revenue: "150.00" },
      { customer_id: "c2", window_lines: "2", revenue: "60.00" },
      { customer_id: "c4", window_lines: "1", revenue: "40.00" },
    ]);
  });

  it("leave product performance", async () => {
    expect(
      pick(await read(lake, "performance_by_category", AS_OF, "month_start_on"), [
        "month_start_on",
        "revenue",
        "orders",
      ]),
    ).toEqual([
      { month_start_on: "2024-01-01", revenue: "160.00", orders: "2" },
      { month_start_on: "2024-02-01", revenue: "50.00", orders: "1" },
      { month_start_on: "2024-03-01", revenue: "40.00", orders: "1" },
    ]);
  });

  it("are reported on their own in non_product_lines", async () => {
    expect(await read(lake, "non_product_lines", AS_OF, "product_id")).toEqual([
      {
        product_id: "D",
        lines: "1",
        orders: "1",
        customers: "1",
        net_amount: "-5.00",
        charged_amount: "0.00",
        credited_amount: "5.00",
        first_ordered_on: "2024-02-10",
        last_ordered_on: "2024-02-10",
      },
      {
        product_id: "M",
        lines: "1",
        orders: "1",
        customers: "1",
        net_amount: "20.00",
        charged_amount: "20.00",
        credited_amount: "0.00",
        first_ordered_on: "2024-02-01",
        last_ordered_on: "2024-02-01",
      },
      {
        product_id: "POST",
        lines: "1",
        orders: "1",
        customers: "1",
        net_amount: "10.00",
        charged_amount: "10.00",
        credited_amount: "0.00",
        first_ordered_on: "2024-01-10",
        last_ordered_on: "2024-01-10",
      },
    ]);
  });

  it("data_quality counts the duplicate line and the non-product lines of the drop", async () => {
    // The fixture's lines carry drop_id "fixture"; the ledger lists the drop as "fixture-transactions" (no lines).
    expect(await read(lake, "data_quality", AS_OF, "drop_id")).toEqual([
      {
        drop_id: "fixture",
        ingest_seq: "0",
        lines: "8",
        ledger_duplicate_lines: null,
        duplicate_lines: "1",
        duplicate_amount: "30.00",
        lines_in_other_drops: "0",
        counted_lines: "8",
        counted_duplicate_lines: "1",
        counted_duplicate_amount: "30.00",
        non_product_lines: "3",
        non_product_amount: "25.00",
      },
      {
        drop_id: "fixture-transactions",
        ingest_seq: "1",
        lines: "0",
        ledger_duplicate_lines: null,
        duplicate_lines: "0",
        duplicate_amount: "0.00",
        lines_in_other_drops: "0",
        counted_lines: "0",
        counted_duplicate_lines: "0",
        counted_duplicate_amount: "0.00",
        non_product_lines: "0",
        non_product_amount: "0.00",
      },
    ]);
  });
});

describe("history_checks", () => {
  it("flags every rule the history is too short for, and the partial first month and cohort", async () => {
    const rows = await runAndRead(FIXTURE, {
      asOf: AS_OF,
      models: ["history_checks"],
      model: "history_checks",
      orderBy: "check_code",
    });
    // History from 2024-01-10 (the POST line counts: any order line). As of 2024-03-31 with the defaults
    // (value window 12 months, comparison 3 months, lapse 365 days):
    expect(pick(rows, ["check_code", "needed_from_on", "history_from_on", "is_sufficient"])).toEqual([
      // The as-of date is the month's last day: the as-of month is whole.
      { check_code: "as_of_month", needed_from_on: null, history_from_on: "2024-01-10", is_sufficient: true },
      // comparison_as_of = 2023-12-31: the period starts on 2024-01-01.
      {
        check_code: "comparison_period",
        needed_from_on: "2024-01-01",
        history_from_on: "2024-01-10",
        is_sufficient: false,
      },
      // The value window at 2023-12-31 starts after 2022-12-31.
      {
        check_code: "comparison_value_window",
        needed_from_on: "2023-01-01",
        history_from_on: "2024-01-10",
        is_sufficient: false,
      },
      // The first cohort (January: c1, c2) has no sign-up dates.
      {
        check_code: "first_cohort",
        needed_from_on: null,
        history_from_on: "2024-01-10",
        is_sufficient: false,
      },
      {
        check_code: "first_month",
        needed_from_on: null,
        history_from_on: "2024-01-10",
        is_sufficient: false,
      },
      // Active at 2023-12-31 means an occasion in (2023-12-31 − 365 days, 2023-12-31]: from 2023-01-01.
      {
        check_code: "lifecycle_churn",
        needed_from_on: "2023-01-01",
        history_from_on: "2024-01-10",
        is_sufficient: false,
      },
      // Lapsed at 2024-03-31: an occasion on or before 2024-03-31 − 366 days = 2023-03-31.
      {
        check_code: "lifecycle_lapse",
        needed_from_on: "2023-03-31",
        history_from_on: "2024-01-10",
        is_sufficient: false,
      },
      // The value window starts after 2023-03-31.
      {
        check_code: "value_window",
        needed_from_on: "2023-04-01",
        history_from_on: "2024-01-10",
        is_sufficient: false,
      },
    ]);
    const message = (code: string) => rows.find((r) => r.check_code === code)?.message;
    expect(message("as_of_month")).toBeNull();
    // 2023-04-01 → 2024-01-10: 275 days to 2024-01-01, and 9 more.
    expect(message("value_window")).toBe(
      "The rule reads from 2023-04-01 but the history begins on 2024-01-10 (284 days later): customers whose earlier purchases are missing are counted as if they had none.",
    );
    expect(message("first_cohort")).toBe(
      "The first cohort, 2024-01-01, holds 2 customers, 2 of them without a sign-up date on or after the first day of the history: it absorbs every customer acquired before the data began.",
    );
    expect(message("first_month")).toBe("The history begins on 2024-01-10: its first month is partial.");
  });

  it("passes every check when the history covers the rules, and marks a partial as-of month", async () => {
    const config = {
      periods: { value_window_months: 3, comparison_months: 1 },
      lifecycle: { lapsed_after_days: 40 },
    };
    const fixture: LakeFixture = {
      customers: [{ customer_id: "c1", signed_up_at: "2023-10-01" }],
      transactions: [
        { order_id: "o1", customer_id: "c1", ordered_at: "2023-10-01", amount: "10.00" },
        { order_id: "o2", customer_id: "c2", ordered_at: "2023-11-15", amount: "10.00" },
      ],
    };
    // As of 2024-03-31: value window from 2024-01-01, comparison period from 2024-03-01, comparison value window
    // from 2023-12-01, lapse from 2024-02-19, churn from 2024-02-29 − 39 days = 2024-01-21; all after 2023-10-01.
    const whole = await runAndRead(fixture, {
      asOf: "2024-03-31",
      models: ["history_checks"],
      model: "history_checks",
      orderBy: "check_code",
      config,
    });
    expect(whole.filter((r) => r.is_sufficient !== true)).toEqual([]);
    expect(whole.every((r) => r.message === null)).toBe(true);
    const partial = await runAndRead(fixture, {
      asOf: "2024-03-30",
      models: ["history_checks"],
      model: "history_checks",
      orderBy: "check_code",
      config,
    });
    expect(partial.filter((r) => r.is_sufficient !== true).map((r) => [r.check_code, r.message])).toEqual([
      ["as_of_month", "The as-of month counts up to 2024-03-30 only: its monthly rows are partial."],
    ]);
  });
});
