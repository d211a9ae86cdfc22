/**
 * Issue 13: one definition of a purchase occasion (case 3), of the life-cycle states over the comparison period
 * (case 2) and of the periods (case 4), each on a small hand-computed fixture through the real runner.
 * docs/definitions.md states the rules these tests check.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  LIFECYCLE_FIXTURE,
  OCCASION_FIXTURE,
  PERIODS_FIXTURE,
  TIME_ZONE_FIXTURE,
} from "./definition-fixtures.ts";
import { makeLake, read, removeLake, run } from "./helpers.ts";

const byCustomer = (rows: Record<string, unknown>[], column: string) =>
  Object.fromEntries(rows.map((r) => [r.customer_id, r[column]]));

describe("a purchase occasion (issue 13, case 3)", () => {
  const AS_OF = "2024-06-30";
  const FIXTURE = OCCASION_FIXTURE;
  const MODELS = ["customer_rfm", "customer_lifecycle", "customer_pyramid"];
  let day: string;
  let order: string;
  beforeAll(async () => {
    day = await makeLake(FIXTURE);
    order = await makeLake(FIXTURE);
    await run(day, { asOf: AS_OF, models: MODELS });
    await run(order, { asOf: AS_OF, models: MODELS, config: { occasions: { unit: "order" } } });
  });
  afterAll(async () => {
    await removeLake(day);
    await removeLake(order);
  });

  it("counts purchase days by default, whatever was refunded, and keeps orders and returns apart", async () => {
    const occasions = await read(day, "int_purchase_occasions", AS_OF, "customer_id, occasion_key");
    expect(
      occasions.map((r) => [
        r.customer_id,
        r.occasion_key,
        r.occasion_on,
        r.purchase_lines,
        r.purchase_amount,
      ]),
    ).toEqual([
      ["ex", "2024-06-01", "2024-06-01", "1", "10.00"],
      ["md", "2024-05-10", "2024-05-10", "2", "25.00"],
      ["od", "2024-06-20", "2024-06-20", "2", "20.00"],
      ["rp", "2024-01-10", "2024-01-10", "1", "10.00"],
      ["rp", "2024-03-10", "2024-03-10", "1", "10.00"],
    ]);
    const base = await read(day, "customer_base", AS_OF, "customer_id");
    expect(base.map((r) => [r.customer_id, r.occasions, r.orders, r.return_orders, r.last_order_on])).toEqual(
      [
        ["ex", "1", "1", "1", "2024-06-01"],
        ["md", "1", "1", "1", "2024-05-10"],
        ["od", "1", "2", "0", "2024-06-20"],
        ["ro", "0", "0", "1", null],
        ["rp", "2", "2", "0", "2024-03-10"],
      ],
    );
    const rfm = await read(day, "customer_rfm", AS_OF, "customer_id");
    expect(byCustomer(rfm, "frequency")).toEqual({ ex: "1", md: "1", od: "1", ro: "0", rp: "2" });
    // 4 buyers; F ranks (RANK, ascending): ex, md, od 1 → 1 + ⌊5 · 0 / 4⌋ = 1; rp 4 → 1 + ⌊5 · 3 / 4⌋ = 4.
    expect(byCustomer(rfm, "f_score")).toEqual({ ex: 1, md: 1, od: 1, ro: null, rp: 4 });
    // The exchange is a purchase 29 days ago, not a lapse; two orders on one day are one occasion.
    const stages = await read(day, "customer_lifecycle", AS_OF, "customer_id");
    expect(byCustomer(stages, "lifecycle_stage")).toEqual({
      ex: "first_time",
      md: "first_time",
      od: "first_time",
      ro: "lapsed",
      rp: "repeat",
    });
    expect(byCustomer(stages, "recency_days")).toMatchObject({ ex: "29" });
    // The pyramid's activity is an occasion in the value window: ex is active (its value is negative), ro is not.
    const pyramid = await read(day, "customer_pyramid", AS_OF, "customer_id");
    expect(byCustomer(pyramid, "value_tier")).toMatchObject({ ex: "small", ro: "inactive" });
    expect(byCustomer(pyramid, "active_customers")).toMatchObject({ ex: "4" });
  });

  it("counts orders with a purchase line when occasions.unit is order", async () => {
    const rfm = await read(order, "customer_rfm", AS_OF, "customer_id");
    expect(byCustomer(rfm, "frequency")).toEqual({ ex: "1", md: "1", od: "2", ro: "0", rp: "2" });
    // F ranks: ex, md 1 → 1; od, rp 3 → 1 + ⌊5 · 2 / 4⌋ = 3.
    expect(byCustomer(rfm, "f_score")).toEqual({ ex: 1, md: 1, od: 3, ro: null, rp: 3 });
    const stages = await read(order, "customer_lifecycle", AS_OF, "customer_id");
    expect(byCustomer(stages, "lifecycle_stage")).toMatchObject({
      od: "repeat",
      ex: "first_time",
      md: "first_time",
    });
  });

  it("refuses the old name loyal_min_orders, naming the new one", async () => {
    const lake = await makeLake(FIXTURE);
    try {
      await expect(
        run(lake, {
          asOf: AS_OF,
          models: ["customer_lifecycle"],
          config: { lifecycle: { loyal_min_orders: 3 } } as never,
        }),
      ).rejects.toThrow(/lifecycle\.loyal_min_orders: renamed lifecycle\.loyal_min_occasions/);
    } finally {
      await removeLake(lake);
    }
  });
});

describe("life-cycle stages as states over the comparison period (issue 13, case 2)", () => {
  // Comparison period: April to June 2024, (2024-03-31, 2024-06-30]; D = 365.
  const AS_OF = "2024-06-30";
  const FIXTURE = LIFECYCLE_FIXTURE;
  let lake: string;
  beforeAll(async () => {
    lake = await makeLake(FIXTURE);
    await run(lake, { asOf: AS_OF, models: ["lifecycle_summary"] });
  });
  afterAll(async () => {
    await removeLake(lake);
  });

  it("keeps won_back for the period of the return", async () => {
    const stages = await read(lake, "customer_lifecycle", AS_OF, "customer_id");
    expect(byCustomer(stages, "lifecycle_stage")).toEqual({
      ac: "repeat",
      lo: "lapsed",
      lr: "won_back",
      nw: "first_time",
      pw: "repeat",
      wb: "won_back",
    });
    expect(byCustomer(stages, "returned_on")).toEqual({
      ac: null,
      lo: null,
      lr: "2024-06-10",
      nw: null,
      pw: "2024-02-01",
      wb: "2024-04-15",
    });
  });

  it("counts lost customers and churn against the customers active at the start", async () => {
    const [summary] = await read(lake, "lifecycle_summary", AS_OF, "period_end_on");
    expect(summary).toMatchObject({
      period_start_on: "2024-03-31",
      period_end_on: "2024-06-30",
      won_back_customers: "2", // lr, wb
      won_back_in_period: "2",
      new_customers: "1", // nw
      lost_customers: "2", // lr, lo
      // Active at the start: lr, pw, ac, lo. At the end: lr, wb, pw, ac, nw.
      active_at_start: "4",
      active_at_end: "5",
      net_customer_change: "1", // 1 + 2 − 2 = 5 − 4
    });
    expect(summary?.churn_rate).toBeCloseTo(2 / 4, 12);
  });

  it("refuses a lapse shorter than the comparison period, which would let churn pass 100 %", async () => {
    const other = await makeLake(FIXTURE);
    try {
      await expect(
        run(other, {
          asOf: AS_OF,
          models: ["lifecycle_summary"],
          config: { lifecycle: { lapsed_after_days: 30 } },
        }),
      ).rejects.toThrow(
        /lifecycle\.lapsed_after_days: 30 days is shorter than the comparison period \(periods\.comparison_months = 3, counted as 93 days, 31 a month\)/,
      );
      // One calendar month of comparison accepts 31 days or more.
      await run(other, {
        asOf: AS_OF,
        models: ["lifecycle_summary"],
        config: { periods: { comparison_months: 1 }, lifecycle: { lapsed_after_days: 31 } },
      });
      const [summary] = await read(other, "lifecycle_summary", AS_OF, "period_end_on");
      // June 2024; D = 31. Active at 2024-05-31 (an occasion in [2024-04-30, 2024-05-31]): ac (05-01), nw (05-05).
      // Both lapse in June (06-02 and 06-06): lost 2. Returns in June: lr (06-10), wb (06-20 after 04-15, 66 days),
      // pw (06-01 after 02-01). Active at the end (occasions in [2024-05-30, 2024-06-30]): lr, wb, pw.
      expect(summary).toMatchObject({
        period_start_on: "2024-05-31",
        active_at_start: "2",
        lost_customers: "2",
        won_back_in_period: "3",
        new_customers: "0",
        net_customer_change: "1",
        active_at_end: "3",
      });
      expect(summary?.churn_rate).toBeCloseTo(1, 12);
    } finally {
      await removeLake(other);
    }
  });
});

describe("periods: calendar months ending with the as-of month (issue 13, case 4)", () => {
  // Value window: the 12 calendar months ending with June 2024, (2023-06-30, 2024-06-15].
  const AS_OF = "2024-06-15";
  const FIXTURE = PERIODS_FIXTURE;
  let lake: string;
  beforeAll(async () => {
    lake = await makeLake(FIXTURE);
    await run(lake, {
      asOf: AS_OF,
      models: ["customer_profitability", "performance_by_category", "lifecycle_summary", "pyramid_migration"],
    });
  });
  afterAll(async () => {
    await removeLake(lake);
  });

  it("gives the value window and the monthly performance rows the same 12 months", async () => {
    const profit = await read(lake, "customer_profitability", AS_OF, "customer_id");
    expect(byCustomer(profit, "revenue")).toEqual({ a: "70.00", b: "30.00" });
    const months = await read(lake, "performance_by_category", AS_OF, "month_start_on, category");
    const last12 = months.filter((r) => String(r.month_start_on) >= "2023-07-01");
    expect(last12.map((r) => [r.month_start_on, r.category, r.revenue])).toEqual([
      ["2023-07-01", "books", "50.00"],
      ["2024-04-01", "books", "30.00"],
      ["2024-06-01", "toys", "20.00"],
    ]);
    // 50 + 30 + 20 = 100 = 70 + 30: the same money under the same label.
  });

  it("starts the comparison period after the last day before its first month", async () => {
    const [summary] = await read(lake, "lifecycle_summary", AS_OF, "period_end_on");
    expect(summary).toMatchObject({
      period_start_on: "2024-03-31",
      period_end_on: "2024-06-15",
      new_customers: "1",
    });
    // At 2024-03-31 (window (2023-03-31, 2024-03-31]) a was active and b unknown; at as-of both are active.
    const moves = await read(lake, "pyramid_migration", AS_OF, "previous_tier_order, current_tier_order");
    expect(
      moves.filter((m) => m.customers !== "0").map((m) => [m.previous_tier, m.current_tier, m.customers]),
    ).toEqual([
      ["top", "top", "1"],
      ["prospect", "small", "1"],
    ]);
  });
});

describe("a business time zone (issue 13, case 7)", () => {
  const AS_OF = "2024-01-31";
  const FIXTURE = TIME_ZONE_FIXTURE;
  const ZONES = ["Etc/UTC", "America/New_York", "Asia/Tokyo"] as const;
  const lakes = new Map<string, string>();
  beforeAll(async () => {
    for (const zone of ZONES) {
      const lake = await makeLake(FIXTURE);
      lakes.set(zone, lake);
      await run(lake, {
        asOf: AS_OF,
        models: ["customer_base"],
        config: { calendar: { time_zone: zone } },
      });
    }
  });
  afterAll(async () => {
    for (const lake of lakes.values()) await removeLake(lake);
  });

  it.each([
    ["Etc/UTC", { c: "2024-01-31", d: "2024-01-30" }],
    ["America/New_York", { a: "2024-01-31", c: "2024-01-30", d: "2024-01-30" }],
    ["Asia/Tokyo", { c: "2024-01-31", d: "2024-01-31" }],
  ])(
    "dates each order on its day in %s, and counts it only when that day is on or before as-of",
    async (zone, days) => {
      const lake = lakes.get(zone) as string;
      const occasions = await read(lake, "int_purchase_occasions", AS_OF, "customer_id");
      expect(Object.fromEntries(occasions.map((r) => [r.customer_id, r.occasion_on]))).toEqual(days);
      const base = await read(lake, "customer_base", AS_OF, "customer_id");
      expect(byCustomer(base, "last_order_on")).toEqual(days);
    },
  );
});
