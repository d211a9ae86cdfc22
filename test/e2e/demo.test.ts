import { mkdir, mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { crmlake } from "../helpers/cli.ts";

describe("crmlake demo", () => {
  it("generates, ingests, runs and reports, catching exactly the faults the generator injected", async () => {
    const dir = await mkdtemp(join(tmpdir(), "crmlake-demo-"));
    const run = crmlake(["demo", "--dir", dir, "--customers", "800"], process.cwd());
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const faults = /Faults caught \/ injected by the generator: (.*)/.exec(run.stdout)?.[1] ?? "";
    const pairs = [...faults.matchAll(/([a-z_ ]+) (\d+)\/(\d+)/g)].map((m) => [
      m[1]?.trim(),
      Number(m[2]),
      Number(m[3]),
    ]);
    expect(pairs.map((p) => p[0])).toEqual([
      "missing_customer_id",
      "bad_timestamp",
      "bad_amount",
      "malformed_row",
      "duplicate drops",
    ]);
    for (const [code, caught, injected] of pairs)
      expect({ code, caught }).toEqual({ code, caught: injected });

    const html = await readFile(join(dir, "report.html"), "utf8");
    for (const section of [
      "The customer pyramid",
      "The whale curve",
      "Monthly cohorts",
      "Current against future value",
      "Treated against control",
      "Data quality",
    ]) {
      expect(html).toContain(section);
    }
    expect(html).not.toMatch(/NaN|undefined|\[object Object\]/);
    // The generator's three campaigns, each with its quadrant of the matrix and its actions.
    expect(html.match(/<td>CMP00[1-3]<\/td>/g)).toHaveLength(3);
    for (const quadrant of ["best", "invest", "retain", "worst"])
      expect(html).toContain(`<td>${quadrant}</td>`);
    expect(run.stdout).toMatch(/Customer report as of 2024-12-31\n {2}• The top 5 % of active customers/);
  });
});

describe("crmlake demo in a folder it does not own", () => {
  it("refuses --dir . where ./lake is a real lake, and deletes nothing", async () => {
    const cwd = await mkdtemp(join(tmpdir(), "crmlake-demo-cwd-"));
    await mkdir(join(cwd, "lake", "ledger", "drops"), { recursive: true });
    await writeFile(join(cwd, "lake", "ledger", "drops", "real.json"), "{}\n");
    const run = crmlake(["demo", "--dir", "."], cwd);
    // A usage error: exit 2, one line naming the folder and why.
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^crmlake demo: \. already holds \.\/lake, which crmlake demo did not create/);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(await readFile(join(cwd, "lake", "ledger", "drops", "real.json"), "utf8")).toBe("{}\n");
    expect(await readdir(cwd)).toEqual(["lake"]);
  });

  it("replaces its own earlier demo in the same folder", async () => {
    const dir = await mkdtemp(join(tmpdir(), "crmlake-demo-twice-"));
    for (let i = 0; i < 2; i++) {
      const run = crmlake(["demo", "--dir", dir, "--customers", "200"], process.cwd());
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
    }
    expect((await readdir(dir)).sort()).toEqual([".crmlake-demo", "drops", "lake", "report.html"]);
  });
});
