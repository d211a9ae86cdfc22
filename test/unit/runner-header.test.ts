import { describe, expect, it } from "vitest";
import { parseModelHeader } from "../../functions/core/runner/header.ts";

const VALID = `-- question: Who buys?
-- grain: one row per customer
-- depends_on: stg_transactions, customer_base
-- sources: transactions
-- unique_key: customer_id
-- note: First note,
--   continued on a second line.
--
-- column customer_id: Customer id.
-- column orders: Purchase orders,
--   net of refunds.
select customer_id, orders from customer_base
`;

function headerError(text: string): string {
  try {
    parseModelHeader(text, "sql/marts/x.sql");
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected the header to be rejected");
}

describe("model header", () => {
  it("parses every key, list, note and column, joining continuation lines", () => {
    const { header, bodyLine } = parseModelHeader(VALID, "sql/marts/x.sql");
    expect(header).toEqual({
      question: "Who buys?",
      grain: "one row per customer",
      dependsOn: ["stg_transactions", "customer_base"],
      sources: ["transactions"],
      materialized: "table",
      uniqueKey: ["customer_id"],
      notes: ["First note, continued on a second line."],
      columns: [
        { name: "customer_id", description: "Customer id.", line: 9 },
        { name: "orders", description: "Purchase orders, net of refunds.", line: 10 },
      ],
    });
    expect(bodyLine).toBe(12);
  });

  it("accepts depends_on: none and a view without unique_key", () => {
    const { header } = parseModelHeader(
      "-- question: q\n-- grain: g\n-- depends_on: none\n-- materialized: view\n-- column a: A.\nselect 1 as a\n",
      "f.sql",
    );
    expect(header.dependsOn).toEqual([]);
    expect(header.materialized).toBe("view");
    expect(header.uniqueKey).toEqual([]);
  });

  it("names the file and the line of an unknown key, and lists the known keys", () => {
    expect(headerError(VALID.replace("-- grain:", "-- grian:"))).toBe(
      'sql/marts/x.sql:2: unknown header key "grian". Known keys: question, grain, depends_on, sources, materialized, unique_key, note, column <name>',
    );
  });

  it("rejects a missing grain with an example", () => {
    expect(headerError(VALID.replace("-- grain: one row per customer\n", ""))).toBe(
      'sql/marts/x.sql: header is missing "-- grain:" (for example "-- grain: one row per customer")',
    );
  });

  it("rejects prose that is not a header entry", () => {
    expect(headerError(`-- This model counts orders.\n${VALID}`)).toMatch(
      /^sql\/marts\/x\.sql:1: cannot read header line "-- This model counts orders\."/,
    );
  });

  it("rejects a column documented twice, with both lines", () => {
    expect(headerError(VALID.replace("-- column orders:", "-- column customer_id:"))).toBe(
      'sql/marts/x.sql:10: column "customer_id" is documented twice (first on line 9)',
    );
  });

  it("rejects a key given twice", () => {
    expect(headerError(VALID.replace("-- sources: transactions", "-- grain: again"))).toBe(
      'sql/marts/x.sql:4: "grain" is given twice (first on line 2)',
    );
  });

  it("rejects a unique_key that is not a documented column", () => {
    expect(headerError(VALID.replace("-- unique_key: customer_id", "-- unique_key: order_id"))).toBe(
      'sql/marts/x.sql:5: unique_key "order_id" is not a documented column',
    );
  });

  it("requires unique_key on tables", () => {
    expect(headerError(VALID.replace("-- unique_key: customer_id\n", ""))).toMatch(
      /missing "-- unique_key:"/,
    );
  });

  it("rejects a bad dependency name, an unknown materialization and an orphan continuation", () => {
    expect(
      headerError(VALID.replace("stg_transactions, customer_base", "stg_transactions customer_base")),
    ).toMatch(
      /^sql\/marts\/x\.sql:3: depends_on lists "stg_transactions customer_base", which is not a model name/,
    );
    expect(headerError(VALID.replace("-- sources: transactions", "-- materialized: incremental"))).toBe(
      'sql/marts/x.sql:4: materialized is "incremental"; expected one of: table, view',
    );
    expect(headerError(`--   orphan\n${VALID}`)).toBe(
      "sql/marts/x.sql:1: an indented continuation line must follow a header entry",
    );
  });

  it("rejects a file without a header or without documented columns", () => {
    expect(headerError("select 1")).toMatch(/^sql\/marts\/x\.sql: has no header/);
    expect(
      headerError("-- question: q\n-- grain: g\n-- depends_on: none\n-- unique_key: a\nselect 1 as a"),
    ).toMatch(/documents no output column/);
  });
});
