import { describe, expect, it } from "vitest";
import { driftDiagnostics } from "../../functions/core/runner/drift.ts";
import type { RunRecord } from "../../functions/core/runner/runs.ts";

function record(
  run_id: string,
  started_at: string,
  status: RunRecord["status"],
  figures: Record<string, number> | null | undefined,
): RunRecord {
  return {
    run_id,
    as_of: "2024-06-30",
    status,
    engine: "duckdb",
    started_at,
    finished_at: null,
    duration_ms: null,
    models_requested: null,
    config: "{}",
    models: [],
    bytes_scanned: null,
    cost_usd: null,
    error: null,
    ...(figures === undefined ? {} : { figures }),
  };
}

describe("driftDiagnostics", () => {
  const now = record("now", "2024-07-02 00:00:00.000", "running", {
    "clv_model.bg_nbd.r": 0.64,
    "clv_model.bg_nbd.alpha": 40,
    "clv_model.gamma_gamma.p": 2,
  });
  const thresholds = new Map([["clv_model", 0.25]]);

  it("compares with the latest earlier successful run that recorded the stage's figures", () => {
    const earlier = [
      // Older than `ok`, and a failed, a figure-less and a later run: none of them is compared with.
      record("old", "2024-06-01 00:00:00.000", "succeeded", { "clv_model.bg_nbd.r": 10 }),
      record("ok", "2024-06-30 00:00:00.000", "succeeded", {
        "clv_model.bg_nbd.r": 0.8,
        "clv_model.bg_nbd.alpha": 30,
        "clv_model.bg_nbd.a": 0.5,
        "clv_model.gamma_gamma.p": 0,
      }),
      record("failed", "2024-07-01 00:00:00.000", "failed", { "clv_model.bg_nbd.r": 99 }),
      record("selection", "2024-07-01 12:00:00.000", "succeeded", null),
      record("older-format", "2024-07-01 13:00:00.000", "succeeded", undefined),
      record("later", "2024-07-03 00:00:00.000", "succeeded", { "clv_model.bg_nbd.r": 99 }),
    ];
    // r 0.8 → 0.64 is −20 %: within 25 %. alpha 30 → 40 is +33.3 %. a is gone; p moved from 0.
    expect(driftDiagnostics(now, thresholds, earlier)).toEqual([
      "clv_model.bg_nbd.a has no value (the stage did not estimate it); it was 0.5 since run ok (as of 2024-06-30).",
      "clv_model.bg_nbd.alpha moved +33.3 % since run ok (as of 2024-06-30): 30 → 40, more than the threshold of 25 %.",
      "clv_model.gamma_gamma.p moved from 0 since run ok (as of 2024-06-30): 0 → 2, more than the threshold of 25 %.",
    ]);
  });

  it("notes nothing without an earlier successful run, or for a stage it does not follow", () => {
    expect(driftDiagnostics(now, thresholds, [now])).toEqual([]);
    expect(
      driftDiagnostics(now, new Map(), [record("ok", "2024-06-30 00:00:00.000", "succeeded", {})]),
    ).toEqual([]);
  });
});
