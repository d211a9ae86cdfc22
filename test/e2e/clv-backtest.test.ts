/**
 * `crmlake backtest` through the real CLI on a generated lake (issue 14, item 7): the fit uses only the data on
 * or before the as-of (the same parameters as `crmlake run --as-of` publishes in clv_model), the three tables are
 * queryable and add up, a re-run replaces its partition, and what cannot be backtested ends in one line that says
 * why (after the progress lines on stderr).
 * The statistical check (recovery, model against naive baseline on 40,000 customers over seeds) is
 * test/unit/clv-generator-recovery.test.ts, on customers simulated in memory: here the warehouse's purchase days
 * from the files are checked to be that simulation's.
 */
import { existsSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { crmlake, ok, queryRows as query } from "../helpers/cli.ts";
import { generatedBuyers } from "../helpers/clv-generator.ts";

describe("crmlake backtest", () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "crmlake-backtest-"));
    ok(
      [
        "generate",
        "--out",
        "drops",
        "--customers",
        "3000",
        "--seed",
        "7",
        "--campaigns",
        "0",
        "--files",
        "single",
      ],
      dir,
    );
    ok(["ingest", "transactions", "drops/transactions"], dir);
    ok(["run", "--as-of", "2024-06-30", "--models", "clv_model"], dir);
  }, 240_000);

  it("fits on the data up to the as-of, compares with the holdout and writes three queryable tables", () => {
    const out = ok(["backtest", "--as-of", "2024-06-30", "--horizon", "184"], dir);
    expect(out).toMatch(/^Backtest as of 2024-06-30, horizon 184 days \(to 2024-12-31\), \d+ buyers/);
    expect(out).toMatch(/mean absolute error per buyer: model [\d.]+, naive [\d.]+/);

    const [summary] = query("select * from clv_backtest_summary", dir);
    expect(summary).toMatchObject({ as_of: "2024-06-30", horizon_days: 184, holdout_end: "2024-12-31" });
    // The same fit as the run as of the same date: nothing after the as-of reaches it.
    const [model] = query("select r, alpha, a, b, n_customers from clv_model where model = 'bg_nbd'", dir);
    for (const name of ["r", "alpha", "a", "b"]) {
      expect(summary?.[name] as number).toBeCloseTo(model?.[name] as number, 10);
    }
    expect(summary?.customers).toBe(model?.n_customers);

    // The buckets and the weeks add up to the summary.
    const [buckets] = query(
      "select sum(customers) as customers, sum(actual_purchases) as actual, sum(predicted_purchases) as predicted, sum(naive_purchases) as naive, sum(mae_model * customers) / sum(customers) as mae from clv_backtest_by_frequency",
      dir,
    );
    expect(buckets?.customers).toBe(summary?.customers);
    expect(buckets?.actual).toBe(summary?.actual_purchases);
    expect(buckets?.predicted as number).toBeCloseTo(summary?.predicted_purchases as number, 6);
    expect(buckets?.naive as number).toBeCloseTo(summary?.naive_purchases as number, 6);
    expect(buckets?.mae as number).toBeCloseTo(summary?.mae_model as number, 9);
    const weeks = query("select * from clv_backtest_tracking order by week", dir);
    expect(weeks).toHaveLength(27);
    expect(weeks.at(-1)).toMatchObject({ week: 27, days_after_as_of: 184 });
    expect(weeks.at(-1)?.cumulative_actual).toBe(summary?.actual_purchases);
    expect(weeks.at(-1)?.cumulative_predicted as number).toBeCloseTo(
      summary?.predicted_purchases as number,
      6,
    );
    expect(weeks.at(-1)?.cumulative_naive as number).toBeCloseTo(summary?.naive_purchases as number, 6);
    expect(weeks.reduce((s, w) => s + Number(w.actual_purchases), 0)).toBe(summary?.actual_purchases);
    // The warehouse counts the purchase days the generator simulated (test/helpers/clv-generator.ts).
    const simulated = generatedBuyers(7, 3000, "2024-06-30", 184);
    expect(summary?.customers).toBe(simulated.length);
    expect(summary?.repeat_buyers).toBe(simulated.filter((b) => b.frequency > 0).length);
    expect(summary?.actual_purchases).toBe(simulated.reduce((s, b) => s + b.holdout, 0));
    expect(weeks.map((w) => w.actual_purchases)).toEqual(
      weeks.map((_, i) => simulated.reduce((s, b) => s + (b.holdoutWeeks[i] ?? 0), 0)),
    );
    // The model, which lets customers drop out, beats a baseline that does not.
    expect(summary?.mae_model as number).toBeLessThan(summary?.mae_naive as number);
    expect(summary?.model_beats_naive).toBe(true);
  });

  it("keeps one partition per as-of and horizon, and a re-run replaces its own", () => {
    ok(["backtest", "--as-of", "2024-06-30", "--horizon", "91"], dir);
    ok(["backtest", "--as-of", "2024-06-30", "--horizon", "91"], dir);
    const rows = query(
      "select as_of, horizon_days, count(*) as n from clv_backtest_summary group by all order by horizon_days",
      dir,
    );
    expect(rows).toEqual([
      { as_of: "2024-06-30", horizon_days: 91, n: 1 },
      { as_of: "2024-06-30", horizon_days: 184, n: 1 },
    ]);
  });

  it("refuses a horizon past the data, an as-of without buyers, a failed fit and bad arguments, in one line", () => {
    const beyond = crmlake(["backtest", "--as-of", "2024-12-01", "--horizon", "60"], dir);
    expect(beyond.code).toBe(1);
    expect(beyond.stderr).toBe(
      "crmlake backtest: --as-of 2024-12-01 with --horizon 60 days ends on 2025-01-30, after the data's last day 2024-12-31: the holdout would miss purchases that are not in the lake. Choose an --as-of on or before 2024-11-01, or a horizon of at most 30 days as of 2024-12-01.\n",
    );
    const early = crmlake(["backtest", "--as-of", "2022-06-30", "--horizon", "30"], dir);
    expect(early.code).toBe(1);
    expect(early.stderr).toMatch(
      /^crmlake backtest: No customer has a purchase day on or before 2022-06-30: there is nothing to fit\. Choose a later --as-of\.\n$/m,
    );
    const thin = crmlake(["backtest", "--as-of", "2023-01-20", "--horizon", "30"], dir);
    expect(thin.code).toBe(1);
    expect(thin.stderr).toMatch(
      /^crmlake backtest: The BG\/NBD fit as of 2023-01-20 did not succeed, so there is nothing to backtest: Too few repeat buyers to fit BG\/NBD: \d+ of \d+ customers have a repeat purchase day, at least 20 are needed\. No backtest tables were written\.\n$/m,
    );
    expect(existsSync(join(dir, "lake", "backtests", "clv_backtest_summary", "as_of=2023-01-20"))).toBe(
      false,
    );
    expect(crmlake(["backtest", "--horizon", "30"], dir)).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/Missing --as-of/),
    });
    expect(crmlake(["backtest", "--as-of", "2024-06-30", "--horizon", "6.5"], dir)).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/--horizon must be a whole number of days from 1 to 3660, got "6.5"/),
    });
    expect(ok(["--help"], dir)).toMatch(/^ {2}backtest +Fit BG\/NBD as of a past date/m);
  });
});
