import { existsSync } from "node:fs";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { crmlake } from "../helpers/cli.ts";

describe("the crmlake command", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "crmlake-cli-"));
    await writeFile(
      join(dir, "orders.csv"),
      "order_id,customer_id,ordered_at,amount,Note\no1,c1,2024-01-01,10,x\no2,,2024-01-02,5,y\n",
    );
    await writeFile(join(dir, "nocustomer.csv"), "order_id,ordered_at,amount\no1,2024-01-01,10\n");
  });

  it("ingests a file, prints a summary and warns about unknown columns", () => {
    const run = crmlake(["ingest", "transactions", "orders.csv"], dir);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /^✓ orders\.csv → 2 rows: 1 ok, 1 quarantined \(missing_customer_id 1\) in [\d.]+ s/,
    );
    expect(run.stderr).toContain('warning: ignored unknown columns in "orders.csv": Note');
  });

  it("answers queries as a table, CSV or JSON lines", () => {
    expect(crmlake(["query", "select order_id, amount from transactions"], dir).stdout).toBe(
      ["order_id  amount", "--------  ------", "o1         10.00", "(1 row)", ""].join("\n"),
    );
    expect(
      crmlake(["query", "select order_id, amount from transactions", "--format", "csv"], dir).stdout,
    ).toBe("order_id,amount\no1,10.00\n");
    expect(crmlake(["query", "select rows_in, status from drops", "--format", "json"], dir).stdout).toBe(
      '{"rows_in":2,"status":"ok"}\n',
    );
  });

  it("rejects a file missing a required column with one line on stderr and exit code 1", () => {
    const run = crmlake(["ingest", "transactions", "nocustomer.csv"], dir);
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split("\n")).toEqual([
      '✗ nocustomer.csv: "nocustomer.csv" has no column "customer_id", which transactions requires. Columns found: order_id, ordered_at, amount. Map one with "rename" in a source profile (--profile).',
    ]);
  });

  it.each([
    [
      ["ingest", "orders"],
      /Unknown dataset "orders". Known datasets: transactions, customers, campaigns, campaign_contacts/,
      2,
    ],
    [["ingest", "transactions", "missing.csv"], /No such file or directory: missing.csv/, 2],
    [["query", "select * from nope"], /Table with name nope does not exist/, 1],
    [["query", "select 1", "--format", "xml"], /Unknown --format "xml"/, 2],
    [
      ["ingest", "transactions", "orders.csv", "--profile", "none.json"],
      /Source profile none\.json: cannot read the file \(ENOENT/,
      1,
    ],
    [["report", "--as-of", "2024-02-30"], /^crmlake report: --as-of "2024-02-30" is not a real date$/m, 2],
    [["report", "--as-of", "31.01.2024"], /--as-of "31\.01\.2024" is not a date written YYYY-MM-DD$/m, 2],
    [["run", "--as-of", "2024-02-30"], /^crmlake run: --as-of "2024-02-30" is not a real date$/m, 1],
    [["generate", "--out", "out", "--from", "2023-02-30"], /from "2023-02-30" is not a real date/, 2],
    [["frobnicate"], /unknown command "frobnicate"/, 2],
    [["ingest", "--bogus"], /Unknown option '--bogus'/, 2],
  ])("explains %j in one line without a stack trace", (args, message, code) => {
    const run = crmlake(args, dir);
    expect(run.code).toBe(code);
    expect(run.stderr).toMatch(message);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it("prints help for each command", () => {
    const run = crmlake(["ingest", "--help"], dir);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("Usage: crmlake ingest <dataset> <file|dir>...");
  });
});

// The acceptance check of the ingest issue, on a real export nobody here wrote (shared/data). CI runs with
// shared/ beside the clone; a developer without it sees the reason for the skip.
const UCI = resolve("../shared/data/online_retail.csv.gz");
const uciMissing = !existsSync(UCI);
if (uciMissing) {
  if (process.env.CI) throw new Error(`CI must have the UCI export at ${UCI}`);
  console.warn(`skipping the UCI Online Retail acceptance test: ${UCI} is not there`);
}

describe.skipIf(uciMissing)("the UCI Online Retail export with the shipped profile", () => {
  it("accounts for all 541,909 lines: 135,080 without customer quarantined, returns kept as negative lines", async () => {
    const dir = await mkdtemp(join(tmpdir(), "crmlake-uci-"));
    const ingest = crmlake(
      [
        "ingest",
        "transactions",
        UCI,
        "--profile",
        resolve("examples/profiles/online-retail.json"),
        "--lake",
        dir,
      ],
      dir,
    );
    // Nothing on stderr but progress lines: no warning (the profile names every column), no error.
    expect(ingest.stderr.split("\n").filter((line) => line !== "" && !line.startsWith("  … "))).toEqual([]);
    expect(ingest.code).toBe(0);
    const query = (sql: string) =>
      JSON.parse(crmlake(["query", sql, "--lake", dir, "--format", "json"], dir).stdout.trim()) as Record<
        string,
        unknown
      >;
    // 5,268 lines repeat an earlier line in every field (43 of them without a customer): kept by default.
    expect(query("select rows_in, rows_ok, rows_quarantined, rows_duplicate, status from drops")).toEqual({
      rows_in: 541_909,
      rows_ok: 406_829,
      rows_quarantined: 135_080,
      rows_duplicate: 5_268,
      status: "ok",
    });
    expect(ingest.stdout).toContain("5,268 exact duplicates");
    // The profile's non-product codes (POST, M, C2, D, CRUK, DOT, BANK CHARGES, PADS among the lines with a
    // customer) stay in the lake, marked.
    expect(
      query(
        "select count(*) filter (where line_type = 'non_product') as non_product, sum(amount) filter (where line_type = 'non_product') as amount, count(*) filter (where line_type is null) as untyped from transactions",
      ),
    ).toEqual({ non_product: 1_920, amount: "13402.49", untyped: 0 });
    expect(query("select reason_code, count(*) as n from quarantine group by 1")).toEqual({
      reason_code: "missing_customer_id",
      n: 135_080,
    });
    // Cancellations (invoice numbers starting with C) are kept, as negative lines.
    expect(
      query(
        "select count(*) filter (where order_id like 'C%') as cancellations, count(*) filter (where order_id like 'C%' and amount >= 0) as non_negative from transactions",
      ),
    ).toEqual({ cancellations: 8_905, non_negative: 0 });
  }, 300_000);

  it("quarantines the 5,225 later copies of exact duplicates with a customer when the profile says so", async () => {
    const dir = await mkdtemp(join(tmpdir(), "crmlake-uci-"));
    const profile = JSON.parse(await readFile(resolve("examples/profiles/online-retail.json"), "utf8"));
    await writeFile(join(dir, "dedup.json"), JSON.stringify({ ...profile, duplicate_lines: "quarantine" }));
    const ingest = crmlake(["ingest", "transactions", UCI, "--profile", "dedup.json", "--lake", dir], dir);
    expect(ingest.code).toBe(0);
    // 5,268 duplicates: 43 lack a customer (quarantined as missing_customer_id, which comes first), 5,225 go.
    expect(ingest.stdout).toContain(
      "541,909 rows: 401,604 ok, 140,305 quarantined (duplicate_line 5,225, missing_customer_id 135,080), 5,268 exact duplicates",
    );
  }, 300_000);
});
