// The differential comparison must fail on every kind of engine difference it claims to catch; these cases
// need no server, so they run first and fast.

import { describe, expect, it } from "vitest";
import { type CompareOptions, compareRelations, normaliseType, type Relation } from "./compare.ts";

const EXACT: CompareOptions = { columnOrder: "exact", key: ["id"] };

function relation(columns: [string, string][], rows: unknown[][]): Relation {
  return { columns: columns.map(([name, type]) => ({ name, type })), rows };
}

const duck = (type: string, values: unknown[]) =>
  relation(
    [
      ["id", "VARCHAR"],
      ["v", type],
    ],
    values.map((v, i) => [`k${i}`, v]),
  );
const trino = (type: string, values: unknown[]) =>
  relation(
    [
      ["id", "varchar"],
      ["v", type],
    ],
    values.map((v, i) => [`k${i}`, v]),
  );

function problems(d: Relation, t: Relation, options: CompareOptions = EXACT): string[] {
  return [...compareRelations("m", d, t, options).problems];
}

describe("compareRelations", () => {
  it("accepts the same rows in another order, with each engine's spelling of the same values", () => {
    const d = relation(
      [
        ["id", "VARCHAR"],
        ["amount", "DECIMAL(18,6)"],
        ["n", "BIGINT"],
        ["at", "TIMESTAMP_MS"],
        ["on", "DATE"],
        ["share", "DOUBLE"],
        ["tier", "VARCHAR"],
        ["ok", "BOOLEAN"],
        ["tags", "VARCHAR[]"],
      ],
      [
        [
          "a",
          "1.500000",
          "9007199254740993",
          "2024-01-02 03:04:05.12",
          "2024-01-02",
          0.1 + 0.2,
          "top",
          true,
          ["x"],
        ],
        ["b", null, "2", "2024-01-02 03:04:05", null, "NaN", "Zoë 😀", false, []],
      ],
    );
    const t = relation(
      [
        ["id", "varchar"],
        ["amount", "decimal(18, 6)"],
        ["n", "bigint"],
        ["at", "timestamp(3)"],
        ["on", "date"],
        ["share", "double"],
        ["tier", "varchar(8)"],
        ["ok", "boolean"],
        ["tags", "array(varchar)"],
      ],
      [
        ["b", null, 2, "2024-01-02 03:04:05.000", null, "NaN", "Zoë 😀", false, []],
        [
          "a",
          "1.500000",
          9007199254740993n,
          "2024-01-02 03:04:05.120",
          "2024-01-02",
          0.3,
          "top",
          true,
          ["x"],
        ],
      ],
    );
    const result = compareRelations("m", d, t, EXACT);
    expect(result.problems).toEqual([]);
    expect(result.doubles).toEqual({ compared: 2, inexact: 1, maxRelative: expect.any(Number) });
  });

  it("fails on a decimal of another scale or value, naming the model, the column and the rows", () => {
    expect(problems(duck("DECIMAL(18,2)", ["1.00"]), trino("decimal(18,3)", ["1.000"]))).toEqual([
      "m.v: type differs: DuckDB DECIMAL(18,2) vs Trino decimal(18,3)",
    ]);
    const [problem] = problems(
      duck("DECIMAL(18,2)", ["2.68", "1.00"]),
      trino("decimal(18,2)", ["2.67", "1.00"]),
    );
    expect(problem).toContain("m.v (decimal(18,2)): 1 row(s) differ");
    expect(problem).toContain('DuckDB: {id: "k0", v: "2.68"}');
    expect(problem).toContain('Trino:  {id: "k0", v: "2.67"}');
  });

  it("fails on integer widths, text, NULLs, booleans and dates that differ", () => {
    expect(problems(duck("INTEGER", [1]), trino("bigint", [1]))).toHaveLength(1);
    expect(problems(duck("VARCHAR", ["Zoë"]), trino("varchar", ["Zoe"]))).toHaveLength(1);
    expect(problems(duck("VARCHAR", [""]), trino("varchar", [null]))).toHaveLength(1);
    expect(problems(duck("BOOLEAN", [true]), trino("boolean", [false]))).toHaveLength(1);
    expect(problems(duck("DATE", ["2024-01-31"]), trino("date", ["2024-02-01"]))).toHaveLength(1);
  });

  it("compares timestamps to the millisecond", () => {
    expect(
      problems(
        duck("TIMESTAMP_MS", ["2024-01-02 03:04:05.1"]),
        trino("timestamp(3)", ["2024-01-02 03:04:05.100"]),
      ),
    ).toEqual([]);
    expect(
      problems(
        duck("TIMESTAMP_MS", ["2024-01-02 03:04:05.1"]),
        trino("timestamp(3)", ["2024-01-02 03:04:05.101"]),
      ),
    ).toHaveLength(1);
    expect(
      problems(
        duck("TIMESTAMP", ["2024-01-02 03:04:05"]),
        trino("timestamp(3)", ["2024-01-02 03:04:05.000"]),
      ),
    ).toEqual(["m.v: type differs: DuckDB TIMESTAMP vs Trino timestamp(3)"]);
  });

  it("takes doubles as equal within a relative 1e-9 (1e-12 absolute near 0), and NaN only as NaN", () => {
    expect(problems(duck("DOUBLE", [1, 0]), trino("double", [1 + 5e-10, 5e-13]))).toEqual([]);
    expect(problems(duck("DOUBLE", [1]), trino("double", [1 + 5e-9]))).toHaveLength(1);
    expect(problems(duck("DOUBLE", [0]), trino("double", [1e-11]))).toHaveLength(1);
    expect(problems(duck("DOUBLE", ["NaN"]), trino("double", [0]))).toHaveLength(1);
    expect(problems(duck("DOUBLE", ["Infinity"]), trino("double", ["Infinity"]))).toEqual([]);
  });

  it("fails on missing or extra rows and shows them", () => {
    const [problem] = problems(duck("VARCHAR", ["a", "b"]), trino("varchar", ["a"]));
    expect(problem).toContain("2 on DuckDB, 1 on Trino; 1 only on DuckDB, 0 only on Trino");
    expect(problem).toContain('DuckDB only: {id: "k1", v: "b"}');
  });

  it("pairs duplicate keys by content, so a multiset difference still shows", () => {
    const options: CompareOptions = { columnOrder: "exact" };
    const d = relation([["v", "VARCHAR"]], [["a"], ["a"], ["b"]]);
    expect(problems(d, relation([["v", "varchar"]], [["b"], ["a"], ["a"]]), options)).toEqual([]);
    expect(problems(d, relation([["v", "varchar"]], [["a"], ["b"], ["b"]]), options)).toHaveLength(1);
  });

  it("fails on column names or order, unless the relation allows any order", () => {
    const d = relation(
      [
        ["id", "VARCHAR"],
        ["a", "BIGINT"],
        ["b", "BIGINT"],
      ],
      [],
    );
    const t = relation(
      [
        ["id", "varchar"],
        ["b", "bigint"],
        ["a", "bigint"],
      ],
      [],
    );
    expect(problems(d, t)).toEqual(["m: columns differ: DuckDB (id, a, b) vs Trino (id, b, a)"]);
    expect(problems(d, t, { columnOrder: "set", key: ["id"] })).toEqual([]);
  });

  it("normalises only the documented type spellings", () => {
    expect(normaliseType("trino", "decimal(18, 2)")).toBe("decimal(18,2)");
    expect(normaliseType("trino", "varchar(12)")).toBe("varchar");
    expect(normaliseType("duckdb", "TIMESTAMP_MS")).toBe("timestamp(3)");
    expect(normaliseType("duckdb", "TIMESTAMP")).toBe("timestamp(6)");
    expect(normaliseType("duckdb", "VARCHAR[]")).toBe("array(varchar)");
    expect(normaliseType("duckdb", "HUGEINT")).toBe("hugeint");
    expect(normaliseType("duckdb", "MAP(VARCHAR, BIGINT)")).toBe(
      normaliseType("trino", "map(varchar, bigint)"),
    );
    expect(normaliseType("duckdb", 'STRUCT(a VARCHAR, "rows" BIGINT)[]')).toBe(
      normaliseType("trino", "array(row(a varchar, rows bigint))"),
    );
    expect(normaliseType("duckdb", "JSON")).not.toBe(normaliseType("trino", "map(varchar, bigint)"));
  });

  it("compares maps and rows element by element, whatever form each engine returns them in", () => {
    const mapD = duck("MAP(VARCHAR, BIGINT)", [[{ key: "x", value: "9007199254740993" }], [], null]);
    const mapT = trino("map(varchar, bigint)", [{ x: 9007199254740993n }, {}, null]);
    expect(problems(mapD, mapT)).toEqual([]);
    expect(problems(mapD, trino("map(varchar, bigint)", [{ x: 1 }, {}, null]))).toHaveLength(1);

    const rowType = "row(at timestamp(3), rows bigint, cost double)";
    const rowsD = duck('STRUCT("at" TIMESTAMP_MS, "rows" BIGINT, "cost" DOUBLE)[]', [
      [{ at: "2024-01-02 03:04:05.1", rows: "2", cost: null }],
    ]);
    const rowsT = trino(`array(${rowType})`, [[["2024-01-02 03:04:05.100", 2, null]]]);
    expect(problems(rowsD, rowsT)).toEqual([]);
    const later = trino(`array(${rowType})`, [[["2024-01-02 03:04:05.101", 2, null]]]);
    expect(problems(rowsD, later)).toEqual([
      [
        "m.v (array(row(attimestamp(3),rowsbigint,costdouble))): 1 row(s) differ, e.g.",
        '  DuckDB: {id: "k0", v: "[{\\"at\\":\\"2024-01-02 03:04:05.100\\",\\"cost\\":null,\\"rows\\":\\"2\\"}]"}',
        '  Trino:  {id: "k0", v: "[{\\"at\\":\\"2024-01-02 03:04:05.101\\",\\"cost\\":null,\\"rows\\":\\"2\\"}]"}',
      ].join("\n"),
    ]);
  });
});
