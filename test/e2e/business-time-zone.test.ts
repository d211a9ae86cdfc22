/**
 * Issue 13, case 7: a business time zone. Through the CLI, with calendar.time_zone = America/New_York: ingest
 * reads a timestamp without an offset (or a date alone) as New York wall-clock time and stores its UTC
 * instant, keeps the instant of one written with an offset, and the run dates each order on its New York day:
 * an order at 22:00 on January 31 counts in the run as of January 31, though it is February in UTC.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ok, queryRows as query } from "../helpers/cli.ts";

let dir: string;
const CONFIG = ["--config", "config.json"];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "crmlake-zone-"));
  await writeFile(join(dir, "config.json"), JSON.stringify({ calendar: { time_zone: "America/New_York" } }));
  await writeFile(
    join(dir, "orders.csv"),
    [
      "order_id,customer_id,ordered_at,amount",
      "naive,a,2024-01-31 22:00:00,10", // 03:00 UTC on February 1
      "offset,b,2024-01-31T22:00:00Z,10", // 17:00 in New York
      "date,c,2024-01-31,10", // New York midnight, 05:00 UTC
      "late,d,2024-02-01 00:30:00,10", // February 1 in New York
      "dst,e,2024-07-01 23:30:00,10", // summer: UTC−4, 03:30 UTC on July 2
      "",
    ].join("\n"),
  );
  await writeFile(join(dir, "profile.json"), JSON.stringify({ timestamp_formats: ["%d/%m/%Y %H:%M"] }));
  await writeFile(
    join(dir, "more.csv"),
    "order_id,customer_id,ordered_at,amount\nformat,f,31/01/2024 23:59,10\n",
  );
  ok(["ingest", "transactions", "orders.csv", ...CONFIG], dir);
  ok(["ingest", "transactions", "more.csv", "--profile", "profile.json", ...CONFIG], dir);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("a business time zone", () => {
  it("stores the UTC instant of New York wall-clock times, and keeps an offset's instant", () => {
    const rows = query(
      "select order_id, CAST(ordered_at AS VARCHAR) AS at, order_month from transactions order by order_id",
      dir,
    );
    expect(rows).toEqual([
      { order_id: "date", at: "2024-01-31 05:00:00", order_month: "2024-01" },
      { order_id: "dst", at: "2024-07-02 03:30:00", order_month: "2024-07" },
      { order_id: "format", at: "2024-02-01 04:59:00", order_month: "2024-02" },
      { order_id: "late", at: "2024-02-01 05:30:00", order_month: "2024-02" },
      { order_id: "naive", at: "2024-02-01 03:00:00", order_month: "2024-02" },
      { order_id: "offset", at: "2024-01-31 22:00:00", order_month: "2024-01" },
    ]);
  });

  it("dates orders on their New York day, so the run as of January 31 counts the evening orders", () => {
    ok(["run", "--as-of", "2024-01-31", "--models", "customer_base", ...CONFIG], dir);
    const base = query(
      "select customer_id, CAST(last_order_on AS VARCHAR) AS day from customer_base where as_of = DATE '2024-01-31' order by 1",
      dir,
    );
    expect(base).toEqual([
      { customer_id: "a", day: "2024-01-31" },
      { customer_id: "b", day: "2024-01-31" },
      { customer_id: "c", day: "2024-01-31" },
      { customer_id: "f", day: "2024-01-31" },
    ]);
  });
});
