/**
 * Two rules a source profile applies to whole lines at ingest (issue 16), kept out of convert.ts so its hooks
 * stay small: the line type a profile sets (`non_product_lines`), and exact duplicate lines (counted always,
 * quarantined as `duplicate_line` when `duplicate_lines` is "quarantine"). SQL text, and one check of the
 * profile's pattern by DuckDB.
 */
import { type DuckDBConnection, sqlString } from "../../engines/duckdb/session.ts";
import { ConfigError, errorMessage } from "../errors.ts";
import type { SourceProfile } from "./profile.ts";

/**
 * Refuses a `product_id_pattern` DuckDB cannot compile, as the profile's fault (bad_profile), before the file is
 * read. The profile's schema tries the pattern as a JavaScript one, which takes lookarounds and backreferences
 * that RE2 (DuckDB's) does not: such a pattern would otherwise fail the conversion as an unreadable file.
 */
export async function checkLineRules(connection: DuckDBConnection, profile: SourceProfile): Promise<void> {
  const pattern = profile.non_product_lines?.product_id_pattern;
  if (pattern === undefined) return;
  try {
    await connection.run(`SELECT regexp_full_match('', ${sqlString(pattern)})`);
  } catch (error) {
    const reason = (errorMessage(error).split("\n")[0] ?? "").replace(/^Invalid Input Error: /, "");
    throw new ConfigError(
      "bad_profile",
      `Source profile "${profile.name ?? "?"}": non_product_lines.product_id_pattern ${JSON.stringify(pattern)} is not a regular expression DuckDB reads (RE2: no lookahead, lookbehind or backreference): ${reason}`,
      { cause: error },
    );
  }
}

/**
 * The raw text of `line_type` (convert.ts layer 1): the file's own value when it has one, else the profile's
 * rule on the product id (`non_product` when the id is listed or matches the pattern, `product` otherwise),
 * else NULL (read as product). `fileRaw` and `productRaw` are layer-1 expressions (trimmed text or NULL).
 */
export function lineTypeRaw(
  profile: SourceProfile,
  fileRaw: string | undefined,
  productRaw: string | undefined,
): string {
  const rule = profile.non_product_lines;
  const tests: string[] = [];
  if (rule && productRaw !== undefined) {
    if (rule.product_ids.length > 0)
      tests.push(`${productRaw} IN (${rule.product_ids.map(sqlString).join(", ")})`);
    if (rule.product_id_pattern !== undefined)
      tests.push(`regexp_full_match(${productRaw}, ${sqlString(rule.product_id_pattern)})`);
  }
  // With a rule, a line it does not match is a product line, so the lake records the decision.
  const byRule = rule
    ? tests.length > 0
      ? `CASE WHEN ${tests.join(" OR ")} THEN 'non_product' ELSE 'product' END`
      : "'product'"
    : "CAST(NULL AS VARCHAR)";
  return fileRaw === undefined ? byRule : `COALESCE(${fileRaw}, ${byRule})`;
}

/**
 * A 64-bit hash of a record's fields, the key of the duplicate count: `count(*) − count(DISTINCT hash)` rows
 * repeat an earlier one. Two different records share a hash with probability about n² / 2⁶⁵ (3 × 10⁻⁸ for a
 * million rows), which can only overstate the count; the quarantine compares the records themselves.
 */
export function recordHashSql(fields: readonly string[]): string {
  return fields.length === 0 ? "CAST(0 AS UBIGINT)" : `hash(${fields.join(", ")})`;
}

/** Whether the profile quarantines duplicates: then every row keeps its raw text, which the comparison reads. */
export function quarantinesDuplicates(profile: SourceProfile): boolean {
  return profile.duplicate_lines === "quarantine";
}

/**
 * Marks as `duplicate_line` every row of the typed table that passed its checks and repeats an earlier row
 * (by `order`) exactly: the same raw text, which is the record's every field (a JSON object of them, or the
 * JSON line itself). The first copy stays curated. `fail` is the __fail value that quarantines a row.
 */
export function quarantineDuplicatesSql(table: string, order: string, fail: number): string {
  return `UPDATE ${table} SET __fail = ${fail}, reason_code = 'duplicate_line',
      reason = 'the line repeats an earlier line of the drop in every field (profile duplicate_lines = "quarantine")'
    WHERE rowid IN (
      SELECT rowid FROM (
        SELECT rowid, row_number() OVER (PARTITION BY raw ORDER BY ${order}) AS copy
        FROM ${table} WHERE __fail IS NULL)
      WHERE copy > 1)`;
}
