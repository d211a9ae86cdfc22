/**
 * Several stages in one account (crmlake:stage): each stage is a stack of its own, and every name that must be
 * unique in the account or region differs between stages. Unstaged keeps the names deployments made before
 * stages have, so updating one replaces nothing.
 */
import { App } from "aws-cdk-lib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runDatabaseName } from "../../functions/engines/athena/warehouse.ts";
import { readSettings, stackId } from "../../infra/config.ts";
import { cleanup, flat, nagFindings, type Synth, synth } from "./helpers.ts";

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

/** Every literal string in the template that names an account- or region-unique resource explicitly. */
function explicitNames(s: Synth): string[] {
  const resources = s.template.toJSON().Resources as Resources;
  const names: string[] = [];
  for (const r of Object.values(resources)) {
    const p = r.Properties ?? {};
    const candidates = [
      p.Name,
      p.BucketName,
      p.QueueName,
      p.TopicName,
      p.AlarmName,
      p.DashboardName,
      p.FunctionName,
      p.RoleName,
      p.LogGroupName,
      p.WorkGroup,
      (p.DatabaseInput as { Name?: unknown } | undefined)?.Name,
    ];
    for (const c of candidates) if (typeof c === "string") names.push(`${r.Type} ${c}`);
  }
  return names;
}

/** The resource part (after `<AccountId>:`) of every Glue ARN in the template. */
function glueArns(s: Synth): string[] {
  const found: string[] = [];
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (value !== null && typeof value === "object") {
      if ("Fn::Join" in value) {
        const text = flat(value);
        if (text.includes(":glue:")) found.push(text.replace(/^.*<AWS::AccountId>:/, ""));
        return;
      }
      Object.values(value).forEach(visit);
    }
  };
  visit(s.template.toJSON().Resources);
  return found;
}

describe("crmlake:stage", () => {
  let unstaged: Synth;
  let dev: Synth;
  let test: Synth;
  beforeAll(() => {
    unstaged = synth();
    dev = synth({ "crmlake:stage": "dev" });
    test = synth({ "crmlake:stage": "test" });
  });
  afterAll(() => {
    for (const s of [unstaged, dev, test]) cleanup(s);
  });

  it("names the stack Crmlake unstaged (as before stages) and Crmlake-<stage> otherwise", () => {
    expect(unstaged.stack.stackName).toBe("Crmlake");
    expect(dev.stack.stackName).toBe("Crmlake-dev");
    expect(test.stack.stackName).toBe("Crmlake-test");
    expect(stackId(undefined)).toBe("Crmlake");
  });

  it("keeps the unstaged Glue database and workgroup names, and gives each stage its own", () => {
    const names = (s: Synth) => ({
      database: s.stack.catalog.databaseName,
      workGroup: s.stack.resolve(s.stack.workGroup.name),
    });
    expect(names(unstaged)).toEqual({ database: "crmlake", workGroup: "crmlake" });
    expect(names(dev)).toEqual({ database: "crmlake_dev", workGroup: "crmlake_dev" });
    expect(names(test)).toEqual({ database: "crmlake_test", workGroup: "crmlake_test" });
  });

  it("synthesises two stages whose explicit names are disjoint", () => {
    const a = explicitNames(dev);
    const b = explicitNames(test);
    expect(a.length).toBeGreaterThan(0);
    expect(a.filter((n) => b.includes(n))).toEqual([]);
    expect(a.filter((n) => explicitNames(unstaged).includes(n))).toEqual([]);
  });

  it("names nothing else explicitly: buckets, queues, alarms, the schedule and the topic get generated names", () => {
    // CloudFormation derives a generated name from the stack name, so the stages' differ; Glue table names
    // are unique within their database only.
    const named = explicitNames(dev).map((n) => n.split(" ")[0]);
    expect(new Set(named)).toEqual(new Set(["AWS::Glue::Database", "AWS::Athena::WorkGroup"]));
  });

  it("scopes each stage's Glue grants to its own database and run databases", () => {
    const arns = glueArns(dev);
    expect(arns.length).toBeGreaterThan(0);
    for (const arn of arns) {
      // The catalog, and Athena's `default` database, which every Athena user needs (docs/aws-permissions.md).
      if (arn === "catalog" || arn === "database/default") continue;
      expect(arn).toMatch(/^(database|table|userDefinedFunction)\/crmlake_dev(_run_\*)?(\/|$)/);
    }
  });

  it("keeps every stage's run databases out of every other stage's grant", () => {
    const runDb = (s: Synth) => runDatabaseName(s.stack.catalog.databaseName, "20240601T030000Z-abc");
    const grants = (s: Synth) => new RegExp(`^${s.stack.catalog.runDatabasePrefix}`);
    for (const owner of [unstaged, dev, test]) {
      for (const other of [unstaged, dev, test]) {
        expect(grants(other).test(runDb(owner))).toBe(owner === other);
        expect(grants(other).test(owner.stack.catalog.databaseName)).toBe(false);
      }
    }
  });

  it.each([
    ["Dev", "1 to 12 lower-case letters or digits"],
    ["dev-1", "1 to 12 lower-case letters or digits"],
    ["dev_1", "1 to 12 lower-case letters or digits"],
    ["1dev", "1 to 12 lower-case letters or digits"],
    ["abcdefghijklm", "1 to 12 lower-case letters or digits"],
    ["run", "a name other than run, analysts"],
    ["analysts", "a name other than run, analysts"],
  ])("refuses the stage %j", (value, message) => {
    expect(() => readSettings(new App({ context: { "crmlake:stage": value } }).node)).toThrow(
      `Context crmlake:stage is ${JSON.stringify(value)}; expected ${message}`,
    );
  });

  it("passes cdk-nag on a stage, whose acknowledgments name its own database", () => {
    expect(nagFindings(dev.app)).toEqual([]);
  });

  it("reads an empty stage as none", () => {
    expect(readSettings(new App({ context: { "crmlake:stage": "" } }).node).stage).toBeUndefined();
  });
});
