import { runLocal } from "../../backends/local.ts";
import { loadConfig } from "../../core/config.ts";
import { isIsoDate, notADate } from "../../core/dates.ts";
import { UsageError } from "../../core/errors.ts";
import { runProgress, type WaitOutcome, waitForRun } from "../../core/runner/wait.ts";
import type { Command, ParsedArgs } from "../command.ts";
import { stringOption } from "../command.ts";
import { STACK_HELP, STACK_OPTION, stackOption, withStack } from "../stack.ts";

/** How long `run --stack --wait` waits by default: two full Lambda attempts and their retry delays. */
export const DEFAULT_WAIT_SECONDS = 1800;

/** `crmlake run`: computes the SQL models as of a date and publishes them into the lake. */
export const runCommand: Command = {
  name: "run",
  summary: "Compute the models (sql/) as of a date and publish them into the lake",
  help: `Usage: crmlake run [--as-of YYYY-MM-DD [--allow-future-as-of]] [--lake DIR] [--config FILE] [--models a,b]
       crmlake run --stack NAME --as-of YYYY-MM-DD [--wait [--timeout SECONDS]]

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
                   scheduled run. It returns once Lambda accepted the event (without --wait); crmlake runs --stack NAME
                   shows the run (docs/operations.md)
  --wait           with --stack: wait for the run to end, printing its progress from its run record.
                   Exit 0 when it succeeded; 1 with its error when it failed (after Lambda's retries,
                   each a fresh run <id>-2, <id>-3, had their chance); 3 when --timeout passed first (the
                   run goes on in Lambda)
  --timeout SECONDS
                   how long --wait waits (default ${DEFAULT_WAIT_SECONDS})`,
  options: {
    "as-of": { type: "string" },
    "allow-future-as-of": { type: "boolean" },
    lake: { type: "string" },
    config: { type: "string" },
    models: { type: "string" },
    sql: { type: "string" },
    wait: { type: "boolean" },
    timeout: { type: "string" },
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
    const wait = args.values.wait === true;
    if (stack === undefined && (wait || args.values.timeout !== undefined)) {
      throw new UsageError(
        "bad_arguments",
        "--wait and --timeout are for crmlake run --stack (a run on a deployment); a local run ends before the command does",
      );
    }
    if (args.values.timeout !== undefined && !wait) {
      throw new UsageError("bad_arguments", "--timeout needs --wait: it is how long --wait waits");
    }
    if (stack !== undefined) {
      const timeoutSeconds = wait ? waitTimeoutSeconds(args) : undefined;
      return rescore(stack, stringOption(args, "as-of"), timeoutSeconds);
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

/** The --timeout of --wait, in seconds: a positive whole number. */
function waitTimeoutSeconds(args: ParsedArgs): number {
  const text = stringOption(args, "timeout");
  if (text === undefined) return DEFAULT_WAIT_SECONDS;
  if (!/^[1-9][0-9]{0,6}$/.test(text)) {
    throw new UsageError(
      "bad_arguments",
      `--timeout "${text}" is not a number of seconds (a whole number from 1)`,
    );
  }
  return Number(text);
}

/**
 * `crmlake run --stack NAME --as-of D [--wait]`: the scoring Lambda of the stack, invoked with the schedule's
 * event; with --wait, followed through its run record until it ends (waitForRun).
 */
async function rescore(
  stack: string,
  asOf: string | undefined,
  waitSeconds: number | undefined,
): Promise<number> {
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
  return withStack(stack, async (backend) => {
    const invoked = await backend.rescore(asOf);
    process.stdout.write(
      `Invoked ${invoked.functionName}, the scoring Lambda of stack ${stack}, to score as of ${asOf}: run ${invoked.runId} (event ${invoked.event.executionId}). It runs asynchronously, resumed by Lambda's retries if it reaches the time limit; follow it with: crmlake runs --stack ${stack}\n`,
    );
    if (waitSeconds === undefined) return 0;
    const outcome = await waitForRun(backend.outputs, invoked.runId, {
      timeoutMs: waitSeconds * 1000,
      onProgress: (line) => process.stderr.write(`${line}\n`),
    });
    return reportOutcome(outcome, stack, waitSeconds);
  });
}

/** What `--wait` says of the run's end, and its exit code: 0 succeeded, 1 failed or deleted, 3 timed out. */
export function reportOutcome(outcome: WaitOutcome, stack: string, waitSeconds: number): number {
  if (outcome.kind === "succeeded") {
    const r = outcome.record;
    const tables = r.models.filter((m) => m.materialized === "table").length;
    const seconds = r.duration_ms === null ? "" : ` in ${(r.duration_ms / 1000).toFixed(1)} s`;
    process.stdout.write(
      `Run ${r.run_id} as of ${r.as_of} succeeded${seconds}: ${r.models.length} models (${tables} tables) published to the stack's lake.\n`,
    );
    return 0;
  }
  if (outcome.kind === "timeout") {
    const where =
      outcome.record === undefined
        ? "it has not started (no run record yet)"
        : `it was ${runProgress(outcome.record)}`;
    process.stderr.write(
      `Stopped waiting for run ${outcome.runId} after ${waitSeconds} s: ${where}. The run goes on in Lambda; follow it with: crmlake runs --stack ${stack}\n`,
    );
    return 3;
  }
  const r = outcome.record;
  process.stderr.write(
    outcome.kind === "deleted"
      ? `Run ${r.run_id} as of ${r.as_of} ended and was deleted since: ${r.error ?? ""}\n`
      : `Run ${r.run_id} as of ${r.as_of} failed: ${r.error ?? "(no error recorded)"}. Its record: crmlake runs --stack ${stack}; the scoring log has the details (docs/operations.md)\n`,
  );
  return 1;
}
