/**
 * Order-insensitive comparison of one relation as DuckDB and Trino return it: same column names, same types
 * after the normalisation below, same rows. Every rule that lets two different spellings count as equal is
 * listed here, with the reason it is not an engine difference:
 *
 * Types (both sides lower-cased, spaces removed: Trino reports `decimal(18, 2)`, DuckDB `DECIMAL(18,2)`):
 * - T1 `varchar(n)` (Trino) ≡ `varchar`: Trino types a string literal as varchar(<its length>), so a CASE of
 *   literals becomes varchar(8) where DuckDB says VARCHAR. The bound is fixed by the model's text (never by the
 *   data or a parameter: lint rule `varchar-parameter-column`), and the values are compared exactly.
 * - T2 `timestamp_ms` (DuckDB) ≡ `timestamp(3)`: both are millisecond timestamps; DuckDB names the precision
 *   in the type name, Trino in the parameter. `timestamp` (DuckDB, microseconds) ≡ `timestamp(6)`.
 * - T3 `T[]` (DuckDB list) ≡ `array(T)`.
 * Nothing else is normalised: integer widths (integer vs bigint), decimal precision and scale, double, date and
 * boolean must match exactly.
 *
 * Values, per (normalised) type:
 * - decimal(p,s): the digits at scale s: DuckDB and Trino both print the full scale; a value with more
 *   fractional digits than s, or a different integer part, is a difference;
 * - integers: as exact integers (Trino's protocol sends numbers, DuckDB's JSON strings for BIGINT);
 * - double/real: equal within a relative 1e-9 (absolute 1e-12 near 0), NaN only equals NaN, ±Infinity itself;
 * - timestamp(3): `YYYY-MM-DD HH:MM:SS.fff`, DuckDB dropping trailing zeros of the fraction (`.12`, none
 *   when zero) is padded back to three digits; nothing is rounded;
 * - date, varchar, boolean: exactly (strings code unit for code unit, so non-ASCII text must round-trip);
 * - arrays, maps, JSON: as canonical JSON (object keys sorted);
 * - NULL equals only NULL.
 *
 * A relation may declare further column mappings (`ColumnMapping`) where the two engines read a file through
 * deliberately different declarations (the ledger: DuckDB infers TIMESTAMP and JSON, the Glue table declares
 * ISO-8601 strings and a map).
 */

export interface Column {
  readonly name: string;
  readonly type: string;
}

export interface Relation {
  readonly columns: readonly Column[];
  /** Values in column order, as each engine's client returns them. */
  readonly rows: readonly (readonly unknown[])[];
}

/** How to compare a column that the two engines declare differently on purpose. */
export interface ColumnMapping {
  readonly duckdb: string;
  readonly trino: string;
  /** `iso-timestamp`: DuckDB TIMESTAMP vs an ISO-8601 `…T…Z` string; `json`: JSON text vs a map/array. */
  readonly as: "iso-timestamp" | "json";
  readonly why: string;
}

export interface CompareOptions {
  /** Columns that identify a row (rows are paired on them); default every non-double column. */
  readonly key?: readonly string[];
  /** `exact`: same names in the same order (model outputs); `set`: same names (tables with partition keys last). */
  readonly columnOrder: "exact" | "set";
  /** Columns only one engine has, by design, with the reason. */
  readonly onlyIn?: { readonly duckdb?: readonly string[]; readonly trino?: readonly string[] };
  readonly mappings?: Readonly<Record<string, ColumnMapping>>;
}

export interface Comparison {
  /** Empty when the relations agree. */
  readonly problems: readonly string[];
  readonly duckdbRows: number;
  readonly trinoRows: number;
  /** DOUBLE values compared, how many were not bit-identical, and the largest relative difference among those. */
  readonly doubles: { readonly compared: number; readonly inexact: number; readonly maxRelative: number };
}

const MAX_EXAMPLES = 5;
const NO_DOUBLES = { compared: 0, inexact: 0, maxRelative: 0 } as const;

/** A type in one vocabulary (rules T1–T3). */
export function normaliseType(engine: "duckdb" | "trino", type: string): string {
  let t = type.toLowerCase().replace(/\s+/g, "");
  if (engine === "trino") return t.replace(/\bvarchar\(\d+\)/g, "varchar");
  t = t.replace(/\btimestamp_ms\b/g, "timestamp(3)").replace(/\btimestamp(?![_(])/g, "timestamp(6)");
  while (/\[\]$/.test(t)) t = `array(${t.slice(0, -2)})`;
  return t;
}

type Canonical = string | number | null;

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(",")}}`;
  }
  if (typeof value === "bigint") return value.toString();
  return JSON.stringify(value) ?? "null";
}

function decimalText(value: unknown, scale: number): string {
  const text = String(value);
  const match = /^(-?)(\d+)(?:\.(\d*))?$/.exec(text);
  if (match === null) return `not a decimal: ${text}`;
  const fraction = (match[3] ?? "").padEnd(scale, "0");
  return `${match[1]}${match[2]}${scale > 0 ? `.${fraction}` : fraction}`;
}

function timestampText(value: unknown): string {
  const text = String(value);
  const match = /^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})(?:\.(\d+))?$/.exec(text);
  if (match === null) return `not a timestamp: ${text}`;
  return `${match[1]}.${(match[2] ?? "").padEnd(3, "0")}`;
}

/** DuckDB's TIMESTAMP text as the ISO-8601 UTC string the ledger stores (millisecond precision). */
function isoTimestamp(value: unknown): string {
  const text = String(value);
  const match = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d+))?$/.exec(text);
  return match === null ? text : `${match[1]}T${match[2]}.${(match[3] ?? "").padEnd(3, "0")}Z`;
}

function canonical(
  type: string,
  value: unknown,
  mapping: ColumnMapping | undefined,
  engine: "duckdb" | "trino",
): Canonical {
  if (value === null || value === undefined) return null;
  if (mapping?.as === "iso-timestamp") return engine === "duckdb" ? isoTimestamp(value) : String(value);
  if (mapping?.as === "json" || /^(array|map|row)\(/.test(type)) {
    return stableJson(typeof value === "string" && mapping?.as === "json" ? JSON.parse(value) : value);
  }
  const decimal = /^decimal\(\d+,(\d+)\)$/.exec(type);
  if (decimal) return decimalText(value, Number(decimal[1]));
  if (/^(tinyint|smallint|integer|bigint|hugeint)$/.test(type)) return BigInt(String(value)).toString();
  if (type === "double" || type === "real") {
    if (typeof value === "number") return value;
    const special: Record<string, number> = { NaN: Number.NaN, Infinity: Infinity, "-Infinity": -Infinity };
    return special[String(value)] ?? `not a double: ${String(value)}`;
  }
  if (type === "timestamp(3)") return timestampText(value);
  if (type === "boolean")
    return value === true ? "true" : value === false ? "false" : `not a boolean: ${String(value)}`;
  return String(value);
}

function doublesEqual(a: number, b: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (a === b) return true;
  const diff = Math.abs(a - b);
  return diff <= 1e-12 || diff <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
}

function valuesEqual(a: Canonical, b: Canonical): boolean {
  if (typeof a === "number" && typeof b === "number") return doublesEqual(a, b);
  return a === b;
}

function show(value: Canonical): string {
  return value === null ? "NULL" : typeof value === "number" ? String(value) : JSON.stringify(value);
}

interface Prepared {
  readonly names: readonly string[];
  readonly rows: readonly Canonical[][];
}

/** Compares `duckdb` with `trino`; `label` names the relation in every problem. */
export function compareRelations(
  label: string,
  duckdb: Relation,
  trino: Relation,
  options: CompareOptions,
): Comparison {
  const problems: string[] = [];
  const onlyDuck = new Set(options.onlyIn?.duckdb ?? []);
  const onlyTrino = new Set(options.onlyIn?.trino ?? []);
  const duckColumns = duckdb.columns.filter((c) => !onlyDuck.has(c.name));
  const trinoColumns = trino.columns.filter((c) => !onlyTrino.has(c.name));
  const duckNames = duckColumns.map((c) => c.name);
  const trinoNames = trinoColumns.map((c) => c.name);
  const sameNames =
    options.columnOrder === "exact"
      ? duckNames.join(",") === trinoNames.join(",")
      : [...duckNames].sort().join(",") === [...trinoNames].sort().join(",");
  if (!sameNames) {
    problems.push(
      `${label}: columns differ: DuckDB (${duckNames.join(", ")}) vs Trino (${trinoNames.join(", ")})`,
    );
    return { problems, duckdbRows: duckdb.rows.length, trinoRows: trino.rows.length, doubles: NO_DOUBLES };
  }

  const names = duckNames;
  const types = new Map<string, string>();
  for (const name of names) {
    const d = duckColumns.find((c) => c.name === name);
    const t = trinoColumns.find((c) => c.name === name);
    if (d === undefined || t === undefined) continue;
    const mapping = options.mappings?.[name];
    const dType = normaliseType("duckdb", d.type);
    const tType = normaliseType("trino", t.type);
    if (mapping !== undefined) {
      if (
        dType !== normaliseType("duckdb", mapping.duckdb) ||
        tType !== normaliseType("trino", mapping.trino)
      ) {
        problems.push(
          `${label}.${name}: expected the mapped types ${mapping.duckdb} (DuckDB) / ${mapping.trino} (Trino), got ${d.type} / ${t.type}`,
        );
      }
    } else if (dType !== tType) {
      problems.push(`${label}.${name}: type differs: DuckDB ${d.type} vs Trino ${t.type}`);
    }
    types.set(name, tType);
  }
  if (problems.length > 0)
    return { problems, duckdbRows: duckdb.rows.length, trinoRows: trino.rows.length, doubles: NO_DOUBLES };

  const prepare = (engine: "duckdb" | "trino", relation: Relation): Prepared => {
    const index = names.map((n) => relation.columns.findIndex((c) => c.name === n));
    return {
      names,
      rows: relation.rows.map((row) =>
        names.map((n, i) =>
          canonical(types.get(n) ?? "", row[index[i] ?? -1], options.mappings?.[n], engine),
        ),
      ),
    };
  };
  const d = prepare("duckdb", duckdb);
  const t = prepare("trino", trino);

  const isDouble = (n: string) => /^(double|real)$/.test(types.get(n) ?? "");
  const keyColumns = options.key ?? names.filter((n) => !isDouble(n));
  const keyIndex = keyColumns.map((k) => names.indexOf(k));
  if (keyIndex.some((i) => i < 0))
    throw new Error(`${label}: key ${keyColumns.join(", ")} is not a subset of the columns`);
  const keyOf = (row: readonly Canonical[]) => stableJson(keyIndex.map((i) => row[i] ?? null));
  // Within one key, pair rows in the order of their full content (doubles rounded, for ordering only).
  const sortText = (row: readonly Canonical[]) =>
    stableJson(row.map((v) => (typeof v === "number" ? Number(v.toPrecision(9)) : v)));
  const group = (rows: readonly Canonical[][]) => {
    const groups = new Map<string, Canonical[][]>();
    for (const row of rows) {
      const key = keyOf(row);
      const list = groups.get(key) ?? [];
      list.push(row);
      groups.set(key, list);
    }
    for (const list of groups.values()) list.sort((a, b) => (sortText(a) < sortText(b) ? -1 : 1));
    return groups;
  };
  const dGroups = group(d.rows);
  const tGroups = group(t.rows);

  const rowText = (row: readonly Canonical[]) =>
    `{${names.map((n, i) => `${n}: ${show(row[i] ?? null)}`).join(", ")}}`;
  const onlyInDuck: Canonical[][] = [];
  const onlyInTrino: Canonical[][] = [];
  const mismatches = new Map<string, [Canonical[], Canonical[]][]>();
  const mismatchCounts = new Map<string, number>();
  const doubles = { compared: 0, inexact: 0, maxRelative: 0 };
  for (const key of new Set([...dGroups.keys(), ...tGroups.keys()])) {
    const left = dGroups.get(key) ?? [];
    const right = tGroups.get(key) ?? [];
    const paired = Math.min(left.length, right.length);
    onlyInDuck.push(...left.slice(paired));
    onlyInTrino.push(...right.slice(paired));
    for (let r = 0; r < paired; r++) {
      const a = left[r] ?? [];
      const b = right[r] ?? [];
      names.forEach((name, i) => {
        const x = a[i] ?? null;
        const y = b[i] ?? null;
        if (typeof x === "number" && typeof y === "number") {
          doubles.compared++;
          if (x !== y && !(Number.isNaN(x) && Number.isNaN(y))) {
            doubles.inexact++;
            const relative = Math.abs(x - y) / Math.max(Math.abs(x), Math.abs(y));
            if (relative > doubles.maxRelative) doubles.maxRelative = relative;
          }
        }
        if (valuesEqual(x, y)) return;
        mismatchCounts.set(name, (mismatchCounts.get(name) ?? 0) + 1);
        const examples = mismatches.get(name) ?? [];
        if (examples.length < MAX_EXAMPLES) examples.push([a, b]);
        mismatches.set(name, examples);
      });
    }
  }
  if (onlyInDuck.length > 0 || onlyInTrino.length > 0) {
    problems.push(
      [
        `${label}: rows differ (key ${keyColumns.join(", ")}): ${duckdb.rows.length} on DuckDB, ${trino.rows.length} on Trino; ${onlyInDuck.length} only on DuckDB, ${onlyInTrino.length} only on Trino`,
        ...onlyInDuck.slice(0, MAX_EXAMPLES).map((row) => `  DuckDB only: ${rowText(row)}`),
        ...onlyInTrino.slice(0, MAX_EXAMPLES).map((row) => `  Trino only:  ${rowText(row)}`),
      ].join("\n"),
    );
  }
  for (const [name, examples] of mismatches) {
    problems.push(
      [
        `${label}.${name} (${types.get(name)}): ${mismatchCounts.get(name)} row(s) differ, e.g.`,
        ...examples.flatMap(([a, b]) => [`  DuckDB: ${rowText(a)}`, `  Trino:  ${rowText(b)}`]),
      ].join("\n"),
    );
  }
  return { problems, duckdbRows: duckdb.rows.length, trinoRows: trino.rows.length, doubles };
}
