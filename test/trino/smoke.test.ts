// Smoke test of the Trino tier: a real Trino reads the Parquet layout the lake writes with DuckDB, and
// DuckDB reads what a Trino CTAS (the Athena-style write path) produces, with exact decimals/timestamps.

import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTrino, TrinoQueryError, type TrinoServer } from "./server.ts";

/** Rows as both engines must report them, rendered as text so decimals and timestamps compare exactly. */
const EXPECTED = [
  ["a-1", "12.35", "2024-01-02 03:04:05.123", "2024-01"],
  ["a-2", "-0.01", "2024-01-31 23:59:59.999", "2024-01"],
  ["b-1", "9999999999999999.99", "2024-02-01 00:00:00.000", "2024-02"],
  ["b-2", null, "2024-02-29 12:00:00.500", "2024-02"],
  ["ü-3", "0.00", "2024-02-15 08:30:00.007", "2024-02"],
];

let trino: TrinoServer;
let dir: string;
let duck: DuckDBInstance;
let conn: DuckDBConnection;

async function duckRows(sql: string): Promise<unknown[][]> {
  return (await conn.runAndReadAll(sql)).getRowsJson();
}

/** Current and peak RSS of the server JVM (the launcher execs it, so it keeps the launcher's pid). */
function serverMemory(pid: number): string {
  const status = `/proc/${pid}/status`;
  if (!existsSync(status)) return "n/a (no /proc)";
  const text = readFileSync(status, "utf8");
  const kib = (field: string): number =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? 0);
  return `RSS ${Math.round(kib("VmRSS") / 1024)} MiB, peak ${Math.round(kib("VmHWM") / 1024)} MiB`;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "crmlake-trino-smoke-"));
  const t0 = Date.now();
  trino = await startTrino();
  process.stderr.write(`[smoke] startTrino() took ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  duck = await DuckDBInstance.create(":memory:");
  conn = await duck.connect();
});

afterAll(async () => {
  if (trino) {
    process.stderr.write(`[smoke] Trino JVM memory at end: ${serverMemory(trino.pid)}\n`);
    await trino.stop();
  }
  conn?.closeSync();
  duck?.closeSync();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("local Trino server", () => {
  it("answers queries over the REST protocol with exact decimal, timestamp and bigint values", async () => {
    const result = await trino.query(
      "SELECT DECIMAL '12.35' AS d, TIMESTAMP '2024-01-02 03:04:05.123' AS ts, BIGINT '9007199254740993' AS big",
    );
    expect(result.columns).toEqual([
      { name: "d", type: "decimal(4, 2)" },
      { name: "ts", type: "timestamp(3)" },
      { name: "big", type: "bigint" },
    ]);
    expect(result.rows).toEqual([["12.35", "2024-01-02 03:04:05.123", 9007199254740993n]]);
  });

  it("reports Trino's error name and the failing SQL when a query fails", async () => {
    const sql = "SELECT * FROM hive.no_such_schema.no_such_table";
    const error = await trino.query(sql).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TrinoQueryError);
    expect((error as TrinoQueryError).errorName).toBe("SCHEMA_NOT_FOUND");
    expect((error as TrinoQueryError).message).toContain(sql);
  });

  it("reads a DuckDB-written hive-partitioned Parquet table with the same values DuckDB reads", async () => {
    const src = join(dir, "src", "orders");
    // DuckDB creates the partition directories but not their parents.
    await mkdir(join(dir, "src"));
    await conn.run(`
      COPY (
        SELECT id, CAST(amount AS DECIMAL(18,2)) AS amount, CAST(ts AS TIMESTAMP_MS) AS ts, order_month
        FROM (VALUES
          ('a-1', '12.35', TIMESTAMP '2024-01-02 03:04:05.123', '2024-01'),
          ('a-2', '-0.01', TIMESTAMP '2024-01-31 23:59:59.999', '2024-01'),
          ('b-1', '9999999999999999.99', TIMESTAMP '2024-02-01 00:00:00', '2024-02'),
          ('b-2', NULL, TIMESTAMP '2024-02-29 12:00:00.5', '2024-02'),
          ('ü-3', '0', TIMESTAMP '2024-02-15 08:30:00.007', '2024-02')
        ) AS v(id, amount, ts, order_month)
      ) TO '${src}' (FORMAT PARQUET, PARTITION_BY (order_month))`);
    expect((await readdir(src)).sort()).toEqual(["order_month=2024-01", "order_month=2024-02"]);

    await trino.query(`CREATE SCHEMA hive.lake WITH (location = 'file://${join(dir, "warehouse", "lake")}')`);
    await trino.query(`
      CREATE TABLE hive.lake.t (id varchar, amount decimal(18,2), ts timestamp(3), order_month varchar)
      WITH (external_location = 'file://${src}', format = 'PARQUET', partitioned_by = ARRAY['order_month'])`);
    await trino.query("CALL hive.system.sync_partition_metadata('lake', 't', 'FULL')");

    const partitions = await trino.query(`SELECT order_month FROM hive.lake."t$partitions" ORDER BY 1`);
    expect(partitions.rows).toEqual([["2024-01"], ["2024-02"]]);

    const fromTrino = await trino.query("SELECT id, amount, ts, order_month FROM hive.lake.t ORDER BY id");
    expect(fromTrino.columns.map((c) => c.type)).toEqual([
      "varchar",
      "decimal(18, 2)",
      "timestamp(3)",
      "varchar",
    ]);
    expect(fromTrino.rows).toEqual(EXPECTED);

    const fromDuck = await duckRows(`
      SELECT id, CAST(amount AS VARCHAR), strftime(ts, '%Y-%m-%d %H:%M:%S.%g'), order_month
      FROM read_parquet('${src}/*/*.parquet', hive_partitioning = true) ORDER BY id`);
    expect(fromDuck).toEqual(EXPECTED);
  });

  it("writes a partitioned CTAS to an external location as Parquet that DuckDB reads back identically", async () => {
    const out = join(dir, "out", "snapshot");
    await trino.query(`
      CREATE TABLE hive.lake.snapshot
      WITH (format = 'PARQUET', external_location = 'file://${out}', partitioned_by = ARRAY['as_of'])
      AS SELECT id, amount, ts, order_month, '2024-03-31' AS as_of FROM hive.lake.t`);

    expect(await readdir(out)).toEqual(["as_of=2024-03-31"]);
    const files = await readdir(join(out, "as_of=2024-03-31"));
    const dataFiles = files.filter((f) => !f.startsWith(".") && !f.startsWith("_"));
    expect(dataFiles.length).toBeGreaterThan(0);

    // Trino names data files without a .parquet suffix, so read by directory glob and skip hidden files.
    const glob = `${out}/as_of=*/[!._]*`;
    const fromDuck = await duckRows(`
      SELECT id, CAST(amount AS VARCHAR), strftime(ts, '%Y-%m-%d %H:%M:%S.%g'), order_month, as_of
      FROM read_parquet('${glob}', hive_partitioning = true) ORDER BY id`);
    expect(fromDuck).toEqual(EXPECTED.map((row) => [...row, "2024-03-31"]));

    // The Hive writer stores timestamps as INT96 (like Athena CTAS), not INT64 like DuckDB: readers must not
    // shift them by a zone, which is why the server runs with -Duser.timezone=UTC.
    const physical = await duckRows(`
      SELECT DISTINCT name, type FROM parquet_schema('${glob}') WHERE name IN ('amount', 'ts') ORDER BY name`);
    expect(physical).toEqual([
      ["amount", "FIXED_LEN_BYTE_ARRAY"],
      ["ts", "INT96"],
    ]);

    const readBack = await trino.query("SELECT count(*), sum(amount) FROM hive.lake.snapshot");
    expect(readBack.rows).toEqual([[5, "10000000000000012.33"]]);
  });
});
