import { describe, expect, it } from "vitest";
import type { LedgerRecord } from "../../functions/core/ingest/types.ts";
import type { InputSnapshot } from "../../functions/core/ledger/ledger.ts";
import { lateDropsFor, latestScored, rescoreNote } from "../../functions/core/runner/late-drops.ts";
import type { RunRecord } from "../../functions/core/runner/runs.ts";
import { runRecord } from "../helpers/run-record.ts";

function run(run_id: string, as_of: string, status: RunRecord["status"], started_at: string): RunRecord {
  return runRecord({ run_id, as_of, status, started_at, inputs_taken_at: started_at });
}

function drop(
  drop_id: string,
  version: string,
  first: string | null | undefined,
  finished_at = "2024-04-01 10:00:00.000",
  status: LedgerRecord["status"] = "ok",
): LedgerRecord {
  return {
    drop_id,
    dataset: "transactions",
    source: `/x/${drop_id}.csv`,
    content_sha256: "",
    size_bytes: 1,
    format: "csv",
    profile: null,
    status,
    rows_in: 1,
    rows_ok: 1,
    rows_quarantined: 0,
    quarantine_reasons: {},
    error_code: null,
    error: null,
    warnings: [],
    version,
    output_keys: [],
    ...(first === undefined ? {} : { first_business_day: first, last_business_day: first }),
    started_at: finished_at,
    finished_at,
    duration_ms: 0,
  };
}

const seen = (...drops: [string, string][]): InputSnapshot => ({
  taken_at: "2024-04-01T03:00:00.000Z",
  drops: drops.map(([drop_id, version]) => ({ drop_id, dataset: "transactions", version, keys: [] })),
});

describe("latestScored", () => {
  it("takes the greatest succeeded as-of, and of its runs the one that started last", () => {
    const latest = latestScored([
      run("a", "2024-03-30", "succeeded", "2024-03-31 03:00:00.000"),
      run("b", "2024-03-31", "succeeded", "2024-04-01 03:00:00.000"),
      run("c", "2024-03-31", "succeeded", "2024-04-01 11:00:00.000"),
      run("d", "2024-04-02", "failed", "2024-04-01 12:00:00.000"),
      run("e", "2024-04-03", "deleted", "2024-04-01 12:00:00.000"),
      run("f", "2024-04-04", "running", "2024-04-01 13:00:00.000"),
    ]);
    expect(latest).toEqual({ asOf: "2024-03-31", runId: "c", inputsTakenAt: "2024-04-01 11:00:00.000" });
  });

  it("finds nothing when no run succeeded", () => {
    expect(latestScored([run("d", "2024-04-02", "failed", "2024-04-01 12:00:00.000")])).toBeUndefined();
  });
});

describe("lateDropsFor", () => {
  it("is a drop dated on or before the as-of that the run did not read", () => {
    const late = lateDropsFor("2024-03-31", seen(["old", "v1"]), [
      drop("old", "v1", "2024-03-30"), // read by the run
      drop("on-the-day", "v2", "2024-03-31", "2024-04-01 10:00:00.000"), // late: the as-of itself
      drop("before", "v3", "2024-03-01", "2024-04-01 09:00:00.000"), // late: an earlier day
      drop("after", "v4", "2024-04-01"), // not late: dated after the as-of
    ]);
    expect(late.map((d) => d.drop_id)).toEqual(["before", "on-the-day"]);
  });

  it("counts a new version of a drop the run read at another version", () => {
    const late = lateDropsFor("2024-03-31", seen(["daily", "v1"]), [drop("daily", "v2", "2024-03-31")]);
    expect(late).toEqual([
      {
        drop_id: "daily",
        dataset: "transactions",
        version: "v2",
        first_business_day: "2024-03-31",
        finished_at: "2024-04-01 10:00:00.000",
      },
    ]);
  });

  it("never counts drops without business days, or drops not committed", () => {
    const late = lateDropsFor("2024-03-31", seen(), [
      drop("products", "v1", null),
      drop("before-0016", "v1", undefined),
      drop("rejected", "v1", "2024-03-01", undefined, "rejected"),
    ]);
    expect(late).toEqual([]);
  });

  it("finds nothing new once a run as of the date has read the late drop (the re-score is a no-op)", () => {
    expect(lateDropsFor("2024-03-31", seen(["late", "v2"]), [drop("late", "v2", "2024-03-31")])).toEqual([]);
  });
});

describe("rescoreNote", () => {
  it("names the as-of, the run that missed the drops and the first drops", () => {
    const late = lateDropsFor(
      "2024-03-31",
      seen(),
      ["a", "b", "c", "d", "e", "f", "g"].map((id) => drop(id, "v1", "2024-03-31")),
    );
    expect(
      rescoreNote({ asOf: "2024-03-31", runId: "r1", inputsTakenAt: "2024-04-01 03:00:00.000" }, late),
    ).toBe(
      "Re-score of 2024-03-31 for late files: 7 drop(s) with data on or before 2024-03-31 were committed after run r1 read the ledger (2024-04-01 03:00:00.000 UTC): a, b, c, d, e and 2 more.",
    );
  });
});
