import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { parseCommandArgs } from "../../functions/cli/command.ts";
import { runCommand } from "../../functions/cli/commands/run.ts";
import { makeLake, read, removeLake } from "../sql/helpers.ts";

let lake: string;

beforeEach(async () => {
  lake = await makeLake({
    transactions: [{ order_id: "o1", customer_id: "c1", ordered_at: "2024-01-05", amount: "10.00" }],
  });
});

afterEach(async () => {
  vi.restoreAllMocks();
  await removeLake(lake);
});

function run(argv: string[]): Promise<number> {
  return runCommand.run(parseCommandArgs(runCommand, argv));
}

describe("crmlake run", () => {
  it("runs the selected models as of the latest order date and says where to query them", async () => {
    const out = vi.spyOn(process.stdout, "write").mockReturnValue(true);
    vi.spyOn(process.stderr, "write").mockReturnValue(true);
    expect(await run(["--lake", lake, "--models", "customer_rfm"])).toBe(0);
    expect(String(out.mock.calls.at(-1)?.[0])).toMatch(
      /^Run \S+ as of 2024-01-05: 11 models \(5 tables\) in \d+\.\d s, published to .*\. Query them with: crmlake query "select \* from customer_rfm_latest"/,
    );
    expect((await read(lake, "customer_rfm", "2024-01-05", "customer_id")).map((r) => r.rfm_segment)).toEqual(
      ["Lost"],
    );
  });

  it("rejects positional arguments and an empty --models", async () => {
    await expect(run(["customer_rfm", "--lake", lake])).rejects.toThrow(
      'crmlake run takes no positional arguments (got "customer_rfm"). Use --models a,b to choose models.',
    );
    await expect(run(["--lake", lake, "--models", " , "])).rejects.toThrow(
      "--models needs at least one model name, e.g. --models customer_rfm",
    );
  });
});
