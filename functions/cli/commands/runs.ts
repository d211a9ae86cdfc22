import { existsSync } from "node:fs";
import { join } from "node:path";
import { deleteLocalAsOf } from "../../backends/local.ts";
import { isIsoDate, notADate } from "../../core/dates.ts";
import { UsageError } from "../../core/errors.ts";
import type { Command, ParsedArgs } from "../command.ts";
import { stringOption } from "../command.ts";
import { deleteAsOfOnStack, deletedRunsPhrase, listRuns } from "../run-records.ts";
import { runsUnlock, UNLOCK_HELP, UNLOCK_USAGE } from "../runs-unlock.ts";
import { STACK_HELP, STACK_OPTION, stackOption } from "../stack.ts";
import { runsSweep, SWEEP_HELP, SWEEP_OPTIONS, SWEEP_OPTIONS_HELP, SWEEP_USAGE } from "./runs-sweep.ts";

const USAGE = "crmlake runs delete --as-of YYYY-MM-DD [--lake DIR | --stack NAME]";

/** `crmlake runs`: list the runs, and manage what they published: `delete`, `sweep`, `unlock`. */
export const runsCommand: Command = {
  name: "runs",
  summary:
    "List the runs, delete an as-of (its model outputs), sweep old ones by the retention policy, or remove a dead run's lock",
  help: `Usage: crmlake runs [--limit N] [--lake DIR | --stack NAME]
       ${USAGE}
       ${SWEEP_USAGE}
       ${UNLOCK_USAGE}

(none)   Lists the runs recorded in the lake (the runs table), newest first: id, as-of, status, start,
         duration, models, error.

delete   Removes everything published as of DATE: every model's <lake>/models/<model>/as_of=DATE/. The
         *_latest views and the default report then show the greatest as-of that remains. The runs that
         published DATE stay in the runs table with status "deleted" (and when, in "error"), so the
         lake's history still explains the outputs it had. Refused while a run holds the lake's run lock,
         and when nothing is published as of DATE. Use it for a run as of a wrong date, e.g. one in the
         future (crmlake run --as-of … --allow-future-as-of). On a stack (--stack) each <model>_latest
         table is first pointed at the greatest as-of that remains (docs/operations.md).

${SWEEP_HELP}

${UNLOCK_HELP}

Options:
  --as-of DATE     the as-of to delete (required)
  --lake DIR       lake directory (default ./lake)
${STACK_HELP}
  --limit N        list at most N runs, the newest (default 20; 0: all)
${SWEEP_OPTIONS_HELP}
  --force          unlock: remove the lock even when its holder may still be running`,
  options: {
    "as-of": { type: "string" },
    lake: { type: "string" },
    limit: { type: "string" },
    ...STACK_OPTION,
    ...SWEEP_OPTIONS,
    force: { type: "boolean" },
  },
  async run(args: ParsedArgs) {
    const stack = stackOption(args, "runs", ["lake"]);
    if (args.positionals.length === 0) return listRuns(args, stack);
    const [action, ...extra] = args.positionals;
    if (action === "sweep" && extra.length === 0) return runsSweep(args, stack);
    if (action === "unlock" && extra.length === 0) return runsUnlock(args, stack);
    if (args.values.force !== undefined) {
      throw new UsageError("bad_arguments", `--force is for ${UNLOCK_USAGE}`);
    }
    if (action !== "delete" || extra.length > 0) {
      throw new UsageError(
        "bad_arguments",
        action === undefined
          ? `Missing subcommand. Usage: ${USAGE}`
          : `Unknown subcommand "${[action, ...extra].join(" ")}". Usage: ${USAGE}`,
      );
    }
    const asOf = stringOption(args, "as-of");
    if (asOf === undefined) throw new UsageError("bad_arguments", `Missing --as-of. Usage: ${USAGE}`);
    if (!isIsoDate(asOf)) throw new UsageError("bad_arguments", `--as-of ${notADate(asOf)}`);
    if (stack !== undefined) return deleteAsOfOnStack(stack, asOf);
    const lakeDir = stringOption(args, "lake") ?? "lake";
    const deleted = await deleteLocalAsOf(lakeDir, asOf);
    const runs = deletedRunsPhrase(deleted.runs);
    const latest =
      deleted.latest === undefined
        ? "Nothing else is published: crmlake run publishes again."
        : `The *_latest views now show as of ${deleted.latest}.`;
    const report = existsSync(join(lakeDir, "report.html"))
      ? ` ${join(lakeDir, "report.html")} predates this: crmlake report --lake ${lakeDir} rewrites it.`
      : "";
    process.stdout.write(
      `Deleted as of ${asOf} from ${lakeDir}: ${deleted.models.length} model output${deleted.models.length === 1 ? "" : "s"}${runs}. ${latest}${report}\n`,
    );
    return 0;
  },
};
