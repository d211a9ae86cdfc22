import { describe, expect, it } from "vitest";
import { tempLake } from "../helpers/lake.ts";

const HEADER =
  "order_id,customer_id,ordered_at,product_id,category,channel,store_id,quantity,amount,cost,discount";

/**
 * Ingest reads a delimited file once, on every thread, and numbers a record by its row id in the table it is
 * read into (convert.ts): these files are large enough for DuckDB to read them in parallel (many 8 MB
 * buffers' worth of lines on 2 threads), so a row out of order would carry another record's line number.
 * Each record's order_id names its physical line, so every row checks its own number.
 */
describe("line numbers on a file read in parallel", () => {
  it("are each record's physical line, around rejected records, blank lines and broken quoting", async () => {
    const lake = await tempLake();
    const lines = [HEADER];
    let expectedRejects = 0;
    let expectedQuarantined = 0;
    for (let line = 2; lines.length < 400_000; line = lines.length + 1) {
      if (line % 50_000 === 7) {
        lines.push(`o${line},c1,2024-01-01,p1,books,web,s1,1,1.00,0.50,0,extra`); // too many fields
        expectedRejects += 1;
      } else if (line % 70_001 === 11) {
        lines.push(""); // a blank line: no record, but a physical line
      } else if (line % 90_001 === 13) {
        lines.push(`o${line},,2024-01-01,p1,books,web,s1,1,1.00,0.50,0`); // no customer: quarantined
        expectedQuarantined += 1;
      } else if (line % 110_001 === 17) {
        lines.push(`o${line},c1,"2024-01-01`, `still the same field",p1,books,web,s1,1,1.00,0.50,0`);
        expectedQuarantined += 1; // a field over two lines: one record, whose timestamp is bad
      } else {
        lines.push(
          `o${line},c${line % 997},2024-01-${String((line % 28) + 1).padStart(2, "0")},p1,books,web,s1,1,1.00,0.50,0`,
        );
      }
    }
    const path = await lake.file("big.csv", `${lines.join("\n")}\n`);
    const { ledger } = await lake.ingest("transactions", path);
    expect(ledger.status).toBe("ok");
    expect(ledger.rows_quarantined).toBe(expectedRejects + expectedQuarantined);

    const misplaced = await lake.query(`SELECT count(*) AS n, count(*) FILTER (
        WHERE CAST(substr(order_id, 2) AS BIGINT) <> line_number) AS wrong FROM transactions`);
    expect(misplaced).toEqual([{ n: String(ledger.rows_ok), wrong: "0" }]);
    const quarantine = await lake.query(
      "SELECT line_number, reason_code, raw FROM quarantine ORDER BY line_number",
    );
    expect(quarantine).toHaveLength(expectedRejects + expectedQuarantined);
    // A reader's reject keeps the line's text (o13,…), a failing check the record as JSON ("o13").
    for (const row of quarantine as { line_number: string; raw: string }[]) {
      expect(row.raw).toMatch(new RegExp(`\\bo${row.line_number}[,"]`));
    }
  }, 120_000);
});
