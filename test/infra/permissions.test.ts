/**
 * Permissions mapped, not guessed (issue 18, item 4): the scoring role's synthesised policy and the map of
 * functions/core/catalogue/aws-permissions.ts (docs/aws-permissions.md) in step. Both directions: every Glue,
 * S3 and KMS action an entry needs is allowed on the resources it names (and no explicit Deny takes it back),
 * and no Glue action is allowed on a Data Catalog resource that no entry justifies. And the map covers the
 * code: every statement builder of the Athena adapter and every Glue command of the publisher has an entry.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  GLUE_DATABASE_LEVEL_ACTIONS,
  GLUE_SCOPE_COVERS,
  type GlueScope,
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
