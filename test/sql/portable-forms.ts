/**
 * One worked example per portability-lint rule: a query written in the portable form the rule's message
 * recommends, with its rows computed by hand. The sql tier runs each on DuckDB (through the session the
 * runner uses, with its Trino functions), the Trino tier on a real Trino; both must give these rows, and the
 * lint must find nothing in them. Values are compared as text (`String(value)`), NULL as null.
 */
export interface PortableForm {
  readonly sql: string;
  readonly rows: readonly (readonly (string | null)[])[];
}

export const PORTABLE_FORMS: Readonly<Record<string, PortableForm>> = {
  qualify: {
    sql: `SELECT a, b
FROM (SELECT a, b, ROW_NUMBER() OVER (PARTITION BY a ORDER BY b DESC) AS rn FROM (VALUES (1, 10), (1, 20), (2, 5)) AS t (a, b)) AS t
WHERE rn = 1
ORDER BY a`,
    rows: [
      ["1", "20"],
      ["2", "5"],
    ],
  },
  "group-by-all": {
    sql: "SELECT a, COUNT(*) AS n FROM (VALUES (1), (1), (2)) AS t (a) GROUP BY 1 ORDER BY 1",
    rows: [
      ["1", "2"],
      ["2", "1"],
    ],
  },
  "double-colon-cast": {
    sql: "SELECT CAST(s AS INTEGER) AS n FROM (VALUES ('12')) AS t (s)",
    rows: [["12"]],
  },
  "date-add": {
    sql: "SELECT CAST(d + INTERVAL '7' DAY AS DATE) AS week_on, CAST(d + INTERVAL '1' MONTH AS DATE) AS month_on FROM (VALUES (DATE '2024-01-31')) AS t (d)",
    rows: [["2024-02-07", "2024-02-29"]],
  },
  "date-diff": {
    // 23:00 to 01:00 crosses a day boundary in under a day: only the DATE casts make both engines agree.
    sql: `SELECT
  date_diff('day', CAST(a AS DATE), CAST(b AS DATE)) AS days,
  (year(b) - year(a)) * 12 + month(b) - month(a) AS months
FROM (VALUES (TIMESTAMP '2024-01-15 23:00:00', TIMESTAMP '2024-02-14 01:00:00')) AS t (a, b)`,
    rows: [["30", "1"]],
  },
  "datediff-alias": {
    sql: "SELECT date_diff('day', CAST(a AS DATE), CAST(b AS DATE)) AS days, EXTRACT(YEAR FROM d) AS y FROM (VALUES (DATE '2024-01-01', DATE '2024-03-01', DATE '2023-12-31')) AS t (a, b, d)",
    rows: [["60", "2023"]],
  },
  "interval-arithmetic": {
    sql: "SELECT CAST(d - INTERVAL '1' MONTH AS DATE) AS d FROM (VALUES (DATE '2024-03-31')) AS t (d)",
    rows: [["2024-02-29"]],
  },
  "interval-literal": {
    sql: "SELECT CAST(d + INTERVAL '7' DAY AS DATE) AS d FROM (VALUES (DATE '2024-12-28')) AS t (d)",
    rows: [["2025-01-04"]],
  },
  "time-zone": {
    // The day a UTC timestamp falls on in a zone (stg_transactions.ordered_on): east and west of UTC, on both
    // sides of a daylight-saving change, and a half-hour zone. Trino takes only a literal after AT TIME ZONE.
    sql: `SELECT z, d FROM (
  SELECT 'America/New_York' AS z, CAST(with_timezone(ts, 'UTC') AT TIME ZONE 'America/New_York' AS DATE) AS d
  FROM (VALUES (TIMESTAMP '2024-03-10 04:59:59.999'), (TIMESTAMP '2024-11-03 04:00:00.000')) AS t (ts)
  UNION ALL
  SELECT 'Asia/Kolkata', CAST(with_timezone(ts, 'UTC') AT TIME ZONE 'Asia/Kolkata' AS DATE)
  FROM (VALUES (TIMESTAMP '2024-06-30 18:29:00.000'), (TIMESTAMP '2024-06-30 18:30:00.000')) AS t (ts)
  UNION ALL
  SELECT 'Asia/Tokyo', CAST(with_timezone(ts, 'UTC') AT TIME ZONE 'Asia/Tokyo' AS DATE)
  FROM (VALUES (TIMESTAMP '2024-01-31 15:00:00.000')) AS t (ts)
  UNION ALL
  SELECT 'UTC', CAST(with_timezone(ts, 'UTC') AT TIME ZONE 'UTC' AS DATE)
  FROM (VALUES (TIMESTAMP '2024-06-30 23:59:59.999')) AS t (ts)
) AS days ORDER BY 1, 2`,
    rows: [
      ["America/New_York", "2024-03-09"],
      ["America/New_York", "2024-11-03"],
      ["Asia/Kolkata", "2024-06-30"],
      ["Asia/Kolkata", "2024-07-01"],
      ["Asia/Tokyo", "2024-02-01"],
      ["UTC", "2024-06-30"],
    ],
  },
  "date-trunc": {
    sql: "SELECT CAST(date_trunc('month', d) AS DATE) AS d FROM (VALUES (DATE '2024-02-29')) AS t (d)",
    rows: [["2024-02-01"]],
  },
  "regexp-replace": {
    sql: "SELECT replace(s, '.', '-') AS s FROM (VALUES ('a.b.c')) AS t (s)",
    rows: [["a-b-c"]],
  },
  "string-agg": {
    sql: "SELECT array_join(array_agg(x ORDER BY x), ',') AS xs FROM (VALUES ('b'), ('c'), ('a')) AS t (x)",
    rows: [["a,b,c"]],
  },
  "exact-percentile": {
    // Nearest rank: the p90 of 1..10 is the 9th value; exact, as DuckDB's quantile_disc(x, 0.9) would be.
    sql: `WITH ranked AS (
  SELECT x, ROW_NUMBER() OVER (ORDER BY x) AS rn, COUNT(*) OVER () AS n
  FROM (VALUES (7), (1), (10), (3), (5), (2), (9), (4), (8), (6)) AS t (x)
)
SELECT MAX(CASE WHEN rn = CAST(CEIL(0.9e0 * n) AS BIGINT) THEN x END) AS p90 FROM ranked`,
    rows: [["9"]],
  },
  "greatest-least": {
    sql: "SELECT CASE WHEN a >= b THEN a ELSE b END AS g FROM (VALUES (1, 3), (4, 2), (5, NULL)) AS t (a, b) WHERE a IS NOT NULL AND b IS NOT NULL ORDER BY 1",
    rows: [["3"], ["4"]],
  },
  "day-of-week": {
    sql: "SELECT d, day_of_week(d) AS dow FROM (VALUES (DATE '2024-01-01'), (DATE '2024-01-07')) AS t (d) ORDER BY d",
    rows: [
      ["2024-01-01", "1"],
      ["2024-01-07", "7"],
    ],
  },
  "integer-division": {
    sql: "SELECT CAST(a AS DOUBLE) / NULLIF(b, 0) AS q, a / 100e0 AS pct FROM (VALUES (5, 2), (5, 0)) AS t (a, b) ORDER BY b DESC",
    rows: [
      ["2.5", "0.05"],
      [null, "0.05"],
    ],
  },
  "floor-division": {
    sql: "SELECT CAST(FLOOR(CAST(a AS DOUBLE) / b) AS BIGINT) AS q FROM (VALUES (7, 2)) AS t (a, b)",
    rows: [["3"]],
  },
  "count-if": {
    sql: "SELECT COUNT(CASE WHEN a > 0 THEN 1 END) AS n FROM (VALUES (1), (-1)) AS t (a) WHERE a > 5",
    rows: [["0"]],
  },
  concat: {
    sql: "SELECT k, a || b AS ab FROM (VALUES (1, 'x', 'y'), (2, 'x', NULL)) AS t (k, a, b) ORDER BY k",
    rows: [
      ["1", "xy"],
      ["2", null],
    ],
  },
  "round-double": {
    sql: "SELECT CAST(ROUND(m, 2) AS DECIMAL(18,2)) AS m FROM (VALUES (DECIMAL '12.345')) AS t (m)",
    rows: [["12.35"]],
  },
  "window-frame": {
    // Two rows on the same d: RANGE would give both the total 4; ROWS with a total order gives 1, 4.
    sql: `SELECT id, CAST(SUM(x) OVER (ORDER BY d, id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS BIGINT) AS running
FROM (VALUES (1, DATE '2024-01-01', 1), (2, DATE '2024-01-01', 3)) AS t (id, d, x)
ORDER BY id`,
    rows: [
      ["1", "1"],
      ["2", "4"],
    ],
  },
  "duckdb-only-function": {
    sql: `SELECT
  COALESCE(a, b) AS a_or_b,
  CASE WHEN a IS NULL THEN 'none' ELSE 'some' END AS has_a,
  bool_and(c) AS all_c,
  EXTRACT(DOY FROM d) AS day_of_year,
  CAST(FLOOR(x) AS BIGINT) AS whole,
  CAST(date_trunc('month', d) + INTERVAL '1' MONTH - INTERVAL '1' DAY AS DATE) AS last_day_on
FROM (VALUES (CAST(NULL AS INTEGER), 2, true, DATE '2024-02-01', 2.7e0)) AS t (a, b, c, d, x)
GROUP BY 1, 2, 4, 5, 6`,
    rows: [["2", "none", "true", "32", "2", "2024-02-29"]],
  },
  "trino-only-function": {
    sql: `SELECT
  try_cast(s AS INTEGER) AS n,
  s || '-' || s AS formatted,
  count(DISTINCT x) AS distinct_x,
  CAST(FLOOR(y) AS BIGINT) AS whole
FROM (VALUES ('x1', 1, 2.7e0), ('x1', 1, 2.7e0), ('x1', 2, 2.7e0)) AS t (s, x, y)
GROUP BY 1, 2, 4`,
    rows: [[null, "x1-x1", "2", "2"]],
  },
  ilike: {
    sql: "SELECT s FROM (VALUES ('Apple'), ('banana')) AS t (s) WHERE lower(s) LIKE 'a%'",
    rows: [["Apple"]],
  },
  "star-modifier": {
    sql: "SELECT a, b FROM (VALUES (1, 2, 3)) AS t (a, b, c)",
    rows: [["1", "2"]],
  },
  "implicit-date-literal": {
    sql: "SELECT d FROM (VALUES (DATE '2024-01-31'), (DATE '2024-02-01')) AS t (d) WHERE d <= DATE '2024-01-31'",
    rows: [["2024-01-31"]],
  },
  "varchar-parameter-column": {
    // What the runner renders `CAST({{ pyramid.value_measure }} AS VARCHAR) AS value_measure` into.
    sql: "SELECT CAST('gross_margin' AS VARCHAR) AS value_measure",
    rows: [["gross_margin"]],
  },
  statement: {
    sql: "WITH final AS (SELECT 1 AS a) SELECT * FROM final",
    rows: [["1"]],
  },
};

/**
 * The functions a rule's message names in its portable form: each `name(` (no space: the messages write calls
 * that way, and prose or `OVER (` then do not count) after `Portable`, lower-cased.
 */
export function recommendedFunctions(message: string): string[] {
  const at = message.indexOf("Portable");
  if (at < 0) return [];
  const names = [
    ...message
      .slice(at)
      .toLowerCase()
      .matchAll(/\b([a-z_][a-z0-9_]*)\(/g),
  ].map((m) => m[1] ?? "");
  return [...new Set(names)];
}

/** A row as text, so DuckDB's and Trino's renderings of the same value compare equal. */
export function rowText(row: readonly unknown[]): (string | null)[] {
  return row.map((value) => (value === null || value === undefined ? null : String(value)));
}
