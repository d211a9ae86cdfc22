import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { STACK_OUTPUTS } from "../../core/catalogue/stack-outputs.ts";
import { UsageError } from "../../core/errors.ts";
import { SMOKE_AS_OF, SMOKE_PERIOD, SMOKE_STEPS, smokeTest } from "../../core/runner/smoke-test.ts";
import type { Command, ParsedArgs } from "../command.ts";
import { stringOption } from "../command.ts";
import { STACK_OPTION, stackOption, withStack } from "../stack.ts";

const USAGE = "crmlake aws smoke-test --stack NAME [--customers N] [--timeout SECONDS]";

/** A positive whole number option, or its default. */
function positive(args: ParsedArgs, name: string, fallback: number, max: number): number {
  const text = stringOption(args, name);
  if (text === undefined) return fallback;
  if (!/^[1-9][0-9]*$/.test(text) || Number(text) > max) {
    throw new UsageError("bad_arguments", `--${name} "${text}" is not a whole number from 1 to ${max}`);
  }
  return Number(text);
}

/** `crmlake aws`: commands about a deployment as a whole. One for now: `smoke-test`. */
export const awsCommand: Command = {
  name: "aws",
  summary: "Smoke-test a deployed stack end to end: drop a sample, ingest, score, query, clean up",
  help: `Usage: ${USAGE}

smoke-test  Proves a freshly deployed stack works end to end (docs/operations.md, Smoke test after a deploy):
            ${SMOKE_STEPS.map((s, i) => `${i + 1}. ${s}`).join(", ")}. It generates a small sample
            (${SMOKE_PERIOD.from} to ${SMOKE_PERIOD.to}), drops it into the landing bucket, waits until the
            ledger records each file, invokes the scoring run as of ${SMOKE_AS_OF} and waits for it, reads
            customer_scores_latest through Athena in the analysts' workgroup and checks one row per sample
            customer, then removes what it added. It runs only on a stack whose lake is empty (right after
            the first deploy, or a stage of its own): scoring reads the whole lake and moves every
            *_latest table, so it refuses any lake with drops, runs or files waiting. Each step prints its
            time; a failure names the step and what to check (exit 1), and the clean-up still runs.

Options:
  --stack NAME       the deployed stack (Crmlake, or Crmlake-<stage>); AWS credentials and Region from
                     the environment, as the AWS CLI's
  --customers N      customers in the sample (default 40; at most 1000)
  --timeout SECONDS  how long the ingest and the scoring run each may take (default 1800 for the run,
                     600 for ingest; this sets both)`,
  options: {
    customers: { type: "string" },
    timeout: { type: "string" },
    ...STACK_OPTION,
  },
  async run(args: ParsedArgs) {
    const [action, ...extra] = args.positionals;
    if (action !== "smoke-test" || extra.length > 0) {
      throw new UsageError(
        "bad_arguments",
        action === undefined
          ? `Missing subcommand. Usage: ${USAGE}`
          : `Unknown subcommand "${args.positionals.join(" ")}". Usage: ${USAGE}`,
      );
    }
    const stack = stackOption(args, "aws", []);
    if (stack === undefined) throw new UsageError("bad_arguments", `Missing --stack NAME. Usage: ${USAGE}`);
    const customers = positive(args, "customers", 40, 1000);
    const timeout = args.values.timeout === undefined ? undefined : positive(args, "timeout", 1800, 86_400);
    const workDir = await mkdtemp(join(tmpdir(), "crmlake-smoke-"));
    try {
      const result = await withStack(stack, async (backend) => {
        const landing = backend.landing;
        if (landing === undefined) {
          throw new UsageError(
            "stack_outputs",
            `The stack ${stack} has no output ${STACK_OUTPUTS.landingBucket} (deployed by an older crmlake): cdk deploy it again`,
          );
        }
        return smokeTest(
          {
            name: `stack ${stack}`,
            lake: backend.lake,
            landing,
            outputs: backend.outputs,
            rescore: (asOf) => backend.rescore(asOf),
            query: (sql) => backend.query(sql),
          },
          {
            workDir: join(workDir, "sample"),
            customers,
            ...(timeout === undefined
              ? {}
              : { ingestTimeoutMs: timeout * 1000, runTimeoutMs: timeout * 1000 }),
            command: `crmlake aws smoke-test --stack ${stack}`,
            log: (line) => process.stdout.write(`${line}\n`),
          },
        );
      });
      const left =
        result.leftBehind.length === 0
          ? "Cleaned up: the lake is as it was."
          : `Left behind: ${result.leftBehind.join("; ")}.`;
      process.stdout.write(
        `Smoke test of stack ${stack} passed in ${(result.durationMs / 1000).toFixed(1)} s: ${result.drops} drops ingested, run ${result.runId} scored ${result.customers} customers as of ${result.asOf}, customer_scores_latest showed them. ${left}\n`,
      );
      return result.leftBehind.length === 0 ? 0 : 1;
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  },
};
