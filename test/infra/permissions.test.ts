/**
 * Permissions mapped, not guessed (issue 18, item 4): the scoring role's synthesised policy and the map of
 * functions/core/catalogue/aws-permissions.ts (docs/aws-permissions.md) in step. Both directions: every Glue,
 * S3 and KMS action an entry needs is allowed on the resources it names (and no explicit Deny takes it back),
 * and no Glue action is allowed on a Data Catalog resource that no entry justifies. And the map covers the
 * code: every statement builder of the Athena adapter and every Glue command of the publisher has an entry.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  GLUE_DATABASE_LEVEL_ACTIONS,
  GLUE_SCOPE_COVERS,
  type GlueScope,
  OPERATOR_ALSO_GRANTED,
  OPERATOR_PERMISSIONS,
  type OperatorResource,
  PERMISSION_SOURCES,
  SCORING_PERMISSIONS,
  UNSENT_GLUE_CALLS,
  UNSENT_STATEMENTS,
} from "../../functions/core/catalogue/aws-permissions.ts";
import { sql } from "../../functions/engines/athena/sql.ts";
import { runDatabaseName } from "../../functions/engines/athena/warehouse.ts";
import { PROJECT_ROOT } from "../../infra/config.ts";
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

const GLUE = "arn:<AWS::Partition>:glue:<AWS::Region>:<AWS::AccountId>";

/** An IAM resource or action pattern (`*`, `?`) as a regular expression. */
function pattern(text: string): RegExp {
  const escaped = text
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${escaped}$`, "i");
}

const strings = (value: unknown): string[] => list(value as unknown[]).map(flat);

interface Grants {
  readonly statements: readonly Statement[];
  /** Whether the role may call `action` on `resource` (an Allow names both, no Deny takes it back). */
  allows(action: string, resource: string): boolean;
}

function grantsOf(statements: readonly Statement[]): Grants {
  const matches = (patterns: string[], text: string) => patterns.some((p) => pattern(p).test(text));
  const names = (st: Statement, key: "Action" | "Resource" | "NotResource") =>
    strings((st as unknown as Record<string, unknown>)[key] ?? []);
  const applies = (st: Statement, action: string, resource: string) =>
    matches(names(st, "Action"), action) &&
    ("NotResource" in st
      ? !matches(names(st, "NotResource"), resource)
      : matches(names(st, "Resource"), resource));
  return {
    statements,
    allows: (action, resource) =>
      statements.some((st) => st.Effect === "Allow" && applies(st, action, resource)) &&
      !statements.some(
        (st) => st.Effect === "Deny" && st.Condition === undefined && applies(st, action, resource),
      ),
  };
}

describe("the scoring role and the permission map (docs/aws-permissions.md)", () => {
  let s: Synth;
  let grants: Grants;
  /** One concrete ARN of each kind of Data Catalog resource, as the synthesised policy spells ARNs. */
  let arnOf: Record<GlueScope, string>;
  let withLatest: boolean;

  beforeAll(() => {
    s = synth();
    grants = grantsOf(statementsOf(s, logicalId(s, s.stack.scoring.role)));
    const db = s.stack.catalog.databaseName;
    const tables = [...s.stack.catalog.tables.keys()];
    const model = s.stack.catalog.registeredPartitionTables[0] ?? "";
    const latest = tables.find((t) => t.endsWith("_latest"));
    withLatest = latest !== undefined;
    const runDb = runDatabaseName(db, "20240131T030000Z-abc123");
    arnOf = {
      catalog: `${GLUE}:catalog`,
      "default-database": `${GLUE}:database/default`,
      "stack-database": `${GLUE}:database/${db}`,
      "stack-tables": `${GLUE}:table/${db}/transactions`,
      "model-tables": `${GLUE}:table/${db}/${model}`,
      "latest-tables": `${GLUE}:table/${db}/${latest ?? `${model}_latest`}`,
      "run-databases": `${GLUE}:database/${runDb}`,
      "run-tables": `${GLUE}:table/${runDb}/transactions__pinned`,
      "run-functions": `${GLUE}:userDefinedFunction/${runDb}/f`,
    };
    expect(tables).toContain("transactions");
    expect(model).not.toBe("");
  });
  afterAll(() => cleanup(s));

  const required = () => SCORING_PERMISSIONS.filter((e) => e.onlyWithLatestTables !== true || withLatest);

  it("allows every Glue action each entry needs, on every resource it names", () => {
    const missing: string[] = [];
    for (const entry of required()) {
      for (const need of entry.glue) {
        for (const action of need.actions) {
          for (const scope of need.on) {
            if (!grants.allows(action, arnOf[scope]))
              missing.push(`${entry.operation}: ${action} on ${scope}`);
          }
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it("allows no Glue action on a Data Catalog resource that no entry justifies", () => {
    const justified = new Set<string>();
    for (const entry of SCORING_PERMISSIONS) {
      for (const need of entry.glue) {
        for (const action of need.actions) {
          for (const scope of need.on) {
            for (const covered of [scope, ...GLUE_SCOPE_COVERS[scope]]) justified.add(`${action} ${covered}`);
          }
        }
      }
    }
    const unjustified = new Set<string>();
    for (const st of grants.statements.filter((x) => x.Effect === "Allow")) {
      const actions = strings(st.Action).filter((a) => a.startsWith("glue:"));
      expect(
        actions.filter((a) => a.includes("*")),
        "no wildcard Glue actions",
      ).toEqual([]);
      for (const action of actions) {
        for (const resource of strings(st.Resource)) {
          for (const [scope, arn] of Object.entries(arnOf)) {
            // A database-level action named beside table ARNs grants nothing on them.
            const inert =
              GLUE_DATABASE_LEVEL_ACTIONS.includes(action) && /:(table|userDefinedFunction)\//.test(arn);
            if (!inert && pattern(resource).test(arn) && !justified.has(`${action} ${scope}`)) {
              unjustified.add(`${action} on ${scope} (${resource})`);
            }
          }
        }
      }
    }
    expect([...unjustified].sort()).toEqual([]);
  });

  it("allows the S3 and KMS actions the entries need", () => {
    const actions = new Set(
      grants.statements.filter((st) => st.Effect === "Allow").flatMap((st) => strings(st.Action)),
    );
    const needed = required().flatMap((e) => e.data.flatMap((d) => d.actions));
    expect(needed.filter((a) => !actions.has(a))).toEqual([]);
    expect(needed).toEqual(expect.arrayContaining(["s3:PutObject", "kms:GenerateDataKey", "s3:ListBucket"]));
  });

  it("maps every statement the Athena adapter can build, and every Glue command the publisher sends", () => {
    const mapped = new Set(
      SCORING_PERMISSIONS.filter((e) => e.kind === "athena-statement").flatMap((e) => e.sentBy),
    );
    for (const builder of Object.keys(sql)) {
      expect(mapped.has(builder) || builder in UNSENT_STATEMENTS, `sql.${builder} is not in the map`).toBe(
        true,
      );
    }
    for (const builder of [...mapped, ...Object.keys(UNSENT_STATEMENTS)])
      expect(Object.keys(sql)).toContain(builder);

    const publisher = readFileSync(join(PROJECT_ROOT, "functions", "storage", "glue-partitions.ts"), "utf8");
    const commands = new Set([...publisher.matchAll(/new (\w+Command)\(/g)].map((m) => m[1] ?? ""));
    expect(commands.size).toBeGreaterThan(0);
    const calls = new Set(SCORING_PERMISSIONS.filter((e) => e.kind === "glue-api").flatMap((e) => e.sentBy));
    expect([...commands].filter((c) => !calls.has(c) && !(c in UNSENT_GLUE_CALLS))).toEqual([]);
    // What the scoring run does not send, its role does not get.
    for (const command of Object.keys(UNSENT_GLUE_CALLS)) {
      const action = `glue:${command.replace(/Command$/, "")}`;
      expect(grants.allows(action, arnOf["model-tables"]), action).toBe(false);
    }
    // The publisher's Glue calls are the map's glue-api entries, action for action.
    for (const entry of SCORING_PERMISSIONS.filter((e) => e.kind === "glue-api")) {
      const actions = entry.glue.flatMap((g) => g.actions);
      for (const command of entry.sentBy)
        expect(actions).toContain(`glue:${command.replace(/Command$/, "")}`);
    }
  });

  it("cites an AWS page for every entry, and says where the documentation is silent", () => {
    for (const entry of SCORING_PERMISSIONS) {
      expect(entry.sources.length, entry.operation).toBeGreaterThan(0);
      for (const source of entry.sources) expect(PERMISSION_SOURCES[source]).toMatch(/^https:\/\//);
      if (entry.glue.some((g) => !g.documented)) expect(entry.note, entry.operation).toBeDefined();
    }
    const doc = readFileSync(join(PROJECT_ROOT, "docs", "aws-permissions.md"), "utf8");
    for (const url of Object.values(PERMISSION_SOURCES)) expect(doc).toContain(url);
    for (const entry of SCORING_PERMISSIONS) {
      for (const action of entry.glue.flatMap((g) => g.actions)) expect(doc).toContain(action);
    }
    expect(readFileSync(join(PROJECT_ROOT, "docs", "deploying.md"), "utf8")).toContain(
      "(aws-permissions.md)",
    );
  });

  it("would see a missing grant and an unjustified one (the checks can fail)", () => {
    const without = grantsOf(
      grants.statements.map((st) =>
        st.Effect === "Allow"
          ? { ...st, Action: strings(st.Action).filter((a) => a !== "glue:DeleteDatabase") }
          : st,
      ),
    );
    expect(without.allows("glue:DeleteDatabase", arnOf["run-databases"])).toBe(false);
    expect(grants.allows("glue:DeleteDatabase", arnOf["run-databases"])).toBe(true);
    // The stack's own database and tables stay CloudFormation's.
    expect(grants.allows("glue:DeleteTable", arnOf["model-tables"])).toBe(false);
    expect(grants.allows("glue:DeleteDatabase", arnOf["stack-database"])).toBe(false);
    expect(grants.allows("glue:CreatePartition", arnOf["stack-tables"])).toBe(false);
  });
});

describe("the operator policy and its permission map (OPERATOR_PERMISSIONS)", () => {
  let s: Synth;
  let grants: Grants;
  let resourceOf: (place: OperatorResource) => string;

  beforeAll(() => {
    s = synth();
    const doc = resourceProps(s, s.stack.operatorPolicy).PolicyDocument as { Statement: Statement[] };
    grants = grantsOf(doc.Statement);
    const stack = s.stack;
    const token = (value: string) => flat(stack.resolve(value));
    const db = stack.catalog.databaseName;
    const model = stack.catalog.registeredPartitionTables[0] ?? "";
    const fixed: Record<Exclude<OperatorResource, `lake:${string}`>, string> = {
      "cloudformation-stack": `arn:<AWS::Partition>:cloudformation:<AWS::Region>:<AWS::AccountId>:stack/${stack.stackName}/0a1b2c3d`,
      "analyst-workgroup": `arn:<AWS::Partition>:athena:<AWS::Region>:<AWS::AccountId>:workgroup/${token(stack.analystWorkGroup.ref)}`,
      catalog: `${GLUE}:catalog`,
      "stack-database": `${GLUE}:database/${db}`,
      "stack-tables": `${GLUE}:table/${db}/transactions`,
      "model-tables": `${GLUE}:table/${db}/${model}`,
      "latest-tables": `${GLUE}:table/${db}/${model}_latest`,
      "lake-bucket": token(stack.lake.bucketArn),
      "landing:": `${token(stack.landing.bucketArn)}/transactions/2024-01.csv`,
      "landing-bucket": token(stack.landing.bucketArn),
      "results:analysts/": `${token(stack.results.bucketArn)}/analysts/q-1.csv`,
      "results-bucket": token(stack.results.bucketArn),
      "data-key": token(stack.dataKey.keyArn),
      "message-key": token(stack.messageKey.keyArn),
      "scoring-function": token(stack.scoring.function.functionArn),
      "ingest-function": token(stack.ingest.function.functionArn),
      "scoring-logs": token(stack.scoring.logGroup.logGroupArn),
      "ingest-logs": token(stack.ingest.logGroup.logGroupArn),
      "ingest-queue": token(stack.ingestQueue.queueArn),
      "ingest-dead-letters": token(stack.ingestDeadLetters.queueArn),
      "scoring-dead-letters": token(stack.scoringDeadLetters.queueArn),
      alarms: token(Object.values(stack.alarms)[0]?.alarmArn ?? ""),
      dashboard: `arn:<AWS::Partition>:cloudwatch::<AWS::AccountId>:dashboard/${token(stack.dashboard.dashboardName)}`,
      any: "*",
    };
    resourceOf = (place) => {
      if (place.startsWith("lake:")) {
        const key = place.slice("lake:".length);
        return `${token(stack.lake.bucketArn)}/${key.endsWith("/") ? `${key}example` : key}`;
      }
      return fixed[place as keyof typeof fixed];
    };
    expect(model).not.toBe("");
  });
  afterAll(() => cleanup(s));

  it("allows every action each command needs, on every resource it names", () => {
    const missing: string[] = [];
    for (const entry of OPERATOR_PERMISSIONS) {
      for (const need of entry.needs) {
        for (const action of need.actions) {
          for (const place of need.on) {
            if (!grants.allows(action, resourceOf(place)))
              missing.push(`${entry.command}: ${action} on ${place}`);
          }
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it("allows no action that no command needs, and no Glue write beyond the model and latest tables", () => {
    const needed = new Set(OPERATOR_PERMISSIONS.flatMap((e) => e.needs.flatMap((n) => n.actions)));
    const allowed = grants.statements
      .filter((st) => st.Effect === "Allow")
      .flatMap((st) => strings(st.Action));
    const extras = allowed.filter((a) => !needed.has(a));
    // Granted beside what the commands send, each with its reason in OPERATOR_ALSO_GRANTED.
    expect([...new Set(extras)].sort()).toEqual(Object.keys(OPERATOR_ALSO_GRANTED).sort());
    expect(allowed.filter((a) => a.includes("*"))).toEqual([]);
    const glue = (action: string, place: OperatorResource) => grants.allows(action, resourceOf(place));
    expect(glue("glue:DeletePartition", "model-tables")).toBe(true);
    expect(glue("glue:DeletePartition", "stack-tables")).toBe(false); // transactions: projected
    expect(glue("glue:CreatePartition", "latest-tables")).toBe(false);
    expect(glue("glue:UpdateTable", "latest-tables")).toBe(true);
    expect(glue("glue:UpdateTable", "model-tables")).toBe(false);
    expect(glue("glue:DeleteTable", "stack-tables")).toBe(false);
    expect(grants.allows("s3:GetObject", resourceOf("lake:quarantine/"))).toBe(true);
  });

  it("has an entry for every crmlake command that takes --stack and every SDK command of the stack backend", () => {
    const commands = join(PROJECT_ROOT, "functions", "cli", "commands");
    const withStack = readdirSync(commands)
      .filter((f) => f.endsWith(".ts") && readFileSync(join(commands, f), "utf8").includes("stackOption("))
      .map((f) => f.replace(/\.ts$/, ""));
    expect(withStack.length).toBeGreaterThan(0);
    const mapped = new Set(OPERATOR_PERMISSIONS.flatMap((e) => e.cli ?? []));
    expect(withStack.filter((c) => !mapped.has(c))).toEqual([]);
    const backend = readFileSync(join(PROJECT_ROOT, "functions", "backends", "aws-stack.ts"), "utf8");
    const sent = new Set([...backend.matchAll(/new (\w+Command)\(/g)].map((m) => m[1] ?? ""));
    const calls = new Set(OPERATOR_PERMISSIONS.flatMap((e) => e.calls));
    expect([...sent].filter((c) => !calls.has(c))).toEqual([]);
    for (const entry of OPERATOR_PERMISSIONS) {
      expect(entry.sources.length, entry.command).toBeGreaterThan(0);
      for (const source of entry.sources) expect(PERMISSION_SOURCES[source]).toMatch(/^https:\/\//);
    }
  });

  it("keeps the operator policy within IAM's 6,144-character limit for a managed policy", () => {
    // IAM counts the resolved document without whitespace; every reference resolved to a long value (a KMS key
    // ARN in the longest partition and region name is ~90 characters), as the scoring role's check does.
    const resolved = JSON.stringify(resourceProps(s, s.stack.operatorPolicy).PolicyDocument, (_key, value) =>
      value !== null &&
      typeof value === "object" &&
      ("Ref" in value || "Fn::GetAtt" in value || "Fn::Join" in value)
        ? flat(value)
            .replaceAll("<AWS::Partition>", "aws-us-gov")
            .replaceAll("<AWS::Region>", "ap-southeast-2")
            .replaceAll("<AWS::AccountId>", "123456789012")
            .replace(/<[A-Za-z0-9]+(\.Arn)?>/g, "x".repeat(90))
        : value,
    );
    expect(resolved.length).toBeLessThan(6144 - 100);
  });

  it("is a role of this account's principals with the managed policy, both stack outputs, cdk-nag clean", () => {
    const role = resourceProps(s, s.stack.operatorRole);
    expect(JSON.stringify(role.AssumeRolePolicyDocument)).toContain("AWS::AccountId");
    expect(role.ManagedPolicyArns).toEqual([{ Ref: logicalId(s, s.stack.operatorPolicy) }]);
    for (const output of ["OperatorRoleArn", "OperatorPolicyArn"]) s.template.hasOutput(output, {});
    expect(nagFindings(s.app)).toEqual([]);
  });
});
