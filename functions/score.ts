/**
 * Scoring Lambda (docs/adr/0005-scoring-on-athena.md). EventBridge Scheduler invokes it with
 * `{"source": "crmlake.schedule", "scheduledTime": "<ISO>", "timeZone": "<IANA>", "executionId": "…"}`
 * (infra/stacks/crmlake-stack.ts). It runs every model as of the day before the scheduled time, read in the
 * schedule's time zone, on Athena (AthenaWarehouse, UNLOAD materialization: the stack's workgroup enforces
 * its configuration) and publishes through S3ModelOutputs.
 *
 * Thin by design (STYLE.md): parse the event, call runModels, map the result to logs and metrics. A failed
 * run is recorded by the runner (runs/log/<run_id>.json), counted (`RunFailed` = 1, which the stack alarms
 * on) and rethrown, so Lambda's async retry and then the dead-letter queue see it.
 *
 * Resumable (docs/adr/0006-atomic-publish-and-resumable-runs.md): the run id is derived from the event's
 * executionId, so Lambda's retry of the same event is the same run. A run that reaches the Lambda's deadline
 * is recorded `interrupted` (`RunInterrupted` = 1), keeps its run database and files, and is rethrown; the
 * retry resumes it, skipping the models already done. A retry of a run that already succeeded does nothing.
 */

import { createHash } from "node:crypto";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { AthenaClient } from "@aws-sdk/client-athena";
import { GlueClient } from "@aws-sdk/client-glue";
import type { S3Client } from "@aws-sdk/client-s3";
import type { Context } from "aws-lambda";
import { z } from "zod";
import { type CrmlakeConfig, defaultConfig, parseConfig } from "./core/config.ts";
import { optionalEnv, requiredEnv } from "./core/env.ts";
import { ConfigError, CrmlakeError, errorMessage, isCrmlakeError } from "./core/errors.ts";
import { type RunSummary, runModels } from "./core/runner/run.ts";
import type { RunRecord } from "./core/runner/runs.ts";
import { S3ModelOutputs } from "./core/runner/s3-outputs.ts";
import { AthenaWarehouse, type AthenaWarehouseOptions, runDatabaseName } from "./engines/athena.ts";
import { GluePartitions } from "./engines/glue-partitions.ts";
import { s3ClientFromEnv } from "./storage/s3.ts";

/**
 * The runner's Parquet codec (TypeScript stages), exported from the entry point so that
 * test/infra/bundling.test.ts can run it from the bundled asset: it loads a WebAssembly module that esbuild
 * does not bundle (infra/bundling/parquet-wasm.ts copies it), and no scoring run reaches it until a stage exists.
 */
export { decodeParquet, encodeParquet } from "./core/runner/parquet.ts";

/** An invocation whose payload is not the schedule's. Retrying cannot fix it; it is thrown all the same. */
export class ScoringEventError extends CrmlakeError {
  override name = "ScoringEventError";
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * The Scheduler payload. `asOf` is optional and not sent by the schedule: a manual re-run
 * (`aws lambda invoke`) of a given date sets it instead of computing it from scheduledTime.
 */
export const SCORING_EVENT = z.strictObject({
  source: z.literal("crmlake.schedule"),
  scheduledTime: z.iso.datetime({ offset: true }),
  timeZone: z.string().min(1),
  executionId: z.string().min(1),
  asOf: z.string().regex(ISO_DATE, "expected YYYY-MM-DD").optional(),
});
export type ScoringEvent = z.infer<typeof SCORING_EVENT>;

const EXPECTED_EVENT =
  '{"source": "crmlake.schedule", "scheduledTime": "<ISO 8601 time>", "timeZone": "<IANA zone>", "executionId": "<id>"}';

export function parseScoringEvent(event: unknown): ScoringEvent {
  const result = SCORING_EVENT.safeParse(event);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const path = issue.path.map(String).join(".");
      return `${path === "" ? "(top level)" : path}: ${issue.message}`;
    });
    throw new ScoringEventError(
      "bad_event",
      `Invalid scoring event (${problems.join("; ")}). Expected ${EXPECTED_EVENT}; got ${JSON.stringify(event)?.slice(0, 500)}`,
    );
  }
  const parsed = result.data;
  zoneFormatter(parsed.timeZone); // reject an unknown zone here, with the event's other problems
  if (parsed.asOf !== undefined && !isRealDate(parsed.asOf)) {
    throw new ScoringEventError(
      "bad_event",
      `Invalid scoring event: asOf "${parsed.asOf}" is not a real date`,
    );
  }
  return parsed;
}

function isRealDate(text: string): boolean {
  const date = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === text;
}

function zoneFormatter(timeZone: string): Intl.DateTimeFormat {
  try {
    // en-CA formats a date as YYYY-MM-DD.
    return new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" });
  } catch (error) {
    throw new ScoringEventError(
      "bad_event",
      `Invalid scoring event: timeZone "${timeZone}" is not an IANA time zone (e.g. Etc/UTC, Europe/Berlin)`,
      { cause: error },
    );
  }
}

/**
 * The as_of of a scheduled run: the calendar day before the scheduled time, read in the schedule's zone.
 * A run at 03:00 scores the last complete day; the running day's transactions are still arriving.
 */
export function asOfFor(scheduledTime: string, timeZone: string): string {
  const instant = new Date(scheduledTime);
  if (Number.isNaN(instant.getTime())) {
    throw new ScoringEventError(
      "bad_event",
      `Invalid scoring event: scheduledTime "${scheduledTime}" is not a time`,
    );
  }
  const parts = zoneFormatter(timeZone).formatToParts(instant);
  const part = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const localDay = Date.UTC(part("year"), part("month") - 1, part("day"));
  return new Date(localDay - 86_400_000).toISOString().slice(0, 10);
}

/**
 * The run id of a scheduled execution: the executionId itself when it is lower-case letters, digits and `-`,
 * up to 64 characters (Scheduler's are UUIDs), else `x` and 32 hex digits of its SHA-256. The same event
 * always names the same run, which is what lets a retried invocation resume it. Lower case without `_`, so
 * that two ids never share a run database (runDatabaseName lower-cases and maps `-` to `_`).
 */
export function runIdFor(executionId: string): string {
  if (/^[a-z0-9][a-z0-9-]{0,63}$/.test(executionId)) return executionId;
  return `x${createHash("sha256").update(executionId).digest("hex").slice(0, 32)}`;
}

/** How many fresh runs one event may start after failed ones (`<id>`, `<id>-2`, … `<id>-5`). */
const MAX_RUNS_PER_EVENT = 5;

type RunChoice =
  | { readonly kind: "done"; readonly runId: string; readonly record: RunRecord }
  | { readonly kind: "run"; readonly runId: string; readonly resume: boolean };

/**
 * Which run an invocation of the event is: the first of `<id>`, `<id>-2`, … that has not failed. One that
 * succeeded is done (a duplicate delivery); one left running or interrupted is resumed; none yet is started.
 * A failed run is never resumed (its files are discarded and its run database dropped): a retry after a
 * failure is a fresh run under the next id.
 */
export async function chooseRun(
  outputs: Pick<S3ModelOutputs, "readRunRecord">,
  base: string,
): Promise<RunChoice> {
  for (let n = 1; n <= MAX_RUNS_PER_EVENT; n++) {
    const runId = n === 1 ? base : `${base}-${n}`;
    const record = await outputs.readRunRecord(runId);
    if (record === undefined) return { kind: "run", runId, resume: false };
    if (record.status === "succeeded") return { kind: "done", runId, record };
    if (record.status !== "failed") return { kind: "run", runId, resume: true };
  }
  throw new ScoringEventError(
    "too_many_failures",
    `This event already failed ${MAX_RUNS_PER_EVENT} runs (${base} to ${base}-${MAX_RUNS_PER_EVENT}); see their records under runs/log/. Send a new executionId to try again.`,
  );
}

/** CRMLAKE_CONFIG: the run configuration as JSON; empty means the documented defaults. */
export function parseRunConfig(text: string): CrmlakeConfig {
  if (text.trim() === "") return defaultConfig();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError("bad_config", `CRMLAKE_CONFIG: not valid JSON (${errorMessage(error)})`, {
      cause: error,
    });
  }
  return parseConfig(json, "CRMLAKE_CONFIG");
}

export interface ScoringSettings {
  readonly lakeBucket: string;
  /** Key prefix of the lake in its bucket; the stack uses the bucket root. */
  readonly lakePrefix?: string;
  readonly workGroup: string;
  /** The stack's Glue database (curated input tables); each run gets `<database>_run_<run id>`. */
  readonly database: string;
  /** CRMLAKE_CONFIG's text. */
  readonly config: string;
  readonly s3: S3Client;
  /** Default: a GlueClient from the environment (the Lambda's region and role). */
  readonly glue?: GlueClient;
  /** Default: the Athena adapter's own client (SDK retries off; its runner owns the retries). */
  readonly athena?: AthenaClient;
  /** Directory of the models; default the bundled sql/. */
  readonly sqlDir?: string;
  /** Extra Athena options (tests: a fake clock and fast polling). */
  readonly athenaOptions?: Partial<
    Pick<AthenaWarehouseOptions, "clock" | "poll" | "throttle" | "safetyMarginMs">
  >;
  readonly now?: () => Date;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export interface ScoringResult {
  readonly runId: string;
  /** True when an earlier invocation had already published this run: nothing was done. */
  readonly alreadyDone?: boolean;
  /** True when another invocation of the same run (a duplicate delivery) holds its lock: nothing was done. */
  readonly alreadyRunning?: boolean;
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
  const now = settings.now ?? (() => new Date());
  return async (event, context) => {
    let runId: string | undefined;
    try {
      const parsed = parseScoringEvent(event);
      const asOf = parsed.asOf ?? asOfFor(parsed.scheduledTime, parsed.timeZone);
      const config = parseRunConfig(settings.config);
      const outputs = new S3ModelOutputs({
        bucket: settings.lakeBucket,
        prefix: settings.lakePrefix ?? "",
        client: settings.s3,
        partitions: new GluePartitions({
          client: settings.glue ?? new GlueClient({}),
          database: settings.database,
        }),
        ...(settings.now === undefined ? {} : { now: settings.now }),
      });
      const choice = await chooseRun(outputs, runIdFor(parsed.executionId));
      runId = choice.runId;
      logger.appendKeys({ run_id: runId, as_of: asOf, execution_id: parsed.executionId });
      if (choice.kind === "done") {
        const previous = choice.record;
        logger.info("run already published by an earlier invocation; nothing to do", {
          as_of: previous.as_of,
        });
        metrics.addMetric("RunFailed", MetricUnit.Count, 0);
        return {
          runId,
          alreadyDone: true,
          asOf: previous.as_of,
          durationMs: previous.duration_ms ?? 0,
          models: previous.models.length,
          rows: previous.models.reduce((sum, m) => sum + (m.rows ?? 0), 0),
        };
      }
      const warehouse = new AthenaWarehouse({
        ...settings.athenaOptions,
        ...(settings.athena === undefined ? {} : { client: settings.athena }),
        workGroup: settings.workGroup,
        inputDatabase: settings.database,
        runDatabase: runDatabaseName(settings.database, runId),
        lakeLocation: outputs.location,
        materialization: "unload",
        // Idempotency tokens are scoped to this invocation (the runner's default, a random UUID), not to the
        // run: a resumed run must not be handed back the statements its earlier invocation had stopped.
        remainingTimeMs: () => context.getRemainingTimeInMillis(),
        clearLocation: (location) => outputs.clearLocation(location),
      });
      let summary: RunSummary;
      // An interrupted run keeps its run database for its retry; so does a duplicate invocation, whose run
      // database is the one the running invocation works in, and a resumed run locked out by another run.
      let keepRunDatabase = false;
      try {
        summary = await runModels({
          lakeDir: outputs.location,
          ...(settings.sqlDir === undefined ? {} : { sqlDir: settings.sqlDir }),
          asOf,
          config,
          warehouse,
          outputs,
          runId,
          resume: choice.resume,
          log: (line) => logger.info(line.trim()),
          now,
        });
      } catch (error) {
        // A resumed run that finds another run holding the lake keeps its progress for its next retry too.
        keepRunDatabase =
          isCrmlakeError(error) &&
          (error.code === "run_interrupted" ||
            error.code === "run_in_progress" ||
            (error.code === "run_locked" && choice.resume));
        if (isCrmlakeError(error) && error.code === "run_in_progress") {
          logger.info("another invocation of this run is in progress; nothing to do", {
            error: error.message,
          });
          metrics.addMetric("RunFailed", MetricUnit.Count, 0);
          return { runId: choice.runId, alreadyRunning: true, asOf, durationMs: 0, models: 0, rows: 0 };
        }
        throw error;
      } finally {
        if (!keepRunDatabase) await closeQuietly(warehouse, logger);
        const usage = warehouse.usage();
        metrics.addMetric("AthenaQueries", MetricUnit.Count, usage.queries);
        metrics.addMetric("AthenaBytesScanned", MetricUnit.Bytes, usage.dataScannedBytes);
        logger.info("athena usage", { ...usage });
      }
      const rows = summary.models.reduce((sum, m) => sum + (m.rows ?? 0), 0);
      metrics.addMetric("RunFailed", MetricUnit.Count, 0);
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

/** Dropping the run database is housekeeping: its failure must not hide the run's own outcome. */
async function closeQuietly(warehouse: AthenaWarehouse, logger: Logger): Promise<void> {
  try {
    await warehouse.close();
  } catch (error) {
    logger.warn("could not drop the run database", {
      database: warehouse.runDatabase,
      error: errorMessage(error),
    });
  }
}

// ---- The Lambda entry point: environment read once, at module scope (STYLE.md).
const logger = new Logger({ serviceName: "crmlake-score" });
const metrics = new Metrics({ namespace: "crmlake", serviceName: "score" });

export const handler = createScoringHandler({
  lakeBucket: requiredEnv("LAKE_BUCKET"),
  lakePrefix: optionalEnv("LAKE_PREFIX", ""),
  workGroup: requiredEnv("ATHENA_WORKGROUP"),
  database: requiredEnv("GLUE_DATABASE"),
  config: optionalEnv("CRMLAKE_CONFIG", ""),
  // The models' directory in the deployment package; unset means the repository's sql/ (DEFAULT_SQL_DIR).
  ...(optionalEnv("CRMLAKE_SQL_DIR", "") === "" ? {} : { sqlDir: optionalEnv("CRMLAKE_SQL_DIR", "") }),
  s3: s3ClientFromEnv(),
  logger,
  metrics,
});
