import { openLakeQuery } from "../../backends/local.ts";
import { UsageError } from "../../core/errors.ts";
import { csvQuote } from "../../core/runner/action-lists.ts";
import type { Command, ParsedArgs } from "../command.ts";
import { stringOption } from "../command.ts";

const FORMATS = ["table", "csv", "json"] as const;
type Format = (typeof FORMATS)[number];

function csvField(value: unknown): string {
  if (value === null || value === undefined) return "";
  return csvQuote(typeof value === "string" ? value : JSON.stringify(value));
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return "NULL";
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** Renders rows as an aligned text table; numbers are right-aligned. */
export function renderTable(columns: readonly string[], rows: readonly unknown[][]): string {
  const texts = rows.map((row) => row.map(cell));
  const widths = columns.map((c, i) => Math.max(c.length, ...texts.map((r) => (r[i] ?? "").length)));
  const numeric = columns.map(
    (_, i) =>
      rows.length > 0 && rows.every((r) => r[i] === null || /^-?[\d.]+(e[+-]?\d+)?$/i.test(cell(r[i]))),
  );
  const line = (values: readonly string[]) =>
    values
      .map((v, i) => (numeric[i] ? v.padStart(widths[i] ?? 0) : v.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [
    line(columns),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...texts.map(line),
    `(${rows.length} row${rows.length === 1 ? "" : "s"})`,
  ].join("\n");
}

export const queryCommand: Command = {
  name: "query",
  summary: "Run SQL (DuckDB) over the lake's tables",
  help: `Usage: crmlake query "<sql>" [--lake DIR] [--format table|csv|json]

Tables: transactions, customers, campaigns, campaign_contacts (curated rows), quarantine (rejected rows:
dataset, drop_id, line_number, reason_code, reason, raw) and drops (the ingest ledger), plus every model
output after "crmlake run" and the clv_backtest_* tables after "crmlake backtest".

Options:
  --lake DIR       lake directory (default ./lake)
  --format F       table (default), csv or json (one object per line)`,
  options: { lake: { type: "string" }, format: { type: "string" } },
  async run(args: ParsedArgs) {
    const sql = args.positionals.join(" ").trim();
    if (sql === "") throw new UsageError("bad_arguments", 'No SQL given. Usage: crmlake query "<sql>"');
    const format = (stringOption(args, "format") ?? "table") as Format;
    if (!FORMATS.includes(format)) {
      throw new UsageError(
        "bad_arguments",
        `Unknown --format "${format}". Use one of: ${FORMATS.join(", ")}`,
      );
    }
    const lakeDir = stringOption(args, "lake") ?? "lake";
    const session = await openLakeQuery(lakeDir);
    try {
      const { columns, rows } = await session.query(sql);
      if (format === "json") {
        for (const row of rows)
          process.stdout.write(`${JSON.stringify(Object.fromEntries(columns.map((c, i) => [c, row[i]])))}\n`);
      } else if (format === "csv") {
        process.stdout.write(`${columns.map(csvField).join(",")}\n`);
        for (const row of rows) process.stdout.write(`${row.map(csvField).join(",")}\n`);
      } else process.stdout.write(`${renderTable(columns, rows)}\n`);
      return 0;
    } finally {
      session.close();
    }
  },
};
