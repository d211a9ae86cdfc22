/**
 * Builds the crmlake app on a CDK App: the stack with the settings read from context, and cdk-nag's
 * AwsSolutions checks as a policy-validation plugin, so that a finding nobody acknowledged with a reason
 * fails the synth. infra/app.ts runs it; the tests build the same app. Asynchronous: it reads the SQL models'
 * headers first.
 */
import { type App, Tags, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { PROJECT_ROOT, readSettings, stackId } from "./config.ts";
import { CrmlakeStack, loadScoringModels } from "./stacks/crmlake-stack.ts";

export async function buildCrmlakeApp(app: App): Promise<CrmlakeStack> {
  const settings = readSettings(app.node);
  // The stage names the stack, and the stack's name every account-unique name (crmlake:stage).
  const stack = new CrmlakeStack(app, stackId(settings.stage), {
    description:
      settings.stage === undefined
        ? "crmlake: serverless analytical CRM warehouse (S3, Lambda, Athena)"
        : `crmlake (stage ${settings.stage}): serverless analytical CRM warehouse (S3, Lambda, Athena)`,
    settings,
    projectRoot: PROJECT_ROOT,
    // The model headers declare the model output tables; reading them is asynchronous (node:fs/promises).
    models: await loadScoringModels(PROJECT_ROOT),
  });
  Tags.of(app).add("project", "crmlake");
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return stack;
}
