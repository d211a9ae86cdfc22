/**
 * The crmlake deployment (DESIGN.md §7): buckets, Glue catalog, Athena workgroup, the ingest Lambda behind
 * S3 → SQS, the scoring Lambda on an EventBridge Scheduler schedule, alarms on SNS. Environment-agnostic:
 * no lookups, every account- or region-specific value is a CloudFormation pseudo parameter.
 * Decisions and their reasons: docs/adr/0003-aws-deployment.md.
 */

import { join } from "node:path";
import {
  CfnOutput,
  Duration,
  RemovalPolicy,
  Size,
  Stack,
  type StackProps,
  Tags,
  Validations,
} from "aws-cdk-lib";
import * as athena from "aws-cdk-lib/aws-athena";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as actions from "aws-cdk-lib/aws-cloudwatch-actions";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import * as sources from "aws-cdk-lib/aws-lambda-event-sources";
import * as s3 from "aws-cdk-lib/aws-s3";
import * as s3n from "aws-cdk-lib/aws-s3-notifications";
import * as scheduler from "aws-cdk-lib/aws-scheduler";
import * as sns from "aws-cdk-lib/aws-sns";
import * as subscriptions from "aws-cdk-lib/aws-sns-subscriptions";
import * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { DATASET_NAMES } from "../../functions/core/catalogue/contracts.ts";
import { MODEL_LAYOUT } from "../../functions/core/catalogue/layout.ts";
import type { Model } from "../../functions/core/catalogue/models.ts";
import { STACK_OUTPUTS } from "../../functions/core/catalogue/stack-outputs.ts";
import { loadCatalogueModels } from "../../functions/core/catalogue/stages.ts";
import type { CrmlakeSettings } from "../config.ts";
import { CrmlakeFunction, prefixWildcardFinding } from "../constructs/crmlake-function.ts";
import {
  LAKE_PREFIXES,
  LakeCatalog,
  lakeTables,
  latestTable,
  modelOutputTables,
} from "../constructs/lake-catalog.ts";

/** CloudWatch namespace of the handlers' own metrics (Powertools Metrics, EMF). */
export const METRICS_NAMESPACE = "crmlake";
/**
 * Powertools adds the service name as the `service` dimension of every metric, and an alarm matches a metric
 * only with its exact dimensions: these are the `serviceName`s the handlers give their `Metrics`
 * (functions/ingest.ts: `new Metrics({ namespace: "crmlake", serviceName: "ingest" })`; test/infra checks it).
 */
export const METRIC_SERVICES = { ingest: "ingest", score: "score" } as const;

const HOUR = Duration.hours(1);
const FIVE_MINUTES = Duration.minutes(5);

/** A metric a handler publishes (METRICS_NAMESPACE, its `service` dimension); summed unless told otherwise. */
function handlerMetric(
  service: string,
  metricName: string,
  options: { period: Duration; statistic?: string; label?: string },
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service },
    statistic: options.statistic ?? cloudwatch.Stats.SUM,
    period: options.period,
    label: options.label,
  });
}

/** An alarm on anything counted at least once in a period; a period without data is fine. */
const AT_LEAST_ONCE = {
  threshold: 1,
  evaluationPeriods: 1,
  comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
  treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
} as const;

/**
 * Operations alarms that are not settings: the ingest queue's oldest message may wait this long (ingest takes
 * at most 15 minutes a drop, five at a time, so an hour is a backlog, not a busy morning), and a Lambda whose
 * longest invocation in five minutes took more than this share of its timeout is near it. Athena answers
 * this many calls of the scoring Lambda in five minutes with throttling before it alarms: the adapter retries
 * each throttled call (up to 10 times, with backoff), so a few are normal in an account whose analysts
 * share the quotas; ten in five minutes is a quota the runs keep hitting.
 */
export const OPERATIONS_THRESHOLDS = {
  queueAgeSeconds: 3600,
  nearTimeoutShare: 0.8,
  athenaThrottledPerFiveMinutes: 10,
} as const;

/**
 * What analysts read (the reader role and policy): the curated datasets (their symlink manifests and the files
 * those list), the published model tables and the run records. Never the quarantine (rejected rows, as the
 * source sent them), the rest of the ledger, run staging or the landing bucket's raw drops.
 */
export const ANALYSTS = {
  workGroupSuffix: "_analysts",
  resultsPrefix: "analysts/",
  lakeReadPrefixes: [
    LAKE_PREFIXES.curated,
    "ledger/manifests/",
    LAKE_PREFIXES.models,
    MODEL_LAYOUT.runLogPrefix,
  ],
  lakeDeniedPrefixes: [LAKE_PREFIXES.quarantine],
} as const;

/** The handler modules, relative to the project root. */
export const DEFAULT_ENTRIES = { ingest: "functions/ingest.ts", score: "functions/score.ts" } as const;

/**
 * Ingest sizing. Promise: one drop of up to 4 GB (uncompressed) is ingested in one invocation. /tmp holds
 * the downloaded drop plus DuckDB's Parquet output and spill files, hence the 10 GB maximum; 3008 MB is the largest memory every account gets
 * without a quota increase and gives DuckDB ~2 vCPUs (ingest memory stays flat in the drop's size, DESIGN §4);
 * 15 minutes is the Lambda maximum.
 */
export const INGEST_SIZING = {
  memorySize: Size.mebibytes(3008),
  ephemeralStorageSize: Size.gibibytes(10),
  timeout: Duration.minutes(15),
  /** One drop per invocation: two 4 GB drops would not share one /tmp. */
  batchSize: 1,
  /**
   * The largest landed object (the event's size) one invocation takes (CRMLAKE_MAX_DROP_BYTES): larger ones
   * are refused as `too_large` before they are downloaded (alarm IngestDropTooLarge). A gzip drop may still
   * expand past /tmp; that is a `disk_full` failure, retried and then dead-lettered.
   */
  maxDropBytes: 4 * 1024 ** 3,
  /** At most this many drops convert at once (protects the account's concurrency and S3 request rates). */
  maxConcurrency: 5,
} as const;

/**
 * Scoring sizing: Athena does the heavy lifting; the Lambda orchestrates and runs the TypeScript stages
 * (CLV fitting) on one model's output at a time. 2048 MB buys more than one vCPU for those.
 */
export const SCORING_SIZING = { memorySize: Size.mebibytes(2048), timeout: Duration.minutes(15) } as const;

/**
 * The SQL models in the scoring asset: the project's `sql/` is copied to `<asset>/sql`, which Lambda unpacks
 * under /var/task (LAMBDA_TASK_ROOT); functions/score.ts reads CRMLAKE_SQL_DIR.
 */
export const SCORING_SQL = { projectDir: "sql", lambdaDir: "/var/task/sql" } as const;

/**
 * The models the scoring asset carries (`<projectRoot>/sql` and the registered TypeScript stages), read and
 * checked as the runner reads them (loadCatalogueModels: node:fs and the header parser, no DuckDB). Their
 * headers declare the model output tables.
 */
export function loadScoringModels(projectRoot: string): Promise<Model[]> {
  return loadCatalogueModels(join(projectRoot, SCORING_SQL.projectDir));
}

export interface CrmlakeStackProps extends StackProps {
  readonly settings: CrmlakeSettings;
  readonly projectRoot: string;
  /**
   * The SQL models (loadScoringModels of the same project root): each published one
   * (`materialized: table`) gets a Glue table from its header.
   */
  readonly models: readonly Model[];
  /** Handler entries; tests point them at fixtures. */
  readonly entries?: { readonly ingest: string; readonly score: string };
}

export class CrmlakeStack extends Stack {
  readonly dataKey: kms.Key;
  readonly messageKey: kms.Key;
  readonly accessLogs: s3.Bucket;
  readonly landing: s3.Bucket;
  readonly lake: s3.Bucket;
  readonly results: s3.Bucket;
  readonly catalog: LakeCatalog;
  readonly workGroup: athena.CfnWorkGroup;
  readonly analystWorkGroup: athena.CfnWorkGroup;
  readonly analystRole: iam.Role;
  readonly analystPolicy: iam.ManagedPolicy;
  readonly operatorRole: iam.Role;
  readonly operatorPolicy: iam.ManagedPolicy;
  readonly ingestQueue: sqs.Queue;
  readonly ingestDeadLetters: sqs.Queue;
  readonly scoringDeadLetters: sqs.Queue;
  readonly ingest: CrmlakeFunction;
  readonly scoring: CrmlakeFunction;
  readonly schedule: scheduler.CfnSchedule;
  /** The late-drop check's schedule (ADR 0016); absent with crmlake:lateDropCheck=off. */
  readonly lateDropCheck?: scheduler.CfnSchedule;
  readonly alarmTopic: sns.Topic;
  readonly alarms: Readonly<Record<string, cloudwatch.Alarm>>;
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: CrmlakeStackProps) {
    super(scope, id, props);
    const { settings } = props;
    const entries = props.entries ?? DEFAULT_ENTRIES;
    const retained = settings.destroyData ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
    /** Glue database and Athena workgroup share it: one per stack, so two stacks can share an account. */
    const name = this.stackName.toLowerCase().replace(/[^a-z0-9_]/g, "_");

    // ---- Keys. Data and messages apart: the message key must trust S3 (notifications into SQS) and
    // CloudWatch (alarms into SNS); the data key trusts no service principal at all. A retained bucket
    // keeps its key: deleting the key would make the retained data unreadable.
    this.dataKey = new kms.Key(this, "DataKey", {
      description: `${id}: encrypts the landing, lake and Athena results buckets`,
      enableKeyRotation: true,
      removalPolicy: retained,
    });
    this.messageKey = new kms.Key(this, "MessageKey", {
      description: `${id}: encrypts the ingest and dead-letter queues and the alarm topic`,
      enableKeyRotation: true,
      removalPolicy: retained,
    });
    this.messageKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "CloudWatchAlarmsPublishToEncryptedTopic",
        principals: [new iam.ServicePrincipal("cloudwatch.amazonaws.com")],
        actions: ["kms:Decrypt", "kms:GenerateDataKey"],
        resources: ["*"],
        // Only on behalf of this account's alarms (no confused deputy).
        conditions: { StringEquals: { "aws:SourceAccount": this.account } },
      }),
    );

    // ---- Buckets.
    const bucketDefaults = {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: retained,
      autoDeleteObjects: settings.destroyData,
    } satisfies s3.BucketProps;
    const abortUploads: s3.LifecycleRule = {
      id: "abort-incomplete-uploads",
      abortIncompleteMultipartUploadAfter: Duration.days(7),
    };
    const expireNoncurrent: s3.LifecycleRule = {
      id: "expire-noncurrent-versions",
      noncurrentVersionExpiration: Duration.days(settings.noncurrentVersionDays),
    };
    // In a versioned bucket a delete leaves a delete marker; once the versions behind it have expired
    // (expireNoncurrent) it is an "expired object delete marker" that only slows listings down. S3 removes
    // those under this rule; it cannot share a rule with an Expiration in days, hence a rule of its own.
    const removeExpiredDeleteMarkers: s3.LifecycleRule = {
      id: "remove-expired-delete-markers",
      expiredObjectDeleteMarker: true,
    };

    // S3 delivers server access logs only to a bucket encrypted with SSE-S3, not SSE-KMS.
    this.accessLogs = new s3.Bucket(this, "AccessLogs", {
      ...bucketDefaults,
      encryption: s3.BucketEncryption.S3_MANAGED,
      lifecycleRules: [
        { id: "expire-logs", expiration: Duration.days(settings.logRetentionDays) },
        abortUploads,
      ],
    });
    Validations.of(this.accessLogs).acknowledge({
      id: "AwsSolutions-S1",
      reason: "This is the access-log bucket of the other buckets; logging it into itself would loop.",
    });
    const dataBucket = (bucketId: string, extra: Partial<s3.BucketProps>) =>
      new s3.Bucket(this, bucketId, {
        ...bucketDefaults,
        encryption: s3.BucketEncryption.KMS,
        encryptionKey: this.dataKey,
        // One data key per bucket and hour instead of a KMS request per object: Athena reads many objects.
        bucketKeyEnabled: true,
        serverAccessLogsBucket: this.accessLogs,
        serverAccessLogsPrefix: `${bucketId.toLowerCase()}/`,
        ...extra,
      });
    this.landing = dataBucket("Landing", {
      versioned: true,
      lifecycleRules: [
        {
          id: "age-raw-drops",
          transitions: [
            {
              storageClass: s3.StorageClass.INFREQUENT_ACCESS,
              transitionAfter: Duration.days(settings.rawInfrequentAccessDays),
            },
            // Instant retrieval: an old drop can still be re-ingested without a restore.
            {
              storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
              transitionAfter: Duration.days(settings.rawGlacierDays),
            },
          ],
        },
        expireNoncurrent,
        removeExpiredDeleteMarkers,
        abortUploads,
      ],
    });
    this.lake = dataBucket("Lake", {
      versioned: true,
      lifecycleRules: [expireNoncurrent, removeExpiredDeleteMarkers, abortUploads],
    });
    this.results = dataBucket("AthenaResults", {
      lifecycleRules: [
        { id: "expire-query-results", expiration: Duration.days(settings.resultsRetentionDays) },
        abortUploads,
      ],
    });

    // ---- Glue catalog and Athena workgroup.
    const published = modelOutputTables(props.models);
    this.catalog = new LakeCatalog(this, "Catalog", {
      databaseName: name,
      lake: this.lake,
      // Input tables from the contracts (projected partitions); one table per published model from its
      // header (registered partitions, which each scoring run re-points to publish), and beside each its
      // `<model>_latest` (one projected date, which the run that publishes the greatest as-of moves).
      tables: [...lakeTables(), ...published, ...published.map(latestTable)],
    });
    this.workGroup = new athena.CfnWorkGroup(this, "WorkGroup", {
      name,
      description: "crmlake: the scoring runs (analysts query in the analysts' workgroup)",
      state: "ENABLED",
      // Deleting the stack deletes the workgroup even though it holds saved queries.
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        engineVersion: { selectedEngineVersion: "Athena engine version 3" },
        enforceWorkGroupConfiguration: true,
        bytesScannedCutoffPerQuery: settings.bytesScannedCutoff,
        publishCloudWatchMetricsEnabled: true,
        requesterPaysEnabled: false,
        resultConfiguration: {
          outputLocation: `s3://${this.results.bucketName}/athena/`,
          encryptionConfiguration: { encryptionOption: "SSE_KMS", kmsKey: this.dataKey.keyArn },
          expectedBucketOwner: this.account,
        },
      },
    });

    // ---- Readers: the analysts' workgroup, apart from scoring's (its own results prefix and cutoff, so the
    // two are billed and limited apart), and a role and managed policy that read what is published.
    this.analystWorkGroup = new athena.CfnWorkGroup(this, "AnalystWorkGroup", {
      name: `${name}${ANALYSTS.workGroupSuffix}`,
      description: "crmlake: the analysts' and BI tools' queries (read-only)",
      state: "ENABLED",
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        engineVersion: { selectedEngineVersion: "Athena engine version 3" },
        enforceWorkGroupConfiguration: true,
        bytesScannedCutoffPerQuery: settings.analystBytesScannedCutoff,
        publishCloudWatchMetricsEnabled: true,
        requesterPaysEnabled: false,
        resultConfiguration: {
          outputLocation: `s3://${this.results.bucketName}/${ANALYSTS.resultsPrefix}`,
          encryptionConfiguration: { encryptionOption: "SSE_KMS", kmsKey: this.dataKey.keyArn },
          expectedBucketOwner: this.account,
        },
      },
    });
    ({ role: this.analystRole, policy: this.analystPolicy } = this.createReaders());

    // ---- Queues.
    const queueDefaults = {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.messageKey,
      dataKeyReuse: Duration.hours(1),
      enforceSSL: true,
    } satisfies sqs.QueueProps;
    this.ingestDeadLetters = new sqs.Queue(this, "IngestDeadLetters", {
      ...queueDefaults,
      retentionPeriod: Duration.days(14),
    });
    this.ingestQueue = new sqs.Queue(this, "IngestQueue", {
      ...queueDefaults,
      // AWS's rule for a queue feeding Lambda: at least six times the function timeout, so that retries of a
      // throttled batch do not make the message visible again while it is still being processed.
      visibilityTimeout: Duration.seconds(INGEST_SIZING.timeout.toSeconds() * 6),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.ingestDeadLetters, maxReceiveCount: 3 },
    });
    this.scoringDeadLetters = new sqs.Queue(this, "ScoringDeadLetters", {
      ...queueDefaults,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.scoringDeadLetters).acknowledge({
      id: "AwsSolutions-SQS3",
      reason:
        "This queue is a dead-letter queue: of the scoring schedule (Scheduler DeadLetterConfig) and of the " +
        "scoring Lambda's asynchronous invocations (OnFailure destination); neither is an SQS redrive policy.",
    });
    // Only keys under a dataset's prefix are drops (functions/core/ingest/s3-event.ts routeKey); the source
    // profiles under profiles/ are read by ingest, not ingested.
    for (const dataset of DATASET_NAMES) {
      this.landing.addEventNotification(
        s3.EventType.OBJECT_CREATED,
        new s3n.SqsDestination(this.ingestQueue),
        {
          prefix: `${dataset}/`,
        },
      );
    }
    // CDK applies notifications through a singleton Lambda of its own (CloudFormation cannot configure them on
    // a bucket whose queue policy names the bucket without a circular dependency).
    const notificationsHandler = this.node.tryFindChild(
      "BucketNotificationsHandler050a0587b7544547bf325f094a3db834",
    );
    if (notificationsHandler) {
      Validations.of(notificationsHandler).acknowledge({
        id: "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
        reason:
          "CDK's own bucket-notifications handler (a singleton that runs once per deploy) attaches the basic " +
          "execution policy for its logs; its role and policy are not configurable.",
      });
    }

    // ---- Lambdas.
    const runConfig: Record<string, string> =
      settings.runConfig === undefined ? {} : { CRMLAKE_CONFIG: settings.runConfig };
    const common = {
      projectRoot: props.projectRoot,
      architecture: settings.architecture,
      logRetentionDays: settings.logRetentionDays,
      logRemovalPolicy: retained,
      placeholderCode: settings.placeholderCode,
    } as const;

    this.ingest = new CrmlakeFunction(this, "Ingest", {
      ...common,
      entry: entries.ingest,
      description: "crmlake ingest: one landed drop → curated Parquet, quarantine, ledger (DuckDB)",
      withDuckdb: true,
      memorySize: INGEST_SIZING.memorySize,
      ephemeralStorageSize: INGEST_SIZING.ephemeralStorageSize,
      timeout: INGEST_SIZING.timeout,
      environment: {
        ...runConfig,
        // DuckDB's buffer manager gets 60 % of the memory and spills to /tmp beyond it; the rest is Node, the
        // SDK's upload buffers and DuckDB's allocations outside the buffer manager.
        DUCKDB_MEMORY_LIMIT: `${Math.floor(INGEST_SIZING.memorySize.toMebibytes() * 0.6)}MB`,
        CRMLAKE_MAX_DROP_BYTES: String(INGEST_SIZING.maxDropBytes),
      },
    })
      .useBucket("LANDING_BUCKET", this.landing, { read: [""] })
      .useBucket("LAKE_BUCKET", this.lake, {
        // Retiring a superseded version reads which files scoring runs pinned (ADR 0010): their records and
        // snapshots, read-only.
        read: [
          LAKE_PREFIXES.curated,
          LAKE_PREFIXES.quarantine,
          LAKE_PREFIXES.ledger,
          MODEL_LAYOUT.runLogPrefix,
          MODEL_LAYOUT.snapshotPrefix,
        ],
        write: [LAKE_PREFIXES.curated, LAKE_PREFIXES.quarantine, LAKE_PREFIXES.ledger],
      });
    this.ingest.function.addEventSource(
      new sources.SqsEventSource(this.ingestQueue, {
        batchSize: INGEST_SIZING.batchSize,
        maxConcurrency: INGEST_SIZING.maxConcurrency,
        reportBatchItemFailures: true,
      }),
    );

    this.scoring = new CrmlakeFunction(this, "Scoring", {
      ...common,
      entry: entries.score,
      description: "crmlake scoring: runs the models as of a date on Athena",
      memorySize: SCORING_SIZING.memorySize,
      timeout: SCORING_SIZING.timeout,
      // The runner reads the models at run time (functions/core/catalogue/models.ts); esbuild bundles code only.
      extraDirectories: [SCORING_SQL.projectDir],
      environment: {
        ...runConfig,
        CRMLAKE_SQL_DIR: SCORING_SQL.lambdaDir,
        // A scheduled run waits for the ingest queue to drain first, within crmlake:ingestWaitSeconds.
        INGEST_QUEUE_URL: this.ingestQueue.queueUrl,
        CRMLAKE_INGEST_WAIT_SECONDS: String(settings.ingestWaitSeconds),
      },
    })
      // Writes: models/ (each run's files, models/<model>/run=<run>/…, written by UNLOAD under this role, and
      // swept when replaced), runs/ (the publish journal runs/staging/<run>/, the run records runs/log/, the
      // lock runs/lock: functions/storage/s3-outputs.ts), exports/ (the action lists each run writes after it
      // has published, exports/actions/…: docs/adr/0013-action-lists-after-publish.md). Reads: the whole lake
      // (inputs through Athena).
      .useBucket("LAKE_BUCKET", this.lake, {
        read: [""],
        write: [LAKE_PREFIXES.models, LAKE_PREFIXES.runs, LAKE_PREFIXES.exports],
      })
      .useBucket("RESULTS_BUCKET", this.results, { read: [""], write: [""] })
      .useWorkGroup("ATHENA_WORKGROUP", this.workGroup)
      // GLUE_DATABASE: the run's Glue calls, and the model output tables whose partitions it publishes.
      .useCatalog("GLUE_DATABASE", this.catalog)
      .useRunDatabases(this.catalog)
      // INGEST_QUEUE_URL: reads the queue's depth only (functions/storage/sqs-backlog.ts), never its messages.
      .allow(["sqs:GetQueueAttributes"], [this.ingestQueue.queueArn]);
    // Lambda retries a failed or interrupted run twice, the most it allows: a run that reaches the 15-minute
    // limit is resumed by the retry of its event (ADR 0006), so one run gets up to 3 × 15 minutes. Then the
    // event lands in the dead-letter queue (alarm).
    this.scoring.function.configureAsyncInvoke({
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      onFailure: this.scoring.queueDestination(this.scoringDeadLetters),
    });

    // ---- Schedule. Scheduler rather than an EventBridge rule: it reads cron in a time zone (daylight saving
    // included), retries delivery with a policy of our own and has a dead-letter queue (ADR 0003).
    const schedulerRole = new iam.Role(this, "SchedulerRole", {
      assumedBy: new iam.ServicePrincipal("scheduler.amazonaws.com", {
        conditions: { StringEquals: { "aws:SourceAccount": this.account } },
      }),
      description: "EventBridge Scheduler: invokes the scoring Lambda, dead-letters what it cannot deliver",
    });
    schedulerRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ["lambda:InvokeFunction"],
        resources: [this.scoring.function.functionArn],
      }),
    );
    schedulerRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ["sqs:SendMessage"],
        resources: [this.scoringDeadLetters.queueArn],
      }),
    );
    schedulerRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ["kms:Decrypt", "kms:GenerateDataKey"],
        resources: [this.messageKey.keyArn],
        conditions: { StringEquals: { "kms:ViaService": `sqs.${this.region}.amazonaws.com` } },
      }),
    );
    // Both schedules invoke the scoring Lambda, retried and dead-lettered alike; the event says which job it is.
    const scoringSchedule = (id: string, description: string, expression: string, input: object) =>
      new scheduler.CfnSchedule(this, id, {
        description,
        scheduleExpression: expression,
        scheduleExpressionTimezone: settings.scheduleTimeZone,
        flexibleTimeWindow: { mode: "OFF" },
        state: "ENABLED",
        target: {
          arn: this.scoring.function.functionArn,
          roleArn: schedulerRole.roleArn,
          input: JSON.stringify(input),
          retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeInSeconds: Duration.hours(1).toSeconds() },
          deadLetterConfig: { arn: this.scoringDeadLetters.queueArn },
        },
      });
    // The handler derives the run's as_of from the scheduled time, read in the schedule's time zone.
    this.schedule = scoringSchedule("ScoringSchedule", "crmlake: the scoring run", settings.schedule, {
      source: "crmlake.schedule",
      scheduledTime: "<aws.scheduler.scheduled-time>",
      timeZone: settings.scheduleTimeZone,
      executionId: "<aws.scheduler.execution-id>",
    });

    // The late-drop check (ADR 0016): the scoring Lambda re-scores the latest as-of when files dated on or
    // before it arrived after it was scored; a check that finds nothing late starts no run.
    if (settings.lateDropCheck !== undefined) {
      this.lateDropCheck = scoringSchedule(
        "LateDropCheck",
        "crmlake: re-score the latest as-of when late files arrived",
        settings.lateDropCheck,
        {
          source: "crmlake.late-drops",
          scheduledTime: "<aws.scheduler.scheduled-time>",
          executionId: "<aws.scheduler.execution-id>",
        },
      );
    }

    // ---- Alarms.
    this.alarmTopic = new sns.Topic(this, "Alarms", {
      displayName: `${id} alarms`,
      masterKey: this.messageKey,
      enforceSSL: true,
    });
    this.alarmTopic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "CloudWatchAlarmsOfThisAccount",
        principals: [new iam.ServicePrincipal("cloudwatch.amazonaws.com")],
        actions: ["sns:Publish"],
        resources: [this.alarmTopic.topicArn],
        conditions: { StringEquals: { "aws:SourceAccount": this.account } },
      }),
    );
    if (settings.alarmEmail !== undefined) {
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(settings.alarmEmail));
    }
    this.alarms = this.createAlarms(settings);
    this.dashboard = this.createDashboard();
    ({ role: this.operatorRole, policy: this.operatorPolicy } = this.createOperators());

    // ---- Outputs: what a user needs after `cdk deploy`.
    new CfnOutput(this, STACK_OUTPUTS.landingBucket, {
      value: this.landing.bucketName,
      description: "Drop input files here, under <dataset>/",
    });
    new CfnOutput(this, STACK_OUTPUTS.lakeBucket, { value: this.lake.bucketName });
    new CfnOutput(this, "AthenaResultsBucketName", { value: this.results.bucketName });
    new CfnOutput(this, STACK_OUTPUTS.database, { value: this.catalog.databaseName });
    new CfnOutput(this, STACK_OUTPUTS.workGroup, { value: this.workGroup.ref });
    // What `crmlake … --stack NAME` and the runbook's commands work with (docs/operations.md).
    new CfnOutput(this, STACK_OUTPUTS.scoringFunction, {
      value: this.scoring.function.functionName,
      description: "crmlake run --stack NAME --as-of DATE invokes it to re-score a date",
    });
    new CfnOutput(this, STACK_OUTPUTS.ingestQueueUrl, { value: this.ingestQueue.queueUrl });
    new CfnOutput(this, STACK_OUTPUTS.ingestDeadLettersArn, {
      value: this.ingestDeadLetters.queueArn,
      description: "aws sqs start-message-move-task --source-arn <this> redrives them to the ingest queue",
    });
    new CfnOutput(this, STACK_OUTPUTS.ingestDeadLettersUrl, { value: this.ingestDeadLetters.queueUrl });
    new CfnOutput(this, STACK_OUTPUTS.scoringDeadLettersUrl, { value: this.scoringDeadLetters.queueUrl });
    new CfnOutput(this, STACK_OUTPUTS.analystWorkGroup, {
      value: this.analystWorkGroup.ref,
      description: "Query the published tables in this workgroup",
    });
    new CfnOutput(this, "AnalystRoleArn", {
      value: this.analystRole.roleArn,
      description:
        "Assume it to read the published tables (or attach AnalystPolicyArn to your own principals)",
    });
    new CfnOutput(this, "AnalystPolicyArn", { value: this.analystPolicy.managedPolicyArn });
    new CfnOutput(this, "OperatorRoleArn", {
      value: this.operatorRole.roleArn,
      description:
        "Assume it to run docs/operations.md's commands (or attach OperatorPolicyArn to your own principals)",
    });
    new CfnOutput(this, "OperatorPolicyArn", { value: this.operatorPolicy.managedPolicyArn });
    new CfnOutput(this, "AlarmTopicArn", { value: this.alarmTopic.topicArn });
    new CfnOutput(this, "DashboardName", { value: this.dashboard.dashboardName });
  }

  /**
   * The analysts' role (assumable by principals of this account that are allowed sts:AssumeRole on it) and the
   * same rights as a managed policy to attach to users, groups or permission sets: Athena in the analysts'
   * workgroup only, Glue reads of the stack's database, the lake prefixes of ANALYSTS, and the workgroup's
   * results prefix. An explicit Deny keeps the quarantine and the landing bucket out of reach even if
   * another policy of the same principal allows them.
   */
  private createReaders(): { role: iam.Role; policy: iam.ManagedPolicy } {
    const workGroupArn = this.formatArn({
      service: "athena",
      resource: "workgroup",
      resourceName: this.analystWorkGroup.ref,
    });
    const glue = this.catalog.arns();
    const lakeObjects = ANALYSTS.lakeReadPrefixes.map((p) => this.lake.arnForObjects(`${p}*`));
    const results = this.results.arnForObjects(`${ANALYSTS.resultsPrefix}*`);
    const prefixCondition = (prefixes: readonly string[]) => ({
      StringLike: { "s3:prefix": prefixes.flatMap((p) => [p, `${p}*`]) },
    });
    const policy = new iam.ManagedPolicy(this, "AnalystPolicy", {
      description: `${this.stackName}: read the published tables in the analysts' Athena workgroup`,
      statements: [
        new iam.PolicyStatement({
          sid: "AnalystWorkGroupQueries",
          actions: [
            "athena:GetWorkGroup",
            "athena:StartQueryExecution",
            "athena:StopQueryExecution",
            "athena:GetQueryExecution",
            "athena:GetQueryResults",
            "athena:GetQueryRuntimeStatistics",
            "athena:ListQueryExecutions",
            "athena:BatchGetQueryExecution",
          ],
          resources: [workGroupArn],
        }),
        new iam.PolicyStatement({
          sid: "ReadTheCatalog",
          actions: [
            "glue:GetDatabase",
            "glue:GetDatabases",
            "glue:GetTable",
            "glue:GetTables",
            "glue:GetPartition",
            "glue:GetPartitions",
            "glue:BatchGetPartition",
          ],
          resources: [glue.catalog, glue.database, glue.tables],
        }),
        new iam.PolicyStatement({
          sid: "ReadPublishedData",
          actions: ["s3:GetObject"],
          resources: lakeObjects,
        }),
        new iam.PolicyStatement({
          sid: "ListPublishedData",
          actions: ["s3:ListBucket"],
          resources: [this.lake.bucketArn],
          conditions: prefixCondition(ANALYSTS.lakeReadPrefixes),
        }),
        new iam.PolicyStatement({
          sid: "AnalystQueryResults",
          actions: ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
          resources: [results],
        }),
        new iam.PolicyStatement({
          sid: "ListAnalystQueryResults",
          actions: ["s3:ListBucket"],
          resources: [this.results.bucketArn],
          conditions: prefixCondition([ANALYSTS.resultsPrefix]),
        }),
        new iam.PolicyStatement({
          actions: ["s3:GetBucketLocation"],
          resources: [this.lake.bucketArn, this.results.bucketArn],
        }),
        new iam.PolicyStatement({
          sid: "DataKeyThroughS3",
          actions: ["kms:Decrypt", "kms:GenerateDataKey"],
          resources: [this.dataKey.keyArn],
          conditions: { StringEquals: { "kms:ViaService": `s3.${this.region}.amazonaws.com` } },
        }),
        new iam.PolicyStatement({
          sid: "NeverRawOrQuarantinedRecords",
          effect: iam.Effect.DENY,
          actions: ["s3:GetObject", "s3:GetObjectVersion"],
          resources: [
            ...ANALYSTS.lakeDeniedPrefixes.map((p) => this.lake.arnForObjects(`${p}*`)),
            this.landing.arnForObjects("*"),
          ],
        }),
      ],
    });
    const role = new iam.Role(this, "AnalystRole", {
      assumedBy: new iam.AccountPrincipal(this.account),
      description: `${this.stackName}: analysts and BI tools reading the published tables (read-only)`,
      managedPolicies: [policy],
      maxSessionDuration: Duration.hours(12),
    });
    const reasons: [string | undefined, string][] = [
      [
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:glue:<AWS::Region>:<AWS::AccountId>:table/${this.catalog.databaseName}/*]`,
        "Read-only metadata of the stack's one database, whose tables CloudFormation declares (one per dataset and published model); an analyst reads them all.",
      ],
      ...ANALYSTS.lakeReadPrefixes.map((p): [string | undefined, string] => [
        prefixWildcardFinding(this.lake, p),
        `Read-only objects under the lake prefix "${p}", one of the published prefixes; the keys (drops, runs) are only known at run time.`,
      ]),
      [
        prefixWildcardFinding(this.results, ANALYSTS.resultsPrefix),
        "Athena writes the analysts' query results under this prefix with the caller's rights; the keys are query ids.",
      ],
    ];
    for (const [id, reason] of reasons) {
      if (id !== undefined) Validations.of(policy).acknowledge({ id, reason });
    }
    return { role, policy };
  }

  /**
   * The operators' role (principals of this account allowed sts:AssumeRole on it) and its rights as a managed
   * policy: what docs/operations.md's and docs/runbook.md's commands call, mapped call by call in
   * OPERATOR_PERMISSIONS (functions/core/catalogue/aws-permissions.ts; test/infra/permissions.test.ts keeps the
   * two in step). Unlike the analysts, operators see the quarantine and the landing bucket; like them, they
   * query in the analysts' workgroup (`crmlake … --stack` runs its statements there) and change no table
   * definition but the `<model>_latest` tables' location, as the scoring role does.
   */
  private createOperators(): { role: iam.Role; policy: iam.ManagedPolicy } {
    const glue = this.catalog.arns();
    const stackArn = this.formatArn({
      service: "cloudformation",
      resource: "stack",
      resourceName: `${this.stackName}/*`,
    });
    const statement = (
      sid: string,
      actions: string[],
      resources: string[],
      conditions?: Record<string, unknown>,
    ) =>
      new iam.PolicyStatement({
        sid,
        actions,
        resources,
        ...(conditions === undefined ? {} : { conditions }),
      });
    const partitionWrites = ["glue:CreatePartition", "glue:UpdatePartition", "glue:DeletePartition"];
    // A managed policy holds 6,144 characters (test/infra/permissions.test.ts checks it resolved): hence short
    // Sids, one statement per kind of access, and the Denies below rather than long lists of what is allowed.
    const policy = new iam.ManagedPolicy(this, "OperatorPolicy", {
      description: `${this.stackName}: run the operations commands (docs/operations.md) on this stack`,
      statements: [
        statement(
          "Stack",
          ["cloudformation:DescribeStacks", "cloudformation:DescribeStackResources"],
          [stackArn],
        ),
        statement(
          "Athena",
          [
            "athena:GetWorkGroup",
            "athena:StartQueryExecution",
            "athena:StopQueryExecution",
            "athena:GetQueryExecution",
            "athena:GetQueryResults",
            "athena:GetQueryRuntimeStatistics",
            "athena:ListQueryExecutions",
            "athena:BatchGetQueryExecution",
          ],
          [
            this.formatArn({
              service: "athena",
              resource: "workgroup",
              resourceName: this.analystWorkGroup.ref,
            }),
          ],
        ),
        statement(
          "Catalog",
          [
            "glue:GetDatabase",
            "glue:GetDatabases",
            "glue:GetTable",
            "glue:GetTables",
            "glue:GetPartition",
            "glue:GetPartitions",
            "glue:BatchGetPartition",
          ],
          [glue.catalog, glue.database, glue.tables],
        ),
        // runs delete, runs sweep: DeletePartition; finishing a publish a dead run left half-done (recover):
        // CreatePartition, UpdatePartition. The model tables only, as for the scoring role: allowed on the
        // database's tables, denied on the projected ones (the inputs, the system tables, the latest tables).
        statement("Partitions", partitionWrites, [glue.catalog, glue.database, glue.tables]),
        new iam.PolicyStatement({
          sid: "NoPartitionsOfProjectedTables",
          effect: iam.Effect.DENY,
          actions: partitionWrites,
          resources: [
            ...[...this.catalog.tables.keys()]
              .filter(
                (t) =>
                  !this.catalog.registeredPartitionTables.includes(t) &&
                  !this.catalog.latestTables.includes(t),
              )
              .map((t) => this.catalog.tableArn(t)),
            ...(this.catalog.latestTables.length > 0 ? [glue.latestTables] : []),
          ],
        }),
        ...(this.catalog.latestTables.length === 0
          ? []
          : [
              statement(
                "LatestTables",
                ["glue:UpdateTable"],
                [glue.catalog, glue.database, glue.latestTables],
              ),
            ]),
        statement(
          "Read",
          ["s3:GetObject", "s3:GetObjectVersion"],
          [this.lake.arnForObjects("*"), this.landing.arnForObjects("*")],
        ),
        statement(
          "List",
          ["s3:ListBucket", "s3:ListBucketVersions", "s3:GetBucketLocation"],
          [this.lake.bucketArn, this.landing.bucketArn, this.results.bucketArn],
        ),
        // Where doctor --repair, runs delete, runs sweep and the smoke test's clean-up write and delete
        // (curated/ and quarantine/ files no committed drop lists, ledger/ claims and manifests, models/ files
        // and retired markers, runs/ records, journals and the lock, exports/ of the smoke test's as-of:
        // functions/storage/s3-outputs.ts, functions/core/ledger/doctor.ts, functions/core/runner/smoke-test.ts),
        // and files landed (a fixed file, campaign assign's two files, the smoke test's sample).
        statement(
          "Write",
          ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
          [this.lake.arnForObjects("*"), this.landing.arnForObjects("*")],
        ),
        statement(
          "Results",
          ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
          [this.results.arnForObjects(`${ANALYSTS.resultsPrefix}*`)],
        ),
        // The data key through S3, the message key through SQS (the redrive, reading dead letters).
        statement(
          "Keys",
          ["kms:Decrypt", "kms:GenerateDataKey"],
          [this.dataKey.keyArn, this.messageKey.keyArn],
          {
            StringEquals: {
              "kms:ViaService": [`s3.${this.region}.amazonaws.com`, `sqs.${this.region}.amazonaws.com`],
            },
          },
        ),
        statement("Rescore", ["lambda:InvokeFunction"], [this.scoring.function.functionArn]),
        statement(
          "Functions",
          ["lambda:GetFunctionConfiguration"],
          [this.scoring.function.functionArn, this.ingest.function.functionArn],
        ),
        statement(
          "Logs",
          ["logs:FilterLogEvents", "logs:GetLogEvents", "logs:DescribeLogStreams", "logs:StartLiveTail"],
          [this.ingest.logGroup.logGroupArn, this.scoring.logGroup.logGroupArn],
        ),
        statement(
          "DeadLetters",
          [
            "sqs:GetQueueAttributes",
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:StartMessageMoveTask",
            "sqs:ListMessageMoveTasks",
            "sqs:CancelMessageMoveTask",
          ],
          [this.ingestDeadLetters.queueArn, this.scoringDeadLetters.queueArn],
        ),
        statement("Redrive", ["sqs:GetQueueAttributes", "sqs:SendMessage"], [this.ingestQueue.queueArn]),
        // Read-only monitoring: GetMetricData has no resource type, and one "*" for the three is shorter than
        // the dashboard's ARN and the alarms' pattern beside it.
        statement(
          "Monitoring",
          ["cloudwatch:DescribeAlarms", "cloudwatch:GetDashboard", "cloudwatch:GetMetricData"],
          ["*"],
        ),
      ],
    });
    const role = new iam.Role(this, "OperatorRole", {
      assumedBy: new iam.AccountPrincipal(this.account),
      description: `${this.stackName}: operators running docs/operations.md's commands (crmlake --stack, aws)`,
      managedPolicies: [policy],
    });
    const glueArn = (resource: string) =>
      `arn:<AWS::Partition>:glue:<AWS::Region>:<AWS::AccountId>:${resource}`;
    const reasons: [string | undefined, string][] = [
      [
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudformation:<AWS::Region>:<AWS::AccountId>:stack/${this.stackName}/*]`,
        "This stack only: a stack ARN ends in an id CloudFormation assigns at creation, hence the trailing '*'.",
      ],
      [
        `AwsSolutions-IAM5[Resource::${glueArn(`table/${this.catalog.databaseName}/*`)}]`,
        "Read-only metadata of the stack's one database, whose tables CloudFormation declares; an operator reads them all.",
      ],
      [
        `AwsSolutions-IAM5[Resource::${glueArn(`table/${this.catalog.databaseName}/*_latest`)}]`,
        "UpdateTable on the <model>_latest tables only (runs delete re-points them, ADR 0014), as the scoring role.",
      ],
      [
        prefixWildcardFinding(this.lake, ""),
        "Operators read the whole lake, quarantine and ledger included (the runbook reads rejections and run records), and write and delete where doctor --repair, runs delete, runs sweep and the smoke test's clean-up do; keys are per drop and run.",
      ],
      [
        prefixWildcardFinding(this.landing, ""),
        "Operators read and re-land files in the landing bucket (runbook: a fixed file lands under its key; the smoke test drops a sample).",
      ],
      [
        prefixWildcardFinding(this.results, ANALYSTS.resultsPrefix),
        "Athena writes the query results of the analysts' workgroup (where crmlake --stack queries) under this prefix; the keys are query ids.",
      ],
      [
        "AwsSolutions-IAM5[Resource::*]",
        "Read-only monitoring (DescribeAlarms, GetDashboard, GetMetricData): GetMetricData has no resource type, and the alarms' names are CloudFormation's.",
      ],
    ];
    for (const [id, reason] of reasons) {
      if (id !== undefined) Validations.of(policy).acknowledge({ id, reason });
    }
    return { role, policy };
  }

  private createAlarms(settings: CrmlakeSettings): Record<string, cloudwatch.Alarm> {
    const deadLetters = (queue: sqs.Queue) =>
      queue.metricApproximateNumberOfMessagesVisible({
        period: FIVE_MINUTES,
        statistic: cloudwatch.Stats.MAXIMUM,
      });

    const alarms: Record<string, cloudwatch.Alarm> = {
      IngestDeadLetters: new cloudwatch.Alarm(this, "IngestDeadLettersAlarm", {
        alarmDescription: "Drops that failed ingest three times wait in the ingest dead-letter queue",
        metric: deadLetters(this.ingestDeadLetters),
        ...AT_LEAST_ONCE,
      }),
      ScoringDeadLetters: new cloudwatch.Alarm(this, "ScoringDeadLettersAlarm", {
        alarmDescription: "A scheduled scoring run could not be delivered or failed after its retry",
        metric: deadLetters(this.scoringDeadLetters),
        ...AT_LEAST_ONCE,
      }),
      IngestErrors: new cloudwatch.Alarm(this, "IngestErrorsAlarm", {
        alarmDescription: "The ingest Lambda failed (crashed or timed out)",
        metric: this.ingest.function.metricErrors({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM }),
        ...AT_LEAST_ONCE,
      }),
      ScoringErrors: new cloudwatch.Alarm(this, "ScoringErrorsAlarm", {
        alarmDescription: "The scoring Lambda failed (crashed or timed out)",
        metric: this.scoring.function.metricErrors({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM }),
        ...AT_LEAST_ONCE,
      }),
      RunFailed: new cloudwatch.Alarm(this, "RunFailedAlarm", {
        alarmDescription: "A scoring run failed; the last good run stays in place",
        metric: handlerMetric(METRIC_SERVICES.score, "RunFailed", { period: FIVE_MINUTES }),
        ...AT_LEAST_ONCE,
      }),
      QuarantineRatio: new cloudwatch.Alarm(this, "QuarantineRatioAlarm", {
        alarmDescription:
          `More than ${settings.quarantineRatioThreshold * 100} % of the rows ingested in an hour went to ` +
          "quarantine: a source changed its format?",
        metric: new cloudwatch.MathExpression({
          expression: "IF(rowsIn > 0, rowsQuarantined / rowsIn, 0)",
          usingMetrics: {
            rowsIn: handlerMetric(METRIC_SERVICES.ingest, "RowsIn", { period: HOUR }),
            rowsQuarantined: handlerMetric(METRIC_SERVICES.ingest, "RowsQuarantined", { period: HOUR }),
          },
          period: HOUR,
          label: "Share of ingested rows quarantined",
        }),
        threshold: settings.quarantineRatioThreshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      ...this.operationsAlarms(settings),
    };
    const action = new actions.SnsAction(this.alarmTopic);
    for (const alarm of Object.values(alarms)) alarm.addAlarmAction(action);
    return alarms;
  }

  /** The two Lambdas, named as their alarms and dashboard rows are, with the timeout each has. */
  private lambdas() {
    return [
      ["Ingest", this.ingest, INGEST_SIZING.timeout],
      ["Scoring", this.scoring, SCORING_SIZING.timeout],
    ] as const;
  }

  /**
   * Alarms on what did not happen (staleness, silence) and on limits being neared (queue age, throttles, duration
   * near the timeout). docs/runbook.md says what each means and what to do.
   */
  private operationsAlarms(settings: CrmlakeSettings): Record<string, cloudwatch.Alarm> {
    // "Nothing for N hours": N one-hour periods, every one without a datapoint. The handler publishes a metric
    // only when the thing happened, so a missing datapoint is an hour without it: missing data breaches.
    const absentFor = (service: string, metricName: string, hours: number) => ({
      metric: handlerMetric(service, metricName, { period: HOUR, statistic: cloudwatch.Stats.SAMPLE_COUNT }),
      threshold: 1,
      evaluationPeriods: hours,
      datapointsToAlarm: hours,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    const alarms: Record<string, cloudwatch.Alarm> = {
      // RunDuration is published once per run that succeeded (functions/score.ts), never otherwise.
      ScoringStale: new cloudwatch.Alarm(this, "ScoringStaleAlarm", {
        alarmDescription: `No scoring run has succeeded for ${settings.scoringStaleHours} hours: the published scores are getting old`,
        ...absentFor(METRIC_SERVICES.score, "RunDuration", settings.scoringStaleHours),
      }),
      // DropsIngested is published once per drop ingested (functions/ingest.ts).
      IngestSilence: new cloudwatch.Alarm(this, "IngestSilenceAlarm", {
        alarmDescription: `No drop has been ingested for ${settings.ingestSilenceHours} hours: is a source still delivering?`,
        ...absentFor(METRIC_SERVICES.ingest, "DropsIngested", settings.ingestSilenceHours),
      }),
      IngestQueueAge: new cloudwatch.Alarm(this, "IngestQueueAgeAlarm", {
        alarmDescription:
          `A landed file has waited more than ${OPERATIONS_THRESHOLDS.queueAgeSeconds / 60} minutes for ingest ` +
          "(for 15 minutes running): a backlog, or ingest is failing and retrying",
        metric: this.ingestQueue.metricApproximateAgeOfOldestMessage({
          period: FIVE_MINUTES,
          statistic: cloudwatch.Stats.MAXIMUM,
        }),
        threshold: OPERATIONS_THRESHOLDS.queueAgeSeconds,
        evaluationPeriods: 3,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      // DropsTooLarge is published once per drop refused for its size (functions/ingest.ts).
      IngestDropTooLarge: new cloudwatch.Alarm(this, "IngestDropTooLargeAlarm", {
        alarmDescription:
          `A landed file was refused as too_large (over ${INGEST_SIZING.maxDropBytes / 1024 ** 3} GiB): ` +
          "split it, or raise the ingest sizing",
        metric: handlerMetric(METRIC_SERVICES.ingest, "DropsTooLarge", { period: FIVE_MINUTES }),
        ...AT_LEAST_ONCE,
      }),
      // DropsRejected is published once per file recorded `rejected` in the ledger (functions/ingest.ts):
      // unreadable, bad header, wrong contract, too large, … — not a duplicate (DropsDuplicate).
      IngestRejectedFiles: new cloudwatch.Alarm(this, "IngestRejectedFilesAlarm", {
        alarmDescription:
          "Ingest rejected a whole landed file (recorded in the drops table as rejected, with its error_code): " +
          "fix the file and land it again",
        metric: handlerMetric(METRIC_SERVICES.ingest, "DropsRejected", { period: FIVE_MINUTES }),
        ...AT_LEAST_ONCE,
      }),
      // AthenaThrottled is published once per Athena API call answered with throttling (functions/score.ts).
      AthenaThrottled: new cloudwatch.Alarm(this, "AthenaThrottledAlarm", {
        alarmDescription:
          `Athena throttled the scoring Lambda's calls ${OPERATIONS_THRESHOLDS.athenaThrottledPerFiveMinutes} ` +
          "times or more in five minutes (API rate or concurrent-query quota): runs slow down, then fail",
        metric: handlerMetric(METRIC_SERVICES.score, "AthenaThrottled", { period: FIVE_MINUTES }),
        threshold: OPERATIONS_THRESHOLDS.athenaThrottledPerFiveMinutes,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      // RetentionSweepFailed is published after each successful scheduled run with retention on: 1 when the
      // sweep failed, else 0 (functions/score.ts). The run succeeded; only storage grows (ADR 0015).
      RetentionSweepFailed: new cloudwatch.Alarm(this, "RetentionSweepFailedAlarm", {
        alarmDescription:
          "The retention sweep after a successful scoring run failed: the run's tables are published, but the " +
          "snapshots it should have removed stay (storage grows) until a sweep succeeds",
        metric: handlerMetric(METRIC_SERVICES.score, "RetentionSweepFailed", { period: FIVE_MINUTES }),
        ...AT_LEAST_ONCE,
      }),
    };
    for (const [key, fn, timeout] of this.lambdas()) {
      alarms[`${key}Throttles`] = new cloudwatch.Alarm(this, `${key}ThrottlesAlarm`, {
        alarmDescription: `Lambda throttled the ${key.toLowerCase()} function (account or function concurrency limit)`,
        metric: fn.function.metricThrottles({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM }),
        ...AT_LEAST_ONCE,
      });
      alarms[`${key}NearTimeout`] = new cloudwatch.Alarm(this, `${key}NearTimeoutAlarm`, {
        alarmDescription:
          `An invocation of the ${key.toLowerCase()} function took more than ` +
          `${OPERATIONS_THRESHOLDS.nearTimeoutShare * 100} % of its ${timeout.toMinutes()}-minute timeout`,
        metric: fn.function.metricDuration({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.MAXIMUM }),
        threshold: Math.round(timeout.toMilliseconds() * OPERATIONS_THRESHOLDS.nearTimeoutShare),
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
    return alarms;
  }

  /** One page: every alarm's state, then the metrics they watch, ingest on the left and scoring on the right. */
  private createDashboard(): cloudwatch.Dashboard {
    const handler = (service: string, metricName: string, label: string, statistic?: string) =>
      handlerMetric(service, metricName, { period: HOUR, label, ...(statistic ? { statistic } : {}) });
    const graph = (
      title: string,
      left: cloudwatch.IMetric[],
      right: cloudwatch.IMetric[] = [],
      leftAnnotations?: cloudwatch.HorizontalAnnotation[],
    ) => new cloudwatch.GraphWidget({ title, left, right, leftAnnotations, width: 12, height: 6 });
    const dashboard = new cloudwatch.Dashboard(this, "Dashboard", {
      defaultInterval: Duration.days(7),
    });
    // The app tags every resource (crmlake-app.ts); cfn-lint 1.51.0 (CI) knows no Tags on a dashboard, and CDK
    // emits them only since CloudFormation added them: left untagged until both agree.
    Tags.of(dashboard).remove("project");
    dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({
        title: "Alarms",
        alarms: Object.values(this.alarms),
        width: 24,
        height: 4,
      }),
    );
    dashboard.addWidgets(
      graph(
        "Ingest: drops",
        [
          handler(METRIC_SERVICES.ingest, "DropsIngested", "ingested"),
          handler(METRIC_SERVICES.ingest, "DropsRejected", "rejected"),
          handler(METRIC_SERVICES.ingest, "DropsDuplicate", "duplicate (skipped)"),
          handler(METRIC_SERVICES.ingest, "MessagesFailed", "failed (retried)"),
          handler(METRIC_SERVICES.ingest, "DropsTooLarge", "too large (rejected)"),
          handler(METRIC_SERVICES.ingest, "DropsResourceExhausted", "out of memory, disk or time (retried)"),
        ],
        [
          handler(METRIC_SERVICES.ingest, "RowsIn", "rows in"),
          handler(METRIC_SERVICES.ingest, "RowsQuarantined", "rows quarantined"),
        ],
      ),
      graph(
        "Scoring: runs",
        [
          handler(METRIC_SERVICES.score, "RunDuration", "succeeded", cloudwatch.Stats.SAMPLE_COUNT),
          handler(METRIC_SERVICES.score, "RunFailed", "failed"),
          handler(METRIC_SERVICES.score, "RunInterrupted", "interrupted (resumed)"),
          handler(METRIC_SERVICES.score, "RetentionSweepFailed", "retention sweep failed"),
          handler(METRIC_SERVICES.score, "SnapshotsRemoved", "snapshots removed (as-ofs)"),
        ],
        [handler(METRIC_SERVICES.score, "AthenaBytesScanned", "Athena bytes scanned")],
      ),
    );
    dashboard.addWidgets(
      graph(
        "Scoring: Athena calls",
        [
          handlerMetric(METRIC_SERVICES.score, "AthenaThrottled", {
            period: FIVE_MINUTES,
            label: "throttled (retried)",
          }),
        ],
        [handler(METRIC_SERVICES.score, "AthenaQueries", "statements")],
        [
          {
            value: OPERATIONS_THRESHOLDS.athenaThrottledPerFiveMinutes,
            label: "alarm",
            color: cloudwatch.Color.RED,
          },
        ],
      ),
    );
    const deadLetters = (queue: sqs.Queue) =>
      queue.metricApproximateNumberOfMessagesVisible({ period: FIVE_MINUTES, label: "dead letters" });
    dashboard.addWidgets(
      graph(
        "Ingest queue",
        [
          this.ingestQueue.metricApproximateNumberOfMessagesVisible({
            period: FIVE_MINUTES,
            label: "waiting",
          }),
          deadLetters(this.ingestDeadLetters),
        ],
        [
          this.ingestQueue.metricApproximateAgeOfOldestMessage({
            period: FIVE_MINUTES,
            label: "oldest message age (s)",
          }),
        ],
      ),
      graph("Scoring dead letters", [deadLetters(this.scoringDeadLetters)]),
    );
    for (const [name, fn, timeout] of this.lambdas()) {
      dashboard.addWidgets(
        graph(
          `${name} Lambda: duration`,
          [
            fn.function.metricDuration({
              period: FIVE_MINUTES,
              statistic: cloudwatch.Stats.MAXIMUM,
              label: "max",
            }),
          ],
          [],
          [{ value: timeout.toMilliseconds(), label: "timeout", color: cloudwatch.Color.RED }],
        ),
        graph(`${name} Lambda: invocations`, [
          fn.function.metricInvocations({ period: FIVE_MINUTES, label: "invocations" }),
          fn.function.metricErrors({ period: FIVE_MINUTES, label: "errors" }),
          fn.function.metricThrottles({ period: FIVE_MINUTES, label: "throttles" }),
        ]),
      );
    }
    return dashboard;
  }
}
