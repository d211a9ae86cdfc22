import { isCrmlakeError } from "../core/errors.ts";
import { type Command, parseCommandArgs } from "./command.ts";
import { demoCommand } from "./commands/demo.ts";
import { generateCommand } from "./commands/generate.ts";
import { ingestCommand } from "./commands/ingest.ts";
import { queryCommand } from "./commands/query.ts";
import { reportCommand } from "./commands/report.ts";
import { runCommand } from "./commands/run.ts";

const COMMANDS: readonly Command[] = [
  demoCommand,
  generateCommand,
  ingestCommand,
  runCommand,
  queryCommand,
  reportCommand,
];

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    "Usage: crmlake <command> [options]",
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    'Run "crmlake <command> --help" for a command\'s options. Add --verbose to see stack traces.',
  ].join("\n");
}

/** Runs the CLI; returns the exit code. User mistakes are one line on stderr, not a stack trace. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(`${usage()}\n`);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(
      `crmlake: unknown command "${name}". Known commands: ${COMMANDS.map((c) => c.name).join(", ")}\n`,
    );
    return 2;
  }
  const verbose = rest.includes("--verbose");
  try {
    const args = parseCommandArgs(command, rest);
    if (args.values.help) {
      process.stdout.write(`${command.help}\n`);
      return 0;
    }
    return await command.run(args);
  } catch (error) {
    if (isCrmlakeError(error) && !verbose) {
      process.stderr.write(`crmlake ${command.name}: ${error.message}\n`);
      return error.name === "UsageError" ? 2 : 1;
    }
    process.stderr.write(
      `crmlake ${command.name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return 1;
  }
}
