import { type ParseArgsConfig, parseArgs } from "node:util";
import { UsageError } from "../core/errors.ts";

export type OptionSpec = NonNullable<ParseArgsConfig["options"]>;

/** One `crmlake` sub-command. Each lives in its own file under commands/ and is listed in main.ts. */
export interface Command {
  readonly name: string;
  /** One line for `crmlake --help`. */
  readonly summary: string;
  /** Full help text: usage line, arguments, options with defaults. */
  readonly help: string;
  readonly options: OptionSpec;
  /** Returns the process exit code. Throw a CrmlakeError for a user's mistake: main prints one line. */
  run(args: ParsedArgs): Promise<number>;
}

export interface ParsedArgs {
  readonly values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  readonly positionals: string[];
}

export function parseCommandArgs(command: Command, argv: string[]): ParsedArgs {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...command.options, help: { type: "boolean", short: "h" }, verbose: { type: "boolean" } },
      allowPositionals: true,
      strict: true,
    });
    return { values, positionals };
  } catch (error) {
    throw new UsageError(
      "bad_arguments",
      `${(error as Error).message}. See "crmlake ${command.name} --help".`,
    );
  }
}

/** Reads a string option; undefined when absent. */
export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const value = args.values[name];
  return typeof value === "string" ? value : undefined;
}

/** Reads an integer option, with a message that names the option and the bad value. */
export function intOption(args: ParsedArgs, name: string, fallback: number, min = 0): number {
  const raw = stringOption(args, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw new UsageError("bad_arguments", `--${name} must be an integer ≥ ${min}, got "${raw}"`);
  }
  return value;
}
