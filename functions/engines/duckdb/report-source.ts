/** The report's figures from a local lake, read with DuckDB over its published model views. */
import { CrmlakeError } from "../../core/errors.ts";
import type { InputSnapshot } from "../../core/ledger/ledger.ts";
import { loadReportData, type ReportData, type Row } from "../../core/report/report.ts";
import { attachLakeViews } from "./lake-views.ts";
import { attachModelViews } from "./model-views.ts";
import { openDuckDB } from "./session.ts";

/**
 * Reads a local lake's published run outputs for the report: as of `asOf`, or else the latest as-of, the
 * latest on or before `notAfter` when that is given (today: the default report is never of a future date).
 */
export async function loadLakeReport(
  lakeDir: string,
  inputs: InputSnapshot,
  asOf?: string,
  notAfter?: string,
): Promise<ReportData> {
  const session = await openDuckDB({ threads: 2 });
  try {
    await attachLakeViews(session.connection, lakeDir, inputs);
    const models = await attachModelViews(session.connection, lakeDir);
    if (!models.includes("customer_scores")) {
      throw new CrmlakeError(
        "no_run",
        `No model outputs in ${lakeDir}: run "crmlake run --lake ${lakeDir}" first`,
      );
    }
    const query = async (sql: string) =>
      (await session.connection.runAndReadAll(sql)).getRowObjectsJson() as Row[];
    let date = asOf;
    if (date === undefined) {
      const bound = notAfter === undefined ? "" : ` WHERE as_of <= DATE '${notAfter}'`;
      const latest = (await query(`SELECT CAST(max(as_of) AS VARCHAR) AS d FROM customer_scores${bound}`))[0]
        ?.d;
      date = typeof latest === "string" ? latest : undefined;
      if (date === undefined && notAfter !== undefined) {
        const later = (
          await query(
            `SELECT DISTINCT CAST(as_of AS VARCHAR) AS d FROM customer_scores WHERE as_of > DATE '${notAfter}' ORDER BY 1`,
          )
        ).map((r) => String(r.d));
        if (later.length > 0) {
          throw new CrmlakeError(
            "no_run",
            `No run as of today (${notAfter}) or earlier in ${lakeDir}, only after it, as of: ${later.join(", ")}. Pass --as-of ${later[0]} to report on one, or remove it with "crmlake runs delete --as-of ${later[0]} --lake ${lakeDir}"`,
          );
        }
      }
    }
    if (date === undefined) throw new CrmlakeError("no_run", `No run found in ${lakeDir}`);
    const found = await query(`SELECT count(*) AS n FROM customer_scores WHERE as_of = DATE '${date}'`);
    if (Number(found[0]?.n ?? 0) === 0) {
      const dates = await query(
        "SELECT DISTINCT CAST(as_of AS VARCHAR) AS d FROM customer_scores ORDER BY 1",
      );
      throw new CrmlakeError(
        "no_run",
        `No run as of ${date} in ${lakeDir}. Runs exist as of: ${dates.map((r) => String(r.d)).join(", ")}`,
      );
    }
    return await loadReportData(query, date);
  } finally {
    session.close();
  }
}
