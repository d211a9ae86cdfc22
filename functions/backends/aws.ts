/**
 * The AWS composition root (docs/adr/0008-layout-and-architecture-rules.md): Athena as the engine and S3 with
 * Glue partitions as the publisher, matched here and nowhere else, plus the project's stages. The scoring
 * Lambda (functions/score.ts) builds its backend here. No DuckDB is reachable from this file, so none is in
 * the scoring bundle (test/infra/bundling.test.ts checks it).
 */
import type { AthenaClient } from "@aws-sdk/client-athena";
import { GlueClient } from "@aws-sdk/client-glue";
import type { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import { MODEL_LAYOUT } from "../core/catalogue/layout.ts";
import type { ScoringBackend } from "../core/runner/schedule.ts";
import type { Stage } from "../core/runner/stage.ts";
import { STAGES } from "../core/stages/index.ts";
import {
  AthenaWarehouse,
  type AthenaWarehouseOptions,
  runDatabaseName,
  type ThrottleEvent,
} from "../engines/athena/warehouse.ts";
import { GluePartitions } from "../storage/glue-partitions.ts";
import { S3ObjectStore } from "../storage/s3.ts";
import { S3ModelOutputs } from "../storage/s3-outputs.ts";
import { SqsIngestBacklog } from "../storage/sqs-backlog.ts";

export interface AwsBackendSettings {
  readonly lakeBucket: string;
  /** Key prefix of the lake in its bucket; the stack uses the bucket root. */
  readonly lakePrefix?: string;
  readonly workGroup: string;
  /** The stack's Glue database (curated input tables); each run gets `<database>_run_<run id>`. */
  readonly database: string;
  readonly s3: S3Client;
  /** Default: a GlueClient from the environment (the Lambda's region and role). */
  readonly glue?: GlueClient;
  /** Default: the Athena adapter's own client (SDK retries off; its runner owns the retries). */
  readonly athena?: AthenaClient;
  /** Extra Athena options (tests: a fake clock and fast polling). */
  readonly athenaOptions?: Partial<
    Pick<AthenaWarehouseOptions, "clock" | "poll" | "throttle" | "safetyMarginMs">
  >;
  readonly now?: () => Date;
  /** Told of each throttled Athena API call (the scoring Lambda counts them: metric AthenaThrottled). */
  readonly onAthenaThrottled?: (event: ThrottleEvent) => void;
  /** The ingest queue, whose depth a scheduled run waits on before it pins the ledger; none: no wait. */
  readonly ingestQueueUrl?: string;
  /** Default: an SQSClient from the environment. */
  readonly sqs?: SQSClient;
  /** The TypeScript stages to run; default the project's registry (tests that bring their own models: none). */
  readonly stages?: readonly Stage[];
}

/**
 * The lake's model outputs on AWS: S3ModelOutputs over the lake bucket, publishing through the stack's Glue
 * tables. The scoring backend and the command line on a deployment (functions/backends/aws-stack.ts) share it.
 */
export function awsModelOutputs(
  settings: Pick<AwsBackendSettings, "lakeBucket" | "lakePrefix" | "database" | "s3" | "glue" | "now">,
): S3ModelOutputs {
  return new S3ModelOutputs({
    bucket: settings.lakeBucket,
    prefix: settings.lakePrefix ?? "",
    client: settings.s3,
    partitions: new GluePartitions({
      client: settings.glue ?? new GlueClient({}),
      database: settings.database,
    }),
    ...(settings.now === undefined ? {} : { now: settings.now }),
  });
}

/**
 * The scoring backend of one invocation: S3ModelOutputs over the lake bucket, publishing through the stack's
 * Glue tables, and for each run an AthenaWarehouse in the run's own Glue database, with UNLOAD
 * materialization (the stack's workgroup enforces its result location) and the Lambda's remaining time as
 * its deadline.
 */
export function awsScoringBackend(
  settings: AwsBackendSettings,
  remainingTimeMs: () => number,
): ScoringBackend {
  const outputs = awsModelOutputs(settings);
  const lake = new S3ObjectStore({
    bucket: settings.lakeBucket,
    prefix: settings.lakePrefix ?? "",
    client: settings.s3,
  });
  return {
    outputs,
    lake,
    stages: settings.stages ?? STAGES,
    ...(settings.ingestQueueUrl === undefined
      ? {}
      : {
          ingestBacklog: new SqsIngestBacklog({
            client: settings.sqs ?? new SQSClient({}),
            queueUrl: settings.ingestQueueUrl,
          }),
        }),
    warehouseFor: (runId) =>
      new AthenaWarehouse({
        ...settings.athenaOptions,
        ...(settings.athena === undefined ? {} : { client: settings.athena }),
        ...(settings.onAthenaThrottled === undefined ? {} : { onThrottled: settings.onAthenaThrottled }),
        workGroup: settings.workGroup,
        inputDatabase: settings.database,
        runDatabase: runDatabaseName(settings.database, runId),
        lakeLocation: outputs.location,
        materialization: "unload",
        // Idempotency tokens are scoped to this invocation (the runner's default, a random UUID), not to the
        // run: a resumed run must not be handed back the statements its earlier invocation had stopped.
        remainingTimeMs,
        clearLocation: (location) => outputs.clearLocation(location),
        // The run's symlink manifests, under runs/ (the scoring role writes there), kept with its snapshot.
        writeInputManifest: async (relation, body) => {
          await lake.put(MODEL_LAYOUT.runManifestKey(runId, relation), body);
          return lake.uri(MODEL_LAYOUT.runManifestPrefix(runId, relation));
        },
      }),
  };
}
