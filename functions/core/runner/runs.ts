/**
 * The `runs` table: one JSON record per run under runs/log/ (MODEL_LAYOUT; its columns are declared in
 * functions/core/catalogue/system-tables.ts), written when the run starts
 * (status `running`) and rewritten when it ends. A record left `running` means the process died; one that is
 * `interrupted` ran out of time in its engine (the Lambda's deadline) and resumes when invoked again with the
 * same run id (docs/adr/0006-atomic-publish-and-resumable-runs.md). One that is `deleted` succeeded, and its
 * outputs were removed since by `crmlake runs delete` (delete.ts) or the retention sweep (retention.ts).
 */
import { jsonTimestamp } from "../catalogue/system-tables.ts";
import { StorageError } from "../errors.ts";

/** `deleted`: the run succeeded, and its outputs were removed since (`runs delete`, the retention sweep). */
export const RUN_STATUSES = ["running", "interrupted", "succeeded", "failed", "deleted"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const MODEL_STATUSES = ["succeeded", "failed", "not_run"] as const;
export type ModelStatus = (typeof MODEL_STATUSES)[number];

export interface ModelRunRecord {
  model: string;
  layer: string;
  materialized: string;
  status: ModelStatus;
  started_at: string | null;
  finished_at: string | null;
  duration_ms: number | null;
  /** Rows written; null for views and models that did not run. */
  rows: number | null;
  /** Bytes the engine scanned for this model, and what that cost (USD); null on engines without a bill. */
  bytes_scanned: number | null;
  cost_usd: number | null;
  error: string | null;
}

export interface RunRecord {
  run_id: string;
  as_of: string;
  status: RunStatus;
  engine: string;
  started_at: string;
  finished_at: string | null;
  duration_ms: number | null;
  /** The --models selection, or null for a full run. */
  models_requested: string[] | null;
  /** The effective configuration, as JSON text. */
  config: string;
  models: ModelRunRecord[];
  /** Totals over the run, including the runner's own checks; null on engines without a bill. */
  bytes_scanned: number | null;
  cost_usd: number | null;
  error: string | null;
  /**
   * Figures of the run's stages followed across runs (runner/stage.ts StageWatch), keyed `<stage>.<name>`, e.g.
   * `clv_model.bg_nbd.r`; a figure the stage did not produce is left out. Absent in records written before.
   */
  figures?: Record<string, number> | null;
  /** Notes on the run that are not failures (drift.ts: parameters that moved since the last successful run). */
  diagnostics?: string[] | null;
  /**
   * When the run read the ledger (its pinned snapshot's taken_at): a drop committed later is not among its
   * inputs (ADR 0016). Absent in records written before it was recorded.
   */
  inputs_taken_at?: string | null;
}

/** Reads a record written by writeRunRecord; a malformed one is a StorageError, not a guess. */
export function parseRunRecord(text: string, where: string): RunRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new StorageError("bad_run_record", `The run record ${where} is not valid JSON`, { cause: error });
  }
  const record = value as Partial<RunRecord> | null;
  if (
    typeof record !== "object" ||
    record === null ||
    typeof record.run_id !== "string" ||
    typeof record.as_of !== "string" ||
    !RUN_STATUSES.includes(record.status as RunStatus) ||
    !Array.isArray(record.models)
  ) {
    throw new StorageError(
      "bad_run_record",
      `The run record ${typeof record?.run_id === "string" ? record.run_id : "(no run_id)"} lacks run_id, as_of, a known status or models`,
    );
  }
  return record as RunRecord;
}

/**
 * `2024-01-31 12:00:00.123`: how a run record stores a timestamp, the text every reader of the `runs` table
 * parses as a timestamp(3) (functions/core/catalogue/system-tables.ts, where the table's columns are declared).
 */
export const timestampText: (date: Date) => string = jsonTimestamp;
