/**
 * Readers (issue 18, item 3): the analysts' workgroup apart from scoring's, and the reader role and managed
 * policy: published data only, never the quarantine or the raw drops. Also the Glue actions Athena needs of
 * the scoring role beyond its own calls (GetDatabases for information_schema, BatchDeleteTable for DROP
 * DATABASE … CASCADE).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ANALYSTS } from "../../infra/stacks/crmlake-stack.ts";
import {
  cleanup,
  flat,
  list,
  logicalId,
  nagFindings,
  resourceProps,
  type Statement,
  type Synth,
  statementsOf,
  synth,
} from "./helpers.ts";

describe("readers", () => {
  let s: Synth;
  beforeAll(() => {
    s = synth({ "crmlake:analystBytesScannedCutoff": "2GB" });
  });
  afterAll(() => cleanup(s));

  const props = (construct: Parameters<typeof logicalId>[1]) => resourceProps(s, construct);
  const analystStatements = () =>
    ((props(s.stack.analystPolicy).PolicyDocument as { Statement: Statement[] }).Statement ?? []).map(
      (st) => ({ ...st, Action: list(st.Action), Resource: list(st.Resource).map(flat) }),
    );
  const lake = () => `<${logicalId(s, s.stack.lake)}.Arn>`;
  const results = () => `<${logicalId(s, s.stack.results)}.Arn>`;
  const landing = () => `<${logicalId(s, s.stack.landing)}.Arn>`;

  it("gives analysts a workgroup of their own: own results prefix, own cutoff, engine v3, enforced", () => {
    expect(props(s.stack.analystWorkGroup)).toMatchObject({
      Name: "crmlake_analysts",
      WorkGroupConfiguration: {
        EnforceWorkGroupConfiguration: true,
        BytesScannedCutoffPerQuery: 2 * 1024 ** 3,
        PublishCloudWatchMetricsEnabled: true,
        EngineVersion: { SelectedEngineVersion: "Athena engine version 3" },
        ResultConfiguration: {
          EncryptionConfiguration: { EncryptionOption: "SSE_KMS" },
        },
      },
    });
    const location = (wg: Parameters<typeof logicalId>[1]) =>
      flat(
        (props(wg).WorkGroupConfiguration as { ResultConfiguration: { OutputLocation: unknown } })
          .ResultConfiguration.OutputLocation,
      );
    expect(location(s.stack.analystWorkGroup)).toBe(`s3://<${logicalId(s, s.stack.results)}>/analysts/`);
    expect(location(s.stack.workGroup)).toBe(`s3://<${logicalId(s, s.stack.results)}>/athena/`);
    // Scoring keeps its own workgroup (and cutoff): the two are billed and limited apart.
    expect(props(s.stack.workGroup)).toMatchObject({ Name: "crmlake" });
  });

  it("runs queries in the analysts' workgroup only", () => {
    const athena = analystStatements().filter((st) => st.Action.some((a) => a.startsWith("athena:")));
    expect(athena).toHaveLength(1);
    expect(athena[0]?.Resource).toEqual([
      "arn:<AWS::Partition>:athena:<AWS::Region>:<AWS::AccountId>:workgroup/<AnalystWorkGroup>",
    ]);
    expect(athena[0]?.Action).toContain("athena:StartQueryExecution");
  });

  it("reads curated data, manifests, model tables and run records, and writes only its results prefix", () => {
    const allowedObjects = analystStatements()
      .filter(
        (st) => st.Effect === "Allow" && st.Action.some((a) => a.startsWith("s3:") && a !== "s3:ListBucket"),
      )
      .flatMap((st) => st.Resource.map((r) => `${[...st.Action].sort().join(",")} ${r}`));
    expect(allowedObjects.sort()).toEqual(
      [
        ...ANALYSTS.lakeReadPrefixes.map((p) => `s3:GetObject ${lake()}/${p}*`),
        `s3:AbortMultipartUpload,s3:GetObject,s3:PutObject ${results()}/analysts/*`,
        `s3:GetBucketLocation ${lake()}`,
        `s3:GetBucketLocation ${results()}`,
      ].sort(),
    );
    expect(ANALYSTS.lakeReadPrefixes).toEqual(["curated/", "ledger/manifests/", "models/", "runs/log/"]);
  });

  it("never reads the quarantine or the landing bucket: not allowed, and denied outright", () => {
    const text = JSON.stringify(analystStatements().filter((st) => st.Effect === "Allow"));
    expect(text).not.toContain("quarantine");
    expect(text).not.toContain(landing());
    const deny = analystStatements().find((st) => st.Sid === "NeverRawOrQuarantinedRecords");
    expect(deny).toMatchObject({ Effect: "Deny" });
    expect(deny?.Resource).toEqual([`${lake()}/quarantine/*`, `${landing()}/*`]);
  });

  it("reads the Glue metadata of the stack's database only, and changes none", () => {
    const glue = analystStatements().filter((st) => st.Action.some((a) => a.startsWith("glue:")));
    expect(glue).toHaveLength(1);
    expect(glue[0]?.Action.every((a) => /^glue:(Get|BatchGet)/.test(a))).toBe(true);
    expect(glue[0]?.Resource).toEqual([
      "arn:<AWS::Partition>:glue:<AWS::Region>:<AWS::AccountId>:catalog",
      "arn:<AWS::Partition>:glue:<AWS::Region>:<AWS::AccountId>:database/crmlake",
      "arn:<AWS::Partition>:glue:<AWS::Region>:<AWS::AccountId>:table/crmlake/*",
    ]);
  });

  it("is a role of this account's principals with the managed policy, both stack outputs", () => {
    const role = props(s.stack.analystRole);
    expect(JSON.stringify(role.AssumeRolePolicyDocument)).toContain("AWS::AccountId");
    expect(role.ManagedPolicyArns).toEqual([{ Ref: logicalId(s, s.stack.analystPolicy) }]);
    for (const output of ["AnalystRoleArn", "AnalystPolicyArn", "AnalystWorkGroupName"])
      s.template.hasOutput(output, {});
  });

  it("lets the scoring role list databases (information_schema) and batch-drop its run databases' tables", () => {
    const statements = statementsOf(s, logicalId(s, s.stack.scoring.role));
    const bySid = (sid: string) => {
      const st = statements.find((x) => x.Sid === sid);
      return { Action: list(st?.Action), Resource: list(st?.Resource).map(flat) };
    };
    const arn = (r: string) => `arn:<AWS::Partition>:glue:<AWS::Region>:<AWS::AccountId>:${r}`;
    expect(bySid("GlueDatabaseListing")).toEqual({
      Action: ["glue:GetDatabases"],
      Resource: [arn("catalog"), arn("database/crmlake"), arn("database/crmlake_run_*")],
    });
    expect(bySid("RunScopedGlueTablesBatchDelete")).toEqual({
      Action: ["glue:BatchDeleteTable"],
      Resource: [arn("catalog"), arn("database/crmlake_run_*"), arn("table/crmlake_run_*/*")],
    });
    // BatchDeleteTable stays denied on the stack's own tables.
    const deny = statements.find((x) => x.Sid === "TablesOfTheStackDatabaseAreNotAltered");
    expect(list(deny?.Action)).toContain("glue:BatchDeleteTable");
  });

  it("passes cdk-nag", () => {
    expect(nagFindings(s.app)).toEqual([]);
  });
});
