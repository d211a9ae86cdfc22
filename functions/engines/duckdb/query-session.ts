/** `crmlake query`'s engine: DuckDB with the lake's input relations and published models as views. */
import { QueryFailedError } from "../../core/errors.ts";
import type { InputSnapshot } from "../../core/ledger/ledger.ts";
import { attachLakeViews } from "./lake-views.ts";
import { attachModelViews } from "./model-views.ts";
import { openDuckDB } from "./session.ts";

export interface LakeQueryResult {
  readonly columns: readonly string[];
  /** Rows in DuckDB's JSON form, except that 64-bit integers that fit a JavaScript number are numbers. */
  readonly rows: readonly unknown[][];
}

export interface LakeQuerySession {
  /** Runs one statement; a failure is a QueryFailedError with DuckDB's first line. */
  query(sql: string): Promise<LakeQueryResult>;
  close(): void;
}

export async function openLakeQuerySession(
  lakeDir: string,
  inputs: InputSnapshot,
): Promise<LakeQuerySession> {
  const session = await openDuckDB();
  try {
    await attachLakeViews(session.connection, lakeDir, inputs);
    await attachModelViews(session.connection, lakeDir);
  } catch (error) {
    session.close();
    throw error;
  }
  return {
    async query(sql) {
      let reader: Awaited<ReturnType<typeof session.connection.runAndReadAll>>;
      try {
        reader = await session.connection.runAndReadAll(sql);
      } catch (error) {
        throw new QueryFailedError(
          "query_failed",
          (error as Error).message.split("\n")[0] ?? "query failed",
          { cause: error },
        );
      }
      const columns = reader.columnNames();
      // DuckDB's JSON form renders 64-bit integers as strings; small ones become plain numbers here.
      const integer = reader
        .columnTypes()
        .map((t) => /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|U\w*INT)$/.test(t.toString()));
      const rows = (reader.getRowsJson() as unknown[][]).map((row) =>
        row.map((v, i) =>
          integer[i] && typeof v === "string" && Number.isSafeInteger(Number(v)) ? Number(v) : v,
        ),
      );
      return { columns, rows };
    },
    close: () => session.close(),
  };
}
