import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { loadCatalogueModels } from "../../functions/core/catalogue/stages.ts";
import { formatFinding, lintSql, PORTABILITY_DOC, RULES } from "../../functions/core/runner/lint.ts";

/** Rules found in a body (the header is irrelevant to the lint; comments are skipped). */
function rules(body: string): string[] {
  return lintSql(body, "sql/marts/x.sql").map((f) => f.rule);
}

const BAD: readonly [string, string][] = [
  ["qualify", "select * from t qualify row_number() over (partition by a order by b) = 1"],
  ["group-by-all", "select a, count(*) from t group by all"],
  ["double-colon-cast", "select a::integer from t"],
  ["date-add", "select date_add('day', 7, d) from t"],
  ["date-diff", "select date_diff('month', a_on, b_on) from t"],
  ["date-diff", "select date_diff('day', ordered_at, b_on) from t"],
  ["datediff-alias", "select datediff('day', a_on, b_on) from t"],
  ["interval-arithmetic", "select d + INTERVAL '7' DAY from t"],
  ["interval-arithmetic", "select CAST(d + n * INTERVAL '1' MONTH AS TIMESTAMP) + INTERVAL '1' DAY from t"],
  ["interval-literal", "select CAST(d + INTERVAL 7 DAY AS DATE) from t"],
  ["date-trunc", "select date_trunc('month', d) from t"],
  ["time-zone", "select CAST(ordered_at AT TIME ZONE 'Europe/Berlin' AS DATE) from t"],
  ["time-zone", "select timezone('Europe/Berlin', ordered_at) from t"],
  ["regexp-replace", "select regexp_replace(s, 'a', 'b') from t"],
  ["string-agg", "select string_agg(s, ',') from t"],
  ["string-agg", "select listagg(s, ',') within group (order by s) from t"],
  ["exact-percentile", "select median(x) from t"],
  ["exact-percentile", "select quantile_cont(x, 0.9e0) from t"],
  ["exact-percentile", "select approx_percentile(x, 0.9e0) from t"],
  ["greatest-least", "select greatest(a, b) from t"],
  ["greatest-least", "select LEAST(a, b) from t"],
  ["day-of-week", "select extract(dow from d) from t"],
  ["day-of-week", "select dayofweek(d) from t"],
  ["integer-division", "select count(*) / n from t"],
  ["integer-division", "select a / 2 from t"],
  ["integer-division", "select 100 / total from t"],
  [
    "integer-division",
    "select date_diff('day', a_on, b_on) / 7e0, row_number() over (order by a) / n from t",
  ],
  ["floor-division", "select a // 2 from t"],
  ["concat", "select concat(a, b) from t"],
  ["count-if", "select count_if(a > 0) from t"],
  ["round-double", "select round(x, 2) from t"],
  ["window-frame", "select sum(x) over (order by d) from t"],
  ["duckdb-only-function", "select strftime(d, '%Y') from t"],
  ["duckdb-only-function", "select list_sum(xs) from t"],
  ["trino-only-function", "select date_format(d, '%Y') from t"],
  ["ilike", "select a from t where a ilike 'x%'"],
  ["star-modifier", "select * exclude (a) from t"],
  ["implicit-date-literal", "select a from t where d >= '2024-01-01'"],
  ["varchar-parameter-column", "select customer_id, {{ pyramid.value_measure }} AS value_measure from t"],
  ["varchar-parameter-column", "select case when a then {{ affinity.basket }} else 'none' end as b from t"],
  ["statement", "select 1 as a;"],
  ["statement", "create table x as select 1 as a"],
];

describe("SQL portability lint", () => {
  it.each(BAD)("flags %s in: %s", (rule, body) => {
    expect(rules(body)).toContain(rule);
  });

  it("has a bad snippet for every rule", () => {
    const covered = new Set(BAD.map(([rule]) => rule));
    expect(RULES.map((r) => r.id).filter((id) => !covered.has(id))).toEqual([]);
  });

  it("accepts the portable forms the reference recommends", () => {
    const portable = `-- a comment may say QUALIFY, ::, greatest( or 5 / 2 freely
with x as (
  select
    CAST(date_trunc('month', ordered_on) AS DATE) AS month_start_on,
    CAST(d - INTERVAL '12' MONTH AS DATE) AS window_start_on,
    CAST(g.cohort_month_on + g.months * INTERVAL '1' MONTH AS DATE) AS month_on,
    date_diff('day', CAST(ordered_at AS DATE), {{ as_of }}) AS days,
    date_diff('day', b.first_order_on, DATE '2024-01-31') AS tenure_days,
    CAST(COUNT(*) AS DOUBLE) / NULLIF(n, 0) AS share,
    CAST(a AS DOUBLE) / 100e0 AS pct,
    CAST(ROUND(SUM(m), 2) AS DECIMAL(18,2)) AS margin,
    COUNT(CASE WHEN a > 0 THEN 1 END) AS positives,
    SUM(x) OVER (ORDER BY d, id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running,
    ROW_NUMBER() OVER (PARTITION BY a ORDER BY b DESC, id) AS rn,
    a || '|' || b AS pair,
    'it''s -- not a comment, nor :: nor 5 / 2' AS text
  from t
  where d >= DATE '2024-01-01' and d <= {{ as_of }}
  group by 1, 2
)
select * from x where rn = 1
`;
    expect(lintSql(portable, "sql/marts/x.sql")).toEqual([]);
  });

  it("accepts a varchar parameter that is cast or only compared (found by the Trino differential tier)", () => {
    expect(
      rules(`select
  CAST({{ pyramid.value_measure }} AS VARCHAR) AS value_measure,
  CASE {{ pyramid.value_measure }} WHEN 'net_revenue' THEN revenue ELSE margin END AS value,
  CASE WHEN {{ affinity.basket }} = 'order' THEN order_id ELSE customer_id END AS basket_id
from t`),
    ).toEqual([]);
  });

  it("reports the file, line and column, and the portable alternative", () => {
    const findings = lintSql(
      "-- question: q\nselect\n  a,\n  greatest(a, b) AS g\nfrom t",
      "sql/marts/x.sql",
    );
    expect(findings.map(formatFinding)).toEqual([
      "sql/marts/x.sql:4:3 [greatest-least] greatest/least return NULL on Trino if any argument is NULL, and ignore NULLs on DuckDB. Portable: CASE WHEN a >= b THEN a ELSE b END on non-NULL values (COALESCE them first)",
    ]);
  });

  it("lets a reviewed line opt out of one rule with a visible comment", () => {
    expect(rules("select greatest(a, b) from t -- lint: allow greatest-least (a, b are NOT NULL)")).toEqual(
      [],
    );
    expect(rules("select greatest(a, b) / 2 from t -- lint: allow greatest-least")).toEqual([
      "integer-division",
    ]);
  });

  it("finds nothing in the project's models", async () => {
    const models = await loadCatalogueModels("sql");
    // Stages have no SQL to lint.
    const findings = models.filter((m) => m.stage === undefined).flatMap((m) => lintSql(m.sql, m.file));
    expect(findings.map(formatFinding)).toEqual([]);
  });

  it("cites only files of this repository, and headings that exist in them", () => {
    // The messages and the module's own comments: a user reads both, and has only the repository.
    const comments = readFileSync("functions/core/runner/lint.ts", "utf8")
      .split("\n")
      .filter((line) => /^\s*(\/\*\*|\*|\/\/)/.test(line));
    const texts = [...comments, ...RULES.map((r) => r.message)];
    const cited = new Set(
      texts.flatMap((t) => [...t.matchAll(/[\w.-]*\/[\w./-]*\.(?:md|sql|ts)(?:#[\w-]+)?/g)].map((m) => m[0])),
    );
    expect([...cited].length).toBeGreaterThan(0);
    const broken = [...cited].filter((reference) => {
      const [file = "", anchor] = reference.split("#");
      if (!existsSync(file)) return true;
      return anchor !== undefined && !headingAnchors(readFileSync(file, "utf8")).has(anchor);
    });
    expect(broken).toEqual([]);
  });

  it("explains every rule in its own section of the portability doc", () => {
    const anchors = headingAnchors(readFileSync(PORTABILITY_DOC, "utf8"));
    expect(RULES.map((r) => r.id).filter((id) => !anchors.has(id))).toEqual([]);
  });
});

/** GitHub's anchors for a Markdown file's headings: lower-case, punctuation dropped, spaces as hyphens. */
function headingAnchors(markdown: string): Set<string> {
  return new Set(
    [...markdown.matchAll(/^#+\s+(.+)$/gm)].map((m) =>
      (m[1] ?? "")
        .toLowerCase()
        .replace(/[^\w\s-]/g, "")
        .trim()
        .replace(/\s/g, "-"),
    ),
  );
}
