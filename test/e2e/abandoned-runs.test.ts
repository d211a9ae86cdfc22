/**
 * Issue 12, case 5 (in part): no stuck state. `crmlake run | head -1` used to die on EPIPE half-way and leave
 * its run recorded `running` for ever; a run left `running` by a process that died is now recorded failed by
 * the next run, which holds the lake's run lock.
 */
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { crmlake } from "../helpers/cli.ts";

const BIN = resolve("bin/crmlake.mjs");

async function lakeWithOrders(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "crmlake-abandoned-"));
  await writeFile(
    join(dir, "jan.csv"),
    "order_id,customer_id,ordered_at,amount\no1,c1,2024-01-05,10.00\no2,c2,2024-01-06,20.00\n",
  );
  expect(crmlake(["ingest", "transactions", "jan.csv"], dir).code).toBe(0);
  return dir;
}

const statuses = (dir: string) =>
  crmlake(["query", "select run_id, status from runs order by run_id", "--format", "csv"], dir).stdout;

describe("runs never stay running", () => {
  it("a run piped into head -1 finishes and is recorded succeeded", async () => {
    const dir = await lakeWithOrders();
    const piped = spawnSync(
      "sh",
      ["-c", `"${process.execPath}" "${BIN}" run --as-of 2024-01-31 2>&1 | head -1`],
      {
        cwd: dir,
        encoding: "utf8",
        timeout: 120_000,
      },
    );
    expect(piped.stdout).toMatch(/^run \S+: \d+ model\(s\) as of 2024-01-31\n$/);
    expect(statuses(dir)).toMatch(/^run_id,status\n\S+,succeeded\n$/);
  });

  it("the next run records a run left running by a dead process as failed", async () => {
    const dir = await lakeWithOrders();
    await mkdir(join(dir, "lake", "runs", "log"), { recursive: true });
    await writeFile(
      join(dir, "lake", "runs", "log", "0-dead.json"),
      `${JSON.stringify({ run_id: "0-dead", as_of: "2024-01-31", status: "running", engine: "duckdb", started_at: "2024-02-01 03:00:00.000", finished_at: null, duration_ms: null, models_requested: null, config: "{}", models: [], bytes_scanned: null, cost_usd: null, error: null })}\n`,
    );
    expect(crmlake(["run", "--as-of", "2024-01-31", "--models", "customer_base"], dir).code).toBe(0);
    expect(statuses(dir)).toMatch(/^run_id,status\n0-dead,failed\n\S+,succeeded\n$/);
    const error = crmlake(
      ["query", "select error from runs where run_id = '0-dead'", "--format", "csv"],
      dir,
    ).stdout;
    expect(error).toContain("The process running it ended without recording an outcome");
  });
});
