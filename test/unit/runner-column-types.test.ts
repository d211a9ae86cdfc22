import { describe, expect, it } from "vitest";
import {
  COLUMN_TYPE_FORMS,
  canonicalType,
  parseColumnType,
  SCALAR_COLUMN_TYPES,
} from "../../functions/core/catalogue/column-types.ts";

describe("canonicalType", () => {
  it.each([
    ["BIGINT", "bigint"],
    ["INTEGER", "integer"],
    ["DOUBLE", "double"],
    ["DECIMAL(18,2)", "decimal(18,2)"],
    ["DECIMAL(38,2)", "decimal(38,2)"],
    ["VARCHAR", "varchar"],
    ["DATE", "date"],
    ["BOOLEAN", "boolean"],
    // DuckDB's TIMESTAMP (microseconds) is what it computes from the lake's millisecond timestamps.
    ["TIMESTAMP", "timestamp(3)"],
    ["TIMESTAMP_MS", "timestamp(3)"],
    ["TIMESTAMP_NS", "timestamp(9)"],
    ["TIMESTAMP_S", "timestamp(0)"],
    ["VARCHAR[]", "array(varchar)"],
    ["DECIMAL(18,2)[][]", "array(array(decimal(18,2)))"],
    ["FLOAT", "real"],
    ["SMALLINT", "smallint"],
  ])("maps DuckDB's %s to %s", (duckdb, canonical) => {
    expect(canonicalType(duckdb)).toBe(canonical);
  });

  it.each([
    ["bigint", "bigint"],
    ["integer", "integer"],
    ["double", "double"],
    ["decimal(18, 2)", "decimal(18,2)"],
    ["decimal(18,2)", "decimal(18,2)"],
    ["varchar", "varchar"],
    ["date", "date"],
    ["boolean", "boolean"],
    ["timestamp(3)", "timestamp(3)"],
    ["array(varchar)", "array(varchar)"],
    ["array(decimal(18, 2))", "array(decimal(18,2))"],
  ])("maps Trino's %s to %s", (trino, canonical) => {
    expect(canonicalType(trino)).toBe(canonical);
  });

  it("never lets HUGEINT pass as bigint", () => {
    expect(canonicalType("HUGEINT")).toBe("hugeint");
    expect(canonicalType("HUGEINT")).not.toBe(canonicalType("BIGINT"));
    expect(parseColumnType(canonicalType("HUGEINT")).ok).toBe(false);
  });

  it("never lets a bounded varchar pass as varchar", () => {
    expect(canonicalType("varchar(5)")).toBe("varchar(5)");
    expect(canonicalType("array(varchar(5))")).toBe("array(varchar(5))");
    expect(parseColumnType(canonicalType("varchar(5)")).ok).toBe(false);
  });

  it("keeps Trino's other timestamp precisions apart from timestamp(3)", () => {
    expect(canonicalType("timestamp(6)")).toBe("timestamp(6)");
    expect(canonicalType("timestamp(3) with time zone")).toBe("timestamp(3) with time zone");
  });

  it("is the identity on every canonical header type", () => {
    const canonical = [
      ...SCALAR_COLUMN_TYPES,
      "decimal(18,2)",
      "decimal(38,0)",
      "array(varchar)",
      "array(array(timestamp(3)))",
    ];
    for (const type of canonical) {
      expect(parseColumnType(type)).toEqual({ ok: true, type });
      expect(canonicalType(type)).toBe(type);
      expect(canonicalType(type.toUpperCase())).toBe(type);
    }
  });
});

describe("parseColumnType", () => {
  it("lists the allowed forms for messages", () => {
    expect(COLUMN_TYPE_FORMS.join(", ")).toBe(
      "bigint, integer, double, decimal(p,s), varchar, date, timestamp(3), boolean, array(<type>)",
    );
  });

  it("drops the spaces Trino prints, and leading zeros", () => {
    expect(parseColumnType(" decimal( 18 , 02 ) ")).toEqual({ ok: true, type: "decimal(18,2)" });
  });

  it("refuses an empty type", () => {
    expect(parseColumnType("  ")).toEqual({ ok: false, reason: "the type is empty" });
  });
});
