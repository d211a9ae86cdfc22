/**
 * Retention of model snapshots (issue 18, item 6): the pure plan of functions/core/runner/retention.ts, on
 * hand-computed cases. The sweep that applies it is tested on a lake directory (test/e2e/retention-sweep.test.ts)
 * and on moto's Glue and S3 (test/moto/retention.test.ts).
 */
import { describe, expect, it } from "vitest";
import { defaultConfig, parseConfig } from "../../functions/core/config.ts";
import type { PublishedPartition } from "../../functions/core/ports/model-outputs.ts";
import {
  monthEnds,
  planRetention,
  type RetentionInput,
  type RetentionPolicy,
} from "../../functions/core/runner/retention.ts";

function policy(fields: Partial<RetentionPolicy>): RetentionPolicy {
  return { keep_month_ends: 0, keep_as_of: [], keep_runs: [], ...fields };
}

function published(models: readonly string[], asOfs: readonly string[]): PublishedPartition[] {
  return models.flatMap((model) => asOfs.map((asOf) => ({ model, asOf })));
}

function days(from: number, to: number, month = "2024-03"): string[] {
  const out: string[] = [];
  for (let d = from; d <= to; d += 1) out.push(`${month}-${String(d).padStart(2, "0")}`);
  return out;
}

function plan(input: Partial<RetentionInput> & { policy: RetentionPolicy }) {
  const result = planRetention({ published: [], runs: [], ...input });
  return {
    ...result,
    kept: result.keep.map((k) => k.asOf),
    removed: result.remove.map((r) => r.asOf),
    why: Object.fromEntries(result.keep.map((k) => [k.asOf, k.reasons.join(",")])),
  };
}

describe("retention: the plan", () => {
  it("is off by default: every as-of stays", () => {
    expect(defaultConfig().retention).toEqual({ keep_month_ends: 24, keep_as_of: [], keep_runs: [] });
    const p = plan({ policy: defaultConfig().retention, published: published(["a"], days(1, 10)) });
    expect(p.enabled).toBe(false);
    expect(p.removed).toEqual([]);
    expect(p.kept).toEqual(days(1, 10));
  });

  it("keeps the last N as-ofs and removes the older ones, from every model at once", () => {
    const p = plan({ policy: policy({ keep_last: 3 }), published: published(["a", "b"], days(1, 10)) });
    expect(p.kept).toEqual(["2024-03-08", "2024-03-09", "2024-03-10"]);
    expect(p.removed).toEqual(days(1, 7));
    expect(p.remove[0]).toEqual({ asOf: "2024-03-01", models: ["a", "b"] });
    // Ties: an as-of both the greatest and one of the last N, in two models, is listed once with both reasons.
    expect(p.why).toEqual({ "2024-03-08": "last", "2024-03-09": "last", "2024-03-10": "latest,last" });
  });

  it("removes nothing while a model has no more than N as-ofs", () => {
    const p = plan({ policy: policy({ keep_last: 5 }), published: published(["a"], days(1, 5)) });
    expect(p.removed).toEqual([]);
  });

  it("keeps each closed month's greatest as-of: a partial month closes when a later month has an as-of", () => {
    const asOfs = ["2024-01-15", "2024-01-31", "2024-02-10", "2024-02-20", "2024-03-05", "2024-03-06"];
    // January ends on its last day; February's runs stopped on the 20th and March has one, so 02-20 is
    // February's month-end; March is still open (06 is not its last day), so it has none yet.
    expect(monthEnds(asOfs)).toEqual(["2024-01-31", "2024-02-20"]);
    const two = plan({
      policy: policy({ keep_last: 1, keep_month_ends: 2 }),
      published: published(["a"], asOfs),
    });
    expect(two.kept).toEqual(["2024-01-31", "2024-02-20", "2024-03-06"]);
    expect(two.removed).toEqual(["2024-01-15", "2024-02-10", "2024-03-05"]);
    expect(two.why).toEqual({
      "2024-01-31": "month_end",
      "2024-02-20": "month_end",
      "2024-03-06": "latest,last",
    });
    const one = plan({
      policy: policy({ keep_last: 1, keep_month_ends: 1 }),
      published: published(["a"], asOfs),
    });
    expect(one.kept).toEqual(["2024-02-20", "2024-03-06"]);
  });

  it("closes the current month once its last day is scored (a leap February)", () => {
    const asOfs = ["2024-01-31", "2024-02-28", "2024-02-29"];
    expect(monthEnds(asOfs)).toEqual(["2024-01-31", "2024-02-29"]);
    const p = plan({
      policy: policy({ keep_last: 1, keep_month_ends: 1 }),
      published: published(["a"], asOfs),
    });
    expect(p.kept).toEqual(["2024-02-29"]);
    expect(p.why).toEqual({ "2024-02-29": "latest,last,month_end" });
    expect(p.removed).toEqual(["2024-01-31", "2024-02-28"]);
  });

  it("keeps a model's own latest and last N when a --models run published it on other dates", () => {
    const p = plan({
      policy: policy({ keep_last: 2 }),
      published: [...published(["a"], days(1, 5)), ...published(["b"], ["2024-03-02"])],
    });
    expect(p.kept).toEqual(["2024-03-02", "2024-03-04", "2024-03-05"]);
    expect(p.why["2024-03-02"]).toBe("latest,last");
    expect(p.removed).toEqual(["2024-03-01", "2024-03-03"]);
  });

  it("keeps what a latest table points at, even when it is not the greatest as-of", () => {
    const p = plan({
      policy: policy({ keep_last: 1 }),
      published: published(["a", "b"], days(1, 4)),
      latestTables: new Map([
        ["a", "2024-03-02"],
        ["b", "2024-03-04"],
      ]),
    });
    expect(p.kept).toEqual(["2024-03-02", "2024-03-04"]);
    expect(p.why).toEqual({ "2024-03-02": "latest_table", "2024-03-04": "latest,latest_table,last" });
  });

  it("keeps a pinned run's as-of, an unfinished run's, and the as-ofs named to keep", () => {
    const p = planRetention({
      policy: policy({ keep_last: 1, keep_as_of: ["2024-03-03", "2023-12-31"], keep_runs: ["r2", "gone"] }),
      published: published(["a"], days(1, 6)),
      runs: [
        { run_id: "r2", as_of: "2024-03-02", status: "succeeded" },
        // Two runs as of the same date: a re-score of 03-02 that succeeded too changes nothing.
        { run_id: "r2b", as_of: "2024-03-02", status: "succeeded" },
        { run_id: "r4", as_of: "2024-03-04", status: "interrupted" },
        { run_id: "r5", as_of: "2024-03-05", status: "running" },
        { run_id: "r1", as_of: "2024-03-01", status: "failed" },
      ],
    });
    expect(p.keep).toEqual([
      { asOf: "2024-03-02", reasons: ["pinned_run"], runs: ["r2"] },
      { asOf: "2024-03-03", reasons: ["kept_as_of"], runs: [] },
      { asOf: "2024-03-04", reasons: ["unfinished_run"], runs: ["r4"] },
      { asOf: "2024-03-05", reasons: ["unfinished_run"], runs: ["r5"] },
      { asOf: "2024-03-06", reasons: ["latest", "last"], runs: [] },
    ]);
    expect(p.remove).toEqual([{ asOf: "2024-03-01", models: ["a"] }]);
    expect(p.notes).toEqual(["retention.keep_runs names run gone, which has no record here"]);
  });

  it("is configured in the run configuration, with its values checked", () => {
    const config = parseConfig({ retention: { keep_last: 30, keep_as_of: ["2024-01-31"] } }, "f");
    expect(config.retention).toEqual({
      keep_last: 30,
      keep_month_ends: 24,
      keep_as_of: ["2024-01-31"],
      keep_runs: [],
    });
    expect(() => parseConfig({ retention: { keep_last: 0 } }, "f")).toThrow(/retention\.keep_last/);
    expect(() => parseConfig({ retention: { keep_as_of: ["2024-02-30"] } }, "f")).toThrow(
      /"2024-02-30" is not a date/,
    );
    expect(() => parseConfig({ retention: { keep: 3 } }, "f")).toThrow(/unknown key "keep" in retention/);
  });
});
