/**
 * Issue 16: data capabilities. A run says which dimensions its inputs carry (data_capabilities); the measures
 * that need a missing one are NULL with the reason, tables keep their columns, and the report says "cannot be
 * measured" instead of a figure. Fixtures computed by hand, through the real runner.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadLocalReport } from "../../functions/backends/local.ts";
import { type ReportData, renderReport, textSummary } from "../../functions/core/report/report.ts";
import {
  type LakeFixture,
  makeLake,
  pick,
  read,
  removeLake,
  run,
  runAndQuery,
  type TransactionFixture,
} from "./helpers.ts";

const AS_OF = "2024-03-31";
const NO_CATEGORY = "no product line has a category (every line reads 'unknown')";
const NO_DISCOUNT =
  "no product line has a discount, so buying on discount cannot be told from buying cheap items";

// An export like UCI: no category, channel, store, discount or cost; no customers file, no campaigns.
// c1 bought before the comparison period (2023-12-31) and again in it, and paid postage once; c2's line is
// delivered twice, exactly.
const BARE: LakeFixture = {
  transactions: [
    { order_id: "o1", customer_id: "c1", ordered_at: "2023-01-10", product_id: "P1", amount: "100.00" },
    { order_id: "o2", customer_id: "c1", ordered_at: "2024-02-10", product_id: "P2", amount: "50.00" },
    {
      order_id: "o2",
      customer_id: "c1",
      ordered_at: "2024-02-10",
      product_id: "POST",
      amount: "5.00",
      line_type: "non_product" as const,
    },
    { order_id: "o3", customer_id: "c2", ordered_at: "2024-01-15", product_id: "P1", amount: "30.00" },
    { order_id: "o3", customer_id: "c2", ordered_at: "2024-01-15", product_id: "P1", amount: "30.00" },
  ].map((t): TransactionFixture => ({ category: null, channel: null, ...t })),
};

// The same shape with every dimension: categories, channels, stores, discounts, costs, sign-up dates, a campaign.
const FULL: LakeFixture = {
  transactions: [
    {
      order_id: "o1",
      customer_id: "c1",
      ordered_at: "2023-01-10",
      category: "books",
      store_id: "s1",
      amount: "100.00",
      cost: "60.00",
    },
    {
      order_id: "o2",
      customer_id: "c1",
      ordered_at: "2024-02-10",
      category: "music",
      amount: "50.00",
      discount: "10.00",
    },
    { order_id: "o3", customer_id: "c2", ordered_at: "2024-01-15", category: "books", amount: "30.00" },
  ],
  customers: [{ customer_id: "c1", signed_up_at: "2022-12-01" }, { customer_id: "c2" }],
  campaigns: [{ campaign_id: "k1", starts_on: "2024-01-01", ends_on: "2024-01-31" }],
  campaign_contacts: [
    { campaign_id: "k1", customer_id: "c1", group: "treatment" },
    { campaign_id: "k1", customer_id: "c2", group: "control" },
  ],
};

const COLUMNS = ["dimension", "available", "rows_with", "rows_total", "reason"];

describe("data capabilities of an export without categories, channels, stores, discounts or costs", () => {
  let lake: string;
  let report: ReportData;
  beforeAll(async () => {
    lake = await makeLake(BARE);
    await run(lake, { asOf: AS_OF, models: [] });
    report = await loadLocalReport(lake, AS_OF);
  }, 120_000);
  afterAll(async () => {
    if (lake) await removeLake(lake);
  });

  it("lists each dimension as absent, with the reason, over the 4 product lines", async () => {
    const rows = await read(lake, "data_capabilities", AS_OF, "dimension");
    expect(pick(rows, COLUMNS)).toEqual([
      {
        dimension: "campaigns",
        available: false,
        rows_with: "0",
        rows_total: "0",
        reason: "no campaign contact on or before as_of",
      },
      { dimension: "categories", available: false, rows_with: "0", rows_total: "4", reason: NO_CATEGORY },
      {
        dimension: "channels",
        available: false,
        rows_with: "0",
        rows_total: "4",
        reason: "no product line has a channel (every line reads 'unknown')",
      },
      {
        dimension: "costs",
        available: false,
        rows_with: "0",
        rows_total: "4",
        reason: "no product line has a cost: margins are amount × margin.default_rate, an assumption",
      },
      { dimension: "discounts", available: false, rows_with: "0", rows_total: "4", reason: NO_DISCOUNT },
      {
        dimension: "products",
        available: false,
        rows_with: "0",
        rows_total: "4",
        reason: "no products catalogue",
      },
      {
        dimension: "sign_up_dates",
        available: false,
        rows_with: "0",
        rows_total: "0",
        reason: "no customers file",
      },
      {
        dimension: "stores",
        available: false,
        rows_with: "0",
        rows_total: "4",
        reason: "no product line has a store (every line reads 'unknown')",
      },
    ]);
  });

  it("leaves the deeper measures NULL with the reason; the cross-sell base is still counted", async () => {
    const [summary] = await read(lake, "lifecycle_summary", AS_OF, "period_end_on");
    expect(
      pick(
        [summary ?? {}],
        [
          "avg_categories",
          "multi_category_share",
          "cross_sell_base",
          "cross_sold_customers",
          "cross_sell_rate",
          "deeper_null_reason",
        ],
      ),
    ).toEqual([
      {
        avg_categories: null,
        multi_category_share: null,
        // c1 bought before 2023-12-31 and again after it.
        cross_sell_base: "1",
        cross_sold_customers: null,
        cross_sell_rate: null,
        deeper_null_reason: `categories: ${NO_CATEGORY}`,
      },
    ]);
  });

  it("gives no needs segment without discounts, keeping the price index", async () => {
    const rows = await read(lake, "customer_needs", AS_OF, "customer_id");
    // Average unit price: 210 / 4 units = 52.5. c1 paid 150 for 2 units: 150 / 105; c2 60 for 2: 60 / 105.
    expect(rows.map((r) => [r.customer_id, r.discount_share, r.needs_segment, r.needs_null_reason])).toEqual([
      ["c1", null, null, `discounts: ${NO_DISCOUNT}`],
      ["c2", null, null, `discounts: ${NO_DISCOUNT}`],
    ]);
    expect(Number(rows[0]?.price_index)).toBeCloseTo(150 / 105, 12);
    expect(Number(rows[1]?.price_index)).toBeCloseTo(60 / 105, 12);
  });

  it("leaves product_affinity empty and next_best_category NULL for every buyer, with the reason", async () => {
    expect(await read(lake, "product_affinity", AS_OF, "antecedent_category")).toEqual([]);
    const next = await read(lake, "next_best_category", AS_OF, "customer_id");
    expect(next.map((r) => [r.customer_id, r.next_best_category, r.next_best_null_reason])).toEqual([
      ["c1", null, `categories: ${NO_CATEGORY}`],
      ["c2", null, `categories: ${NO_CATEGORY}`],
    ]);
  });

  it("counts no categories or channels per customer: NULL, not one 'unknown' category", async () => {
    const base = await read(lake, "customer_base", AS_OF, "customer_id");
    expect(base.map((r) => [r.customer_id, r.categories, r.channels])).toEqual([
      ["c1", null, null],
      ["c2", null, null],
    ]);
  });

  it("reports what cannot be measured and why, and the data-quality figures", () => {
    const html = renderReport(report);
    expect(html).toContain(
      `cannot be measured: ${NO_CATEGORY.replaceAll("'", "&#39;")}`.replaceAll("&#39;", "'"),
    );
    expect(html).not.toContain('Cross-sell rate</td><td class="n">0.0 %');
    expect(html).toMatch(
      /<div class="v"><span class="na">cannot be measured: no product line has a category/,
    );
    expect(html).toContain(`Needs segments <span class="na">cannot be measured: ${NO_DISCOUNT}</span>`);
    expect(html).toContain('Categories bought together <span class="na">cannot be measured');
    expect(html).toContain('The next category to offer <span class="na">cannot be measured');
    // data_quality: 5 lines, c2's line twice (£30), POST a non-product line (£5).
    expect(html).toContain(
      "Of 5 lines in the lake, 1 repeat an earlier line of their file exactly (30); 1 of them count in this run",
    );
    expect(html).toContain("1 non-product lines (postage, fees, adjustments: 5 net)");
    expect(html).toContain("<code>POST</code>");
    // history_checks: the churn of the comparison period needs 2023-01-01, the history begins 2023-01-10.
    expect(html).toContain("<li><code>lifecycle_churn</code>: The rule reads from 2023-01-01");
    expect(textSummary(report)).toContain(
      "This data has no categories, discounts, channels, stores: the measures that need them cannot be measured",
    );
  });
});

describe("data capabilities of an export with every dimension", () => {
  let lake: string;
  beforeAll(async () => {
    lake = await makeLake(FULL);
    await run(lake, { asOf: AS_OF, models: ["lifecycle_summary", "customer_needs", "data_capabilities"] });
  }, 120_000);
  afterAll(async () => {
    if (lake) await removeLake(lake);
  });

  it("lists each dimension as available, with the rows that carry it", async () => {
    const rows = await read(lake, "data_capabilities", AS_OF, "dimension");
    expect(rows.map((r) => [r.dimension, r.available, r.rows_with, r.rows_total, r.reason])).toEqual([
      ["campaigns", true, "2", "2", null],
      ["categories", true, "3", "3", null],
      // makeLake writes channel 'web' unless told otherwise.
      ["channels", true, "3", "3", null],
      ["costs", true, "1", "3", null],
      ["discounts", true, "1", "3", null],
      ["products", false, "0", "3", "no products catalogue"],
      ["sign_up_dates", true, "1", "2", null],
      ["stores", true, "1", "3", null],
    ]);
  });

  it("counts known categories and channels per customer", async () => {
    const base = await runAndQuery(
      {
        transactions: [
          ...(FULL.transactions ?? []),
          // A line without a category or channel: 'unknown' is not a third category for c1.
          {
            order_id: "o5",
            customer_id: "c1",
            ordered_at: "2024-03-01",
            category: null,
            channel: null,
            amount: "9.00",
          },
        ],
      },
      { asOf: AS_OF, models: ["customer_base"] },
      "SELECT customer_id, categories, channels FROM customer_base ORDER BY customer_id",
    );
    expect(base.map((r) => [r.customer_id, Number(r.categories), Number(r.channels)])).toEqual([
      ["c1", 2, 1],
      ["c2", 1, 1],
    ]);
  });

  it("measures the deeper levers and the needs segments", async () => {
    const [summary] = await read(lake, "lifecycle_summary", AS_OF, "period_end_on");
    // c1: books, music; c2: books. c1 bought music, new to them, in the period.
    expect(
      pick(
        [summary ?? {}],
        ["avg_categories", "multi_category_share", "cross_sell_rate", "deeper_null_reason"],
      ),
    ).toEqual([
      { avg_categories: 1.5, multi_category_share: 0.5, cross_sell_rate: 1, deeper_null_reason: null },
    ]);
    const needs = await read(lake, "customer_needs", AS_OF, "customer_id");
    expect(needs.map((r) => [r.customer_id, r.needs_null_reason, r.needs_segment !== null])).toEqual([
      ["c1", null, true],
      ["c2", null, true],
    ]);
  });
});

// The bare export with a products catalogue: P1 has a category and a unit cost, P2 a category only, POST (a
// non-product line) is listed too but leaves the product models anyway; P9 is listed and never sold.
const CATALOGUE: LakeFixture = {
  transactions: [
    ...(BARE.transactions ?? []),
    // A line with its own category and cost keeps them.
    {
      order_id: "o4",
      customer_id: "c2",
      ordered_at: "2024-03-01",
      product_id: "P1",
      category: "gifts",
      channel: null,
      amount: "40.00",
      cost: "25.00",
      quantity: 2,
    },
  ],
  products: [
    { product_id: "P1", category: "home", brand: "Acme", list_price: "110.00", cost: "12.50" },
    { product_id: "P2", category: "garden" },
    { product_id: "POST", category: "postage", cost: "1.00" },
    { product_id: "P9", category: "toys", cost: "3.00" },
  ],
};

describe("a products catalogue fills the category and the cost of lines that lack them", () => {
  let lake: string;
  beforeAll(async () => {
    lake = await makeLake(CATALOGUE);
    await run(lake, {
      asOf: AS_OF,
      models: ["lifecycle_summary", "data_capabilities", "performance_by_category"],
    });
  }, 120_000);
  afterAll(async () => {
    if (lake) await removeLake(lake);
  });

  it("says so in data_capabilities", async () => {
    const rows = await read(lake, "data_capabilities", AS_OF, "dimension");
    // Product lines: P1 100 (o1), P2 50, P1 30 twice (o3), P1 40 (o4, its own category and cost) = 5.
    expect(
      rows
        .filter((r) => ["categories", "costs", "discounts", "products"].includes(String(r.dimension)))
        .map((r) => [r.dimension, r.available, r.rows_with, r.rows_total, r.rows_from_products, r.reason]),
    ).toEqual([
      ["categories", true, "5", "5", "4", null],
      // P2 has no unit cost: o2's line keeps the default rate.
      ["costs", true, "4", "5", "3", null],
      // P1's list price (110) gives o1, o3 twice and o4 a discount; P2 has no list price.
      ["discounts", true, "4", "5", "4", null],
      // Every product line took its category, cost or discount from the catalogue (o4 its discount only).
      ["products", true, "5", "5", "5", null],
    ]);
  });

  it("fills category and cost in stg_order_lines, a value on the line winning", async () => {
    const rows = await runAndQuery(
      CATALOGUE,
      { asOf: AS_OF, models: ["data_capabilities"] },
      `SELECT order_id, product_id, category, category_source, CAST(line_cost AS VARCHAR) AS line_cost, cost_source
       FROM stg_order_lines ORDER BY order_id, product_id, line_number`,
    );
    expect(rows).toEqual([
      // 1 unit × 12.50.
      {
        order_id: "o1",
        product_id: "P1",
        category: "home",
        category_source: "products",
        line_cost: "12.500000",
        cost_source: "products",
      },
      // No unit cost for P2: amount − amount × 0.3, the default margin rate.
      {
        order_id: "o2",
        product_id: "P2",
        category: "garden",
        category_source: "products",
        line_cost: "35.000000",
        cost_source: "default_rate",
      },
      {
        order_id: "o2",
        product_id: "POST",
        category: "postage",
        category_source: "products",
        line_cost: "1.000000",
        cost_source: "products",
      },
      {
        order_id: "o3",
        product_id: "P1",
        category: "home",
        category_source: "products",
        line_cost: "12.500000",
        cost_source: "products",
      },
      {
        order_id: "o3",
        product_id: "P1",
        category: "home",
        category_source: "products",
        line_cost: "12.500000",
        cost_source: "products",
      },
      {
        order_id: "o4",
        product_id: "P1",
        category: "gifts",
        category_source: "line",
        line_cost: "25.000000",
        cost_source: "line",
      },
    ]);
  });

  it("derives a purchase line's missing discount from the list price, a discount on the line winning", async () => {
    const rows = await runAndQuery(
      {
        transactions: [
          // 1 × 110 − 100: sold 10 below the list.
          { order_id: "a", customer_id: "c1", ordered_at: "2024-01-02", product_id: "P1", amount: "100.00" },
          // 2 × 110 − 200.50: 19.50 below.
          {
            order_id: "b",
            customer_id: "c1",
            ordered_at: "2024-01-03",
            product_id: "P1",
            amount: "200.50",
            quantity: 2,
          },
          // Above the list: a known discount of 0.
          { order_id: "c", customer_id: "c1", ordered_at: "2024-01-04", product_id: "P1", amount: "120.00" },
          // A refund: no discount derived.
          {
            order_id: "d",
            customer_id: "c1",
            ordered_at: "2024-01-05",
            product_id: "P1",
            amount: "-110.00",
            quantity: -1,
          },
          // The line's own discount wins.
          {
            order_id: "e",
            customer_id: "c1",
            ordered_at: "2024-01-06",
            product_id: "P1",
            amount: "50.00",
            discount: "5.00",
          },
          // Not in the catalogue: 0, unknown.
          { order_id: "f", customer_id: "c1", ordered_at: "2024-01-07", product_id: "P7", amount: "50.00" },
        ].map((t): TransactionFixture => ({ category: null, ...t })),
        products: CATALOGUE.products,
      },
      { asOf: AS_OF, models: ["data_capabilities"] },
      `SELECT order_id, CAST(discount AS VARCHAR) AS discount, discount_source, CAST(list_price AS VARCHAR) AS list_price
       FROM stg_order_lines ORDER BY order_id`,
    );
    expect(rows.map((r) => [r.order_id, r.discount, r.discount_source, r.list_price])).toEqual([
      ["a", "10.00", "products", "110.00"],
      ["b", "19.50", "products", "110.00"],
      ["c", "0.00", "products", "110.00"],
      ["d", "0.00", null, "110.00"],
      ["e", "5.00", "line", "110.00"],
      ["f", "0.00", null, null],
    ]);
  });

  it("keeps the last record of a product delivered twice in stg_products", async () => {
    const rows = await runAndQuery(
      { products: [...(CATALOGUE.products ?? []), { product_id: "P9", category: "games", cost: "2.00" }] },
      { asOf: AS_OF, models: ["data_capabilities"] },
      "SELECT product_id, category, CAST(unit_cost AS VARCHAR) AS unit_cost FROM stg_products ORDER BY product_id",
    );
    expect(rows).toEqual([
      { product_id: "P1", category: "home", unit_cost: "12.50" },
      { product_id: "P2", category: "garden", unit_cost: null },
      { product_id: "P9", category: "games", unit_cost: "2.00" },
      { product_id: "POST", category: "postage", unit_cost: "1.00" },
    ]);
  });

  it("measures the deeper levers from the catalogue's categories", async () => {
    const [summary] = await read(lake, "lifecycle_summary", AS_OF, "period_end_on");
    // c1: home (2023), garden (2024, new to them); c2: home, gifts. Base: c1 only, cross-sold.
    expect(
      pick(
        [summary ?? {}],
        [
          "avg_categories",
          "multi_category_share",
          "cross_sell_base",
          "cross_sell_rate",
          "deeper_null_reason",
        ],
      ),
    ).toEqual([
      {
        avg_categories: 2,
        multi_category_share: 1,
        cross_sell_base: "1",
        cross_sell_rate: 1,
        deeper_null_reason: null,
      },
    ]);
  });
});
