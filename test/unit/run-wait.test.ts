/**
 * Waiting for a run another process does (`crmlake run --stack --wait`, core/runner/wait.ts): the records are
 * written into a real lake directory (LocalModelOutputs) on a fake clock, as the scoring Lambda would write
 * them on S3 (test/moto/cli-stack.test.ts runs the command against moto).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type Command, parseCommandArgs } from "../../functions/cli/command.ts";
import { reportOutcome, runCommand } from "../../functions/cli/commands/run.ts";
import type { RunRecord } from "../../functions/core/runner/runs.ts";
import { eventRunIds, waitForRun } from "../../functions/core/runner/wait.ts";
import { LocalModelOutputs } from "../../functions/storage/local-outputs.ts";

let dir: string;
let outputs: LocalModelOutputs;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "crmlake-wait-"));
  outputs = new LocalModelOutputs(dir);
});

afterEach(async () => {
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

function record(
  runId: string,
  status: RunRecord["status"],
  done: string[],
  error: string | null = null,
): RunRecord {
  return {
    run_id: runId,
    as_of: "2024-03-31",
    status,
    engine: "athena",
    started_at: "2024-04-01 08:00:00.000",
    finished_at: status === "running" ? null : "2024-04-01 08:03:00.000",
    duration_ms: status === "running" ? null : 180_000,
    models_requested: null,
    config: "{}",
    models: done.map((model) => ({
      model,
      layer: "marts",
      materialized: "table",
      status: "succeeded",
      started_at: "2024-04-01 08:00:00.000",
      finished_at: "2024-04-01 08:01:00.000",
      duration_ms: 1000,
      rows: 3,
      bytes_scanned: null,
      cost_usd: null,
      error: null,
    })),
    bytes_scanned: null,
    cost_usd: null,
    error,
  };
}

/** A fake clock whose sleep applies the writes scheduled up to the time it wakes at. */
function script(writes: [number, RunRecord][]) {
  let t = 0;
  const pending = [...writes].sort((a, b) => a[0] - b[0]);
  const apply = async () => {
    while (pending.length > 0 && (pending[0]?.[0] ?? Number.POSITIVE_INFINITY) <= t) {
      const next = pending.shift();
      if (next !== undefined) await outputs.writeRunRecord(next[1]);
    }
  };
  return {
    now: () => t,
    sleep: async (ms: number) => {
      t += ms;
      await apply();
    },
    apply,
  };
}

describe("waitForRun", () => {
  it("follows a run from Lambda's queue through its models to success, a line per change", async () => {
    const clock = script([
      [20_000, record("rescore-a", "running", [])],
      [30_000, record("rescore-a", "running", ["stg_customers"])],
      [40_000, record("rescore-a", "running", ["stg_customers", "customer_rfm"])],
      [70_000, record("rescore-a", "succeeded", ["stg_customers", "customer_rfm"])],
    ]);
    const lines: string[] = [];
    const outcome = await waitForRun(outputs, "rescore-a", {
      timeoutMs: 600_000,
      pollMs: 10_000,
      now: clock.now,
      sleep: clock.sleep,
      onProgress: (line) => lines.push(line),
    });
    expect(outcome.kind).toBe("succeeded");
    expect(lines).toEqual([
      "[0 s] run rescore-a: not started yet (waiting in Lambda's queue)",
      "[20 s] run rescore-a: running, 0 models done",
      "[30 s] run rescore-a: running, 1 model done (last: stg_customers)",
      "[40 s] run rescore-a: running, 2 models done (last: customer_rfm)",
      "[1 min 10 s] run rescore-a: succeeded, 2 models done (last: customer_rfm)",
    ]);
  });

  it("waits for Lambda's retry of a failed run (a fresh run <id>-2) and reports its outcome", async () => {
    const clock = script([
      [0, record("rescore-b", "failed", [], "Athena: TOO_MANY_OPEN_PARTITIONS")],
      [90_000, record("rescore-b-2", "running", [])],
      [150_000, record("rescore-b-2", "succeeded", ["customer_rfm"])],
    ]);
    await clock.apply();
    const lines: string[] = [];
    const outcome = await waitForRun(outputs, "rescore-b", {
      timeoutMs: 600_000,
      pollMs: 30_000,
      now: clock.now,
      sleep: clock.sleep,
      onProgress: (line) => lines.push(line),
    });
    expect(outcome).toMatchObject({ kind: "succeeded", record: { run_id: "rescore-b-2" } });
    expect(lines[1]).toBe(
      "[0 s] run rescore-b failed: Athena: TOO_MANY_OPEN_PARTITIONS; Lambda may retry it as a fresh run (rescore-b-2): waiting up to 4 min 0 s for it",
    );
  });

  it("reports a failure once no retry came within the grace, and gives up at the timeout while a run goes on", async () => {
    const failed = script([[0, record("rescore-c", "failed", [], "boom")]]);
    await failed.apply();
    const outcome = await waitForRun(outputs, "rescore-c", {
      timeoutMs: 3_600_000,
      pollMs: 10_000,
      retryGraceMs: 60_000,
      now: failed.now,
      sleep: failed.sleep,
    });
    expect(outcome).toMatchObject({ kind: "failed", record: { run_id: "rescore-c", error: "boom" } });
    expect(failed.now()).toBe(60_000);

    const slow = script([[0, record("rescore-d", "running", ["stg_customers"])]]);
    await slow.apply();
    const timedOut = await waitForRun(outputs, "rescore-d", {
      timeoutMs: 25_000,
      pollMs: 10_000,
      now: slow.now,
      sleep: slow.sleep,
    });
    expect(timedOut).toMatchObject({ kind: "timeout", runId: "rescore-d", record: { status: "running" } });
    expect(slow.now()).toBe(25_000);
  });

  it("knows the ids one event's runs take", () => {
    expect(eventRunIds("x")).toEqual(["x", "x-2", "x-3", "x-4", "x-5"]);
  });
});

describe("crmlake run --wait", () => {
  function run(command: Command, argv: string[]): Promise<number> {
    return command.run(parseCommandArgs(command, argv));
  }

  it("refuses --wait and --timeout without --stack, --timeout without --wait, and a bad --timeout", async () => {
    await expect(run(runCommand, ["--wait"])).rejects.toThrow(
      "--wait and --timeout are for crmlake run --stack",
    );
    await expect(
      run(runCommand, ["--stack", "Crmlake", "--as-of", "2024-01-31", "--timeout", "60"]),
    ).rejects.toThrow("--timeout needs --wait");
    await expect(
      run(runCommand, ["--stack", "Crmlake", "--as-of", "2024-01-31", "--wait", "--timeout", "1m"]),
    ).rejects.toThrow('--timeout "1m" is not a number of seconds');
  });

  it("exits 0 on success, 1 with the run's error on failure, 3 on timeout saying the run goes on", () => {
    let out = "";
    let err = "";
    vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
      out += String(chunk);
      return true;
    });
    vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
      err += String(chunk);
      return true;
    });
    expect(reportOutcome({ kind: "succeeded", record: record("r", "succeeded", ["m"]) }, "Crmlake", 60)).toBe(
      0,
    );
    expect(out).toBe(
      "Run r as of 2024-03-31 succeeded in 180.0 s: 1 models (1 tables) published to the stack's lake.\n",
    );
    expect(
      reportOutcome({ kind: "failed", record: record("r-3", "failed", [], "boom") }, "Crmlake", 60),
    ).toBe(1);
    expect(err).toMatch(/^Run r-3 as of 2024-03-31 failed: boom\. Its record: crmlake runs --stack Crmlake/);
    err = "";
    expect(reportOutcome({ kind: "timeout", runId: "r", record: undefined }, "Crmlake", 60)).toBe(3);
    expect(err).toBe(
      "Stopped waiting for run r after 60 s: it has not started (no run record yet). The run goes on in Lambda; follow it with: crmlake runs --stack Crmlake\n",
    );
  });
});
