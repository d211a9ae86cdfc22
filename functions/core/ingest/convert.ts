import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readdir } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import type { DuckDBConnection } from "../../engines/duckdb/session.ts";
import { sqlIdent, sqlString } from "../../engines/duckdb/session.ts";
import {
  type ColumnContract,
  type DatasetContract,
  REASON_CODES,
  type ReasonCode,
} from "../catalogue/contracts.ts";
import { dayIn } from "../dates.ts";
import { errorMessage, IngestError, ResourceError } from "../errors.ts";
import type { BrokenRecord, CsvLayout } from "./csv-scan.ts";
import { type FutureDateLimit, futureDateChecks } from "./future-dates.ts";
import { decodeHead, type FileFacts, looksBinary, parseFirstRecord, readTextHead } from "./inspect.ts";
import {
  checkLineRules,
  lineTypeRaw,
  quarantineDuplicatesSql,
  quarantinesDuplicates,
  recordHashSql,
} from "./line-rules.ts";
import type { SourceProfile } from "./profile.ts";

/** What converting one drop produced, in a local staging directory. */
export interface Conversion {
  rowsIn: number;
  rowsOk: number;
  rowsQuarantined: number;
  /** Records that repeat an earlier record of the drop in every field (line-rules.ts), kept or quarantined. */
  rowsDuplicate: number;
  reasons: Partial<Record<ReasonCode, number>>;
  /** Curated Parquet files, with the Hive partition value when the dataset is partitioned. */
  curatedFiles: { localPath: string; partitionValue?: string }[];
  quarantineFile?: string;
  warnings: string[];
  /**
   * The first and last business day of the ok rows: the days, in the business time zone, of the contract's
   * dates of things that happened (notInFuture columns); null when the dataset has none or no row is ok
   * (ADR 0016: what makes a drop late for a scored as-of).
   */
  businessDays: { first: string; last: string } | null;
}

interface ConvertInput {
  connection: DuckDBConnection;
  path: string;
  displayName: string;
  facts: FileFacts;
  profile: SourceProfile;
  contract: DatasetContract;
  dropId: string;
  outDir: string;
  /** Rows dated after this limit are quarantined as future_date (future-dates.ts); absent: no such check. */
  futureDates?: FutureDateLimit;
  /**
   * The business time zone (config calendar.time_zone, canonicalZone): a timestamp written without an offset
   * is wall-clock time there. Absent: UTC.
   */
  timeZone?: string;
  /** Told the wall time of each step as it ends (the ingest benchmark's profile, IngestOptions.onStep). */
  onStep?: (step: string, ms: number) => void;
}

/** How a contract column gets its value from the source. */
type Resolution =
  | { kind: "column"; source: number }
  | { kind: "product"; left: number; right: number; label: string }
  | { kind: "constant"; value: string }
  | { kind: "absent" };

const norm = (name: string) => name.trim().toLowerCase();

/** Source column names: from the header, the profile, the JSON keys or the Parquet schema. */
async function sourceColumns(input: ConvertInput, rejectsId: string): Promise<string[]> {
  const { connection, path, facts, profile, displayName } = input;
  if (facts.format === "parquet") {
    const reader = await connection.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${sqlString(path)})`);
    return reader.getRowObjectsJS().map((row) => String(row.column_name));
  }
  const head = await readTextHead(path, facts);
  if (looksBinary(head)) {
    throw new IngestError(
      "bad_format",
      `"${displayName}" is not a text file (it contains NUL bytes); expected ${facts.format === "csv" ? "delimited text" : "JSON Lines"}`,
    );
  }
  const text = decodeHead(head, profile.encoding);
  if (text.trim() === "")
    throw new IngestError("empty_file", `"${displayName}" has no data rows (only whitespace)`);
  if (facts.format === "csv") {
    if (!profile.header) {
      if (!profile.columns) {
        throw new IngestError(
          "missing_column_names",
          `"${displayName}": the profile says the file has no header, so it must list "columns" (names in file order)`,
        );
      }
      return profile.columns;
    }
    const names = parseFirstRecord(text, facts.delimiter, profile.quote).map((n) => n.trim());
    const seen = new Set<string>();
    for (const name of names) {
      if (seen.has(norm(name))) {
        throw new IngestError(
          "duplicate_column",
          `"${displayName}" has the column "${name}" twice in its header`,
        );
      }
      seen.add(norm(name));
    }
    return names;
  }
  // JSON Lines: the first non-blank line must be a JSON object; the columns are the union of all keys.
  const firstLine = text.split(/\r?\n/).find((line) => line.trim() !== "") ?? "";
  try {
    const parsed: unknown = JSON.parse(firstLine);
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
      throw new Error("not an object");
  } catch {
    throw new IngestError(
      "bad_format",
      `"${displayName}" is not JSON Lines: its first line is not a JSON object (${JSON.stringify(firstLine.slice(0, 60))})`,
    );
  }
  const keys = await connection.runAndReadAll(
    `SELECT DISTINCT unnest(json_keys(line)) AS k FROM (${jsonLines(input, rejectsId)})
     WHERE line IS NOT NULL AND json_valid(line) AND json_type(line) = 'OBJECT' ORDER BY k`,
  );
  await connection.run(`DROP TABLE rejects_${rejectsId}; DROP TABLE scans_${rejectsId}`);
  return keys.getRowObjectsJS().map((row) => String(row.k));
}

function jsonLines(input: ConvertInput, rejectsId: string): string {
  // One VARCHAR column per line: a delimiter and no quoting that JSON never needs unescaped.
  return `SELECT line, ordinality AS k FROM read_csv(${sqlString(input.path)}, header = false,
    columns = {'line': 'VARCHAR'}, auto_detect = false, delim = '\x1e', quote = '', escape = '',
    encoding = ${sqlString(input.profile.encoding)}, compression = ${input.facts.gzip ? "'gzip'" : "'none'"},
    store_rejects = true, rejects_table = ${sqlString(`rejects_${rejectsId}`)},
    rejects_scan = ${sqlString(`scans_${rejectsId}`)}) WITH ORDINALITY`;
}

/** JSON keys grouped case-insensitively, in order of first appearance: one source column per group. */
function groupKeys(keys: string[]): string[][] {
  const groups = new Map<string, string[]>();
  for (const key of keys) {
    const group = groups.get(norm(key));
    if (group) group.push(key);
    else groups.set(norm(key), [key]);
  }
  return [...groups.values()];
}

const jsonPath = (key: string) => sqlString(`$."${key.replaceAll('"', '\\"')}"`);

/** An id column (`…_id`): its values are names, never quantities, so a number must be read exactly. */
const isIdColumn = (column: ColumnContract) => column.type === "varchar" && column.name.endsWith("_id");

// 2^53: every whole number below it is exactly one double, so 17850.0 can only have been written for 17850.
const EXACT_DOUBLE = "9007199254740992";

/**
 * The text of an id in a JSON record. A whole number is its digits whatever way it is written (17850,
 * 17850.0, 1.785e4 all name customer "17850"): JSON does not tell them apart, and a file may hold both.
 * A number with a fraction is no id; jsonIdInexact flags it (and one too large to be read exactly).
 */
function jsonIdText(key: string): string {
  const path = jsonPath(key);
  const number = `TRY_CAST(json_extract(obj, ${path}) AS DOUBLE)`;
  return `CASE WHEN json_type(obj, ${path}) = 'DOUBLE' AND ${number} = trunc(${number}) AND abs(${number}) < ${EXACT_DOUBLE}
    THEN CAST(CAST(${number} AS BIGINT) AS VARCHAR) ELSE json_extract_string(obj, ${path}) END`;
}

function jsonIdInexact(key: string): string {
  const path = jsonPath(key);
  const number = `TRY_CAST(json_extract(obj, ${path}) AS DOUBLE)`;
  return `(json_type(obj, ${path}) = 'DOUBLE' AND NOT regexp_full_match(json_extract_string(obj, ${path}), '-?[0-9]+')
    AND NOT (${number} = trunc(${number}) AND abs(${number}) < ${EXACT_DOUBLE}))`;
}

/** SQL for the message of a record holding one key in two spellings ("Amount" and "amount"), else NULL. */
function duplicateKeys(spellings: string[][]): string {
  const checks = spellings
    .filter((group) => group.length > 1)
    .map((group) => {
      const present = (key: string) => `json_exists(obj, ${jsonPath(key)})`;
      const count = group.map((key) => `CAST(${present(key)} AS INTEGER)`).join(" + ");
      const names = group.map((key) => `CASE WHEN ${present(key)} THEN ${sqlString(`"${key}"`)} END`);
      return `CASE WHEN ${count} > 1 THEN ${sqlString(`the record names the column "${norm(group[0] ?? "")}" more than once, in different case (`)} || concat_ws(', ', ${names.join(", ")}) || '): keys match columns case-insensitively' END`;
    });
  return checks.length === 0 ? "CAST(NULL AS VARCHAR)" : `COALESCE(${checks.join(", ")})`;
}

/**
 * A copy of a delimited file (decompressed) without the first lines of its broken records: DuckDB reads it
 * instead of the file, and resumes after each broken record at its next line. Made only for a file that has
 * broken records; the scan that finds them shares the hashing read (inspect.ts).
 */
async function copyWithoutLines(
  input: ConvertInput,
  broken: BrokenRecord[],
  target: string,
): Promise<CsvSource> {
  let offset = 0;
  let next = 0;
  const cut = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const end = offset + chunk.length;
      const kept: Buffer[] = [];
      let at = offset;
      while (at < end) {
        const range = broken[next];
        if (!range || range.start >= end) {
          kept.push(chunk.subarray(at - offset));
          break;
        }
        if (range.start > at) kept.push(chunk.subarray(at - offset, range.start - offset));
        at = Math.max(at, Math.min(range.end, end));
        if (range.end <= end) next += 1;
      }
      offset = end;
      done(null, Buffer.concat(kept));
    },
  });
  const read = createReadStream(input.path);
  await (input.facts.gzip
    ? pipeline(read, createGunzip(), cut, createWriteStream(target))
    : pipeline(read, cut, createWriteStream(target)));
  return { path: target, gzip: false };
}

/** Maps every contract column to where its value comes from; rejects the file if a required one is missing. */
function resolveColumns(
  input: ConvertInput,
  sources: string[],
): { resolutions: Map<string, Resolution>; warnings: string[] } {
  const { contract, profile, displayName } = input;
  const renamed = sources.map((name) => {
    const rename = Object.entries(profile.rename).find(([from]) => norm(from) === norm(name));
    return norm(rename ? rename[1] : name);
  });
  const used = new Set<number>();
  const find = (name: string) => renamed.indexOf(norm(name));
  const resolutions = new Map<string, Resolution>();
  const contractNames = new Set(contract.columns.map((c) => c.name));

  for (const unknown of Object.keys(profile.defaults).filter((k) => !contractNames.has(k))) {
    throw new IngestError(
      "bad_profile",
      `The profile sets a default for "${unknown}", which is not a ${contract.name} column. Columns: ${[...contractNames].join(", ")}`,
    );
  }

  for (const column of contract.columns) {
    const index = find(column.name);
    const derive = column.name === "amount" ? profile.derive?.amount : undefined;
    if (index >= 0) {
      resolutions.set(column.name, { kind: "column", source: index });
      used.add(index);
    } else if (derive) {
      const [a, b] = derive.multiply;
      const left = find(a);
      const right = find(b);
      for (const [name, i] of [
        [a, left],
        [b, right],
      ] as const) {
        if (i < 0) {
          throw new IngestError(
            "missing_column",
            `"${displayName}" has no column "${name}" needed to derive amount. Columns found: ${sources.join(", ")}`,
          );
        }
      }
      resolutions.set(column.name, { kind: "product", left, right, label: `${a} × ${b}` });
      used.add(left).add(right);
    } else if (profile.defaults[column.name] !== undefined) {
      resolutions.set(column.name, { kind: "constant", value: profile.defaults[column.name] ?? "" });
    } else if (column.required) {
      throw new IngestError(
        "missing_column",
        `"${displayName}" has no column "${column.name}", which ${contract.name} requires. Columns found: ${sources.join(", ") || "(none)"}. Map one with "rename" in a source profile (--profile).`,
      );
    } else {
      resolutions.set(column.name, { kind: "absent" });
    }
  }
  const ignored = new Set(profile.ignore_columns.map(norm));
  const unknown = sources.filter((name, i) => !used.has(i) && !ignored.has(norm(name)));
  const warnings =
    unknown.length > 0 ? [`ignored unknown columns in "${displayName}": ${unknown.join(", ")}`] : [];
  return { resolutions, warnings };
}

/**
 * SQL that turns a raw text into a number string DuckDB parses: trims (unless `trimmed` says it is already:
 * trim reads every character of the value, and a second trim changes nothing), drops thousands marks, uses `.`.
 */
function numericText(expr: string, profile: SourceProfile, trimmed = false): string {
  let out = trimmed ? expr : `trim(${expr})`;
  if (profile.thousands_separator !== "")
    out = `replace(${out}, ${sqlString(profile.thousands_separator)}, '')`;
  if (profile.decimal_separator === ",") out = `replace(${out}, ',', '.')`;
  return out;
}

interface ColumnSql {
  /** Layer 2: the parsed value of `r_<name>` (NULL when empty or unparseable), named `p_<name>`. */
  parsed: string;
  /** Layer 3: the output value from `p_<name>`. */
  value: string;
  /** Checks on `r_<name>` and `p_<name>`, in priority order. */
  checks: { when: string; code: ReasonCode; message: string }[];
}

/**
 * The SQL of one column in three layers, each referring to the previous layer's columns by name so
 * DuckDB parses every value once: r_<name> (raw text), p_<name> (parsed), then the output and checks.
 */
function columnSql(
  column: ColumnContract,
  profile: SourceProfile,
  timeZone: string,
  canonicalNumber = false,
  rawTrimmed = false,
): ColumnSql {
  // A derived amount is already SQL-formatted text (1234.50): the profile's separators must not apply.
  const numbers: SourceProfile = canonicalNumber
    ? { ...profile, decimal_separator: ".", thousands_separator: "" }
    : profile;
  const raw = sqlIdent(`r_${column.name}`);
  const p = sqlIdent(`p_${column.name}`);
  const checks: ColumnSql["checks"] = [];
  const quoted = `'"' || ${raw} || '"'`;
  if (column.required) {
    checks.push({
      when: `${raw} IS NULL`,
      code: column.name === "customer_id" ? "missing_customer_id" : "missing_required",
      message: `'${column.name} is empty'`,
    });
  }
  let parsed: string;
  let value: string = p;
  switch (column.type) {
    case "varchar":
      parsed = raw;
      if (column.allowed) {
        parsed = `lower(${raw})`;
        checks.push({
          when: `${raw} IS NOT NULL AND ${p} NOT IN (${column.allowed.map(sqlString).join(", ")})`,
          code: "bad_value",
          message: `'${column.name} ' || ${quoted} || ' is not one of ${column.allowed.join(", ")}'`,
        });
      }
      break;
    case "integer":
    case "bigint": {
      // DECIMAL(18,6) keeps DuckDB on 64-bit arithmetic (DECIMAL(38,…) is 4–5× slower per value).
      parsed = `TRY_CAST(${numericText(raw, numbers, rawTrimmed)} AS ${column.type === "integer" ? "DECIMAL(18,6)" : "DECIMAL(38,6)"})`;
      const [min, max] =
        column.type === "integer"
          ? ["-2147483648", "2147483647"]
          : ["-9223372036854775808", "9223372036854775807"];
      value = `CAST(${p} AS ${column.type === "integer" ? "INTEGER" : "BIGINT"})`;
      // A number too large for the parse (NULL) or for the column is out of range, not "not whole".
      const number = `regexp_full_match(${numericText(raw, numbers, rawTrimmed)}, '[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?')`;
      checks.push({
        when: `(${p} IS NULL OR ${p} < ${min} OR ${p} > ${max}) AND ${raw} IS NOT NULL AND ${number}`,
        code: "bad_quantity",
        message: `'${column.name} ' || ${quoted} || ' is out of range (${column.type === "integer" ? "a whole number from -2147483648 to 2147483647" : "a 64-bit whole number"})'`,
      });
      checks.push({
        when: `${raw} IS NOT NULL AND (${p} IS NULL OR ${p} <> trunc(${p}))`,
        code: "bad_quantity",
        message: `'${column.name} ' || ${quoted} || ' is not a whole number'`,
      });
      break;
    }
    case "decimal": {
      // Parsed at 6 decimals (64-bit, fast), then rounded half away from zero to cents. Money is
      // therefore limited to |value| < 10^12 per line: larger values are quarantined as bad_amount.
      parsed = `TRY_CAST(${numericText(raw, numbers, rawTrimmed)} AS DECIMAL(18,6))`;
      value = `CAST(${p} AS DECIMAL(18,2))`;
      checks.push({
        when: `${raw} IS NOT NULL AND ${p} IS NULL`,
        code: "bad_amount",
        message: `'${column.name} ' || ${quoted} || ' is not a number below 10^12'`,
      });
      if (column.nonNegative) {
        checks.push({
          when: `${p} < 0`,
          code: "bad_amount",
          message: `'${column.name} ' || ${quoted} || ' must not be negative'`,
        });
      }
      break;
    }
    case "share": {
      // Parsed (and rounded) at 6 decimals, then held to 0 < value < 1: 1 or more, or 0 or less, is no split.
      parsed = `TRY_CAST(${numericText(raw, numbers, rawTrimmed)} AS DECIMAL(18,6))`;
      value = `CAST(${p} AS DECIMAL(9,6))`;
      checks.push({
        when: `${raw} IS NOT NULL AND (${p} IS NULL OR ${p} <= 0 OR ${p} >= 1)`,
        code: "bad_share",
        message: `'${column.name} ' || ${quoted} || ' is not a number strictly between 0 and 1'`,
      });
      break;
    }
    case "timestamp": {
      const read = profile.timestamp_formats
        ? `try_strptime(${raw}, [${profile.timestamp_formats.map(sqlString).join(", ")}])`
        : `TRY_CAST(${raw} AS TIMESTAMPTZ)`;
      // A value without an offset is wall-clock time in the business zone, the session's zone (convertDrop
      // sets it), and the stored value is its UTC time. UTC skips the conversion, which costs ICU calls.
      parsed =
        timeZone === "UTC"
          ? profile.timestamp_formats
            ? read
            : `CAST(${read} AS TIMESTAMP)`
          : `timezone('UTC', CAST(${read} AS TIMESTAMPTZ))`;
      value = `CAST(${p} AS TIMESTAMP_MS)`;
      const expected = profile.timestamp_formats ? profile.timestamp_formats.join(" or ") : "ISO 8601";
      checks.push({
        when: `${raw} IS NOT NULL AND (${p} IS NULL OR ${p} < TIMESTAMP '1900-01-01' OR ${p} >= TIMESTAMP '2200-01-01')`,
        code: "bad_timestamp",
        message: `'${column.name} ' || ${quoted} || ' is not a timestamp (expected ${expected.replaceAll("'", "''")}, years 1900–2199)'`,
      });
      break;
    }
    case "date": {
      parsed = profile.date_formats
        ? `CAST(try_strptime(${raw}, [${profile.date_formats.map(sqlString).join(", ")}]) AS DATE)`
        : `TRY_CAST(${raw} AS DATE)`;
      const expected = profile.date_formats ? profile.date_formats.join(" or ") : "YYYY-MM-DD";
      checks.push({
        when: `${raw} IS NOT NULL AND (${p} IS NULL OR ${p} < DATE '1900-01-01' OR ${p} >= DATE '2200-01-01')`,
        code: "bad_date",
        message: `'${column.name} ' || ${quoted} || ' is not a date (expected ${expected.replaceAll("'", "''")}, years 1900–2199)'`,
      });
      break;
    }
  }
  if (column.default !== undefined) value = `COALESCE(${value}, ${column.default})`;
  return { parsed, value, checks };
}

/**
 * DuckDB's line limit and read buffer for a delimited file. DuckDB's default buffer is 16 × max_line_size per
 * reading thread (152 MiB at the 10 MB limit ingest needs for a file with long records), and it is what makes
 * ingest's memory grow with the drop. A small buffer is safe only when no record exceeds max_line_size: with a
 * 16 MiB buffer, a record over the limit that crosses a buffer's end made DuckDB lose the records after it (on
 * 1.5.6). The record scan measured every record, so a file whose longest record is under SMALL_RECORD_BYTES
 * (the common case by far) gets max_line_size 4 MiB, which no record of it can reach even if its encoding
 * doubles its bytes in UTF-8, and a 16 MiB buffer; any other file (no scan, or a longer record) keeps the
 * 10 MB limit and DuckDB's default buffer. The record count check after the read stays either way.
 */
export const SMALL_RECORD_BYTES = 1024 * 1024;

export function csvReadOptions(layout: CsvLayout | undefined): string {
  if (layout !== undefined && layout.longestRecord <= SMALL_RECORD_BYTES) {
    return `max_line_size = ${4 * SMALL_RECORD_BYTES}, buffer_size = ${16 * SMALL_RECORD_BYTES}`;
  }
  return "max_line_size = 10000000";
}

/** Rows a `count(DISTINCT …)` takes at a time (countDistinct). */
export const DISTINCT_SLICE_ROWS = 2_000_000;

/**
 * The rows of `table` and the distinct values of its hash column `column` (a UBIGINT). One
 * `count(DISTINCT …)` holds every distinct value in a hash table that does not spill, so its memory grows with
 * the drop (190 MB more at 16 M rows: docs/development.md, Benchmarks). The values are counted in slices of
 * the hash space instead (`column % slices`), each of about `sliceRows` rows: the slices are disjoint, so
 * their counts add up to the exact total, and memory stays within one slice's.
 */
export async function countDistinct(
  connection: DuckDBConnection,
  table: string,
  column: string,
  sliceRows = DISTINCT_SLICE_ROWS,
): Promise<{ rows: number; distinct: number }> {
  const first = async (sql: string) =>
    Number((await connection.runAndReadAll(sql)).getRowObjectsJS()[0]?.n ?? 0);
  const rows = await first(`SELECT count(*) AS n FROM ${table}`);
  const slices = Math.max(1, Math.ceil(rows / sliceRows));
  let distinct = 0;
  for (let slice = 0; slice < slices; slice++) {
    const where = slices === 1 ? "" : ` WHERE ${column} % ${slices} = ${slice}`;
    distinct += await first(`SELECT count(DISTINCT ${column}) AS n FROM ${table}${where}`);
  }
  return { rows, distinct };
}

/** Where DuckDB reads a delimited file: the file itself, or a copy without its broken lines. */
interface CsvSource {
  readonly path: string;
  readonly gzip: boolean;
}

/**
 * Every field of a delimited file as text (c1..cN); unparseable records go to the rejects table. No ordinal:
 * DuckDB numbers rows (WITH ORDINALITY) in a single-threaded operator, which made the whole read, parse and
 * checks run on one thread. A record's ordinal is its row id in the table it is read into (below).
 */
function csvReaderSql(
  input: ConvertInput,
  source: CsvSource,
  columnCount: number,
  rejectsId: string,
): string {
  const { facts, profile } = input;
  const { path } = source;
  const columns = Array.from({ length: columnCount }, (_, i) => `'c${i + 1}': 'VARCHAR'`).join(", ");
  return `SELECT * FROM read_csv(${sqlString(path)}, header = ${profile.header},
    columns = {${columns}}, auto_detect = false, delim = ${sqlString(facts.delimiter)},
    quote = ${sqlString(profile.quote)}, escape = ${sqlString(profile.quote)}, null_padding = false,
    encoding = ${sqlString(profile.encoding)}, compression = ${source.gzip ? "'gzip'" : "'none'"},
    ${csvReadOptions(input.facts.format === "csv" ? input.facts.layout : undefined)}, store_rejects = true, rejects_table = ${sqlString(`rejects_${rejectsId}`)},
    rejects_scan = ${sqlString(`scans_${rejectsId}`)})`;
}

/**
 * Loads the scan's line shifts into `lines_<runId>` when a delimited file has any (an empty line, a quoted
 * field over several lines, a broken record): "none" when record numbers are the physical lines already.
 * The caller has checked that DuckDB read the records the scan found.
 */
async function lineShifts(
  connection: DuckDBConnection,
  runId: string,
  layout: CsvLayout | undefined,
): Promise<"none" | "shifted"> {
  if (!layout || layout.shifts.length === 0) return "none";
  await connection.run(`CREATE TEMP TABLE lines_${runId} (record BIGINT, logical BIGINT, physical BIGINT)`);
  for (let i = 0; i < layout.shifts.length; i += 1000) {
    const values = layout.shifts
      .slice(i, i + 1000)
      .map((shift) => `(${shift.record}, ${shift.logical}, ${shift.physical})`);
    await connection.run(`INSERT INTO lines_${runId} VALUES ${values.join(", ")}`);
  }
  return "shifted";
}

/**
 * Converts one drop with DuckDB: read every field as text, type and validate it per the contract, and
 * write curated rows and quarantined rows to Parquet in `outDir`. Nothing is published here.
 *
 * One scan of the file parses, types and checks every record into a temporary table (which DuckDB spills to
 * its temp directory past its memory limit, so memory stays flat in the file's size) and collects the
 * records DuckDB's CSV reader itself rejects; the curated rows and the quarantined rows are written from that
 * table. Their counts must reconcile with the records read.
 */
export async function convertDrop(input: ConvertInput): Promise<Conversion> {
  const { connection, contract, profile, facts, dropId, outDir } = input;
  const timeZone = input.timeZone ?? "UTC";
  let stepStarted = performance.now();
  const stepDone = (step: string) => {
    const now = performance.now();
    input.onStep?.(step, now - stepStarted);
    stepStarted = now;
  };
  // A timestamp cast without an offset reads in the session's zone; columnSql converts it to UTC explicitly.
  if (timeZone !== "UTC") await connection.run(`SET TimeZone = ${sqlString(timeZone)}`);
  // Row order within the output files does not matter (line numbers travel with the rows), and keeping it
  // makes DuckDB buffer across threads: memory then grows with the drop (reference/parquet-writers.md). Only
  // the typed table below is created in order.
  await connection.run("SET preserve_insertion_order = false");
  const runId = `${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const layout = facts.format === "csv" ? facts.layout : undefined;
  const broken = layout?.broken ?? [];
  if (broken[0]?.line === 1 && profile.header) {
    throw new IngestError(
      "bad_format",
      `"${input.displayName}": its header is broken: ${broken[0].reason}. Check the quoting of the first line`,
    );
  }
  await checkLineRules(connection, profile);
  const keys = await sourceColumns(input, `${runId}_keys`);
  // JSON keys match contract columns case-insensitively, as CSV headers do: "Amount" and "amount" in two
  // records are one column. (A header naming one column twice rejects a CSV file; a record with one key
  // twice is quarantined: see duplicateKeys.)
  const spellings = facts.format === "jsonl" ? groupKeys(keys) : keys.map((key) => [key]);
  const sources = spellings.map((group) => group[0] ?? "");
  const { resolutions, warnings } = resolveColumns(input, sources);
  // Sources that feed an id column: in JSON Lines, a number there must be read exactly (jsonIdText).
  const idSources = new Set(
    contract.columns.flatMap((column) => {
      const resolution = resolutions.get(column.name);
      return isIdColumn(column) && resolution?.kind === "column" ? [resolution.source] : [];
    }),
  );
  await mkdir(outDir, { recursive: true });
  // The records broken by a stray quote are left out of what DuckDB reads (csv-scan.ts).
  const csvSource: CsvSource =
    broken.length > 0
      ? await copyWithoutLines(input, broken, join(outDir, "readable.csv"))
      : { path: input.path, gzip: facts.gzip };

  // The file's one scan: a row per record with text fields c1..cN and (but for a delimited file, see
  // csvReaderSql) k, the record's ordinal among parsed records. Its rejects go to rejects_<runId>.
  const scan = ((): string => {
    if (facts.format === "csv") return csvReaderSql(input, csvSource, sources.length, runId);
    if (facts.format === "jsonl") {
      const fields = spellings.flatMap((group, i) => {
        const isId = idSources.has(i);
        const value = `COALESCE(${group.map((key) => (isId ? jsonIdText(key) : `json_extract_string(obj, ${jsonPath(key)})`)).join(", ")})`;
        return isId
          ? [
              `${value} AS c${i + 1}`,
              `COALESCE(${group.map(jsonIdInexact).join(" OR ")}, false) AS __inexact${i + 1}`,
            ]
          : [`${value} AS c${i + 1}`];
      });
      // Fields are extracted from valid objects only: json_extract_string fails the query on malformed JSON.
      return `SELECT ${fields.join(", ")}, ${duplicateKeys(spellings)} AS __dup, line AS __line, k, obj IS NULL AS __bad FROM (
          SELECT CASE WHEN json_valid(line) AND json_type(line) = 'OBJECT' THEN line END AS obj, line, k
          FROM (${jsonLines(input, runId)}) WHERE line IS NOT NULL AND trim(line) <> '')`;
    }
    const fields = sources.map((name, i) => `CAST(${sqlIdent(name)} AS VARCHAR) AS c${i + 1}`);
    return `SELECT ${fields.join(", ")}, ordinality AS k FROM read_parquet(${sqlString(input.path)}) WITH ORDINALITY`;
  })();
  const hasRejectsTable = facts.format !== "parquet";
  const rawJson =
    facts.format === "jsonl"
      ? "__line"
      : `CAST(json_object(${sources.map((name, i) => `${sqlString(name)}, c${i + 1}`).join(", ")}) AS VARCHAR)`;

  // Typing and validation, in three layers (raw text → parsed → output and reason).
  const rawColumns: string[] = [];
  const parsedColumns: string[] = [];
  const outputs: string[] = [];
  const checks: { when: string; code: ReasonCode; message: string }[] = [];
  if (facts.format === "jsonl") {
    checks.push({ when: "__bad", code: "malformed_row", message: "'the line is not a JSON object'" });
    checks.push({ when: "__dup IS NOT NULL", code: "malformed_row", message: "__dup" });
  }
  const columnSqls = new Map<string, ColumnSql>();
  let productRaw: string | undefined;
  for (const column of contract.columns) {
    const resolution = resolutions.get(column.name) ?? { kind: "absent" };
    let raw: string;
    // Trimmed, unless the file has no field that trim would change (padding.ts): trim reads every character.
    if (resolution.kind === "column")
      raw =
        facts.format === "csv" && facts.padded === false
          ? `NULLIF(c${resolution.source + 1}, '')`
          : `NULLIF(trim(c${resolution.source + 1}), '')`;
    else if (resolution.kind === "constant") raw = `NULLIF(${sqlString(resolution.value)}, '')`;
    else if (resolution.kind === "product") {
      // amount = quantity × unit price, rounded half away from zero to cents; the raw text of a
      // product that cannot be computed names both inputs, so the quarantine message shows them.
      const [a, b] = [`c${resolution.left + 1}`, `c${resolution.right + 1}`];
      const l = `TRY_CAST(${numericText(a, profile)} AS DECIMAL(18,6))`;
      const r = `TRY_CAST(${numericText(b, profile)} AS DECIMAL(18,6))`;
      raw = `CASE WHEN NULLIF(trim(${a}), '') IS NULL OR NULLIF(trim(${b}), '') IS NULL THEN NULL
        WHEN ${l} IS NULL OR ${r} IS NULL THEN ${sqlString(`${resolution.label}: `)} || ${a} || ' × ' || ${b}
        ELSE CAST(TRY_CAST(${l} * ${r} AS DECIMAL(18,2)) AS VARCHAR) END`;
    } else raw = "CAST(NULL AS VARCHAR)";
    // line_type: the file's value, else the profile's non_product_lines rule on the product id (line-rules.ts).
    if (column.name === "line_type")
      raw = lineTypeRaw(profile, resolution.kind === "absent" ? undefined : raw, productRaw);
    if (column.name === "product_id" && resolution.kind !== "absent") productRaw = raw;
    // A column's raw text is trimmed already (NULLIF(trim(c), '') above): its parse need not trim it again.
    const sql = columnSql(
      column,
      profile,
      timeZone,
      resolution.kind === "product",
      resolution.kind === "column",
    );
    if (resolution.kind === "column" && idSources.has(resolution.source) && facts.format === "jsonl") {
      sql.checks.push({
        when: `__inexact${resolution.source + 1}`,
        code: "bad_id",
        message: `'${column.name} "' || ${sqlIdent(`r_${column.name}`)} || '" is a JSON number with a fraction, or too large to read exactly; an id must be a string or a whole number'`,
      });
    }
    columnSqls.set(column.name, sql);
    rawColumns.push(`${raw} AS ${sqlIdent(`r_${column.name}`)}`);
    parsedColumns.push(`${sql.parsed} AS ${sqlIdent(`p_${column.name}`)}`);
    // Only a row that passes every check has an output: the cast of a failing value may not even exist.
    outputs.push(`CASE WHEN __fail IS NULL THEN ${sql.value} END AS ${sqlIdent(column.name)}`);
  }
  // customer_id first: a row without a customer is quarantined for that, whatever else is wrong with it.
  const ordered = [...contract.columns].sort(
    (a, b) => Number(b.name === "customer_id") - Number(a.name === "customer_id"),
  );
  for (const column of ordered) {
    checks.push(...(columnSqls.get(column.name)?.checks ?? []));
  }
  if (input.futureDates) checks.push(...futureDateChecks(contract, input.futureDates));
  if (contract.name === "campaigns") {
    checks.push({
      when: "p_ends_on < p_starts_on",
      code: "bad_date_range",
      message: "'ends_on is before starts_on'",
    });
  }
  // The first failing check (a short-circuit CASE) decides the reason; messages are built for failures only.
  const failing = `CASE ${checks.map((c, i) => `WHEN ${c.when} THEN ${i + 1}`).join(" ")} END`;
  const byCheck = (pick: (c: (typeof checks)[number]) => string) =>
    `CASE WHEN __fail IS NOT NULL THEN CASE __fail ${checks.map((c, i) => `WHEN ${i + 1} THEN ${pick(c)}`).join(" ")} END END`;

  // The one read of the file: every record parsed, typed and checked once into a temporary table (DuckDB's
  // CSV reader stores the records it cannot parse in the rejects table on the way), from which the curated
  // and quarantined rows are written. The table spills to DuckDB's temp directory past its memory limit. No
  // filter sits above the layers: DuckDB's filter pushdown would substitute each p_<name> by its parse in
  // the filter, parsing a value once per check that reads it (1.8× slower ingest, observed on 1.5.6).
  // Every field is referenced (the raw text of a failing row), so DuckDB parses them all and validates their
  // encoding and their number: with fewer, it skips parsing the others (observed on 1.5.6).
  const typedTable = `typed_${runId}`;
  // A delimited file's k is the row id plus one: a table created from a query keeps the rows in the order
  // the reader produced them, the file's, when insertion order is preserved.
  stepDone("prepare");
  await connection.run("SET preserve_insertion_order = true");
  await connection.run(`CREATE TEMP TABLE ${typedTable} AS
      SELECT ${outputs.join(", ")}, ${facts.format === "csv" ? "" : "k, "}__fail,
        ${quarantinesDuplicates(profile) ? rawJson : `CASE WHEN __fail IS NOT NULL THEN ${rawJson} END`} AS raw,
        ${byCheck((c) => `'${c.code}'`)} AS reason_code, ${byCheck((c) => c.message)} AS reason,
        ${recordHashSql(facts.format === "jsonl" ? ["__line"] : sources.map((_, i) => `c${i + 1}`))} AS __hash
      FROM (SELECT *, ${failing} AS __fail FROM (SELECT *, ${parsedColumns.join(", ")}
        FROM (SELECT *, ${rawColumns.join(", ")} FROM (${scan}))))`);
  await connection.run("SET preserve_insertion_order = false");
  stepDone("read and validate");
  const typedRows = (where: string) =>
    `SELECT *${facts.format === "csv" ? ", rowid + 1 AS k" : ""} FROM ${typedTable} WHERE ${where}`;
  if (quarantinesDuplicates(profile)) {
    await connection.run(
      quarantineDuplicatesSql(typedTable, facts.format === "csv" ? "rowid" : "k", checks.length + 1),
    );
  }
  const { rows: parsedCount, distinct } = await countDistinct(connection, typedTable, "__hash");
  const rowsDuplicate = parsedCount - distinct;
  stepDone("count duplicates");
  const rejectsTable = `rejects_${runId}`;
  if (!hasRejectsTable)
    await connection.run(
      `CREATE TEMP TABLE ${rejectsTable} (line BIGINT, column_idx BIGINT, error_type VARCHAR, csv_line VARCHAR, error_message VARCHAR)`,
    );
  const rejectedRows = Number(
    (
      await connection.runAndReadAll(`SELECT count(DISTINCT line) AS n FROM ${rejectsTable}`)
    ).getRowObjectsJS()[0]?.n ?? 0,
  );
  const rowsIn = parsedCount + rejectedRows + broken.length;
  // A header and no rows is a normal export ("no sales today"): a drop of zero rows, not an error.
  if (parsedCount === 0 && rejectedRows > 0 && facts.format === "csv") {
    const sample = await connection.runAndReadAll(`SELECT error_message FROM ${rejectsTable} LIMIT 1`);
    throw new IngestError(
      "unreadable",
      `"${input.displayName}" could not be parsed as ${facts.delimiter === "\t" ? "tab" : `"${facts.delimiter}"`}-delimited text: no record parsed (${String(sample.getRowObjectsJS()[0]?.error_message ?? "").split("\n")[0]})`,
    );
  }
  // Every record is accounted for, or the drop is refused: the scan of the file (csv-scan.ts) counted the
  // records DuckDB must read, so a reader that read another number (a record dropped or split) would make a
  // drop whose rows_in no longer reconciles with its file. Refused as unreadable, nothing is published and the
  // file stays where it landed.
  const headerLines = facts.format === "csv" && profile.header ? 1 : 0;
  const recordsRead = parsedCount + rejectedRows + headerLines;
  if (layout !== undefined && layout.records !== recordsRead) {
    throw new IngestError(
      "unreadable",
      `"${input.displayName}" holds ${layout.records - headerLines} records by a scan of the file, but the CSV reader read ${recordsRead - headerLines}; refused rather than ingest a drop that does not account for every record`,
    );
  }
  // Physical line numbers (the contract's promise): DuckDB numbers records, and its rejects by lines that
  // skip line ends inside quoted fields; the scan of the file (csv-scan.ts) knows where each record starts.
  const shifted = (await lineShifts(connection, runId, layout)) === "shifted";
  // DuckDB stores one reject per error, e.g. one per missing field: one record, one quarantine row.
  // record_number counts records (a header included); line_number is the record's first physical line.
  await connection.run(`CREATE TEMP TABLE reject_rows_${runId} AS
    SELECT g.line + ${shifted ? "COALESCE(s.record - s.logical, 0)" : "0"} AS record_number,
      g.line + ${shifted ? "COALESCE(s.physical - s.logical, 0)" : "0"} AS line_number, error_type, csv_line
    FROM (SELECT CAST(line AS BIGINT) AS line, arg_min(error_type, column_idx) AS error_type, any_value(csv_line) AS csv_line
      FROM ${rejectsTable} GROUP BY line) g
    ${shifted ? `ASOF LEFT JOIN lines_${runId} s ON g.line >= s.logical` : ""}`);
  await connection.run(
    hasRejectsTable ? `DROP TABLE ${rejectsTable}; DROP TABLE scans_${runId}` : `DROP TABLE ${rejectsTable}`,
  );
  await connection.run(`CREATE TEMP TABLE broken_${runId} (line_number BIGINT, reason VARCHAR, raw VARCHAR)`);
  if (broken.length > 0) {
    const insert = await connection.prepare(`INSERT INTO broken_${runId} VALUES ($1, $2, $3)`);
    const decoder = new TextDecoder(profile.encoding === "latin-1" ? "latin1" : "utf-8");
    for (const record of broken) {
      insert.bindBigInt(1, BigInt(record.line));
      insert.bindVarchar(
        2,
        `${record.reason}: the record is broken, so this line is quarantined and reading resumes at line ${record.line + 1}`,
      );
      insert.bindVarchar(3, decoder.decode(record.raw));
      await insert.run();
    }
  }

  // Record numbers: the k-th parsed record is record k (+1 for a header) plus the rejected records before it.
  // `offsets` maps "number of parsed records before reject j" to j, so a windowed max finds the count.
  // `rows` is any selection of the typed table: a row's number depends on its k alone.
  let recordNumbered: (rows: string) => string;
  if (rejectedRows === 0 || facts.format !== "csv") {
    recordNumbered = (rows) => `SELECT *, k + ${headerLines} AS line_number FROM (${rows})`;
  } else {
    await connection.run(`CREATE TEMP TABLE offsets_${runId} AS
      SELECT t, max(j) AS j FROM (
        SELECT record_number - ${headerLines} - row_number() OVER (ORDER BY record_number) AS t,
               row_number() OVER (ORDER BY record_number) AS j FROM reject_rows_${runId})
      GROUP BY t`);
    recordNumbered = (
      rows,
    ) => `SELECT * EXCLUDE (__pos, __kind, __j), __pos + ${headerLines} + COALESCE(__j, 0) AS line_number
      FROM (
        SELECT *, max(__j0) OVER (ORDER BY __pos, __kind ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS __j
        FROM (
          SELECT s.*, s.k AS __pos, 1 AS __kind, CAST(NULL AS BIGINT) AS __j0 FROM (${rows}) s
          UNION ALL BY NAME
          SELECT t AS __pos, 2 AS __kind, j AS __j0 FROM offsets_${runId}))
      WHERE __kind = 1`;
  }
  // ...and its physical line is its record number shifted by the scan's lines table.
  const numbered = shifted
    ? (
        rows: string,
      ) => `SELECT n.* EXCLUDE (line_number), n.line_number + COALESCE(s.physical - s.record, 0) AS line_number
        FROM (${recordNumbered(rows)}) n ASOF LEFT JOIN lines_${runId} s ON n.line_number >= s.record`
    : recordNumbered;

  stepDone("rejects and numbering");
  // Curated rows, from the typed table.
  const curatedDir = join(outDir, "curated");
  await mkdir(curatedDir, { recursive: true });
  const dataColumns = [
    ...contract.columns.map((c) => sqlIdent(c.name)),
    `${sqlString(dropId)} AS drop_id`,
    "line_number",
  ];
  const partition = contract.partition;
  let rowsOk: number;
  if (partition) {
    // The partition column is written into the files as well as the path: Athena's tables over the dataset
    // read the files a manifest lists and have no partitions (ADR 0010, decision 5).
    const copy = await connection.runAndReadAll(`COPY (
        SELECT ${dataColumns.join(", ")}, strftime(${sqlIdent(partition.from)}, '%Y-%m') AS ${sqlIdent(partition.column)}
        FROM (${numbered(typedRows("__fail IS NULL"))})
      ) TO ${sqlString(curatedDir)} (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (${sqlIdent(partition.column)}),
        WRITE_PARTITION_COLUMNS true, FILENAME_PATTERN 'part_{i}', OVERWRITE_OR_IGNORE true)`);
    rowsOk = Number(copy.getRowObjectsJS()[0]?.Count ?? 0);
  } else {
    const copy = await connection.runAndReadAll(`COPY (
        SELECT ${dataColumns.join(", ")} FROM (${numbered(typedRows("__fail IS NULL"))})
      ) TO ${sqlString(join(curatedDir, "part_0.parquet"))} (FORMAT parquet, COMPRESSION zstd)`);
    rowsOk = Number(copy.getRowObjectsJS()[0]?.Count ?? 0);
  }

  stepDone("write curated");
  // Quarantined rows, including the records the reader rejected.
  const quarantineFile = join(outDir, "quarantine.parquet");
  const quarantine = await connection.runAndReadAll(`COPY (
      SELECT ${sqlString(dropId)} AS drop_id, CAST(line_number AS BIGINT) AS line_number, reason_code, reason, raw
      FROM (${numbered(typedRows("__fail IS NOT NULL"))})
      UNION ALL
      SELECT ${sqlString(dropId)}, line_number,
        CASE WHEN error_type = 'INVALID ENCODING' THEN 'bad_encoding' ELSE 'malformed_row' END,
        CASE error_type
          WHEN 'TOO MANY COLUMNS' THEN 'the record has more fields than the header (${sources.length})'
          WHEN 'MISSING COLUMNS' THEN 'the record has fewer fields than the header (${sources.length})'
          WHEN 'UNQUOTED VALUE' THEN 'a quoted field is followed by other characters before the next delimiter (a quote inside a quoted field must be doubled)'
          WHEN 'INVALID ENCODING' THEN 'the record is not valid ${profile.encoding}'
          ELSE 'the record cannot be parsed: ' || lower(error_type) END,
        regexp_replace(csv_line, '^[\\r\\n]+', '')
      FROM reject_rows_${runId}
      UNION ALL
      SELECT ${sqlString(dropId)}, line_number, 'malformed_row', reason, raw FROM broken_${runId}
    ) TO ${sqlString(quarantineFile)} (FORMAT parquet, COMPRESSION zstd)`);
  const rowsQuarantined = Number(quarantine.getRowObjectsJS()[0]?.Count ?? 0);
  stepDone("write quarantine");

  if (rowsOk + rowsQuarantined !== rowsIn) {
    // Not a user error: DuckDB and the ledger disagree. Never record a ledger that does not add up.
    throw new Error(
      `Internal error ingesting "${input.displayName}": ${rowsIn} records read but ${rowsOk} curated + ${rowsQuarantined} quarantined`,
    );
  }

  const reasonRows = await connection.runAndReadAll(
    `SELECT reason_code, count(*) AS n FROM read_parquet(${sqlString(quarantineFile)}) GROUP BY 1 ORDER BY 1`,
  );
  const reasons: Partial<Record<ReasonCode, number>> = {};
  for (const row of reasonRows.getRowObjectsJS()) {
    const code = String(row.reason_code);
    if (code in REASON_CODES) reasons[code as ReasonCode] = Number(row.n);
  }
  const businessDays = await businessDayRange(connection, typedTable, contract, timeZone);
  await connection.run(
    `DROP TABLE ${typedTable}; DROP TABLE reject_rows_${runId}; DROP TABLE broken_${runId}; DROP TABLE IF EXISTS offsets_${runId}; DROP TABLE IF EXISTS lines_${runId}`,
  );

  stepDone("reasons");
  return {
    rowsIn,
    rowsOk,
    rowsQuarantined,
    rowsDuplicate,
    reasons,
    curatedFiles: rowsOk > 0 ? await listParquet(curatedDir, partition?.column) : [],
    ...(rowsQuarantined > 0 ? { quarantineFile } : {}),
    warnings,
    businessDays,
  };
}

/**
 * The first and last business day of the ok rows of the typed table (Conversion.businessDays): one pass over
 * the contract's notInFuture columns. A timestamp is UTC; its day in the business zone is monotonic in the
 * instant, so the days of the least and greatest instants are the first and last days.
 */
async function businessDayRange(
  connection: DuckDBConnection,
  typedTable: string,
  contract: DatasetContract,
  timeZone: string,
): Promise<Conversion["businessDays"]> {
  const columns = contract.columns.filter((c) => c.notInFuture === true);
  if (columns.length === 0) return null;
  const bounds = columns.flatMap((c, i) =>
    c.type === "timestamp"
      ? [`epoch_ms(min(${sqlIdent(c.name)})) AS lo${i}`, `epoch_ms(max(${sqlIdent(c.name)})) AS hi${i}`]
      : [
          `strftime(min(${sqlIdent(c.name)}), '%Y-%m-%d') AS lo${i}`,
          `strftime(max(${sqlIdent(c.name)}), '%Y-%m-%d') AS hi${i}`,
        ],
  );
  const reader = await connection.runAndReadAll(
    `SELECT ${bounds.join(", ")} FROM ${typedTable} WHERE __fail IS NULL`,
  );
  const row = reader.getRowObjectsJS()[0] ?? {};
  const days = columns.flatMap((c, i) =>
    [row[`lo${i}`], row[`hi${i}`]].flatMap((value) => {
      if (value === null || value === undefined) return [];
      return [c.type === "timestamp" ? dayIn(new Date(Number(value)), timeZone) : String(value)];
    }),
  );
  if (days.length === 0) return null;
  days.sort();
  return { first: days[0] as string, last: days[days.length - 1] as string };
}

async function listParquet(dir: string, partitionColumn?: string): Promise<Conversion["curatedFiles"]> {
  const files = (await readdir(dir, { recursive: true })).filter((f) => f.endsWith(".parquet")).sort();
  return files.map((file) => {
    const parts = relative(dir, join(dir, file)).split(sep);
    const partitionPart = partitionColumn
      ? parts.find((p) => p.startsWith(`${partitionColumn}=`))
      : undefined;
    return {
      localPath: join(dir, file),
      ...(partitionPart
        ? { partitionValue: decodeURIComponent(partitionPart.slice(partitionColumn?.length ?? 0).slice(1)) }
        : {}),
    };
  });
}

/**
 * DuckDB's and Node's words for running out of memory or disk (DuckDB 1.5.6's texts, provoked with a small
 * memory_limit and a 2 MB tmpfs; test/unit/ingest-resources.test.ts): "Out of Memory Error: failed to
 * allocate data of size …", "… failed to offload data block … set by the 'max_temp_directory_size' setting"
 * (the spill directory's disk is full), "IO Error: Could not write file "…": No space left on device", and
 * Node's ENOSPC / EDQUOT / ENOMEM.
 */
const DISK_FULL =
  /No space left on device|Disk quota exceeded|max_temp_directory_size|\bENOSPC\b|\bEDQUOT\b/i;
const OUT_OF_MEMORY = /Out of Memory Error|std::bad_alloc|Cannot allocate memory|\bENOMEM\b/i;

/**
 * A failure that is the function's, not the file's: out of memory or disk. Such a drop is never recorded as
 * `unreadable`: the Lambda retries it (it may fit on the next attempt or after the function is given more),
 * the command line says so and can be run again. Undefined when the error is something else.
 */
export function resourceFailure(displayName: string, error: unknown): ResourceError | undefined {
  const message = errorMessage(error);
  const errno = (error as NodeJS.ErrnoException | undefined)?.code;
  const first = message.split("\n")[0] ?? "";
  if (DISK_FULL.test(message) || errno === "ENOSPC" || errno === "EDQUOT") {
    return new ResourceError(
      "disk_full",
      `Ran out of temporary disk converting "${displayName}" (nothing was recorded: free disk space or split the file, and ingest it again): ${first}`,
      { cause: error },
    );
  }
  if (OUT_OF_MEMORY.test(message) || errno === "ENOMEM") {
    return new ResourceError(
      "out_of_memory",
      `Ran out of memory converting "${displayName}" (nothing was recorded: give it more memory or split the file, and ingest it again): ${first}`,
      { cause: error },
    );
  }
  return undefined;
}

/** Wraps DuckDB's own failure reading a file into a one-line whole-file rejection. */
export function readFailure(displayName: string, error: unknown): IngestError {
  const first = errorMessage(error).split("\n")[0] ?? "";
  const code = /gzip|inflate|zlib|compress/i.test(first) ? "corrupt_gzip" : "unreadable";
  return new IngestError(code, `Cannot read "${displayName}": ${first}`, { cause: error });
}
