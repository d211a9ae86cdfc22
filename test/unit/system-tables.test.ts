import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { hiveType } from "../../functions/core/catalogue/hive-types.ts";
import { LAKE, MODEL_LAYOUT } from "../../functions/core/catalogue/layout.ts";
import {
  canonicalLogicalType,
  formatLogicalType,
  jsonTimestamp,
  parseLogicalType,
  SYSTEM_TABLE_NAMES,
  SYSTEM_TABLES,
  systemTableColumns,
} from "../../functions/core/catalogue/system-tables.ts";
import {
  renderSystemTablesDoc,
  SYSTEM_TABLES_DOC_PATH,
} from "../../functions/core/catalogue/system-tables-doc.ts";
import { timestampText } from "../../functions/core/runner/runs.ts";
import { duckdbType, logicalTypeOfDuckDB } from "../../functions/engines/duckdb/system-tables.ts";

describe("logical types", () => {
  it.each([
    ["varchar", "varchar"],
    ["decimal(18, 2)", "decimal(18,2)"],
    ["map( varchar ,bigint )", "map(varchar, bigint)"],
    ['array(row(a varchar,"rows" bigint))', "array(row(a varchar, rows bigint))"],
    ["array(array(date))", "array(array(date))"],
  ])("reads %s as %s", (text, canonical) => {
    expect(canonicalLogicalType(text)).toBe(canonical);
    expect(formatLogicalType(parseLogicalType(canonical))).toBe(canonical);
  });

  it.each([
    ["json", /not an allowed column type/],
    ["VARCHAR", /lower case/],
    ["timestamp", /timestamp\(3\)/],
    ["map(array(varchar), bigint)", /map key must be a scalar/],
    ["row(a varchar, a bigint)", /appears twice/],
    ["map(varchar, bigint", /expected "\)"/],
    ["varchar bigint", /unexpected text/],
  ])("refuses %s", (text, reason) => {
    expect(() => parseLogicalType(text)).toThrow(reason);
  });
});

describe("the DuckDB ↔ logical ↔ Hive correspondence", () => {
  it.each([
    ["varchar", "VARCHAR", "string"],
    ["bigint", "BIGINT", "bigint"],
    ["integer", "INTEGER", "int"],
    ["double", "DOUBLE", "double"],
    ["boolean", "BOOLEAN", "boolean"],
    ["decimal(18,2)", "DECIMAL(18,2)", "decimal(18,2)"],
    ["date", "DATE", "date"],
    ["timestamp(3)", "TIMESTAMP_MS", "timestamp"],
    ["array(varchar)", "VARCHAR[]", "array<string>"],
    ["map(varchar, bigint)", "MAP(VARCHAR, BIGINT)", "map<string,bigint>"],
    [
      "array(row(model varchar, rows bigint))",
      'STRUCT("model" VARCHAR, "rows" BIGINT)[]',
      "array<struct<model:string,rows:bigint>>",
    ],
  ])("%s is DuckDB %s and Hive %s", (logical, duckdb, hive) => {
    expect(duckdbType(logical)).toBe(duckdb);
    expect(logicalTypeOfDuckDB(duckdb)).toBe(logical);
    expect(hiveType(logical)).toBe(hive);
  });

  it("reads DuckDB's DESCRIBE spelling, quoted or not", () => {
    expect(
      logicalTypeOfDuckDB('STRUCT(model VARCHAR, "materialized" VARCHAR, "rows" BIGINT, "error" VARCHAR)[]'),
    ).toBe("array(row(model varchar, materialized varchar, rows bigint, error varchar))");
  });

  it("keeps DuckDB's other types apart, so a drifted view never matches a declaration", () => {
    expect(logicalTypeOfDuckDB("TIMESTAMP")).toBe("timestamp(6)");
    expect(logicalTypeOfDuckDB("JSON")).toBe("json");
    expect(logicalTypeOfDuckDB("HUGEINT")).toBe("hugeint");
    expect(logicalTypeOfDuckDB("TIMESTAMP WITH TIME ZONE")).toBe("timestamp(6) with time zone");
  });

  it("maps every declared column both ways", () => {
    for (const name of SYSTEM_TABLE_NAMES) {
      for (const column of systemTableColumns(SYSTEM_TABLES[name])) {
        expect(logicalTypeOfDuckDB(duckdbType(column.type)), `${name}.${column.name}`).toBe(column.type);
        expect(() => hiveType(column.type)).not.toThrow();
      }
    }
  });
});

describe("the system tables' declaration", () => {
  it("places each table where the writers write", () => {
    expect(
      LAKE.quarantineKey("customers", "d1").startsWith(`${SYSTEM_TABLES.quarantine.prefix}dataset=`),
    ).toBe(true);
    const dirs = SYSTEM_TABLES.drops.partitionKeys[0]?.values ?? [];
    expect(LAKE.ledgerKey("d1")).toBe(`${SYSTEM_TABLES.drops.prefix}${dirs[0]}/d1.json`);
    expect(LAKE.rejectedKey("d1")).toBe(`${SYSTEM_TABLES.drops.prefix}${dirs[1]}/d1.json`);
    expect(MODEL_LAYOUT.runRecord("r1")).toBe(`${SYSTEM_TABLES.runs.prefix}r1.json`);
  });

  it("writes timestamps as one text form, the one the run records already used", () => {
    const date = new Date(Date.UTC(2024, 0, 31, 12, 0, 0, 7));
    expect(jsonTimestamp(date)).toBe("2024-01-31 12:00:00.007");
    expect(timestampText(date)).toBe(jsonTimestamp(date));
  });
});

describe("docs/system-tables.md", () => {
  it("is what the declaration generates (run npm run docs after a change)", async () => {
    expect(await readFile(SYSTEM_TABLES_DOC_PATH, "utf8")).toBe(renderSystemTablesDoc());
  });

  it("lists every column of every system table with its type", () => {
    const doc = renderSystemTablesDoc();
    for (const name of SYSTEM_TABLE_NAMES) {
      expect(doc).toContain(`## ${name}\n`);
      for (const c of systemTableColumns(SYSTEM_TABLES[name]))
        expect(doc).toContain(`| ${c.name} | \`${c.type}\` |`);
    }
  });
});
