/**
 * Parquet in TypeScript (functions/core/runner/parquet.ts, parquet-wasm) with the Arrow form of every header
 * type (arrow-columns.ts): what a stage writes comes back exactly, DuckDB reads it with the declared types,
 * and the files the engines write (DuckDB: Snappy by default, ZSTD in the runner; Athena UNLOAD: ZSTD) decode.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as arrow from "apache-arrow";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  arrowType,
  checkTableSchema,
  conformTable,
  type DeclaredColumn,
  decimalValues,
  decimalVector,
} from "../../functions/core/runner/arrow-columns.ts";
import { decodeParquet, encodeParquet } from "../../functions/core/runner/parquet.ts";
import { openDuckDB, sqlString } from "../../functions/engines/duckdb/session.ts";

const COLUMNS: readonly DeclaredColumn[] = [
  { name: "customer_id", type: "varchar" },
  { name: "revenue", type: "decimal(18,2)" },
  { name: "orders", type: "bigint" },
  { name: "items", type: "integer" },
  { name: "share", type: "double" },
  { name: "first_order_on", type: "date" },
  { name: "last_order_at", type: "timestamp(3)" },
  { name: "is_active", type: "boolean" },
  { name: "categories", type: "array(varchar)" },
];

const DAY_MS = 86_400_000;
/** 2024-02-29 13:14:15.678 UTC and the last millisecond before the epoch. */
const AT = Date.UTC(2024, 1, 29, 13, 14, 15, 678);

/** Three rows: ordinary values, NULL everywhere it may be, and extremes (negative, before 1970, limits). */
function sample(): arrow.Table {
  return new arrow.Table({
    customer_id: arrow.vectorFromArray(["c1", "c2", "ü-3"], new arrow.Utf8()),
    // 12345678901.23, NULL, -0.01; then the extremes of decimal(18,2) in their own test below.
    revenue: decimalVector([1234567890123n, null, -1n], 18, 2),
    orders: arrow.vectorFromArray([9007199254740993n, null, -42n], new arrow.Int64()),
    items: arrow.vectorFromArray([2147483647, null, -2147483648], new arrow.Int32()),
    share: arrow.vectorFromArray([0.62, null, -0], new arrow.Float64()),
    first_order_on: arrow.vectorFromArray([Date.UTC(2024, 1, 29), null, -DAY_MS], new arrow.DateDay()),
    last_order_at: arrow.vectorFromArray([AT, null, -1], new arrow.TimestampMillisecond()),
    is_active: arrow.vectorFromArray([true, null, false], new arrow.Bool()),
    categories: arrow.vectorFromArray(
      [["books", "games"], null, []],
      new arrow.List(new arrow.Field("element", new arrow.Utf8(), true)),
    ),
  });
}

/** A table's rows as plain values: decimals unscaled, lists as arrays. */
function rows(table: arrow.Table): Record<string, unknown>[] {
  const columns = table.schema.fields.map((field, index) => {
    const vector = table.getChildAt(index);
    if (vector === null) throw new Error(`no column ${field.name}`);
    const values = arrow.DataType.isDecimal(field.type)
      ? decimalValues(vector)
      : Array.from({ length: table.numRows }, (_, i) => {
          const value: unknown = vector.get(i);
          return value instanceof arrow.Vector ? [...value] : value;
        });
    return [field.name, values] as const;
  });
  return Array.from({ length: table.numRows }, (_, i) =>
    Object.fromEntries(columns.map(([name, values]) => [name, values[i]])),
  );
}

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "crmlake-parquet-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function duckdb<T>(work: (run: (sql: string) => Promise<Record<string, unknown>[]>) => Promise<T>) {
  const session = await openDuckDB({ threads: 1 });
  try {
    return await work(
      async (sql) =>
        (await session.connection.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[],
    );
  } finally {
    session.close();
  }
}

describe("Parquet in TypeScript (parquet-wasm)", () => {
  it("round-trips every header type exactly, NULLs, negative decimals, dates and timestamps before 1970 included", () => {
    const table = sample();
    checkTableSchema(table, COLUMNS, "sample");

    const back = decodeParquet(encodeParquet(table), "sample.parquet");

    checkTableSchema(back, COLUMNS, "sample read back");
    expect(rows(back)).toEqual([
      {
        customer_id: "c1",
        revenue: 1234567890123n,
        orders: 9007199254740993n,
        items: 2147483647,
        share: 0.62,
        first_order_on: Date.UTC(2024, 1, 29),
        last_order_at: AT,
        is_active: true,
        categories: ["books", "games"],
      },
      {
        customer_id: "c2",
        revenue: null,
        orders: null,
        items: null,
        share: null,
        first_order_on: null,
        last_order_at: null,
        is_active: null,
        categories: null,
      },
      {
        customer_id: "ü-3",
        revenue: -1n,
        orders: -42n,
        items: -2147483648,
        share: -0,
        first_order_on: -DAY_MS,
        last_order_at: -1,
        is_active: false,
        categories: [],
      },
    ]);
  });

  it("keeps the largest and smallest decimal(18,2) and decimal(38,10) values, and refuses one digit more", () => {
    const table = new arrow.Table({
      small: decimalVector([999999999999999999n, -999999999999999999n], 18, 2),
      wide: decimalVector([10n ** 38n - 1n, -(10n ** 38n - 1n)], 38, 10),
    });
    const back = decodeParquet(encodeParquet(table), "limits.parquet");
    expect(rows(back)).toEqual([
      { small: 999999999999999999n, wide: 10n ** 38n - 1n },
      { small: -999999999999999999n, wide: -(10n ** 38n - 1n) },
    ]);
    expect(() => decimalVector([10n ** 18n], 18, 2)).toThrow(
      "The unscaled value 1000000000000000000 does not fit decimal(18,2) (at most 18 digits)",
    );
  });

  it("writes a file DuckDB reads with the declared types and the same values", async () => {
    const file = join(dir, "from-typescript.parquet");
    await writeFile(file, encodeParquet(sample()));
    await duckdb(async (run) => {
      const described = await run(`DESCRIBE SELECT * FROM read_parquet(${sqlString(file)})`);
      expect(described.map((c) => [c.column_name, c.column_type])).toEqual([
        ["customer_id", "VARCHAR"],
        ["revenue", "DECIMAL(18,2)"],
        ["orders", "BIGINT"],
        ["items", "INTEGER"],
        ["share", "DOUBLE"],
        ["first_order_on", "DATE"],
        ["last_order_at", "TIMESTAMP"],
        ["is_active", "BOOLEAN"],
        ["categories", "VARCHAR[]"],
      ]);
      const [metadata] = await run(`SELECT DISTINCT compression FROM parquet_metadata(${sqlString(file)})`);
      expect(metadata).toEqual({ compression: "ZSTD" });
      expect(await run(`SELECT * FROM read_parquet(${sqlString(file)})`)).toEqual([
        {
          customer_id: "c1",
          revenue: "12345678901.23",
          orders: "9007199254740993",
          items: 2147483647,
          share: 0.62,
          first_order_on: "2024-02-29",
          last_order_at: "2024-02-29 13:14:15.678",
          is_active: true,
          categories: ["books", "games"],
        },
        {
          customer_id: "c2",
          revenue: null,
          orders: null,
          items: null,
          share: null,
          first_order_on: null,
          last_order_at: null,
          is_active: null,
          categories: null,
        },
        {
          customer_id: "ü-3",
          revenue: "-0.01",
          orders: "-42",
          items: -2147483648,
          share: -0,
          first_order_on: "1969-12-31",
          last_order_at: "1969-12-31 23:59:59.999",
          is_active: false,
          categories: [],
        },
      ]);
    });
  });

  it.each(["snappy", "zstd"])(
    "reads a %s file DuckDB wrote, its microsecond timestamps as milliseconds",
    async (codec) => {
      const file = join(dir, `duckdb-${codec}.parquet`);
      await duckdb(async (run) => {
        await run(
          `COPY (SELECT * FROM (VALUES
            ('c1', CAST(-12345678901.23 AS DECIMAL(18,2)), CAST(7 AS BIGINT), CAST(3 AS INTEGER), CAST(0.25 AS DOUBLE), DATE '2024-02-29', TIMESTAMP '2024-02-29 13:14:15.678', true, ['books']),
            ('c2', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
            ('c3', CAST(12345678901.23 AS DECIMAL(18,2)), CAST(-1 AS BIGINT), CAST(-3 AS INTEGER), CAST(-1.5 AS DOUBLE), DATE '1969-12-31', TIMESTAMP '1969-12-31 23:59:59.999', false, CAST([] AS VARCHAR[]))
          ) AS t(customer_id, revenue, orders, items, share, first_order_on, last_order_at, is_active, categories))
          TO ${sqlString(file)} (FORMAT parquet, COMPRESSION ${codec})`,
        );
        const [metadata] = await run(`SELECT DISTINCT compression FROM parquet_metadata(${sqlString(file)})`);
        expect(metadata).toEqual({ compression: codec.toUpperCase() });
      });

      const decoded = decodeParquet(await readFile(file), file);
      // DuckDB's TIMESTAMP is microseconds: read as such, then given the declared millisecond type.
      expect(String(decoded.schema.fields[6]?.type)).toBe("Timestamp<MICROSECOND>");
      const table = conformTable(decoded, COLUMNS, file);

      checkTableSchema(table, COLUMNS, file);
      expect(rows(table)).toEqual([
        {
          customer_id: "c1",
          revenue: -1234567890123n,
          orders: 7n,
          items: 3,
          share: 0.25,
          first_order_on: Date.UTC(2024, 1, 29),
          last_order_at: AT,
          is_active: true,
          categories: ["books"],
        },
        {
          customer_id: "c2",
          revenue: null,
          orders: null,
          items: null,
          share: null,
          first_order_on: null,
          last_order_at: null,
          is_active: null,
          categories: null,
        },
        {
          customer_id: "c3",
          revenue: 1234567890123n,
          orders: -1n,
          items: -3,
          share: -1.5,
          first_order_on: -DAY_MS,
          last_order_at: -1,
          is_active: false,
          categories: [],
        },
      ]);
    },
  );

  it("writes and reads a table without rows, keeping its declared types", () => {
    const empty = new arrow.Table(
      new arrow.Schema(COLUMNS.map((c) => new arrow.Field(c.name, arrowType(c.type), true))),
    );
    const back = decodeParquet(encodeParquet(empty), "empty.parquet");
    expect(back.numRows).toBe(0);
    checkTableSchema(conformTable(back, COLUMNS, "empty.parquet"), COLUMNS, "empty.parquet");
  });

  it("names the file that is not Parquet, and the column whose type differs from the header", () => {
    expect(() => decodeParquet(new TextEncoder().encode("new rows"), "s3://lake/x/part0")).toThrow(
      /^Cannot read the Parquet file s3:\/\/lake\/x\/part0: /,
    );
    const table = new arrow.Table({ customer_id: arrow.vectorFromArray([1, 2], new arrow.Int32()) });
    expect(() => conformTable(table, [{ name: "customer_id", type: "varchar" }], "dep (f.parquet)")).toThrow(
      "dep (f.parquet): column customer_id is read from Parquet as Int32, but the header declares varchar (Arrow Utf8)",
    );
  });
});
