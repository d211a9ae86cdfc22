import { describe, expect, it } from "vitest";
import { csvReadOptions, SMALL_RECORD_BYTES } from "../../functions/core/ingest/convert.ts";
import { CsvScanner, type CsvScanOptions, scanCsv } from "../../functions/core/ingest/csv-scan.ts";

const OPTIONS: CsvScanOptions = {
  quote: 0x22,
  delimiter: 0x2c,
  header: true,
  maxQuotedLines: 3,
  maxQuotedBytes: 1000,
};

/** The layout of a text, with the broken records' raw lines as text. */
function scan(text: string, options: Partial<CsvScanOptions> = {}) {
  const layout = scanCsv(Buffer.from(text), { ...OPTIONS, ...options });
  return { ...layout, broken: layout.broken.map((b) => ({ ...b, raw: b.raw.toString() })) };
}

describe("the CSV record scanner", () => {
  it("finds no shift in a plain file, and one after a blank line or a quoted field over two lines", () => {
    expect(scan("a,b\n1,2\n3,4\n")).toEqual({ records: 3, shifts: [], broken: [], longestRecord: 4 });
    expect(scan('a,b\n1,"x\ny"\n\n3,4\n').shifts).toEqual([
      // Record 3 (3,4) is on physical line 5; DuckDB numbers its line 4 (a blank line counts, a quoted
      // line end does not).
      { record: 3, logical: 4, physical: 5 },
    ]);
  });

  it("counts a blank line as a record in a file of one column, as DuckDB reads it", () => {
    expect(scan("a\n1\n\n2\n")).toEqual({ records: 4, shifts: [], broken: [], longestRecord: 2 });
  });

  it("breaks a record whose quote stays open past the line limit and resumes at its next line", () => {
    const layout = scan('a,b\n1,"oops\n2,3\n4,5\n6,7\n8,9\n');
    expect(layout.broken).toEqual([
      {
        line: 2,
        raw: '1,"oops',
        reason: "a quoted field opened in field 2 is still open after 3 line ends (quoted_field_max_lines)",
        start: 4,
        end: 12,
      },
    ]);
    expect(layout.records).toBe(5);
    expect(layout.shifts).toEqual([{ record: 2, logical: 2, physical: 3 }]);
  });

  it("breaks a record past the byte limit, at the end of the file, or with the wrong number of fields", () => {
    expect(scan('a,b\n1,"x\nyyyyyyyyyy"\n', { maxQuotedBytes: 5 }).broken[0]?.reason).toMatch(
      /still open after 5 bytes \(quoted_field_max_bytes\)/,
    );
    expect(scan('a,b\n1,"x\n2,3').broken[0]?.reason).toMatch(/never closed/);
    expect(scan('a,b\n1,"x\n2",3\n').broken[0]?.reason).toMatch(/a record of 3 fields instead of 2/);
  });

  it("treats a quote inside a field as an ordinary character and a doubled quote as a quote", () => {
    expect(scan('a,b\n1,5" screen\n"say ""hi""",2\n')).toEqual({
      records: 3,
      shifts: [],
      broken: [],
      longestRecord: 15,
    });
  });

  it("gives the same layout whatever the chunks, CRLF and a byte-order mark included", () => {
    const text = '\ufeffa,b\r\n1,"x\r\ny"\r\n\r\n2,"oops\r\n3,4\r\n5,6\r\n7,8\r\n9,"a\r\nb"\r\n';
    const whole = scanCsv(Buffer.from(text), OPTIONS);
    const scanner = new CsvScanner(OPTIONS);
    for (const byte of Buffer.from(text)) scanner.push(Buffer.from([byte]));
    expect(scanner.finish()).toEqual(whole);
    expect(whole.broken.map((b) => b.line)).toEqual([5]);
    expect(whole.records).toBe(6);
  });

  it("measures the longest record DuckDB reads, line ends and quoted lines included, broken ones left out", () => {
    expect(scan('a,b\r\n1,"x\r\ny"\r\n22,3\r\n').longestRecord).toBe(10);
    // The broken record's line is left out; the longest record read is the header.
    expect(scan('ab,cd\n1,"oops\n2,3\n4,5\n6,7\n8,9\n', { maxQuotedLines: 1 }).longestRecord).toBe(6);
    // Pushed in pieces: a record split across chunks counts whole.
    const scanner = new CsvScanner(OPTIONS);
    for (const piece of ["a,b\n1,", "2345", "6789\n3,4\n"]) scanner.push(Buffer.from(piece));
    expect(scanner.finish().longestRecord).toBe(11);
  });
});

describe("DuckDB's read options for a delimited file", () => {
  const layout = (longestRecord: number) => ({ records: 2, shifts: [], broken: [], longestRecord });

  it("give a 16 MiB buffer when the scan found no record over 1 MiB, and DuckDB's default otherwise", () => {
    expect(csvReadOptions(layout(SMALL_RECORD_BYTES))).toBe(
      "max_line_size = 4194304, buffer_size = 16777216",
    );
    expect(csvReadOptions(layout(SMALL_RECORD_BYTES + 1))).toBe("max_line_size = 10000000");
    expect(csvReadOptions(undefined)).toBe("max_line_size = 10000000");
  });
});
