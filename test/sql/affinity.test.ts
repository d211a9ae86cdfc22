import { describe, expect, it } from "vitest";
import { type LakeFixture, pick, runAndRead, type TransactionFixture } from "./helpers.ts";

const AS_OF = "2024-06-30";

function line(
  customer: string,
  order: string,
  category: string | null,
  amount = "10.00",
): TransactionFixture {
  return { order_id: order, customer_id: customer, ordered_at: "2024-05-01", category, amount };
}

// Baskets per customer: a1 {books, toys}, a2 {books, toys, music}, a3 {books}, a4 {music, games}, a5 {toys}
// (its books line is a refund), a6 only uncategorised lines (left out). 5 baskets; books 3, toys 3, music 2, games 1.
const FIXTURE: LakeFixture = {
  customers: [{ customer_id: "p", signed_up_at: "2024-01-01" }],
  transactions: [
    line("a1", "a1o1", "books"),
    line("a1", "a1o1", "toys"),
    line("a2", "a2o1", "books"),
    line("a2", "a2o2", "toys"),
    line("a2", "a2o2", "music"),
    line("a3", "a3o1", "books"),
    line("a4", "a4o1", "music"),
    line("a4", "a4o1", "games"),
    line("a5", "a5o1", "toys"),
    line("a5", "a5o2", "books", "-5.00"),
    line("a6", "a6o1", null),
  ],
};

const RULE = [
  "antecedent_category",
  "consequent_category",
  "pair_baskets",
  "antecedent_baskets",
  "consequent_baskets",
  "total_baskets",
];

describe("product_affinity and next_best_category", () => {
  it("computes support, confidence and lift for pairs bought by enough customers", async () => {
    const rows = await runAndRead(FIXTURE, {
      asOf: AS_OF,
      models: ["product_affinity"],
      config: { affinity: { min_pair_baskets: 2 } },
      model: "product_affinity",
      orderBy: "antecedent_category, consequent_category",
    });
    // Only books & toys share 2 baskets (a1, a2): support 2/5, confidence 2/3, lift 2 × 5 / (3 × 3) = 10/9.
    expect(pick(rows, RULE)).toEqual([
      {
        antecedent_category: "books",
        consequent_category: "toys",
        pair_baskets: "2",
        antecedent_baskets: "3",
        consequent_baskets: "3",
        total_baskets: "5",
      },
      {
        antecedent_category: "toys",
        consequent_category: "books",
        pair_baskets: "2",
        antecedent_baskets: "3",
        consequent_baskets: "3",
        total_baskets: "5",
      },
    ]);
    for (const r of rows) {
      expect(r.support).toBeCloseTo(0.4, 12);
      expect(r.confidence).toBeCloseTo(2 / 3, 12);
      expect(r.lift).toBeCloseTo(10 / 9, 12);
    }
  });

  it("recommends the highest-lift category a customer has not bought", async () => {
    const config = { affinity: { min_pair_baskets: 1 } };
    const rules = await runAndRead(FIXTURE, {
      asOf: AS_OF,
      models: ["product_affinity"],
      config,
      model: "product_affinity",
      orderBy: "antecedent_category, consequent_category",
    });
    // Lifts: books↔toys 10/9; books↔music and toys↔music 1 × 5 / (3 × 2) = 5/6; music↔games 1 × 5 / (2 × 1) = 5/2.
    expect(
      rules.map((r) => [r.antecedent_category, r.consequent_category, Number(r.lift).toFixed(4)]),
    ).toEqual([
      ["books", "music", "0.8333"],
      ["books", "toys", "1.1111"],
      ["games", "music", "2.5000"],
      ["music", "books", "0.8333"],
      ["music", "games", "2.5000"],
      ["music", "toys", "0.8333"],
      ["toys", "books", "1.1111"],
      ["toys", "music", "0.8333"],
    ]);

    const rows = await runAndRead(FIXTURE, {
      asOf: AS_OF,
      models: ["next_best_category"],
      config,
      model: "next_best_category",
      orderBy: "customer_id",
    });
    expect(pick(rows, ["customer_id", "next_best_category", "because_of_category"])).toEqual([
      { customer_id: "a1", next_best_category: null, because_of_category: null }, // only music is left, lift 5/6 ≤ 1
      { customer_id: "a2", next_best_category: "games", because_of_category: "music" }, // lift 5/2
      { customer_id: "a3", next_best_category: "toys", because_of_category: "books" }, // 10/9 beats music's 5/6
      { customer_id: "a4", next_best_category: null, because_of_category: null },
      { customer_id: "a5", next_best_category: "books", because_of_category: "toys" }, // the refund is not a purchase
      { customer_id: "a6", next_best_category: null, because_of_category: null },
    ]);
    expect(rows[1]?.lift).toBeCloseTo(2.5, 12);
    expect(rows[1]?.confidence).toBeCloseTo(0.5, 12);
  });

  it("counts orders as baskets when configured", async () => {
    const rows = await runAndRead(FIXTURE, {
      asOf: AS_OF,
      models: ["product_affinity"],
      config: { affinity: { basket: "order", min_pair_baskets: 1 } },
      model: "product_affinity",
      orderBy: "antecedent_category, consequent_category",
    });
    // Order baskets: a1o1 {books, toys}, a2o1 {books}, a2o2 {toys, music}, a3o1 {books}, a4o1 {music, games},
    // a5o1 {toys}: 6 baskets. books → toys: pair 1, books 3, toys 3: lift 1 × 6 / 9 = 2/3.
    const booksToys = rows.find((r) => r.antecedent_category === "books" && r.consequent_category === "toys");
    expect(pick(booksToys === undefined ? [] : [booksToys], RULE)).toEqual([
      {
        antecedent_category: "books",
        consequent_category: "toys",
        pair_baskets: "1",
        antecedent_baskets: "3",
        consequent_baskets: "3",
        total_baskets: "6",
      },
    ]);
    expect(booksToys?.lift).toBeCloseTo(2 / 3, 12);
    expect(rows.some((r) => r.antecedent_category === "books" && r.consequent_category === "music")).toBe(
      false,
    );
  });

  it("keeps a category and a pair that sit exactly at min_pair_baskets (support pruning is exact)", async () => {
    // Baskets: c1 {a, b, x}, c2 {a, b, x}, c3 {a, b, y}, c4 {a, y}, c5 {y}. With min_pair_baskets = 3, x (2
    // baskets) is pruned before pairs are formed; b and y (3) are not. a & b share exactly 3 baskets: reported;
    // a & x, b & x, a & y share 2 and b & y 1: not. Lift 3 × 5 / (4 × 3) = 1.25.
    const fixture: LakeFixture = {
      customers: [{ customer_id: "p", signed_up_at: "2024-01-01" }],
      transactions: [
        ...["a", "b", "x"].map((c) => line("c1", "c1o1", c)),
        ...["a", "b", "x"].map((c) => line("c2", "c2o1", c)),
        ...["a", "b", "y"].map((c) => line("c3", "c3o1", c)),
        ...["a", "y"].map((c) => line("c4", "c4o1", c)),
        line("c5", "c5o1", "y"),
      ],
    };
    const rows = await runAndRead(fixture, {
      asOf: AS_OF,
      models: ["product_affinity"],
      config: { affinity: { min_pair_baskets: 3 } },
      model: "product_affinity",
      orderBy: "antecedent_category, consequent_category",
    });
    expect(pick(rows, RULE)).toEqual([
      {
        antecedent_category: "a",
        consequent_category: "b",
        pair_baskets: "3",
        antecedent_baskets: "4",
        consequent_baskets: "3",
        total_baskets: "5",
      },
      {
        antecedent_category: "b",
        consequent_category: "a",
        pair_baskets: "3",
        antecedent_baskets: "3",
        consequent_baskets: "4",
        total_baskets: "5",
      },
    ]);
    expect(rows[0]?.lift).toBeCloseTo(1.25, 12);
    expect(rows[0]?.confidence).toBeCloseTo(0.75, 12);
    expect(rows[1]?.confidence).toBeCloseTo(1, 12);
  });

  it("finds a recommendation ranked as deep among its antecedent's rules as the customer has categories", async () => {
    // Baskets: t {A, B, C}, u1 {A, B}, u2 {A, C}, u3 {A, D}, f1 {E}, f2 {E}: 6 baskets; A 4, B 2, C 2, D 1.
    // Every rule has lift 1.5 (A→B 2 × 6 / (4 × 2), A→D 1 × 6 / (4 × 1), B→C 1 × 6 / (2 × 2), …), so confidence
    // orders A's rules: A→B 2/4, A→C 2/4 (then by name), A→D 1/4. t bought k = 3 categories; its only candidate is
    // A→D, rank 3 = k among A's rules: next_best_category's pruning (rules ranked 1..k) must keep it.
    const fixture: LakeFixture = {
      customers: [{ customer_id: "p", signed_up_at: "2024-01-01" }],
      transactions: [
        ...["A", "B", "C"].map((c) => line("t", "to1", c)),
        ...["A", "B"].map((c) => line("u1", "u1o1", c)),
        ...["A", "C"].map((c) => line("u2", "u2o1", c)),
        ...["A", "D"].map((c) => line("u3", "u3o1", c)),
        line("f1", "f1o1", "E"),
        line("f2", "f2o1", "E"),
      ],
    };
    const rows = await runAndRead(fixture, {
      asOf: AS_OF,
      models: ["next_best_category"],
      config: { affinity: { min_pair_baskets: 1 } },
      model: "next_best_category",
      orderBy: "customer_id",
    });
    expect(pick(rows, ["customer_id", "next_best_category", "because_of_category"])).toEqual([
      { customer_id: "f1", next_best_category: null, because_of_category: null },
      { customer_id: "f2", next_best_category: null, because_of_category: null },
      { customer_id: "t", next_best_category: "D", because_of_category: "A" }, // rank 3 of A's rules
      { customer_id: "u1", next_best_category: "C", because_of_category: "A" }, // ties B→C (1.5, 1/2): A first
      { customer_id: "u2", next_best_category: "B", because_of_category: "A" }, // ties C→B: A first
      { customer_id: "u3", next_best_category: "B", because_of_category: "A" },
    ]);
    expect(rows[2]?.lift).toBeCloseTo(1.5, 12);
    expect(rows[2]?.confidence).toBeCloseTo(0.25, 12);
  });
});
