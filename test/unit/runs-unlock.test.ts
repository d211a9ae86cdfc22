/**
 * `crmlake runs unlock` on a lake directory (core/runner/unlock.ts, cli/runs-unlock.ts): a lock whose process is
 * gone is removed and the removal recorded; one whose holder may be alive (a live process of this host, a lock
 * from another host, an unreadable lock) is kept unless --force. On a stack: test/moto/cli-stack.test.ts.
 */
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type Command, parseCommandArgs } from "../../functions/cli/command.ts";
import { runsCommand } from "../../functions/cli/commands/runs.ts";
import { stackLiveness } from "../../functions/cli/runs-unlock.ts";

let lake: string;
let stdout: string;

beforeEach(async () => {
  lake = await mkdtemp(join(tmpdir(), "crmlake-unlock-"));
  await mkdir(join(lake, "runs"), { recursive: true });
  stdout = "";
  vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
});

afterEach(async () => {
  vi.restoreAllMocks();
  await rm(lake, { recursive: true, force: true });
});

function run(command: Command, argv: string[]): Promise<number> {
  return command.run(parseCommandArgs(command, argv));
}

const lockFile = () => join(lake, "runs", "lock");

async function lock(holder: object | string): Promise<void> {
  await writeFile(lockFile(), typeof holder === "string" ? holder : JSON.stringify(holder));
}

/** The pid of a process that has ended. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", ""]);
  return child.pid ?? 999_999;
}

describe("crmlake runs unlock on a lake directory", () => {
  it("removes a lock whose process no longer exists, says whose it was, and records the removal", async () => {
    const pid = deadPid();
    await lock({ run_id: "run-dead", pid, host: hostname(), started_at: "2024-04-01T08:00:00.000Z" });
    expect(await run(runsCommand, ["unlock", "--lake", lake])).toBe(0);
    expect(stdout).toMatch(
      new RegExp(
        `^Removed the run lock ${lake}/runs/lock, held by run run-dead \\(pid ${pid} on ${hostname()}, taken 2024-04-01T08:00:00.000Z\\): its holder had ended: process ${pid} no longer exists on this host\\. Recorded in ${lake}/runs/unlocks/.*-run-dead\\.json\\.\\n$`,
      ),
    );
    await expect(readFile(lockFile())).rejects.toMatchObject({ code: "ENOENT" });
    const [recordName] = await readdir(join(lake, "runs", "unlocks"));
    const recorded = JSON.parse(await readFile(join(lake, "runs", "unlocks", recordName ?? ""), "utf8"));
    expect(recorded).toMatchObject({
      command: `crmlake runs unlock --lake ${lake}`,
      forced: false,
      holder_may_be_alive: false,
      holder: { run_id: "run-dead", pid },
    });

    stdout = "";
    expect(await run(runsCommand, ["unlock", "--lake", lake])).toBe(0);
    expect(stdout).toBe(`No run lock in ${lake}: nothing to remove.\n`);
  });

  it("keeps a lock whose holder may be alive (this process, another host, unreadable) unless --force", async () => {
    await lock({
      run_id: "run-live",
      pid: process.pid,
      host: hostname(),
      started_at: "2024-04-01T08:00:00.000Z",
    });
    await expect(run(runsCommand, ["unlock", "--lake", lake])).rejects.toThrow(
      `is held by run run-live (pid ${process.pid} on ${hostname()}, taken 2024-04-01T08:00:00.000Z), which may still be running: process ${process.pid} is still running on this host. Wait for it; remove the lock anyway only when you know it has ended: crmlake runs unlock --lake ${lake} --force`,
    );
    await lock({ run_id: "run-far", pid: 1, host: "elsewhere", started_at: "2024-04-01T08:00:00.000Z" });
    await expect(run(runsCommand, ["unlock", "--lake", lake])).rejects.toThrow(
      "it was taken on another host (elsewhere), whose processes this one cannot see",
    );
    await lock("{not json");
    await expect(run(runsCommand, ["unlock", "--lake", lake])).rejects.toThrow(
      "is held by an unreadable lock (no run id, host and start time in it), which may still be running",
    );
    expect(await readFile(lockFile(), "utf8")).toBe("{not json");

    expect(await run(runsCommand, ["unlock", "--lake", lake, "--force"])).toBe(0);
    expect(stdout).toMatch(
      /held by an unreadable lock .*: forced while it may still be running \(the lock cannot be read/,
    );
    await expect(readFile(lockFile())).rejects.toMatchObject({ code: "ENOENT" });
    const [recordName] = await readdir(join(lake, "runs", "unlocks"));
    expect(JSON.parse(await readFile(join(lake, "runs", "unlocks", recordName ?? ""), "utf8"))).toMatchObject(
      {
        forced: true,
        holder: null,
        lock_text: "{not json",
      },
    );
  });

  it("refuses --force on another subcommand", async () => {
    await expect(
      run(runsCommand, ["delete", "--as-of", "2024-01-31", "--lake", lake, "--force"]),
    ).rejects.toThrow("--force is for crmlake runs unlock");
  });
});

describe("a stack's lock", () => {
  it("may be alive for the 15 minutes a scoring Lambda runs, and is unknown when unreadable", () => {
    const holder = { run_id: "r", host: "169.254.1.1", started_at: "2024-04-01T08:00:00.000Z" };
    expect(stackLiveness(holder, 14 * 60_000)).toEqual({
      mayBeAlive: true,
      why: "it was taken 14 min ago, and a scoring Lambda runs up to 15 min",
    });
    expect(stackLiveness(holder, 16 * 60_000)).toEqual({
      mayBeAlive: false,
      why: "it was taken 16 min ago, longer than a scoring Lambda runs (15 min)",
    });
    expect(stackLiveness(undefined, undefined).mayBeAlive).toBe(true);
  });
});
