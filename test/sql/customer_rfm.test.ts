import { describe, expect, it } from "vitest";
import { pick, runAndRead, type TransactionFixture } from "./helpers.ts";

const AS_OF = "2024-06-30";
const COLUMNS = [
  "customer_id",
  "recency_days",
  "frequency",
  "monetary",
  "r_score",
  "f_score",
  "m_score",
  "fm_score",
  "rfm_cell",
  "rfm_segment",
];

/** `orders` purchase orders ending on `last`, one day apart, adding up to `revenue`. */
function buyer(id: string, orders: number, revenue: number, last: string): TransactionFixture[] {
  const lines: TransactionFixture[] = [];
  for (let i = 0; i < orders; i++) {
    const day = new Date(`${last}T12:00:00Z`);
    day.setUTCDate(day.getUTCDate() - i);
    const amount = i === 0 ? revenue - (orders - 1) : 1;
    lines.push({
      order_id: `${id}-${i}`,
      customer_id: id,
      ordered_at: day.toISOString().slice(0, 10),
      amount: amount.toFixed(2),
    });
  }
  return lines;
}

/**
 * Five buyers whose R, F and M ranks are given: with n = 5, rank k scores 1 + floor(5(k − 1)/5) = k.
 * Rank R = r means recency (6 − r) × 10 days; F = f means f orders; M = m means revenue m × 100.
 */
function fiveBuyers(scores: Record<string, [number, number, number]>): TransactionFixture[] {
  return Object.entries(scores).flatMap(([id, [r, f, m]]) => {
    const last = new Date(`${AS_OF}T12:00:00Z`);
    last.setUTCDate(last.getUTCDate() - (6 - r) * 10);
    return buyer(id, f, m * 100, last.toISOString().slice(0, 10));
  });
}

describe("customer_rfm", () => {
  it("scores quintiles with equal values sharing a score and names the segments", async () => {
    const rows = await runAndRead(
      {
        customers: [{ customer_id: "p", signed_up_at: "2024-01-01" }],
        transactions: [
          ...buyer("b1", 1, 10, "2024-06-29"), // recency 1
          ...buyer("b2", 2, 300, "2024-06-01"), // recency 29
          ...buyer("b3", 3, 50, "2024-05-01"), // recency 60
          ...buyer("b4", 4, 400, "2024-06-29"), // recency 1: ties with b1
          ...buyer("b5", 5, 500, "2023-07-01"), // recency 365
          ...buyer("b6", 1, 20, "2023-01-01"), // recency 365 + 181 = 546
        ],
      },
      { asOf: AS_OF, models: ["customer_rfm"], model: "customer_rfm", orderBy: "customer_id" },
    );
    // n = 6; rank k (worst first, RANK(): equal values share the lowest rank) scores 1 + floor(5(k − 1)/6):
    // k = 1..6 → 1, 1, 2, 3, 4, 5.
    // R by recency desc: b6 546 (k 1), b5 365 (2), b3 60 (3), b2 29 (4), b1 and b4 1 (both k 5)
    //   → b6 1, b5 1, b3 2, b2 3, b1 4, b4 4. (Issue 13: before, ROW_NUMBER broke the b1/b4 tie by id and gave
    //   b4 R = 5 and the segment Champions for the same recency as b1.)
    // F by orders asc: b1 and b6 1 (both k 1), b2 2, b3 3, b4 4, b5 5 → b1 1, b6 1, b2 2, b3 3, b4 4, b5 5.
    // M by revenue asc: b1 10, b6 20, b3 50, b2 300, b4 400, b5 500 → b1 1, b6 1, b3 2, b2 3, b4 4, b5 5.
    // FM = floor((F + M + 1) / 2): b1 1, b2 3, b3 3, b4 4, b5 5, b6 1.
    expect(pick(rows, COLUMNS)).toEqual([
      {
        customer_id: "b1",
        recency_days: "1",
        frequency: "1",
        monetary: "10.00",
        r_score: 4,
        f_score: 1,
        m_score: 1,
        fm_score: 1,
        rfm_cell: "411",
        rfm_segment: "Promising",
      },
      {
        customer_id: "b2",
        recency_days: "29",
        frequency: "2",
        monetary: "300.00",
        r_score: 3,
        f_score: 2,
        m_score: 3,
        fm_score: 3,
        rfm_cell: "323",
        rfm_segment: "Need attention",
      },
      {
        customer_id: "b3",
        recency_days: "60",
        frequency: "3",
        monetary: "50.00",
        r_score: 2,
        f_score: 3,
        m_score: 2,
        fm_score: 3,
        rfm_cell: "232",
        rfm_segment: "At risk",
      },
      {
        customer_id: "b4",
        recency_days: "1",
        frequency: "4",
        monetary: "400.00",
        r_score: 4,
        f_score: 4,
        m_score: 4,
        fm_score: 4,
        rfm_cell: "444",
        rfm_segment: "Loyal",
      },
      {
        customer_id: "b5",
        recency_days: "365",
        frequency: "5",
        monetary: "500.00",
        r_score: 1,
        f_score: 5,
        m_score: 5,
        fm_score: 5,
        rfm_cell: "155",
        rfm_segment: "Cannot lose them",
      },
      {
        customer_id: "b6",
        recency_days: "546",
        frequency: "1",
        monetary: "20.00",
        r_score: 1,
        f_score: 1,
        m_score: 1,
        fm_score: 1,
        rfm_cell: "111",
        rfm_segment: "Lost",
      },
      // A prospect has no scores.
      {
        customer_id: "p",
        recency_days: null,
        frequency: "0",
        monetary: "0.00",
        r_score: null,
        f_score: null,
        m_score: null,
        fm_score: null,
        rfm_cell: null,
        rfm_segment: null,
      },
    ]);
  });

  it("gives equal values one score whatever their ids, so one-order customers are all F = 1", async () => {
    // Ten buyers (n = 10, q = 5; score = 1 + floor(5(k − 1)/10) for rank k, worst first):
    //   F: a0…a5 1 order (k 1 → 1), a6, a7 2 orders (k 7 → 1 + floor(30/10) = 4), a8 3 (k 9 → 5), a9 5 (k 10 → 5).
    //   Under id tie-breaking the six one-order customers would have spread over F = 1, 1, 2, 2, 3, 3 by id.
    //   R: everyone's last order on 2024-06-20 (recency 10), so all ten share k 1 → R = 1.
    //   M: a0…a5 100 each (k 1 → 1), a6, a7 200 (k 7 → 4), a8 300 (k 9 → 5), a9 500 (k 10 → 5).
    const ids = Array.from({ length: 10 }, (_, i) => `a${i}`);
    const orders = [1, 1, 1, 1, 1, 1, 2, 2, 3, 5];
    const revenue = [100, 100, 100, 100, 100, 100, 200, 200, 300, 500];
    const rows = await runAndRead(
      { transactions: ids.flatMap((id, i) => buyer(id, orders[i] ?? 0, revenue[i] ?? 0, "2024-06-20")) },
      { asOf: AS_OF, models: ["customer_rfm"], model: "customer_rfm", orderBy: "customer_id" },
    );
    expect(rows.map((r) => r.rfm_cell)).toEqual([
      "111",
      "111",
      "111",
      "111",
      "111",
      "111",
      "144",
      "144",
      "155",
      "155",
    ]);
    // A score can stay empty when a tie spans it: nobody has F = 2 or 3. The groups stay as close to fifths
    // as the ties allow: 6, 0, 0, 2, 2.
    const fGroups = [1, 2, 3, 4, 5].map((f) => rows.filter((r) => r.f_score === f).length);
    expect(fGroups).toEqual([6, 0, 0, 2, 2]);
  });

  it.each([
    {
      // R, F, M per customer → FM = floor((F + M + 1)/2) → segment.
      scores: { n1: [5, 1, 1], h1: [2, 2, 2], l1: [4, 5, 4], l2: [3, 3, 5], a1: [1, 4, 3] },
      expected: { n1: "New", h1: "Hibernating", l1: "Loyal", l2: "Loyal", a1: "At risk" }, // FM 1, 2, 5, 4, 4
    },
    {
      scores: { p1: [5, 2, 3], s1: [3, 1, 1], p2: [4, 3, 2], c1: [2, 5, 5], a1: [1, 4, 4] },
      expected: {
        p1: "Potential loyalist",
        s1: "About to sleep",
        p2: "Potential loyalist",
        c1: "Cannot lose them",
        a1: "At risk",
      }, // FM 3, 1, 3, 5, 4
    },
  ] as { scores: Record<string, [number, number, number]>; expected: Record<string, string> }[])(
    "maps R and FM to the documented segments: $expected",
    async ({ scores, expected }) => {
      const rows = await runAndRead(
        { transactions: fiveBuyers(scores) },
        { asOf: AS_OF, models: ["customer_rfm"], model: "customer_rfm", orderBy: "customer_id" },
      );
      expect(Object.fromEntries(rows.map((r) => [r.customer_id, [r.r_score, r.f_score, r.m_score]]))).toEqual(
        scores,
      );
      expect(Object.fromEntries(rows.map((r) => [r.customer_id, r.rfm_segment]))).toEqual(expected);
    },
  );
});
