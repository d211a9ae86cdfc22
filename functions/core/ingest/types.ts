import type { DatasetName, ReasonCode } from "../catalogue/contracts.ts";

/** One input file, already on local disk (the Lambda streams an S3 object to /tmp first). */
export interface DropSource {
  /** Where the bytes are now. */
  readonly localPath: string;
  /** Where they came from: an absolute path or `s3://bucket/key`. Part of the drop id. */
  readonly uri: string;
}

export const DROP_STATUSES = ["ok", "rejected", "duplicate"] as const;
export type DropStatus = (typeof DROP_STATUSES)[number];

/**
 * One row of the drop ledger (`drops` table; its columns are declared in functions/core/catalogue/system-tables.ts).
 * `rows_in = rows_ok + rows_quarantined`, always.
 */
export interface LedgerRecord {
  drop_id: string;
  dataset: DatasetName;
  source: string;
  content_sha256: string;
  size_bytes: number;
  format: string;
  profile: string | null;
  status: DropStatus;
  rows_in: number;
  rows_ok: number;
  rows_quarantined: number;
  /** Quarantined rows per reason code. */
  quarantine_reasons: Partial<Record<ReasonCode, number>>;
  /**
   * Rows that repeat an earlier row of the drop in every field, whatever became of them (kept by default;
   * quarantined as duplicate_line when the profile says so). Absent in records written before it was counted.
   */
  rows_duplicate?: number;
  error_code: string | null;
  error: string | null;
  warnings: string[];
  /**
   * The version of the drop this record commits (ADR 0010): its files carry it in their names. Absent in
   * records of lake format 1, read as "v1".
   */
  version?: string;
  /** The files of this version: exactly what readers read of the drop. */
  output_keys: string[];
  /**
   * The first and last business day (`yyyy-MM-dd`, in calendar.time_zone) of the dates of things that happened
   * among the ok rows (ADR 0016); null when the dataset has no such date or no row is ok, absent in records
   * written before they were recorded. A drop whose first day is on or before a scored as-of is late for it.
   */
  first_business_day?: string | null;
  last_business_day?: string | null;
  /**
   * `yyyy-MM-dd HH:mm:ss.SSS` in UTC (jsonTimestamp), which every reader parses as a timestamp. Records
   * written before ADR 0009 hold ISO-8601 `…T…Z` text, which DuckDB and Trino read too.
   */
  started_at: string;
  finished_at: string;
  duration_ms: number;
}

export interface IngestProgress {
  readonly dropId: string;
  readonly phase: "hashing" | "validating" | "converting" | "publishing";
  readonly elapsedMs: number;
}
