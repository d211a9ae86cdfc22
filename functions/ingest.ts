/**
 * Ingest Lambda: S3 ObjectCreated events arrive through SQS. For each landed object: stream it to /tmp,
 * convert it with the same core as `crmlake ingest`, publish to the lake bucket, record the drop.
 *
 * Failure handling (partial batch responses):
 * - a file the user must fix (unreadable, missing column, wrong contract, …) is recorded in the ledger as
 *   rejected and the message is done: retrying cannot help (metric DropsRejected, alarm IngestRejectedFiles);
 *   a file with the same bytes as one already ingested is recorded as a duplicate (metric DropsDuplicate);
 * - a file larger than CRMLAKE_MAX_DROP_BYTES (the event's size) is refused before it is downloaded, the
 *   same way, as `too_large` (metric DropsTooLarge, an alarm);
 * - running out of memory, temporary disk or time (ResourceError: out_of_memory, disk_full, deadline) is
 *   the function's limit, not the file's fault: nothing is recorded or published, and the message fails;
 * - anything else (S3 unavailable, a bug, a poison message) is reported as a batch item failure, so SQS
 *   retries it and, after maxReceiveCount, moves it to the dead-letter queue without blocking the others.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { basename, join } from "node:path";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { defaultConfig, parseConfigText } from "./core/config.ts";
import { optionalEnv, positiveNumberEnv, requiredEnv } from "./core/env.ts";
import { ConfigError, IngestError, ResourceError } from "./core/errors.ts";
import { DEFAULT_DEADLINE_RESERVE_MS, ingestDrop, refuseOversizedDrop } from "./core/ingest/ingest.ts";
import { parseProfileText, type SourceProfile } from "./core/ingest/profile.ts";
import { parseS3Notification, routeKey } from "./core/ingest/s3-event.ts";
import { S3ObjectStore, s3ClientFromEnv } from "./storage/s3.ts";

const LAKE_BUCKET = requiredEnv("LAKE_BUCKET");
const LAKE_PREFIX = optionalEnv("LAKE_PREFIX", "");
const WORK_DIR = optionalEnv("CRMLAKE_WORK_DIR", "/tmp");
/** DuckDB's share of the function's memory; the rest is Node and the SDK. */
const DUCKDB_MEMORY = optionalEnv("DUCKDB_MEMORY_LIMIT", "1GB");
/**
 * The largest landed object one invocation takes (bytes, from the event): /tmp holds the file, its Parquet
 * output and DuckDB's spill. Larger ones are refused as `too_large` before they are downloaded.
 */
const MAX_DROP_BYTES = positiveNumberEnv("CRMLAKE_MAX_DROP_BYTES", 4 * 1024 ** 3);
/** Time kept back from the Lambda's deadline for the commit (ingest gives up, retryably, when less is left). */
const DEADLINE_RESERVE_MS = positiveNumberEnv("CRMLAKE_DEADLINE_RESERVE_MS", DEFAULT_DEADLINE_RESERVE_MS);
/** The business calendar of the configuration (CRMLAKE_CONFIG, as the scoring Lambda reads it): future dates. */
const CONFIG_TEXT = optionalEnv("CRMLAKE_CONFIG", "");
const CALENDAR = (
  CONFIG_TEXT.trim() === "" ? defaultConfig() : parseConfigText(CONFIG_TEXT, "CRMLAKE_CONFIG")
).calendar;

/** The codes of a drop recorded `duplicate` rather than `rejected` (functions/core/ingest/ingest.ts). */
const DUPLICATE_CODES: ReadonlySet<string> = new Set(["duplicate_drop", "duplicate_in_progress"]);

/**
 * The metric of a drop ingest skipped for good: `DropsRejected` for a whole file refused (the alarm
 * IngestRejectedFiles), `DropsDuplicate` for the same bytes as a drop already ingested or being ingested.
 */
export function skippedDropMetric(code: string): "DropsRejected" | "DropsDuplicate" {
  return DUPLICATE_CODES.has(code) ? "DropsDuplicate" : "DropsRejected";
}

const logger = new Logger({ serviceName: "crmlake-ingest" });
const metrics = new Metrics({ namespace: "crmlake", serviceName: "ingest" });
const client = s3ClientFromEnv();
const lake = new S3ObjectStore({ bucket: LAKE_BUCKET, prefix: LAKE_PREFIX, client });

async function loadLandingProfile(bucket: string, name: string): Promise<SourceProfile> {
  const landing = new S3ObjectStore({ bucket, client });
  const key = `profiles/${name}.json`;
  const bytes = await landing.get(key);
  if (!bytes) throw new Error(`Source profile s3://${bucket}/${key} does not exist`);
  // A profile that is not JSON or breaks the schema is a ConfigError: the drop is rejected, not retried.
  return parseProfileText(Buffer.from(bytes).toString("utf8"), `s3://${bucket}/${key}`, name);
}

async function ingestObject(
  bucket: string,
  key: string,
  size: number | undefined,
  context: Context | undefined,
): Promise<void> {
  const source = `s3://${bucket}/${key}`;
  const scratch = await mkdtemp(join(WORK_DIR, "crmlake-"));
  try {
    const route = routeKey(key);
    const profile = route.profile ? await loadLandingProfile(bucket, route.profile) : undefined;
    if (size !== undefined && size > MAX_DROP_BYTES) {
      metrics.addMetric("DropsTooLarge", MetricUnit.Count, 1);
      await refuseOversizedDrop({
        store: lake,
        dataset: route.dataset,
        uri: source,
        sizeBytes: size,
        limitBytes: MAX_DROP_BYTES,
        ...(profile ? { profile } : {}),
      });
    }
    const localPath = join(scratch, basename(key));
    await new S3ObjectStore({ bucket, client }).getToFile(key, localPath);
    const { ledger } = await ingestDrop({
      store: lake,
      dataset: route.dataset,
      source: { localPath, uri: source },
      ...(profile ? { profile } : {}),
      workDir: scratch,
      calendar: CALENDAR,
      duckdb: { memoryLimit: DUCKDB_MEMORY },
      ...(context ? { remainingTimeMs: () => context.getRemainingTimeInMillis() } : {}),
      deadlineReserveMs: DEADLINE_RESERVE_MS,
    });
    logger.info("drop ingested", { ...ledger, output_keys: ledger.output_keys.length });
    metrics.addMetric("DropsIngested", MetricUnit.Count, 1);
    metrics.addMetric("RowsIn", MetricUnit.Count, ledger.rows_in);
    metrics.addMetric("RowsOk", MetricUnit.Count, ledger.rows_ok);
    metrics.addMetric("RowsQuarantined", MetricUnit.Count, ledger.rows_quarantined);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

export async function handler(event: SQSEvent, context?: Context): Promise<SQSBatchResponse> {
  const batchItemFailures: SQSBatchResponse["batchItemFailures"] = [];
  try {
    for (const record of event.Records) {
      try {
        for (const object of parseS3Notification(record.body)) {
          try {
            await ingestObject(object.bucket, object.key, object.size, context);
          } catch (error) {
            if (error instanceof ResourceError) {
              // Out of memory, disk or time: SQS retries the message (the batch item fails below).
              metrics.addMetric("DropsResourceExhausted", MetricUnit.Count, 1);
              logger.error("drop exceeded the function's resources; SQS will retry it", {
                bucket: object.bucket,
                key: object.key,
                code: error.code,
                error: error.message,
              });
              throw error;
            }
            // The file's or its profile's fault: recorded in the ledger (or misplaced); a retry would give the
            // same answer. Storage errors and bugs are retried and end in the dead-letter queue.
            if (!(error instanceof IngestError || error instanceof ConfigError)) throw error;
            logger.warn("drop rejected", {
              bucket: object.bucket,
              key: object.key,
              code: error.code,
              error: error.message,
            });
            metrics.addMetric(skippedDropMetric(error.code), MetricUnit.Count, 1);
          }
        }
      } catch (error) {
        logger.error("message failed; SQS will retry it, then dead-letter it", {
          messageId: record.messageId,
          error: error instanceof Error ? error.message : String(error),
        });
        metrics.addMetric("MessagesFailed", MetricUnit.Count, 1);
        batchItemFailures.push({ itemIdentifier: record.messageId });
      }
    }
  } finally {
    metrics.publishStoredMetrics();
  }
  return { batchItemFailures };
}
