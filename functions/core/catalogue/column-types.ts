/**
 * Column types of model outputs: the small set a model header may declare (`-- column <name> <type>: …`),
 * and the mapping of each engine's type names onto it, so the runner can check a model's real output against
 * its header on every engine, and the catalogue (Glue) can declare the published tables from the headers.
 *
 * The notation is Trino's (Athena's), lower case, as Athena's information_schema reports it. Pure: no engine
 * is imported here (infra reads the headers at synth time).
 *
 * Decisions (docs/adr/0002-model-runner.md, decision 12):
 * - The set is what the models produce, plus `array(T)`: bigint, integer, double, decimal(p,s), varchar, date,
 *   timestamp(3), boolean, array(T) of any of them (nested arrays too). Anything else (smallint, real, char,
 *   map, row, json, …) is refused in a header until a model needs it and both engines are shown to agree.
 * - `timestamp(3)` is the only timestamp. The lake stores milliseconds (TIMESTAMP_MILLIS) and Athena reads a
 *   Parquet timestamp through a Hive table as timestamp(3) whatever the file holds. DuckDB's TIMESTAMP
 *   (microseconds) and TIMESTAMP_MS both map to it: it is what DuckDB produces for the lake's millisecond
 *   timestamps once a model computes with them. TIMESTAMP_S / TIMESTAMP_NS map to timestamp(0) / timestamp(9),
 *   and Trino's timestamp(6) stays timestamp(6): both differ from the declared type.
 * - DuckDB's HUGEINT (what SUM of a BIGINT gives) maps to `hugeint`, never to bigint: it is a 128-bit integer
 *   that Parquet and Athena do not have (DuckDB writes it as a DOUBLE). The model must CAST it to BIGINT.
 * - A bounded `varchar(n)` stays `varchar(n)` and so differs from `varchar`: Trino types a string literal as
 *   varchar(<its length>) and a CTAS keeps that bound, so a CASE of literals becomes varchar(8) on Trino and
 *   VARCHAR on DuckDB, and a table declared varchar(8) truncates longer values of other partitions. The model
 *   must CAST such a column to VARCHAR.
 * - Spaces after a comma or inside parentheses are not significant: `decimal(18, 2)` (as Trino's
 *   information_schema prints it) is `decimal(18,2)`. Upper case is refused in a header (one spelling) and
 *   folded in engine names (DuckDB reports `DECIMAL(18,2)`).
 */

/** The scalar types a header may declare, in canonical notation. */
export const SCALAR_COLUMN_TYPES = [
  "bigint",
  "integer",
  "double",
  "varchar",
  "date",
  "timestamp(3)",
  "boolean",
] as const;

/** Every form a header may declare, for messages. */
export const COLUMN_TYPE_FORMS = [
  "bigint",
  "integer",
  "double",
  "decimal(p,s)",
  "varchar",
  "date",
  "timestamp(3)",
  "boolean",
  "array(<type>)",
] as const;

/** The largest decimal precision Trino, Athena and DuckDB all support. */
export const MAX_DECIMAL_PRECISION = 38;

export type ColumnTypeParse =
  | { readonly ok: true; readonly type: string }
  | { readonly ok: false; readonly reason: string };

/** Removes the spaces that carry no meaning: after `(` and `,`, before `)` and `,`, at both ends. */
function squeeze(text: string): string {
  return text
    .trim()
    .replace(/\s*,\s*/g, ",")
    .replace(/\(\s+/g, "(")
    .replace(/\s+\)/g, ")");
}

const DECIMAL = /^decimal\((\d+),(\d+)\)$/;
const ARRAY = /^array\((.*)\)$/;

function parseSqueezed(text: string): ColumnTypeParse {
  if ((SCALAR_COLUMN_TYPES as readonly string[]).includes(text)) return { ok: true, type: text };
  const array = ARRAY.exec(text);
  if (array !== null) {
    const element = parseSqueezed(array[1] ?? "");
    return element.ok ? { ok: true, type: `array(${element.type})` } : element;
  }
  const decimal = DECIMAL.exec(text);
  if (decimal !== null) {
    const precision = Number(decimal[1]);
    const scale = Number(decimal[2]);
    if (precision < 1 || precision > MAX_DECIMAL_PRECISION || scale > precision) {
      return {
        ok: false,
        reason: `"${text}" is not a valid decimal: the precision p must be 1 to ${MAX_DECIMAL_PRECISION} and the scale s 0 to p`,
      };
    }
    return { ok: true, type: `decimal(${precision},${scale})` };
  }
  const hint = hintFor(text);
  return { ok: false, reason: `"${text}" is not an allowed column type${hint}` };
}

function hintFor(text: string): string {
  const lower = text.toLowerCase();
  if (lower !== text && parseSqueezed(lower).ok) return ` (types are written in lower case: "${lower}")`;
  if (/\s/.test(text))
    return " (a type has no spaces outside its parentheses; is the colon after the type missing?)";
  if (text === "decimal") return ' (give the precision and scale, e.g. "decimal(18,2)")';
  if (text === "timestamp" || /^timestamp\(\d+\)$/.test(text))
    return ' (timestamps are millisecond timestamps: "timestamp(3)")';
  if (/^varchar\(\d+\)$/.test(text) || /^char(\(\d+\))?$/.test(text))
    return ' (strings are unbounded: "varchar"; CAST a bounded string to VARCHAR in the SELECT)';
  if (text === "int") return ' (write "integer")';
  return "";
}

/**
 * A header's column type in canonical notation (`decimal(18, 2)` → `decimal(18,2)`), or why it is not allowed.
 */
export function parseColumnType(text: string): ColumnTypeParse {
  const squeezed = squeeze(text);
  if (squeezed === "") return { ok: false, reason: "the type is empty" };
  return parseSqueezed(squeezed);
}

/** DuckDB type names that are spelled differently in Trino notation. */
const DUCKDB_NAMES: Readonly<Record<string, string>> = {
  timestamp: "timestamp(3)",
  timestamp_ms: "timestamp(3)",
  timestamp_s: "timestamp(0)",
  timestamp_ns: "timestamp(9)",
  "timestamp with time zone": "timestamp(6) with time zone",
  float: "real",
  blob: "varbinary",
};

/**
 * An engine's type name in the header notation, for comparison with a declared type: DuckDB's names
 * (`BIGINT`, `DECIMAL(18,2)`, `TIMESTAMP`, `VARCHAR[]`, `HUGEINT`) and Trino's / Athena's (`bigint`,
 * `decimal(18, 2)`, `timestamp(3)`, `array(varchar)`, `varchar(5)`). A type outside the allowed set comes back
 * in Trino spelling where there is one (`hugeint`, `varchar(5)`, `smallint`, `real`) and so equals no declared
 * type: the caller reports it as a mismatch. See the decisions at the top of this file.
 */
export function canonicalType(engineType: string): string {
  const text = squeeze(engineType).toLowerCase();
  if (text.endsWith("[]")) return `array(${canonicalType(text.slice(0, -2))})`;
  const array = ARRAY.exec(text);
  if (array !== null) return `array(${canonicalType(array[1] ?? "")})`;
  const decimal = DECIMAL.exec(text);
  if (decimal !== null) return `decimal(${Number(decimal[1])},${Number(decimal[2])})`;
  return DUCKDB_NAMES[text] ?? text;
}
