/**
 * campaign_results (a TypeScript stage over int_campaign_arms) through the real runner, against figures worked
 * out by hand from the fixture below. Student quantiles and p-values come from mpmath 1.3.0 (30 digits):
 * tsf(t, ν) = betainc(ν/2, ½, 0, ν/(ν + t²), regularized=True)/2, the quantile by findroot on it.
 */
import { describe, expect, it } from "vitest";
import { type LakeFixture, pick, runAndRead } from "./helpers.ts";

const Z975 = 1.959963984540054;
const Z80 = 0.8416212335729142;

// A: 4 treated (t1–t4) and 4 held out (c1–c4), cost 10 + 1 per treated contact. c4 is listed in both groups in
// the same drop (the later line, control, is kept). Campaign C treats t2 on 2024-03-20, inside A's window.
// B: treats u1, u2 and shares A's control group c1–c4; no cost. C: one treated customer, no control, no cost.
// D: three against three, nobody ever bought.
const FIXTURE: LakeFixture = {
  campaigns: [
    {
      campaign_id: "A",
      starts_on: "2024-03-01",
      ends_on: "2024-03-31",
      cost_per_contact: "1.00",
      fixed_cost: "10.00",
    },
    { campaign_id: "B", starts_on: "2024-03-10", ends_on: "2024-04-10" },
    { campaign_id: "C", starts_on: "2024-03-20", ends_on: "2024-04-20" },
    { campaign_id: "D", starts_on: "2024-03-01", ends_on: "2024-03-31", fixed_cost: "5.00" },
  ],
  campaign_contacts: [
    ...["t1", "t2", "t3", "t4"].map((id) => ({
      campaign_id: "A",
      customer_id: id,
      group: "treatment" as const,
    })),
    ...["c1", "c2", "c3"].map((id) => ({ campaign_id: "A", customer_id: id, group: "control" as const })),
    { campaign_id: "A", customer_id: "c4", group: "treatment" },
    { campaign_id: "A", customer_id: "c4", group: "control" },
    ...["u1", "u2"].map((id) => ({ campaign_id: "B", customer_id: id, group: "treatment" as const })),
    ...["c1", "c2", "c3", "c4"].map((id) => ({
      campaign_id: "B",
      customer_id: id,
      group: "control" as const,
    })),
    { campaign_id: "C", customer_id: "t2", group: "treatment" },
    ...["d1", "d2", "d3"].map((id) => ({ campaign_id: "D", customer_id: id, group: "treatment" as const })),
    ...["d4", "d5", "d6"].map((id) => ({ campaign_id: "D", customer_id: id, group: "control" as const })),
  ],
  // Costs are half the amounts, so every margin is half the revenue.
  transactions: [
    { order_id: "p1", customer_id: "t1", ordered_at: "2024-01-10", amount: "50.00", cost: "25.00" },
    { order_id: "p2", customer_id: "c1", ordered_at: "2023-12-01", amount: "20.00", cost: "10.00" },
    { order_id: "p3", customer_id: "c1", ordered_at: "2024-02-01", amount: "40.00", cost: "20.00" },
    { order_id: "o1", customer_id: "t1", ordered_at: "2024-03-05 10:00:00", amount: "30.00", cost: "15.00" },
    { order_id: "o2", customer_id: "t2", ordered_at: "2024-03-06", amount: "10.00", cost: "5.00" },
    { order_id: "o3", customer_id: "t3", ordered_at: "2024-03-07", amount: "20.00", cost: "10.00" },
    { order_id: "o4", customer_id: "t3", ordered_at: "2024-03-08", amount: "-5.00", cost: "-2.50" },
    { order_id: "o5", customer_id: "c1", ordered_at: "2024-03-15", amount: "10.00", cost: "5.00" },
    { order_id: "o6", customer_id: "u1", ordered_at: "2024-03-12", amount: "8.00", cost: "4.00" },
    // After A's window: neither a response nor revenue for A.
    { order_id: "o7", customer_id: "t4", ordered_at: "2024-04-05", amount: "100.00", cost: "50.00" },
    // A refund alone is no response, but it is net revenue (c2: −4 in A's window).
    { order_id: "o8", customer_id: "c2", ordered_at: "2024-03-09", amount: "-4.00", cost: "-2.00" },
  ],
};

function relative(actual: unknown, expected: number, tolerance = 1e-12): void {
  expect(typeof actual, `expected a number, got ${String(actual)}`).toBe("number");
  expect(Math.abs((actual as number) - expected) / Math.abs(expected)).toBeLessThanOrEqual(tolerance);
}

describe("campaign_results", () => {
  it("compares treatment with control: rates, revenue, money, guards", async () => {
    const rows = await runAndRead(FIXTURE, {
      asOf: "2024-04-30",
      models: ["campaign_results"],
      model: "campaign_results",
      orderBy: "campaign_id",
    });
    const [a, b, c, d] = rows;
    if (a === undefined || b === undefined || c === undefined || d === undefined) throw new Error("4 rows");

    // A. Responders: t1, t2, t3 (t3's refund does not undo its purchase); c1 only (c2's refund is no purchase).
    expect(
      pick([a], ["campaign_id", "treatment_n", "control_n", "treatment_responders", "control_responders"]),
    ).toEqual([
      {
        campaign_id: "A",
        treatment_n: "4",
        control_n: "4",
        treatment_responders: "3",
        control_responders: "1",
      },
    ]);
    expect(a.treatment_response_rate).toBe(0.75);
    expect(a.control_response_rate).toBe(0.25);
    expect(a.response_uplift).toBe(0.5);
    // Wald: 0.5 ± z·√(0.75·0.25/4 + 0.25·0.75/4) = 0.5 ± z·√0.09375.
    relative(a.response_uplift_ci_low, 0.5 - Z975 * Math.sqrt(0.09375));
    relative(a.response_uplift_ci_high, 0.5 + Z975 * Math.sqrt(0.09375));
    // Pooled rate ½: z = 0.5/√(¼·(¼ + ¼)) = √2, p = 2Φ(−√2) (mpmath 2*ncdf(-sqrt(2))).
    relative(a.response_p_value, 0.15729920705028513);
    relative(a.response_mde, (Z975 + Z80) * Math.sqrt(0.125));
    // Revenue: treated 30, 10, 15, 0 (mean 13.75, variance 468.75/3 = 156.25); control 10, −4, 0, 0 (mean 1.5,
    // variance (8.5² + 5.5² + 1.5² + 1.5²)/3 = 107/3).
    expect(a.treatment_revenue_per_customer).toBe(13.75);
    expect(a.control_revenue_per_customer).toBe(1.5);
    expect(a.revenue_uplift_per_customer).toBe(12.25);
    // Welch: se² = 156.25/4 + (107/3)/4 = 47.9791666…, df = se⁴/((39.0625² + (107/12)²)/3) = 4.3017703806…;
    // t(0.975, df) = 2.7012936513854298 (mpmath), p = 2·tsf(12.25/se, df).
    const se = Math.sqrt(156.25 / 4 + 107 / 12);
    relative(a.revenue_uplift_ci_low, 12.25 - 2.70129365138543 * se, 1e-11);
    relative(a.revenue_uplift_ci_high, 12.25 + 2.70129365138543 * se, 1e-11);
    relative(a.revenue_p_value, 0.1466534584871429, 1e-11);
    relative(a.revenue_mde, (Z975 + Z80) * se);
    // Money: 4 × 0.5 responders; 4 × 12.25 revenue; margins are halves: 4 × 6.125 = 24.5; cost 10 + 4 × 1 = 14.
    expect(a.incremental_responders).toBe(2);
    expect(a.incremental_revenue).toBe(49);
    expect(a.incremental_margin).toBe(24.5);
    expect(a.campaign_cost).toBe("14.00");
    relative(a.roi, (24.5 - 14) / 14);
    // ROI interval: the margin's Welch interval (half the revenue's, same df) × 4, less 14, over 14.
    relative(a.roi_ci_low, (4 * (6.125 - (2.70129365138543 * se) / 2) - 14) / 14, 1e-11);
    relative(a.roi_ci_high, (4 * (6.125 + (2.70129365138543 * se) / 2) - 14) / 14, 1e-11);
    // CUPED on pre-period spend x (treated 50, 0, 0, 0; control 60, 0, 0, 0) with revenue y as above. Centred
    // sums within the groups: S_xx = 1875 and 2700, S_xy = 812.5 and 510, so θ = 1322.5/4575 = 0.28907103825…
    // Adjusted difference 12.25 − θ·(12.5 − 15) = 12.97267759562841; adjusted variances s_y² − 2θ s_xy + θ² s_x²
    // = 51.896145002836752 and 12.588372301352683; Welch with them (mpmath 1.3.0, 30 digits): se =
    // 4.0151126168573851, ν = 4.3745343489764574, interval [2.1914454175149488, 23.753909773741882],
    // p = 0.028085587814207262; variance reduction 1 − se²/47.9791666… = 0.66399730453744107.
    relative(a.cuped_theta, 1322.5 / 4575);
    relative(a.cuped_revenue_uplift_per_customer, 12.25 + (2.5 * 1322.5) / 4575);
    relative(a.cuped_revenue_uplift_ci_low, 2.1914454175149487, 1e-11);
    relative(a.cuped_revenue_uplift_ci_high, 23.75390977374188, 1e-11);
    relative(a.cuped_revenue_p_value, 0.028085587814207263, 1e-11);
    relative(a.cuped_variance_reduction, 0.6639973045374411, 1e-11);
    // No planned share in the campaign record (nor even the column, as in files ingested before it existed).
    expect([a.planned_control_share, a.sample_ratio_p_value]).toEqual([null, null]);
    // Guards: c4 in both groups, t2 treated by C within A's window: 2 contaminated customers. Pre-period orders:
    // treated 1, 0, 0, 0 (mean ¼, variance ¼), control 2, 0, 0, 0 (mean ½, variance 1): SMD −0.25/√0.625; spend
    // (50 against 60) and recency (one customer a side) differ less or not at all. 4 × ½ = 2 expected
    // responders per group < 5: insufficient_sample.
    expect(a.window_ends_on).toBe("2024-03-31");
    expect(a.contaminated_customers).toBe("2");
    relative(a.pre_period_max_smd, 0.25 / Math.sqrt(0.625));
    expect(a.flags).toBe("contamination,pre_period_imbalance,insufficient_sample");

    // B shares A's control group: the same four customers (c1 responds on 03-15, inside B's window too, and c2's
    // refund on 03-09 is before B's contact). Two control groups are not contamination.
    expect(
      pick(
        [b],
        ["treatment_n", "control_n", "treatment_responders", "control_responders", "contaminated_customers"],
      ),
    ).toEqual([
      {
        treatment_n: "2",
        control_n: "4",
        treatment_responders: "1",
        control_responders: "1",
        contaminated_customers: "0",
      },
    ]);
    expect(b.control_revenue_per_customer).toBe(2.5);
    // Rates ½ and ¼: Wald se² = ½·½/2 + ¼·¾/4 = 0.171875; pooled ⅓: se0² = ⅓·⅔·(½ + ¼) = ⅙.
    relative(b.response_uplift_ci_low, 0.25 - Z975 * Math.sqrt(0.171875));
    relative(b.response_p_value, 0.5402913746074199);
    // No cost: ROI does not exist.
    expect(b.campaign_cost).toBe("0.00");
    expect([b.roi, b.roi_ci_low, b.roi_ci_high]).toEqual([null, null, null]);
    expect(b.incremental_margin).toBe(1.5);
    expect(b.flags).toContain("no_cost");

    // C: no control group: every comparison is NULL, and the run did not fail.
    expect(c.treatment_response_rate).toBe(0);
    expect(
      pick(
        [c],
        [
          "control_n",
          "control_response_rate",
          "response_uplift",
          "response_p_value",
          "revenue_uplift_per_customer",
          "revenue_p_value",
          "incremental_margin",
          "roi",
        ],
      ),
    ).toEqual([
      {
        control_n: "0",
        control_response_rate: null,
        response_uplift: null,
        response_p_value: null,
        revenue_uplift_per_customer: null,
        revenue_p_value: null,
        incremental_margin: null,
        roi: null,
      },
    ]);
    expect(c.flags).toBe("insufficient_sample,empty_group,no_cost");

    // D: nobody responded and nobody has history: rates 0, no test, no interval, ROI −1 (nothing gained, 5 spent).
    expect(
      pick(
        [d],
        [
          "response_uplift",
          "response_uplift_ci_low",
          "response_p_value",
          "response_mde",
          "revenue_uplift_per_customer",
          "revenue_p_value",
          "revenue_mde",
          "pre_period_max_smd",
          "roi_ci_low",
        ],
      ),
    ).toEqual([
      {
        response_uplift: 0,
        response_uplift_ci_low: null,
        response_p_value: null,
        response_mde: null,
        revenue_uplift_per_customer: 0,
        revenue_p_value: null,
        revenue_mde: null,
        pre_period_max_smd: null,
        roi_ci_low: null,
      },
    ]);
    expect(d.roi).toBe(-1);
    // D: no revenue variance, no pre-period spend: no CUPED, and no flag for a gain there was nothing to make.
    expect([d.cuped_theta, d.cuped_revenue_uplift_per_customer, d.cuped_variance_reduction]).toEqual([
      null,
      null,
      null,
    ]);
    expect(d.flags).toBe("insufficient_sample,no_responders,no_revenue_variance,no_pre_period_history");
  });

  it("marks results provisional before the window closes, and counts only what happened by as_of", async () => {
    const rows = await runAndRead(FIXTURE, {
      asOf: "2024-03-10",
      models: ["campaign_results"],
      model: "campaign_results",
      orderBy: "campaign_id",
    });
    // C has not started; B started on as_of. A: c1's response on 03-15 has not happened yet.
    expect(rows.map((r) => r.campaign_id)).toEqual(["A", "B", "D"]);
    const [a, b] = rows;
    // c4 is in both groups already; C has not treated t2 yet.
    expect(a?.flags).toBe("contamination,pre_period_imbalance,insufficient_sample,window_not_closed");
    expect(a?.control_responders).toBe("0");
    expect(a?.contaminated_customers).toBe("1");
    expect(b?.flags).toContain("window_not_closed");
  });

  it("tests the observed split against the planned control share (sample_ratio_mismatch)", async () => {
    // E: 40 treated, 10 held out, planned ½: χ² = 15²/25 + 15²/25 = 18, p = Q(½, 9) = 2.2090496998585441e-5
    // (mpmath gammainc(0.5, 9, inf, regularized=True)) < 0.001. F: the same split planned at 0.2: χ² = 0, p = 1.
    // G: no planned share: no test. Nobody bought, which does not matter to the split.
    const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`);
    const contacts = (campaign: string) => [
      ...ids(`${campaign}t`, 40).map((id) => ({
        campaign_id: campaign,
        customer_id: id,
        group: "treatment" as const,
      })),
      ...ids(`${campaign}c`, 10).map((id) => ({
        campaign_id: campaign,
        customer_id: id,
        group: "control" as const,
      })),
    ];
    const window = { starts_on: "2024-03-01", ends_on: "2024-03-31" };
    const rows = await runAndRead(
      {
        campaigns: [
          { campaign_id: "E", ...window, planned_control_share: "0.5" },
          { campaign_id: "F", ...window, planned_control_share: "0.2" },
          { campaign_id: "G", ...window },
        ],
        campaign_contacts: [...contacts("E"), ...contacts("F"), ...contacts("G")],
      },
      { asOf: "2024-04-30", models: ["campaign_results"], model: "campaign_results", orderBy: "campaign_id" },
    );
    const [e, f, g] = rows;
    expect(e?.planned_control_share).toBe(0.5);
    relative(e?.sample_ratio_p_value, 2.209049699858544e-5, 1e-12);
    expect(e?.flags).toMatch(/^sample_ratio_mismatch,/);
    expect(f?.planned_control_share).toBe(0.2);
    expect(f?.sample_ratio_p_value).toBe(1);
    expect(f?.flags).not.toContain("sample_ratio_mismatch");
    expect([g?.planned_control_share, g?.sample_ratio_p_value]).toEqual([null, null]);
  });

  it("sums each arm in int_campaign_arms", async () => {
    const rows = await runAndRead(FIXTURE, {
      asOf: "2024-04-30",
      models: ["int_campaign_arms"],
      model: "int_campaign_arms",
      orderBy: "campaign_id",
    });
    expect(
      pick(rows.slice(0, 1), [
        "both_groups_customers",
        "treatment_revenue",
        "treatment_revenue_sq",
        "treatment_margin",
        "control_revenue",
        "control_revenue_sq",
        "treatment_pre_spend",
        "control_pre_spend",
        "treatment_pre_spend_revenue",
        "control_pre_spend_revenue",
        "planned_control_share",
        "treatment_recency",
        "control_recency",
        "treatment_cross_treated",
        "control_cross_treated",
      ]),
    ).toEqual([
      {
        both_groups_customers: "1",
        treatment_revenue: "55.00",
        treatment_revenue_sq: "1225.0000",
        treatment_margin: "27.50",
        control_revenue: "6.00",
        control_revenue_sq: "116.0000",
        treatment_pre_spend: "50.00",
        control_pre_spend: "60.00",
        // t1 spent 50 before and 30 in the window; c1 60 before and 10 in it.
        treatment_pre_spend_revenue: "1500.0000",
        control_pre_spend_revenue: "600.0000",
        planned_control_share: null,
        // t1: 2024-01-10 to 03-01 is 51 days; c1: 02-01 to 03-01 is 29 days.
        treatment_recency: "51",
        control_recency: "29",
        treatment_cross_treated: "1",
        control_cross_treated: "0",
      },
    ]);
  });
});
