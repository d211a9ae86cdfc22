// Every portable form the SQL lint recommends runs on a real Trino with the same rows as on DuckDB
// (test/sql/portable-forms.test.ts runs the same queries on DuckDB).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PORTABLE_FORMS, rowText } from "../sql/portable-forms.ts";
import { startTrino, type TrinoServer } from "./server.ts";

let trino: TrinoServer;

beforeAll(async () => {
  trino = await startTrino();
});

afterAll(async () => {
  await trino?.stop();
});

describe("the portable forms the SQL lint recommends, on Trino", () => {
  it.each(Object.entries(PORTABLE_FORMS))("%s: runs with the expected rows", async (_id, form) => {
    const result = await trino.query(form.sql);
    expect(result.rows.map(rowText)).toEqual(form.rows);
  });
});
