import { describe, expect, it } from "vitest";
import { pick, runAndRead } from "./helpers.ts";

describe("customer_needs", () => {
  it("segments on discount share and price level relative to the category", async () => {
    const rows = await runAndRead(
      {
        customers: [{ customer_id: "n4", signed_up_at: "2024-01-01" }],
        transactions: [
          {
            order_id: "a",
            customer_id: "n1",
            ordered_at: "2024-05-01",
            category: "books",
            quantity: 2,
            amount: "20.00",
            discount: "10.00",
          },
          {
            order_id: "a",
            customer_id: "n1",
            ordered_at: "2024-05-01",
            category: "toys",
            quantity: 1,
            amount: "30.00",
          },
          {
            order_id: "b",
            customer_id: "n2",
            ordered_at: "2024-05-02",
            category: "books",
            quantity: 2,
            amount: "60.00",
          },
          {
            order_id: "c",
            customer_id: "n3",
            ordered_at: "2024-05-03",
            category: "toys",
            quantity: 1,
            amount: "50.00",
            discount: "5.00",
          },
          {
            order_id: "c",
            customer_id: "n3",
            ordered_at: "2024-05-03",
            category: "books",
            quantity: 1,
            amount: "40.00",
            discount: "3.00",
          },
          {
            order_id: "d",
            customer_id: "n5",
            ordered_at: "2024-05-04",
            category: "books",
            quantity: -1,
            amount: "-10.00",
          },
          {
            order_id: "e",
            customer_id: "n6",
            ordered_at: "2024-05-05",
            category: "books",
            quantity: 1,
            amount: "36.00",
            discount: "14.00",
          },
        ],
      },
      { asOf: "2024-06-30", models: ["customer_needs"], model: "customer_needs", orderBy: "customer_id" },
    );
    // Category average unit prices over purchase lines: books (20 + 60 + 40 + 36) / (2 + 2 + 1 + 1) = 156 / 6 = 26;
    // toys (30 + 50) / 2 = 40. price_index = amount / Σ quantity × category price.
    expect(pick(rows, ["customer_id", "purchase_lines", "list_value", "discounts", "needs_segment"])).toEqual(
      [
        // index 50 / (2 × 26 + 40) = 50 / 92 = 0.543 ≤ 0.9: price oriented (discount share 10 / 60 = 0.167 < 0.2).
        {
          customer_id: "n1",
          purchase_lines: "2",
          list_value: "60.00",
          discounts: "10.00",
          needs_segment: "price_oriented",
        },
        // index 60 / 52 = 1.154 ≥ 1.1 and share 0 < 0.05: value oriented.
        {
          customer_id: "n2",
          purchase_lines: "1",
          list_value: "60.00",
          discounts: "0.00",
          needs_segment: "value_oriented",
        },
        // index 90 / (40 + 26) = 1.364, share 8 / 98 = 0.082: neither, composite.
        {
          customer_id: "n3",
          purchase_lines: "2",
          list_value: "98.00",
          discounts: "8.00",
          needs_segment: "composite",
        },
        // A prospect and a refund-only customer have no purchase line.
        {
          customer_id: "n4",
          purchase_lines: "0",
          list_value: "0.00",
          discounts: "0.00",
          needs_segment: null,
        },
        {
          customer_id: "n5",
          purchase_lines: "0",
          list_value: "0.00",
          discounts: "0.00",
          needs_segment: null,
        },
        // share 14 / 50 = 0.28 ≥ 0.2: price oriented although the index 36 / 26 = 1.385 is high.
        {
          customer_id: "n6",
          purchase_lines: "1",
          list_value: "50.00",
          discounts: "14.00",
          needs_segment: "price_oriented",
        },
      ],
    );
    const measure = Object.fromEntries(rows.map((r) => [r.customer_id, [r.discount_share, r.price_index]]));
    const expected: Record<string, [number, number]> = {
      n1: [10 / 60, 50 / 92],
      n2: [0, 60 / 52],
      n3: [8 / 98, 90 / 66],
      n6: [14 / 50, 36 / 26],
    };
    for (const [id, [share, index]] of Object.entries(expected)) {
      expect(measure[id]?.[0]).toBeCloseTo(share, 12);
      expect(measure[id]?.[1]).toBeCloseTo(index, 12);
    }
    expect(measure.n4).toEqual([null, null]);
  });
});
