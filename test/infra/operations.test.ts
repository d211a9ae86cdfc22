/**
 * Operations (issue 18, item 5): the alarms on what did not happen (scoring staleness, ingest silence) and on
 * limits being neared (queue age, throttles, duration near the timeout), the dashboard, and that each alarm
 * watches a metric its handler actually publishes. docs/runbook.md has a section per alarm.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEPLOYMENT } from "../../bench/cost.ts";
import { PROJECT_ROOT } from "../../infra/config.ts";
import { buildCrmlakeApp } from "../../infra/crmlake-app.ts";
import {
  INGEST_SIZING,
  METRIC_SERVICES,
  METRICS_NAMESPACE,
  OPERATIONS_THRESHOLDS,
  SCORING_SIZING,
} from "../../infra/stacks/crmlake-stack.ts";
import { CDK_JSON_CONTEXT, cleanup, logicalId, resourceProps, type Synth, synth } from "./helpers.ts";

type Props = Record<string, unknown>;

describe("operations alarms and dashboard", () => {
  let s: Synth;
  beforeAll(() => {
    s = synth();
  });
  afterAll(() => cleanup(s));

  const alarm = (key: string, of: Synth = s): Props => {
    const a = of.stack.alarms[key];
    if (a === undefined) throw new Error(`no alarm ${key}`);
    return resourceProps(of, a);
  };
  const ref = (construct: Parameters<typeof logicalId>[1]) => ({ Ref: logicalId(s, construct) });

  it("has the six original alarms and eleven operations alarms, each sending to the topic", () => {
    expect(Object.keys(s.stack.alarms).sort()).toEqual(
      [
        "IngestDeadLetters",
        "ScoringDeadLetters",
        "IngestErrors",
        "ScoringErrors",
        "RunFailed",
        "QuarantineRatio",
        "ScoringStale",
        "IngestSilence",
        "IngestQueueAge",
        "IngestDropTooLarge",
        "IngestRejectedFiles",
        "AthenaThrottled",
        "RetentionSweepFailed",
        "IngestThrottles",
        "ScoringThrottles",
        "IngestNearTimeout",
        "ScoringNearTimeout",
      ].sort(),
    );
    s.template.resourceCountIs("AWS::CloudWatch::Alarm", Object.keys(s.stack.alarms).length);
    // The cost estimate (docs/deploying.md, bench/cost.ts) prices this many alarms.
    expect(Object.keys(s.stack.alarms)).toHaveLength(DEPLOYMENT.alarms);
    s.template.allResourcesProperties("AWS::CloudWatch::Alarm", {
      AlarmActions: [{ Ref: logicalId(s, s.stack.alarmTopic) }],
    });
  });

  it.each([
    ["ScoringStale", METRIC_SERVICES.score, "RunDuration", 26],
    ["IngestSilence", METRIC_SERVICES.ingest, "DropsIngested", 48],
  ])(
    "%s fires after N hours without a %s/%s datapoint (missing data breaches)",
    (key, service, name, hours) => {
      expect(alarm(key)).toMatchObject({
        Namespace: METRICS_NAMESPACE,
        MetricName: name,
        Dimensions: [{ Name: "service", Value: service }],
        Statistic: "SampleCount",
        Period: 3600,
        EvaluationPeriods: hours,
        DatapointsToAlarm: hours,
        Threshold: 1,
        ComparisonOperator: "LessThanThreshold",
        TreatMissingData: "breaching",
      });
    },
  );

  it("watches metrics the handlers publish: RunDuration only when a run succeeded, DropsIngested per drop", () => {
    const score = readFileSync(join(PROJECT_ROOT, "functions", "score.ts"), "utf8");
    const ingest = readFileSync(join(PROJECT_ROOT, "functions", "ingest.ts"), "utf8");
    expect(score).toContain(
      `new Metrics({ namespace: "${METRICS_NAMESPACE}", serviceName: "${METRIC_SERVICES.score}" })`,
    );
    expect(score.match(/addMetric\("RunDuration"/g)).toHaveLength(1);
    // Published after the "succeeded" outcome only: it follows every early return (already done, running).
    expect(score.indexOf('addMetric("RunDuration"')).toBeGreaterThan(
      score.indexOf('outcome.kind === "already_running"'),
    );
    expect(ingest).toContain('addMetric("DropsIngested", MetricUnit.Count, 1)');
  });

  it("fires when a drop is refused as too large, a metric the ingest handler publishes with its limit set", () => {
    expect(alarm("IngestDropTooLarge")).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      MetricName: "DropsTooLarge",
      Dimensions: [{ Name: "service", Value: METRIC_SERVICES.ingest }],
      Statistic: "Sum",
      Period: 300,
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
      TreatMissingData: "notBreaching",
    });
    const ingest = readFileSync(join(PROJECT_ROOT, "functions", "ingest.ts"), "utf8");
    expect(ingest).toContain('addMetric("DropsTooLarge", MetricUnit.Count, 1)');
    expect(ingest).toContain('"CRMLAKE_MAX_DROP_BYTES"');
    s.template.hasResourceProperties("AWS::Lambda::Function", {
      Environment: { Variables: { CRMLAKE_MAX_DROP_BYTES: String(INGEST_SIZING.maxDropBytes) } },
    });
  });

  it("fires when ingest rejects a whole file, a metric the handler publishes per file recorded rejected", () => {
    expect(alarm("IngestRejectedFiles")).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      MetricName: "DropsRejected",
      Dimensions: [{ Name: "service", Value: METRIC_SERVICES.ingest }],
      Statistic: "Sum",
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
      TreatMissingData: "notBreaching",
    });
    // The handler publishes it under that name (test/e2e/ingest-lambda.test.ts: for a rejected file).
    const ingest = readFileSync(join(PROJECT_ROOT, "functions", "ingest.ts"), "utf8");
    expect(ingest).toContain('"DropsRejected"');
  });

  it("fires when Athena throttles the scoring Lambda's calls ten times in five minutes", () => {
    expect(alarm("AthenaThrottled")).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      MetricName: "AthenaThrottled",
      Dimensions: [{ Name: "service", Value: METRIC_SERVICES.score }],
      Statistic: "Sum",
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: OPERATIONS_THRESHOLDS.athenaThrottledPerFiveMinutes,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
      TreatMissingData: "notBreaching",
    });
    expect(OPERATIONS_THRESHOLDS.athenaThrottledPerFiveMinutes).toBe(10);
    // Published once per throttled answer (test/e2e/score-handler.test.ts counts them).
    const score = readFileSync(join(PROJECT_ROOT, "functions", "score.ts"), "utf8");
    expect(score).toContain('addMetric("AthenaThrottled", MetricUnit.Count, 1)');
  });

  it("fires when the retention sweep after a successful run failed, a metric the scoring handler publishes", () => {
    expect(alarm("RetentionSweepFailed")).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      MetricName: "RetentionSweepFailed",
      Dimensions: [{ Name: "service", Value: METRIC_SERVICES.score }],
      Statistic: "Sum",
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
      TreatMissingData: "notBreaching",
    });
    // 1 for a failed sweep, 0 for one that worked (test/e2e/score-handler.test.ts: a sweep that fails under a
    // successful run); no datapoint with retention off, which is no alarm.
    const score = readFileSync(join(PROJECT_ROOT, "functions", "score.ts"), "utf8");
    expect(score).toContain(
      'addMetric("RetentionSweepFailed", MetricUnit.Count, retention.kind === "failed" ? 1 : 0)',
    );
    // ADR 0015 said no alarm; its amendment says why there is one now.
    const adr = readFileSync(
      join(PROJECT_ROOT, "docs", "adr", "0015-retention-of-model-snapshots.md"),
      "utf8",
    );
    expect(adr).toContain("RetentionSweepFailedAlarm");
  });

  it("has a runbook section for every alarm, each step a command or a console action", () => {
    const runbook = readFileSync(join(PROJECT_ROOT, "docs", "runbook.md"), "utf8");
    const headings = [...runbook.matchAll(/^## (.+)$/gm)].map((m) => m[1] ?? "");
    for (const key of Object.keys(s.stack.alarms)) {
      // Its own section, or a row of the table of the other alarms.
      const own = headings.some((h) => h.split(/,\s*/).includes(key));
      const row = runbook.includes(`| \`${key}\``) || runbook.includes(`, \`${key}\``);
      expect(own || row, `docs/runbook.md has nothing on ${key}`).toBe(true);
    }
  });

  it("fires when the ingest queue's oldest message is older than an hour for 15 minutes", () => {
    expect(alarm("IngestQueueAge")).toMatchObject({
      Namespace: "AWS/SQS",
      MetricName: "ApproximateAgeOfOldestMessage",
      Dimensions: [
        { Name: "QueueName", Value: { "Fn::GetAtt": [logicalId(s, s.stack.ingestQueue), "QueueName"] } },
      ],
      Statistic: "Maximum",
      Period: 300,
      EvaluationPeriods: 3,
      Threshold: OPERATIONS_THRESHOLDS.queueAgeSeconds,
      ComparisonOperator: "GreaterThanThreshold",
      TreatMissingData: "notBreaching",
    });
  });

  it.each([
    ["Ingest", () => s.stack.ingest, INGEST_SIZING.timeout.toMilliseconds()],
    ["Scoring", () => s.stack.scoring, SCORING_SIZING.timeout.toMilliseconds()],
  ])("%s: alarms on any throttle and on a duration above 80 %% of the timeout", (key, fn, timeoutMs) => {
    expect(alarm(`${key}Throttles`)).toMatchObject({
      Namespace: "AWS/Lambda",
      MetricName: "Throttles",
      Dimensions: [{ Name: "FunctionName", Value: ref(fn().function) }],
      Statistic: "Sum",
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
    });
    expect(alarm(`${key}NearTimeout`)).toMatchObject({
      Namespace: "AWS/Lambda",
      MetricName: "Duration",
      Dimensions: [{ Name: "FunctionName", Value: ref(fn().function) }],
      Statistic: "Maximum",
      Threshold: 0.8 * timeoutMs,
      ComparisonOperator: "GreaterThanThreshold",
      TreatMissingData: "notBreaching",
    });
    // The threshold is below the timeout the function actually has.
    expect(0.8 * timeoutMs).toBeLessThan((resourceProps(s, fn().function).Timeout as number) * 1000);
  });

  it("takes the staleness and silence hours from context, and refuses more than a week", () => {
    const c = synth({ "crmlake:scoringStaleHours": "50", "crmlake:ingestSilenceHours": 6 });
    try {
      expect(alarm("ScoringStale", c)).toMatchObject({ EvaluationPeriods: 50, DatapointsToAlarm: 50 });
      expect(alarm("IngestSilence", c)).toMatchObject({ EvaluationPeriods: 6, DatapointsToAlarm: 6 });
    } finally {
      cleanup(c);
    }
    expect(() => synth({ "crmlake:scoringStaleHours": 169 })).toThrow(
      "Context crmlake:scoringStaleHours is 169; expected a whole number of hours from 1 to 168",
    );
  });

  it("has a dashboard showing every alarm and the metrics behind them", () => {
    s.template.resourceCountIs("AWS::CloudWatch::Dashboard", 1);
    const body = JSON.stringify(s.stack.resolve(resourceProps(s, s.stack.dashboard).DashboardBody));
    for (const a of Object.values(s.stack.alarms)) expect(body).toContain(logicalId(s, a));
    for (const metric of [
      "DropsIngested",
      "DropsRejected",
      "DropsDuplicate",
      "AthenaThrottled",
      "RowsQuarantined",
      "RunDuration",
      "RunFailed",
      "AthenaBytesScanned",
      "RetentionSweepFailed",
      "SnapshotsRemoved",
      "ApproximateAgeOfOldestMessage",
      "ApproximateNumberOfMessagesVisible",
      "Throttles",
      "Duration",
    ]) {
      expect(body).toContain(`\\"${metric}\\"`);
    }
    // Unnamed: CloudFormation names it after the stack, so stages do not collide.
    expect(resourceProps(s, s.stack.dashboard).DashboardName).toBeUndefined();
    s.template.hasOutput("DashboardName", {});
  });

  it("leaves the dashboard out of the app's tags (cfn-lint 1.51.0 knows no Tags on a dashboard)", async () => {
    const outdir = mkdtempSync(join(tmpdir(), "crmlake-tags-"));
    const app = new App({ outdir, context: { ...CDK_JSON_CONTEXT, "crmlake:placeholderCode": true } });
    const stack = await buildCrmlakeApp(app);
    const template = Template.fromStack(stack);
    rmSync(outdir, { recursive: true, force: true });
    const dashboards = Object.values(template.findResources("AWS::CloudWatch::Dashboard"));
    expect(dashboards).toHaveLength(1);
    expect(dashboards[0]?.Properties.Tags).toBeUndefined();
    template.hasResourceProperties("AWS::SQS::Queue", { Tags: [{ Key: "project", Value: "crmlake" }] });
  });
});
