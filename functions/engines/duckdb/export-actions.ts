/**
 * `crmlake export actions`: the published customer_actions of one as-of, one CSV per next action, written by
 * DuckDB's COPY (header, comma-separated, RFC 4180 quoting). Each file is written beside its final name and
 * renamed over it, so a reader never sees half a list.
 */
import { mkdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { NEXT_ACTIONS, type NextAction } from "../../core/catalogue/actions.ts";
import { ModelError } from "../../core/errors.ts";
import { attachModelViews } from "./model-views.ts";
import { openDuckDB, sqlString } from "./session.ts";

export interface ExportedActions {
  readonly asOf: string;
  readonly files: readonly {
    readonly action: NextAction;
    readonly file: string;
    readonly customers: number;
  }[];
}

/** Writes `<outDir>/<action>.csv` for every action, from customer_actions as of `asOf` (default the latest). */
export async function exportActionsCsv(
  lakeDir: string,
  outDir: string,
  asOf?: string,
): Promise<ExportedActions> {
  const session = await openDuckDB({ threads: 1 });
  try {
    const { connection } = session;
    const published = await attachModelViews(connection, lakeDir);
    if (!published.includes("customer_actions")) {
      throw new ModelError(
        "no_actions",
        `The lake ${lakeDir} has no published customer_actions: run "crmlake run --lake ${lakeDir}" first`,
      );
    }
    const asOfs = (
      (
        await connection.runAndReadAll(
          "SELECT CAST(as_of AS VARCHAR) AS as_of FROM customer_actions GROUP BY as_of ORDER BY as_of DESC",
        )
      ).getRowObjectsJson() as { as_of: string }[]
    ).map((r) => r.as_of);
    const chosen = asOf ?? asOfs[0];
    if (chosen === undefined || !asOfs.includes(chosen)) {
      const shown = asOfs.slice(0, 5).join(", ");
      throw new ModelError(
        "no_actions",
        `customer_actions has no rows as of ${chosen ?? "any date"} in ${lakeDir}; published as-ofs: ${shown === "" ? "none" : shown}${asOfs.length > 5 ? ", …" : ""}`,
      );
    }
    await mkdir(outDir, { recursive: true });
    const files: { action: NextAction; file: string; customers: number }[] = [];
    for (const action of NEXT_ACTIONS) {
      const file = join(outDir, `${action}.csv`);
      const partial = join(outDir, `.${action}.csv.partial`);
      const select = `SELECT * FROM customer_actions WHERE as_of = DATE ${sqlString(chosen)} AND next_action = ${sqlString(action)} ORDER BY customer_id`;
      try {
        const result = await connection.run(
          `COPY (${select}) TO ${sqlString(partial)} (FORMAT csv, HEADER true, DELIMITER ',')`,
        );
        await rename(partial, file);
        files.push({ action, file, customers: Number(result.rowsChanged) });
      } catch (error) {
        await rm(partial, { force: true });
        throw error;
      }
    }
    return { asOf: chosen, files };
  } finally {
    session.close();
  }
}
