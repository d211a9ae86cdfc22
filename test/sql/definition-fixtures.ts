/**
 * The hand-computed fixtures of the definitions issue (13), one per numbered case, shared by the DuckDB tests
 * (test/sql/*.test.ts check each number by hand) and the Trino tier (test/trino/definitions.test.ts runs the
 * same fixtures through the real ingest and the real runner on both engines and checks the same numbers).
 */
import type { LakeFixture, TransactionFixture } from "./helpers.ts";

/** One purchase line of 10.00 per date, orders `<customer>-<i>`. */
export function purchases(
  customer: string,
  dates: string[],
  amount = "10.00",
  category = "books",
): TransactionFixture[] {
  return dates.map((d, i) => ({
    order_id: `${customer}-${i}`,
    customer_id: customer,
    ordered_at: d,
    amount,
    category,
  }));
}

/**
 * 100 active customers c001…c100 with one order each on 2024-05-01 (margin = 0.3 × amount):
 * amount(i) = 1010 − 10 i, except c001 = c002 = 1000 (tie at the top/big edge), c006 = c005 = 960 (tie at the
 * big/medium edge) and c021 = c020 = 810 (tie at the medium/small edge). Plus an inactive customer (last order
 * 2022), one whose only line in the window is a refund, and a prospect.
 */
export function hundredCustomers(): LakeFixture {
  const amount = (i: number): number => (i <= 2 ? 1000 : i === 6 ? 960 : i === 21 ? 810 : 1010 - 10 * i);
  const transactions: TransactionFixture[] = [];
  for (let i = 1; i <= 100; i++) {
    const id = `c${String(i).padStart(3, "0")}`;
    transactions.push({
      order_id: `o${id}`,
      customer_id: id,
      ordered_at: "2024-05-01",
      amount: amount(i).toFixed(2),
    });
  }
  transactions.push(
    { order_id: "zi1", customer_id: "z_inactive", ordered_at: "2022-06-01", amount: "70.00" },
    { order_id: "zr1", customer_id: "z_returns", ordered_at: "2022-06-01", amount: "50.00" },
    { order_id: "zr2", customer_id: "z_returns", ordered_at: "2024-01-15", amount: "-50.00", quantity: -1 },
  );
  return { transactions, customers: [{ customer_id: "z_prospect", signed_up_at: "2024-01-01" }] };
}

/** Case 3, as of 2024-06-30: purchase occasions by day and by order. */
export const OCCASION_FIXTURE: LakeFixture = {
  transactions: [
    // An exchange 29 days before as-of whose refund exceeds the purchase: a purchase occasion all the same.
    { order_id: "ex-1", customer_id: "ex", ordered_at: "2024-06-01", amount: "10.00", category: "books" },
    { order_id: "ex-1", customer_id: "ex", ordered_at: "2024-06-01", amount: "-30.00", quantity: -1 },
    // Two orders on one day: one occasion by day, two by order.
    ...purchases("od", ["2024-06-20 09:00:00", "2024-06-20 17:00:00"]),
    // One order of two purchase lines, and a refund the next day in another order: one occasion either way.
    { order_id: "md-0", customer_id: "md", ordered_at: "2024-05-10", amount: "10.00", category: "books" },
    { order_id: "md-0", customer_id: "md", ordered_at: "2024-05-10", amount: "15.00", category: "toys" },
    { order_id: "md-1", customer_id: "md", ordered_at: "2024-05-11", amount: "-10.00", quantity: -1 },
    ...purchases("rp", ["2024-01-10", "2024-03-10"]),
    // Refunds only: no occasion.
    { order_id: "ro-0", customer_id: "ro", ordered_at: "2024-06-01", amount: "-10.00", quantity: -1 },
  ],
};

/** Case 2, as of 2024-06-30 (comparison period April–June 2024, lapse after 365 days). */
export const LIFECYCLE_FIXTURE: LakeFixture = {
  transactions: [
    // Active at the start (2023-05-15 is 321 days before it), lapses on 2024-05-15, returns on 2024-06-10:
    // lost and won back in the same period.
    ...purchases("lr", ["2023-05-15", "2024-06-10"]),
    // Returned on 2024-04-15 and bought again on 2024-06-20: still won_back for the period of the return.
    ...purchases("wb", ["2022-01-10", "2024-04-15", "2024-06-20"]),
    // Returned on 2024-02-01, before the period: no longer won_back (three occasions: repeat).
    ...purchases("pw", ["2022-01-10", "2024-02-01", "2024-06-01"]),
    ...purchases("ac", ["2024-01-01", "2024-05-01"]),
    // Active at the start (304 days), lapses on 2024-06-01: lost.
    ...purchases("lo", ["2023-06-01"]),
    ...purchases("nw", ["2024-05-05"]),
  ],
};

/** Case 4, as of 2024-06-15: the value window is the 12 calendar months ending with June 2024. */
export const PERIODS_FIXTURE: LakeFixture = {
  transactions: [
    // In the last 365 days but before July 2023: outside the value window.
    { order_id: "a-0", customer_id: "a", ordered_at: "2023-06-20", amount: "100.00", category: "books" },
    { order_id: "a-1", customer_id: "a", ordered_at: "2023-07-01", amount: "50.00", category: "books" },
    { order_id: "a-2", customer_id: "a", ordered_at: "2024-06-15", amount: "20.00", category: "toys" },
    { order_id: "b-0", customer_id: "b", ordered_at: "2024-04-01", amount: "30.00", category: "books" },
  ],
};

/** Case 7, as of 2024-01-31: one order per customer, timestamps in UTC, near midnight in New York and Tokyo. */
export const TIME_ZONE_FIXTURE: LakeFixture = {
  transactions: [
    // New York: January 31, 22:00 — on the as-of day, though stored in February's partition.
    ...purchases("a", ["2024-02-01 03:00:00"]),
    // New York: February 1, 00:30 — after as-of everywhere west of UTC and in UTC.
    ...purchases("b", ["2024-02-01 05:30:00"]),
    // New York: January 30, 23:00; Tokyo: January 31, 13:00.
    ...purchases("c", ["2024-01-31 04:00:00"]),
    // Tokyo: January 31, 01:00; UTC and New York: January 30.
    ...purchases("d", ["2024-01-30 16:00:00"]),
  ],
};

/** Case 1, as of 2024-06-30: profits tied in threes and twos (net profit 25.00 × 3, 10.00 × 2). */
export const TIED_PROFITS_FIXTURE: LakeFixture = {
  transactions: (
    [
      ["t1", "100.00"],
      ["t2", "100.00"],
      ["t3", "100.00"],
      ["t4", "50.00"],
      ["t5", "50.00"],
    ] as const
  ).map(([id, amount]) => ({ order_id: `o${id}`, customer_id: id, ordered_at: "2024-05-01", amount })),
};

/** Case 5, as of 2024-06-30: w1 buys 100.00 (net profit 25.00); w2 refunds `refund` (total not positive). */
export function whaleFixture(refund: string): LakeFixture {
  return {
    transactions: [
      { order_id: "W1", customer_id: "w1", ordered_at: "2024-05-01", amount: "100.00" },
      { order_id: "W2", customer_id: "w2", ordered_at: "2024-05-02", amount: refund, quantity: -1 },
    ],
  };
}

/**
 * Case 6, as of 2024-06-30: w1's one order of 20,000 lines of 500,000,000,000.00 sums to 10^16, more than
 * decimal(18,2) holds; w2 buys 10.00 in June.
 */
export function overflowFixture(): LakeFixture {
  const lines: TransactionFixture[] = Array.from({ length: 20_000 }, () => ({
    order_id: "B1",
    customer_id: "w1",
    ordered_at: "2024-05-01",
    amount: "500000000000.00",
  }));
  lines.push({ order_id: "S1", customer_id: "w2", ordered_at: "2024-06-01", amount: "10.00" });
  return { transactions: lines };
}
