/**
 * The model header: the block of `--` comment lines a model file starts with. It is the model's contract —
 * the runner orders models by it, checks the output against it, and its text becomes the column comments BI
 * users see (docs/models.md, Glue). Format (docs/adr/0002-model-runner.md):
 *
 *   -- question: What has each customer bought so far, and when?
 *   -- grain: one row per customer
 *   -- depends_on: stg_transactions, stg_customers        (or: none)
 *   -- sources: transactions                              (input relations read directly; optional)
 *   -- materialized: table                                (table, the default, view, or temporary)
 *   -- unique_key: customer_id                            (required for tables)
 *   -- note: free text, any number of times
 *   -- column customer_id varchar: The customer's id.
 *   -- column first_order_on date: Date of the first purchase order,
 *   --   continued on an indented line.
 *
 * A column entry is `-- column <name> <type>: <description>`. The type is required (tables and views) and is
 * written in Trino/Athena notation, lower case: bigint, integer, double, decimal(p,s), varchar, date,
 * timestamp(3), boolean, array(<type>) (column-types.ts; `decimal(18, 2)` is read as `decimal(18,2)`). The
 * runner checks every materialized output's real types against these on every engine, and the catalogue
 * declares the published tables with them. The description starts after the first colon and may itself
 * contain colons and parentheses.
 *
 * A line `--` alone separates entries; the header ends at the first line that is not a comment.
 */

import { ModelError } from "../errors.ts";
import { COLUMN_TYPE_FORMS, parseColumnType } from "./column-types.ts";

/**
 * table: written as Parquet and published. view: a definition, computed wherever it is read. temporary: rows a
 * run reads often, computed once per run by an engine that can (Warehouse.materializeTemporary: DuckDB) and
 * read as a view elsewhere; never published, so the same rows either way.
 */
export const MATERIALIZATIONS = ["table", "view", "temporary"] as const;
export type Materialization = (typeof MATERIALIZATIONS)[number];

export interface ModelColumn {
  readonly name: string;
  /** The declared type in canonical Trino notation (column-types.ts), e.g. `decimal(18,2)`, `array(varchar)`. */
  readonly type: string;
  readonly description: string;
  /** 1-based line of the `-- column` entry, for error messages. */
  readonly line: number;
}

export interface ModelHeader {
  readonly question: string;
  readonly grain: string;
  readonly dependsOn: readonly string[];
  readonly sources: readonly string[];
  readonly materialized: Materialization;
  readonly uniqueKey: readonly string[];
  readonly notes: readonly string[];
  readonly columns: readonly ModelColumn[];
}

const SINGLE_KEYS = ["question", "grain", "depends_on", "sources", "materialized", "unique_key"] as const;
type SingleKey = (typeof SINGLE_KEYS)[number];
const KEYS = [...SINGLE_KEYS, "note", "column <name> <type>"] as const;

export const IDENTIFIER = /^[a-z][a-z0-9_]*$/;

const ENTRY = /^ ?([a-z_]+)(?: ([A-Za-z0-9_]+))?:(.*)$/;
/**
 * `column <name> <type>: <description>`: the type runs from the name to the first colon (no type contains one),
 * so it may hold spaces and parentheses (`decimal(18, 2)`) and the description may hold colons.
 */
const COLUMN_ENTRY = /^ ?column\s+([^\s:]+)(?:\s+([^:]*?))?\s*:(.*)$/;
const CONTINUATION = /^ {2,}\S/;

interface Entry {
  key: string;
  name: string | undefined;
  /** The type text of a column entry, as written. */
  type: string | undefined;
  text: string;
  line: number;
}

function fail(file: string, line: number | undefined, message: string): never {
  throw new ModelError(
    "bad_header",
    line === undefined ? `${file}: ${message}` : `${file}:${line}: ${message}`,
  );
}

function parseList(file: string, entry: Entry, what: string): string[] {
  const text = entry.text.trim();
  if (text === "" || text === "none") return [];
  const names = text.split(",").map((part) => part.trim());
  for (const name of names) {
    if (!IDENTIFIER.test(name)) {
      fail(
        file,
        entry.line,
        `${entry.key} lists "${name}", which is not a ${what} name (lower-case letters, digits and _, starting with a letter). Separate names with commas, or write "none".`,
      );
    }
  }
  const duplicate = names.find((name, index) => names.indexOf(name) !== index);
  if (duplicate !== undefined) fail(file, entry.line, `${entry.key} lists "${duplicate}" twice`);
  return names;
}

/** The canonical type of a column entry; a missing or unknown type fails with the allowed ones. */
function columnType(file: string, entry: Entry, name: string): string {
  const allowed = `Allowed types: ${COLUMN_TYPE_FORMS.join(", ")}`;
  if (entry.type === undefined) {
    fail(
      file,
      entry.line,
      `column "${name}" has no type. Write "-- column ${name} <type>: <description>". ${allowed}.`,
    );
  }
  const parsed = parseColumnType(entry.type);
  if (!parsed.ok) fail(file, entry.line, `column "${name}" has the type ${parsed.reason}. ${allowed}.`);
  return parsed.type;
}

/** Splits a model file into its header entries; returns them with the line where the body starts. */
function readEntries(text: string, file: string): { entries: Entry[]; bodyLine: number } {
  const lines = text.split(/\r?\n/);
  const entries: Entry[] = [];
  let current: Entry | undefined;
  let index = 0;
  for (; index < lines.length; index++) {
    const raw = (lines[index] ?? "").trimEnd();
    const lineNo = index + 1;
    if (!raw.startsWith("--")) break;
    const rest = raw.slice(2);
    if (rest.trim() === "") {
      current = undefined;
      continue;
    }
    if (CONTINUATION.test(rest)) {
      if (current === undefined) {
        fail(file, lineNo, "an indented continuation line must follow a header entry");
      }
      current.text = `${current.text} ${rest.trim()}`.trim();
      continue;
    }
    const column = COLUMN_ENTRY.exec(rest);
    if (column !== null) {
      const [, name, type, value = ""] = column;
      current = { key: "column", name, type, text: value.trim(), line: lineNo };
      entries.push(current);
      continue;
    }
    const match = ENTRY.exec(rest);
    if (match === null) {
      fail(
        file,
        lineNo,
        `cannot read header line "${raw}". Header lines are "-- <key>: <value>" (keys: ${KEYS.join(", ")}), or continuation lines indented by two more spaces ("--   more text").`,
      );
    }
    const [, key = "", name, value = ""] = match;
    current = { key, name, type: undefined, text: value.trim(), line: lineNo };
    entries.push(current);
  }
  return { entries, bodyLine: index + 1 };
}

export interface ParsedModelFile {
  readonly header: ModelHeader;
  /** 1-based line where the SQL body starts (after the header). */
  readonly bodyLine: number;
}

/** Parses and validates the header of one model file. `file` names it in every error. */
export function parseModelHeader(text: string, file: string): ParsedModelFile {
  const { entries, bodyLine } = readEntries(text, file);
  if (entries.length === 0) {
    fail(
      file,
      undefined,
      'has no header. A model starts with comment lines that state at least "-- question:", "-- grain:", "-- depends_on:" and one "-- column <name> <type>: <description>" per output column.',
    );
  }

  const singles = new Map<SingleKey, Entry>();
  const notes: string[] = [];
  const columns: ModelColumn[] = [];
  for (const entry of entries) {
    if (entry.key === "column") {
      if (entry.name === undefined)
        fail(file, entry.line, 'a column entry is written "-- column <name> <type>: <description>"');
      if (!IDENTIFIER.test(entry.name)) {
        fail(
          file,
          entry.line,
          `column name "${entry.name}" must be lower-case letters, digits and _, starting with a letter`,
        );
      }
      const type = columnType(file, entry, entry.name);
      if (entry.text === "") fail(file, entry.line, `column "${entry.name}" has no description`);
      const previous = columns.find((c) => c.name === entry.name);
      if (previous !== undefined) {
        fail(file, entry.line, `column "${entry.name}" is documented twice (first on line ${previous.line})`);
      }
      columns.push({ name: entry.name, type, description: entry.text, line: entry.line });
      continue;
    }
    if (entry.name !== undefined) {
      fail(
        file,
        entry.line,
        `unknown header key "${entry.key} ${entry.name}". Known keys: ${KEYS.join(", ")}`,
      );
    }
    if (entry.key === "note") {
      notes.push(entry.text);
      continue;
    }
    const key = SINGLE_KEYS.find((k) => k === entry.key);
    if (key === undefined) {
      fail(file, entry.line, `unknown header key "${entry.key}". Known keys: ${KEYS.join(", ")}`);
    }
    const previous = singles.get(key);
    if (previous !== undefined)
      fail(file, entry.line, `"${key}" is given twice (first on line ${previous.line})`);
    singles.set(key, entry);
  }

  const required = (key: SingleKey, example: string): Entry => {
    const entry = singles.get(key);
    if (entry === undefined)
      fail(file, undefined, `header is missing "-- ${key}:" (for example "-- ${key}: ${example}")`);
    return entry;
  };
  const question = required("question", "Which customers are worth the most today?");
  const grain = required("grain", "one row per customer");
  for (const entry of [question, grain]) {
    if (entry.text === "") fail(file, entry.line, `"${entry.key}" is empty`);
  }
  const dependsOn = parseList(
    file,
    required("depends_on", "stg_transactions, customer_base   (or: none)"),
    "model",
  );
  const sourcesEntry = singles.get("sources");
  const sources = sourcesEntry === undefined ? [] : parseList(file, sourcesEntry, "input relation");

  const materializedEntry = singles.get("materialized");
  let materialized: Materialization = "table";
  if (materializedEntry !== undefined) {
    const value = MATERIALIZATIONS.find((m) => m === materializedEntry.text);
    if (value === undefined) {
      fail(
        file,
        materializedEntry.line,
        `materialized is "${materializedEntry.text}"; expected one of: ${MATERIALIZATIONS.join(", ")}`,
      );
    }
    materialized = value;
  }

  if (columns.length === 0) {
    fail(
      file,
      undefined,
      'documents no output column. Add one "-- column <name> <type>: <description>" per column.',
    );
  }
  const uniqueKeyEntry = singles.get("unique_key");
  if (uniqueKeyEntry === undefined && materialized === "table") {
    fail(
      file,
      undefined,
      'header is missing "-- unique_key:" (the columns that identify a row, e.g. customer_id)',
    );
  }
  const uniqueKey = uniqueKeyEntry === undefined ? [] : parseList(file, uniqueKeyEntry, "column");
  if (uniqueKeyEntry !== undefined && uniqueKey.length === 0) {
    fail(file, uniqueKeyEntry.line, "unique_key names no column");
  }
  for (const key of uniqueKey) {
    if (!columns.some((c) => c.name === key)) {
      fail(file, uniqueKeyEntry?.line, `unique_key "${key}" is not a documented column`);
    }
  }

  return {
    header: {
      question: question.text,
      grain: grain.text,
      dependsOn,
      sources,
      materialized,
      uniqueKey,
      notes,
      columns,
    },
    bodyLine,
  };
}
