/** The report's figures from a local lake, read with DuckDB over its published model views. */
import { CrmlakeError } from "../../core/errors.ts";
import type { InputSnapshot } from "../../core/ledger/ledger.ts";
import { loadReportData, type ReportData, type Row, resolveReportAsOf } from "../../core/report/report.ts";
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
    const date = await resolveReportAsOf(
      query,
      { where: `in ${lakeDir}`, option: `--lake ${lakeDir}` },
      asOf,
      notAfter,
    );
    return await loadReportData(query, date);
  } finally {
    session.close();
  }
}
