import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hundredCustomers } from "./definition-fixtures.ts";
import { type LakeFixture, makeLake, pick, read, removeLake, run, runAndRead } from "./helpers.ts";

const AS_OF = "2024-06-30"; // value window (2023-06-30, 2024-06-30]; comparison_as_of 2024-03-31 (the day before the 3 calendar months April–June, issue 13)

describe("customer pyramid with the default 1/4/15/80 % cut-offs", () => {
  let lake: string;
  beforeAll(async () => {
    lake = await makeLake(hundredCustomers());
    await run(lake, { asOf: AS_OF, models: ["customer_pyramid", "pyramid_summary", "whale_curve"] });
  });
  afterAll(async () => {
    await removeLake(lake);
  });

  // Issue 13, case 1: ties share a tier. Equal values take the lowest rank among them (RANK()), so a tie that
  // straddles a cut-off goes wholly to the higher tier. (Before, ROW_NUMBER broke ties by customer_id and
  // c002, c006 and c021 fell one tier below their equals c001, c005 and c020 because of their ids alone.)
  it("gives equal values at the tier edges the same rank and tier", async () => {
    const rows = await read(lake, "customer_pyramid", AS_OF, "customer_id");
    const tier = Object.fromEntries(rows.map((r) => [r.customer_id, r.value_tier]));
    // n = 100: top = ranks ≤ ceil(1), big ≤ ceil(5), medium ≤ ceil(20), small the rest.
    // Ranks: c001 = c002 = 1, c003 3, c004 4, c005 = c006 = 5, c007 7, …, c020 = c021 = 20, c022 22, …
    expect([tier.c001, tier.c002, tier.c003]).toEqual(["top", "top", "big"]); // c001, c002 both 300.00 of margin
    expect([tier.c005, tier.c006, tier.c007]).toEqual(["big", "big", "medium"]); // c005, c006 both 288.00
    expect([tier.c020, tier.c021, tier.c022]).toEqual(["medium", "medium", "small"]); // c020, c021 both 243.00
    expect([tier.c100, tier.z_inactive, tier.z_returns, tier.z_prospect]).toEqual([
      "small",
      "inactive",
      "inactive",
      "prospect",
    ]);
    const counts: Record<string, number> = {};
    for (const r of rows) counts[String(r.value_tier)] = (counts[String(r.value_tier)] ?? 0) + 1;
    // top c001–c002, big c003–c006, medium c007–c021, small c022–c100.
    expect(counts).toEqual({ top: 2, big: 4, medium: 15, small: 79, inactive: 2, prospect: 1 });
    expect(
      pick(rows.slice(0, 2), [
        "customer_id",
        "value_measure",
        "value",
        "value_rank",
        "active_customers",
        "revenue",
        "gross_margin",
        "net_profit",
      ]),
    ).toEqual([
      // margin 1000 × 0.3 = 300; net profit 300 − 5 (one order).
      {
        customer_id: "c001",
        value_measure: "gross_margin",
        value: "300.00",
        value_rank: "1",
        active_customers: "100",
        revenue: "1000.00",
        gross_margin: "300.00",
        net_profit: "295.00",
      },
      {
        customer_id: "c002",
        value_measure: "gross_margin",
        value: "300.00",
        value_rank: "1",
        active_customers: "100",
        revenue: "1000.00",
        gross_margin: "300.00",
        net_profit: "295.00",
      },
    ]);
    expect(
      pick(
        rows.filter((r) => String(r.customer_id).startsWith("z_")),
        ["customer_id", "value", "value_rank", "revenue"],
      ),
    ).toEqual([
      { customer_id: "z_inactive", value: "0.00", value_rank: null, revenue: "0.00" },
      { customer_id: "z_prospect", value: "0.00", value_rank: null, revenue: "0.00" },
      { customer_id: "z_returns", value: "-15.00", value_rank: null, revenue: "-50.00" },
    ]);
  });

  it("summarises customers, revenue and margin per tier with their shares", async () => {
    const rows = await read(lake, "pyramid_summary", AS_OF, "tier_order");
    // Ties share a tier (see above). top: c001 + c002 = 2000. big: c003..c006 = 980 + 970 + 960 + 960 = 3870.
    // medium: Σ_{i=7..20}(1010 − 10 i) + c021 810 = 14 × 1010 − 10 × 189 + 810 = 13060.
    // small: Σ_{i=22..100}(1010 − 10 i) = 79 × 1010 − 10 × 4819 = 31600.
    // inactive: the refund −50. Total revenue 50480, margin 0.3 × 50480 = 15144; customers 103.
    expect(pick(rows, ["tier_order", "value_tier", "customers", "revenue", "gross_margin"])).toEqual([
      { tier_order: 1, value_tier: "top", customers: "2", revenue: "2000.00", gross_margin: "600.00" },
      { tier_order: 2, value_tier: "big", customers: "4", revenue: "3870.00", gross_margin: "1161.00" },
      { tier_order: 3, value_tier: "medium", customers: "15", revenue: "13060.00", gross_margin: "3918.00" },
      { tier_order: 4, value_tier: "small", customers: "79", revenue: "31600.00", gross_margin: "9480.00" },
      { tier_order: 5, value_tier: "inactive", customers: "2", revenue: "-50.00", gross_margin: "-15.00" },
      { tier_order: 6, value_tier: "prospect", customers: "1", revenue: "0.00", gross_margin: "0.00" },
    ]);
    const top = rows[0];
    expect(top?.customer_share).toBeCloseTo(2 / 103, 12);
    expect(top?.revenue_share).toBeCloseTo(2000 / 50480, 12);
    expect(top?.margin_share).toBeCloseTo(600 / 15144, 12);
    expect(rows[4]?.revenue_share).toBeCloseTo(-50 / 50480, 12);
  });

  it("draws the whale curve, peaking above 100 % when some customers lose money", async () => {
    const rows = await read(lake, "whale_curve", AS_OF, "customer_percentile");
    expect(rows).toHaveLength(100);
    // n = 101 customers in the window (100 buyers + z_returns). Net profit: buyer 0.3 × amount − 5;
    // z_returns −15 − 10 (one return order) = −25. Total = 0.3 × 50530 − 500 − 25 = 14634.
    // p = 1 covers ceil(1.01) = 2 customers: 295 + 295 = 590. p = 99 covers ceil(99.99) = 100: every buyer,
    // 15159 − 500 = 14659 > 14634. p = 100 covers all 101.
    expect(
      pick(
        [rows[0], rows[98], rows[99]].filter((r) => r !== undefined),
        ["customer_percentile", "customers", "total_customers", "cumulative_net_profit", "total_net_profit"],
      ),
    ).toEqual([
      {
        customer_percentile: 1,
        customers: "2",
        total_customers: "101",
        cumulative_net_profit: "590.00",
        total_net_profit: "14634.00",
      },
      {
        customer_percentile: 99,
        customers: "100",
        total_customers: "101",
        cumulative_net_profit: "14659.00",
        total_net_profit: "14634.00",
      },
      {
        customer_percentile: 100,
        customers: "101",
        total_customers: "101",
        cumulative_net_profit: "14634.00",
        total_net_profit: "14634.00",
      },
    ]);
    expect(rows[0]?.cumulative_profit_share).toBeCloseTo(590 / 14634, 12);
    expect(rows[98]?.cumulative_profit_share).toBeCloseTo(14659 / 14634, 12);
    expect(Number(rows[98]?.cumulative_profit_share)).toBeGreaterThan(1);
    expect(rows[99]?.cumulative_profit_share).toBe(1);
    expect(rows.every((r) => r.share_null_reason === null)).toBe(true); // total > 0: shares are published
  });
});

describe("pyramid_migration", () => {
  // Cut-offs 25/25/25 % so that a handful of customers fill every tier.
  const config = { pyramid: { top_share: 0.25, big_share: 0.25, medium_share: 0.25 } };
  const fixture: LakeFixture = {
    customers: [{ customer_id: "m6", signed_up_at: "2024-05-01" }],
    transactions: [
      { order_id: "m1a", customer_id: "m1", ordered_at: "2024-03-01", amount: "100.00" },
      { order_id: "m1b", customer_id: "m1", ordered_at: "2024-06-01", amount: "10.00" },
      { order_id: "m2a", customer_id: "m2", ordered_at: "2024-03-15", amount: "50.00" },
      { order_id: "m2b", customer_id: "m2", ordered_at: "2024-06-10", amount: "200.00" },
      { order_id: "m3a", customer_id: "m3", ordered_at: "2024-02-01", amount: "30.00" },
      { order_id: "m4a", customer_id: "m4", ordered_at: "2024-05-05", amount: "70.00" },
      { order_id: "m5a", customer_id: "m5", ordered_at: "2023-03-01", amount: "40.00" },
    ],
  };

  it("counts customers and revenue per (tier at comparison_as_of, tier now) cell, all 36 cells", async () => {
    const rows = await runAndRead(fixture, {
      asOf: AS_OF,
      models: ["pyramid_migration"],
      config,
      model: "pyramid_migration",
      orderBy: "previous_tier_order, current_tier_order",
    });
    expect(rows).toHaveLength(36);
    // At 2024-03-31 (window (2023-03-31, 2024-03-31]): active m1 (margin 30), m2 (15), m3 (9); n = 3:
    //   top ≤ ceil(0.75) = 1 → m1; big ≤ ceil(1.5) = 2 → m2; medium ≤ ceil(2.25) = 3 → m3. m5 inactive (2023-03-01
    //   is outside the window); m4 and m6 were not known yet → prospect.
    // At 2024-06-30: active m2 (75), m1 (33), m4 (21), m3 (9); n = 4: top m2, big m1, medium m4, small m3.
    expect(
      pick(
        rows.filter((r) => r.customers !== "0"),
        ["previous_tier", "current_tier", "customers", "revenue", "previous_revenue"],
      ),
    ).toEqual([
      {
        previous_tier: "top",
        current_tier: "big",
        customers: "1",
        revenue: "110.00",
        previous_revenue: "100.00",
      },
      {
        previous_tier: "big",
        current_tier: "top",
        customers: "1",
        revenue: "250.00",
        previous_revenue: "50.00",
      },
      {
        previous_tier: "medium",
        current_tier: "small",
        customers: "1",
        revenue: "30.00",
        previous_revenue: "30.00",
      },
      {
        previous_tier: "inactive",
        current_tier: "inactive",
        customers: "1",
        revenue: "0.00",
        previous_revenue: "0.00",
      },
      {
        previous_tier: "prospect",
        current_tier: "medium",
        customers: "1",
        revenue: "70.00",
        previous_revenue: "0.00",
      },
      {
        previous_tier: "prospect",
        current_tier: "prospect",
        customers: "1",
        revenue: "0.00",
        previous_revenue: "0.00",
      },
    ]);
    expect(
      pick(
        [rows[0], rows[35]].filter((r) => r !== undefined),
        ["previous_tier_order", "previous_tier", "current_tier_order", "current_tier", "customers"],
      ),
    ).toEqual([
      {
        previous_tier_order: 1,
        previous_tier: "top",
        current_tier_order: 1,
        current_tier: "top",
        customers: "0",
      },
      {
        previous_tier_order: 6,
        previous_tier: "prospect",
        current_tier_order: 6,
        current_tier: "prospect",
        customers: "1",
      },
    ]);
  });

  it("int_customer_value computes both periods; customers not yet known are absent from the comparison", async () => {
    const rows = await runAndRead(fixture, {
      asOf: AS_OF,
      models: ["int_customer_value"],
      config,
      model: "int_customer_value",
      orderBy: "period, customer_id",
    });
    expect(
      pick(
        rows.filter((r) => r.period === "comparison"),
        [
          "customer_id",
          "reference_on",
          "window_start_on",
          "has_history",
          "window_lines",
          "orders",
          "revenue",
          "gross_margin",
          "cost_to_serve",
          "net_profit",
          "is_active",
          "value",
          "value_rank",
          "active_customers",
          "value_tier",
        ],
      ),
    ).toEqual([
      {
        customer_id: "m1",
        reference_on: "2024-03-31",
        window_start_on: "2023-03-31",
        has_history: true,
        window_lines: "1",
        orders: "1",
        revenue: "100.00",
        gross_margin: "30.00",
        cost_to_serve: "5.00",
        net_profit: "25.00",
        is_active: true,
        value: "30.00",
        value_rank: "1",
        active_customers: "3",
        value_tier: "top",
      },
      {
        customer_id: "m2",
        reference_on: "2024-03-31",
        window_start_on: "2023-03-31",
        has_history: true,
        window_lines: "1",
        orders: "1",
        revenue: "50.00",
        gross_margin: "15.00",
        cost_to_serve: "5.00",
        net_profit: "10.00",
        is_active: true,
        value: "15.00",
        value_rank: "2",
        active_customers: "3",
        value_tier: "big",
      },
      {
        customer_id: "m3",
        reference_on: "2024-03-31",
        window_start_on: "2023-03-31",
        has_history: true,
        window_lines: "1",
        orders: "1",
        revenue: "30.00",
        gross_margin: "9.00",
        cost_to_serve: "5.00",
        net_profit: "4.00",
        is_active: true,
        value: "9.00",
        value_rank: "3",
        active_customers: "3",
        value_tier: "medium",
      },
      {
        customer_id: "m5",
        reference_on: "2024-03-31",
        window_start_on: "2023-03-31",
        has_history: true,
        window_lines: "0",
        orders: "0",
        revenue: "0.00",
        gross_margin: "0.00",
        cost_to_serve: "0.00",
        net_profit: "0.00",
        is_active: false,
        value: "0.00",
        value_rank: null,
        active_customers: "3",
        value_tier: "inactive",
      },
    ]);
    expect(rows.filter((r) => r.period === "current").map((r) => r.customer_id)).toEqual([
      "m1",
      "m2",
      "m3",
      "m4",
      "m5",
      "m6",
    ]);
  });

  it("ranks on net revenue when the config says so", async () => {
    const rows = await runAndRead(fixture, {
      asOf: AS_OF,
      models: ["customer_pyramid"],
      config: { ...config, pyramid: { ...config.pyramid, value_measure: "net_revenue" } },
      model: "customer_pyramid",
      orderBy: "customer_id",
    });
    expect(pick(rows, ["customer_id", "value_tier", "value_measure", "value"])).toEqual([
      { customer_id: "m1", value_tier: "big", value_measure: "net_revenue", value: "110.00" },
      { customer_id: "m2", value_tier: "top", value_measure: "net_revenue", value: "250.00" },
      { customer_id: "m3", value_tier: "small", value_measure: "net_revenue", value: "30.00" },
      { customer_id: "m4", value_tier: "medium", value_measure: "net_revenue", value: "70.00" },
      { customer_id: "m5", value_tier: "inactive", value_measure: "net_revenue", value: "0.00" },
      { customer_id: "m6", value_tier: "prospect", value_measure: "net_revenue", value: "0.00" },
    ]);
  });
});
