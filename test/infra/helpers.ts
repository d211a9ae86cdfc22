/**
 * Synthesises the crmlake stack the way `cdk synth` does: the feature flags of cdk.json, the settings read
 * from context by infra/config.ts, plus the test's own context. Placeholder code unless a test asks for real
 * bundling (which takes seconds, not milliseconds).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, CfnElement, Validations } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks } from "cdk-nag";
import type { IConstruct } from "constructs";
import { PROJECT_ROOT, readSettings, stackId } from "../../infra/config.ts";
import { CrmlakeStack, type CrmlakeStackProps, loadScoringModels } from "../../infra/stacks/crmlake-stack.ts";

/** The context of cdk.json (feature flags): what `cdk synth` gives the app. */
export const CDK_JSON_CONTEXT = (
  JSON.parse(readFileSync(join(PROJECT_ROOT, "cdk.json"), "utf8")) as { context: Record<string, unknown> }
).context;

/** The project's SQL models, as the app reads them: their headers declare the model output tables. */
export const MODELS = await loadScoringModels(PROJECT_ROOT);

export interface Synth {
  readonly outdir: string;
  readonly app: App;
  readonly stack: CrmlakeStack;
  readonly template: Template;
}

export function synth(
  context: Record<string, unknown> = {},
  options: {
    entries?: CrmlakeStackProps["entries"];
    outdir?: string;
    models?: CrmlakeStackProps["models"];
  } = {},
): Synth {
  const outdir = options.outdir ?? mkdtempSync(join(tmpdir(), "crmlake-cdk-"));
  const app = new App({
    outdir,
    context: { ...CDK_JSON_CONTEXT, "crmlake:placeholderCode": true, ...context },
  });
  Validations.of(app).acknowledge({
    id: "@crmlake/placeholder-code",
    reason: "Assertion tests synthesise placeholder code on purpose and deploy nothing.",
  });
  const settings = readSettings(app.node);
  const stack = new CrmlakeStack(app, stackId(settings.stage), {
    settings,
    projectRoot: PROJECT_ROOT,
    models: options.models ?? MODELS,
    ...(options.entries ? { entries: options.entries } : {}),
  });
  return { outdir, app, stack, template: Template.fromStack(stack) };
}

/** Removes the cloud assembly a synth wrote (real bundling writes ~70 MB per DuckDB asset). */
export function cleanup(synthesis: Synth | undefined): void {
  if (synthesis) rmSync(synthesis.outdir, { recursive: true, force: true });
}

/** The logical id CloudFormation knows a construct's resource by. */
export function logicalId(synthesis: Synth, construct: IConstruct): string {
  const element = construct instanceof CfnElement ? construct : construct.node.defaultChild;
  if (!(element instanceof CfnElement))
    throw new Error(`${construct.node.path} has no CloudFormation resource`);
  return synthesis.stack.resolve(synthesis.stack.getLogicalId(element)) as string;
}

/** The properties of a construct's resource in the synthesised template ({} when it has none). */
export function resourceProps(synthesis: Synth, construct: IConstruct): Record<string, unknown> {
  const resources = synthesis.template.toJSON().Resources as Record<
    string,
    { Properties?: Record<string, unknown> }
  >;
  return resources[logicalId(synthesis, construct)]?.Properties ?? {};
}

export interface Statement {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Action: string | string[];
  Resource: unknown;
  /** Instead of Resource: every resource but these (a Deny of "all but", e.g. OnlyLatestTablesAreUpdated). */
  NotResource?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
  Principal?: unknown;
}

/** Every statement of the inline policies (AWS::IAM::Policy) attached to a role, by its logical id. */
export function statementsOf(synthesis: Synth, roleLogicalId: string): Statement[] {
  const resources = synthesis.template.toJSON().Resources as Record<
    string,
    { Type: string; Properties: Record<string, unknown> }
  >;
  return Object.values(resources)
    .filter((r) => r.Type === "AWS::IAM::Policy")
    .filter((r) => list(r.Properties.Roles as unknown[]).some((ref) => flat(ref) === `<${roleLogicalId}>`))
    .flatMap((r) => (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

/** Renders CloudFormation intrinsics as text: `{Ref: X}` → `<X>`, `{Fn::GetAtt: [X, Y]}` → `<X.Y>`. */
export function flat(value: unknown): string {
  if (typeof value === "string") return value;
  if (value !== null && typeof value === "object") {
    const v = value as Record<string, unknown>;
    if (typeof v.Ref === "string") return `<${v.Ref}>`;
    const getAtt = v["Fn::GetAtt"];
    if (Array.isArray(getAtt)) return `<${getAtt.join(".")}>`;
    const join = v["Fn::Join"];
    if (Array.isArray(join)) return (join[1] as unknown[]).map(flat).join(join[0] as string);
  }
  return JSON.stringify(value);
}

/** A CloudFormation value that is one item or a list of them, as a list. */
export const list = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

/** cdk-nag's AwsSolutions findings under a construct, as `<severity> <rule> at <path>`. */
export function nagFindings(scope: IConstruct): string[] {
  return new AwsSolutionsChecks(undefined, { verbose: false })
    .validateScope(scope)
    .violations.flatMap((v) =>
      v.violatingResources.map((r) => `${v.severity} ${v.ruleName} at ${r.constructPath}`),
    );
}
