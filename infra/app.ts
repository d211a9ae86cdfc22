/**
 * The CDK app: `npx cdk synth` / `npx cdk deploy` (cdk.json runs this file with tsx). Settings come from CDK
 * context (`crmlake:*`, see infra/config.ts).
 */
import { App } from "aws-cdk-lib";
import { buildCrmlakeApp } from "./crmlake-app.ts";

await buildCrmlakeApp(new App());
