/**
 * `crmlake aws smoke-test` without AWS: the argument errors it gives before any AWS call. The smoke test
 * itself runs against moto (test/moto/smoke-test.test.ts).
 */
import { describe, expect, it } from "vitest";
import { type Command, parseCommandArgs } from "../../functions/cli/command.ts";
import { awsCommand } from "../../functions/cli/commands/aws.ts";

function run(command: Command, argv: string[]): Promise<number> {
  return command.run(parseCommandArgs(command, argv));
}

describe("crmlake aws", () => {
  it("needs the smoke-test subcommand and --stack, and a sane --customers and --timeout", async () => {
    await expect(run(awsCommand, [])).rejects.toThrow(
      "Missing subcommand. Usage: crmlake aws smoke-test --stack NAME",
    );
    await expect(run(awsCommand, ["deploy"])).rejects.toThrow('Unknown subcommand "deploy"');
    await expect(run(awsCommand, ["smoke-test"])).rejects.toThrow("Missing --stack NAME");
    await expect(run(awsCommand, ["smoke-test", "--stack", "bad name"])).rejects.toThrow(
      "is not a CloudFormation stack name",
    );
    await expect(
      run(awsCommand, ["smoke-test", "--stack", "Crmlake", "--customers", "5000"]),
    ).rejects.toThrow('--customers "5000" is not a whole number from 1 to 1000');
    await expect(run(awsCommand, ["smoke-test", "--stack", "Crmlake", "--timeout", "0"])).rejects.toThrow(
      '--timeout "0" is not a whole number from 1 to 86400',
    );
  });
});
