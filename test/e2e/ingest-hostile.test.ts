/**
 * Hostile exports through the command line (issue 12, cases 1 and 6 in part): a stray quote, JSON keys in
 * another case, ids written as decimals, blank lines, a profile with one separator for two jobs, a quantity
 * too large for its column. Each test ingests with `crmlake ingest` and reads the lake with `crmlake query`.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { crmlake } from "../helpers/cli.ts";

/** A fresh directory with the given files; `lake` is its lake. */
async function workspace(files: Record<string, string | Buffer>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "crmlake-hostile-"));
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
  return dir;
}

function query(dir: string, sql: string): Record<string, unknown>[] {
  const run = crmlake(["query", sql, "--format", "json"], dir);
  expect(run.stderr).toBe("");
  return run.stdout
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

const HEADER = "order_id,customer_id,ordered_at,amount,category";
const line = (i: number, category = "x") => `o${i},c${i},2024-01-01,${i},${category}`;

/** 1,002 lines: a header, a good line, a line whose last field opens a quote, then 999 good lines. */
function strayQuoteFile(later: (i: number) => string = (i) => line(i)): string {
  const lines = [HEADER, line(1), 'o2,c2,2024-01-01,2,"oops'];
  for (let i = 3; i <= 1001; i++) lines.push(later(i));
  return `${lines.join("\n")}\n`;
}

function expectLedgerAddsUp(dir: string, rowsIn: number, rowsOk: number) {
  expect(query(dir, "SELECT rows_in, rows_ok, rows_quarantined FROM drops")).toEqual([
    { rows_in: rowsIn, rows_ok: rowsOk, rows_quarantined: rowsIn - rowsOk },
  ]);
}

describe("a quote that is never closed (broken quoting)", () => {
  it("quarantines only the line it opens on and ingests the 999 valid lines after it", async () => {
    const dir = await workspace({ "orders.csv": strayQuoteFile() });
    const run = crmlake(["ingest", "transactions", "orders.csv"], dir);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^✓ orders\.csv → 1,001 rows: 1,000 ok, 1 quarantined \(malformed_row 1\)/);
    expectLedgerAddsUp(dir, 1001, 1000);
    expect(query(dir, "SELECT line_number, reason_code, reason, raw FROM quarantine")).toEqual([
      {
        line_number: 3,
        reason_code: "malformed_row",
        reason:
          "a quoted field opened in field 5 is still open after 100 line ends (quoted_field_max_lines): the record is broken, so this line is quarantined and reading resumes at line 4",
        raw: 'o2,c2,2024-01-01,2,"oops',
      },
    ]);
    // Every later line is read, at its own physical line.
    expect(
      query(
        dir,
        "SELECT order_id, line_number FROM transactions WHERE order_id IN ('o1','o3','o1001') ORDER BY 2",
      ),
    ).toEqual([
      { order_id: "o1", line_number: 2 },
      { order_id: "o3", line_number: 4 },
      { order_id: "o1001", line_number: 1002 },
    ]);
  });

  it("resynchronises when a later quoted field closes the stray quote, in a gzip file too", async () => {
    // The first quote of line 51's "a, b" closes the stray one; what follows it is no delimiter.
    const text = strayQuoteFile((i) => (i === 51 ? line(i, '"a, b"') : line(i)));
    const dir = await workspace({ "orders.csv.gz": gzipSync(text) });
    const run = crmlake(["ingest", "transactions", "orders.csv.gz"], dir);
    expect(run.code).toBe(0);
    expectLedgerAddsUp(dir, 1001, 1000);
    const [broken] = query(dir, "SELECT line_number, reason FROM quarantine");
    expect(broken?.line_number).toBe(3);
    expect(broken?.reason).toMatch(/is followed by "a" instead of a delimiter, so a quote in it is stray/);
    expect(query(dir, "SELECT category, line_number FROM transactions WHERE order_id = 'o51'")).toEqual([
      { category: "a, b", line_number: 52 },
    ]);
  });

  it("says so at the end of the file, and keeps a quoted field over several lines as one record", async () => {
    const lines = [
      HEADER,
      'o1,c1,2024-01-01,1,"two\nlines"',
      line(2),
      'o3,c3,2024-01-01,3,"never closed',
      line(4),
    ];
    const dir = await workspace({ "orders.csv": lines.join("\n") });
    expect(crmlake(["ingest", "transactions", "orders.csv"], dir).code).toBe(0);
    expectLedgerAddsUp(dir, 4, 3);
    expect(query(dir, "SELECT order_id, category, line_number FROM transactions ORDER BY 3")).toEqual([
      { order_id: "o1", category: "two\nlines", line_number: 2 },
      { order_id: "o2", category: "x", line_number: 4 },
      { order_id: "o4", category: "x", line_number: 6 },
    ]);
    expect(query(dir, "SELECT line_number, reason FROM quarantine")).toEqual([
      {
        line_number: 5,
        reason:
          "a quoted field opened in field 5 is never closed (it runs to the end of the file): the record is broken, so this line is quarantined and reading resumes at line 6",
      },
    ]);
  });

  it("takes the limit from the profile (quoted_field_max_lines)", async () => {
    const lines = [HEADER, 'o1,c1,2024-01-01,1,"three\nlines\nlong"', line(2)];
    const dir = await workspace({
      "orders.csv": `${lines.join("\n")}\n`,
      "short.json": JSON.stringify({ quoted_field_max_lines: 1 }),
    });
    expect(crmlake(["ingest", "transactions", "orders.csv", "--profile", "short.json"], dir).code).toBe(0);
    // Line 1 is quarantined; "lines" and "long"" are then records of one field each (too few fields).
    expect(query(dir, "SELECT line_number, reason_code FROM quarantine ORDER BY 1")).toEqual([
      { line_number: 2, reason_code: "malformed_row" },
      { line_number: 3, reason_code: "malformed_row" },
      { line_number: 4, reason_code: "malformed_row" },
    ]);
    expect(query(dir, "SELECT order_id, line_number FROM transactions")).toEqual([
      { order_id: "o2", line_number: 5 },
    ]);
  });

  it("rejects a file whose header opens a quote it never closes, in one line", async () => {
    const dir = await workspace({ "orders.csv": `order_id,"customer_id,ordered_at,amount\n${line(1)}\n` });
    const run = crmlake(["ingest", "transactions", "orders.csv"], dir);
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split("\n")).toEqual([
      '✗ orders.csv: "orders.csv": its header is broken: a quoted field opened in field 2 is never closed (it runs to the end of the file). Check the quoting of the first line',
    ]);
  });
});

describe("JSON Lines keys in another case", () => {
  it("match contract columns case-insensitively, as CSV headers do; one key in two spellings is quarantined", async () => {
    const record = (id: string, amountKey: string, extra = "") =>
      `{"order_id":"${id}","customer_id":"c1","ordered_at":"2024-01-01","${amountKey}":5${extra}}`;
    const dir = await workspace({
      "orders.jsonl": [
        record("o1", "Amount"),
        record("o2", "amount"),
        record("o3", "AMOUNT", ',"amount":6'),
      ].join("\n"),
      "orders.csv": "Order_ID,Customer_ID,Ordered_At,Amount\no4,c1,2024-01-01,5\n",
      "twice.csv": "order_id,customer_id,ordered_at,Amount,amount\no5,c1,2024-01-01,5,6\n",
    });
    const run = crmlake(["ingest", "transactions", "orders.jsonl", "orders.csv"], dir);
    expect(run.code).toBe(0);
    expect(run.stderr).not.toContain("ignored unknown columns");
    expect(query(dir, "SELECT order_id, amount FROM transactions ORDER BY 1")).toEqual([
      { order_id: "o1", amount: "5.00" },
      { order_id: "o2", amount: "5.00" },
      { order_id: "o4", amount: "5.00" },
    ]);
    expect(query(dir, "SELECT line_number, reason_code, reason FROM quarantine")).toEqual([
      {
        line_number: 3,
        reason_code: "malformed_row",
        reason:
          'the record names the column "amount" more than once, in different case ("AMOUNT", "amount"): keys match columns case-insensitively',
      },
    ]);
    // The CSV counterpart of that record: a header naming a column twice rejects the file.
    const twice = crmlake(["ingest", "transactions", "twice.csv"], dir);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain('"twice.csv" has the column "amount" twice in its header');
  });
});

describe("JSON Lines ids written as numbers", () => {
  it("reads 17850, 17850.0 and 1.785e4 as one customer and quarantines 17850.5 as bad_id", async () => {
    const record = (id: string, customer: string) =>
      `{"order_id":"${id}","customer_id":${customer},"ordered_at":"2024-01-01","amount":1}`;
    const dir = await workspace({
      "orders.jsonl": [
        record("o1", "17850"),
        record("o2", "17850.0"),
        record("o3", "1.785e4"),
        record("o4", "17850.5"),
        record("o5", '"017850"'),
      ].join("\n"),
    });
    expect(crmlake(["ingest", "transactions", "orders.jsonl"], dir).code).toBe(0);
    expect(query(dir, "SELECT customer_id, count(*) AS n FROM transactions GROUP BY 1 ORDER BY 1")).toEqual([
      { customer_id: "017850", n: 1 },
      { customer_id: "17850", n: 3 },
    ]);
    expect(query(dir, "SELECT line_number, reason_code, reason FROM quarantine")).toEqual([
      {
        line_number: 4,
        reason_code: "bad_id",
        reason:
          'customer_id "17850.5" is a JSON number with a fraction, or too large to read exactly; an id must be a string or a whole number',
      },
    ]);
  });
});

describe("blank lines", () => {
  it("do not shift the physical line numbers of later rows, in CSV and JSON Lines", async () => {
    const json = (id: string) =>
      `{"order_id":"${id}","customer_id":"c1","ordered_at":"2024-01-01","amount":1}`;
    const dir = await workspace({
      "orders.csv": `${HEADER}\n${line(1)}\n\n${line(2)}\n\n\n${line(3)}\no4,,2024-01-01,4,x\n`,
      "orders.jsonl": `\n${json("j1")}\n\n   \n${json("j2")}\n{oops\n${json("j3")}\n`,
    });
    expect(crmlake(["ingest", "transactions", "orders.csv", "orders.jsonl"], dir).code).toBe(0);
    expect(query(dir, "SELECT order_id, line_number FROM transactions ORDER BY 1")).toEqual([
      { order_id: "j1", line_number: 2 },
      { order_id: "j2", line_number: 5 },
      { order_id: "j3", line_number: 7 },
      { order_id: "o1", line_number: 2 },
      { order_id: "o2", line_number: 4 },
      { order_id: "o3", line_number: 7 },
    ]);
    expect(query(dir, "SELECT line_number, reason_code FROM quarantine ORDER BY 2, 1")).toEqual([
      { line_number: 6, reason_code: "malformed_row" },
      { line_number: 8, reason_code: "missing_customer_id" },
    ]);
  });
});

describe("a profile with one character for both separators", () => {
  it("is rejected with a clear error, not read as 1,5 → 15.00", async () => {
    const dir = await workspace({
      "orders.csv": `order_id;customer_id;ordered_at;amount\no1;c1;2024-01-01;"1,5"\n`,
      "same.json": JSON.stringify({ delimiter: ";", decimal_separator: ",", thousands_separator: "," }),
    });
    const run = crmlake(["ingest", "transactions", "orders.csv", "--profile", "same.json"], dir);
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split("\n")).toEqual([
      'crmlake ingest: Source profile same.json: thousands_separator: "," is also the decimal_separator; they must differ (a number like "1,5" would be ambiguous)',
    ]);
  });
});

describe("a quantity too large for its column", () => {
  it("is quarantined as out of range, and a fraction as not a whole number", async () => {
    const dir = await workspace({
      "orders.csv": [
        "order_id,customer_id,ordered_at,amount,quantity",
        "o1,c1,2024-01-01,1,3000000000",
        "o2,c1,2024-01-01,1,99999999999999999999",
        "o3,c1,2024-01-01,1,1.5",
        "o4,c1,2024-01-01,1,-2147483648",
      ].join("\n"),
    });
    expect(crmlake(["ingest", "transactions", "orders.csv"], dir).code).toBe(0);
    expect(query(dir, "SELECT line_number, reason FROM quarantine ORDER BY 1")).toEqual([
      {
        line_number: 2,
        reason: 'quantity "3000000000" is out of range (a whole number from -2147483648 to 2147483647)',
      },
      {
        line_number: 3,
        reason:
          'quantity "99999999999999999999" is out of range (a whole number from -2147483648 to 2147483647)',
      },
      { line_number: 4, reason: 'quantity "1.5" is not a whole number' },
    ]);
    expect(query(dir, "SELECT quantity FROM transactions")).toEqual([{ quantity: -2147483648 }]);
  });
});

describe("a record longer than the small read buffer's line limit", () => {
  it("is read with DuckDB's default buffer, and every record after it too (a 5 MiB field across the 16 MiB mark)", async () => {
    // About 14 MiB of short lines, then a line with a 5 MiB category running past 16 MiB, then more short lines:
    // with the small buffer's 4 MiB line limit DuckDB would refuse or lose records here (csvReadOptions).
    const lines = [HEADER];
    let bytes = HEADER.length + 1;
    let i = 0;
    while (bytes < 14 * 1024 * 1024) {
      i += 1;
      const text = line(i);
      lines.push(text);
      bytes += text.length + 1;
    }
    const long = i + 1;
    lines.push(line(long, "y".repeat(5 * 1024 * 1024)));
    for (let j = long + 1; j <= long + 50_000; j++) lines.push(line(j));
    const dir = await workspace({ "orders.csv": `${lines.join("\n")}\n` });
    const run = crmlake(["ingest", "transactions", "orders.csv"], dir);
    expect(run.code, run.stderr).toBe(0);
    expectLedgerAddsUp(dir, lines.length - 1, lines.length - 1);
    expect(
      query(
        dir,
        `SELECT length(category) AS n, max(line_number) OVER () AS last FROM transactions WHERE order_id = 'o${long}'`,
      ),
    ).toEqual([{ n: 5 * 1024 * 1024, last: long + 1 }]);
    expect(query(dir, "SELECT max(line_number) AS last FROM transactions")).toEqual([{ last: lines.length }]);
  });
});
