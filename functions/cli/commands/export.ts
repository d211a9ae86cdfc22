import { resolve } from "node:path";
import { exportLocalActions } from "../../backends/local.ts";
import { NEXT_ACTIONS } from "../../core/catalogue/actions.ts";
import { isIsoDate, notADate } from "../../core/dates.ts";
import { UsageError } from "../../core/errors.ts";
import type { Command, ParsedArgs } from "../command.ts";
import { stringOption } from "../command.ts";
import { STACK_HELP, STACK_OPTION, stackOption, withStack } from "../stack.ts";

const USAGE = "crmlake export actions --out DIR [--as-of YYYY-MM-DD] [--lake DIR | --stack NAME]";
// --out also takes s3://bucket/prefix; the usage line keeps DIR, the common case (help below).

/** `crmlake export`: published results as files for other tools. One subcommand for now: `actions`. */
export const exportCommand: Command = {
  name: "export",
  summary: "Write the next-best actions as one CSV per action, for activation tools",
  help: `Usage: ${USAGE}

actions  Writes the published customer_actions (docs/lifetime-value.md, Next-best actions) as one CSV per
         action into DIR:
         ${NEXT_ACTIONS.map((a) => `${a}.csv`).join(", ")}.
         Each has a header and every column of customer_actions (as_of last), one customer per line,
         ordered by customer_id; an action nobody gets is a header-only file. Existing files of those names
         are replaced. Every run also writes them into the lake itself, under exports/actions/
         (as_of=<date>/ and latest/), on AWS too: with --stack, they are copied from there (the files the
         deployed run wrote, as of DATE or the latest).

Options:
  --out DIR        directory to write to (required; created when missing), or s3://bucket/prefix (the S3
                   client from the environment: AWS_REGION, credentials, CRMLAKE_S3_ENDPOINT)
  --as-of DATE     which as-of (default: the latest published)
  --lake DIR       lake directory (default ./lake)
${STACK_HELP}`,
  options: {
    out: { type: "string" },
    "as-of": { type: "string" },
    lake: { type: "string" },
    ...STACK_OPTION,
  },
  async run(args: ParsedArgs) {
    const [what, ...extra] = args.positionals;
    if (what !== "actions" || extra.length > 0) {
      throw new UsageError(
        "bad_arguments",
        what === undefined
          ? `Missing what to export. Usage: ${USAGE}`
          : `Unknown export "${[what, ...extra].join(" ")}". Usage: ${USAGE}`,
      );
    }
    const out = stringOption(args, "out");
    if (out === undefined || out === "")
      throw new UsageError("bad_arguments", `Missing --out DIR. Usage: ${USAGE}`);
    const asOf = stringOption(args, "as-of");
    if (asOf !== undefined && !isIsoDate(asOf))
      throw new UsageError("bad_arguments", `--as-of ${notADate(asOf)}`);
    const stack = stackOption(args, "export", ["lake"]);
    const target = out.startsWith("s3://") ? out : resolve(out);
    const exported =
      stack === undefined
        ? await exportLocalActions(stringOption(args, "lake") ?? "lake", target, asOf)
        : await withStack(stack, (backend) => backend.exportActions(target, asOf));
    const width = Math.max(...exported.files.map((f) => f.action.length));
    process.stdout.write(
      [
        `Next-best actions as of ${exported.asOf} written to ${exported.location}:`,
        ...exported.files.map(
          (f) =>
            `  ${`${f.action}.csv`.padEnd(width + 4)}  ${f.customers} customer${f.customers === 1 ? "" : "s"}`,
        ),
      ].join("\n") + "\n",
    );
    return 0;
  },
};
