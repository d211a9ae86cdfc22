/**
 * Scoring Lambda (docs/adr/0005-scoring-on-athena.md). EventBridge Scheduler invokes it with
 * `{"source": "crmlake.schedule", "scheduledTime": "<ISO>", "timeZone": "<IANA>", "executionId": "…"}`
 * (infra/stacks/crmlake-stack.ts), and the late-drop check with `{"source": "crmlake.late-drops",
 * "scheduledTime": "<ISO>", "executionId": "…"}`, which re-scores the latest as-of when files dated on or before
 * it arrived after it was scored (docs/adr/0016-late-files-rescore-the-latest-as-of.md). Thin by design (STYLE.md): it reads its environment, builds the AWS backend
 * (functions/backends/aws.ts: Athena with UNLOAD materialization, S3 and Glue publishing), hands the event to
 * the core's scheduled-run rules (functions/core/runner/schedule.ts: which date, which run, resume or not),
 * and maps the outcome to logs and metrics.
 *
 * A failed run is recorded by the runner (runs/log/<run_id>.json), counted (`RunFailed` = 1, which the stack
 * alarms on) and rethrown, so Lambda's async retry and then the dead-letter queue see it. A run that reaches
 * the Lambda's deadline is counted `RunInterrupted` and rethrown: the retry resumes it
 * (docs/adr/0006-atomic-publish-and-resumable-runs.md).
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { Context } from "aws-lambda";
import { type AwsBackendSettings, awsScoringBackend } from "./backends/aws.ts";
import { nonNegativeIntegerEnv, optionalEnv, requiredEnv } from "./core/env.ts";
import { errorMessage, isCrmlakeError } from "./core/errors.ts";
import { runScheduled } from "./core/runner/schedule.ts";
import { s3ClientFromEnv } from "./storage/s3.ts";

/**
 * The runner's Parquet codec (TypeScript stages), exported from the entry point so that
 * test/infra/bundling.test.ts can run it from the bundled asset: it loads a WebAssembly module that esbuild
 * does not bundle (infra/bundling/parquet-wasm.ts copies it), and no scoring run reaches it until a stage exists.
 */
export { decodeParquet, encodeParquet } from "./core/runner/parquet.ts";

/** How long a fresh scheduled run waits for the ingest queue to drain, by default (crmlake:ingestWaitSeconds). */
export const DEFAULT_INGEST_WAIT_SECONDS = 300;

export interface ScoringSettings extends AwsBackendSettings {
  /** The longest wait for the ingest queue (CRMLAKE_INGEST_WAIT_SECONDS); 0: none. */
  readonly ingestWaitSeconds?: number;
  /** How often the queue is read while waiting; default 15 s (tests: less). */
  readonly ingestPollMs?: number;
  /** Tests: a fake sleep for the wait. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** CRMLAKE_CONFIG's text. */
  readonly config: string;
  /** Directory of the models; default the bundled sql/. */
  readonly sqlDir?: string;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export interface ScoringResult {
  readonly runId: string;
  /** True when an earlier invocation had already published this run: nothing was done. */
  readonly alreadyDone?: boolean;
  /** True when another invocation of the same run (a duplicate delivery) holds its lock: nothing was done. */
  readonly alreadyRunning?: boolean;
  /** A late-drop check that found nothing to re-score (ADR 0016): no run. */
  readonly nothingLate?: boolean;
  /** A late-drop check that found late drops while another run held the lake: the next check re-scores. */
  readonly locked?: boolean;
  readonly asOf: string;
  readonly durationMs: number;
  readonly models: number;
  readonly rows: number;
}

export type ScoringContext = Pick<Context, "getRemainingTimeInMillis">;

/** The handler over explicit settings (tests build it; `handler` below uses the environment's). */
export function createScoringHandler(
  settings: ScoringSettings,
): (event: unknown, context: ScoringContext) => Promise<ScoringResult> {
  const { logger, metrics } = settings;
  return async (event, context) => {
    let runId: string | undefined;
    try {
      const outcome = await runScheduled({
        event,
        config: settings.config,
        backend: awsScoringBackend(
          {
            ...settings,
            // Every throttled Athena call, retried or not (alarm AthenaThrottled; docs/runbook.md).
            onAthenaThrottled: (throttled) => {
              metrics.addMetric("AthenaThrottled", MetricUnit.Count, 1);
              logger.warn("athena throttled; retrying", { ...throttled });
            },
          },
          () => context.getRemainingTimeInMillis(),
        ),
        ...(settings.sqlDir === undefined ? {} : { sqlDir: settings.sqlDir }),
        ...(settings.now === undefined ? {} : { now: settings.now }),
        ingestWait: {
          maxWaitMs: (settings.ingestWaitSeconds ?? DEFAULT_INGEST_WAIT_SECONDS) * 1000,
          pollMs: settings.ingestPollMs ?? 15_000,
          remainingMs: () => context.getRemainingTimeInMillis(),
          ...(settings.sleep === undefined ? {} : { sleep: settings.sleep }),
        },
        // The scheduled run waits for a late-drop check's re-score that holds the lake (ADR 0016).
        lockWait: {
          pollMs: settings.ingestPollMs ?? 15_000,
          ...(settings.sleep === undefined ? {} : { sleep: settings.sleep }),
        },
        onIngestWait: (waited) => {
          metrics.addMetric("IngestPendingAtRun", MetricUnit.Count, waited.pending);
          if (waited.pending > 0) {
            logger.warn(
              "the run starts with landed files still waiting for ingest; it does not include them",
              {
                pending: waited.pending,
                waited_ms: waited.waitedMs,
                budget_ms: waited.budgetMs,
              },
            );
          }
        },
        log: (message, fields) => logger.info(message, { ...fields }),
        onRun: (run) => {
          runId = run.runId;
          logger.appendKeys({ run_id: run.runId, as_of: run.asOf, execution_id: run.executionId });
        },
        remainingMs: () => context.getRemainingTimeInMillis(),
        // Housekeeping after a successful run (docs/operations.md, "Retention"): a failure is logged and
        // counted, never the run's.
        onRetention: (retention) => {
          metrics.addMetric("RetentionSweepFailed", MetricUnit.Count, retention.kind === "failed" ? 1 : 0);
          if (retention.kind === "failed") {
            logger.error("retention sweep failed; the run succeeded", {
              error: errorMessage(retention.error),
            });
          } else {
            metrics.addMetric("SnapshotsRemoved", MetricUnit.Count, retention.sweep.removed.length);
          }
        },
        // The late-drop check (ADR 0016): how many committed drops the latest as-of's run did not read.
        onLateDrops: (finding) => {
          metrics.addMetric(
            "LateDrops",
            MetricUnit.Count,
            finding.kind === "found" ? finding.late.length : 0,
          );
        },
        onUsage: (usage) => {
          metrics.addMetric("AthenaQueries", MetricUnit.Count, usage.queries ?? 0);
          metrics.addMetric("AthenaBytesScanned", MetricUnit.Bytes, usage.dataScannedBytes);
          logger.info("athena usage", { ...usage });
        },
      });
      metrics.addMetric("RunFailed", MetricUnit.Count, 0);
      if (outcome.kind === "already_done") {
        const previous = outcome.record;
        logger.info("run already published by an earlier invocation; nothing to do", {
          as_of: previous.as_of,
        });
        return {
          runId: outcome.runId,
          alreadyDone: true,
          asOf: previous.as_of,
          durationMs: previous.duration_ms ?? 0,
          models: previous.models.length,
          rows: previous.models.reduce((sum, m) => sum + (m.rows ?? 0), 0),
        };
      }
      if (outcome.kind === "already_running") {
        return {
          runId: outcome.runId,
          alreadyRunning: true,
          asOf: outcome.asOf,
          durationMs: 0,
          models: 0,
          rows: 0,
        };
      }
      if (outcome.kind === "nothing_late") {
        return {
          runId: "",
          nothingLate: true,
          asOf: outcome.finding.kind === "nothing_scored" ? "" : outcome.finding.latest.asOf,
          durationMs: 0,
          models: 0,
          rows: 0,
        };
      }
      if (outcome.kind === "skipped_locked") {
        return { runId: outcome.runId, locked: true, asOf: outcome.asOf, durationMs: 0, models: 0, rows: 0 };
      }
      const { summary } = outcome;
      const rows = summary.models.reduce((sum, m) => sum + (m.rows ?? 0), 0);
      metrics.addMetric("RunDuration", MetricUnit.Milliseconds, summary.durationMs);
      logger.info("run succeeded", { models: summary.models.length, rows, duration_ms: summary.durationMs });
      return {
        runId: summary.runId,
        asOf: summary.asOf,
        durationMs: summary.durationMs,
        models: summary.models.length,
        rows,
      };
    } catch (error) {
      if (isCrmlakeError(error) && error.code === "run_interrupted") {
        // Not a failure yet: Lambda retries the event, and the retry resumes the run.
        metrics.addMetric("RunInterrupted", MetricUnit.Count, 1);
        logger.warn("run interrupted by the Lambda's deadline; a retry of this event resumes it", {
          run_id: runId,
          error: errorMessage(error),
        });
        throw error;
      }
      metrics.addMetric("RunFailed", MetricUnit.Count, 1);
      logger.error("run failed; the last published run stays in place", {
        run_id: runId,
        code: isCrmlakeError(error) ? error.code : undefined,
        error: errorMessage(error),
      });
      throw error;
    } finally {
      metrics.publishStoredMetrics();
      logger.resetKeys();
    }
  };
}

// ---- The Lambda entry point: environment read once, at module scope (STYLE.md).
const logger = new Logger({ serviceName: "crmlake-score" });
const metrics = new Metrics({ namespace: "crmlake", serviceName: "score" });

export const handler = createScoringHandler({
  lakeBucket: requiredEnv("LAKE_BUCKET"),
  lakePrefix: optionalEnv("LAKE_PREFIX", ""),
  workGroup: requiredEnv("ATHENA_WORKGROUP"),
  database: requiredEnv("GLUE_DATABASE"),
  ...(optionalEnv("INGEST_QUEUE_URL", "") === ""
    ? {}
    : { ingestQueueUrl: optionalEnv("INGEST_QUEUE_URL", "") }),
  ingestWaitSeconds: nonNegativeIntegerEnv("CRMLAKE_INGEST_WAIT_SECONDS", DEFAULT_INGEST_WAIT_SECONDS),
  config: optionalEnv("CRMLAKE_CONFIG", ""),
  // The models' directory in the deployment package; unset means the repository's sql/ (DEFAULT_SQL_DIR).
  ...(optionalEnv("CRMLAKE_SQL_DIR", "") === "" ? {} : { sqlDir: optionalEnv("CRMLAKE_SQL_DIR", "") }),
  s3: s3ClientFromEnv(),
  logger,
  metrics,
});
