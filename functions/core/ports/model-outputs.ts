/**
 * ModelOutputs: where a run stages its tables, how it publishes them, and where it records itself. Two
 * adapters: a lake directory (functions/storage/local-outputs.ts) and S3 with Glue partitions
 * (functions/storage/s3-outputs.ts, docs/adr/0006-atomic-publish-and-resumable-runs.md).
 */
import type { RunRecord } from "../runner/runs.ts";

export interface ModelOutputs {
  /** Human-readable location, for messages. */
  readonly location: string;
  /** The table location a run writes `model` to (MaterializeRequest.tableLocation). */
  stagingTable(runId: string, model: string): string;
  /** Takes the lake's run lock; returns the release function. */
  lock(runId: string): Promise<() => Promise<void>>;
  /**
   * Finishes interrupted publishes and removes abandoned staging (call while holding the lock). The staging
   * of `currentRunId` is kept: a resumed run continues from it.
   */
  recover(currentRunId: string): Promise<void>;
  /** Makes the staged as-of partitions of `models` the published ones. */
  publish(runId: string, asOf: string, models: readonly string[]): Promise<void>;
  /** Removes a run's staging (after a failure). */
  discard(runId: string): Promise<void>;
  /** Empties one model's staging table (before a resumed run computes that model again). */
  clearTable(runId: string, model: string): Promise<void>;
  writeRunRecord(record: RunRecord): Promise<void>;
  /** The run's record, or undefined when the run has none (it never started here). */
  readRunRecord(runId: string): Promise<RunRecord | undefined>;
  /**
   * Every run record of the lake, for the drift notes of a run (runner/drift.ts). An adapter that cannot list
   * them leaves it out; runs then note no drift.
   */
  listRunRecords?(): Promise<RunRecord[]>;
  /**
   * The data files directly under a location of this lake (a table partition, `<stagingTable>as_of=<d>/`),
   * as locations, sorted. Hidden files (`_SUCCESS`, `.crc`, names starting with `_` or `.`) are left out, as
   * Hive and Athena leave them out. A location with no files gives an empty list.
   */
  listTableFiles(location: string): Promise<string[]>;
  /** The bytes of a file of this lake (one listTableFiles returned); fails when it does not exist. */
  readObject(location: string): Promise<Uint8Array>;
  /** Writes (or replaces) a file of this lake. */
  writeObject(location: string, bytes: Uint8Array): Promise<void>;
  /**
   * Where latest tables are kept apart from the model tables (S3 with Glue, ADR 0014): after run `runId`
   * published `models` as of `asOf`, points each of their latest tables that does not show the model's greatest
   * succeeded as-of at it (a deploy that redeclares a table resets it to its placeholder; a run as of an older
   * date repairs it too). Returns the repairs, as `<model>_latest → <as-of>`. A lake directory has none: its
   * `_latest` views read the greatest partition there is.
   */
  repairLatest?(runId: string, asOf: string, models: readonly string[]): Promise<readonly string[]>;
}

/** Whether Hive-style readers read a file of this name (Athena skips names starting with `_` or `.`). */
export function isDataFile(name: string): boolean {
  return name !== "" && !name.startsWith("_") && !name.startsWith(".") && !name.endsWith("$folder$");
}

/** One published as-of partition of one model (`models/<model>/as_of=<asOf>/`). */
export interface PublishedPartition {
  readonly model: string;
  readonly asOf: string;
}

/**
 * What removing a published as-of needs (functions/core/runner/delete.ts, `crmlake runs delete`), beside the
 * lock, recovery and run records of ModelOutputs. The lake directory implements it, and S3, where an as-of is
 * a Glue partition pointing at a run's prefix (no command reaches a deployment yet).
 */
export interface DeletableOutputs extends ModelOutputs {
  /** Every published partition that holds data files, in no particular order. */
  publishedPartitions(): Promise<PublishedPartition[]>;
  /** Every run record of the lake. */
  listRunRecords(): Promise<RunRecord[]>;
  /**
   * Removes one published partition (nothing when it is already gone) with its files: at once in a lake
   * directory, after the sweep's grace period on S3.
   */
  deletePartition(partition: PublishedPartition): Promise<void>;
  /**
   * Where latest tables are kept apart from the model tables (S3 with Glue, ADR 0014): points each at the
   * greatest as-of its model publishes besides `asOf`, or at nothing, before the partitions of `asOf` go. A
   * lake directory has none: its `_latest` views read the greatest partition there is.
   */
  moveLatestFrom?(asOf: string): Promise<void>;
  /**
   * Where latest tables are kept apart (S3 with Glue): the as-of each model's latest table shows, by model
   * (none for a table at its placeholder). The retention sweep keeps those as-ofs (runner/retention.ts).
   */
  latestAsOfs?(): Promise<ReadonlyMap<string, string>>;
}

/** Whether a ModelOutputs can remove published as-ofs (`runs delete`, the retention sweep). */
export function isDeletable(outputs: ModelOutputs): outputs is DeletableOutputs {
  const o = outputs as Partial<DeletableOutputs>;
  return (
    typeof o.publishedPartitions === "function" &&
    typeof o.deletePartition === "function" &&
    typeof o.listRunRecords === "function"
  );
}
