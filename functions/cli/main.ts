import { isCrmlakeError } from "../core/errors.ts";
import { type Command, parseCommandArgs } from "./command.ts";
import { awsCommand } from "./commands/aws.ts";
import { backtestCommand } from "./commands/backtest.ts";
import { campaignCommand } from "./commands/campaign.ts";
import { demoCommand } from "./commands/demo.ts";
import { doctorCommand } from "./commands/doctor.ts";
import { exportCommand } from "./commands/export.ts";
import { generateCommand } from "./commands/generate.ts";
import { ingestCommand } from "./commands/ingest.ts";
import { queryCommand } from "./commands/query.ts";
import { reportCommand } from "./commands/report.ts";
import { runCommand } from "./commands/run.ts";
import { runsCommand } from "./commands/runs.ts";

const COMMANDS: readonly Command[] = [
  demoCommand,
  generateCommand,
  ingestCommand,
  runCommand,
  runsCommand,
  queryCommand,
  reportCommand,
  campaignCommand,
  exportCommand,
  backtestCommand,
  doctorCommand,
  awsCommand,
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

const FS_REASONS: Record<string, string> = {
  ENOENT: "no such file or directory",
  ENOTDIR: "a part of the path is a file, not a directory",
  EISDIR: "is a directory",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EEXIST: "already exists",
  ENOSPC: "no space left on the device",
  EROFS: "read-only file system",
};

/** A file-system failure (a bad --lake or --dir, a full disk) as one line naming the path, not a stack. */
function fileSystemError(error: unknown): string | undefined {
  const e = error as NodeJS.ErrnoException;
  if (!(error instanceof Error) || typeof e.code !== "string" || typeof e.path !== "string") return undefined;
  const reason = FS_REASONS[e.code];
  return reason ? `cannot ${e.syscall ?? "use"} ${e.path}: ${reason}` : undefined;
}

/**
 * A reader that went away (`crmlake run | head -1`) must not kill a command half-way, leaving a run recorded
 * `running` or a drop half-published: what it would have printed is dropped, and the command finishes.
 */
function survivePipeReadersLeaving(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code !== "EPIPE") throw error;
    });
  }
}

/** Runs the CLI; returns the exit code. User mistakes are one line on stderr, not a stack trace. */
export async function main(argv: string[]): Promise<number> {
  survivePipeReadersLeaving();
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
    const fsError = fileSystemError(error);
    if (fsError && !verbose) {
      process.stderr.write(`crmlake ${command.name}: ${fsError}\n`);
      return 1;
    }
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
