/**
 * Issue 11, case 2 and the repair step: files no committed drop lists are never read (a stray copy, a file
 * written with `crmlake query … COPY`, an attempt that was killed), `crmlake doctor` reports them and what
 * else a killed process leaves (a run left "running", a stale claim, temporary files), and `--repair` heals.
 */
import { copyFile, mkdir, mkdtemp, readdir, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { crmlake } from "../helpers/cli.ts";

/** Makes a file look written an hour ago (doctor leaves anything younger than 15 minutes alone). */
async function age(path: string): Promise<void> {
  const then = new Date(Date.now() - 60 * 60 * 1000);
  await utimes(path, then, then);
}

describe("files no committed drop lists", () => {
  it("are never read, are reported by crmlake doctor, and removed by --repair", async () => {
    const dir = await mkdtemp(join(tmpdir(), "crmlake-doctor-"));
    await writeFile(
      join(dir, "jan.csv"),
      "order_id,customer_id,ordered_at,amount\no1,c1,2024-01-05,10.00\no2,c2,2024-01-07,5.00\n",
    );
    expect(crmlake(["ingest", "transactions", "jan.csv"], dir).code).toBe(0);
    const month = join(dir, "lake", "curated", "transactions", "order_month=2024-01");
    const [file] = await readdir(month);
    // A copy beside the real file, and a file a user wrote into curated/ through crmlake query.
    await copyFile(join(month, file ?? ""), join(month, "copy.parquet"));
    const copied = crmlake(
      ["query", `COPY (SELECT * FROM transactions) TO '${join(month, "written.parquet")}' (FORMAT parquet)`],
      dir,
    );
    expect(copied.code).toBe(0);
    const count = () =>
      crmlake(["query", "select count(*) as n from transactions", "--format", "csv"], dir).stdout;
    expect(count()).toBe("n\n2\n");

    // Young files are left alone: an ingest may still be writing them.
    expect(crmlake(["doctor"], dir)).toMatchObject({
      code: 0,
      stdout: expect.stringContaining("is healthy"),
    });
    await age(join(month, "copy.parquet"));
    await age(join(month, "written.parquet"));
    const report = crmlake(["doctor"], dir);
    expect(report.code).toBe(1);
    expect(report.stdout).toContain(
      "found  orphan      curated/transactions/order_month=2024-01/copy.parquet",
    );
    expect(report.stdout).toContain(
      "found  orphan      curated/transactions/order_month=2024-01/written.parquet",
    );
    expect(report.stdout).toContain("2 finding(s) in lake. Run crmlake doctor --repair to heal them.");

    const repaired = crmlake(["doctor", "--repair"], dir);
    expect(repaired.code).toBe(0);
    expect(repaired.stdout).toContain("Repaired 2 finding(s) in lake.");
    expect((await readdir(month)).sort()).toEqual([file]);
    expect(count()).toBe("n\n2\n");
  });

  it("a run left running by a dead process, a stale claim and temporary files are reported and repaired", async () => {
    const dir = await mkdtemp(join(tmpdir(), "crmlake-doctor-"));
    await writeFile(join(dir, "jan.csv"), "order_id,customer_id,ordered_at,amount\no1,c1,2024-01-05,10.00\n");
    expect(crmlake(["ingest", "transactions", "jan.csv"], dir).code).toBe(0);
    const lake = join(dir, "lake");
    await mkdir(join(lake, "runs", "log"), { recursive: true });
    await writeFile(
      join(lake, "runs", "log", "dead.json"),
      `${JSON.stringify({ run_id: "dead", as_of: "2024-01-31", status: "running", engine: "duckdb", started_at: "2024-02-01 03:00:00.000", finished_at: null, duration_ms: null, models_requested: null, config: "{}", models: [], bytes_scanned: null, cost_usd: null, error: null })}\n`,
    );
    const claim = join(lake, "ledger", "content", "transactions", `${"f".repeat(64)}.json`);
    await writeFile(
      claim,
      `${JSON.stringify({ drop_id: "gone", version: "v", lease_until: "2024-01-01T00:00:00.000Z" })}\n`,
    );
    const tmp = join(lake, "ledger", "drops", "x.json.tmp-99999-1");
    await writeFile(tmp, "{");
    await age(tmp);

    const report = crmlake(["doctor"], dir);
    expect(report.code).toBe(1);
    expect(report.stdout).toMatch(/found +stuck_run +dead: recorded running since 2024-02-01 03:00:00.000/);
    expect(report.stdout).toMatch(
      /found +stale_claim +ledger\/content\/transactions\/f{64}\.json: claimed by gone/,
    );
    expect(report.stdout).toMatch(/found +temporary .*x\.json\.tmp-99999-1/);

    expect(crmlake(["doctor", "--repair"], dir).code).toBe(0);
    const runs = crmlake(["query", "select run_id, status, error from runs", "--format", "json"], dir).stdout;
    expect(JSON.parse(runs)).toMatchObject({ run_id: "dead", status: "failed" });
    expect(crmlake(["doctor"], dir)).toMatchObject({
      code: 0,
      stdout: expect.stringContaining("is healthy"),
    });
  });
});
