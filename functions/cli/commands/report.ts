import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { loadLocalReport } from "../../backends/local.ts";
import { loadConfig } from "../../core/config.ts";
import { dayIn, isIsoDate, notADate } from "../../core/dates.ts";
import { UsageError } from "../../core/errors.ts";
import { renderReport, textSummary } from "../../core/report/report.ts";
import type { Command, ParsedArgs } from "../command.ts";
import { stringOption } from "../command.ts";

export const reportCommand: Command = {
  name: "report",
  summary: "Write the manager's report (HTML) from a run's model outputs",
  help: `Usage: crmlake report [--lake DIR] [--as-of YYYY-MM-DD] [--out FILE] [--config FILE]

Writes a self-contained HTML page: the customer pyramid, the whale curve, tier migration, life-cycle
stages and growth levers, RFM and needs segments, what sells where, cohort retention, cross-sell and data
quality. Prints the headlines.

Options:
  --lake DIR       lake directory (default ./lake)
  --as-of DATE     which run (default: the latest as-of that is not after today)
  --out FILE       output file (default <lake>/report.html)
  --config FILE    configuration file, for calendar.time_zone, the zone of "today" (default Etc/UTC)`,
  options: {
    lake: { type: "string" },
    "as-of": { type: "string" },
    out: { type: "string" },
    config: { type: "string" },
  },
  async run(args: ParsedArgs) {
    const asOf = stringOption(args, "as-of");
    if (asOf !== undefined && !isIsoDate(asOf)) {
      throw new UsageError("bad_arguments", `--as-of ${notADate(asOf)}`);
    }
    const lakeDir = stringOption(args, "lake") ?? "lake";
    const { calendar } = await loadConfig(stringOption(args, "config"));
    const data = await loadLocalReport(lakeDir, asOf, dayIn(new Date(), calendar.time_zone));
    const out = resolve(stringOption(args, "out") ?? `${lakeDir}/report.html`);
    await writeFile(out, renderReport(data));
    process.stdout.write(`${textSummary(data)}\nReport written to ${out}\n`);
    return 0;
  },
};
