import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App } from "aws-cdk-lib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_RUN_CONFIG_BYTES, readSettings } from "../../infra/config.ts";

const settings = (context: Record<string, unknown>, cwd?: string) =>
  readSettings(new App({ context }).node, cwd);

describe("readSettings", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "crmlake-settings-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("defaults every option: daily 03:00 UTC, 10 GB cutoff, data retained, x86_64", () => {
    expect(settings({})).toEqual({
      stage: undefined,
      schedule: "cron(0 3 * * ? *)",
      scheduleTimeZone: "Etc/UTC",
      bytesScannedCutoff: 10 * 1024 ** 3,
      analystBytesScannedCutoff: 10 * 1024 ** 3,
      logRetentionDays: 90,
      resultsRetentionDays: 7,
      rawInfrequentAccessDays: 30,
      rawGlacierDays: 90,
      noncurrentVersionDays: 30,
      alarmEmail: undefined,
      quarantineRatioThreshold: 0.05,
      scoringStaleHours: 26,
      ingestSilenceHours: 48,
      ingestWaitSeconds: 300,
      lateDropCheck: "rate(1 hour)",
      destroyData: false,
      runConfig: undefined,
      architecture: "x86_64",
      placeholderCode: false,
    });
  });

  it("reads -c strings and cdk.json values alike", () => {
    const fromCli = settings({
      "crmlake:destroyData": "true",
      "crmlake:resultsRetentionDays": "3",
      "crmlake:bytesScannedCutoff": "1.5TB",
    });
    const fromJson = settings({
      "crmlake:destroyData": true,
      "crmlake:resultsRetentionDays": 3,
      "crmlake:bytesScannedCutoff": 1.5 * 1024 ** 4,
    });
    expect(fromCli).toEqual(fromJson);
    expect(fromCli.bytesScannedCutoff).toBe(1649267441664);
  });

  it.each([
    ["destroyData", "yes", 'Context crmlake:destroyData is "yes"; expected true or false'],
    ["architecture", "arm", 'Context crmlake:architecture is "arm"; expected one of arm64, x86_64'],
    [
      "logRetentionDays",
      10,
      "Context crmlake:logRetentionDays is 10; expected one of the CloudWatch Logs retentions: 1, 3, 5",
    ],
    [
      "resultsRetentionDays",
      "0",
      'Context crmlake:resultsRetentionDays is "0"; expected a whole number of days, 1 or more',
    ],
    ["resultsRetentionDays", 1.5, "expected a whole number of days"],
    [
      "bytesScannedCutoff",
      "5MB",
      'Context crmlake:bytesScannedCutoff is "5MB"; expected a size of at least 10MB',
    ],
    ["bytesScannedCutoff", "ten gigs", "expected a size of at least 10MB"],
    [
      "schedule",
      "0 3 * * *",
      'Context crmlake:schedule is "0 3 * * *"; expected a Scheduler expression such as',
    ],
    [
      "scheduleTimeZone",
      "Mars/Olympus",
      'Context crmlake:scheduleTimeZone is "Mars/Olympus"; expected an IANA time zone',
    ],
    ["alarmEmail", "ops", 'Context crmlake:alarmEmail is "ops"; expected an e-mail address'],
    [
      "lateDropCheck",
      "hourly",
      'Context crmlake:lateDropCheck is "hourly"; expected "off" or a Scheduler expression such as "rate(1 hour)"',
    ],
    [
      "ingestWaitSeconds",
      900,
      "Context crmlake:ingestWaitSeconds is 900; expected a whole number of seconds from 0 to 600",
    ],
    [
      "quarantineRatioThreshold",
      5,
      "Context crmlake:quarantineRatioThreshold is 5; expected a number between 0 and 1",
    ],
    [
      "rawInfrequentAccessDays",
      10,
      "Context crmlake:rawInfrequentAccessDays is 10; expected at least 30 (an S3 rule for STANDARD_IA)",
    ],
    [
      "rawGlacierDays",
      45,
      "Context crmlake:rawGlacierDays is 45; expected at least rawInfrequentAccessDays + 30 (60)",
    ],
  ])(
    "rejects crmlake:%s = %j with a message naming key, value and what is allowed",
    (key, value, message) => {
      expect(() => settings({ [`crmlake:${key}`]: value })).toThrow(message);
    },
  );

  it("accepts rate expressions and time zones with daylight saving time", () => {
    writeFileSync(join(dir, "ny.json"), JSON.stringify({ calendar: { time_zone: "America/New_York" } }));
    const s = settings(
      {
        "crmlake:schedule": "rate(12 hours)",
        "crmlake:scheduleTimeZone": "America/New_York",
        "crmlake:configFile": "ny.json",
      },
      dir,
    );
    expect([s.schedule, s.scheduleTimeZone]).toEqual(["rate(12 hours)", "America/New_York"]);
  });

  it("schedules in the business's time zone, calendar.time_zone of the run configuration (issue 13)", () => {
    writeFileSync(join(dir, "tokyo.json"), JSON.stringify({ calendar: { time_zone: "Asia/Tokyo" } }));
    expect(settings({ "crmlake:configFile": "tokyo.json" }, dir).scheduleTimeZone).toBe("Asia/Tokyo");
    expect(settings({}).scheduleTimeZone).toBe("Etc/UTC");
    // An alias of the same zone agrees; another zone would make the scheduled as-of a day of the wrong zone.
    expect(settings({ "crmlake:scheduleTimeZone": "UTC" }).scheduleTimeZone).toBe("UTC");
    expect(() =>
      settings({ "crmlake:configFile": "tokyo.json", "crmlake:scheduleTimeZone": "Europe/Berlin" }, dir),
    ).toThrow(
      'Context crmlake:scheduleTimeZone is "Europe/Berlin"; expected the business\'s time zone, calendar.time_zone of the run configuration (Asia/Tokyo)',
    );
  });

  it("names the configuration file, not scheduleTimeZone, when its calendar.time_zone is no IANA zone", () => {
    writeFileSync(join(dir, "mars.json"), JSON.stringify({ calendar: { time_zone: "Mars/Olympus" } }));
    expect(() => settings({ "crmlake:configFile": "mars.json" }, dir)).toThrow(
      'Context crmlake:configFile is "mars.json"; expected a run configuration whose calendar.time_zone is an IANA time zone such as "Europe/Berlin" (it is "Mars/Olympus")',
    );
  });

  it("reads the run configuration relative to the working directory and minifies it", () => {
    writeFileSync(join(dir, "run.json"), '{\n  "pyramid": { "top_share": 0.02 }\n}\n');
    expect(settings({ "crmlake:configFile": "run.json" }, dir).runConfig).toBe(
      '{"pyramid":{"top_share":0.02}}',
    );
  });

  it("rejects a run configuration that is missing, not JSON, not an object or too big", () => {
    writeFileSync(join(dir, "broken.json"), "{ pyramid: }");
    writeFileSync(join(dir, "array.json"), "[1, 2]");
    writeFileSync(join(dir, "big.json"), JSON.stringify({ note: "x".repeat(MAX_RUN_CONFIG_BYTES) }));
    const read = (file: string) => () => settings({ "crmlake:configFile": file }, dir);
    expect(read("absent.json")).toThrow(
      /crmlake:configFile is "absent.json"; expected a readable JSON file \(ENOENT/,
    );
    expect(read("broken.json")).toThrow(/crmlake:configFile is "broken.json"; expected a JSON file \(/);
    expect(read("array.json")).toThrow('crmlake:configFile is "array.json"; expected a JSON object');
    expect(read("big.json")).toThrow(
      `expected at most ${MAX_RUN_CONFIG_BYTES} bytes once minified (it has 3083)`,
    );
  });
});
