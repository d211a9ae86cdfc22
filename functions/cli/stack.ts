/**
 * `--stack NAME`: a command working on a deployed stack instead of a local lake (issue 18, item 5;
 * docs/operations.md). The AWS composition root for it (functions/backends/aws-stack.ts) is imported here on
 * demand, so the AWS SDK loads only when --stack is given (ADR 0012: `crmlake --help` stays fast).
 */
import type { StackBackend } from "../backends/aws-stack.ts";
import { UsageError } from "../core/errors.ts";
import type { ParsedArgs } from "./command.ts";
import { stringOption } from "./command.ts";

/** The option every command that works on a deployment takes. */
export const STACK_OPTION = { stack: { type: "string" } } as const;

export const STACK_HELP = `  --stack NAME     work on a deployed stack (Crmlake, or Crmlake-<stage>) instead of a local lake: its
                   resources come from its CloudFormation outputs; AWS credentials and Region from the
                   environment (AWS_PROFILE, AWS_REGION), as the AWS CLI's`;

/**
 * The --stack option's value; undefined without it. Refused with options that only mean something for a
 * local lake (`local`: their names, e.g. lake, config, models).
 */
export function stackOption(args: ParsedArgs, command: string, local: readonly string[]): string | undefined {
  const stack = stringOption(args, "stack");
  if (stack === undefined) return undefined;
  if (!/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(stack)) {
    throw new UsageError(
      "bad_arguments",
      `--stack "${stack}" is not a CloudFormation stack name (a letter, then letters, digits and "-")`,
    );
  }
  const clashing = local.filter((name) => args.values[name] !== undefined);
  if (clashing.length > 0) {
    throw new UsageError(
      "bad_arguments",
      `crmlake ${command} --stack works on the deployed stack; ${clashing.map((n) => `--${n}`).join(", ")} ${clashing.length === 1 ? "is" : "are"} for a local lake only`,
    );
  }
  return stack;
}

/** Opens the deployed stack; `use` works on it, and its clients are released afterwards. */
export async function withStack<T>(name: string, use: (backend: StackBackend) => Promise<T>): Promise<T> {
  const { openStack } = await import("../backends/aws-stack.ts");
  const backend = await openStack(name);
  try {
    return await use(backend);
  } finally {
    backend.close();
  }
}
