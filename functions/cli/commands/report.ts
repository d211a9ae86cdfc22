import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { StackBackend } from "../../backends/aws-stack.ts";
import { loadLocalReport } from "../../backends/local.ts";
import { loadConfig } from "../../core/config.ts";
import { dayIn, isIsoDate, notADate } from "../../core/dates.ts";
import { UsageError } from "../../core/errors.ts";
import {
  loadReportData,
  type Query,
  type ReportData,
  type Row,
  renderReport,
  resolveReportAsOf,
  textSummary,
} from "../../core/report/report.ts";
import type { Command, ParsedArgs } from "../command.ts";
import { stringOption } from "../command.ts";
import { STACK_HELP, STACK_OPTION, stackOption, withStack } from "../stack.ts";

/**
 * The report from a deployed stack's published tables: the same queries as on a local lake, through Athena
 * in the stack's Glue database (StackBackend.query: the analysts' workgroup, the caller's rights).
 */
export async function loadStackReport(
  backend: StackBackend,
  asOf: string | undefined,
  today: string,
): Promise<ReportData> {
  const query: Query = async (sql) => {
    const { columns, rows } = await backend.query(sql);
    // Athena gives an array as text, `[a, b]`, typed `array`; the report's one array column
    // (campaign_results.flags) holds codes, which hold no ", ", so it splits back into the array DuckDB gives.
    const arrays = columns.filter((c) => /^array\b/.test(c.type)).map((c) => c.name);
    if (arrays.length === 0) return rows as Row[];
    return rows.map((row) => {
      const copy: Row = { ...(row as Row) };
      for (const name of arrays) {
        const text = copy[name];
        if (typeof text === "string" && text.startsWith("[") && text.endsWith("]")) {
          copy[name] = text === "[]" ? [] : text.slice(1, -1).split(", ");
        }
      }
      return copy;
    });
  };
  const name = backend.stack.name;
  const date = await resolveReportAsOf(
    query,
    { where: `in the stack ${name}`, option: `--stack ${name}` },
    asOf,
    today,
  );
  return loadReportData(query, date, { schema: backend.stack.database });
}

export const reportCommand: Command = {
  name: "report",
  summary: "Write the manager's report (HTML) from a run's model outputs",
  help: `Usage: crmlake report [--lake DIR | --stack NAME] [--as-of YYYY-MM-DD] [--out FILE] [--config FILE]

Writes a self-contained HTML page: the customer pyramid, the whale curve, tier migration, life-cycle
stages and growth levers, RFM and needs segments, what sells where, cohort retention, cross-sell and data
quality. Prints the headlines.

Options:
  --lake DIR       lake directory (default ./lake)
${STACK_HELP}.
                   The report's queries run in Athena, in the stack's analysts' workgroup
                   (AnalystWorkGroupName: its result prefix and bytes-scanned limit), with your
                   credentials: the analysts' policy is enough. Files read and rows set aside need the
                   operator's rights (the drop ledger and the quarantine); without them the report says so
  --as-of DATE     which run (default: the latest as-of that is not after today)
  --out FILE       output file (default <lake>/report.html; with --stack, ./report-<stack>-<as-of>.html)
  --config FILE    configuration file, for calendar.time_zone, the zone of "today" (default Etc/UTC)`,
  options: {
    lake: { type: "string" },
    ...STACK_OPTION,
    "as-of": { type: "string" },
    out: { type: "string" },
    config: { type: "string" },
  },
  async run(args: ParsedArgs) {
    const asOf = stringOption(args, "as-of");
    if (asOf !== undefined && !isIsoDate(asOf)) {
      throw new UsageError("bad_arguments", `--as-of ${notADate(asOf)}`);
    }
    const stack = stackOption(args, "report", ["lake"]);
    const lakeDir = stringOption(args, "lake") ?? "lake";
    const { calendar } = await loadConfig(stringOption(args, "config"));
    const today = dayIn(new Date(), calendar.time_zone);
    const data =
      stack === undefined
        ? await loadLocalReport(lakeDir, asOf, today)
        : await withStack(stack, (backend) => loadStackReport(backend, asOf, today));
    const out = resolve(
      stringOption(args, "out") ??
        (stack === undefined ? `${lakeDir}/report.html` : `report-${stack}-${data.asOf}.html`),
    );
    await writeFile(out, renderReport(data));
    process.stdout.write(`${textSummary(data)}\nReport written to ${out}\n`);
    return 0;
  },
};
