/**
 * Typed decoding of GetQueryResults pages. Athena returns every value as text (`Datum.VarCharValue`) and
 * the types only in `ResultSetMetadata.ColumnInfo`; NULL is a Datum without VarCharValue, which is not the
 * same as `''`. Values come out in the runner's JsonValue convention (warehouse.ts, and what the DuckDB
 * adapter returns): BIGINT and DECIMAL as exact strings, DATE as `YYYY-MM-DD`, non-finite doubles as the
 * strings `NaN` / `Infinity` / `-Infinity` (JSON has no number for them), nested values as Athena's text.
 */
import type { ColumnInfo as AthenaColumnInfo, Row as AthenaRow, Datum } from "@aws-sdk/client-athena";
import { QueryFailedError } from "../../core/errors.ts";
import type { ColumnInfo, JsonValue, Row } from "../../core/ports/warehouse.ts";

/** Which query a value came from, for decoding errors. */
export interface DecodeContext {
  readonly queryExecutionId: string;
  readonly label: string;
}

/** Athena reports an unbounded varchar with this precision. */
const UNBOUNDED = 2_147_483_647;

function baseType(column: AthenaColumnInfo): string {
  return (column.Type ?? "varchar").trim().toLowerCase();
}

/** The engine's type name of a result column, e.g. `decimal(18,2)`, `varchar`, `timestamp(3)`. */
export function athenaTypeName(column: AthenaColumnInfo): string {
  const type = baseType(column);
  const precision = column.Precision;
  if (type === "decimal" && precision !== undefined) return `decimal(${precision},${column.Scale ?? 0})`;
  if (
    (type === "char" || type === "varchar") &&
    precision !== undefined &&
    precision > 0 &&
    precision < UNBOUNDED
  ) {
    return `${type}(${precision})`;
  }
  if (type === "timestamp" && precision !== undefined && precision > 0 && precision <= 12) {
    return `timestamp(${precision})`;
  }
  return type;
}

export function resultColumns(columns: readonly AthenaColumnInfo[]): ColumnInfo[] {
  return columns.map((c, i) => ({ name: c.Name ?? `_col${i}`, type: athenaTypeName(c) }));
}

/** `12.3` with scale 2 → `12.30`; `12.350` → `12.35`; undefined when the text is not a plain decimal. */
export function normaliseDecimal(text: string, scale: number): string | undefined {
  const match = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(text.trim());
  if (match === null) return undefined;
  const [, sign = "", digits = "", fraction = ""] = match;
  if (digits === "" && fraction === "") return undefined;
  const whole = digits.replace(/^0+(?=\d)/, "") || "0";
  // Extra digits beyond the declared scale are acceptable only as trailing zeros: nothing is rounded here.
  if (fraction.length > scale && /[^0]/.test(fraction.slice(scale))) return undefined;
  const kept = fraction.length > scale ? fraction.slice(0, scale) : fraction.padEnd(scale, "0");
  const negative = sign === "-" && /[1-9]/.test(whole + kept);
  return `${negative ? "-" : ""}${whole}${scale > 0 ? `.${kept}` : ""}`;
}

/**
 * `2024-01-02 03:04:05` / `…05.1` / `…05.123456` / `2024-01-02T03:04:05.123` → `2024-01-02 03:04:05.123`
 * (millisecond precision, like the lake's TIMESTAMP_MILLIS columns; sub-millisecond digits are cut).
 */
export function normaliseTimestamp(text: string): string | undefined {
  const match = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d{1,12}))?$/.exec(text.trim());
  if (match === null) return undefined;
  const [, day, time, fraction = ""] = match;
  return `${day} ${time}.${fraction.padEnd(3, "0").slice(0, 3)}`;
}

function decodeDouble(text: string): JsonValue | undefined {
  const trimmed = text.trim();
  if (trimmed === "NaN" || trimmed === "Infinity" || trimmed === "-Infinity") return trimmed;
  // Java renders doubles as `1.0E7`, `-1.5E-4`, `0.1`: all valid JS number syntax.
  if (!/^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(trimmed)) return undefined;
  return Number(trimmed);
}

function decodeText(text: string, column: AthenaColumnInfo): JsonValue | undefined {
  switch (baseType(column)) {
    case "boolean":
      return text === "true" ? true : text === "false" ? false : undefined;
    case "tinyint":
    case "smallint":
    case "integer":
    case "int":
      return /^-?\d+$/.test(text) ? Number(text) : undefined;
    case "bigint":
      return /^-?\d+$/.test(text) ? text : undefined;
    case "double":
    case "real":
    case "float":
      return decodeDouble(text);
    case "decimal":
      if (column.Scale !== undefined) return normaliseDecimal(text, column.Scale);
      return /^-?\d+(?:\.\d+)?$/.test(text) ? text : undefined;
    case "date":
      return /^\d{4}-\d{2}-\d{2}$/.test(text) ? text : undefined;
    case "timestamp":
      return normaliseTimestamp(text);
    default:
      // varchar, char, json, time, timestamp with time zone, varbinary, array, map, row, …: Athena's text.
      return text;
  }
}

/** One value: NULL is a Datum without VarCharValue; anything else decodes by the column's type or fails. */
export function decodeDatum(
  datum: Datum | undefined,
  column: AthenaColumnInfo,
  context: DecodeContext,
): JsonValue {
  const text = datum?.VarCharValue;
  if (text === undefined) return null;
  const value = decodeText(text, column);
  if (value === undefined) {
    throw new QueryFailedError(
      "athena_decode",
      `Athena query ${context.queryExecutionId} (${context.label}): column ${column.Name ?? "?"} of type ${athenaTypeName(column)} has the value "${text}", which is not a valid ${baseType(column)}`,
    );
  }
  return value;
}

/** True when `row` spells the column names: the header row Athena puts first on the first page of a SELECT. */
export function isHeaderRow(row: AthenaRow | undefined, columns: readonly AthenaColumnInfo[]): boolean {
  const data = row?.Data ?? [];
  if (data.length !== columns.length) return false;
  return columns.every((c, i) => {
    const value = data[i]?.VarCharValue;
    return value !== undefined && (value === c.Name || value === c.Label);
  });
}

export function decodeRows(
  rows: readonly AthenaRow[],
  columns: readonly AthenaColumnInfo[],
  context: DecodeContext,
): Row[] {
  const names = columns.map((c, i) => c.Name ?? `_col${i}`);
  return rows.map((row) => {
    const out: Row = {};
    const data = row.Data ?? [];
    for (const [i, column] of columns.entries()) {
      out[names[i] ?? `_col${i}`] = decodeDatum(data[i], column, context);
    }
    return out;
  });
}
