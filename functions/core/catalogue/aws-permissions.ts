/**
 * What the scoring Lambda's AWS calls need, mapped from the AWS documentation rather than guessed (issue 18,
 * item 4; docs/aws-permissions.md is the same map as a table). One entry per kind of Athena statement the
 * Athena adapter sends (functions/engines/athena/sql.ts builds every one) and per kind of Glue API call the
 * publisher makes itself (functions/storage/glue-partitions.ts), each with the Glue actions on the Data Catalog
 * resources it reaches and the S3 and KMS actions it needs, and the pages that say so.
 *
 * Data only, in the catalogue so that infra/ may read it (ADR 0008): test/infra/permissions.test.ts keeps the
 * scoring role's synthesised policy and this map in step (every action the map needs is granted on its
 * resources, and no Glue action is granted on a resource the map does not justify), and checks that every
 * statement builder of sql.ts and every Glue command of glue-partitions.ts has an entry.
 *
 * Nothing here has been observed on AWS: it is the documentation's reading (README, "What has never run on
 * AWS"). Where the documentation is silent, `documented: false` says so and `note` gives the reason.
 */

/** The AWS pages cited, by short name (docs/aws-permissions.md lists them with their titles). */
export const PERMISSION_SOURCES = {
  /** Athena: Configure access to databases and tables in the AWS Glue Data Catalog (fine-grained access). */
  glueFineGrained: "https://docs.aws.amazon.com/athena/latest/ug/fine-grained-access-to-glue-resources.html",
  /**
   * The same page as the AWS documentation repository last published it (its policy examples, one per DDL
   * statement, and the "Mandatory: access policy to the default database" section).
   */
  glueFineGrainedSource:
    "https://github.com/awsdocs/amazon-athena-user-guide/blob/main/doc_source/fine-grained-access-to-glue-resources.md",
  /** Athena: Identity and access management (S3 locations, Glue metadata, Athena API actions). */
  athenaAccess: "https://docs.aws.amazon.com/athena/latest/ug/access.html",
  /** Glue: Specifying AWS Glue resource ARNs (the catalog → database → table hierarchy). */
  glueArns: "https://docs.aws.amazon.com/glue/latest/dg/glue-specifying-resource-arns.html",
  /** Athena: UNLOAD (writes to an empty S3 location, plus manifest and metadata in the results location). */
  unload: "https://docs.aws.amazon.com/athena/latest/ug/unload.html",
  /** Athena: working with query results (GetObject on the results location; encrypted results need the key). */
  queryResults: "https://docs.aws.amazon.com/athena/latest/ug/querying.html",
  /** AWS managed policy AmazonAthenaFullAccess (AWS's own grant for Athena's Glue calls). */
  athenaFullAccess:
    "https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonAthenaFullAccess.html",
  /** SQS: dead-letter queue redrive (the permissions of StartMessageMoveTask on the source and destination). */
  sqsRedrive:
    "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-configure-dead-letter-queue-redrive.html",
  /** Service Authorization Reference: the actions, resource types and condition keys of each service. */
  s3Actions: "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html",
  /** S3 DeleteObjects: "you must have the s3:DeleteObject permission" for each key (no action of its own). */
  s3DeleteObjects: "https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html",
  cloudFormationActions:
    "https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscloudformation.html",
  lambdaActions: "https://docs.aws.amazon.com/service-authorization/latest/reference/list_awslambda.html",
  logsActions:
    "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatchlogs.html",
  cloudWatchActions:
    "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html",
} as const;

export type PermissionSource = keyof typeof PERMISSION_SOURCES;

/**
 * The Data Catalog resources a call reaches, as the stack names them: the account's catalog, Athena's
 * `default` database, the stack's database and its tables (`stack-tables`: every table of it; `model-tables`
 * and `latest-tables` are two kinds of them), and the run databases `<db>_run_<run id>` with their tables and
 * (never created) functions.
 */
export type GlueScope =
  | "catalog"
  | "default-database"
  | "stack-database"
  | "stack-tables"
  | "model-tables"
  | "latest-tables"
  | "run-databases"
  | "run-tables"
  | "run-functions";

/**
 * Glue actions that Glue authorises on the catalog and databases only, never on a table or function ARN (the
 * resource types of the Service Authorization Reference for AWS Glue): a policy statement that names them
 * beside table ARNs grants nothing more on those.
 */
export const GLUE_DATABASE_LEVEL_ACTIONS: readonly string[] = [
  "glue:CreateDatabase",
  "glue:GetDatabase",
  "glue:GetDatabases",
  "glue:UpdateDatabase",
];

/** A scope's requirement covers these narrower scopes too (a model table is a table of the stack database). */
export const GLUE_SCOPE_COVERS: Readonly<Record<GlueScope, readonly GlueScope[]>> = {
  catalog: [],
  "default-database": [],
  "stack-database": [],
  "stack-tables": ["model-tables", "latest-tables"],
  "model-tables": [],
  "latest-tables": [],
  "run-databases": [],
  "run-tables": [],
  "run-functions": [],
};

export interface GlueRequirement {
  readonly actions: readonly string[];
  readonly on: readonly GlueScope[];
  /** False where no AWS page states it (then `note` of the entry says why it is granted). */
  readonly documented: boolean;
}

/** Where in the stack's buckets an S3 or KMS action is needed. */
export type DataPlace =
  | "lake: models/ (the run's files)"
  | "lake: what the run reads (curated/, quarantine/, ledger/, models/)"
  | "lake: runs/ (the run's symlink manifests)"
  | "lake bucket (listing)"
  | "results bucket (listing)"
  | "results bucket: athena/ (query results, UNLOAD manifests)"
  | "data key, through S3";

export interface DataRequirement {
  readonly actions: readonly string[];
  readonly on: DataPlace;
}

export interface PermissionEntry {
  /** What is sent, as the reader of the code would name it. */
  readonly operation: string;
  readonly kind: "athena-statement" | "glue-api";
  /** The sql.ts builders (athena-statement) or the Glue SDK commands (glue-api) that send it. */
  readonly sentBy: readonly string[];
  /** Where the code sends it. */
  readonly where: string;
  /** Only when the stack declares `<model>_latest` tables (ADR 0014). */
  readonly onlyWithLatestTables?: boolean;
  readonly glue: readonly GlueRequirement[];
  readonly data: readonly DataRequirement[];
  readonly sources: readonly PermissionSource[];
  readonly note?: string;
}

const KMS_VIA_S3_READ: DataRequirement = { actions: ["kms:Decrypt"], on: "data key, through S3" };
const KMS_VIA_S3_WRITE: DataRequirement = {
  actions: ["kms:Decrypt", "kms:GenerateDataKey"],
  on: "data key, through S3",
};
/** Every statement's result (or UNLOAD's manifest) lands in the workgroup's results location, SSE-KMS. */
const RESULTS: readonly DataRequirement[] = [
  {
    actions: ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"],
    on: "results bucket: athena/ (query results, UNLOAD manifests)",
  },
  { actions: ["s3:GetBucketLocation", "s3:ListBucket"], on: "results bucket (listing)" },
  KMS_VIA_S3_WRITE,
];

/** Athena with the Glue Data Catalog: the per-Region policy on the catalog and the `default` database. */
const DEFAULT_DATABASE: GlueRequirement = {
  actions: ["glue:GetDatabase", "glue:CreateDatabase"],
  on: ["catalog", "default-database"],
  documented: true,
};

export const SCORING_PERMISSIONS: readonly PermissionEntry[] = [
  {
    operation: "any statement (Athena's own use of the Data Catalog)",
    kind: "athena-statement",
    sentBy: [],
    where: "functions/engines/athena/client.ts (StartQueryExecution with Catalog AwsDataCatalog)",
    glue: [DEFAULT_DATABASE],
    data: RESULTS,
    sources: ["glueFineGrainedSource", "athenaAccess", "queryResults"],
    note:
      "The user guide's policy examples all carry GetDatabase and CreateDatabase on the catalog and the default " +
      "database, which it calls mandatory for Athena with the Glue Data Catalog, per Region.",
  },
  {
    operation: "CREATE DATABASE IF NOT EXISTS <db>_run_<run id>",
    kind: "athena-statement",
    sentBy: ["createRunDatabase"],
    where: "AthenaWarehouse.ensureDatabase",
    glue: [
      {
        actions: ["glue:GetDatabase", "glue:CreateDatabase"],
        on: ["catalog", "run-databases"],
        documented: true,
      },
    ],
    data: [],
    sources: ["glueFineGrained", "glueFineGrainedSource"],
  },
  {
    operation: "CREATE OR REPLACE VIEW <run db>.<name> (inputs, model bodies, model views, published views)",
    kind: "athena-statement",
    sentBy: ["inputView", "emptyInputView", "pinnedView", "view", "projectionView"],
    where: "AthenaWarehouse.attachInputs, replaceView, materializeByUnload, publishInRun, attachPublished",
    glue: [
      {
        actions: ["glue:GetDatabase", "glue:GetTable", "glue:CreateTable"],
        on: ["catalog", "run-databases", "run-tables"],
        documented: true,
      },
      { actions: ["glue:UpdateTable"], on: ["catalog", "run-databases", "run-tables"], documented: false },
    ],
    data: [],
    sources: ["glueFineGrained", "glueFineGrainedSource"],
    note:
      "A view is a Glue table: creating one is the documented CREATE TABLE case. Replacing an existing one (OR " +
      "REPLACE, when a run resumes) updates that table; the guide has no example for it, and a non-delete " +
      "action needs its permission on the resource and its ancestors. The view's SELECT is analysed like a " +
      "query: see SELECT.",
  },
  {
    operation:
      "CREATE EXTERNAL TABLE <run db>.<table> (symlink tables over pinned inputs, tables over UNLOADed files)",
    kind: "athena-statement",
    sentBy: ["symlinkTable", "parquetTable"],
    where: "AthenaWarehouse.attachInputs (inputs.ts), registerParquet",
    glue: [
      {
        actions: ["glue:GetDatabase", "glue:GetTable", "glue:CreateTable"],
        on: ["catalog", "run-databases", "run-tables"],
        documented: true,
      },
    ],
    data: [],
    sources: ["glueFineGrained", "glueFineGrainedSource"],
  },
  {
    operation: "DROP TABLE IF EXISTS <run db>.<table> (unpartitioned)",
    kind: "athena-statement",
    sentBy: ["dropTable"],
    where: "AthenaWarehouse.attachInputs (inputs.ts), registerParquet",
    glue: [
      {
        actions: ["glue:GetDatabase", "glue:GetTable", "glue:DeleteTable"],
        on: ["catalog", "run-databases", "run-tables"],
        documented: true,
      },
    ],
    data: [],
    sources: ["glueFineGrained", "glueFineGrainedSource"],
    note:
      "The guide's example adds GetPartitions, GetPartition and DeletePartition for a partitioned table and says " +
      "to leave them out otherwise: the tables a run drops (`<model>__unloaded`, `<relation>__pinned`) have no " +
      "partitions.",
  },
  {
    operation: "DROP DATABASE IF EXISTS <db>_run_<run id> CASCADE",
    kind: "athena-statement",
    sentBy: ["dropDatabase"],
    where: "AthenaWarehouse.close",
    glue: [
      {
        actions: [
          "glue:GetDatabase",
          "glue:DeleteDatabase",
          "glue:GetTables",
          "glue:GetTable",
          "glue:DeleteTable",
        ],
        on: ["catalog", "run-databases", "run-tables"],
        documented: true,
      },
      { actions: ["glue:DeleteDatabase"], on: ["run-functions"], documented: true },
      {
        actions: ["glue:BatchDeleteTable"],
        on: ["catalog", "run-databases", "run-tables"],
        documented: false,
      },
    ],
    data: [],
    sources: ["glueFineGrained", "glueFineGrainedSource", "athenaFullAccess"],
    note:
      "The guide: a delete needs its permission on the resource's ancestors and descendants (its tables and " +
      "user-defined functions). Its example names the five actions on all four resources; only DeleteDatabase " +
      "reaches the functions. BatchDeleteTable is in no Athena example: AmazonAthenaFullAccess grants it, and a " +
      "cascade may drop the tables in one call, so it is granted on the run databases only (issue 18).",
  },
  {
    operation:
      "SELECT … (model bodies through views, the runner's checks, COUNT(*), reading published tables)",
    kind: "athena-statement",
    sentBy: ["count", "selectAll"],
    where: "AthenaWarehouse.query, count, attachPublished; the runner (functions/core/runner/run.ts)",
    glue: [
      {
        actions: ["glue:GetDatabase", "glue:GetTable"],
        on: ["catalog", "stack-database", "stack-tables", "run-databases", "run-tables"],
        documented: true,
      },
      {
        actions: ["glue:GetPartitions", "glue:GetPartition", "glue:BatchGetPartition"],
        on: ["catalog", "stack-database", "stack-tables", "run-databases", "run-tables"],
        documented: true,
      },
    ],
    data: [
      { actions: ["s3:GetObject"], on: "lake: what the run reads (curated/, quarantine/, ledger/, models/)" },
      KMS_VIA_S3_READ,
    ],
    sources: ["glueFineGrained", "glueFineGrainedSource", "athenaAccess"],
    note:
      "Reading a registered-partition table (a model table) lists its partitions: the guide's example is " +
      "GetPartitions on the catalog, the database and the table. The input tables' partitions are projected " +
      "(no partition calls).",
  },
  {
    operation: "SELECT … FROM AwsDataCatalog.information_schema.columns (a model's columns)",
    kind: "athena-statement",
    sentBy: ["columns"],
    where: "AthenaWarehouse.columnsOf",
    glue: [
      {
        actions: ["glue:GetDatabases"],
        on: ["catalog", "stack-database", "run-databases"],
        documented: true,
      },
      {
        actions: ["glue:GetDatabase", "glue:GetTables", "glue:GetTable"],
        on: ["catalog", "run-databases", "run-tables"],
        documented: true,
      },
      { actions: ["glue:GetTables"], on: ["stack-database", "stack-tables"], documented: false },
    ],
    data: [],
    sources: ["glueFineGrained", "glueFineGrainedSource"],
    note:
      "information_schema lists databases (the SHOW DATABASES example: GetDatabases on the catalog and " +
      "database/*) and a database's tables (SHOW TABLES: GetDatabase, GetTables on the database and its " +
      "tables). The role names the stack's and the run databases instead of database/*: narrower than the " +
      "example, not yet seen to suffice. The lookup filters on the run database, but Athena may list the " +
      "tables of every database it was allowed to list before filtering: GetTables on the stack's database too.",
  },
  {
    operation:
      "UNLOAD (SELECT * FROM <run db>.<model>__body) TO 's3://<lake>/models/<model>/run=<id>/as_of=<d>/'",
    kind: "athena-statement",
    sentBy: ["unload"],
    where: "AthenaWarehouse.materializeByUnload",
    glue: [
      {
        actions: ["glue:GetDatabase", "glue:GetTable"],
        on: ["catalog", "run-databases", "run-tables"],
        documented: true,
      },
    ],
    data: [
      { actions: ["s3:PutObject", "s3:AbortMultipartUpload"], on: "lake: models/ (the run's files)" },
      { actions: ["s3:ListBucket", "s3:GetBucketLocation"], on: "lake bucket (listing)" },
      KMS_VIA_S3_WRITE,
    ],
    sources: ["unload", "athenaAccess", "glueFineGrained"],
    note:
      "UNLOAD checks that the target location is empty (a listing), writes Parquet files there, and its manifest " +
      "and metadata to the results location (see 'any statement'); the SELECT it wraps reads like a SELECT.",
  },
  {
    operation: "GetTable, GetPartition, GetPartitions, CreatePartition, UpdatePartition on a model table",
    kind: "glue-api",
    sentBy: [
      "GetTableCommand",
      "GetPartitionCommand",
      "GetPartitionsCommand",
      "CreatePartitionCommand",
      "UpdatePartitionCommand",
    ],
    where: "functions/storage/glue-partitions.ts (GluePartitions: publishing an as-of, ADR 0006)",
    glue: [
      {
        actions: [
          "glue:GetTable",
          "glue:GetPartition",
          "glue:GetPartitions",
          "glue:CreatePartition",
          "glue:UpdatePartition",
        ],
        on: ["catalog", "stack-database", "model-tables"],
        documented: true,
      },
    ],
    data: [],
    sources: ["glueArns", "glueFineGrained"],
    note:
      "A direct Glue call, not through Athena: Glue authorises a partition call on the catalog, the database and " +
      "the table (the guide: 'to run GetPartitions on table myTable in the database myDB, you need permissions " +
      "for the action in the Data Catalog, the myDB database, and myTable').",
  },
  {
    operation: "DeletePartition on a model table (the retention sweep after a run removes an as-of)",
    kind: "glue-api",
    sentBy: ["DeletePartitionCommand"],
    where:
      "functions/storage/glue-partitions.ts GluePartitions.remove, from S3ModelOutputs.deletePartition " +
      "(functions/core/runner/retention.ts, docs/operations.md)",
    glue: [
      {
        actions: ["glue:DeletePartition"],
        on: ["catalog", "stack-database", "model-tables"],
        documented: true,
      },
    ],
    data: [],
    sources: ["glueArns", "glueFineGrained"],
    note:
      "One partition per call (never BatchDeletePartition, which stays denied); the files it pointed at are " +
      "marked retired with s3:PutObject under models/ and deleted by the publish sweep after its grace period.",
  },
  {
    operation: "GetTable, UpdateTable on <model>_latest (point it at the greatest as-of)",
    kind: "glue-api",
    sentBy: ["GetTableCommand", "UpdateTableCommand"],
    where: "functions/storage/glue-partitions.ts (ADR 0014)",
    onlyWithLatestTables: true,
    glue: [
      {
        actions: ["glue:GetTable", "glue:UpdateTable"],
        on: ["catalog", "stack-database", "latest-tables"],
        documented: true,
      },
    ],
    data: [],
    sources: ["glueArns", "glueFineGrained"],
    note: "A direct Glue call on the latest tables only; every other table of the stack's database stays CloudFormation's.",
  },
];

/**
 * sql.ts builders no deployed code path sends, and why (the permission test requires every builder to be
 * either here or in an entry's `sentBy`).
 */
export const UNSENT_STATEMENTS: Readonly<Record<string, string>> = {
  ctas:
    "CREATE TABLE AS SELECT is the adapter's default materialization, but the scoring backend " +
    '(functions/backends/aws.ts) uses materialization "unload": the stack\'s workgroup enforces its result ' +
    "location, and Athena rejects a CTAS with external_location there.",
  dropView: "Defined for symmetry; no code path calls it (a run's views go with DROP DATABASE … CASCADE).",
};

/**
 * Glue commands of functions/storage/glue-partitions.ts that no scoring run sends, and why (the permission
 * test requires every command there to be either here or in a glue-api entry's `sentBy`).
 */
export const UNSENT_GLUE_CALLS: Readonly<Record<string, string>> = {};

/**
 * The operator role's resources (infra/stacks/crmlake-stack.ts createOperators): the stack itself, the
 * analysts' workgroup (where `crmlake … --stack` queries), the Data Catalog scopes above, objects of the lake
 * by prefix (`lake:<prefix>`), the landing bucket's objects, the analysts' results prefix, the two KMS keys
 * (through S3 or SQS), the two Lambdas and their log groups, the queues, the alarms and the dashboard.
 */
export type OperatorResource =
  | "cloudformation-stack"
  | "analyst-workgroup"
  | Extract<GlueScope, "catalog" | "stack-database" | "stack-tables" | "model-tables" | "latest-tables">
  | `lake:${string}`
  | "lake-bucket"
  | "landing:"
  | "landing-bucket"
  | "results:analysts/"
  | "results-bucket"
  | "data-key"
  | "message-key"
  | "scoring-function"
  | "ingest-function"
  | "scoring-logs"
  | "ingest-logs"
  | "ingest-queue"
  | "ingest-dead-letters"
  | "scoring-dead-letters"
  | "alarms"
  | "dashboard"
  | "any";

export interface OperatorEntry {
  /** What the operator runs (docs/operations.md, docs/runbook.md). */
  readonly command: string;
  /** The `crmlake` command files (functions/cli/commands/<name>.ts) whose `--stack` this is, if any. */
  readonly cli?: readonly string[];
  /** The SDK commands (functions/backends/aws-stack.ts and the storage it builds) or AWS CLI calls it sends. */
  readonly calls: readonly string[];
  readonly needs: readonly {
    readonly actions: readonly string[];
    readonly on: readonly OperatorResource[];
  }[];
  readonly sources: readonly PermissionSource[];
  readonly note?: string;
}

/** Reading the stack's outputs, which every `crmlake … --stack` starts with. */
const DESCRIBE_STACK = {
  actions: ["cloudformation:DescribeStacks"],
  on: ["cloudformation-stack"],
} as const;
const LAKE_READ = [
  { actions: ["s3:GetObject"], on: ["lake:runs/log/", "lake:ledger/", "lake:curated/", "lake:models/"] },
  { actions: ["s3:ListBucket"], on: ["lake-bucket"] },
  { actions: ["kms:Decrypt"], on: ["data-key"] },
] as const;
const ATHENA_QUERY = [
  {
    actions: [
      "athena:StartQueryExecution",
      "athena:GetQueryExecution",
      "athena:GetQueryResults",
      "athena:StopQueryExecution",
    ],
    on: ["analyst-workgroup"],
  },
  {
    actions: ["glue:GetDatabase", "glue:GetTable", "glue:GetPartitions", "glue:GetPartition"],
    on: ["catalog", "stack-database", "stack-tables"],
  },
  { actions: ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"], on: ["results:analysts/"] },
  { actions: ["s3:ListBucket", "s3:GetBucketLocation"], on: ["results-bucket"] },
  { actions: ["s3:GetObject"], on: ["lake:curated/", "lake:models/", "lake:ledger/manifests/"] },
  { actions: ["kms:Decrypt", "kms:GenerateDataKey"], on: ["data-key"] },
] as const;
const GLUE_PUBLISH = {
  actions: [
    "glue:GetTable",
    "glue:GetPartitions",
    "glue:GetPartition",
    "glue:CreatePartition",
    "glue:UpdatePartition",
  ],
  on: ["catalog", "stack-database", "model-tables"],
} as const;
const LOCK_AND_RECORDS = [
  {
    actions: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
    on: ["lake:runs/lock", "lake:runs/staging/"],
  },
  { actions: ["s3:GetObject", "s3:PutObject"], on: ["lake:runs/log/"] },
  { actions: ["s3:PutObject"], on: ["lake:models/"] },
  { actions: ["s3:ListBucket"], on: ["lake-bucket"] },
  { actions: ["kms:Decrypt", "kms:GenerateDataKey"], on: ["data-key"] },
] as const;

/**
 * The operator role's permission map: one entry per command of docs/operations.md and docs/runbook.md, what it
 * calls and what that needs. test/infra/permissions.test.ts checks that the operator policy allows each need
 * on its resources, that the policy allows nothing no entry needs, and that every `crmlake` command with
 * `--stack` and every SDK command of functions/backends/aws-stack.ts has an entry.
 */
export const OPERATOR_PERMISSIONS: readonly OperatorEntry[] = [
  {
    command: "crmlake runs --stack NAME",
    cli: ["runs"],
    calls: ["DescribeStacksCommand", "ListObjectsV2Command", "GetObjectCommand"],
    needs: [DESCRIBE_STACK, ...LAKE_READ],
    sources: ["cloudFormationActions", "s3Actions"],
  },
  {
    command: "crmlake doctor --stack NAME [--repair]",
    cli: ["doctor"],
    calls: ["ListObjectsV2Command", "GetObjectCommand", "PutObjectCommand", "DeleteObjectsCommand"],
    needs: [
      DESCRIBE_STACK,
      ...LAKE_READ,
      { actions: ["s3:GetObject"], on: ["lake:quarantine/"] },
      {
        actions: ["s3:PutObject", "s3:DeleteObject"],
        on: ["lake:curated/", "lake:quarantine/", "lake:ledger/", "lake:runs/log/"],
      },
      { actions: ["kms:GenerateDataKey"], on: ["data-key"] },
    ],
    sources: ["s3Actions", "s3DeleteObjects"],
    note:
      "--repair deletes files no committed drop lists (curated/, quarantine/), stale content claims (ledger/), " +
      "writes a missing manifest (ledger/manifests/) and marks stuck runs failed (runs/log/). DeleteObjects is " +
      "authorised as s3:DeleteObject on each key.",
  },
  {
    command: "crmlake runs delete --stack NAME --as-of DATE",
    cli: ["runs"],
    calls: ["GetTableCommand", "GetPartitionsCommand", "UpdateTableCommand", "DeletePartitionCommand"],
    needs: [
      DESCRIBE_STACK,
      ...LOCK_AND_RECORDS,
      GLUE_PUBLISH,
      { actions: ["glue:DeletePartition"], on: ["catalog", "stack-database", "model-tables"] },
      { actions: ["glue:GetTable", "glue:UpdateTable"], on: ["catalog", "stack-database", "latest-tables"] },
    ],
    sources: ["glueArns", "glueFineGrained", "s3Actions"],
    note:
      "Under the run lock (a conditional PutObject on runs/lock); first finishes a publish a dead run left " +
      "half-done (its journal under runs/staging/: Create/UpdatePartition), re-points each <model>_latest table, " +
      "removes the model tables' partitions of the date and marks their files retired (models/…/_retired).",
  },
  {
    command: "crmlake runs sweep --stack NAME [--dry-run]",
    cli: ["runs-sweep"],
    calls: ["GetTableCommand", "GetPartitionsCommand", "DeletePartitionCommand"],
    needs: [
      DESCRIBE_STACK,
      ...LOCK_AND_RECORDS,
      GLUE_PUBLISH,
      { actions: ["glue:DeletePartition"], on: ["catalog", "stack-database", "model-tables"] },
      { actions: ["glue:GetTable"], on: ["catalog", "stack-database", "latest-tables"] },
    ],
    sources: ["glueArns", "glueFineGrained", "s3Actions"],
  },
  {
    command: "crmlake runs unlock --stack NAME [--force]",
    cli: ["runs"],
    calls: ["GetObjectCommand", "PutObjectCommand", "DeleteObjectsCommand"],
    needs: [
      DESCRIBE_STACK,
      { actions: ["s3:GetObject", "s3:DeleteObject"], on: ["lake:runs/lock"] },
      { actions: ["s3:GetObject"], on: ["lake:runs/log/"] },
      { actions: ["s3:PutObject"], on: ["lake:runs/unlocks/"] },
      { actions: ["kms:Decrypt", "kms:GenerateDataKey"], on: ["data-key"] },
    ],
    sources: ["s3Actions", "s3DeleteObjects"],
    note: "Reads the lock and its holder's run record, records the removal under runs/unlocks/, deletes runs/lock.",
  },
  {
    command: "crmlake run --stack NAME --as-of DATE [--wait]",
    cli: ["run"],
    calls: ["InvokeCommand", "ListObjectsV2Command", "GetObjectCommand"],
    needs: [DESCRIBE_STACK, { actions: ["lambda:InvokeFunction"], on: ["scoring-function"] }, ...LAKE_READ],
    sources: ["lambdaActions"],
    note: "Asynchronous invocation; the run runs with the scoring role. Following it (runs, --wait) reads runs/log/.",
  },
  {
    command: "crmlake export actions --stack NAME --out DIR",
    cli: ["export"],
    calls: ["ListObjectsV2Command", "GetObjectCommand"],
    needs: [
      DESCRIBE_STACK,
      { actions: ["s3:GetObject"], on: ["lake:exports/"] },
      { actions: ["s3:ListBucket"], on: ["lake-bucket"] },
      { actions: ["kms:Decrypt"], on: ["data-key"] },
    ],
    sources: ["s3Actions"],
    note: "An --out s3://bucket/prefix outside the stack needs s3:PutObject there, which this policy does not grant.",
  },
  {
    command: "crmlake report --stack NAME, campaign assign|plan --stack NAME (statements in Athena)",
    cli: ["report", "campaign"],
    calls: [
      "StartQueryExecutionCommand",
      "GetQueryExecutionCommand",
      "GetQueryResultsCommand",
      "PutObjectCommand",
    ],
    needs: [
      DESCRIBE_STACK,
      ...ATHENA_QUERY,
      { actions: ["glue:GetDatabases", "glue:GetTables"], on: ["catalog", "stack-database", "stack-tables"] },
      { actions: ["s3:GetObject"], on: ["lake:ledger/", "lake:quarantine/"] },
      { actions: ["s3:PutObject"], on: ["landing:"] },
    ],
    sources: ["athenaAccess", "glueFineGrained", "queryResults", "s3Actions"],
    note:
      "The report's ingest figures read the drops and quarantine tables (ledger/, quarantine/); the audience's " +
      "columns come from information_schema (GetDatabases, GetTables); campaign assign drops its two files " +
      "into the landing bucket under campaigns/ and campaign_contacts/. " +
      "In the analysts' workgroup (StackBackend.query), so its results land under analysts/ where analysts read " +
      "them too: an operator's query of the quarantine shows its rows to them. Query it for counts.",
  },
  {
    command: "crmlake aws smoke-test --stack NAME",
    cli: ["aws"],
    calls: [
      "PutObjectCommand",
      "DeleteObjectsCommand",
      "InvokeCommand",
      "GetTableCommand",
      "DeletePartitionCommand",
    ],
    needs: [
      DESCRIBE_STACK,
      { actions: ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"], on: ["landing:"] },
      { actions: ["s3:ListBucket"], on: ["landing-bucket"] },
      { actions: ["lambda:InvokeFunction"], on: ["scoring-function"] },
      ...LAKE_READ,
      ...ATHENA_QUERY,
      ...LOCK_AND_RECORDS,
      GLUE_PUBLISH,
      { actions: ["glue:DeletePartition"], on: ["catalog", "stack-database", "model-tables"] },
      { actions: ["glue:GetTable", "glue:UpdateTable"], on: ["catalog", "stack-database", "latest-tables"] },
      {
        actions: ["s3:DeleteObject"],
        on: [
          "lake:curated/",
          "lake:quarantine/",
          "lake:ledger/",
          "lake:models/",
          "lake:runs/",
          "lake:exports/",
        ],
      },
      { actions: ["s3:PutObject"], on: ["lake:ledger/manifests/"] },
    ],
    sources: ["s3Actions", "lambdaActions", "athenaAccess", "glueFineGrained"],
    note:
      "Drops a sample under <dataset>/ of the landing bucket, waits for its ledger records, scores, queries " +
      "customer_scores_latest; its clean-up deletes only what it added: the drops' files, claims and records, " +
      "its runs' records, staging and files, its as-of's partitions (as runs delete) and action lists " +
      "(exports/), and rebuilds the manifests.",
  },
  {
    command:
      "Redrive ingest dead letters (aws sqs get-queue-attributes, receive-message, start-message-move-task, list-message-move-tasks)",
    calls: [
      "sqs:GetQueueAttributes",
      "sqs:ReceiveMessage",
      "sqs:StartMessageMoveTask",
      "sqs:ListMessageMoveTasks",
    ],
    needs: [
      {
        actions: [
          "sqs:GetQueueAttributes",
          "sqs:ReceiveMessage",
          "sqs:DeleteMessage",
          "sqs:StartMessageMoveTask",
          "sqs:ListMessageMoveTasks",
        ],
        on: ["ingest-dead-letters"],
      },
      { actions: ["sqs:SendMessage"], on: ["ingest-queue"] },
      { actions: ["kms:Decrypt", "kms:GenerateDataKey"], on: ["message-key"] },
      { actions: ["s3:ListBucket"], on: ["lake-bucket"] },
    ],
    sources: ["sqsRedrive"],
    note:
      "The SQS guide: the source (dead-letter) queue needs StartMessageMoveTask, ReceiveMessage, DeleteMessage " +
      "and GetQueueAttributes, the destination SendMessage, and both queues' KMS key Decrypt and GenerateDataKey.",
  },
  {
    command: "Scoring dead letters (aws sqs receive-message, delete-message)",
    calls: ["sqs:ReceiveMessage", "sqs:DeleteMessage"],
    needs: [
      { actions: ["sqs:ReceiveMessage", "sqs:DeleteMessage"], on: ["scoring-dead-letters"] },
      { actions: ["kms:Decrypt"], on: ["message-key"] },
    ],
    sources: ["sqsRedrive"],
  },
  {
    command:
      "Runbook: output helper, logs and alarms (aws cloudformation describe-stacks / describe-stack-resources, aws lambda get-function-configuration, aws logs tail / filter-log-events, the dashboard)",
    calls: [
      "cloudformation:DescribeStackResources",
      "lambda:GetFunctionConfiguration",
      "logs:FilterLogEvents",
      "cloudwatch:GetMetricData",
    ],
    needs: [
      {
        actions: ["cloudformation:DescribeStacks", "cloudformation:DescribeStackResources"],
        on: ["cloudformation-stack"],
      },
      { actions: ["lambda:GetFunctionConfiguration"], on: ["scoring-function", "ingest-function"] },
      { actions: ["logs:FilterLogEvents"], on: ["scoring-logs", "ingest-logs"] },
      { actions: ["cloudwatch:DescribeAlarms"], on: ["alarms"] },
      { actions: ["cloudwatch:GetDashboard"], on: ["dashboard"] },
      { actions: ["cloudwatch:GetMetricData"], on: ["any"] },
    ],
    sources: ["cloudFormationActions", "lambdaActions", "logsActions", "cloudWatchActions"],
    note:
      "GetMetricData has no resource type; the three read-only CloudWatch actions share one statement on '*' " +
      "(shorter than the dashboard's ARN and the alarms' names: the policy must fit in 6,144 characters).",
  },
  {
    command:
      "Runbook: rejected files (aws s3 ls / cp of ledger/rejected/, re-land a fixed file, a source profile)",
    calls: ["s3:ListBucket", "s3:GetObject", "s3:PutObject"],
    needs: [
      { actions: ["s3:GetObject"], on: ["lake:ledger/", "landing:"] },
      { actions: ["s3:ListBucket"], on: ["lake-bucket", "landing-bucket"] },
      { actions: ["s3:PutObject"], on: ["landing:"] },
      { actions: ["kms:Decrypt", "kms:GenerateDataKey"], on: ["data-key"] },
    ],
    sources: ["s3Actions"],
  },
  {
    command:
      "Runbook: Athena in the analysts' workgroup (aws athena list-query-executions, the quarantine by reason)",
    calls: ["athena:ListQueryExecutions", "athena:BatchGetQueryExecution"],
    needs: [
      {
        actions: ["athena:ListQueryExecutions", "athena:BatchGetQueryExecution", "athena:GetWorkGroup"],
        on: ["analyst-workgroup"],
      },
      ...ATHENA_QUERY,
      { actions: ["s3:GetObject"], on: ["lake:quarantine/"] },
    ],
    sources: ["athenaAccess"],
  },
];

/**
 * Actions the operator policy grants that no command above sends, each for a reason: the AWS console and CLI
 * paths around the same commands (test/infra/permissions.test.ts allows no other).
 */
export const OPERATOR_ALSO_GRANTED: Readonly<Record<string, string>> = {
  "athena:GetQueryRuntimeStatistics": "the Athena console's query stats, as the analysts have",
  "glue:BatchGetPartition": "Athena's partition reads of a model table, as the analysts have",
  "logs:DescribeLogStreams": "the log group's streams in the console",
  "logs:GetLogEvents": "one log stream in the console",
  "logs:StartLiveTail": "aws logs start-live-tail, the console's live tail",
  "s3:GetObjectVersion": "a superseded version of a drop or a run record (both buckets are versioned)",
  "s3:ListBucketVersions": "aws s3api list-object-versions: what a versioned bucket still holds",
  "sqs:CancelMessageMoveTask": "stopping a redrive started by mistake (aws sqs cancel-message-move-task)",
};
