/**
 * What the moto tests of the command line on a deployment share: the environment that points the AWS SDK at
 * moto and nowhere else, and a CloudFormation template like the stack's where the command line is concerned
 * (its outputs, and a scoring Lambda to invoke).
 */
import { STACK_OUTPUTS } from "../../functions/core/catalogue/stack-outputs.ts";

/** Credentials and Region for moto; the SDK's credential chain kept off the machine's own files and metadata. */
export const MOTO_CLI_ENV: Readonly<Record<string, string | undefined>> = {
  AWS_REGION: "us-east-1",
  AWS_ACCESS_KEY_ID: "testing",
  AWS_SECRET_ACCESS_KEY: "testing",
  AWS_SESSION_TOKEN: undefined,
  AWS_PROFILE: undefined,
  CRMLAKE_S3_ENDPOINT: undefined,
  AWS_EC2_METADATA_DISABLED: "true",
  AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/credentials",
  AWS_CONFIG_FILE: "/nonexistent/config",
};

/** Sets (or, for undefined, removes) environment variables. */
export function setEnv(values: Readonly<Record<string, string | undefined>>): void {
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
}

/**
 * A template with the given stack outputs (by their catalogue keys) and a scoring Lambda (moto answers an
 * invocation with its event; it cannot run code without Docker), named by the scoringFunction output.
 */
export function stackTemplate(outputs: Partial<Record<keyof typeof STACK_OUTPUTS, string>>): object {
  const declared = Object.fromEntries(
    Object.entries(outputs).map(([key, value]) => [
      STACK_OUTPUTS[key as keyof typeof STACK_OUTPUTS],
      { Value: value },
    ]),
  );
  return {
    Resources: {
      ScoringRole: {
        Type: "AWS::IAM::Role",
        Properties: {
          AssumeRolePolicyDocument: {
            Version: "2012-10-17",
            Statement: [
              { Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" },
            ],
          },
        },
      },
      Scoring: {
        Type: "AWS::Lambda::Function",
        Properties: {
          Runtime: "nodejs20.x",
          Handler: "index.handler",
          Role: { "Fn::GetAtt": ["ScoringRole", "Arn"] },
          Code: { ZipFile: "exports.handler = async (event) => event;" },
        },
      },
    },
    Outputs: { ...declared, [STACK_OUTPUTS.scoringFunction]: { Value: { Ref: "Scoring" } } },
  };
}
