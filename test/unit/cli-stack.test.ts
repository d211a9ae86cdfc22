/**
 * `--stack NAME` (issue 18, item 5) without AWS: the argument errors every command on a deployment gives before
 * it reaches AWS, the run list's table, the re-score event, and which AWS failures become one line. The
 * commands against a stack are in the moto tier (test/moto/cli-stack.test.ts).
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import type { LambdaClient } from "@aws-sdk/client-lambda";
import { afterEach, describe, expect, it, vi } from "vitest";
import { awsUsageError, openStack, rescoreEvent } from "../../functions/backends/aws-stack.ts";
import { type Command, parseCommandArgs } from "../../functions/cli/command.ts";
import { doctorCommand } from "../../functions/cli/commands/doctor.ts";
import { exportCommand } from "../../functions/cli/commands/export.ts";
import { runCommand } from "../../functions/cli/commands/run.ts";
import { runsCommand } from "../../functions/cli/commands/runs.ts";
import { formatRunRecords } from "../../functions/cli/run-records.ts";
import { MODEL_LAYOUT } from "../../functions/core/catalogue/layout.ts";
import { STACK_OUTPUTS } from "../../functions/core/catalogue/stack-outputs.ts";
import { ACCESS_DENIED, isAccessDenied, UsageError } from "../../functions/core/errors.ts";
import type { RunRecord } from "../../functions/core/runner/runs.ts";
import { parseScoringEvent, runIdFor } from "../../functions/core/runner/schedule.ts";
import { AthenaQueryError } from "../../functions/engines/athena/client.ts";
import { runRecord } from "../helpers/run-record.ts";

afterEach(() => {
  vi.restoreAllMocks();
});

function run(command: Command, argv: string[]): Promise<number> {
  return command.run(parseCommandArgs(command, argv));
}

function record(runId: string, startedAt: string, extra: Partial<RunRecord> = {}): RunRecord {
  return runRecord({
    run_id: runId,
    as_of: "2024-01-31",
    status: "succeeded",
    started_at: startedAt,
    finished_at: startedAt,
    duration_ms: 4200,
    ...extra,
  });
}

describe("--stack arguments", () => {
  it("refuses what is not a stack name, and the options of a local lake beside it", async () => {
    await expect(run(runsCommand, ["--stack", "my stack"])).rejects.toThrow(
      '--stack "my stack" is not a CloudFormation stack name',
    );
    await expect(run(runsCommand, ["--stack", "Crmlake", "--lake", "lake"])).rejects.toThrow(
      "crmlake runs --stack works on the deployed stack; --lake is for a local lake only",
    );
    await expect(run(doctorCommand, ["--stack", "Crmlake", "--lake", "s3://b"])).rejects.toThrow(
      "crmlake doctor --stack works on the deployed stack; --lake is for a local lake only",
    );
    await expect(
      run(runCommand, ["--stack", "Crmlake", "--as-of", "2024-01-31", "--config", "c.json", "--models", "a"]),
    ).rejects.toThrow(
      "crmlake run --stack works on the deployed stack; --config, --models are for a local lake only",
    );
    await expect(
      run(exportCommand, ["actions", "--out", "out", "--stack", "Crmlake", "--lake", "lake"]),
    ).rejects.toThrow("crmlake export --stack works on the deployed stack; --lake is for a local lake only");
    await expect(
      run(runCommand, ["--stack", "Crmlake", "--as-of", "2099-01-31", "--allow-future-as-of"]),
    ).rejects.toThrow("--allow-future-as-of is for a local lake only");
  });

  it("needs a valid --as-of to re-score or delete on a stack, before any AWS call", async () => {
    await expect(run(runCommand, ["--stack", "Crmlake"])).rejects.toThrow(
      "crmlake run --stack needs --as-of DATE",
    );
    await expect(run(runCommand, ["--stack", "Crmlake", "--as-of", "2024-02-30"])).rejects.toThrow(
      UsageError,
    );
    await expect(run(runCommand, ["--stack", "Crmlake", "--as-of", "2999-01-01"])).rejects.toThrow(
      "--as-of 2999-01-01 is after today: the scoring run refuses a future as-of",
    );
    await expect(run(runsCommand, ["delete", "--stack", "Crmlake"])).rejects.toThrow("Missing --as-of");
    await expect(run(runsCommand, ["delete", "--stack", "Crmlake", "--as-of", "31.01.2024"])).rejects.toThrow(
      UsageError,
    );
    await expect(run(runsCommand, ["purge", "--stack", "Crmlake"])).rejects.toThrow(
      'Unknown subcommand "purge"',
    );
    await expect(run(runsCommand, ["--stack", "Crmlake", "--limit", "many"])).rejects.toThrow(
      '--limit must be an integer ≥ 0, got "many"',
    );
  });

  it("documents --stack in each command's help", () => {
    for (const command of [runsCommand, doctorCommand, runCommand, exportCommand])
      expect(command.help).toContain("--stack NAME");
  });
});

describe("crmlake runs (the list)", () => {
  let lake = "";
  afterEach(async () => {
    if (lake !== "") await rm(lake, { recursive: true, force: true });
  });

  it("lists a local lake's runs newest first, errors on one line, and says how many are left out", async () => {
    lake = await mkdtemp(join(tmpdir(), "crmlake-runs-list-"));
    await mkdir(join(lake, MODEL_LAYOUT.runLogPrefix), { recursive: true });
    const records = [
      record("r1", "2024-02-01 03:00:00.000"),
      record("r2", "2024-02-02 03:00:00.000", {
        status: "failed",
        duration_ms: 125_000,
        error: `Model customer_rfm failed:\n  ${"x".repeat(200)}`,
      }),
      record("r3", "2024-02-03 03:00:00.000", { status: "running", finished_at: null, duration_ms: null }),
    ];
    for (const r of records) {
      await writeFile(join(lake, MODEL_LAYOUT.runRecord(r.run_id)), `${JSON.stringify(r)}\n`);
    }
    const out = vi.spyOn(process.stdout, "write").mockReturnValue(true);
    expect(await run(runsCommand, ["--lake", lake, "--limit", "2"])).toBe(0);
    const lines = String(out.mock.calls.at(-1)?.[0]).trimEnd().split("\n");
    expect(lines[0]).toBe("run_id  as_of       status   started_at               duration   models  error");
    expect(lines[1]).toBe("r3      2024-01-31  running  2024-02-03 03:00:00.000  -          0");
    expect(lines[2]).toMatch(
      /^r2 {6}2024-01-31 {2}failed {3}2024-02-02 03:00:00\.000 {2}2 min 5 s {2}0 {7}Model customer_rfm failed: x+…$/,
    );
    expect(lines[2]?.length).toBeLessThan(200);
    expect(lines[3]).toBe(`3 runs recorded in ${lake} (the newest 2 shown; --limit 0 shows all).`);
    expect(lines).toHaveLength(4);
  });

  it("says when there are none, and refuses a lake that does not exist", async () => {
    expect(formatRunRecords([], 20, "lake")).toBe("No runs recorded in lake.\n");
    expect(formatRunRecords([record("a", "2024-01-01 00:00:00.000")], 0, "lake")).toContain(
      "1 run recorded in lake.",
    );
    await expect(run(runsCommand, ["--lake", join(tmpdir(), "no-such-crmlake-lake")])).rejects.toThrow(
      /Lake directory .*no-such-crmlake-lake does not exist/,
    );
  });
});

describe("the re-score event", () => {
  it("is the schedule's event with the date in asOf and a fresh executionId that names its run", () => {
    const now = new Date("2024-04-01T08:00:00.000Z");
    const event = rescoreEvent("2024-03-31", now);
    expect(parseScoringEvent(event)).toEqual(event);
    expect(event).toMatchObject({ source: "crmlake.schedule", asOf: "2024-03-31", timeZone: "Etc/UTC" });
    expect(runIdFor(event.executionId)).toBe(event.executionId);
    expect(rescoreEvent("2024-03-31", new Date(now.getTime() + 1)).executionId).not.toBe(event.executionId);
  });
});

describe("AWS failures a user can fix", () => {
  const named = (name: string, message: string) => Object.assign(new Error(message), { name });

  it("are one-line UsageErrors; anything else is left as it is", () => {
    const cases: [Error, string, RegExp][] = [
      [
        named("CredentialsProviderError", "Could not load credentials from any providers"),
        "no_credentials",
        /^No AWS credentials to describe the stack X: set AWS_PROFILE/,
      ],
      [
        named("Error", "Region is missing"),
        "no_region",
        /^No AWS Region to describe the stack X: set AWS_REGION/,
      ],
      [
        named("ExpiredToken", "The security token included in the request is expired"),
        "bad_credentials",
        /expired/,
      ],
      [
        named("AccessDenied", "not authorized to perform: cloudformation:DescribeStacks"),
        "access_denied",
        /^Access denied/,
      ],
    ];
    for (const [error, code, message] of cases) {
      const mapped = awsUsageError(error, "describe the stack X");
      expect(mapped).toBeInstanceOf(UsageError);
      expect(mapped).toMatchObject({ code, cause: error });
      expect((mapped as Error).message).toMatch(message);
    }
    const other = named("ThrottlingException", "Rate exceeded");
    expect(awsUsageError(other, "describe the stack X")).toBe(other);
  });

  it("makes an Athena statement refused for the caller's S3 rights access_denied, and leaves other failures be", () => {
    const denied = new AthenaQueryError(
      "athena_failed",
      "Athena query q-1 (crmlake --stack query) failed [user error, type 1306]: Permission denied on S3 path: s3://lake/ledger/drops/a.json",
    );
    const mapped = awsUsageError(denied, "query the stack X in the Athena workgroup X_analysts");
    expect(mapped).toBeInstanceOf(UsageError);
    expect(mapped).toMatchObject({ code: ACCESS_DENIED, cause: denied });
    expect(isAccessDenied(mapped)).toBe(true);
    const failed = new AthenaQueryError(
      "athena_failed",
      "Athena query q-2 failed: line 1:8: Column 'x' cannot be resolved",
    );
    expect(awsUsageError(failed, "query the stack X")).toBe(failed);
    expect(isAccessDenied(failed)).toBe(false);
  });
});

describe("a stack's outputs", () => {
  /** A CloudFormation client that answers DescribeStacks with these outputs. */
  const cloudFormation = (outputs: Record<string, string>, status = "UPDATE_COMPLETE") =>
    ({
      config: { region: async () => "eu-central-1" },
      send: async () => ({
        Stacks: [
          {
            StackStatus: status,
            Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
          },
        ],
      }),
    }) as unknown as CloudFormationClient;
  const required = {
    [STACK_OUTPUTS.lakeBucket]: "lake-bucket",
    [STACK_OUTPUTS.database]: "crmlake_dev",
    [STACK_OUTPUTS.workGroup]: "crmlake_dev",
  };
  const lambda = { send: vi.fn(), destroy: vi.fn() } as unknown as LambdaClient;

  it("names what is missing when the stack lacks the outputs every command needs", async () => {
    await expect(
      openStack("Crmlake-dev", {
        cloudFormation: cloudFormation({ [STACK_OUTPUTS.lakeBucket]: "b" }, "ROLLBACK_COMPLETE"),
      }),
    ).rejects.toThrow(
      `The stack Crmlake-dev in eu-central-1 (ROLLBACK_COMPLETE) has no output ${STACK_OUTPUTS.database}, ${STACK_OUTPUTS.workGroup}`,
    );
  });

  it("re-scores only with the scoring function's output (a stack deployed before it: deploy again), before any invocation", async () => {
    const backend = await openStack("Crmlake-dev", { cloudFormation: cloudFormation(required), lambda });
    try {
      expect(backend.stack).toMatchObject({
        lakeBucket: "lake-bucket",
        database: "crmlake_dev",
        scoringFunction: undefined,
      });
      await expect(backend.rescore("2024-03-31")).rejects.toThrow(
        `The stack Crmlake-dev has no output ${STACK_OUTPUTS.scoringFunction} (deployed by an older crmlake): cdk deploy it again`,
      );
      expect(lambda.send).not.toHaveBeenCalled();
    } finally {
      backend.close();
    }
  });
});
