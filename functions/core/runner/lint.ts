/**
 * Portability lint for model SQL (docs/sql-portability.md, one section per rule): rejects the constructs that run on DuckDB
 * but fail, or silently give different rows, on Athena (Trino) — and the reverse. It is a pattern check
 * over the SQL with comments and string literals blanked out, not a parser: it catches the known traps
 * cheaply; the Trino differential tier remains the proof of portability.
 *
 * A finding can be silenced for one line with a trailing `-- lint: allow <rule>` comment that a reviewer
 * will see; use it only with a reason next to it.
 */
import { stripCommentsAndStrings } from "../catalogue/models.ts";
import { PARAMETERS } from "./params.ts";

/** Where each rule's trap and portable form are explained, one section per rule id. */
export const PORTABILITY_DOC = "docs/sql-portability.md";

export interface LintFinding {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly rule: string;
  readonly message: string;
}

interface Rule {
  readonly id: string;
  /** What is wrong and the portable alternative. */
  readonly message: string;
  /**
   * Offsets of the offending code. `code` has comments and string literals blanked, `commentless` only
   * comments; both are lower-cased and keep the original offsets.
   */
  readonly find: (code: string, commentless: string) => Iterable<number>;
}

function* matches(pattern: RegExp, text: string): Iterable<number> {
  for (const match of text.matchAll(pattern)) yield match.index;
}

/** `AT TIME ZONE` not applied to a with_timezone(…) call, and the one-engine conversion functions. */
function* unanchoredTimeZone(code: string): Iterable<number> {
  yield* matches(/\b(timezone|at_timezone)\s*\(/g, code);
  for (const match of code.matchAll(/\bat\s+time\s+zone\b/g)) {
    const before = code.slice(0, match.index).trimEnd();
    const open = before.endsWith(")") ? openingParen(before, before.length - 1) : -1;
    if (open < 0 || !/\bwith_timezone\s*$/.test(before.slice(0, open))) yield match.index;
  }
}

/** Index of the parenthesis that opens the one closed at `close`, or -1. */
function openingParen(code: string, close: number): number {
  let depth = 0;
  for (let i = close; i >= 0; i--) {
    const ch = code[i];
    if (ch === ")") depth++;
    else if (ch === "(") {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

/** Index of the parenthesis that closes the one opened at `open`, or -1. */
function closingParen(code: string, open: number): number {
  let depth = 0;
  for (let i = open; i < code.length; i++) {
    const ch = code[i];
    if (ch === "(") depth++;
    else if (ch === ")") {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

/** Index of the parenthesis that opens the group containing `index`, or -1 at top level. */
function enclosingParen(code: string, index: number): number {
  let depth = 0;
  for (let i = index - 1; i >= 0; i--) {
    const ch = code[i];
    if (ch === ")") depth++;
    else if (ch === "(") {
      if (depth === 0) return i;
      depth--;
    }
  }
  return -1;
}

/** Is the expression at `index` directly the argument of `CAST( … AS <type>)` with a type matching `as`? */
function insideCast(code: string, index: number, as: RegExp): boolean {
  let open = enclosingParen(code, index);
  // Allow grouping parentheses between the CAST and the expression: CAST((d + INTERVAL '1' DAY) AS DATE).
  while (open >= 0) {
    const before = code.slice(0, open).trimEnd();
    if (/\bcast$/.test(before)) {
      const close = closingParen(code, open);
      if (close < 0) return false;
      const inner = code.slice(open + 1, close);
      const asMatch = /\bas\s+([a-z_]+(?:\s*\([^)]*\))?)\s*$/.exec(inner);
      return asMatch?.[1] !== undefined && as.test(asMatch[1]);
    }
    if (/[a-z0-9_]$/.test(before)) return false; // some other function's argument
    open = enclosingParen(code, open);
  }
  return false;
}

/** Functions whose result is an integer: dividing it by anything but a DOUBLE truncates on Trino. */
const INTEGER_FUNCTIONS =
  /\b(count|count_if|row_number|rank|dense_rank|ntile|date_diff|length|cardinality|year|month|day)\s*\($/;

function* integerDivisions(code: string): Iterable<number> {
  for (const match of code.matchAll(/(?<![/*])\/(?![/*])/g)) {
    const slash = match.index;
    const left = code.slice(0, slash).trimEnd();
    const right = code.slice(slash + 1).trimStart();
    if (/(?<![\w.])\d+$/.test(left) || /^\d+(?![\w.])/.test(right)) {
      yield slash;
      continue;
    }
    if (left.endsWith(")")) {
      // Find the call the left operand is: walk back to its opening parenthesis.
      let depth = 0;
      let i = left.length - 1;
      for (; i >= 0; i--) {
        if (left[i] === ")") depth++;
        else if (left[i] === "(") {
          depth--;
          if (depth === 0) break;
        }
      }
      if (i > 0 && INTEGER_FUNCTIONS.test(left.slice(0, i + 1))) yield slash;
    }
  }
}

function* bareDateTrunc(code: string): Iterable<number> {
  for (const index of matches(/\bdate_trunc\s*\(/g, code)) {
    if (!insideCast(code, index, /^date$/)) yield index;
  }
}

function* uncastIntervalArithmetic(code: string): Iterable<number> {
  for (const index of matches(/[-+*]\s*interval\b/g, code)) {
    if (!insideCast(code, index, /^(date|timestamp)$/)) yield index;
  }
}

function* uncastRound(code: string): Iterable<number> {
  for (const index of matches(/\bround\s*\(/g, code)) {
    if (!insideCast(code, index, /^decimal\s*\(/)) yield index;
  }
}

/** Splits a call's argument text at top-level commas. */
function splitArguments(text: string): string[] {
  const args: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === "(") depth++;
    else if (ch === ")") depth--;
    else if (ch === "," && depth === 0) {
      args.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  args.push(text.slice(start).trim());
  return args;
}

/** A DATE operand by construction: CAST(… AS DATE), a DATE literal or parameter, or a `…_on` column. */
const DATE_OPERAND =
  /^(cast\s*\(.*\bas\s+date\s*\)|date\s+'[^']*'|\{\{[^}]*\}\}|([a-z_][a-z0-9_]*\.)?[a-z_][a-z0-9_]*_on)$/s;

function* dateDiffUnits(_code: string, commentless: string): Iterable<number> {
  for (const match of commentless.matchAll(/\bdate_diff\s*\(/g)) {
    const open = match.index + match[0].length - 1;
    const close = closingParen(commentless, open);
    const args = splitArguments(commentless.slice(open + 1, close < 0 ? commentless.length : close));
    if (args[0] !== "'day'" || args.length !== 3 || !args.slice(1).every((a) => DATE_OPERAND.test(a))) {
      yield match.index;
    }
  }
}

const AGGREGATES = /\b(sum|avg|count|min|max|bool_and|bool_or|array_agg|stddev|variance)\s*\($/;

function* windowAggregatesWithoutFrame(code: string): Iterable<number> {
  for (const match of code.matchAll(/\)\s*over\s*\(/g)) {
    const closeOfCall = match.index;
    const before = code.slice(0, closeOfCall + 1);
    const open = enclosingParen(before, closeOfCall);
    if (open < 0 || !AGGREGATES.test(code.slice(0, open + 1))) continue;
    const windowOpen = match.index + match[0].length - 1;
    const windowClose = closingParen(code, windowOpen);
    const spec = code.slice(windowOpen, windowClose < 0 ? code.length : windowClose);
    if (/\border\s+by\b/.test(spec) && !/\brows\s+between\b/.test(spec)) yield match.index;
  }
}

function* dateStringComparisons(_code: string, lower: string): Iterable<number> {
  for (const match of lower.matchAll(/(?:[<>=]|\bbetween|\band|\bin\s*\(|,)\s*'\d{4}-\d{2}-\d{2}/g)) {
    const quote = match.index + match[0].indexOf("'");
    if (!/\b(date|timestamp)\s*$/.test(lower.slice(0, quote))) yield quote;
  }
}

const VARCHAR_PARAMETERS = new Set(PARAMETERS.filter((p) => p.type.kind === "varchar").map((p) => p.name));

/**
 * A varchar parameter used as a value of the output (a select item, a CASE result): Trino types the literal
 * `'gross_margin'` as varchar(12), so the column's type follows the config. Comparing it (`= {{ p }}`,
 * `CASE {{ p }} WHEN`) is fine.
 */
function* varcharParameterValues(code: string): Iterable<number> {
  for (const match of code.matchAll(/\{\{\s*([a-z0-9_.]+)\s*\}\}/g)) {
    if (!VARCHAR_PARAMETERS.has(match[1] ?? "")) continue;
    const before = code.slice(0, match.index).trimEnd();
    const after = code.slice(match.index + match[0].length).trimStart();
    const aliased = /^as\s+[a-z_"]/.test(after) && !insideCast(code, match.index, /^varchar$/);
    const caseResult = /\b(then|else)$/.test(before);
    const selectItem = /(\bselect|\bdistinct|,)$/.test(before) && /^(,|from\b)/.test(after);
    if (aliased || caseResult || selectItem) yield match.index;
  }
}

export const RULES: readonly Rule[] = [
  {
    id: "qualify",
    message:
      "QUALIFY is DuckDB-only. Portable: SELECT * FROM (SELECT …, ROW_NUMBER() OVER (…) AS rn FROM …) AS t WHERE rn = 1",
    find: (code) => matches(/\bqualify\b/g, code),
  },
  {
    id: "group-by-all",
    message:
      "GROUP BY ALL is DuckDB-only (Trino reads ALL as a set quantifier). Portable: GROUP BY 1, 2 or the columns",
    find: (code) => matches(/\bgroup\s+by\s+all\b/g, code),
  },
  {
    id: "double-colon-cast",
    message: "`x::type` is not Trino syntax. Portable: CAST(x AS type)",
    find: (code) => matches(/::/g, code),
  },
  {
    id: "date-add",
    message:
      "date_add takes (unit, n, ts) on Trino and (date, interval) on DuckDB. Portable: CAST(d + INTERVAL '7' DAY AS DATE)",
    find: (code) => matches(/\bdate_add\s*\(/g, code),
  },
  {
    id: "date-diff",
    message:
      "date_diff agrees on both engines only as date_diff('day', DATE, DATE) (Trino counts complete units, DuckDB boundaries). Portable: date_diff('day', CAST(a AS DATE), CAST(b AS DATE)); months: (year(b) - year(a)) * 12 + month(b) - month(a)",
    find: dateDiffUnits,
  },
  {
    id: "datediff-alias",
    message:
      "datediff/date_sub/date_part are DuckDB spellings. Portable: date_diff('day', CAST(a AS DATE), CAST(b AS DATE)) for days, EXTRACT(YEAR FROM d) for a part",
    find: (code) => matches(/\b(datediff|date_sub|date_part|datepart)\s*\(/g, code),
  },
  {
    id: "interval-arithmetic",
    message:
      "date ± interval is DATE on Trino but TIMESTAMP on DuckDB. Portable: CAST(d - INTERVAL '1' MONTH AS DATE)",
    find: uncastIntervalArithmetic,
  },
  {
    id: "interval-literal",
    message: "INTERVAL needs a quoted count on Trino. Portable: INTERVAL '7' DAY",
    find: (_code, commentless) => matches(/\binterval\s+[^\s']/g, commentless),
  },
  {
    id: "date-trunc",
    message:
      "date_trunc returns TIMESTAMP for a DATE on DuckDB and DATE on Trino. Portable: CAST(date_trunc('month', d) AS DATE)",
    find: bareDateTrunc,
  },
  {
    id: "time-zone",
    message:
      "AT TIME ZONE of a plain timestamp reads it as UTC on Trino but as wall-clock time in the zone on DuckDB; timezone() and at_timezone() exist on one engine only. Portable: with_timezone(ts, 'UTC') AT TIME ZONE zone",
    find: unanchoredTimeZone,
  },
  {
    id: "regexp-replace",
    message:
      "regexp_replace replaces every match on Trino but only the first on DuckDB, with different backreferences. Portable: replace() for literal text",
    find: (code) => matches(/\bregexp_replace\s*\(/g, code),
  },
  {
    id: "string-agg",
    message:
      "string_agg/listagg/group_concat differ per engine. Portable: array_join(array_agg(x ORDER BY x), ',') (the DuckDB session defines array_join)",
    find: (code) => matches(/\b(string_agg|listagg|group_concat)\s*\(/g, code),
  },
  {
    id: "exact-percentile",
    message:
      "Trino has no exact percentile (median/quantile_*/percentile_*), approx_percentile is approximate. Portable: the ROW_NUMBER() and COUNT(*) window form in docs/sql-portability.md#exact-percentile",
    find: (code) =>
      matches(
        /\b(median|quantile|quantile_cont|quantile_disc|percentile_cont|percentile_disc|approx_quantile|approx_percentile)\s*\(/g,
        code,
      ),
  },
  {
    id: "greatest-least",
    message:
      "greatest/least return NULL on Trino if any argument is NULL, and ignore NULLs on DuckDB. Portable: CASE WHEN a >= b THEN a ELSE b END on non-NULL values (COALESCE them first)",
    find: (code) => matches(/\b(greatest|least)\s*\(/g, code),
  },
  {
    id: "day-of-week",
    message:
      "EXTRACT(DOW)/dayofweek are 0=Sunday on DuckDB and ISO 1=Monday on Trino. Portable: day_of_week(d), ISO 1=Monday (the DuckDB session defines day_of_week)",
    find: (code) => matches(/\bextract\s*\(\s*(dow|isodow|dayofweek)\b|\b(dayofweek|isodow|dow)\s*\(/g, code),
  },
  {
    id: "integer-division",
    message:
      "`/` truncates integers on Trino and not on DuckDB. Portable: CAST(a AS DOUBLE) / NULLIF(b, 0), and DOUBLE literals such as 100e0",
    find: integerDivisions,
  },
  {
    id: "floor-division",
    message: "`//` is DuckDB-only. Portable for a >= 0, b > 0: CAST(FLOOR(CAST(a AS DOUBLE) / b) AS BIGINT)",
    find: (code) => matches(/\/\//g, code),
  },
  {
    id: "count-if",
    message:
      "count_if over no rows is NULL on DuckDB and 0 on Trino. Portable: COUNT(CASE WHEN condition THEN 1 END)",
    find: (code) => matches(/\bcount_if\s*\(/g, code),
  },
  {
    id: "concat",
    message: "concat() skips NULLs on DuckDB and returns NULL on Trino. Portable: a || b (NULL on both)",
    find: (code) => matches(/\bconcat\s*\(/g, code),
  },
  {
    id: "round-double",
    message:
      "round() of a DOUBLE differs between engines (2.675 → 2.67 on Trino, 2.68 on DuckDB) and of a DECIMAL keeps its scale on Trino. Portable: CAST(ROUND(decimal_value, 2) AS DECIMAL(18,2))",
    find: uncastRound,
  },
  {
    id: "window-frame",
    message:
      "An aggregate window with ORDER BY and no frame uses RANGE (peers included). Portable: ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW with a total order",
    find: windowAggregatesWithoutFrame,
  },
  {
    id: "duckdb-only-function",
    message:
      "DuckDB-only function. Portable: COALESCE(a, b) for ifnull/nvl, CASE WHEN for iif, bool_and(c) for every, EXTRACT(DOY FROM d) for dayofyear, CAST(FLOOR(x) AS BIGINT) for trunc of x >= 0, dates formatted in TypeScript; the rest in docs/sql-portability.md#duckdb-only-function",
    find: (code) =>
      matches(
        /\b(strftime|strptime|epoch|epoch_ms|make_date|make_timestamp|last_day|dayofyear|list_[a-z_]+|array_to_string|regexp_matches|ifnull|nvl|iif|trunc|every|approx_count_distinct|generate_series|range|struct_pack|age)\s*\(/g,
        code,
      ),
  },
  {
    id: "trino-only-function",
    message:
      "Trino-only function that DuckDB lacks or runs with other semantics. Portable: try_cast(s AS type) for try, a || b for format, count(DISTINCT x) for approx_distinct, CAST(FLOOR(x) AS BIGINT) for truncate of x >= 0, dates parsed and formatted in TypeScript; the rest in docs/sql-portability.md#trino-only-function",
    find: (code) =>
      matches(
        /\b(date_format|date_parse|truncate|try|element_at|format|from_iso8601_timestamp|approx_distinct)\s*\(/g,
        code,
      ),
  },
  {
    id: "ilike",
    message: "ILIKE is DuckDB-only. Portable: lower(x) LIKE 'pattern'",
    find: (code) => matches(/\bilike\b/g, code),
  },
  {
    id: "star-modifier",
    message: "SELECT * EXCLUDE/REPLACE/EXCEPT is DuckDB-only. Portable: list the columns",
    find: (code) => matches(/\*\s*(exclude|except|replace)\s*\(/g, code),
  },
  {
    id: "implicit-date-literal",
    message:
      "A date compared with a string relies on an implicit cast that Trino rejects. Portable: DATE '2024-01-31'",
    find: dateStringComparisons,
  },
  {
    id: "varchar-parameter-column",
    message:
      "A varchar parameter as an output value is varchar(<length of the value>) on Trino, so the column's type follows the parameter's value (the config), and Athena truncates older as_of partitions read through a shorter type ('gross_margin' read as varchar(10) is 'gross_marg'). Portable: CAST({{ name }} AS VARCHAR) AS column",
    find: varcharParameterValues,
  },
  {
    id: "statement",
    message: "A model is exactly one SELECT (or WITH … SELECT) without `;`: the runner wraps it per engine",
    find: (code) => {
      const offsets: number[] = [...matches(/;/g, code)];
      const first = /\S/.exec(code);
      if (first !== null && !/^(select|with)\b/.test(code.slice(first.index))) offsets.push(first.index);
      return offsets;
    },
  },
];

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return { line, column: offset - before.lastIndexOf("\n") };
}

/** Checks one model file; `sql` is the whole file text (the header is comments, so it is skipped). */
export function lintSql(sql: string, file: string): LintFinding[] {
  const commentless = sql.replace(/--[^\n]*/g, (m) => " ".repeat(m.length)).toLowerCase();
  const code = stripCommentsAndStrings(sql).toLowerCase();
  const lines = sql.split("\n");
  const findings: LintFinding[] = [];
  for (const rule of RULES) {
    for (const offset of rule.find(code, commentless)) {
      const { line, column } = lineAndColumn(sql, offset);
      const allow = /--\s*lint:\s*allow\s+([a-z0-9-]+(?:\s*,\s*[a-z0-9-]+)*)/.exec(lines[line - 1] ?? "");
      if (allow?.[1]?.split(/\s*,\s*/).includes(rule.id)) continue;
      findings.push({ file, line, column, rule: rule.id, message: rule.message });
    }
  }
  return findings.sort((a, b) => a.line - b.line || a.column - b.column || (a.rule < b.rule ? -1 : 1));
}

/** One line per finding: `sql/marts/customer_rfm.sql:12:5 [qualify] QUALIFY is DuckDB-only. Portable: …`. */
export function formatFinding(finding: LintFinding): string {
  return `${finding.file}:${finding.line}:${finding.column} [${finding.rule}] ${finding.message}`;
}
