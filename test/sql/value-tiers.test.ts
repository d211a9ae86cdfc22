// The value tiers are defined once, by int_value_tiers: the tier assignment, pyramid_summary,
// pyramid_migration and the report all follow it, with the run's own shares.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadLocalReport, runLocal } from "../../functions/backends/local.ts";
import { parseConfig } from "../../functions/core/config.ts";
import type { Row } from "../../functions/core/ports/warehouse.ts";
import { headlines, type ReportData, renderReport, tierCutoffs } from "../../functions/core/report/report.ts";
import { DuckDBWarehouse } from "../../functions/engines/duckdb/warehouse.ts";
import {
  type LakeFixture,
  makeLake,
  read,
  removeLake,
  runAndQuery,
  type TransactionFixture,
} from "./helpers.ts";

const AS_OF = "2024-06-30";
const TIERS_SQL = "SELECT * FROM int_value_tiers ORDER BY tier_order";

/** Ten active customers a01…a10 (a01 the most valuable), one inactive (last order 2022), one prospect. */
function tenCustomers(): LakeFixture {
  const transactions: TransactionFixture[] = [];
  for (let i = 1; i <= 10; i++) {
    const id = `a${String(i).padStart(2, "0")}`;
    transactions.push({
      order_id: `o${id}`,
      customer_id: id,
      ordered_at: "2024-05-01",
      amount: `${110 - 10 * i}.00`,
    });
  }
  transactions.push({ order_id: "oz", customer_id: "z_inactive", ordered_at: "2022-06-01", amount: "70.00" });
  return { transactions, customers: [{ customer_id: "z_prospect", signed_up_at: "2024-01-01" }] };
}

describe("int_value_tiers", () => {
  it("lists the six tiers in order with the configured shares, small taking the rest", async () => {
    const rows = await runAndQuery(tenCustomers(), { asOf: AS_OF, models: ["int_value_tiers"] }, TIERS_SQL);
    expect(rows).toEqual([
      tier(1, "top", true, true, "0.010000", "0.000000", "0.010000"),
      tier(2, "big", true, true, "0.040000", "0.010000", "0.050000"),
      tier(3, "medium", true, true, "0.150000", "0.050000", "0.200000"),
      tier(4, "small", true, true, "0.800000", "0.200000", "1.000000"),
      tier(5, "inactive", true, false, null, null, null),
      tier(6, "prospect", false, false, null, null, null),
    ]);
  });
});

describe("the pyramid models and the report follow int_value_tiers, with a run's own shares", () => {
  // 10 / 20 / 30 % of n = 10 active customers: ranks 1 | 2–3 | 4–6 | 7–10.
  const config = { pyramid: { top_share: 0.1, big_share: 0.2, medium_share: 0.3 } };
  let lake: string;
  let tiers: Row[];
  let report: ReportData;

  beforeAll(async () => {
    lake = await makeLake(tenCustomers());
    const warehouse = await DuckDBWarehouse.open(lake);
    try {
      await runLocal({ lakeDir: lake, asOf: AS_OF, config: parseConfig(config, "test config"), warehouse });
      tiers = [...(await warehouse.query(TIERS_SQL)).rows];
    } finally {
      await warehouse.close();
    }
    report = await loadLocalReport(lake, AS_OF);
  });
  afterAll(async () => {
    if (lake) await removeLake(lake);
  });

  it("defines the tiers from the config", () => {
    expect(tiers.map((t) => [t.value_tier, t.tier_share, t.cumulative_share])).toEqual([
      ["top", "0.100000", "0.100000"],
      ["big", "0.200000", "0.300000"],
      ["medium", "0.300000", "0.600000"],
      ["small", "0.400000", "1.000000"],
      ["inactive", null, null],
      ["prospect", null, null],
    ]);
  });

  it("puts each customer in the tier its rank falls in", async () => {
    const rows = await read(lake, "customer_pyramid", AS_OF, "customer_id");
    expect(Object.fromEntries(rows.map((r) => [r.customer_id, r.value_tier]))).toEqual({
      a01: "top",
      a02: "big",
      a03: "big",
      a04: "medium",
      a05: "medium",
      a06: "medium",
      a07: "small",
      a08: "small",
      a09: "small",
      a10: "small",
      z_inactive: "inactive",
      z_prospect: "prospect",
    });
  });

  it("lists exactly those tiers, in that order, in pyramid_summary and pyramid_migration", async () => {
    const summary = await read(lake, "pyramid_summary", AS_OF, "tier_order");
    expect(summary.map((r) => [r.tier_order, r.value_tier, r.tier_share])).toEqual(
      tiers.map((t) => [t.tier_order, t.value_tier, t.tier_share]),
    );
    const migration = await read(lake, "pyramid_migration", AS_OF, "previous_tier_order, current_tier_order");
    const names = tiers.map((t) => t.value_tier);
    expect(migration.map((r) => [r.previous_tier, r.current_tier])).toEqual(
      names.flatMap((from) => names.map((to) => [from, to])),
    );
  });

  it("reports the tiers and cut-offs of the run, not the default 1/4/15/80 %", () => {
    expect(report.pyramid.map((r) => r.value_tier)).toEqual(tiers.map((t) => t.value_tier));
    const cutoffs = "top 10 %, big (next 20 %), medium (next 30 %), small (the other 40 %)";
    expect(tierCutoffs(report.pyramid)).toBe(cutoffs);
    expect(renderReport(report)).toContain(`over the last 12 months: ${cutoffs};`);
    expect(headlines(report)[0]).toMatch(
      /^The top 30 % of active customers \(top and big tiers, 3 customers\)/,
    );
  });
});

function tier(
  tier_order: number,
  value_tier: string,
  has_history: boolean,
  is_active: boolean,
  tier_share: string | null,
  share_above: string | null,
  cumulative_share: string | null,
): Row {
  return { tier_order, value_tier, has_history, is_active, tier_share, share_above, cumulative_share };
}
