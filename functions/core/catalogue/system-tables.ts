/**
 * The system tables, declared once: `quarantine` (rejected input rows), `drops` (the drop ledger) and `runs`
 * (one record per scoring run). The DuckDB views (engines/duckdb/lake-views.ts, model-views.ts), the Glue tables
 * (infra/constructs/lake-catalog.ts) and docs/system-tables.md are generated from this file, so the engines
 * cannot drift apart (docs/adr/0009-system-tables.md). Pure: no engine, no SDK.
 *
 * Types are logical types in the header notation (Trino/Athena names, lower case; column-types.ts), extended
 * with the two nested forms the system tables need: `map(K, V)` and `row(<field> <type>, …)`. A `timestamp(3)`
 * in a JSON system table is written as `yyyy-MM-dd HH:mm:ss.SSS` in UTC (jsonTimestamp): the one text form that
 * every reader of these files parses as a timestamp (DuckDB's read_json, Trino's OpenX JSON reader, the original
 * OpenX SerDe through java.sql.Timestamp.valueOf, the Hive JSON SerDe's default).
 */

import { parseColumnType, SCALAR_COLUMN_TYPES } from "./column-types.ts";
import { DATASET_NAMES, LINEAGE_COLUMNS } from "./contracts.ts";
import { LAKE, MODEL_LAYOUT } from "./layout.ts";
import { TypeScanner } from "./type-scanner.ts";

/** A logical type, parsed: a scalar of the header notation, or an array, map or row of logical types. */
export type LogicalType =
  | { readonly kind: "scalar"; readonly name: string }
  | { readonly kind: "array"; readonly element: LogicalType }
  | { readonly kind: "map"; readonly key: LogicalType; readonly value: LogicalType }
  | { readonly kind: "row"; readonly fields: readonly RowField[] };

export interface RowField {
  readonly name: string;
  readonly type: LogicalType;
}

/** A row field's name: what a Hive struct, a DuckDB STRUCT and a Trino row all accept. */
const FIELD_NAME = /^[a-z_][a-z0-9_]*$/;

class LogicalTypeParser extends TypeScanner {
  parse(): LogicalType {
    const type = this.type();
    this.end();
    return type;
  }

  protected fail(why = "unexpected text"): never {
    throw new Error(
      `"${this.text}" is not a logical type: ${why} (at character ${this.position + 1}); ` +
        `expected ${SCALAR_COLUMN_TYPES.join(", ")}, decimal(p,s), array(T), map(K, V) or row(<field> T, …)`,
    );
  }

  private word(): string {
    this.space();
    const match = /^[a-z_][a-z0-9_]*/.exec(this.text.slice(this.position));
    if (match === null) this.fail("expected a type or field name in lower case");
    this.position += match[0].length;
    return match[0];
  }

  private type(): LogicalType {
    const start = this.position;
    const name = this.word();
    if (name === "array") {
      this.expect("(");
      const element = this.type();
      this.expect(")");
      return { kind: "array", element };
    }
    if (name === "map") {
      this.expect("(");
      const key = this.type();
      if (key.kind !== "scalar") this.fail("a map key must be a scalar type");
      this.expect(",");
      const value = this.type();
      this.expect(")");
      return { kind: "map", key, value };
    }
    if (name === "row") {
      this.expect("(");
      const fields: RowField[] = [];
      for (;;) {
        const field = this.fieldName();
        if (fields.some((f) => f.name === field)) this.fail(`row field "${field}" appears twice`);
        fields.push({ name: field, type: this.type() });
        if (this.peek() === ",") {
          this.position++;
          continue;
        }
        this.expect(")");
        return { kind: "row", fields };
      }
    }
    // A scalar, with its parameters: `decimal(18, 2)`, `timestamp(3)`.
    if (this.peek() === "(") {
      const close = this.text.indexOf(")", this.position);
      if (close < 0) this.fail("unclosed parenthesis");
      this.position = close + 1;
    }
    const parsed = parseColumnType(this.text.slice(start, this.position));
    if (!parsed.ok) this.fail(parsed.reason);
    return { kind: "scalar", name: parsed.type };
  }

  private fieldName(): string {
    if (this.peek() === '"') {
      const end = this.text.indexOf('"', this.position + 1);
      if (end < 0) this.fail("unclosed quoted field name");
      const name = this.text.slice(this.position + 1, end);
      this.position = end + 1;
      if (!FIELD_NAME.test(name)) this.fail(`field name "${name}" is not ${FIELD_NAME.source}`);
      return name;
    }
    return this.word();
  }
}

/** Parses a logical type (`varchar`, `map(varchar, bigint)`, `array(row(model varchar, rows bigint))`). */
export function parseLogicalType(text: string): LogicalType {
  return new LogicalTypeParser(text.trim()).parse();
}

/** The canonical spelling of a logical type, as Trino's information_schema prints it: `map(varchar, bigint)`. */
export function formatLogicalType(type: LogicalType): string {
  switch (type.kind) {
    case "scalar":
      return type.name;
    case "array":
      return `array(${formatLogicalType(type.element)})`;
    case "map":
      return `map(${formatLogicalType(type.key)}, ${formatLogicalType(type.value)})`;
    case "row":
      return `row(${type.fields.map((f) => `${f.name} ${formatLogicalType(f.type)}`).join(", ")})`;
  }
}

/** The canonical spelling of a logical type given as text (spaces normalised; an invalid type throws). */
export function canonicalLogicalType(text: string): string {
  return formatLogicalType(parseLogicalType(text));
}

export interface SystemColumn {
  readonly name: string;
  /** Logical type in canonical notation (canonicalLogicalType). */
  readonly type: string;
  /** One sentence for docs and Glue column comments (Glue allows 255 characters). */
  readonly description: string;
}

export interface SystemPartitionKey extends SystemColumn {
  /** Every value the key takes: its directories under the table's prefix. */
  readonly values: readonly string[];
  /** `<key>=<value>/` (Hive) or plain `<value>/` directories. */
  readonly dirs: "hive" | "plain";
}

export const SYSTEM_TABLE_NAMES = ["quarantine", "drops", "runs"] as const;
export type SystemTableName = (typeof SYSTEM_TABLE_NAMES)[number];

export interface SystemTable {
  readonly name: SystemTableName;
  readonly description: string;
  /** Who writes the table's files, and when (Markdown, for docs/system-tables.md). */
  readonly writtenBy: string;
  /** Key prefix of the table's files in the lake, ending in `/`. */
  readonly prefix: string;
  /** Parquet files, or JSON files of one object on one line each. */
  readonly format: "parquet" | "json-lines";
  /** Columns as stored in the files, in order. */
  readonly columns: readonly SystemColumn[];
  /** Partition keys, from the directories; every engine lists them after the columns. */
  readonly partitionKeys: readonly SystemPartitionKey[];
}

/** Where the ledger keeps its records: `ledger/<dir>/<drop_id>.json`. */
export const LEDGER_DIRS = ["drops", "rejected"] as const;

const TIMESTAMP_TEXT = "UTC, millisecond precision";

/** The rows of a run's `models` column: one entry per model of the plan. */
const MODEL_ENTRY =
  "row(model varchar, layer varchar, materialized varchar, status varchar, started_at timestamp(3), " +
  "finished_at timestamp(3), duration_ms bigint, rows bigint, bytes_scanned bigint, cost_usd double, error varchar)";

const col = (name: string, type: string, description: string): SystemColumn => ({
  name,
  type,
  description,
});

const DECLARED: Readonly<Record<SystemTableName, SystemTable>> = {
  quarantine: {
    name: "quarantine",
    description:
      "One row per input row that failed validation, with the reason; fix the source and re-drop. A re-ingest " +
      "replaces the drop's rows.",
    writtenBy: "ingest, one Parquet file per drop: `quarantine/dataset=<dataset>/<drop_id>.parquet`",
    prefix: LAKE.quarantinePrefix,
    format: "parquet",
    columns: [
      col("drop_id", "varchar", "Id of the drop (input file) the row came from"),
      col("line_number", "bigint", LINEAGE_COLUMNS[1].description),
      col(
        "reason_code",
        "varchar",
        "Stable reason code (REASON_CODES in functions/core/catalogue/contracts.ts)",
      ),
      col("reason", "varchar", "Readable message: the column, the value and what was expected"),
      col(
        "raw",
        "varchar",
        "The input record as read: the original line when it could not be parsed, else a JSON object of its fields",
      ),
    ],
    partitionKeys: [
      {
        ...col("dataset", "varchar", "Dataset the drop was ingested as"),
        values: DATASET_NAMES,
        dirs: "hive",
      },
    ],
  },
  drops: {
    name: "drops",
    description:
      "The drop ledger: one row per drop, its last successful ingest or its last rejected attempt.",
    writtenBy:
      "ingest, one JSON record per drop: `ledger/drops/<drop_id>.json` (its last successful ingest), " +
      "`ledger/rejected/<drop_id>.json` (its last whole-file rejection)",
    prefix: "ledger/",
    format: "json-lines",
    columns: [
      col("drop_id", "varchar", "Id of the drop: <file name>-<10 hex digits of sha256(dataset, source)>"),
      col("dataset", "varchar", "Dataset the drop was ingested as"),
      col("source", "varchar", "Where the drop came from (s3://bucket/key or a path)"),
      col("content_sha256", "varchar", "SHA-256 of the drop's bytes (hex)"),
      col("size_bytes", "bigint", "Size of the drop in bytes"),
      col("format", "varchar", "Detected or declared format (csv, jsonl, parquet; +gzip when compressed)"),
      col("profile", "varchar", "Source profile applied, if any"),
      col("status", "varchar", "ok, rejected (whole-file rejection) or duplicate"),
      col("rows_in", "bigint", "Rows read; rows_in = rows_ok + rows_quarantined"),
      col("rows_ok", "bigint", "Rows written to the curated dataset"),
      col("rows_quarantined", "bigint", "Rows written to the quarantine"),
      col("quarantine_reasons", "map(varchar, bigint)", "Quarantined rows per reason code"),
      col(
        "rows_duplicate",
        "bigint",
        "Rows that repeat an earlier row of the drop in every field (kept, or quarantined as duplicate_line); " +
          "null in records written before it was counted",
      ),
      col("error_code", "varchar", "Stable code of the whole-file error of a rejected drop"),
      col("error", "varchar", "Message of the whole-file error of a rejected drop"),
      col("warnings", "array(varchar)", "Warnings, e.g. unknown columns that were ignored"),
      col(
        "version",
        "varchar",
        "Version of the drop this record commits; its files carry it in their names (ADR 0010). " +
          "Null in records of lake format 1, which mean v1",
      ),
      col("output_keys", "array(varchar)", "Lake keys the drop wrote"),
      col(
        "first_business_day",
        "date",
        "First day (calendar.time_zone) of the order, sign-up or contact dates of the ok rows; null when none, " +
          "or in records written before it was recorded. On or before a scored as-of: late for it (ADR 0016)",
      ),
      col(
        "last_business_day",
        "date",
        "Last day (calendar.time_zone) of the order, sign-up or contact dates of the ok rows; null when none",
      ),
      col("started_at", "timestamp(3)", `Start of the ingest (${TIMESTAMP_TEXT})`),
      col("finished_at", "timestamp(3)", `End of the ingest (${TIMESTAMP_TEXT})`),
      col("duration_ms", "bigint", "Duration of the ingest in milliseconds"),
    ],
    partitionKeys: [
      {
        ...col(
          "ledger_dir",
          "varchar",
          "drops (the last successful ingest) or rejected (the last rejected attempt): the record's directory",
        ),
        values: LEDGER_DIRS,
        dirs: "plain",
      },
    ],
  },
  runs: {
    name: "runs",
    description:
      "One row per scoring run: its as-of date, status, timings, configuration and the outcome of every model.",
    writtenBy:
      "the model runner, one JSON record per run: `runs/log/<run_id>.json`, written when the run starts " +
      "(status running) and rewritten when it ends",
    prefix: MODEL_LAYOUT.runLogPrefix,
    format: "json-lines",
    columns: [
      col("run_id", "varchar", "Id of the run: its UTC start stamp and a random suffix, unless given"),
      col("as_of", "date", "Date the run computed every model as of"),
      col(
        "status",
        "varchar",
        "running, interrupted (out of time; resumes with the same run id), succeeded, failed, or deleted " +
          "(succeeded, and its outputs were removed since by crmlake runs delete or the retention sweep); a " +
          "record left running means " +
          "the process died",
      ),
      col("engine", "varchar", "Engine the models ran on (duckdb or athena)"),
      col("started_at", "timestamp(3)", `Start of the run (${TIMESTAMP_TEXT})`),
      col("finished_at", "timestamp(3)", `End of the run (${TIMESTAMP_TEXT}); null while it runs`),
      col("duration_ms", "bigint", "Duration of the run in milliseconds; null while it runs"),
      col("models_requested", "array(varchar)", "The models selection (--models); null for a full run"),
      col("config", "varchar", "The effective configuration, as JSON text"),
      col(
        "models",
        `array(${MODEL_ENTRY})`,
        "One entry per model of the plan, in run order: its layer, materialization, status (succeeded, " +
          "failed, not_run), timings, rows written (null for views), bytes scanned, cost and error",
      ),
      col(
        "bytes_scanned",
        "bigint",
        "Bytes the engine scanned over the run, the runner's checks included; null on engines without a bill",
      ),
      col("cost_usd", "double", "What those bytes cost in USD; null on engines without a bill (DuckDB)"),
      col(
        "error",
        "varchar",
        "Why the run failed or was interrupted, or when its outputs were deleted; null otherwise",
      ),
      col(
        "figures",
        "map(varchar, double)",
        "Figures of the run's stages followed across runs, e.g. clv_model.bg_nbd.r (the fitted parameters); " +
          "null in records written before they were recorded",
      ),
      col(
        "diagnostics",
        "array(varchar)",
        "Notes that are not failures: figures that moved past their threshold since the last successful run " +
          "(docs/lifetime-value.md), files still queued for ingest, a re-score's late drops, latest tables " +
          "re-pointed; empty when none",
      ),
      col(
        "inputs_taken_at",
        "timestamp(3)",
        `When the run read the drop ledger (${TIMESTAMP_TEXT}): drops committed later are not in its inputs ` +
          "(ADR 0016); null in records written before it was recorded",
      ),
    ],
    partitionKeys: [],
  },
};

/** Checks the declaration once: canonical types, unique names, descriptions Glue accepts. */
function checked(tables: Readonly<Record<SystemTableName, SystemTable>>): typeof tables {
  for (const table of Object.values(tables)) {
    const names = new Set<string>();
    for (const column of [...table.columns, ...table.partitionKeys]) {
      const where = `system table ${table.name}, column ${column.name}`;
      if (names.has(column.name)) throw new Error(`${where}: declared twice`);
      names.add(column.name);
      if (canonicalLogicalType(column.type) !== column.type) {
        throw new Error(
          `${where}: write the type "${column.type}" as "${canonicalLogicalType(column.type)}"`,
        );
      }
      if (column.description.length > 255) throw new Error(`${where}: description over 255 characters`);
    }
    for (const key of table.partitionKeys) {
      if (key.type !== "varchar") throw new Error(`system table ${table.name}: partition keys are varchar`);
    }
  }
  return tables;
}

export const SYSTEM_TABLES = checked(DECLARED);

/** Every column of a system table as a query sees it: the file's columns, then the partition keys. */
export function systemTableColumns(table: SystemTable): readonly SystemColumn[] {
  return [...table.columns, ...table.partitionKeys];
}

/** A `timestamp(3)` value as a JSON system table stores it: `2024-01-31 12:00:00.123` (UTC). */
export function jsonTimestamp(date: Date): string {
  return date.toISOString().replace("T", " ").replace("Z", "");
}
