/**
 * The command line on a deployment (`crmlake … --stack NAME`, issue 18 item 5): the AWS composition root
 * (docs/adr/0008-layout-and-architecture-rules.md) for a stack that is already deployed. It reads the stack's
 * outputs (CloudFormation DescribeStacks; keys in functions/core/catalogue/stack-outputs.ts) and builds what
 * the commands work on: the lake bucket as an ObjectStore (doctor), its model outputs through the stack's Glue
 * tables, the same S3ModelOutputs the scoring Lambda publishes with (runs, runs delete), the scoring Lambda
 * to invoke (re-score), the action lists the runs wrote into the bucket (export actions), the landing bucket
 * and Athena in the analysts' workgroup (`crmlake aws smoke-test`).
 *
 * A file of its own beside aws.ts, so the CloudFormation and Lambda clients stay out of the scoring Lambda's
 * bundle; the command line imports it only when --stack is given, so the AWS SDK stays out of every other
 * command's start-up (ADR 0012).
 *
 * Clients come from the environment, as the AWS CLI's do: credentials and Region from AWS_PROFILE,
 * AWS_REGION, … and endpoints from AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE> (the SDK reads them; the
 * moto tier points them at its server), CRMLAKE_S3_ENDPOINT for S3 as elsewhere in crmlake. What a user can
 * fix (no such stack, not a crmlake stack, no credentials, no Region, access denied) is a UsageError of one line.
 */

import type { AthenaClient } from "@aws-sdk/client-athena";
import {
  CloudFormationClient,
  DescribeStacksCommand,
  type DescribeStacksCommandOutput,
} from "@aws-sdk/client-cloudformation";
import { GlueClient } from "@aws-sdk/client-glue";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import type { S3Client } from "@aws-sdk/client-s3";
import { REQUIRED_STACK_OUTPUTS, STACK_OUTPUTS } from "../core/catalogue/stack-outputs.ts";
import { ACCESS_DENIED, errorMessage, UsageError } from "../core/errors.ts";
import type { QueryResult } from "../core/ports/warehouse.ts";
import { type CopiedActionLists, copyPublishedActionLists } from "../core/runner/action-lists.ts";
import { runIdFor, type ScoringEvent } from "../core/runner/schedule.ts";
import { AthenaQueryError, AthenaQueryRunner } from "../engines/athena/client.ts";
import { LocalObjectStore } from "../storage/local.ts";
import { parseS3Uri, S3ObjectStore, s3ClientFromEnv } from "../storage/s3.ts";
import type { S3ModelOutputs } from "../storage/s3-outputs.ts";
import { awsModelOutputs } from "./aws.ts";

/** A deployed crmlake stack, as its outputs name its resources. */
export interface DeployedStack {
  readonly name: string;
  /** The Region the stack was looked up in (the environment's). */
  readonly region: string;
  readonly status: string;
  readonly lakeBucket: string;
  readonly database: string;
  readonly workGroup: string;
  /** Absent on a stack deployed before the output existed. */
  readonly scoringFunction: string | undefined;
  /** The landing bucket (drops go under `<dataset>/`); absent on a stack without the output. */
  readonly landingBucket: string | undefined;
  /** The analysts' Athena workgroup; absent on a stack without the output. */
  readonly analystWorkGroup: string | undefined;
  /** Every output of the stack, by key. */
  readonly outputs: Readonly<Record<string, string>>;
}

export interface StackClients {
  readonly cloudFormation?: CloudFormationClient;
  readonly s3?: S3Client;
  readonly glue?: GlueClient;
  readonly lambda?: LambdaClient;
  readonly athena?: AthenaClient;
}

/** A re-score sent to the scoring Lambda: the event, the run it names, and Lambda's answer. */
export interface ScoringInvocation {
  readonly functionName: string;
  readonly event: ScoringEvent;
  /** The run the event starts (runIdFor its executionId): its record is runs/log/<runId>.json. */
  readonly runId: string;
  /** Lambda's status code: 202 for an accepted asynchronous invocation. */
  readonly statusCode: number | undefined;
  /** What Lambda answered, as text (empty on AWS for an asynchronous invocation). */
  readonly payload: string;
}

/** A statement's rows, its query id and the workgroup it ran in. */
export interface StackQueryResult extends QueryResult {
  readonly queryExecutionId: string;
  readonly workGroup: string;
}

export interface StackBackend {
  readonly stack: DeployedStack;
  /** The lake bucket (the stack's lake is the bucket's root). */
  readonly lake: S3ObjectStore;
  /** The lake's model outputs and run records, published through the stack's Glue tables. */
  readonly outputs: S3ModelOutputs;
  /**
   * Invokes the scoring Lambda asynchronously with the schedule's event for `asOf`: the run is the deployed
   * code's, with the scoring role, retried and dead-lettered like a scheduled one (docs/operations.md).
   */
  rescore(asOf: string): Promise<ScoringInvocation>;
  /**
   * Copies the action lists the scoring runs wrote into the lake bucket (exports/actions/, of `asOf` or the
   * latest) to `out`, a directory or `s3://bucket/prefix`, as `<action>.csv`.
   */
  exportActions(out: string, asOf?: string): Promise<CopiedActionLists & { readonly location: string }>;
  /** The landing bucket, where files are dropped under `<dataset>/`; undefined on a stack without the output. */
  readonly landing: S3ObjectStore | undefined;
  /**
   * Runs one SQL statement in Athena, in the stack's Glue database, and reads its results: in the analysts'
   * workgroup (AnalystWorkGroupName) when the stack has one, the workgroup BI users query in, so a query
   * here sees what they see (their result prefix and scan limit); else in the scoring workgroup.
   */
  query(sql: string): Promise<StackQueryResult>;
  /** Releases the clients' connections. */
  close(): void;
}

const CREDENTIALS_HELP =
  "set AWS_PROFILE (after aws sso login or aws configure), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY";

/** An AWS call's failure as a one-line UsageError when the user can fix it; anything else unchanged. */
export function awsUsageError(error: unknown, doing: string): unknown {
  const name = error instanceof Error ? error.name : "";
  const message = errorMessage(error);
  if (name === "CredentialsProviderError" || /could not load credentials/i.test(message)) {
    return new UsageError("no_credentials", `No AWS credentials to ${doing}: ${CREDENTIALS_HELP}`, {
      cause: error,
    });
  }
  if (/region is missing/i.test(message)) {
    return new UsageError(
      "no_region",
      `No AWS Region to ${doing}: set AWS_REGION (or the region of AWS_PROFILE) to the stack's Region`,
      { cause: error },
    );
  }
  if (
    [
      "ExpiredToken",
      "ExpiredTokenException",
      "InvalidClientTokenId",
      "UnrecognizedClientException",
      "SignatureDoesNotMatch",
    ].includes(name)
  ) {
    return new UsageError(
      "bad_credentials",
      `AWS refused the credentials to ${doing} (${name}: ${message}): ${CREDENTIALS_HELP}`,
      { cause: error },
    );
  }
  // Athena answers a statement that reads where the caller may not (an analyst and the ledger or quarantine)
  // with a FAILED query, not an API error: "Permission denied on S3 path: s3://…" (Access Denied from S3 or
  // KMS in other wordings). ACCESS_DENIED lets the report and campaign assign leave those relations out.
  if (
    ["AccessDenied", "AccessDeniedException"].includes(name) ||
    (error instanceof AthenaQueryError && /permission denied on s3 path|access ?denied/i.test(message))
  ) {
    return new UsageError(ACCESS_DENIED, `Access denied to ${doing}: ${message}`, { cause: error });
  }
  return error;
}

async function regionOf(client: CloudFormationClient): Promise<string> {
  try {
    return await client.config.region();
  } catch (error) {
    throw awsUsageError(error, "look up a stack");
  }
}

/** The stack's outputs (DescribeStacks), checked for those every command on a deployment needs. */
export async function describeStack(name: string, client: CloudFormationClient): Promise<DeployedStack> {
  const region = await regionOf(client);
  const doing = `describe the stack ${name} in ${region}`;
  let response: DescribeStacksCommandOutput;
  try {
    response = await client.send(new DescribeStacksCommand({ StackName: name }));
  } catch (error) {
    if (error instanceof Error && /does not exist/.test(error.message)) {
      throw new UsageError(
        "no_stack",
        `No stack "${name}" in ${region} for these credentials. crmlake's stack is Crmlake, or Crmlake-<stage> (cdk deploy -c crmlake:stage=NAME); check --stack and AWS_REGION / AWS_PROFILE`,
        { cause: error },
      );
    }
    throw awsUsageError(error, doing);
  }
  const found = response.Stacks?.[0];
  if (found === undefined) {
    throw new UsageError("no_stack", `No stack "${name}" in ${region} for these credentials`);
  }
  const status = found.StackStatus ?? "UNKNOWN";
  const outputs: Record<string, string> = {};
  for (const output of found.Outputs ?? []) {
    if (output.OutputKey !== undefined && output.OutputValue !== undefined) {
      outputs[output.OutputKey] = output.OutputValue;
    }
  }
  const missing = REQUIRED_STACK_OUTPUTS.map((key) => STACK_OUTPUTS[key]).filter((key) => !outputs[key]);
  if (missing.length > 0) {
    throw new UsageError(
      "stack_outputs",
      `The stack ${name} in ${region} (${status}) has no output ${missing.join(", ")}: it is not a crmlake stack, or it is not deployed yet (a stack whose first deploy failed has no outputs)`,
    );
  }
  const output = (key: keyof typeof STACK_OUTPUTS) => outputs[STACK_OUTPUTS[key]] ?? "";
  return {
    name,
    region,
    status,
    lakeBucket: output("lakeBucket"),
    database: output("database"),
    workGroup: output("workGroup"),
    scoringFunction: outputs[STACK_OUTPUTS.scoringFunction],
    landingBucket: outputs[STACK_OUTPUTS.landingBucket],
    analystWorkGroup: outputs[STACK_OUTPUTS.analystWorkGroup],
    outputs,
  };
}

/**
 * The event `crmlake run --stack` sends: the schedule's (functions/core/runner/schedule.ts), with the date
 * in `asOf` and a fresh executionId, so it is a new run and never the redelivery of an earlier one.
 */
export function rescoreEvent(asOf: string, now: Date): ScoringEvent {
  return {
    source: "crmlake.schedule",
    scheduledTime: now.toISOString(),
    // Read only when asOf is absent (the schedule's "yesterday"); asOf is always given here.
    timeZone: "Etc/UTC",
    executionId: `rescore-${asOf}-${now.getTime().toString(36)}`,
    asOf,
  };
}

/** Resolves the stack and builds its backend; the clients not given come from the environment. */
export async function openStack(
  name: string,
  clients: StackClients = {},
  now: () => Date = () => new Date(),
): Promise<StackBackend> {
  const cloudFormation = clients.cloudFormation ?? new CloudFormationClient({});
  let stack: DeployedStack;
  try {
    stack = await describeStack(name, cloudFormation);
  } finally {
    if (clients.cloudFormation === undefined) cloudFormation.destroy();
  }
  const s3 = clients.s3 ?? s3ClientFromEnv();
  const glue = clients.glue ?? new GlueClient({ region: stack.region });
  let lambda = clients.lambda;
  const outputs = awsModelOutputs({ lakeBucket: stack.lakeBucket, database: stack.database, s3, glue, now });
  const lake = new S3ObjectStore({ bucket: stack.lakeBucket, client: s3 });
  const landing =
    stack.landingBucket === undefined
      ? undefined
      : new S3ObjectStore({ bucket: stack.landingBucket, client: s3 });
  let athena: AthenaQueryRunner | undefined;
  return {
    stack,
    lake,
    landing,
    outputs,
    async query(sql) {
      const workGroup = stack.analystWorkGroup ?? stack.workGroup;
      athena ??= new AthenaQueryRunner({
        workGroup,
        region: stack.region,
        ...(clients.athena === undefined ? {} : { client: clients.athena }),
      });
      try {
        const result = await athena.query(sql, { database: stack.database, label: "crmlake --stack query" });
        return {
          columns: result.columns,
          rows: result.rows,
          queryExecutionId: result.queryExecutionId,
          workGroup,
        };
      } catch (error) {
        throw awsUsageError(error, `query the stack ${name} in the Athena workgroup ${workGroup}`);
      }
    },
    async rescore(asOf) {
      const functionName = stack.scoringFunction;
      if (functionName === undefined) {
        throw new UsageError(
          "stack_outputs",
          `The stack ${name} has no output ${STACK_OUTPUTS.scoringFunction} (deployed by an older crmlake): cdk deploy it again, or invoke its scoring Lambda with aws lambda invoke (docs/operations.md)`,
        );
      }
      const event = rescoreEvent(asOf, now());
      lambda ??= new LambdaClient({ region: stack.region });
      try {
        const response = await lambda.send(
          new InvokeCommand({
            FunctionName: functionName,
            InvocationType: "Event",
            Payload: new TextEncoder().encode(JSON.stringify(event)),
          }),
        );
        return {
          functionName,
          event,
          runId: runIdFor(event.executionId),
          statusCode: response.StatusCode,
          payload: response.Payload === undefined ? "" : new TextDecoder().decode(response.Payload),
        };
      } catch (error) {
        throw awsUsageError(error, `invoke the scoring Lambda ${functionName}`);
      }
    },
    async exportActions(out, asOf) {
      let target: LocalObjectStore | S3ObjectStore;
      if (out.startsWith("s3://")) {
        const { bucket, key } = parseS3Uri(out);
        target = new S3ObjectStore({ bucket, prefix: key, client: s3 });
      } else {
        target = new LocalObjectStore(out);
      }
      const copied = await copyPublishedActionLists(lake, target, asOf);
      return { ...copied, location: target.location };
    },
    close() {
      if (clients.s3 === undefined) s3.destroy();
      if (clients.glue === undefined) glue.destroy();
      if (clients.lambda === undefined) lambda?.destroy();
      if (clients.athena === undefined) athena?.client.destroy();
    },
  };
}
