/**
 * docs/system-tables.md, generated from the system tables' one declaration (system-tables.ts), so the page
 * cannot drift from what the engines read: test/unit/system-tables-doc.test.ts fails when the file is stale.
 * Regenerate with `npm run docs` (scripts/docs.ts).
 */
import { hiveType } from "./hive-types.ts";
import {
  SYSTEM_TABLE_NAMES,
  SYSTEM_TABLES,
  type SystemPartitionKey,
  type SystemTable,
} from "./system-tables.ts";

export const SYSTEM_TABLES_DOC_PATH = new URL("../../../docs/system-tables.md", import.meta.url);

/** Table cell text: `|` escaped, and `<` so that `<file name>` is not read as an HTML tag. */
const cell = (text: string) => text.replaceAll("|", "\\|").replaceAll("<", "&lt;").replaceAll("\n", " ");

function partitionNote(key: SystemPartitionKey): string {
  const dir = key.dirs === "hive" ? `${key.name}=<value>/` : "<value>/";
  return ` Partition key: the directory \`${dir}\`, one of ${key.values.map((v) => `\`${v}\``).join(", ")}.`;
}

function tableSection(table: SystemTable): string[] {
  const format = table.format === "parquet" ? "Parquet" : "JSON, one object on one line per file";
  return [
    `## ${table.name}`,
    "",
    table.description,
    "",
    `- **Files:** \`${table.prefix}\` (${format})`,
    `- **Written by:** ${table.writtenBy}`,
    "",
    "| column | type | Glue (Hive) type | meaning |",
    "|---|---|---|---|",
    ...table.columns.map(
      (c) => `| ${c.name} | \`${c.type}\` | \`${hiveType(c.type)}\` | ${cell(c.description)} |`,
    ),
    ...table.partitionKeys.map(
      (k) =>
        `| ${k.name} | \`${k.type}\` | \`${hiveType(k.type)}\` | ${cell(k.description)}.${cell(partitionNote(k))} |`,
    ),
    "",
  ];
}

/**
 * How a BI user tells which late files an as-of missed (docs/adr/0016-late-files-rescore-the-latest-as-of.md),
 * with the two tables alone; test/e2e/late-drops.test.ts runs the query on a lake.
 */
export const LATE_FILES_QUERY = [
  "SELECT r.as_of, r.run_id, d.drop_id, d.first_business_day, d.finished_at",
  "FROM runs r",
  "JOIN drops d",
  "  ON d.ledger_dir = 'drops'",
  "  AND d.first_business_day <= r.as_of",
  "  AND d.finished_at > r.inputs_taken_at",
  "WHERE r.status = 'succeeded'",
  "ORDER BY r.as_of, r.run_id, d.drop_id",
].join("\n");

const LATE_FILES = [
  "## Late files",
  "",
  "A file that lands after its day was scored is a *late* drop for that as-of: its `first_business_day` is on or",
  "before the as-of, and it was committed after the run read the ledger (`runs.inputs_taken_at`). The latest",
  "as-of is re-scored (locally `crmlake ingest` says so and `crmlake run --as-of D` does it; a deployment's",
  "hourly check does it by itself); earlier as-ofs stay as they were computed. Which drops each run missed:",
  "",
  "```sql",
  LATE_FILES_QUERY,
  "```",
  "",
  "A run lists a drop it missed even when a later run of the same as-of read it: the as-of's published numbers",
  "are its last succeeded run's. A new version of a file is a new `finished_at`. Records written before these",
  "columns existed have them null and list nothing. docs/adr/0016-late-files-rescore-the-latest-as-of.md has the",
  "rules.",
  "",
];

/** The whole docs/system-tables.md text. */
export function renderSystemTablesDoc(): string {
  return [
    "# System tables",
    "",
    "<!-- Generated from functions/core/catalogue/system-tables.ts by functions/core/catalogue/system-tables-doc.ts;",
    "     do not edit by hand. Regenerate with: npm run docs -->",
    "",
    "The lake's own tables: what ingest rejected (`quarantine`), what it did with each file (`drops`), and what",
    "each scoring run did (`runs`). They have the same names, columns and types locally (`crmlake query`, DuckDB",
    "views) and on AWS (Glue tables, Athena), because both are generated from one declaration. Columns are listed",
    "in the order `SELECT *` returns them; partition keys come last.",
    "",
    "Types are in Athena's (Trino's) notation, as Athena's `information_schema` reports them. DuckDB shows the same",
    "types in its own spelling (`timestamp(3)` is `TIMESTAMP_MS`, `map(varchar, bigint)` is `MAP(VARCHAR, BIGINT)`,",
    "`array(T)` is `T[]`, `row(…)` is `STRUCT(…)`; the full correspondence is in",
    "functions/engines/duckdb/system-tables.ts). Timestamps are UTC; the JSON tables store them as",
    "`yyyy-MM-dd HH:mm:ss.SSS`. `crmlake query` also offers `run_models`, one row per model of each run (the `models`",
    "column of `runs`, unnested); Athena has no such view. Decisions and evidence: docs/adr/0009-system-tables.md.",
    "",
    ...SYSTEM_TABLE_NAMES.flatMap((name) => tableSection(SYSTEM_TABLES[name])),
    ...LATE_FILES,
  ].join("\n");
}
