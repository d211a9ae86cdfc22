// The system tables (quarantine, drops, runs) on a real Trino: declared from the very Glue specs the stack
// deploys, over files the real ingest and the real runner wrote, Trino reads them with the declared types and
// agrees with DuckDB row for row. What this cannot prove about Athena's own JSON reader: docs/adr/0009.
// Set CRMLAKE_TRINO_URL to reuse a running test server while iterating.

import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LAKE } from "../../functions/core/catalogue/layout.ts";
import {
  canonicalLogicalType,
  SYSTEM_TABLE_NAMES,
  SYSTEM_TABLES,
  type SystemTableName,
  systemTableColumns,
} from "../../functions/core/catalogue/system-tables.ts";
import { takeSnapshot } from "../../functions/core/ledger/ledger.ts";
import { attachLakeViews } from "../../functions/engines/duckdb/lake-views.ts";
import { attachModelViews } from "../../functions/engines/duckdb/model-views.ts";
import { openDuckDB } from "../../functions/engines/duckdb/session.ts";
import { LocalObjectStore } from "../../functions/storage/local.ts";
import { tempLake } from "../helpers/lake.ts";
import { buildSystemLake, type SystemLake } from "../helpers/system-lake.ts";
import { type CompareOptions, compareRelations, type Relation } from "./compare.ts";
import { registerLakeTables } from "./lake-tables.ts";
import { connectTrino, startTrino, type TrinoConnection, type TrinoServer } from "./server.ts";

const SCHEMA = "system_tables";

const KEYS: Readonly<Record<SystemTableName, CompareOptions>> = {
  quarantine: { key: ["dataset", "drop_id", "line_number"], columnOrder: "exact" },
  drops: { key: ["drop_id", "ledger_dir"], columnOrder: "exact" },
  runs: { key: ["run_id"], columnOrder: "exact" },
};

let trino: TrinoServer | TrinoConnection;
let lake: SystemLake;

async function duckdb(sql: string): Promise<Relation> {
  const session = await openDuckDB({ threads: 1 });
  try {
    await attachLakeViews(
      session.connection,
      lake.lakeDir,
      await takeSnapshot(new LocalObjectStore(lake.lakeDir)),
    );
    await attachModelViews(session.connection, lake.lakeDir);
    const result = await session.connection.runAndReadAll(sql);
    const types = result.columnTypes();
    return {
      columns: result.columnNames().map((name, i) => ({ name, type: String(types[i]) })),
      rows: result.getRowsJson(),
    };
  } finally {
    session.close();
  }
}

const onTrino = (sql: string): Promise<Relation> => trino.query(sql);

beforeAll(async () => {
  lake = await buildSystemLake();
  const url = process.env.CRMLAKE_TRINO_URL;
  trino = url ? connectTrino(url) : await startTrino();
  await trino.query(`DROP SCHEMA IF EXISTS hive.${SCHEMA} CASCADE`);
  await registerLakeTables(trino, SCHEMA, lake.lakeDir, join(lake.root, "trino-schema"));
});

afterAll(async () => {
  if (trino !== undefined) {
    await trino.query(`DROP SCHEMA IF EXISTS hive.${SCHEMA} CASCADE`).catch(() => undefined);
    if ("stop" in trino) await trino.stop();
  }
  await lake?.remove();
});

describe("the system tables on Trino", () => {
  it.each(SYSTEM_TABLE_NAMES)("%s has the declared columns and logical types", async (name) => {
    const { columns } = await onTrino(`SELECT * FROM hive.${SCHEMA}.${name} LIMIT 0`);
    expect(columns.map((c) => [c.name, canonicalLogicalType(c.type)])).toEqual(
      systemTableColumns(SYSTEM_TABLES[name]).map((c) => [c.name, c.type]),
    );
  });

  it.each(SYSTEM_TABLE_NAMES)("%s: Trino reads the real files exactly as DuckDB does", async (name) => {
    const d = await duckdb(`SELECT * FROM ${name}`);
    const t = await onTrino(`SELECT * FROM hive.${SCHEMA}.${name}`);
    const comparison = compareRelations(name, d, t, KEYS[name]);
    expect(comparison.problems).toEqual([]);
    expect(comparison.trinoRows).toBe(name === "quarantine" ? 1 : 2);
  });

  it("agrees on a row: the ledger record of a drop with a quarantined line", async () => {
    const select = (length: string, text: string) =>
      `SELECT drop_id, ledger_dir, status, rows_in, quarantine_reasons['missing_customer_id'] AS missing, ` +
      `${length}(output_keys) AS outputs, ${text} AS started`;
    const where = `WHERE drop_id = '${lake.okDrop}'`;
    const record = JSON.parse(await readFile(join(lake.lakeDir, LAKE.ledgerKey(lake.okDrop)), "utf8")) as {
      started_at: string;
    };
    const t = await onTrino(
      `${select("cardinality", "CAST(started_at AS varchar)")} FROM hive.${SCHEMA}.drops ${where}`,
    );
    expect(t.rows).toEqual([[lake.okDrop, "drops", "ok", 3, 1, 2, record.started_at]]);
    const d = await duckdb(
      `${select("len", "strftime(started_at, '%Y-%m-%d %H:%M:%S.%g')")} FROM drops ${where}`,
    );
    expect(d.rows).toEqual([[lake.okDrop, "drops", "ok", "3", "1", "2", record.started_at]]);
  });

  it("agrees on a row: the failed run's failed model, through the models array", async () => {
    const t = await onTrino(
      `SELECT m.model, m.status, m.error IS NOT NULL FROM hive.${SCHEMA}.runs CROSS JOIN UNNEST(models) AS m ` +
        `WHERE run_id = '${lake.failedRun}' ORDER BY m.model`,
    );
    const d = await duckdb(
      `SELECT m.model, m.status, m.error IS NOT NULL FROM runs, UNNEST(models) AS u(m) ` +
        `WHERE run_id = '${lake.failedRun}' ORDER BY m.model`,
    );
    expect(t.rows).toEqual(d.rows);
    expect(t.rows).toEqual([
      ["customer_totals", "succeeded", false],
      ["stg_lines", "succeeded", false],
      ["total_after", "not_run", false],
      ["total_failing", "failed", true],
    ]);
  });
});

describe("timestamp text in the JSON tables, on both readers (the evidence for jsonTimestamp, ADR 0009)", () => {
  const file = () => join(lake.lakeDir, LAKE.ledgerKey(lake.okDrop));

  /** started_at of the ok drop as each engine reads it after the record's text was replaced by `text`. */
  async function readBoth(text: string): Promise<{ trino: unknown; duckdb: unknown }> {
    const original = await readFile(file(), "utf8");
    await writeFile(file(), `${JSON.stringify({ ...JSON.parse(original), started_at: text })}\n`);
    try {
      const where = `WHERE drop_id = '${lake.okDrop}'`;
      const t = await onTrino(`SELECT started_at FROM hive.${SCHEMA}.drops ${where}`);
      const d = await duckdb(`SELECT strftime(started_at, '%Y-%m-%d %H:%M:%S.%g') FROM drops ${where}`).then(
        (r) => r.rows[0]?.[0],
        (error: Error) => `error: ${error.message.split("\n")[0]}`,
      );
      return { trino: t.rows[0]?.[0], duckdb: d };
    } finally {
      await writeFile(file(), original);
    }
  }

  it("reads the written form and the ISO-8601 …T…Z form of records before ADR 0009 alike", async () => {
    expect(await readBoth("2024-01-31 12:00:00.123")).toEqual({
      trino: "2024-01-31 12:00:00.123",
      duckdb: "2024-01-31 12:00:00.123",
    });
    expect(await readBoth("2024-01-31T12:00:00.123Z")).toEqual({
      trino: "2024-01-31 12:00:00.123",
      duckdb: "2024-01-31 12:00:00.123",
    });
  });

  it("disagrees on an offset other than Z (Trino converts to UTC, DuckDB drops it), so none is written", async () => {
    expect(await readBoth("2024-01-31T12:00:00.123+01:00")).toEqual({
      trino: "2024-01-31 11:00:00.123",
      duckdb: "2024-01-31 12:00:00.123",
    });
  });

  it("reads text that is no timestamp as NULL on Trino but fails on DuckDB", async () => {
    const read = await readBoth("yesterday");
    expect(read.trino).toBeNull();
    expect(read.duckdb).toMatch(/^error: /);
  });
});

describe("the datasets on Trino, read through their symlink manifests (ADR 0010)", () => {
  it("show exactly the committed drops: a replaced version, an uncommitted attempt and a stray copy are not read", async () => {
    const own = await tempLake();
    const schema = "ledger_readers";
    try {
      const jan = "order_id,customer_id,ordered_at,amount\no1,c1,2024-01-05,10.00\no2,c2,2024-02-07,5.00\n";
      const orders = await own.file("orders.csv", jan);
      await own.ingest("transactions", orders);
      // The same export again with other content: a new version replaces the first one, whose files stay
      // for the grace period (a reader that started before may still read them).
      await writeFile(orders, `${jan}o3,c3,2024-02-09,7.50\n`);
      const replaced = await own.ingest("transactions", orders);
      expect(replaced.superseded).toBeDefined();
      // A stray copy of a committed file and an attempt that never committed, under curated/.
      const [committed] = replaced.ledger.output_keys;
      const month = join(own.lakeDir, "curated", "transactions", "order_month=2024-01");
      await writeFile(join(month, "copy.parquet"), await readFile(join(own.lakeDir, committed ?? "")));
      await writeFile(
        join(month, "killed__20240101T000000000Z-000000.parquet"),
        await readFile(join(own.lakeDir, committed ?? "")),
      );
      await trino.query(`DROP SCHEMA IF EXISTS hive.${schema} CASCADE`);
      await registerLakeTables(trino, schema, own.lakeDir, join(own.root, "trino-schema"));

      const rows = await trino.query(
        `SELECT order_id, order_month, "$path" AS path FROM hive.${schema}.transactions ORDER BY order_id`,
      );
      expect(rows.rows.map((r) => [r[0], r[1]])).toEqual([
        ["o1", "2024-01"],
        ["o2", "2024-02"],
        ["o3", "2024-02"],
      ]);
      // Exactly the files of the committed version, as the ledger lists them.
      const paths = [...new Set(rows.rows.map((r) => String(r[2])))].sort();
      expect(paths).toEqual(
        replaced.ledger.output_keys
          .filter((k) => k.startsWith("curated/"))
          .map((k) => own.store.uri(k))
          .sort(),
      );
      // What DuckDB's views read (the ledger), Trino's table reads.
      const duck = await own.query("SELECT count(*) AS n, sum(amount) AS total FROM transactions");
      const onTrino = await trino.query(
        `SELECT count(*), CAST(sum(amount) AS varchar) FROM hive.${schema}.transactions`,
      );
      expect([String(duck[0]?.n), String(duck[0]?.total)]).toEqual(onTrino.rows[0]?.map(String));
      expect(replaced.ledger.rows_ok).toBe(3);
      // The other datasets have empty manifests: their tables exist and read nothing.
      expect((await trino.query(`SELECT count(*) FROM hive.${schema}.customers`)).rows).toEqual([[0]]);
    } finally {
      await trino.query(`DROP SCHEMA IF EXISTS hive.${schema} CASCADE`).catch(() => undefined);
      await rm(own.root, { recursive: true, force: true });
    }
  });
});
