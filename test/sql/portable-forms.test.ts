// Every portable form the lint recommends runs on DuckDB as the runner opens it, with the rows computed by
// hand (the Trino tier runs the same queries: test/trino/portable-forms.test.ts).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lintSql, RULES } from "../../functions/core/runner/lint.ts";
import { DuckDBWarehouse } from "../../functions/engines/duckdb/warehouse.ts";
import { PORTABLE_FORMS, recommendedFunctions, rowText } from "./portable-forms.ts";

let lake: string;
let warehouse: DuckDBWarehouse;

beforeAll(async () => {
  lake = await mkdtemp(join(tmpdir(), "crmlake-portable-"));
  warehouse = await DuckDBWarehouse.open(lake);
});

afterAll(async () => {
  await warehouse?.close();
  if (lake) await rm(lake, { recursive: true, force: true });
});

describe("the portable forms the SQL lint recommends", () => {
  it("has a worked example for every rule", () => {
    expect(RULES.map((r) => r.id).filter((id) => PORTABLE_FORMS[id] === undefined)).toEqual([]);
  });

  it.each(RULES.map((r) => [r.id, r.message] as const))(
    "%s: the example calls every function the message recommends",
    (id, message) => {
      const sql = PORTABLE_FORMS[id]?.sql.toLowerCase() ?? "";
      const missing = recommendedFunctions(message).filter(
        (name) => !new RegExp(`\\b${name}\\s*\\(`).test(sql),
      );
      expect(missing).toEqual([]);
    },
  );

  it.each(Object.entries(PORTABLE_FORMS))("%s: the example passes the lint", (_id, form) => {
    expect(lintSql(form.sql, "sql/marts/example.sql")).toEqual([]);
  });

  it.each(Object.entries(PORTABLE_FORMS))("%s: runs on DuckDB with the expected rows", async (_id, form) => {
    const result = await warehouse.query(form.sql);
    expect(result.rows.map((row) => rowText(result.columns.map((c) => row[c.name])))).toEqual(form.rows);
  });
});
