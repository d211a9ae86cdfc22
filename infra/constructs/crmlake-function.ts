/**
 * One place for the Lambda defaults (STYLE.md): runtime, architecture, an explicit log group with a
 * retention, JSON logs, source maps, X-Ray tracing, a role of its own with no managed policy. Its `use…`
 * helpers set an environment variable and grant the access that variable implies, so that a handler can
 * never be told about a resource it may not use, nor be allowed one it is not told about.
 */
import { isAbsolute, join } from "node:path";
import {
  Annotations,
  CfnElement,
  type Duration,
  type RemovalPolicy,
  type Size,
  Stack,
  Validations,
} from "aws-cdk-lib";
import type { CfnWorkGroup } from "aws-cdk-lib/aws-athena";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as nodejs from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import type * as s3 from "aws-cdk-lib/aws-s3";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { LATEST_TABLE } from "../../functions/core/catalogue/latest-tables.ts";
import { checkExtraDirectories, directoryCopyCommands, hookShell } from "../bundling/directories.ts";
import { copyCommands, resolveDuckdbPackages } from "../bundling/duckdb.ts";
import { parquetWasmCopyCommands } from "../bundling/parquet-wasm.ts";
import type { ArchitectureName } from "../config.ts";
import type { LakeCatalog } from "./lake-catalog.ts";

/**
 * Node.js 22: the newest Lambda runtime within the project's supported line (package.json engines >= 20.19,
 * CI on 20); nodejs24.x would run code on a major version no test has run on.
 */
export const LAMBDA_RUNTIME = lambda.Runtime.NODEJS_22_X;

export interface CrmlakeFunctionProps {
  /** The handler module, relative to the project root (e.g. `functions/ingest.ts`); it exports `handler`. */
  readonly entry: string;
  readonly projectRoot: string;
  readonly description: string;
  readonly architecture: ArchitectureName;
  readonly memorySize: Size;
  readonly timeout: Duration;
  readonly ephemeralStorageSize?: Size;
  readonly logRetentionDays: number;
  readonly logRemovalPolicy: RemovalPolicy;
  /** Package DuckDB and its native binding with the function (ingest only: DuckDB runs nowhere else). */
  readonly withDuckdb?: boolean;
  /**
   * Project directories, relative to the project root, copied into the asset under the same path after
   * bundling (scoring: `["sql"]`, the models it reads at run time from `/var/task/sql`).
   */
  readonly extraDirectories?: readonly string[];
  /** See CrmlakeSettings.placeholderCode: tests only. */
  readonly placeholderCode: boolean;
  readonly environment?: Readonly<Record<string, string>>;
}

/** Access to a bucket, as lists of key prefixes (`""` = the whole bucket). */
export interface BucketAccess {
  /** Get objects (and their versions), list keys. */
  readonly read?: readonly string[];
  /** Put and delete objects: every writer in crmlake replaces what it wrote before. */
  readonly write?: readonly string[];
}

const S3_READ_OBJECT = ["s3:GetObject", "s3:GetObjectVersion"];
const S3_WRITE_OBJECT = ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"];
const GLUE_READ = [
  "glue:GetDatabase",
  "glue:GetTable",
  "glue:GetTables",
  "glue:GetPartition",
  "glue:GetPartitions",
  "glue:BatchGetPartition",
];

/**
 * Changes to a table itself, as opposed to its partitions: the stack's tables are CloudFormation's. UpdateTable
 * is apart (GLUE_TABLE_UPDATE): a run re-points the `<model>_latest` tables with it, and only those.
 */
const GLUE_TABLE_CHANGES = [
  "glue:CreateTable",
  "glue:DeleteTable",
  "glue:BatchDeleteTable",
  "glue:DeleteTableVersion",
  "glue:BatchDeleteTableVersion",
];
/** How a run points `<model>_latest` at the greatest as-of (ADR 0014; glue-partitions.ts pointLatest). */
const GLUE_TABLE_UPDATE = ["glue:UpdateTable"];
/**
 * How the retention sweep removes an as-of of a model table (functions/core/runner/retention.ts through
 * glue-partitions.ts `remove`: one DeletePartition per partition, never the batch call).
 */
const GLUE_PARTITION_DELETE = ["glue:DeletePartition"];
/** Every way to delete partitions, for the Deny on the projected tables. */
const GLUE_PARTITION_DELETE_ANY = [...GLUE_PARTITION_DELETE, "glue:BatchDeletePartition"];
/**
 * Registering a partition and pointing it elsewhere: how a run publishes a model's as_of (ADR 0003, 4;
 * functions/storage/glue-partitions.ts makes exactly these two calls, one partition at a time).
 */
const GLUE_PARTITION_REGISTER = ["glue:CreatePartition", "glue:UpdatePartition"];
/** Every way to register or re-point partitions, for the Deny on the projected input tables. */
const GLUE_PARTITION_REGISTER_ANY = [
  ...GLUE_PARTITION_REGISTER,
  "glue:BatchCreatePartition",
  "glue:BatchUpdatePartition",
];
/**
 * What a run does with the stack's model output tables: read them, register and re-point partitions, and
 * (the retention sweep after a run) unregister the as-ofs the policy removes.
 */
const GLUE_MODEL_PARTITIONS = [
  "glue:GetTable",
  "glue:GetPartition",
  "glue:GetPartitions",
  ...GLUE_PARTITION_REGISTER,
  ...GLUE_PARTITION_DELETE,
];

/** What a run does with its own database (ADR 0004): create it, drop it with everything in it. */
const GLUE_RUN_DATABASE = ["glue:CreateDatabase", "glue:DeleteDatabase"];
/**
 * What a run's statements do to the tables and views of its database (docs/aws-permissions.md): create them
 * (CREATE VIEW, CREATE EXTERNAL TABLE), replace a view (CREATE OR REPLACE VIEW), drop them (DROP TABLE, DROP
 * DATABASE … CASCADE). No partition is registered there: the run's tables are unpartitioned (UNLOAD, not CTAS).
 */
const GLUE_RUN_TABLES = ["glue:CreateTable", "glue:UpdateTable", "glue:DeleteTable"];

export class CrmlakeFunction extends Construct {
  readonly function: lambda.Function;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: CrmlakeFunctionProps) {
    super(scope, id);

    this.logGroup = new logs.LogGroup(this, "Logs", {
      retention: props.logRetentionDays as logs.RetentionDays,
      removalPolicy: props.logRemovalPolicy,
    });
    // A role of our own rather than the default one, which attaches the AWSLambdaBasicExecutionRole managed
    // policy (log writes to every log group of the account): this one may write to its own log group only.
    this.role = new iam.Role(this, "Role", {
      assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
      description: `Runs ${props.entry}`,
    });
    this.logGroup.grantWrite(this.role);

    const common = {
      description: props.description,
      runtime: LAMBDA_RUNTIME,
      architecture: props.architecture === "arm64" ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64,
      memorySize: props.memorySize.toMebibytes(),
      timeout: props.timeout,
      ephemeralStorageSize: props.ephemeralStorageSize,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
      systemLogLevelV2: lambda.SystemLogLevel.WARN,
      tracing: lambda.Tracing.ACTIVE,
      environment: {
        // Stack traces point into the TypeScript sources through the bundle's source map.
        NODE_OPTIONS: "--enable-source-maps",
        ...props.environment,
      },
    } satisfies Partial<lambda.FunctionProps>;

    if (props.placeholderCode) {
      Annotations.of(this).addWarningV2(
        "@crmlake/placeholder-code",
        `${props.entry} is replaced by placeholder code (crmlake:placeholderCode): never deploy this synth`,
      );
      this.function = new lambda.Function(this, "Function", {
        ...common,
        handler: "index.handler",
        code: lambda.Code.fromInline(
          'exports.handler = async () => { throw new Error("placeholder code"); };',
        ),
      });
    } else {
      const duckdb = props.withDuckdb
        ? resolveDuckdbPackages({ projectRoot: props.projectRoot, architecture: props.architecture })
        : undefined;
      const extraDirectories = checkExtraDirectories(props.projectRoot, props.extraDirectories ?? []);
      this.function = new nodejs.NodejsFunction(this, "Function", {
        ...common,
        entry: isAbsolute(props.entry) ? props.entry : join(props.projectRoot, props.entry),
        handler: "handler",
        projectRoot: props.projectRoot,
        depsLockFilePath: join(props.projectRoot, "package-lock.json"),
        bundling: {
          format: nodejs.OutputFormat.ESM,
          target: "node22",
          mainFields: ["module", "main"],
          // Bundled CommonJS dependencies (the AWS SDK among them) call require(); give ESM one.
          banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
          minify: true,
          keepNames: true,
          sourceMap: true,
          sourcesContent: false,
          // The SDK version the tests ran, not whichever the runtime happens to carry.
          bundleAwsSDK: true,
          externalModules: duckdb ? ["@duckdb/*"] : [],
          forceDockerBundling: false,
          commandHooks: {
            beforeBundling: () => [],
            beforeInstall: () => [],
            afterBundling: (inputDir, outputDir) => [
              ...(duckdb ? copyCommands(duckdb, outputDir, hookShell(inputDir)) : []),
              ...directoryCopyCommands(inputDir, extraDirectories, outputDir, hookShell(inputDir)),
              ...parquetWasmCopyCommands(inputDir, outputDir, hookShell(inputDir)),
            ],
          },
        },
      });
    }

    Validations.of(this.function).acknowledge({
      id: "AwsSolutions-L1",
      reason:
        "Pinned to nodejs22.x, the newest runtime of the Node.js line the project supports and tests " +
        "(engines >= 20.19); nodejs24.x would run on a major version no test has run on.",
    });
    Validations.of(this.role).acknowledge({
      id: "AwsSolutions-IAM5[Resource::*]",
      reason:
        "Active tracing: X-Ray's PutTraceSegments and PutTelemetryRecords support no resource-level " +
        "permissions, so Lambda's tracing policy must name Resource '*'.",
    });
  }

  /**
   * Puts the bucket's name in `envName` and grants exactly the object access under the given prefixes,
   * plus the KMS use that the bucket's encryption implies.
   */
  useBucket(envName: string, bucket: s3.IBucket, access: BucketAccess): this {
    this.function.addEnvironment(envName, bucket.bucketName);
    const read = access.read ?? [];
    const write = access.write ?? [];
    const objects = (prefixes: readonly string[]) => prefixes.map((p) => bucket.arnForObjects(`${p}*`));

    if (read.length > 0) {
      this.allow(S3_READ_OBJECT, objects(read));
      this.allow(["s3:GetBucketLocation"], [bucket.bucketArn]);
      // Listing lets a reader tell a missing key (404) from a forbidden one (403), and Athena needs it.
      this.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ["s3:ListBucket"],
          resources: [bucket.bucketArn],
          ...(read.includes("")
            ? {}
            : { conditions: { StringLike: { "s3:prefix": read.flatMap((p) => [p, `${p}*`]) } } }),
        }),
      );
    }
    if (write.length > 0) {
      this.allow(S3_WRITE_OBJECT, objects(write));
    }
    if (bucket.encryptionKey) {
      // Reading an SSE-KMS object needs Decrypt; writing one needs GenerateDataKey, and Decrypt as well when
      // the upload is multipart. Only through S3: the key is no general-purpose decryption oracle.
      this.useKeyViaService(bucket.encryptionKey, write.length > 0, "s3");
    }
    this.suppressPrefixWildcards(bucket, [...new Set([...read, ...write])]);
    return this;
  }

  /** Puts the workgroup's name in `envName` and allows running, watching and stopping queries in it. */
  useWorkGroup(envName: string, workGroup: CfnWorkGroup): this {
    this.function.addEnvironment(envName, workGroup.ref);
    this.allow(
      [
        "athena:GetWorkGroup",
        "athena:StartQueryExecution",
        "athena:GetQueryExecution",
        "athena:GetQueryResults",
        "athena:StopQueryExecution",
      ],
      [Stack.of(this).formatArn({ service: "athena", resource: "workgroup", resourceName: workGroup.ref })],
    );
    return this;
  }

  /**
   * Puts the Glue database's name in `envName`: the stack's database, which holds only the tables the stack
   * declares (a run registers its own tables and views in its run database, useRunDatabases). Allows reading
   * every table of it (the run database's views read the input tables; Athena makes the Glue calls under the
   * caller's rights) and, on exactly the model output tables, what publishing needs: reading the table and
   * its partitions, creating the partition `as_of=<d>` and re-pointing it at the run's files (statement
   * `ModelOutputPartitions`; Glue authorises a partition call on the catalog, the database and the table),
   * and unregistering one (DeletePartition: the retention sweep after a run, runner/retention.ts),
   * and on the `<model>_latest` tables only, UpdateTable, which moves one to the run's as-of (statement
   * `LatestTablesArePointed`, ADR 0014). Those are named by the pattern `table/<db>/*_latest`, which the
   * catalogue keeps to them (LakeCatalog refuses any other table so named): one ARN per latest table would
   * take the role's inline policies past IAM's 10,240 characters at today's 35 models.
   *
   * The tables belong to CloudFormation. Explicit Denies keep a run from creating or dropping any table of the
   * database and from deleting partitions in batches (`TablesOfTheStackDatabaseAreNotAltered`), from updating any table
   * but a latest one or one of its run databases (`OnlyLatestTablesAreUpdated`: a Deny of UpdateTable on
   * everything else, NotResource, IAM's only way to say "every table but these"), and from registering
   * or deleting partitions on the projected tables, the latest ones included (`ProjectedTablesRegisterNoPartitions`).
   * None names an action an Allow above grants on the same table: an explicit Deny wins over every Allow.
   *
   * These statements form an inline policy of their own, `<role>/GlueCatalog`. In the role's default policy
   * CDK would estimate each table ARN (a token) at 150 characters and, past 10,000, move statements into
   * "overflow" managed policies: with one ARN per model that happens at a few more models, although the
   * resolved policies are far below IAM's limit (10,240 characters of inline policy per role; test/infra
   * checks the resolved size).
   */
  useCatalog(envName: string, catalog: LakeCatalog): this {
    this.function.addEnvironment(envName, catalog.databaseName);
    const arns = catalog.arns();
    const policy = new iam.Policy(this.role, "GlueCatalog", { roles: [this.role] });
    // As with the default policy: the function is created (and updated) only once its rights are in place.
    this.function.node.addDependency(policy);
    policy.addStatements(
      new iam.PolicyStatement({ actions: GLUE_READ, resources: [arns.catalog, arns.database, arns.tables] }),
    );
    const registered = catalog.registeredPartitionTables;
    const latest = catalog.latestTables;
    const projected = [...catalog.tables.keys()].filter((t) => !registered.includes(t));
    if (registered.length > 0) {
      policy.addStatements(
        new iam.PolicyStatement({
          sid: "ModelOutputPartitions",
          actions: GLUE_MODEL_PARTITIONS,
          resources: [arns.catalog, arns.database, ...registered.map((t) => catalog.tableArn(t))],
        }),
      );
    }
    if (latest.length > 0) {
      policy.addStatements(
        new iam.PolicyStatement({
          sid: "LatestTablesArePointed",
          actions: GLUE_TABLE_UPDATE,
          resources: [arns.catalog, arns.database, arns.latestTables],
        }),
      );
    }
    // Every table of the database rather than a list of the declared ones: the same protection, and a
    // statement that does not grow with the number of models.
    policy.addStatements(
      new iam.PolicyStatement({
        sid: "TablesOfTheStackDatabaseAreNotAltered",
        effect: iam.Effect.DENY,
        // The batch delete stays denied everywhere; DeletePartition is the projected tables' Deny's.
        actions: [...GLUE_TABLE_CHANGES, "glue:BatchDeletePartition"],
        resources: [arns.tables],
      }),
    );
    // Glue authorises UpdateTable on the catalog and the database too; a run's own database is useRunDatabases'.
    const run = catalog.runDatabaseArns();
    policy.addStatements(
      new iam.PolicyStatement({
        sid: "OnlyLatestTablesAreUpdated",
        effect: iam.Effect.DENY,
        actions: GLUE_TABLE_UPDATE,
        notResources: [arns.catalog, arns.database, arns.latestTables, run.databases, run.tables],
      }),
    );
    if (projected.length > 0) {
      policy.addStatements(
        new iam.PolicyStatement({
          sid: "ProjectedTablesRegisterNoPartitions",
          effect: iam.Effect.DENY,
          // Nor delete any: they have none, and the retention sweep removes as-ofs of model tables only.
          actions: [...GLUE_PARTITION_REGISTER_ANY, ...GLUE_PARTITION_DELETE_ANY],
          // The latest tables by their pattern, as in LatestTablesArePointed: one ARN each would not fit.
          resources: [
            ...projected.filter((t) => !latest.includes(t)).map((t) => catalog.tableArn(t)),
            ...(latest.length > 0 ? [arns.latestTables] : []),
          ],
        }),
      );
    }
    Validations.of(this.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:glue:<AWS::Region>:<AWS::AccountId>:table/${catalog.databaseName}/*]`,
      reason:
        "Read-only: a run's views read the input tables of this one database through Athena, which makes " +
        "the Glue calls under the caller's rights. Nothing in it may be created or dropped (an explicit " +
        "Deny), nor changed but the <model>_latest tables; partitions are registered only on the model " +
        "output tables, named one by one.",
    });
    if (latest.length > 0) {
      Validations.of(this.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:glue:<AWS::Region>:<AWS::AccountId>:table/${catalog.databaseName}/*${LATEST_TABLE.suffix}]`,
        reason:
          "UpdateTable on the <model>_latest tables only, which a run re-points at the greatest as-of (ADR " +
          "0014): every table of the database whose name ends in _latest is one (LakeCatalog refuses any " +
          "other), and one ARN per table would not fit IAM's 10,240 characters of inline policy per role.",
      });
    }
    return this;
  }

  /**
   * Allows a run to create, use and drop its own Glue database, `<catalog db>_run_<run id>` (the Athena
   * adapter's runDatabaseName, ADR 0004), and every table and view in it. The names are only known at run
   * time, so the grant is the prefix `<db>_run_` with a wildcard; it never reaches the stack's database (no
   * `_run_` in its name), and the Denies of useCatalog (`table/<db>/*`) never reach a run database.
   */
  useRunDatabases(catalog: LakeCatalog): this {
    const arns = catalog.runDatabaseArns();
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: "RunScopedGlueDatabases",
        actions: [...GLUE_RUN_DATABASE, ...GLUE_READ, ...GLUE_RUN_TABLES],
        resources: [arns.catalog, arns.databases, arns.tables],
      }),
    );
    // Athena with the Glue Data Catalog: the user guide calls GetDatabase and CreateDatabase on the catalog and
    // the `default` database of the Region mandatory (docs/aws-permissions.md). Exactly that database.
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: "AthenaDefaultDatabase",
        actions: ["glue:GetDatabase", "glue:CreateDatabase"],
        resources: [
          arns.catalog,
          Stack.of(this).formatArn({ service: "glue", resource: "database", resourceName: "default" }),
        ],
      }),
    );
    // DROP DATABASE … CASCADE drops the run's tables with the database; Glue may do that through
    // BatchDeleteTable, which the statement above does not name (issue 18: not yet seen on AWS, granted on
    // the run databases only, where DeleteTable is allowed already).
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: "RunScopedGlueTablesBatchDelete",
        actions: ["glue:BatchDeleteTable"],
        resources: [arns.catalog, arns.databases, arns.tables],
      }),
    );
    // The per-model column lookup reads <catalog>.information_schema.columns, for which Athena lists the
    // catalog's databases (GetDatabases). This names the stack's database and the run databases, nothing else
    // of the account; that Glue then lists those (rather than refusing the call) is the reading of its
    // resource-level rules, not yet seen on AWS (docs/deploying.md, "Status").
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: "GlueDatabaseListing",
        actions: ["glue:GetDatabases"],
        resources: [arns.catalog, catalog.arns().database, arns.databases],
      }),
    );
    // Glue authorises DeleteDatabase (DROP DATABASE … CASCADE) on the database's functions too; a run database
    // has none, but the permission must name them.
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: "RunScopedGlueDatabasesDrop",
        actions: ["glue:DeleteDatabase"],
        resources: [arns.functions],
      }),
    );
    const reason = (what: string) =>
      "Each scoring run creates its own Glue database <db>_run_<run id> (Athena adapter, ADR 0004) and drops " +
      `it at the end; ${what}. The run id is only known at run time, so the resource is the name prefix ` +
      "<db>_run_ with a '*', which cannot match the stack's own database.";
    const glue = "arn:<AWS::Partition>:glue:<AWS::Region>:<AWS::AccountId>";
    const prefix = catalog.runDatabasePrefix;
    for (const [resource, what] of [
      [`database/${prefix}*`, "this names those databases"],
      [`table/${prefix}*/*`, "this names the views and external tables the run registers in them"],
      [
        `userDefinedFunction/${prefix}*/*`,
        "Glue authorises DeleteDatabase on the database's functions too (a run database has none)",
      ],
    ] as const) {
      Validations.of(this.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${glue}:${resource}]`,
        reason: reason(what),
      });
    }
    return this;
  }

  /**
   * A Lambda destination (asynchronous invocation failures) that is the queue, granted exactly: sending, and
   * the KMS use of an encrypted queue. (CDK's SqsDestination grants kms:ReEncrypt* and GenerateDataKey*.)
   */
  queueDestination(queue: sqs.IQueue): lambda.IDestination {
    return {
      bind: () => {
        this.allow(["sqs:SendMessage"], [queue.queueArn]);
        if (queue.encryptionMasterKey) this.useKeyViaService(queue.encryptionMasterKey, true, "sqs");
        return { destination: queue.queueArn };
      },
    };
  }

  /** Allows the Lambda to encrypt and decrypt with `key`, only through the named service. */
  useKeyViaService(key: kms.IKey, encrypt: boolean, service: "s3" | "sqs"): this {
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: encrypt ? ["kms:Decrypt", "kms:GenerateDataKey"] : ["kms:Decrypt"],
        resources: [key.keyArn],
        conditions: {
          StringEquals: { "kms:ViaService": `${service}.${Stack.of(this).region}.amazonaws.com` },
        },
      }),
    );
    return this;
  }

  /** Adds an Allow statement to the function's role. */
  allow(actions: readonly string[], resources: readonly string[]): this {
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: [...actions], resources: [...resources] }),
    );
    return this;
  }

  /**
   * Object actions must name objects, and the keys are only known at run time (one per drop, one per run):
   * the grant names the bucket's prefix with a trailing `*` — nothing wider — and says so to cdk-nag.
   */
  private suppressPrefixWildcards(bucket: s3.IBucket, prefixes: readonly string[]): void {
    for (const prefix of prefixes) {
      const id = prefixWildcardFinding(bucket, prefix);
      if (id === undefined) return;
      Validations.of(this.role).acknowledge({
        id,
        reason:
          `Object-level S3 actions on keys that are only known at run time (one per drop or run): the resource ` +
          `is the ARN of ${bucket.node.id} with the prefix "${prefix}" and a trailing '*', nothing wider.`,
      });
    }
  }
}

/**
 * The id cdk-nag gives the IAM5 finding of a grant on `bucket`'s objects under `prefix` (`<prefix>*`), to
 * acknowledge it; undefined for a bucket this app does not declare.
 */
export function prefixWildcardFinding(bucket: s3.IBucket, prefix: string): string | undefined {
  const cfn = bucket.node.defaultChild;
  if (!(cfn instanceof CfnElement)) return undefined;
  const stack = Stack.of(cfn);
  return `AwsSolutions-IAM5[Resource::<${String(stack.resolve(stack.getLogicalId(cfn)))}.Arn>/${prefix}*]`;
}
