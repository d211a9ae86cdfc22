import { describe, expect, it } from "vitest";
import { parseModelHeader } from "../../functions/core/catalogue/header.ts";

const VALID = `-- question: Who buys?
-- grain: one row per customer
-- depends_on: stg_transactions, customer_base
-- sources: transactions
-- unique_key: customer_id
-- note: First note,
--   continued on a second line.
--
-- column customer_id varchar: Customer id.
-- column orders bigint: Purchase orders,
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
        { name: "customer_id", type: "varchar", description: "Customer id.", line: 9 },
        { name: "orders", type: "bigint", description: "Purchase orders, net of refunds.", line: 10 },
      ],
    });
    expect(bodyLine).toBe(12);
  });

  it("accepts depends_on: none and a view without unique_key", () => {
    const { header } = parseModelHeader(
      "-- question: q\n-- grain: g\n-- depends_on: none\n-- materialized: view\n-- column a integer: A.\nselect 1 as a\n",
      "f.sql",
    );
    expect(header.dependsOn).toEqual([]);
    expect(header.materialized).toBe("view");
    expect(header.uniqueKey).toEqual([]);
  });

  it("names the file and the line of an unknown key, and lists the known keys", () => {
    expect(headerError(VALID.replace("-- grain:", "-- grian:"))).toBe(
      'sql/marts/x.sql:2: unknown header key "grian". Known keys: question, grain, depends_on, sources, materialized, unique_key, note, column <name> <type>',
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
    expect(headerError(VALID.replace("-- column orders bigint:", "-- column customer_id bigint:"))).toBe(
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
      'sql/marts/x.sql:4: materialized is "incremental"; expected one of: table, view, temporary',
    );
    expect(headerError(`--   orphan\n${VALID}`)).toBe(
      "sql/marts/x.sql:1: an indented continuation line must follow a header entry",
    );
  });

  describe("column types", () => {
    const typed = (entry: string) =>
      `-- question: q\n-- grain: g\n-- depends_on: none\n-- materialized: view\n${entry}\nselect 1 as a\n`;
    const typeOf = (entry: string) => parseModelHeader(typed(entry), "f.sql").header.columns[0]?.type;

    it.each([
      ["bigint", "bigint"],
      ["integer", "integer"],
      ["double", "double"],
      ["decimal(18,2)", "decimal(18,2)"],
      ["decimal(38,0)", "decimal(38,0)"],
      ["varchar", "varchar"],
      ["date", "date"],
      ["timestamp(3)", "timestamp(3)"],
      ["boolean", "boolean"],
      ["array(varchar)", "array(varchar)"],
      ["array(array(decimal(18,2)))", "array(array(decimal(18,2)))"],
    ])("reads the type %s", (written, canonical) => {
      expect(typeOf(`-- column a ${written}: A.`)).toBe(canonical);
    });

    it("reads decimal(18, 2), as Trino prints it, as decimal(18,2)", () => {
      expect(typeOf("-- column a decimal(18, 2): A.")).toBe("decimal(18,2)");
      expect(typeOf("-- column a array( decimal( 9 , 4 ) ): A.")).toBe("array(decimal(9,4))");
    });

    it("keeps colons and parentheses of the description, and continuation lines", () => {
      const { header } = parseModelHeader(
        typed("-- column a decimal(18,2): Net (after refunds): in EUR,\n--   rounded (half up)."),
        "f.sql",
      );
      expect(header.columns).toEqual([
        {
          name: "a",
          type: "decimal(18,2)",
          description: "Net (after refunds): in EUR, rounded (half up).",
          line: 5,
        },
      ]);
    });

    const allowed =
      "Allowed types: bigint, integer, double, decimal(p,s), varchar, date, timestamp(3), boolean, array(<type>).";

    it("requires a type, naming the file, the line, the column and the allowed types", () => {
      expect(headerError(VALID.replace("-- column orders bigint:", "-- column orders:"))).toBe(
        `sql/marts/x.sql:10: column "orders" has no type. Write "-- column orders <type>: <description>". ${allowed}`,
      );
    });

    it("requires a type on a view's columns too", () => {
      expect(() => parseModelHeader(typed("-- column a: A (a view)."), "f.sql")).toThrow(
        'f.sql:5: column "a" has no type.',
      );
    });

    it.each([
      ["money", '"money" is not an allowed column type'],
      ["string", '"string" is not an allowed column type'],
      ["varchar(5)", '"varchar(5)" is not an allowed column type (strings are unbounded: "varchar";'],
      ["timestamp", '"timestamp" is not an allowed column type (timestamps are millisecond timestamps'],
      ["timestamp(6)", '"timestamp(6)" is not an allowed column type (timestamps are millisecond'],
      ["decimal", '"decimal" is not an allowed column type (give the precision and scale'],
      ["decimal(39,2)", '"decimal(39,2)" is not a valid decimal: the precision p must be 1 to 38'],
      ["decimal(4,5)", '"decimal(4,5)" is not a valid decimal'],
      ["BIGINT", '"BIGINT" is not an allowed column type (types are written in lower case: "bigint")'],
      ["hugeint", '"hugeint" is not an allowed column type'],
      ["array(money)", '"money" is not an allowed column type'],
      ["array()", '"" is not an allowed column type'],
      ["map(varchar,bigint)", '"map(varchar,bigint)" is not an allowed column type'],
      ["bigint Orders", '"bigint Orders" is not an allowed column type (a type has no spaces'],
    ])("rejects the type %s with the file, line, column and the allowed types", (written, reason) => {
      const message = headerError(VALID.replace("-- column orders bigint:", `-- column orders ${written}:`));
      expect(message).toContain(`sql/marts/x.sql:10: column "orders" has the type ${reason}`);
      expect(message).toMatch(/Allowed types: bigint, integer, .*array\(<type>\)\.$/);
    });
  });

  it("rejects a file without a header or without documented columns", () => {
    expect(headerError("select 1")).toMatch(/^sql\/marts\/x\.sql: has no header/);
    expect(
      headerError("-- question: q\n-- grain: g\n-- depends_on: none\n-- unique_key: a\nselect 1 as a"),
    ).toMatch(/documents no output column/);
  });
});
