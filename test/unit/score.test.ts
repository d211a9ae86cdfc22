import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { defaultConfig } from "../../functions/core/config.ts";
import { ConfigError } from "../../functions/core/errors.ts";
import {
  asOfFor,
  chooseRun,
  parseRunConfig,
  parseScoringEvent,
  runIdFor,
  ScoringEventError,
} from "../../functions/core/runner/schedule.ts";

// The handler module reads its environment at import time (STYLE.md), so set it before importing.
vi.stubEnv("LAKE_BUCKET", "lake-bucket");
vi.stubEnv("ATHENA_WORKGROUP", "crmlake");
vi.stubEnv("GLUE_DATABASE", "crmlake_db");
vi.stubEnv("CRMLAKE_CONFIG", "");
const score = await import("../../functions/score.ts");

const scheduled = (scheduledTime: string, timeZone: string) => ({
  source: "crmlake.schedule",
  scheduledTime,
  timeZone,
  executionId: "c6d3b1a0-0000-4000-8000-000000000001",
});

afterAll(() => {
  vi.unstubAllEnvs();
});

describe("scoring event", () => {
  it("accepts the schedule's payload", () => {
    expect(parseScoringEvent(scheduled("2026-11-23T03:00:00Z", "Etc/UTC"))).toEqual(
      scheduled("2026-11-23T03:00:00Z", "Etc/UTC"),
    );
  });

  it.each([
    ["null", null, /\(top level\): .*expected object/i],
    ["another source", { ...scheduled("2026-11-23T03:00:00Z", "Etc/UTC"), source: "aws.events" }, /source: /],
    ["a time without a zone", scheduled("2026-11-23 03:00", "Etc/UTC"), /scheduledTime: /],
    [
      "no executionId",
      { source: "crmlake.schedule", scheduledTime: "2026-11-23T03:00:00Z", timeZone: "Etc/UTC" },
      /executionId: /,
    ],
    ["an unknown key", { ...scheduled("2026-11-23T03:00:00Z", "Etc/UTC"), asof: "2024-01-31" }, /"asof"/],
    [
      "an unknown time zone",
      scheduled("2026-11-23T03:00:00Z", "Mars/Olympus"),
      /timeZone "Mars\/Olympus" is not an IANA time zone/,
    ],
    [
      "an impossible asOf",
      { ...scheduled("2026-11-23T03:00:00Z", "Etc/UTC"), asOf: "2024-02-30" },
      /asOf "2024-02-30" is not a real date/,
    ],
  ])("rejects %s with a message naming the field", (_name, event, message) => {
    let thrown: unknown;
    try {
      parseScoringEvent(event);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ScoringEventError);
    expect((thrown as Error).message).toMatch(/^Invalid scoring event/);
    expect((thrown as Error).message).toMatch(message);
  });

  it("spells out the expected payload in the error", () => {
    expect(() => parseScoringEvent({})).toThrow(
      /Expected \{"source": "crmlake.schedule", "scheduledTime": "<ISO 8601 time>", "timeZone": "<IANA zone>", "executionId": "<id>"\}; got \{\}/,
    );
  });
});

describe("as_of of a scheduled run: the day before the scheduled time, in the schedule's zone", () => {
  it.each([
    ["03:00 UTC", "2026-11-23T03:00:00Z", "Etc/UTC", "2026-11-22"],
    // 02:00 UTC on 1 March is 18:00 on 29 February in Los Angeles: the local day is the 29th, not the 1st.
    ["a zone behind UTC, across a leap day", "2024-03-01T02:00:00Z", "America/Los_Angeles", "2024-02-28"],
    // 20:00 UTC on 29 February is 05:00 on 1 March in Tokyo.
    ["a zone ahead of UTC", "2024-02-29T20:00:00Z", "Asia/Tokyo", "2024-02-29"],
    // The first moment of 1 January in Berlin is still 31 December in UTC.
    ["a year boundary", "2024-12-31T23:00:00Z", "Europe/Berlin", "2024-12-31"],
    // 01:30 UTC on 31 March 2024 is 03:30 CEST, just after the clocks went forward.
    ["the daylight-saving switch", "2024-03-31T01:30:00Z", "Europe/Berlin", "2024-03-30"],
    ["a time written with an offset", "2024-03-01T01:00:00+02:00", "Europe/Berlin", "2024-02-29"],
  ])("%s", (_name, scheduledTime, timeZone, asOf) => {
    expect(asOfFor(scheduledTime, timeZone)).toBe(asOf);
  });
});

describe("run configuration from CRMLAKE_CONFIG", () => {
  it("is the documented defaults when unset", () => {
    expect(parseRunConfig("")).toEqual(defaultConfig());
  });

  it("names CRMLAKE_CONFIG when it is not JSON", () => {
    expect(() => parseRunConfig("{oops")).toThrow(ConfigError);
    expect(() => parseRunConfig("{oops")).toThrow(/^CRMLAKE_CONFIG: not valid JSON/);
  });

  it("names CRMLAKE_CONFIG and the key when it does not validate", () => {
    expect(() => parseRunConfig('{"no_such_key": 1}')).toThrow(/^CRMLAKE_CONFIG: .*"no_such_key"/);
  });
});

describe("handler", () => {
  let s3: S3Client;
  beforeAll(() => {
    s3 = new S3Client({
      region: "us-east-1",
      endpoint: "http://127.0.0.1:9",
      credentials: { accessKeyId: "x", secretAccessKey: "y" },
    });
  });
  afterAll(() => {
    s3.destroy();
  });

  it("throws a bad event's error and counts the run as failed, before touching S3 or Athena", async () => {
    const metrics = new Metrics({ namespace: "crmlake", serviceName: "score" });
    const added = vi.spyOn(metrics, "addMetric");
    vi.spyOn(metrics, "publishStoredMetrics").mockReturnValue(metrics);
    const logger = new Logger({ serviceName: "crmlake-score", logLevel: "SILENT" });
    const handler = score.createScoringHandler({
      lakeBucket: "lake-bucket",
      workGroup: "crmlake",
      database: "crmlake_db",
      config: "",
      s3,
      logger,
      metrics,
    });
    const send = vi.spyOn(s3, "send");
    await expect(
      handler({ source: "crmlake.schedule" }, { getRemainingTimeInMillis: () => 900_000 }),
    ).rejects.toThrow(ScoringEventError);
    expect(added).toHaveBeenCalledWith("RunFailed", "Count", 1);
    expect(send).not.toHaveBeenCalled();
  });

  it("is built from the stack's environment at import (LAKE_BUCKET, ATHENA_WORKGROUP, GLUE_DATABASE)", () => {
    expect(typeof score.handler).toBe("function");
  });
});

describe("which run an invocation is", () => {
  it("names the run after the event: a Scheduler execution id as it is, anything else hashed", () => {
    expect(runIdFor("c6d3b1a0-0000-4000-8000-000000000001")).toBe("c6d3b1a0-0000-4000-8000-000000000001");
    // Upper case or "_" would share a run database with another id (runDatabaseName folds them): hashed.
    const upper = runIdFor("Fix-1");
    expect(upper).toMatch(/^x[0-9a-f]{32}$/);
    expect(runIdFor("fix_1")).not.toBe(upper);
    expect(runIdFor("fix-1")).toBe("fix-1");
    expect(runIdFor("a".repeat(65))).toMatch(/^x[0-9a-f]{32}$/);
    expect(runIdFor("Fix-1")).toBe(upper);
  });

  const records = (statuses: Record<string, string>) => ({
    readRunRecord: async (runId: string) =>
      statuses[runId] === undefined
        ? undefined
        : ({ run_id: runId, as_of: "2024-01-31", status: statuses[runId], models: [] } as never),
  });

  it("starts the event's run, resumes it when left running or interrupted, and is done once it succeeded", async () => {
    expect(await chooseRun(records({}), "e1")).toEqual({ kind: "run", runId: "e1", resume: false });
    expect(await chooseRun(records({ e1: "running" }), "e1")).toEqual({
      kind: "run",
      runId: "e1",
      resume: true,
    });
    expect(await chooseRun(records({ e1: "interrupted" }), "e1")).toMatchObject({
      runId: "e1",
      resume: true,
    });
    expect(await chooseRun(records({ e1: "succeeded" }), "e1")).toMatchObject({
      kind: "done",
      runId: "e1",
    });
  });

  it("never resumes a failed run: its retry is a fresh run under the next id, which is resumed in turn", async () => {
    expect(await chooseRun(records({ e1: "failed" }), "e1")).toEqual({
      kind: "run",
      runId: "e1-2",
      resume: false,
    });
    expect(await chooseRun(records({ e1: "failed", "e1-2": "interrupted" }), "e1")).toEqual({
      kind: "run",
      runId: "e1-2",
      resume: true,
    });
    const failedFive = records({
      e1: "failed",
      "e1-2": "failed",
      "e1-3": "failed",
      "e1-4": "failed",
      "e1-5": "failed",
    });
    await expect(chooseRun(failedFive, "e1")).rejects.toMatchObject({ code: "too_many_failures" });
  });
});
