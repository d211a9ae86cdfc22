/**
 * The action lists (functions/core/runner/action-lists.ts; docs/adr/0013-action-lists-after-publish.md):
 * - the TypeScript CSV against DuckDB's COPY … (FORMAT csv, HEADER true) of the same rows, byte for byte:
 *   quoting (commas, quotes, line breaks, an empty string against NULL), doubles of every magnitude (and
 *   5,000 random ones), booleans, integers, dates, header-only files for actions nobody gets;
 * - `crmlake export actions` (exportLocalActions) into a directory and into s3:// on a real S3 server
 *   (s3rver on loopback);
 * - the lake layout (exports/actions/as_of=<d>/ and latest/, manifests, an earlier as-of leaving latest/
 *   alone) through S3ObjectStore on s3rver;
 * - the Athena path: the rows read through AthenaWarehouse.query from the scripted Athena (Athena's text for
 *   doubles, `1.0E-7`), written to s3rver, the same bytes as DuckDB writes for the same values.
 */
import { mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { exportLocalActions } from "../../functions/backends/local.ts";
import { NEXT_ACTIONS } from "../../functions/core/catalogue/actions.ts";
import { EXPORT_LAYOUT } from "../../functions/core/catalogue/layout.ts";
import {
  buildActionLists,
  csvText,
  exportRunActions,
  formatDouble,
  publishActionLists,
} from "../../functions/core/runner/action-lists.ts";
import { AthenaWarehouse } from "../../functions/engines/athena/warehouse.ts";
import { openActionSource } from "../../functions/engines/duckdb/export-actions.ts";
import { attachModelViews } from "../../functions/engines/duckdb/model-views.ts";
import { type DuckDBSession, openDuckDB, sqlString } from "../../functions/engines/duckdb/session.ts";
import { S3ObjectStore } from "../../functions/storage/s3.ts";
import { AthenaFake, type FakeColumn } from "../helpers/athena-fake.ts";
import { type S3TestServer, startS3Server } from "../helpers/s3-server.ts";

const AS_OF = "2024-06-30";
const EARLIER = "2024-05-31";
const BUCKET = "crmlake-action-lists";

/** customer_actions' columns as published (as_of last). */
const COLUMNS = `customer_id VARCHAR, next_action VARCHAR, action_rule INTEGER, offer_category VARCHAR,
  lifecycle_stage VARCHAR, profitability_quadrant VARCHAR, p_alive DOUBLE, comparison_p_alive DOUBLE,
  p_alive_change DOUBLE, is_p_alive_falling BOOLEAN, clv DOUBLE, clv_percentile DOUBLE`;

/** Rows that exercise the quoting and number formats; win_back and maintain get nobody (header only). */
const ROWS = `
  ('a,1', 'cross_sell', 5, 'books, paper', 'repeat', 'best', 1.0, NULL, NULL, NULL, 40.0, 85.71428571428571),
  ('b"2', 'cross_sell', 5, 'say "hi"', 'loyal', NULL, 0.1::DOUBLE + 0.2::DOUBLE, 0.5, -0.2, false, 1e-7, 0.0001),
  ('c3', 'cross_sell', 5, e'two\\nlines', 'repeat', 'invest', 1e21, 1e15, 1e16, true, 1.5e-5, '-0.0'::DOUBLE),
  ('d4', 'retain', 2, '', 'loyal', 'retain', 0.123456789, 0.9, -0.776543211, true, 123456789012.5, 50.0),
  ('e5', 'nurture', 3, NULL, 'first_time', NULL, 'NaN', 'inf', '-inf', NULL, 0.0, 100.0),
  ('f 6', 'invest', 6, e'cr\\r', 'won_back', 'invest', 2.5e-300, 1.7976931348623157e308, 5e-324, false, 9007199254740993, 12.0),
  ('g7', 'reduce_cost_to_serve', 4, 'tab\there', 'repeat', 'worst', 0.00012, 1234.5678, 99.0, NULL, 3.0, 7.25)`;

let root = "";
let lake = "";
let server: S3TestServer;
let fake: AthenaFake;

/** DuckDB's own CSV of one action's rows, as the local export wrote it before this writer (the reference). */
async function duckdbCsv(session: DuckDBSession, asOf: string, action: string): Promise<string> {
  const file = join(root, `ref-${asOf}-${action}.csv`);
  await session.connection.run(
    `COPY (SELECT * FROM customer_actions WHERE as_of = DATE '${asOf}' AND next_action = '${action}' ORDER BY customer_id) TO ${sqlString(file)} (FORMAT csv, HEADER true, DELIMITER ',')`,
  );
  return readFile(file, "utf8");
}

let reference: Map<string, string>;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "crmlake-action-lists-"));
  lake = join(root, "lake");
  const session = await openDuckDB({ threads: 1 });
  try {
    for (const [asOf, rows] of [
      [AS_OF, ROWS],
      [EARLIER, "('z9', 'maintain', 7, NULL, 'repeat', NULL, 0.5, NULL, NULL, NULL, 1.0, 50.0)"],
    ] as const) {
      const dir = join(lake, "models", "customer_actions", `as_of=${asOf}`);
      await mkdir(dir, { recursive: true });
      await session.connection.run(`CREATE OR REPLACE TABLE t (${COLUMNS})`);
      await session.connection.run(`INSERT INTO t VALUES ${rows}`);
      await session.connection.run(`COPY t TO ${sqlString(join(dir, "data.parquet"))} (FORMAT parquet)`);
    }
    await attachModelViews(session.connection, lake);
    reference = new Map();
    for (const action of NEXT_ACTIONS) reference.set(action, await duckdbCsv(session, AS_OF, action));
  } finally {
    session.close();
  }
  server = await startS3Server([BUCKET]);
  fake = await AthenaFake.start();
}, 60_000);

afterAll(async () => {
  await fake?.close();
  await server?.stop();
  if (root !== "") await rm(root, { recursive: true, force: true });
});

describe("the CSV", () => {
  it("is what DuckDB's COPY writes, byte for byte, for every action (header only for nobody)", async () => {
    const source = await openActionSource(lake);
    try {
      const lists = await buildActionLists(source.query, AS_OF);
      expect(lists.map((l) => l.action)).toEqual([...NEXT_ACTIONS]);
      for (const list of lists)
        expect([list.action, list.csv]).toEqual([list.action, reference.get(list.action)]);
      const header =
        "customer_id,next_action,action_rule,offer_category,lifecycle_stage,profitability_quadrant,p_alive,comparison_p_alive,p_alive_change,is_p_alive_falling,clv,clv_percentile,as_of\n";
      expect(lists.find((l) => l.action === "win_back")?.csv).toBe(header);
      expect(lists.find((l) => l.action === "maintain")).toMatchObject({ csv: header, customers: 0 });
      expect(lists.find((l) => l.action === "cross_sell")?.csv).toBe(
        `${header}"a,1",cross_sell,5,"books, paper",repeat,best,1.0,,,,40.0,85.71428571428571,${AS_OF}\n` +
          `"b""2",cross_sell,5,"say ""hi""",loyal,,0.30000000000000004,0.5,-0.2,false,1e-07,0.0001,${AS_OF}\n` +
          `c3,cross_sell,5,"two\nlines",repeat,invest,1e+21,1000000000000000.0,1e+16,true,1.5e-05,-0.0,${AS_OF}\n`,
      );
    } finally {
      source.close();
    }
  });

  it("prints 5,000 random doubles as DuckDB does", async () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const values: number[] = [];
    for (let i = 0; i < 5000; i++) {
      const magnitude = 10 ** Math.floor(random() * 60 - 30);
      const value = (random() - 0.5) * magnitude;
      values.push(i % 3 === 0 ? Number(value.toPrecision(1 + (i % 17))) : value);
    }
    const session = await openDuckDB({ threads: 1 });
    try {
      const file = join(root, "doubles.csv");
      await session.connection.run(`CREATE TABLE d (i INTEGER, v DOUBLE)`);
      await session.connection.run(
        `INSERT INTO d VALUES ${values.map((v, i) => `(${i}, ${v.toExponential()})`).join(", ")}`,
      );
      await session.connection.run(
        `COPY (SELECT v FROM d ORDER BY i) TO ${sqlString(file)} (FORMAT csv, HEADER false)`,
      );
      const printed = (await readFile(file, "utf8")).trimEnd().split("\n");
      expect(printed.length).toBe(values.length);
      const mismatches = values
        .map((v, i) => [v, formatDouble(v), printed[i]] as const)
        .filter(([, ours, duckdb]) => ours !== duckdb);
      expect(mismatches.slice(0, 10)).toEqual([]);
    } finally {
      session.close();
    }
  });

  it("csvText quotes header names and renders non-finite doubles the engines return as strings", () => {
    expect(
      csvText({
        columns: [
          { name: "a,b", type: "varchar" },
          { name: "x", type: "double" },
        ],
        rows: [
          { "a,b": "", x: "NaN" },
          { "a,b": null, x: "-Infinity" },
        ],
      }),
    ).toBe('"a,b",x\n"",nan\n,-inf\n');
  });
});

describe("crmlake export actions (exportLocalActions)", () => {
  it("writes <action>.csv into a directory, the same bytes as DuckDB's COPY", async () => {
    const out = join(root, "out");
    const exported = await exportLocalActions(lake, out);
    expect(exported.asOf).toBe(AS_OF);
    expect((await readdir(out)).sort()).toEqual(NEXT_ACTIONS.map((a) => `${a}.csv`).sort());
    for (const action of NEXT_ACTIONS) {
      expect(await readFile(join(out, `${action}.csv`), "utf8")).toBe(reference.get(action));
    }
  });

  it("writes them to s3://bucket/prefix on a real S3 server", async () => {
    vi.stubEnv("CRMLAKE_S3_ENDPOINT", server.endpoint);
    vi.stubEnv("AWS_ACCESS_KEY_ID", "S3RVER");
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", "S3RVER");
    vi.stubEnv("AWS_REGION", "us-east-1");
    try {
      const exported = await exportLocalActions(lake, `s3://${BUCKET}/activation/lists`, EARLIER);
      expect(exported.location).toBe(`s3://${BUCKET}/activation/lists`);
      const store = new S3ObjectStore({ bucket: BUCKET, prefix: "activation/lists", client: server.client });
      expect((await store.list("")).map((o) => o.key)).toEqual(NEXT_ACTIONS.map((a) => `${a}.csv`).sort());
      const maintain = Buffer.from((await store.get("maintain.csv")) ?? new Uint8Array()).toString("utf8");
      expect(maintain.split("\n").slice(1)).toEqual([
        `z9,maintain,7,,repeat,,0.5,,,,1.0,50.0,${EARLIER}`,
        "",
      ]);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe("the lake's action lists (exports/actions/)", () => {
  it("writes the as-of's files and manifest, then latest/, and an earlier as-of leaves latest/ alone", async () => {
    const store = new S3ObjectStore({ bucket: BUCKET, prefix: "lake", client: server.client });
    const source = await openActionSource(lake);
    try {
      const now = new Date("2024-07-01T03:00:00Z");
      const line = await exportRunActions({
        query: source.query,
        lake: store,
        asOf: AS_OF,
        runId: "r1",
        now,
      });
      expect(line).toContain(`s3://${BUCKET}/lake/exports/actions/as_of=${AS_OF}/`);
      const text = async (key: string) =>
        Buffer.from((await store.get(key)) ?? new Uint8Array()).toString("utf8");
      const keys = (await store.list(EXPORT_LAYOUT.actionsPrefix)).map((o) => o.key);
      expect(keys).toEqual(
        [
          ...NEXT_ACTIONS.map((a) => EXPORT_LAYOUT.asOfKey(AS_OF, a)),
          EXPORT_LAYOUT.asOfManifest(AS_OF),
          ...NEXT_ACTIONS.map((a) => EXPORT_LAYOUT.latestKey(a)),
          EXPORT_LAYOUT.latestManifest,
        ].sort(),
      );
      for (const action of NEXT_ACTIONS) {
        expect(await text(EXPORT_LAYOUT.asOfKey(AS_OF, action))).toBe(reference.get(action));
        expect(await text(EXPORT_LAYOUT.latestKey(action))).toBe(reference.get(action));
      }
      const manifest = JSON.parse(await text(EXPORT_LAYOUT.latestManifest));
      expect(manifest).toMatchObject({ as_of: AS_OF, run_id: "r1", written_at: "2024-07-01T03:00:00.000Z" });
      expect(manifest.files).toContainEqual({
        action: "cross_sell",
        key: `exports/actions/as_of=${AS_OF}/cross_sell.csv`,
        customers: 3,
      });

      // A re-run of an earlier as-of (a backfill) writes its own folder; latest/ keeps the later as-of.
      const lists = await buildActionLists(source.query, EARLIER);
      const published = await publishActionLists(store, lists, EARLIER, "r0", now);
      expect(published).toMatchObject({ latest: false, previousLatest: AS_OF });
      expect(await text(EXPORT_LAYOUT.asOfKey(EARLIER, "maintain"))).toContain(`z9,maintain,7`);
      expect(await text(EXPORT_LAYOUT.latestKey("maintain"))).toBe(reference.get("maintain"));
      expect(JSON.parse(await text(EXPORT_LAYOUT.latestManifest)).as_of).toBe(AS_OF);
    } finally {
      source.close();
    }
  });
});

describe("on the Athena path", () => {
  it("reads customer_actions through AthenaWarehouse.query and writes DuckDB's bytes to S3", async () => {
    const columns: FakeColumn[] = [
      { name: "customer_id", type: "varchar" },
      { name: "next_action", type: "varchar" },
      { name: "action_rule", type: "integer" },
      { name: "offer_category", type: "varchar" },
      { name: "lifecycle_stage", type: "varchar" },
      { name: "profitability_quadrant", type: "varchar" },
      { name: "p_alive", type: "double" },
      { name: "comparison_p_alive", type: "double" },
      { name: "p_alive_change", type: "double" },
      { name: "is_p_alive_falling", type: "boolean" },
      { name: "clv", type: "double" },
      { name: "clv_percentile", type: "double" },
      { name: "as_of", type: "date" },
    ];
    // The cross_sell and nurture rows of ROWS as Athena's text: Java's doubles (1.0E21, 1.0E-7, NaN, Infinity).
    const rows: Record<string, (string | null)[][]> = {
      cross_sell: [
        [
          "a,1",
          "cross_sell",
          "5",
          "books, paper",
          "repeat",
          "best",
          "1.0",
          null,
          null,
          null,
          "40.0",
          "85.71428571428571",
          AS_OF,
        ],
        [
          'b"2',
          "cross_sell",
          "5",
          'say "hi"',
          "loyal",
          null,
          "0.30000000000000004",
          "0.5",
          "-0.2",
          "false",
          "1.0E-7",
          "1.0E-4",
          AS_OF,
        ],
        [
          "c3",
          "cross_sell",
          "5",
          "two\nlines",
          "repeat",
          "invest",
          "1.0E21",
          "1.0E15",
          "1.0E16",
          "true",
          "1.5E-5",
          "-0.0",
          AS_OF,
        ],
      ],
      nurture: [
        [
          "e5",
          "nurture",
          "3",
          null,
          "first_time",
          null,
          "NaN",
          "Infinity",
          "-Infinity",
          null,
          "0.0",
          "100.0",
          AS_OF,
        ],
      ],
    };
    for (const action of NEXT_ACTIONS) {
      fake.script({ match: `next_action = '${action}'`, columns, rows: rows[action] ?? [] });
    }
    const warehouse = new AthenaWarehouse({
      client: fake.client(),
      workGroup: "crmlake",
      inputDatabase: "crmlake_db",
      runDatabase: "crmlake_db_run_r2",
      lakeLocation: `s3://${BUCKET}/athena/`,
      materialization: "unload",
      poll: { initialMs: 1, maxMs: 2 },
    });
    const store = new S3ObjectStore({ bucket: BUCKET, prefix: "athena", client: server.client });
    await exportRunActions({
      query: (sql) => warehouse.query(sql),
      lake: store,
      asOf: AS_OF,
      runId: "r2",
      now: new Date("2024-07-01T03:00:00Z"),
    });
    const selects = fake.statements.filter((s) => s.startsWith("SELECT"));
    expect(selects).toEqual(
      NEXT_ACTIONS.map(
        (a) =>
          `SELECT * FROM customer_actions WHERE as_of = DATE '${AS_OF}' AND next_action = '${a}' ORDER BY customer_id`,
      ),
    );
    const text = async (key: string) =>
      Buffer.from((await store.get(key)) ?? new Uint8Array()).toString("utf8");
    for (const action of ["cross_sell", "nurture", "maintain", "win_back"]) {
      expect(await text(EXPORT_LAYOUT.latestKey(action))).toBe(reference.get(action));
    }
  });
});
