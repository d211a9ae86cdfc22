import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Row } from "../../functions/core/ports/warehouse.ts";
import { type LakeFixture, makeLake, read, removeLake, run, runAndRead } from "./helpers.ts";

const AS_OF = "2024-02-29";

const FIXTURE: LakeFixture = {
  transactions: [
    {
      order_id: "o1",
      customer_id: "c1",
      ordered_at: "2024-01-05",
      category: "books",
      channel: "web",
      store_id: "s1",
      quantity: 2,
      amount: "20.00",
      cost: "12.00",
    },
    {
      order_id: "o1",
      customer_id: "c1",
      ordered_at: "2024-01-05",
      category: "toys",
      channel: "web",
      store_id: "s1",
      amount: "10.00",
    },
    {
      order_id: "o2",
      customer_id: "c2",
      ordered_at: "2024-01-20",
      category: "books",
      channel: "store",
      store_id: "s2",
      amount: "15.00",
    },
    {
      order_id: "o3",
      customer_id: "c1",
      ordered_at: "2024-02-03",
      category: "books",
      channel: "web",
      store_id: "s1",
      quantity: -1,
      amount: "-10.00",
    },
    {
      order_id: "o4",
      customer_id: "c3",
      ordered_at: "2024-02-10",
      category: "toys",
      channel: "app",
      store_id: null,
      quantity: 3,
      amount: "33.33",
    },
    {
      order_id: "o5",
      customer_id: "c2",
      ordered_at: "2024-03-01",
      category: "books",
      channel: "web",
      store_id: "s2",
      amount: "99.00",
    },
  ],
};

// Margins: o1 books 20 − 12 = 8; o1 toys 10 × 0.3 = 3; o2 15 × 0.3 = 4.5; o3 −10 × 0.3 = −3;
// o4 33.33 × 0.3 = 9.999 → 10.00 (rounded half up per cell); o5 is after as_of.
const row = (
  month: string,
  key: string,
  keyName: string,
  revenue: string,
  margin: string,
  units: string,
  orders: string,
  customers: string,
) => ({
  month_start_on: month,
  [keyName]: key,
  revenue,
  gross_margin: margin,
  units,
  orders,
  customers,
  // The history begins on 2024-01-05, so January is partial; as_of 2024-02-29 ends February.
  is_partial: month === "2024-01-01",
  partial_reason: month === "2024-01-01" ? "first_month" : null,
});

describe("performance by month", () => {
  let lake: string;
  beforeAll(async () => {
    lake = await makeLake(FIXTURE);
    await run(lake, {
      asOf: AS_OF,
      models: ["performance_by_category", "performance_by_channel", "performance_by_store"],
    });
  });
  afterAll(async () => {
    await removeLake(lake);
  });

  it("by category: refunds reduce revenue and margin but count no order", async () => {
    expect(await read(lake, "performance_by_category", AS_OF, "month_start_on, category")).toEqual([
      row("2024-01-01", "books", "category", "35.00", "12.50", "3", "2", "2"),
      row("2024-01-01", "toys", "category", "10.00", "3.00", "1", "1", "1"),
      row("2024-02-01", "books", "category", "-10.00", "-3.00", "-1", "0", "0"),
      row("2024-02-01", "toys", "category", "33.33", "10.00", "3", "1", "1"),
    ]);
  });

  it("by channel", async () => {
    expect(await read(lake, "performance_by_channel", AS_OF, "month_start_on, channel")).toEqual([
      row("2024-01-01", "store", "channel", "15.00", "4.50", "1", "1", "1"),
      row("2024-01-01", "web", "channel", "30.00", "11.00", "3", "1", "1"),
      row("2024-02-01", "app", "channel", "33.33", "10.00", "3", "1", "1"),
      row("2024-02-01", "web", "channel", "-10.00", "-3.00", "-1", "0", "0"),
    ]);
  });

  it("by store, a missing store read as 'unknown'", async () => {
    expect(await read(lake, "performance_by_store", AS_OF, "month_start_on, store_id")).toEqual([
      row("2024-01-01", "s1", "store_id", "30.00", "11.00", "3", "1", "1"),
      row("2024-01-01", "s2", "store_id", "15.00", "4.50", "1", "1", "1"),
      row("2024-02-01", "s1", "store_id", "-10.00", "-3.00", "-1", "0", "0"),
      row("2024-02-01", "unknown", "store_id", "33.33", "10.00", "3", "1", "1"),
    ]);
  });
});

describe("partial months in performance_by_*", () => {
  const lines: LakeFixture = {
    transactions: [
      { order_id: "a", customer_id: "c1", ordered_at: "2024-01-01", category: "books", amount: "10.00" },
      { order_id: "b", customer_id: "c1", ordered_at: "2024-02-20", category: "books", amount: "5.00" },
    ],
  };
  const partial = (rows: readonly Row[]) =>
    rows.map((r) => [r.month_start_on, r.is_partial, r.partial_reason]);

  it("a history beginning on the 1st leaves its first month whole; an as-of before the month's end marks it", async () => {
    const rows = await runAndRead(lines, {
      asOf: "2024-02-20",
      models: ["performance_by_category"],
      model: "performance_by_category",
      orderBy: "month_start_on",
    });
    expect(partial(rows)).toEqual([
      ["2024-01-01", false, null],
      ["2024-02-01", true, "as_of_month"],
    ]);
  });

  it("a history that begins after the 1st of the as-of month gives both reasons", async () => {
    const rows = await runAndRead(
      { transactions: [{ order_id: "a", customer_id: "c1", ordered_at: "2024-03-05", amount: "1.00" }] },
      {
        asOf: "2024-03-30",
        models: ["performance_by_channel"],
        model: "performance_by_channel",
        orderBy: "month_start_on",
      },
    );
    expect(partial(rows)).toEqual([["2024-03-01", true, "first_month, as_of_month"]]);
  });
});
