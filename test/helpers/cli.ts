/**
 * The command line as a user runs it: bin/crmlake.mjs in a child Node, in a working directory, with its exit
 * code and both streams; for the e2e tests that drive the CLI end to end.
 */
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { expect } from "vitest";

const BIN = resolve("bin/crmlake.mjs");

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `crmlake ...args` in `cwd` (two minutes at most). */
export function crmlake(args: readonly string[], cwd: string): CliRun {
  const run = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: "utf8", timeout: 120_000 });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** Runs `crmlake ...args`, expects exit code 0 (stderr in the failure message) and returns stdout. */
export function ok(args: readonly string[], cwd: string): string {
  const run = crmlake(args, cwd);
  expect(run.code, `${args.join(" ")}: ${run.stderr}`).toBe(0);
  return run.stdout;
}

/** The rows of `crmlake query SQL --format json` (one JSON object per line). */
export function queryRows(sql: string, cwd: string): Record<string, unknown>[] {
  return ok(["query", sql, "--format", "json"], cwd)
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line));
}
