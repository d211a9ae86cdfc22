/**
 * `crmlake export actions` on a local lake: the published customer_actions through DuckDB views of the
 * lake's models, as the ActionQuery the engine-neutral writer reads (functions/core/runner/action-lists.ts).
 * The CSV itself is written in TypeScript, the same code the runner's post-publish step uses on Athena.
 */
import { ModelError } from "../../core/errors.ts";
import type { ColumnInfo, QueryResult, Row } from "../../core/ports/warehouse.ts";
import type { ActionQuery } from "../../core/runner/action-lists.ts";
import { attachModelViews } from "./model-views.ts";
import { openDuckDB } from "./session.ts";

export interface ActionSource {
  readonly query: ActionQuery;
  close(): void;
}

/** The published models of `lakeDir` as DuckDB views; refuses a lake without customer_actions. */
export async function openActionSource(lakeDir: string): Promise<ActionSource> {
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
    return {
      query: async (sql: string): Promise<QueryResult> => {
        const result = await connection.runAndReadAll(sql);
        const types = result.columnTypes();
        const columns: ColumnInfo[] = result
          .columnNames()
          .map((name, i) => ({ name, type: types[i]?.toString() ?? "UNKNOWN" }));
        return { columns, rows: result.getRowObjectsJson() as Row[] };
      },
      close: () => session.close(),
    };
  } catch (error) {
    session.close();
    throw error;
  }
}
