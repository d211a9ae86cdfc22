import { runLocal } from "../../backends/local.ts";
import { loadConfig } from "../../core/config.ts";
import { isIsoDate, notADate } from "../../core/dates.ts";
import { UsageError } from "../../core/errors.ts";
import type { Command, ParsedArgs } from "../command.ts";
import { stringOption } from "../command.ts";
import { STACK_HELP, STACK_OPTION, stackOption, withStack } from "../stack.ts";

/** `crmlake run`: computes the SQL models as of a date and publishes them into the lake. */
export const runCommand: Command = {
  name: "run",
  summary: "Compute the models (sql/) as of a date and publish them into the lake",
  help: `Usage: crmlake run [--as-of YYYY-MM-DD [--allow-future-as-of]] [--lake DIR] [--config FILE] [--models a,b]
       crmlake run --stack NAME --as-of YYYY-MM-DD

Runs every model under sql/ (staging → intermediate → marts → scores) in dependency order, counting only
transactions dated on or before the as-of date, and writes each table to
<lake>/models/<model>/as_of=<date>/data.parquet. Re-running a date replaces it atomically; a failed run
leaves the previous outputs as they were. Every run is recorded in the runs table (crmlake query
"select * from runs"); crmlake runs delete --as-of DATE removes a published as-of.

Options:
  --as-of DATE     the date to compute as of (default: the date of the latest transaction in the lake,
                   or today when that is later; today is in the config's calendar.time_zone, default
                   Etc/UTC). A date after today is refused: it would become what every *_latest view shows
  --allow-future-as-of
                   accept an --as-of after today (a what-if run)
  --lake DIR       lake directory (default ./lake)
  --config FILE    configuration file (default: built-in defaults; see examples/crmlake.config.json)
  --models a,b     run only these models plus everything they depend on
  --sql DIR        models directory (default: the project's sql/)
${STACK_HELP}.
                   With --stack, run re-scores a date on the deployment: it invokes the stack's scoring
                   Lambda (asynchronously) with the schedule's event and that --as-of, so the deployed
                   models and configuration run with the scoring role, retried and dead-lettered like a
                   scheduled run. It returns once Lambda accepted the event; crmlake runs --stack NAME
                   shows the run (docs/operations.md)`,
  options: {
    "as-of": { type: "string" },
    "allow-future-as-of": { type: "boolean" },
    lake: { type: "string" },
    config: { type: "string" },
    models: { type: "string" },
    sql: { type: "string" },
    ...STACK_OPTION,
  },
  async run(args: ParsedArgs) {
    if (args.positionals.length > 0) {
      throw new UsageError(
        "bad_arguments",
        `crmlake run takes no positional arguments (got "${args.positionals.join(" ")}"). Use --models a,b to choose models.`,
      );
    }
    const stack = stackOption(args, "run", ["lake", "config", "models", "sql", "allow-future-as-of"]);
    if (stack !== undefined) return rescore(stack, stringOption(args, "as-of"));
    const modelsOption = stringOption(args, "models");
    const models = modelsOption
      ?.split(",")
      .map((m) => m.trim())
      .filter((m) => m !== "");
    if (modelsOption !== undefined && (models === undefined || models.length === 0)) {
      throw new UsageError(
        "bad_arguments",
        "--models needs at least one model name, e.g. --models customer_rfm",
      );
    }
    const asOf = stringOption(args, "as-of");
    const allowFutureAsOf = args.values["allow-future-as-of"] === true;
    if (allowFutureAsOf && asOf === undefined) {
      throw new UsageError(
        "bad_arguments",
        "--allow-future-as-of needs --as-of: the default as-of is never after today",
      );
    }
    const config = await loadConfig(stringOption(args, "config"));
    const lakeDir = stringOption(args, "lake") ?? "lake";
    const summary = await runLocal({
      lakeDir,
      config,
      sqlDir: stringOption(args, "sql"),
      models,
      ...(asOf === undefined ? {} : { asOf }),
      allowFutureAsOf,
      log: (line) => process.stderr.write(`${line}\n`),
    });
    const tables = summary.models.filter((m) => m.materialized === "table");
    const last = tables.at(-1)?.model;
    const example = last === undefined ? "runs" : `${last}_latest`;
    process.stdout.write(
      `Run ${summary.runId} as of ${summary.asOf}: ${summary.models.length} models (${tables.length} tables) in ${(summary.durationMs / 1000).toFixed(1)} s, published to ${lakeDir}/models/. Query them with: crmlake query "select * from ${example}" --lake ${lakeDir}\n`,
    );
    return 0;
  },
};

/** `crmlake run --stack NAME --as-of D`: the scoring Lambda of the stack, invoked with the schedule's event. */
async function rescore(stack: string, asOf: string | undefined): Promise<number> {
  if (asOf === undefined) {
    throw new UsageError(
      "bad_arguments",
      "crmlake run --stack needs --as-of DATE: the date to re-score (the schedule scores yesterday by itself)",
    );
  }
  if (!isIsoDate(asOf)) throw new UsageError("bad_arguments", `--as-of ${notADate(asOf)}`);
  // The deployed run refuses a date after today in its calendar.time_zone, which is not known here; a date
  // after today everywhere (UTC+14) is refused before it costs a failed run, two retries and a dead letter.
  const latestToday = new Date(Date.now() + 14 * 3600_000).toISOString().slice(0, 10);
  if (asOf > latestToday) {
    throw new UsageError(
      "bad_arguments",
      `--as-of ${asOf} is after today: the scoring run refuses a future as-of (a what-if run is local: crmlake run --as-of ${asOf} --allow-future-as-of)`,
    );
  }
  const invoked = await withStack(stack, (backend) => backend.rescore(asOf));
  process.stdout.write(
    `Invoked ${invoked.functionName}, the scoring Lambda of stack ${stack}, to score as of ${asOf}: run ${invoked.runId} (event ${invoked.event.executionId}). It runs asynchronously, resumed by Lambda's retries if it reaches the time limit; follow it with: crmlake runs --stack ${stack}\n`,
  );
  return 0;
}
