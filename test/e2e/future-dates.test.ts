/**
 * Issue 12, case 4: the as-of date cannot be hijacked. Through the CLI: a row dated in the future beyond the
 * tolerance is quarantined (future_date) and moves nothing; the default as-of of `run` and of the report is
 * never after today; `run --as-of` after today is refused unless allowed; `runs delete --as-of` removes a
 * published as-of and "latest" falls back to the greatest one left.
 *
 * "Today" is the real clock's: the dates below are computed from it, with margins of a day or more, so the
 * tests hold at any hour (and in any time zone the machine is in: the lake's zone comes from the config).
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { addDays, dayIn } from "../../functions/core/dates.ts";
import { crmlake } from "../helpers/cli.ts";

/** Fails with the command's output when it did not exit 0; returns its stdout. */
function ok(args: string[], cwd: string): string {
  const run = crmlake(args, cwd);
  if (run.code !== 0) throw new Error(`crmlake ${args.join(" ")} exited ${run.code}: ${run.stderr}`);
  return run.stdout;
}

function oneLineError(run: ReturnType<typeof crmlake>): string {
  expect(run.stderr.trim().split("\n")).toHaveLength(1);
  expect(run.stderr).not.toMatch(/\n\s+at /);
  return run.stderr.trim();
}

const utcToday = () => dayIn(new Date(), "Etc/UTC");

/** Five orders of two customers, a month ago and earlier, then the given extra lines. */
function orders(extra: string[]): string {
  const t = utcToday();
  return [
    "order_id,customer_id,ordered_at,amount",
    `o1,c1,${addDays(t, -60)},10`,
    `o2,c1,${addDays(t, -45)},20`,
    `o3,c2,${addDays(t, -40)},30`,
    `o4,c2,${addDays(t, -35)},40`,
    `o5,c1,${addDays(t, -30)},50`,
    ...extra,
    "",
  ].join("\n");
}

async function newDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "crmlake-future-"));
}

function query(sql: string, cwd: string): Record<string, unknown>[] {
  return ok(["query", sql, "--format", "json"], cwd)
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe("future dates at ingest", () => {
  it("quarantines one line dated 2150 as future_date and it moves nothing", async () => {
    const dir = await newDir();
    await writeFile(join(dir, "orders.csv"), orders(["o6,c3,2150-01-01 10:00:00,99"]));
    const ingest = crmlake(["ingest", "transactions", "orders.csv"], dir);
    expect(ingest.code).toBe(0);
    expect(ingest.stdout).toMatch(/6 rows: 5 ok, 1 quarantined \(future_date 1\)/);
    const today = utcToday();
    expect(query("select line_number, reason_code, reason from quarantine", dir)).toEqual([
      {
        line_number: 7,
        reason_code: "future_date",
        reason: `ordered_at "2150-01-01 10:00:00" lies in the future: after ${addDays(today, 2)} (the day of ingest, ${today} in Etc/UTC, plus calendar.future_date_tolerance_days = 2)`,
      },
    ]);
    const run = ok(["run", "--models", "customer_base"], dir);
    expect(run).toContain(`as of ${addDays(today, -30)}:`);
  });

  it("accepts a date within the tolerance and quarantines one beyond it", async () => {
    const dir = await newDir();
    const today = utcToday();
    // +1 is within 2 days even if the day turns during the test; +4 is beyond it even then.
    await writeFile(
      join(dir, "orders.csv"),
      orders([`o6,c3,${addDays(today, 1)},1`, `o7,c3,${addDays(today, 4)}T08:00:00Z,1`]),
    );
    expect(ok(["ingest", "transactions", "orders.csv"], dir)).toMatch(
      /7 rows: 6 ok, 1 quarantined \(future_date 1\)/,
    );
    expect(query("select line_number from quarantine", dir)).toEqual([{ line_number: 8 }]);
  });

  it("reads today and the tolerance from the config's calendar, in its time zone", async () => {
    const dir = await newDir();
    // UTC+14: its day is ahead of UTC's for most of the day, and both tests below follow its clock.
    const zone = "Pacific/Kiritimati";
    await writeFile(
      join(dir, "config.json"),
      JSON.stringify({ calendar: { time_zone: zone, future_date_tolerance_days: 0 } }),
    );
    const today = dayIn(new Date(), zone);
    const tomorrow = addDays(today, 1);
    await writeFile(
      join(dir, "orders.csv"),
      orders([`o6,c3,${today}T23:59:00+14:00,1`, `o7,c3,${tomorrow}T00:00:00+14:00,1`]),
    );
    await writeFile(
      join(dir, "customers.csv"),
      `customer_id,signed_up_at\nc1,${today}\nc2,${tomorrow}\nc3,2199-12-31\n`,
    );
    const args = ["--config", "config.json"];
    expect(ok(["ingest", "transactions", "orders.csv", ...args], dir)).toMatch(
      /7 rows: 6 ok, 1 quarantined \(future_date 1\)/,
    );
    expect(ok(["ingest", "customers", "customers.csv", ...args], dir)).toMatch(
      /3 rows: 1 ok, 2 quarantined \(future_date 2\)/,
    );
    const reasons = query("select reason from quarantine order by reason", dir).map((r) => r.reason);
    expect(reasons).toEqual([
      `ordered_at "${tomorrow}T00:00:00+14:00" lies in the future: after ${today} (the day of ingest, ${today} in ${zone}, plus calendar.future_date_tolerance_days = 0)`,
      expect.stringMatching(new RegExp(`^signed_up_at "${tomorrow}" lies in the future`)),
      expect.stringMatching(/^signed_up_at "2199-12-31" lies in the future/),
    ]);
  });

  it("refuses a calendar with an unknown time zone in one line", async () => {
    const dir = await newDir();
    await writeFile(join(dir, "config.json"), JSON.stringify({ calendar: { time_zone: "Mars/Base" } }));
    await writeFile(join(dir, "orders.csv"), orders([]));
    const run = crmlake(["ingest", "transactions", "orders.csv", "--config", "config.json"], dir);
    expect(run.code).toBe(1);
    expect(oneLineError(run)).toBe(
      'crmlake ingest: config.json: calendar.time_zone: "Mars/Base" is not an IANA time zone; expected one such as "Etc/UTC" or "Europe/Berlin"',
    );
  });
});

describe("the as-of of a run", () => {
  let dir: string;
  const today = utcToday();
  beforeAll(async () => {
    dir = await newDir();
    // Tomorrow is within the tolerance, so it is curated: the latest transaction is after today.
    await writeFile(join(dir, "orders.csv"), orders([`o6,c3,${addDays(today, 1)},5`]));
    ok(["ingest", "transactions", "orders.csv"], dir);
  });

  it("defaults to today, not to a latest transaction dated after it", () => {
    const run = crmlake(["run", "--models", "customer_base"], dir);
    expect(run.code).toBe(0);
    // The run may straddle midnight: today is read again after it.
    expect([today, utcToday()].map((d) => `as of ${d}:`)).toContainEqual(
      run.stdout.match(/as of \d{4}-\d{2}-\d{2}:/)?.[0],
    );
    expect(run.stderr).toMatch(/the latest transaction is dated \d{4}-\d{2}-\d{2}, after today/);
  });

  it("refuses an --as-of after today in one line", () => {
    const run = crmlake(["run", "--as-of", "9999-12-31"], dir);
    expect(run.code).toBe(1);
    expect(oneLineError(run)).toMatch(
      /^crmlake run: --as-of 9999-12-31 is after today \(\d{4}-\d{2}-\d{2} in Etc\/UTC\): .* Pass --allow-future-as-of to run it anyway\.$/,
    );
    expect(query("select count(*) as n from runs where as_of = date '9999-12-31'", dir)).toEqual([{ n: 0 }]);
  });

  it("runs as of a future date when told to with --allow-future-as-of", () => {
    const future = addDays(today, 30);
    expect(
      ok(["run", "--as-of", future, "--allow-future-as-of", "--models", "customer_base"], dir),
    ).toContain(`as of ${future}:`);
  });

  it("refuses --allow-future-as-of without --as-of", () => {
    const run = crmlake(["run", "--allow-future-as-of"], dir);
    expect(run.code).toBe(2);
    expect(oneLineError(run)).toBe(
      "crmlake run: --allow-future-as-of needs --as-of: the default as-of is never after today",
    );
  });
});

describe("crmlake runs delete", () => {
  let dir: string;
  const today = utcToday();
  const [early, late, future] = [addDays(today, -20), addDays(today, -10), "9999-12-31"];
  beforeAll(async () => {
    dir = await newDir();
    await writeFile(join(dir, "orders.csv"), orders([]));
    ok(["ingest", "transactions", "orders.csv"], dir);
    ok(["run", "--as-of", early], dir);
    ok(["run", "--as-of", late], dir);
    ok(["run", "--as-of", future, "--allow-future-as-of"], dir);
  });

  const latestOf = (model: string) =>
    query(`select distinct cast(as_of as varchar) as as_of from ${model}_latest`, dir).map((r) => r.as_of);

  it("leaves a future as-of out of the default report, and says how to remove it", () => {
    expect(latestOf("customer_scores")).toEqual([future]);
    expect(ok(["report"], dir)).toContain(`as of ${late}`);
  });

  it("removes a published as-of: latest moves to the greatest one left, its run is kept as deleted", async () => {
    const run = crmlake(["runs", "delete", "--as-of", future], dir);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      new RegExp(
        `^Deleted as of ${future} from lake: \\d+ model outputs; run \\S+ marked deleted in the runs table\\. The \\*_latest views now show as of ${late}\\.`,
      ),
    );
    expect(latestOf("customer_scores")).toEqual([late]);
    expect(latestOf("customer_rfm")).toEqual([late]);
    for (const model of await readdir(join(dir, "lake", "models"))) {
      expect(existsSync(join(dir, "lake", "models", model, `as_of=${future}`))).toBe(false);
    }
    expect(
      query("select cast(as_of as varchar) as as_of, status, error from runs order by as_of", dir),
    ).toEqual([
      { as_of: early, status: "succeeded", error: null },
      { as_of: late, status: "succeeded", error: null },
      {
        as_of: future,
        status: "deleted",
        error: expect.stringMatching(
          new RegExp(
            `^Its outputs were deleted on .* \\(crmlake runs delete --as-of ${future} --lake lake\\)$`,
          ),
        ),
      },
    ]);
    expect(ok(["report"], dir)).toContain(`as of ${late}`);

    ok(["runs", "delete", "--as-of", late], dir);
    expect(latestOf("customer_scores")).toEqual([early]);
    expect(ok(["report"], dir)).toContain(`as of ${early}`);
  });

  it("refuses an as-of that is not published, naming those that are", () => {
    const run = crmlake(["runs", "delete", "--as-of", future], dir);
    expect(run.code).toBe(1);
    expect(oneLineError(run)).toBe(
      `crmlake runs: Nothing is published as of ${future} in lake. Published as-ofs: ${early}`,
    );
  });

  it("refuses while a run holds the lake's run lock, and deletes nothing", async () => {
    const lock = join(dir, "lake", "runs", "lock");
    await mkdir(join(dir, "lake", "runs"), { recursive: true });
    // This test process is alive: its lock is not stale.
    await writeFile(
      lock,
      JSON.stringify({
        run_id: "r-busy",
        pid: process.pid,
        host: hostname(),
        started_at: "2026-01-01T00:00:00Z",
      }),
    );
    const run = crmlake(["runs", "delete", "--as-of", early], dir);
    expect(run.code).toBe(1);
    expect(oneLineError(run)).toMatch(
      new RegExp(
        `^crmlake runs: Cannot delete as of ${early} now: Another run is using the lake lake: run r-busy \\(pid ${process.pid}`,
      ),
    );
    expect(latestOf("customer_scores")).toEqual([early]);
    await rm(lock);
  });

  it.each([
    [["runs", "list"], /^crmlake runs: Unknown subcommand "list"\. Usage: crmlake runs delete/],
    [["runs", "delete"], /^crmlake runs: Missing --as-of\. Usage: crmlake runs delete/],
    [["runs", "delete", "--as-of", "2024-02-30"], /^crmlake runs: --as-of "2024-02-30" is not a real date$/],
  ])("explains %j in one line", (args, message) => {
    const run = crmlake(args, dir);
    expect(run.code).toBe(2);
    expect(oneLineError(run)).toMatch(message);
  });

  it("refuses a lake that does not exist, and creates none", () => {
    const run = crmlake(["runs", "delete", "--as-of", early, "--lake", "no-such-lake"], dir);
    expect(run.code).toBe(1);
    expect(oneLineError(run)).toBe(
      "crmlake runs: No lake at no-such-lake: nothing is published there. Pass --lake DIR",
    );
    expect(existsSync(join(dir, "no-such-lake"))).toBe(false);
  });

  it("lists the runs without a subcommand, newest first", () => {
    const list = ok(["runs"], dir);
    expect(list).toMatch(/\bsucceeded\b/);
    expect(list).toContain(early);
  });

  it("documents itself in --help", () => {
    const help = ok(["runs", "--help"], dir);
    expect(help).toContain("Usage: crmlake runs [--limit N] [--lake DIR | --stack NAME]");
    expect(help).toContain("crmlake runs delete --as-of YYYY-MM-DD [--lake DIR | --stack NAME]");
    expect(ok(["--help"], dir)).toMatch(/\n {2}runs +List the runs, delete an as-of/);
  });
});
