/**
 * Warehouse: the one contract between the model runner and an engine (DESIGN.md §2). The runner does
 * everything engine-neutral (ordering, parameters, checks, publishing, the runs table); an adapter only
 * turns "this SELECT, as Parquet, there" into its engine's statements:
 *
 * - DuckDB (duckdb-warehouse.ts): `COPY (<body>) TO '<location>/as_of=<d>/data.parquet'` and a view over it.
 * - Athena (functions/engines/athena/warehouse.ts): `CREATE TABLE <run_db>.<model> WITH (format = 'PARQUET', external_location =
 *   '<location>', partitioned_by = ARRAY['as_of']) AS SELECT *, '<d>' AS as_of FROM (<body>)`, in a
 *   run-scoped Glue database whose views stand for the input relations, so bodies read names unqualified.
 *
 * Both write the same layout: `<tableLocation>/as_of=<YYYY-MM-DD>/<files>.parquet`, the partition column
 * in the path and not in the files (Hive convention).
 */

import type { InputSnapshot } from "../ledger/ledger.ts";

/** A JSON-safe value as the runner reads it back: DECIMAL and BIGINT as strings, DATE as `YYYY-MM-DD`. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type Row = Record<string, JsonValue>;

export interface ColumnInfo {
  readonly name: string;
  /** The engine's type name, e.g. `DECIMAL(18,2)`. */
  readonly type: string;
}

export interface QueryResult {
  readonly columns: readonly ColumnInfo[];
  readonly rows: readonly Row[];
}

export interface MaterializeRequest {
  /** The model; after materialize, later SELECTs in this run read the result under this name. */
  readonly model: string;
  /** One SELECT with its parameters already rendered as typed literals. */
  readonly body: string;
  /** Root of the model's table for this run (a directory, or an S3 prefix for Athena). */
  readonly tableLocation: string;
  /**
   * The model's unique key: an engine that can (DuckDB) writes rows in this order, so the same run gives the
   * same files; Athena's CTAS ignores ORDER BY, and nothing may rely on row order.
   */
  readonly orderBy: readonly string[];
  /** The partition the rows belong to: files go under `<tableLocation>/<column>=<value>/`. */
  readonly partition: { readonly column: "as_of"; readonly value: string };
}

/** Parquet files already written under a table location (a TypeScript stage's output), to be read as `model`. */
export interface AttachRequest {
  readonly model: string;
  /** Root of the model's table for this run; the files are under `<tableLocation>/<column>=<value>/`. */
  readonly tableLocation: string;
  readonly partition: { readonly column: "as_of"; readonly value: string };
  /** The columns the files hold, in order, in header notation (`decimal(18,2)`, `timestamp(3)`). */
  readonly columns: readonly ColumnInfo[];
  /** How many rows the files hold. */
  readonly rows: number;
}

export interface MaterializeResult {
  readonly rows: number;
  readonly columns: readonly ColumnInfo[];
}

export interface Warehouse {
  readonly engine: string;
  /**
   * Makes the input relations (transactions, customers, campaigns, campaign_contacts, quarantine, drops)
   * readable by name, the datasets and the quarantine over exactly the files `inputs` lists (the run's pinned
   * ledger snapshot, docs/adr/0010-ledger-visibility-and-snapshots.md).
   */
  attachInputs(inputs: InputSnapshot): Promise<void>;
  /** Defines, or replaces, `name` as a view of a SELECT in the run's namespace. */
  replaceView(name: string, select: string): Promise<void>;
  /** Writes a SELECT's rows as Parquet (see MaterializeRequest) and makes them readable as `model`. */
  materialize(request: MaterializeRequest): Promise<MaterializeResult>;
  /**
   * Computes a SELECT once for the rest of this run, somewhere only this engine reads (never published), and
   * makes the rows readable as `model` until close() (a `materialized: temporary` model: a relation many models
   * read, such as stg_order_lines). Engines that leave it out get the model as a view (replaceView): the same
   * rows, computed at each read.
   */
  materializeTemporary?(model: string, body: string): Promise<MaterializeResult>;
  /**
   * Makes Parquet files the runner wrote (a TypeScript stage's output, stage.ts) readable as `model`, as
   * materialize() does for the files it writes, and returns the columns as the engine reads them. Engines
   * that cannot leave it out; the runner then refuses to run a stage on them.
   */
  attachMaterialized?(request: AttachRequest): Promise<MaterializeResult>;
  /**
   * Makes the published outputs readable under the model names (every as_of, `as_of` last), replacing the
   * run's own views; the runner reads them back to verify the publish.
   */
  attachPublished(): Promise<void>;
  /** Runs a SELECT and returns its rows (small results only: checks, summaries). */
  query(sql: string): Promise<QueryResult>;
  /**
   * Running totals of what the engine billed so far, for engines that bill by data scanned (Athena). The
   * runner records the difference per model and per run; engines without a bill leave it out.
   */
  usage?(): { readonly dataScannedBytes: number; readonly costUsd: number; readonly queries?: number };
  /**
   * A model this run already materialized in an earlier invocation (a resumed run): makes it readable under
   * its name again and returns what materialize() returned, or undefined when it was not materialized.
   * Engines whose runs cannot outlive their process (DuckDB) leave it out.
   */
  materialized?(model: string, asOf: string): Promise<MaterializeResult | undefined>;
  /**
   * Whether an error means the engine ran out of time (the Lambda's deadline), not that a model is wrong: the
   * runner then keeps what the run has done, so that invoking it again resumes it.
   */
  interrupted?(error: unknown): boolean;
  close(): Promise<void>;
}
