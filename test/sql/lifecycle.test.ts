import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LakeFixture, makeLake, read, removeLake, run, type TransactionFixture } from "./helpers.ts";

const AS_OF = "2024-06-30"; // period: the 3 calendar months ending with June, (2024-03-31, 2024-06-30]; D = 365, N = 4

function orders(customer: string, dates: string[], category = "books"): TransactionFixture[] {
  return dates.map((d, i) => ({
    order_id: `${customer}-${i}`,
    customer_id: customer,
    ordered_at: d,
    amount: "10.00",
    category,
  }));
}

const FIXTURE: LakeFixture = {
  customers: [{ customer_id: "pr", signed_up_at: "2024-01-01" }],
  transactions: [
    ...orders("ft", ["2024-05-10"]),
    ...orders("rp", ["2024-01-10", "2024-03-10"]),
    ...orders("ly", ["2023-09-01", "2023-12-01", "2024-02-01"]),
    { order_id: "ly-3", customer_id: "ly", ordered_at: "2024-06-01", amount: "10.00", category: "toys" },
    ...orders("lp", ["2022-06-01", "2023-05-01"]),
    ...orders("wb", ["2022-01-15"]),
    { order_id: "wb-1", customer_id: "wb", ordered_at: "2024-06-15", amount: "10.00", category: "toys" },
    { order_id: "ro-0", customer_id: "ro", ordered_at: "2024-06-01", amount: "-10.00", quantity: -1 },
    {
      order_id: "od-0",
      customer_id: "od",
      ordered_at: "2024-06-20 09:00:00",
      amount: "10.00",
      category: "music",
    },
    {
      order_id: "od-1",
      customer_id: "od",
      ordered_at: "2024-06-20 17:00:00",
      amount: "10.00",
      category: "books",
    },
    ...orders("ol", ["2021-01-01"]),
    ...orders("cs", ["2024-01-05", "2024-05-05"]),
  ],
};

describe("customer lifecycle", () => {
  let lake: string;
  beforeAll(async () => {
    lake = await makeLake(FIXTURE);
    await run(lake, { asOf: AS_OF, models: ["lifecycle_summary"] });
  });
  afterAll(async () => {
    await removeLake(lake);
  });

  it("assigns each customer one stage by the documented rules", async () => {
    const rows = await read(lake, "customer_lifecycle", AS_OF, "customer_id");
    const row = (
      stage: string,
      occasions: string,
      first: string | null,
      last: string | null,
      previous: string | null,
      recency: string | null,
      gap: string | null,
      relationship: string | null,
      returned: string | null = null,
    ) => ({
      lifecycle_stage: stage,
      occasions,
      first_order_on: first,
      last_order_on: last,
      previous_order_on: previous,
      returned_on: returned,
      recency_days: recency,
      last_gap_days: gap,
      relationship_days: relationship,
    });
    expect(Object.fromEntries(rows.map(({ customer_id, ...rest }) => [customer_id, rest]))).toEqual({
      // 2024-01-05 → 05-05 = 31 + 29 + 31 + 30 = 121; 05-05 → 06-30 = 56.
      cs: row("repeat", "2", "2024-01-05", "2024-05-05", "2024-01-05", "56", "121", "121"),
      // 05-10 → 06-30 = 21 + 30 = 51.
      ft: row("first_time", "1", "2024-05-10", "2024-05-10", null, "51", null, "0"),
      // 2023-05-01 → 2024-06-30 = 366 + 60 = 426 > 365; first to last 365 − 31 = 334.
      lp: row("lapsed", "2", "2022-06-01", "2023-05-01", "2022-06-01", "426", "334", "334"),
      // 4 orders ≥ N; gap 02-01 → 06-01 = 29 + 31 + 30 + 31 = 121; first to last 274.
      ly: row("loyal", "4", "2023-09-01", "2024-06-01", "2024-02-01", "29", "121", "274"),
      // Two orders on one day are one purchase occasion (issue 13, case 3): first_time, where counting orders
      // made od a repeat buyer.
      od: row("first_time", "1", "2024-06-20", "2024-06-20", null, "10", null, "0"),
      // 2021-01-01 → 2024-06-30 = 3 × 365 + 181 = 1276.
      ol: row("lapsed", "1", "2021-01-01", "2021-01-01", null, "1276", null, "0"),
      pr: row("prospect", "0", null, null, null, null, null, null),
      // 2024-01-10 → 03-10 = 21 + 29 + 10 = 60; 03-10 → 06-30 = 112.
      rp: row("repeat", "2", "2024-01-10", "2024-03-10", "2024-01-10", "112", "60", "60"),
      // Refunds only: lapsed.
      ro: row("lapsed", "0", null, null, null, null, null, null),
      // Gap 2022-01-15 → 2024-06-15 = 730 + 152 = 882 > 365: won back.
      wb: row("won_back", "2", "2022-01-15", "2024-06-15", "2022-01-15", "15", "882", "882", "2024-06-15"),
    });
  });

  it("measures the more, longer and deeper growth levers", async () => {
    const [summary] = await read(lake, "lifecycle_summary", AS_OF, "period_end_on");
    expect(summary).toMatchObject({
      period_start_on: "2024-03-31",
      period_end_on: "2024-06-30",
      customers: "9",
      prospects: "1",
      first_time_customers: "2", // ft, od (one purchase day)
      repeat_customers: "2", // rp, cs
      loyal_customers: "1",
      lapsed_customers: "3", // lp, ro, ol
      won_back_customers: "1",
      // More: new = first purchase after 2024-03-31: ft, od. Won back in the period: wb. Lost: lp (active at the
      // start, its last occasion 2023-05-01 being 335 ≤ 365 days before it, lapsed on 2024-05-01); ol was already
      // lapsed.
      new_customers: "2",
      won_back_in_period: "1",
      lost_customers: "1",
      net_customer_change: "2",
      // Active at the start = a purchase occasion in [2023-04-01, 2024-03-31]: rp, ly, lp, cs.
      active_at_start: "4",
      // Active at the end: ft, rp, ly, od, wb, cs = 4 + 2 − 1 + 1 = active_at_start + net_customer_change.
      active_at_end: "6",
      // Deeper: bought before the period and in it: ly, wb, cs; ly and wb bought toys for the first time.
      cross_sell_base: "3",
      cross_sold_customers: "2",
    });
    // Longer: relationship days of buyers 121, 0, 334, 274, 0, 0, 60, 882 → 1671 / 8.
    expect(summary?.avg_relationship_days).toBeCloseTo(1671 / 8, 12);
    expect(summary?.churn_rate).toBeCloseTo(1 / 4, 12);
    // Deeper: categories of the 8 buyers: ly 2, wb 2, od 2, others 1 → 11 / 8; multi-category 3 / 8.
    expect(summary?.avg_categories).toBeCloseTo(11 / 8, 12);
    expect(summary?.multi_category_share).toBeCloseTo(3 / 8, 12);
    expect(summary?.cross_sell_rate).toBeCloseTo(2 / 3, 12);
  });

  it("uses the configured loyalty and lapse thresholds", async () => {
    const other = await makeLake(FIXTURE);
    try {
      await run(other, {
        asOf: AS_OF,
        models: ["customer_lifecycle"],
        config: { lifecycle: { loyal_min_occasions: 2, lapsed_after_days: 100 } },
      });
      const rows = await read(other, "customer_lifecycle", AS_OF, "customer_id");
      // D = 100: rp (recency 112) is lapsed; cs (gap 121 > 100, returned 05-05 in the period) is won back; ly's
      // last gap 121 > 100 → won back; od has one purchase occasion (two orders on one day): first_time.
      expect(Object.fromEntries(rows.map((r) => [r.customer_id, r.lifecycle_stage]))).toEqual({
        cs: "won_back",
        ft: "first_time",
        lp: "lapsed",
        ly: "won_back",
        od: "first_time",
        ol: "lapsed",
        pr: "prospect",
        rp: "lapsed",
        ro: "lapsed",
        wb: "won_back",
      });
    } finally {
      await removeLake(other);
    }
  });
});
