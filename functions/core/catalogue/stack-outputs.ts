/**
 * The CloudFormation outputs of a deployed stack that the command line reads to work on it
 * (`crmlake … --stack NAME`, functions/backends/aws-stack.ts). The stack declares them under these keys
 * (infra/stacks/crmlake-stack.ts) and a template test checks every one is there, so the two cannot drift.
 */
export const STACK_OUTPUTS = {
  /** The lake bucket: ledger, curated inputs, model outputs, run records (the lake is its root). */
  lakeBucket: "LakeBucketName",
  /** The Glue database of the input and model tables; runs get `<database>_run_<run id>`. */
  database: "GlueDatabaseName",
  /** The scoring runs' Athena workgroup. */
  workGroup: "AthenaWorkGroupName",
  /** The scoring Lambda, which `crmlake run --stack` invokes with the schedule's event. */
  scoringFunction: "ScoringFunctionName",
  /** The ingest queue and the dead-letter queues, for the runbook's redrive commands (docs/operations.md). */
  ingestQueueUrl: "IngestQueueUrl",
  ingestDeadLettersArn: "IngestDeadLettersArn",
  ingestDeadLettersUrl: "IngestDeadLettersUrl",
  scoringDeadLettersUrl: "ScoringDeadLettersUrl",
  /** The landing bucket, where files are dropped under `<dataset>/` (`crmlake aws smoke-test` drops its sample there). */
  landingBucket: "LandingBucketName",
  /** The analysts' Athena workgroup, where `crmlake aws smoke-test` reads `customer_scores_latest` as a BI user would. */
  analystWorkGroup: "AnalystWorkGroupName",
} as const;

/** The outputs without which the command line cannot work on a stack at all. */
export const REQUIRED_STACK_OUTPUTS = ["lakeBucket", "database", "workGroup"] as const;
