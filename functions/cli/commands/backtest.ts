import { backtestLocal } from "../../backends/local.ts";
import { loadConfig } from "../../core/config.ts";
import { isIsoDate, notADate } from "../../core/dates.ts";
import { UsageError } from "../../core/errors.ts";
import type { Command, ParsedArgs } from "../command.ts";
import { stringOption } from "../command.ts";

const USAGE = "crmlake backtest --as-of YYYY-MM-DD --horizon DAYS [--lake DIR] [--config FILE]";

const percent = (v: number | null) => (v === null ? "n/a" : `${v >= 0 ? "+" : ""}${(100 * v).toFixed(1)} %`);

/** `crmlake backtest`: the lifetime-value holdout evaluation (docs/lifetime-value.md, Backtest). */
export const backtestCommand: Command = {
  name: "backtest",
  summary: "Fit BG/NBD as of a past date and compare its predictions with the purchases that followed",
  help: `Usage: ${USAGE}

Fits BG/NBD on the buyers' purchase histories as of --as-of (only purchase days on or before it, exactly what
"crmlake run --as-of" fits on), predicts each buyer's purchase days over the next --horizon days, and compares
with the purchase days they actually made, beside a naive baseline (each buyer keeps their past rate, x / T per
day). Buyers whose first purchase is after the as-of are not part of it. Writes three tables into the lake under
backtests/ (one partition per as-of and horizon, replaced by a re-run), queryable with crmlake query:

  clv_backtest_summary        the fit, the totals and the two error measures (mean absolute error per buyer,
                              aggregate error = (predicted − actual) / actual), model and naive
  clv_backtest_by_frequency   the same by repeat purchase days x as of the as-of: 0, 1, 2, 3-5, 6-10, 11+
  clv_backtest_tracking       week by week: predicted, naive and actual purchase days, and their running sums

The as-of plus the horizon must not pass the date of the latest transaction in the lake.

Options:
  --as-of DATE     the end of the calibration period (required)
  --horizon DAYS   days after the as-of to predict and compare (required, 1 to 3660)
  --lake DIR       lake directory (default ./lake)
  --config FILE    configuration file (default: built-in defaults): calendar.time_zone, occasions.unit`,
  options: {
    "as-of": { type: "string" },
    horizon: { type: "string" },
    lake: { type: "string" },
    config: { type: "string" },
  },
  async run(args: ParsedArgs) {
    if (args.positionals.length > 0) {
      throw new UsageError(
        "bad_arguments",
        `crmlake backtest takes no positional arguments (got "${args.positionals.join(" ")}"). Usage: ${USAGE}`,
      );
    }
    const asOf = stringOption(args, "as-of");
    if (asOf === undefined) throw new UsageError("bad_arguments", `Missing --as-of. Usage: ${USAGE}`);
    if (!isIsoDate(asOf)) throw new UsageError("bad_arguments", `--as-of ${notADate(asOf)}`);
    const horizonText = stringOption(args, "horizon");
    if (horizonText === undefined)
      throw new UsageError("bad_arguments", `Missing --horizon. Usage: ${USAGE}`);
    const horizonDays = Number(horizonText);
    if (!/^\d+$/.test(horizonText) || horizonDays < 1 || horizonDays > 3660) {
      throw new UsageError(
        "bad_arguments",
        `--horizon must be a whole number of days from 1 to 3660, got "${horizonText}"`,
      );
    }
    const config = await loadConfig(stringOption(args, "config"));
    const lakeDir = stringOption(args, "lake") ?? "lake";
    const result = await backtestLocal({
      lakeDir,
      asOf,
      horizonDays,
      config,
      log: (line) => process.stderr.write(`${line}\n`),
    });
    const s = result.summary;
    const p = s.parameters;
    process.stdout.write(
      `${[
        `Backtest as of ${asOf}, horizon ${horizonDays} days (to ${s.holdoutEnd}), ${s.customers} buyers (${s.repeatBuyers} with a repeat purchase day):`,
        `  BG/NBD  r = ${p.r.toPrecision(4)}, alpha = ${p.alpha.toPrecision(4)} days, a = ${p.a.toPrecision(4)}, b = ${p.b.toPrecision(4)}; mean P(alive) ${s.meanPAlive.toFixed(3)}`,
        `  purchase days in the horizon: actual ${s.actualPurchases}, predicted ${s.predictedPurchases.toFixed(1)} (${percent(s.aggregateErrorModel)}), naive ${s.naivePurchases.toFixed(1)} (${percent(s.aggregateErrorNaive)})`,
        `  mean absolute error per buyer: model ${s.maeModel.toFixed(3)}, naive ${s.maeNaive.toFixed(3)}`,
        `Written to ${lakeDir}/backtests/. Query them with: crmlake query "select * from clv_backtest_by_frequency where as_of = DATE '${asOf}' and horizon_days = ${horizonDays} order by bucket_order" --lake ${lakeDir}`,
      ].join("\n")}\n`,
    );
    return 0;
  },
};
