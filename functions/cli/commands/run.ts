import { runLocal } from "../../backends/local.ts";
import { loadConfig } from "../../core/config.ts";
import { UsageError } from "../../core/errors.ts";
import type { Command, ParsedArgs } from "../command.ts";
import { stringOption } from "../command.ts";

/** `crmlake run`: computes the SQL models as of a date and publishes them into the lake. */
export const runCommand: Command = {
  name: "run",
  summary: "Compute the models (sql/) as of a date and publish them into the lake",
  help: `Usage: crmlake run [--as-of YYYY-MM-DD] [--lake DIR] [--config FILE] [--models a,b]

Runs every model under sql/ (staging → intermediate → marts → scores) in dependency order, counting only
transactions dated on or before the as-of date, and writes each table to
<lake>/models/<model>/as_of=<date>/data.parquet. Re-running a date replaces it atomically; a failed run
leaves the previous outputs as they were. Every run is recorded in the runs table (crmlake query
"select * from runs").

Options:
  --as-of DATE     the date to compute as of (default: the date of the latest transaction in the lake)
  --lake DIR       lake directory (default ./lake)
  --config FILE    configuration file (default: built-in defaults; see examples/crmlake.config.json)
  --models a,b     run only these models plus everything they depend on
  --sql DIR        models directory (default: the project's sql/)`,
  options: {
    "as-of": { type: "string" },
    lake: { type: "string" },
    config: { type: "string" },
    models: { type: "string" },
    sql: { type: "string" },
  },
  async run(args: ParsedArgs) {
    if (args.positionals.length > 0) {
      throw new UsageError(
        "bad_arguments",
        `crmlake run takes no positional arguments (got "${args.positionals.join(" ")}"). Use --models a,b to choose models.`,
      );
    }
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
    const config = await loadConfig(stringOption(args, "config"));
    const lakeDir = stringOption(args, "lake") ?? "lake";
    const summary = await runLocal({
      lakeDir,
      config,
      sqlDir: stringOption(args, "sql"),
      models,
      asOf: stringOption(args, "as-of"),
      log: (line) => process.stderr.write(`${line}\n`),
    });
    const tables = summary.models.filter((m) => m.rows !== null);
    const last = tables.at(-1)?.model;
    const example = last === undefined ? "runs" : `${last}_latest`;
    process.stdout.write(
      `Run ${summary.runId} as of ${summary.asOf}: ${summary.models.length} models (${tables.length} tables) in ${(summary.durationMs / 1000).toFixed(1)} s, published to ${lakeDir}/models/. Query them with: crmlake query "select * from ${example}" --lake ${lakeDir}\n`,
    );
    return 0;
  },
};
