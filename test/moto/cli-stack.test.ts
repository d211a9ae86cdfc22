/**
 * The command line on a deployment (`crmlake … --stack NAME`, issue 18 item 5) against moto: a CloudFormation
 * stack whose outputs name a lake bucket, a Glue database with the stack's model and latest tables, and a
 * scoring Lambda (moto's Lambda without Docker, which answers an invocation with the event it was sent). The
 * CLI runs in this process (main), its AWS clients pointed at moto by AWS_ENDPOINT_URL, which the SDK reads
 * (as it does AWS_REGION and the credentials): no endpoint is passed in code. Nothing here is deployed to AWS.
 */

import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CloudFormationClient,
  CreateStackCommand,
  waitUntilStackCreateComplete,
} from "@aws-sdk/client-cloudformation";
import {
  CreateDatabaseCommand,
  CreateTableCommand,
  GetPartitionCommand,
  GlueClient,
  type TableInput,
} from "@aws-sdk/client-glue";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { openStack } from "../../functions/backends/aws-stack.ts";
import { main } from "../../functions/cli/main.ts";
import { NEXT_ACTIONS } from "../../functions/core/catalogue/actions.ts";
import { MODEL_LAYOUT } from "../../functions/core/catalogue/layout.ts";
import { STACK_OUTPUTS } from "../../functions/core/catalogue/stack-outputs.ts";
import { loadCatalogueModels } from "../../functions/core/catalogue/stages.ts";
import { publishActionLists } from "../../functions/core/runner/action-lists.ts";
import type { RunRecord } from "../../functions/core/runner/runs.ts";
import { SCORING_EVENT } from "../../functions/core/runner/schedule.ts";
import { GluePartitions } from "../../functions/storage/glue-partitions.ts";
import { S3ObjectStore } from "../../functions/storage/s3.ts";
import { S3ModelOutputs } from "../../functions/storage/s3-outputs.ts";
import { latestTable, modelOutputTables, tableInput } from "../../infra/constructs/lake-catalog.ts";
import { apiCase } from "../helpers/glue-fake.ts";
import { type MotoServer, startMoto } from "./moto-server.ts";
import { MOTO_CLI_ENV, setEnv, stackTemplate } from "./stack-fixture.ts";

const STACK = "Crmlake-moto";
const BUCKET = "crmlake-moto-lake";
const DB = "crmlake_moto";
const MODELS = ["customer_rfm", "pyramid_summary"] as const;
const JAN = "2024-01-31";
const FEB = "2024-02-29";

let moto: MotoServer;
let s3: S3Client;
let glue: GlueClient;
let cloudFormation: CloudFormationClient;
let lake: S3ObjectStore;
const savedEnv: Record<string, string | undefined> = {};

const ENV: Record<string, string | undefined> = {
  ...MOTO_CLI_ENV,
};

/** Runs the command line in this process; what it wrote to stdout and stderr, and its exit code. */
async function crmlake(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return crmlakeWatched(argv);
}

/** crmlake(), telling `onStdout` what it has written to stdout so far at each write. */
async function crmlakeWatched(
  argv: string[],
  onStdout?: (stdout: string) => void,
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const out = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    stdout += String(chunk);
    onStdout?.(stdout);
    return true;
  });
  const err = vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  // main() listens for EPIPE on both streams at each call: what it added is removed again below.
  const listening = [process.stdout, process.stderr].map((stream) => new Set(stream.listeners("error")));
  try {
    const code = await main(argv);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
    [process.stdout, process.stderr].forEach((stream, i) => {
      for (const listener of stream.listeners("error")) {
        if (!listening[i]?.has(listener)) stream.off("error", listener as (error: Error) => void);
      }
    });
  }
}

const outputs = () =>
  new S3ModelOutputs({
    bucket: BUCKET,
    client: s3,
    partitions: new GluePartitions({ client: glue, database: DB }),
  });

function record(runId: string, asOf: string, status: RunRecord["status"], startedAt: string): RunRecord {
  return {
    run_id: runId,
    as_of: asOf,
    status,
    engine: "athena",
    started_at: startedAt,
    finished_at: status === "running" ? null : startedAt,
    duration_ms: status === "running" ? null : 61_000,
    models_requested: null,
    config: "{}",
    models: MODELS.map((model) => ({
      model,
      layer: "marts",
      materialized: "table",
      status: "succeeded",
      started_at: startedAt,
      finished_at: startedAt,
      duration_ms: 1000,
      rows: 1,
      bytes_scanned: null,
      cost_usd: null,
      error: null,
    })),
    bytes_scanned: null,
    cost_usd: null,
    error: null,
  };
}

/** A scoring run as the scoring Lambda leaves it: its files, its partitions pointed at them, its record. */
async function publishRun(runId: string, asOf: string, startedAt: string): Promise<void> {
  for (const model of MODELS) {
    await lake.put(`${MODEL_LAYOUT.runTable(runId, model)}as_of=${asOf}/part-0.parquet`, runId);
  }
  await outputs().publish(runId, asOf, [...MODELS]);
  await outputs().writeRunRecord(record(runId, asOf, "succeeded", startedAt));
}

/** A template like the stack's where the CLI is concerned: its outputs, and a scoring Lambda to invoke. */
const TEMPLATE = stackTemplate({ lakeBucket: BUCKET, database: DB, workGroup: "crmlake_moto" });

/** A stack that is not crmlake's: no outputs. */
const OTHER_TEMPLATE = {
  Resources: { Topic: { Type: "AWS::SNS::Topic", Properties: {} } },
};

beforeAll(async () => {
  moto = await startMoto();
  // moto's Lambda without Docker: an invocation is answered with its own event.
  const config = await fetch(`${moto.endpoint}/moto-api/config`, {
    method: "POST",
    body: JSON.stringify({ lambda: { use_docker: false } }),
  });
  expect(config.ok).toBe(true);
  for (const name of [...Object.keys(ENV), "AWS_ENDPOINT_URL"]) savedEnv[name] = process.env[name];
  setEnv({ ...ENV, AWS_ENDPOINT_URL: moto.endpoint });

  const client = {
    endpoint: moto.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
  };
  s3 = new S3Client({ ...client, forcePathStyle: true });
  glue = new GlueClient(client);
  cloudFormation = new CloudFormationClient(client);
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  lake = new S3ObjectStore({ bucket: BUCKET, client: s3 });
  await glue.send(new CreateDatabaseCommand({ DatabaseInput: { Name: DB } }));
  const specs = modelOutputTables(await loadCatalogueModels("sql")).filter((t) =>
    (MODELS as readonly string[]).includes(t.name),
  );
  for (const spec of [...specs, ...specs.map(latestTable)]) {
    await glue.send(
      new CreateTableCommand({
        DatabaseName: DB,
        TableInput: apiCase(tableInput(spec, BUCKET)) as TableInput,
      }),
    );
  }
  for (const [name, template] of [
    [STACK, TEMPLATE],
    ["NotCrmlake", OTHER_TEMPLATE],
  ] as const) {
    await cloudFormation.send(
      new CreateStackCommand({
        StackName: name,
        TemplateBody: JSON.stringify(template),
        Capabilities: ["CAPABILITY_IAM"],
      }),
    );
    await waitUntilStackCreateComplete(
      { client: cloudFormation, maxWaitTime: 60, minDelay: 1, maxDelay: 2 },
      { StackName: name },
    );
  }
  await publishRun("sched-jan", JAN, "2024-02-01 03:00:05.000");
  await publishRun("sched-feb", FEB, "2024-03-01 03:00:04.000");
});

afterAll(async () => {
  setEnv(savedEnv);
  s3?.destroy();
  glue?.destroy();
  cloudFormation?.destroy();
  await moto?.stop();
});

describe("crmlake --stack on moto", () => {
  it("resolves the stack's outputs into its lake bucket, Glue database and scoring Lambda", async () => {
    const backend = await openStack(STACK);
    try {
      expect(backend.stack).toMatchObject({
        name: STACK,
        region: "us-east-1",
        status: "CREATE_COMPLETE",
        lakeBucket: BUCKET,
        database: DB,
        workGroup: "crmlake_moto",
      });
      expect(backend.stack.scoringFunction).toMatch(/Scoring/);
      expect(backend.outputs.location).toBe(`s3://${BUCKET}/`);
    } finally {
      backend.close();
    }
  });

  it("runs --stack lists the stack's run records, newest first", async () => {
    const listed = await crmlake("runs", "--stack", STACK);
    expect(listed).toMatchObject({ code: 0, stderr: "" });
    const lines = listed.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^run_id +as_of +status +started_at +duration +models +error$/);
    expect(lines[1]).toMatch(/^sched-feb +2024-02-29 +succeeded +2024-03-01 03:00:04.000 +1 min 1 s +2$/);
    expect(lines[2]).toMatch(/^sched-jan +2024-01-31 +succeeded/);
    expect(lines.at(-1)).toBe(`2 runs recorded in stack ${STACK} (s3://${BUCKET}/).`);
  });

  it("runs delete --stack re-points the latest tables at the greatest as-of left, then removes the partitions", async () => {
    const partitions = new GluePartitions({ client: glue, database: DB });
    for (const model of MODELS) expect(await partitions.latestAsOf(model)).toBe(FEB);

    const deleted = await crmlake("runs", "delete", "--as-of", FEB, "--stack", STACK);
    expect(deleted).toMatchObject({ code: 0, stderr: "" });
    expect(deleted.stdout).toBe(
      `Deleted as of ${FEB} from stack ${STACK} (s3://${BUCKET}/): 2 model partitions; run sched-feb marked deleted in the runs table. The *_latest tables now show as of ${JAN}. The files are deleted by a later run's sweep, a day after.\n`,
    );
    for (const model of MODELS) {
      expect(await partitions.latestAsOf(model)).toBe(JAN);
      await expect(
        glue.send(new GetPartitionCommand({ DatabaseName: DB, TableName: model, PartitionValues: [FEB] })),
      ).rejects.toMatchObject({ name: "EntityNotFoundException" });
      expect((await partitions.partitions(model)).map((p) => p.asOf)).toEqual([JAN]);
      // The removed partition's files stay, marked for the sweep.
      expect(
        await lake.get(`${MODEL_LAYOUT.runTable("sched-feb", model)}as_of=${FEB}/_retired`),
      ).toBeDefined();
    }
    const feb = await outputs().readRunRecord("sched-feb");
    expect(feb?.status).toBe("deleted");
    expect(feb?.error).toContain(`crmlake runs delete --as-of ${FEB} --stack ${STACK}`);
    expect(await lake.get(MODEL_LAYOUT.lock)).toBeUndefined();

    const listed = await crmlake("runs", "--stack", STACK);
    expect(listed.stdout).toMatch(/^sched-feb +2024-02-29 +deleted .*Its outputs were deleted on/m);

    const again = await crmlake("runs", "delete", "--as-of", FEB, "--stack", STACK);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(
      `crmlake runs: Nothing is published as of ${FEB} in s3://${BUCKET}/. Published as-ofs: ${JAN}\n`,
    );
  });

  it("doctor --stack checks the stack's lake bucket, and repairs a run whose retries ran out", async () => {
    const started = new Date(Date.now() - 8 * 3600_000).toISOString().replace("T", " ").slice(0, 23);
    await outputs().writeRunRecord(record("gone", "2024-03-31", "running", started));
    const found = await crmlake("doctor", "--stack", STACK);
    expect(found.code).toBe(1);
    expect(found.stdout).toMatch(/^found +stuck_run +gone: recorded running since/m);
    expect(found.stdout).toContain(
      `finding(s) in s3://${BUCKET}/ (stack ${STACK}). Run crmlake doctor --repair --stack ${STACK} to heal them.`,
    );

    const repaired = await crmlake("doctor", "--stack", STACK, "--repair");
    expect(repaired.code).toBe(0);
    expect(repaired.stdout).toMatch(/^repaired +stuck_run +gone/m);
    expect((await outputs().readRunRecord("gone"))?.status).toBe("failed");
    expect(await crmlake("doctor", "--stack", STACK)).toMatchObject({
      code: 0,
      stdout: `The lake s3://${BUCKET}/ (stack ${STACK}) is healthy (format none yet).\n`,
    });
  });

  it("run --stack --as-of invokes the scoring Lambda asynchronously with the schedule's event for that date", async () => {
    const ran = await crmlake("run", "--stack", STACK, "--as-of", "2024-03-31");
    expect(ran).toMatchObject({ code: 0, stderr: "" });
    expect(ran.stdout).toMatch(
      new RegExp(
        `^Invoked \\S*Scoring\\S*, the scoring Lambda of stack ${STACK}, to score as of 2024-03-31: run (rescore-2024-03-31-[a-z0-9]+) \\(event \\1\\)\\. .*crmlake runs --stack ${STACK}\\n$`,
      ),
    );

    // What Lambda received (moto's Lambda without Docker answers with it): an event the handler accepts.
    const backend = await openStack(STACK, {}, () => new Date("2024-04-01T08:00:00Z"));
    try {
      const invoked = await backend.rescore("2024-03-31");
      expect(invoked.statusCode).toBe(202);
      expect(invoked.runId).toBe(invoked.event.executionId);
      expect(JSON.parse(invoked.payload)).toEqual({
        source: "crmlake.schedule",
        scheduledTime: "2024-04-01T08:00:00.000Z",
        timeZone: "Etc/UTC",
        executionId: `rescore-2024-03-31-${new Date("2024-04-01T08:00:00Z").getTime().toString(36)}`,
        asOf: "2024-03-31",
      });
      expect(SCORING_EVENT.safeParse(JSON.parse(invoked.payload)).success).toBe(true);
    } finally {
      backend.close();
    }
  });

  it("run --stack --wait follows the run's record, and at --timeout says the run goes on (exit 3)", async () => {
    // moto's Lambda without Docker runs nothing: no record appears, so the wait ends at its timeout.
    const waited = await crmlake(
      "run",
      "--stack",
      STACK,
      "--as-of",
      "2024-03-31",
      "--wait",
      "--timeout",
      "1",
    );
    expect(waited.code).toBe(3);
    expect(waited.stdout).toMatch(/^Invoked .*: run (rescore-2024-03-31-[a-z0-9]+) /);
    const runId = /run (rescore-2024-03-31-[a-z0-9]+) /.exec(waited.stdout)?.[1];
    expect(waited.stderr).toBe(
      `[0 s] run ${runId}: not started yet (waiting in Lambda's queue)\nStopped waiting for run ${runId} after 1 s: it has not started (no run record yet). The run goes on in Lambda; follow it with: crmlake runs --stack ${STACK}\n`,
    );
  });

  it("run --stack --wait follows the invoked run's record to its end: exit 0 once it succeeded", async () => {
    // What the scoring Lambda would write under the run id the invocation names (moto runs no Lambda code).
    let written: Promise<void> | undefined;
    const waited = await crmlakeWatched(
      ["run", "--stack", STACK, "--as-of", "2024-03-31", "--wait", "--timeout", "60"],
      (stdout) => {
        const runId = /: run (rescore-2024-03-31-[a-z0-9]+) /.exec(stdout)?.[1];
        if (runId !== undefined && written === undefined) {
          written = outputs().writeRunRecord(
            record(runId, "2024-03-31", "succeeded", "2024-04-01 08:00:00.000"),
          );
        }
      },
    );
    await written;
    expect(waited.code).toBe(0);
    expect(waited.stderr).toMatch(/^\[0 s\] run rescore-2024-03-31-[a-z0-9]+: /);
    expect(waited.stdout.split("\n")[1]).toMatch(
      /^Run rescore-2024-03-31-[a-z0-9]+ as of 2024-03-31 succeeded in 61\.0 s: 2 models \(2 tables\) published to the stack's lake\.$/,
    );
    const runId = /: run (rescore-2024-03-31-[a-z0-9]+) /.exec(waited.stdout)?.[1] ?? "";
    await lake.delete([MODEL_LAYOUT.runRecord(runId)]);
  }, 60_000);

  it("runs unlock --stack removes a lock older than a Lambda lives, and keeps a younger one unless --force", async () => {
    const taken = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000).toISOString();
    await lake.put(
      MODEL_LAYOUT.lock,
      JSON.stringify({ run_id: "sched-dead", host: "169.254.10.1", started_at: taken(20) }),
    );
    const removed = await crmlake("runs", "unlock", "--stack", STACK);
    expect(removed).toMatchObject({ code: 0, stderr: "" });
    expect(removed.stdout).toMatch(
      new RegExp(
        `^Removed the run lock s3://${BUCKET}/runs/lock, held by run sched-dead \\(on 169\\.254\\.10\\.1, taken .*\\): its holder had ended: it was taken 20 min ago, longer than a scoring Lambda runs \\(15 min\\)\\. Recorded in s3://${BUCKET}/runs/unlocks/.*-sched-dead\\.json\\.\\n$`,
      ),
    );
    expect(await lake.get(MODEL_LAYOUT.lock)).toBeUndefined();
    const recorded = await lake.list(MODEL_LAYOUT.unlockLogPrefix);
    expect(recorded).toHaveLength(1);

    await lake.put(
      MODEL_LAYOUT.lock,
      JSON.stringify({ run_id: "sched-live", host: "169.254.10.2", started_at: taken(3) }),
    );
    const refused = await crmlake("runs", "unlock", "--stack", STACK);
    expect(refused).toMatchObject({ code: 1, stdout: "" });
    expect(refused.stderr).toMatch(
      /^crmlake runs: The run lock s3:\/\/\S+\/runs\/lock is held by run sched-live .* which may still be running: it was taken 3 min ago, and a scoring Lambda runs up to 15 min\. Wait for it; .* crmlake runs unlock --stack Crmlake-moto --force\n$/,
    );
    expect(await lake.get(MODEL_LAYOUT.lock)).toBeDefined();
    const forced = await crmlake("runs", "unlock", "--stack", STACK, "--force");
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain("forced while it may still be running");
    expect(await lake.get(MODEL_LAYOUT.lock)).toBeUndefined();
    expect(await crmlake("runs", "unlock", "--stack", STACK)).toMatchObject({
      code: 0,
      stdout: `No run lock in stack ${STACK} (s3://${BUCKET}): nothing to remove.\n`,
    });
  });

  it("export actions --stack copies the action lists a run wrote into the lake bucket, of the latest as-of or a given one", async () => {
    const lists = (asOf: string, n: number) =>
      NEXT_ACTIONS.map((action, i) => ({
        action,
        csv: `customer_id,next_action,as_of\n${i < n ? `c${i},${action},${asOf}\n` : ""}`,
        customers: i < n ? 1 : 0,
      }));
    await publishActionLists(lake, lists(JAN, 2), JAN, "sched-jan", new Date());
    await publishActionLists(lake, lists(FEB, 3), FEB, "sched-feb", new Date());
    const out = await mkdtemp(join(tmpdir(), "crmlake-moto-export-"));
    try {
      const latest = await crmlake("export", "actions", "--stack", STACK, "--out", out);
      expect(latest).toMatchObject({ code: 0, stderr: "" });
      expect(latest.stdout.split("\n")[0]).toBe(`Next-best actions as of ${FEB} written to ${out}:`);
      expect(latest.stdout).toMatch(new RegExp(`^  ${NEXT_ACTIONS[2]}\\.csv +1 customer$`, "m"));
      expect((await readdir(out)).sort()).toEqual(NEXT_ACTIONS.map((a) => `${a}.csv`).sort());
      expect(await readFile(join(out, `${NEXT_ACTIONS[0]}.csv`), "utf8")).toBe(
        `customer_id,next_action,as_of\nc0,${NEXT_ACTIONS[0]},${FEB}\n`,
      );

      const january = await crmlake("export", "actions", "--stack", STACK, "--out", out, "--as-of", JAN);
      expect(january.code).toBe(0);
      expect(await readFile(join(out, `${NEXT_ACTIONS[2]}.csv`), "utf8")).toBe(
        "customer_id,next_action,as_of\n",
      );

      const none = await crmlake(
        "export",
        "actions",
        "--stack",
        STACK,
        "--out",
        out,
        "--as-of",
        "2023-12-31",
      );
      expect(none).toMatchObject({ code: 1, stdout: "" });
      expect(none.stderr).toBe(
        `crmlake export: s3://${BUCKET} has no action lists as of 2023-12-31 (exports/actions/): a run that publishes customer_actions writes them. As-ofs with lists: ${FEB}, ${JAN}\n`,
      );
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  it("says in one line that a stack does not exist, or is not crmlake's", async () => {
    const missing = await crmlake("runs", "--stack", "Missing");
    expect(missing).toMatchObject({ code: 2, stdout: "" });
    expect(missing.stderr).toMatch(
      /^crmlake runs: No stack "Missing" in us-east-1 for these credentials\. .*\n$/,
    );
    expect(missing.stderr.split("\n")).toHaveLength(2);

    const other = await crmlake("doctor", "--stack", "NotCrmlake");
    expect(other).toMatchObject({ code: 2, stdout: "" });
    expect(other.stderr).toBe(
      `crmlake doctor: The stack NotCrmlake in us-east-1 (CREATE_COMPLETE) has no output ${STACK_OUTPUTS.lakeBucket}, ${STACK_OUTPUTS.database}, ${STACK_OUTPUTS.workGroup}: it is not a crmlake stack, or it is not deployed yet (a stack whose first deploy failed has no outputs)\n`,
    );
  });

  it("says in one line that there are no credentials, or no Region", async () => {
    setEnv({ AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined });
    try {
      const noCredentials = await crmlake("runs", "--stack", STACK);
      expect(noCredentials).toMatchObject({ code: 2, stdout: "" });
      expect(noCredentials.stderr).toMatch(/^crmlake runs: No AWS credentials to describe the stack .*\n$/);
      expect(noCredentials.stderr.split("\n")).toHaveLength(2);
    } finally {
      setEnv({ AWS_ACCESS_KEY_ID: "testing", AWS_SECRET_ACCESS_KEY: "testing" });
    }
    setEnv({ AWS_REGION: undefined });
    try {
      const noRegion = await crmlake("run", "--stack", STACK, "--as-of", "2024-03-31");
      expect(noRegion).toMatchObject({ code: 2, stdout: "" });
      expect(noRegion.stderr).toBe(
        "crmlake run: No AWS Region to look up a stack: set AWS_REGION (or the region of AWS_PROFILE) to the stack's Region\n",
      );
    } finally {
      setEnv({ AWS_REGION: "us-east-1" });
    }
  });
});
