import { COLUMN_TYPES, CONTRACTS, LINEAGE_COLUMNS, REASON_CODES } from "./contracts.ts";

/**
 * docs/contracts.md, generated from contracts.ts so the two cannot drift: test/unit/readme.test.ts fails when
 * the page is stale. `npm run docs` (scripts/docs.ts) writes it. Pure: it renders text and writes nothing.
 */
export const CONTRACTS_DOC_PATH = new URL("../../../docs/contracts.md", import.meta.url);

const cell = (text: string) => text.replaceAll("|", "\\|");

/** The whole docs/contracts.md text. */
export function renderContractsDoc(): string {
  const parts: string[] = [
    "# Data contracts",
    "",
    "<!-- Generated from functions/core/catalogue/contracts.ts by functions/core/catalogue/contracts-doc.ts;",
    "     do not edit by hand. Regenerate with: npm run docs -->",
    "",
    "These column names are the contract of the four input datasets. A [source profile](ingest.md#source-profiles)",
    "maps a foreign export onto them. Names are matched case-insensitively, CSV headers and JSON keys alike. Unknown",
    "extra columns are ignored, with a warning that names them. A missing required column rejects the whole file, and",
    "the error lists the columns that were found. A CSV header naming one column twice (`Amount`, `amount`) rejects",
    "the file; a JSON record naming one column twice is quarantined as `malformed_row`.",
    "",
    "Values are stored as follows:",
    "",
    "- **Money** is `decimal(18,2)`: parsed at 6 decimals and rounded half away from zero to cents, so a line's",
    "  absolute value must stay below 10¹². The models publish every sum of money (per order, per customer, per tier,",
    "  per month…) as `decimal(38,2)` (margins of orders `decimal(38,6)`), so no sum of lines overflows short of",
    "  10²⁴ lines (issue 13).",
    "- **Shares** (`planned_control_share`) are `decimal(9,6)`: parsed and rounded to 6 decimals, strictly between 0",
    "  and 1, else the row is quarantined as `bad_share`.",
    "- **A column added to a contract later** (`planned_control_share`, `line_type`) reads as NULL in files ingested",
    "  before it existed; a NULL `line_type` means a product line.",
    "- **Timestamps** are UTC at millisecond precision (Parquet INT64 `TIMESTAMP_MILLIS`, which Athena reads",
    "  exactly). Without a profile format they are read as ISO 8601: `2024-05-01`, `2024-05-01 10:00:00[.123]`,",
    "  `2024-05-01T10:00:00Z` or with an offset, which is converted to UTC. A timestamp without an offset (or a",
    "  date alone, meaning its midnight) is wall-clock time in the business's zone, `calendar.time_zone` (default",
    "  UTC), and is stored as its UTC instant (docs/definitions.md, Days and the time zone).",
    "- **Ids** are strings, kept as written (`017850` and `17850` are two customers). A JSON Lines id written as a",
    "  number names the customer of its digits: `17850`, `17850.0` and `1.785e4` are all `17850`, because JSON does",
    "  not tell these apart and pandas writes an id column with a gap as `17850.0`. A number with a fraction",
    "  (`17850.5`), or too large to be read exactly (beyond 2⁵³ unless written as plain digits), is no id: the row",
    "  is quarantined as `bad_id`.",
    "- **Line numbers** are physical: `line_number` is the line of the file the record starts on, counting a header,",
    "  blank lines and the line ends inside quoted fields.",
    "",
    "Types below are the Glue (Hive) types of the curated tables.",
    "",
  ];
  for (const contract of Object.values(CONTRACTS)) {
    const partition = contract.partition
      ? ` Stored partitioned by \`${contract.partition.column}\` (the \`YYYY-MM\` of \`${contract.partition.from}\`).`
      : "";
    parts.push(
      `## ${contract.name}`,
      "",
      `${contract.description}${partition}`,
      "",
      "| column | type | required | meaning |",
      "|---|---|---|---|",
      ...contract.columns.map(
        (c) =>
          `| ${c.name} | ${COLUMN_TYPES[c.type].glue} | ${c.required ? "yes" : "no"} | ${cell(c.description)}${c.allowed ? ` (one of: ${c.allowed.join(", ")})` : ""}${c.notInFuture ? " (not in the future: see `future_date`)" : ""} |`,
      ),
      "",
    );
  }
  parts.push(
    "## Lineage",
    "",
    "Every curated row also carries its lineage:",
    "",
    "| column | type | meaning |",
    "|---|---|---|",
    ...LINEAGE_COLUMNS.map((c) => `| ${c.name} | ${COLUMN_TYPES[c.type].glue} | ${cell(c.description)} |`),
    "",
    "## Quarantine reason codes",
    "",
    "A row that breaks its contract goes to the quarantine with one of these codes. The codes are stable: filter",
    "on them.",
    "[The quarantine and the drop ledger](ingest.md#the-quarantine-and-the-drop-ledger) describes both tables.",
    "",
    "| reason_code | meaning |",
    "|---|---|",
    ...Object.entries(REASON_CODES).map(([code, meaning]) => `| \`${code}\` | ${cell(meaning)} |`),
    "",
  );
  return parts.join("\n");
}
