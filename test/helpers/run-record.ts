/** A run record for tests: what every test gives (id, as-of, status, start), the rest of a bare run's defaults. */
import type { RunRecord } from "../../functions/core/runner/runs.ts";

export function runRecord(
  fields: Pick<RunRecord, "run_id" | "as_of" | "status" | "started_at"> & Partial<RunRecord>,
): RunRecord {
  return {
    engine: "duckdb",
    finished_at: null,
    duration_ms: null,
    models_requested: null,
    config: "{}",
    models: [],
    bytes_scanned: null,
    cost_usd: null,
    error: null,
    ...fields,
  };
}
