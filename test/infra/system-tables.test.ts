/**
 * The system tables on both engines: what DuckDB's views really are (DESCRIBE over a lake the real ingest and
 * the real runner wrote) against the Glue tables the stack really synthesises, through the one documented
 * correspondence (functions/engines/duckdb/system-tables.ts: DuckDB type → logical type → Hive type). A change
 * to either side alone — a view that reads JSON text where Glue declares a map, a Glue column the view lacks,
 * a column out of order — fails here.
 */

import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hiveType } from "../../functions/core/catalogue/hive-types.ts";
import { LAKE, MODEL_LAYOUT } from "../../functions/core/catalogue/layout.ts";
import {
  parseLogicalType,
  SYSTEM_TABLE_NAMES,
  SYSTEM_TABLES,
  type SystemTableName,
  systemTableColumns,
} from "../../functions/core/catalogue/system-tables.ts";
import { takeSnapshot } from "../../functions/core/ledger/ledger.ts";
import { attachLakeViews } from "../../functions/engines/duckdb/lake-views.ts";
import { attachModelViews } from "../../functions/engines/duckdb/model-views.ts";
import { openDuckDB } from "../../functions/engines/duckdb/session.ts";
import { logicalTypeOfDuckDB } from "../../functions/engines/duckdb/system-tables.ts";
import { LocalObjectStore } from "../../functions/storage/local.ts";
import { buildSystemLake, type SystemLake } from "../helpers/system-lake.ts";
import { cleanup, type Synth, synth } from "./helpers.ts";

interface Column {
  readonly name: string;
  readonly type: string;
}

interface GlueTable {
  readonly columns: readonly Column[];
  readonly partitionKeys: readonly Column[];
  readonly location: string;
  readonly serde: string;
}

/**
 * Problems between a DuckDB view (DESCRIBE: name, DuckDB type) and a Glue table (columns, then partition keys,
 * as Athena's SELECT * lists them), the DuckDB types mapped to Hive by the correspondence. Empty when they agree.
 */
function compareWithGlue(table: string, duckdb: readonly Column[], glue: GlueTable): string[] {
  const glueColumns = [...glue.columns, ...glue.partitionKeys];
  const names = (cs: readonly Column[]) => cs.map((c) => c.name).join(", ");
  if (names(duckdb) !== names(glueColumns)) {
    return [`${table}: columns differ: DuckDB (${names(duckdb)}) vs Glue (${names(glueColumns)})`];
  }
  const problems: string[] = [];
  duckdb.forEach((d, i) => {
    const g = glueColumns[i] as Column;
    let mapped: string;
    try {
      mapped = hiveType(logicalTypeOfDuckDB(d.type));
    } catch (error) {
      mapped = `(no Hive type: ${(error as Error).message})`;
    }
    if (mapped !== g.type) {
      problems.push(`${table}.${d.name}: DuckDB ${d.type} (Hive ${mapped}) vs Glue ${g.type}`);
    }
  });
  return problems;
}

/** `{"Fn::Join": ["", [...]]}` and `{Ref}` as text, for reading locations out of the template. */
function flat(value: unknown): string {
  if (typeof value === "string") return value;
  const join = (value as { "Fn::Join"?: [string, unknown[]] })["Fn::Join"];
  if (join !== undefined) return join[1].map(flat).join(join[0]);
  const ref = (value as { Ref?: string }).Ref;
  if (ref !== undefined) return `<${ref}>`;
  return JSON.stringify(value);
}

let lake: SystemLake;
let synthesis: Synth;
const described = new Map<SystemTableName, Column[]>();
const rows = new Map<SystemTableName, Record<string, unknown>[]>();

function glueTable(name: string): GlueTable {
  const tables = Object.values(synthesis.template.findResources("AWS::Glue::Table")).filter(
    (r) => (r as { Properties: { TableInput: { Name: string } } }).Properties.TableInput.Name === name,
  );
  expect(tables, `one Glue table ${name}`).toHaveLength(1);
  const input = (tables[0] as { Properties: { TableInput: Record<string, unknown> } }).Properties.TableInput;
  const descriptor = input.StorageDescriptor as {
    Columns: { Name: string; Type: string }[];
    Location: unknown;
    SerdeInfo: { SerializationLibrary: string };
  };
  const columns = (cs: { Name: string; Type: string }[] | undefined) =>
    (cs ?? []).map((c) => ({ name: c.Name, type: c.Type }));
  return {
    columns: columns(descriptor.Columns),
    partitionKeys: columns(input.PartitionKeys as { Name: string; Type: string }[] | undefined),
    location: flat(descriptor.Location),
    serde: descriptor.SerdeInfo.SerializationLibrary,
  };
}

async function readViews(lakeDir: string): Promise<void> {
  const session = await openDuckDB({ threads: 1 });
  try {
    await attachLakeViews(session.connection, lakeDir, await takeSnapshot(new LocalObjectStore(lakeDir)));
    await attachModelViews(session.connection, lakeDir);
    for (const name of SYSTEM_TABLE_NAMES) {
      const describe = (await session.connection.runAndReadAll(`DESCRIBE ${name}`)).getRowObjectsJson();
      described.set(
        name,
        describe.map((r) => ({ name: String(r.column_name), type: String(r.column_type) })),
      );
      rows.set(
        name,
        (await session.connection.runAndReadAll(`SELECT * FROM ${name}`)).getRowObjectsJson() as Record<
          string,
          unknown
        >[],
      );
    }
  } finally {
    session.close();
  }
}

beforeAll(async () => {
  lake = await buildSystemLake();
  await readViews(lake.lakeDir);
  synthesis = synth();
});

afterAll(async () => {
  cleanup(synthesis);
  await lake?.remove();
});

describe("the system tables on DuckDB and in Glue", () => {
  it("hold real rows on DuckDB: an ingested drop, a rejected one, its quarantined line and a run", () => {
    expect(rows.get("drops")?.map((r) => [r.drop_id, r.ledger_dir, r.status])).toEqual(
      expect.arrayContaining([
        [lake.okDrop, "drops", "ok"],
        [lake.rejectedDrop, "rejected", "rejected"],
      ]),
    );
    expect(rows.get("quarantine")).toEqual([
      expect.objectContaining({
        drop_id: lake.okDrop,
        reason_code: "missing_customer_id",
        dataset: "transactions",
      }),
    ]);
    expect(rows.get("runs")).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ run_id: lake.run.runId, as_of: "2024-01-31", status: "succeeded" }),
        expect.objectContaining({ run_id: lake.failedRun, as_of: "2024-01-30", status: "failed" }),
      ]),
    );
    expect(rows.get("runs")).toHaveLength(2);
  });

  it.each(SYSTEM_TABLE_NAMES)(
    "%s: DuckDB's view and the stack's Glue table have the same columns, in order, with corresponding types",
    (name) => {
      expect(compareWithGlue(name, described.get(name) ?? [], glueTable(name))).toEqual([]);
    },
  );

  it.each(SYSTEM_TABLE_NAMES)("%s: DuckDB's view has the declared logical types exactly", (name) => {
    // The Hive side cannot tell a millisecond from a microsecond timestamp; the logical types can.
    expect((described.get(name) ?? []).map((c) => [c.name, logicalTypeOfDuckDB(c.type)])).toEqual(
      systemTableColumns(SYSTEM_TABLES[name]).map((c) => [c.name, c.type]),
    );
  });

  it("fails when either side drifts: a column type, a missing column, the order", () => {
    const duck = described.get("drops") ?? [];
    const glue = glueTable("drops");
    const retyped = duck.map((c) => (c.name === "quarantine_reasons" ? { ...c, type: "JSON" } : c));
    const [problem, ...more] = compareWithGlue("drops", retyped, glue);
    expect(problem).toMatch(
      /^drops\.quarantine_reasons: DuckDB JSON \(Hive \(no Hive type: .*\)\) vs Glue map<string,bigint>$/,
    );
    expect(more).toEqual([]);
    const text = duck.map((c) => (c.name === "started_at" ? { ...c, type: "VARCHAR" } : c));
    expect(compareWithGlue("drops", text, glue)).toEqual([
      "drops.started_at: DuckDB VARCHAR (Hive string) vs Glue timestamp",
    ]);
    const withoutDir = { ...glue, partitionKeys: [] };
    expect(compareWithGlue("drops", duck, withoutDir)[0]).toMatch(/^drops: columns differ/);
    const swapped = [...duck.slice(1, 2), ...duck.slice(0, 1), ...duck.slice(2)];
    expect(compareWithGlue("drops", swapped, glue)[0]).toMatch(/^drops: columns differ/);
  });

  it("stores drops and runs as one JSON object per line, and runs only over runs/log/", () => {
    for (const name of ["drops", "runs"])
      expect(glueTable(name).serde).toBe("org.openx.data.jsonserde.JsonSerDe");
    const runs = glueTable("runs");
    expect(runs.partitionKeys).toEqual([]);
    expect(runs.location).toMatch(/^s3:\/\/<[^>]+>\/runs\/log\/$/);
    const key = MODEL_LAYOUT.runRecord(lake.run.runId);
    expect(key.startsWith(MODEL_LAYOUT.runLogPrefix)).toBe(true);
    // The run staging and the lock live beside the log, outside the table's location.
    for (const other of [MODEL_LAYOUT.stagingPrefix(lake.run.runId), MODEL_LAYOUT.lock]) {
      expect(other.startsWith(MODEL_LAYOUT.runLogPrefix)).toBe(false);
    }
  });
});

/**
 * Declared columns a record may lack (both readers give NULL): `drops.version` is absent in rejection records
 * (ledger/rejected/, which commit no version) and in records of lake format 1 (ADR 0010).
 */
const MAY_BE_ABSENT = ["drops.version"];

describe("the records the system tables read", () => {
  const recordLines = async (dir: string) => {
    const files = (await readdir(join(lake.lakeDir, dir))).filter((f) => f.endsWith(".json"));
    expect(files.length).toBeGreaterThan(0);
    return Promise.all(files.map(async (f) => readFile(join(lake.lakeDir, dir, f), "utf8")));
  };

  it("are one JSON object on one line, as the JSON SerDe needs, with the declared columns (in any order)", async () => {
    const tables: [string, SystemTableName][] = [
      ["ledger/drops", "drops"],
      ["ledger/rejected", "drops"],
      [MODEL_LAYOUT.runLogPrefix, "runs"],
    ];
    for (const [dir, name] of tables) {
      for (const text of await recordLines(dir)) {
        expect(text.endsWith("\n") && text.indexOf("\n") === text.length - 1, `${dir}: one line`).toBe(true);
        const record = JSON.parse(text) as Record<string, unknown>;
        const keys = Object.keys(record);
        const declared = SYSTEM_TABLES[name].columns.map((c) => c.name);
        expect(
          keys.filter((k) => !declared.includes(k)),
          `${dir}: keys no column reads`,
        ).toEqual([]);
        expect(
          declared.filter((c) => !keys.includes(c) && !MAY_BE_ABSENT.includes(`${name}.${c}`)),
          `${dir}: declared columns the record lacks`,
        ).toEqual([]);
      }
    }
  });

  it("give every model entry of a run the declared row fields", async () => {
    const type = parseLogicalType(SYSTEM_TABLES.runs.columns.find((c) => c.name === "models")?.type ?? "");
    if (type.kind !== "array" || type.element.kind !== "row")
      throw new Error("models is not array(row(...))");
    const fields = type.element.fields.map((f) => f.name).sort();
    const statuses: string[] = [];
    for (const text of await recordLines(MODEL_LAYOUT.runLogPrefix)) {
      for (const entry of (JSON.parse(text) as { models: Record<string, unknown>[] }).models) {
        expect(Object.keys(entry).sort()).toEqual(fields);
        statuses.push(String(entry.status));
      }
    }
    expect(statuses.sort()).toEqual([
      "failed",
      "not_run",
      "succeeded",
      "succeeded",
      "succeeded",
      "succeeded",
    ]);
  });

  it("write timestamps as yyyy-MM-dd HH:mm:ss.SSS (UTC), the text every reader parses", async () => {
    const stamp = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$/;
    for (const dir of ["ledger/drops", "ledger/rejected", MODEL_LAYOUT.runLogPrefix]) {
      for (const text of await recordLines(dir)) {
        const record = JSON.parse(text) as { started_at: string; finished_at: string; models?: object[] };
        const stamps = [record, ...(record.models ?? [])] as { started_at: unknown; finished_at: unknown }[];
        for (const { started_at, finished_at } of stamps) {
          for (const value of [started_at, finished_at]) if (value !== null) expect(value).toMatch(stamp);
        }
      }
    }
  });

  it("still reads a ledger record written before ADR 0009, with ISO-8601 …T…Z timestamps", async () => {
    const key = LAKE.ledgerKey(lake.okDrop);
    const file = join(lake.lakeDir, key);
    const current = await readFile(file, "utf8");
    const record = JSON.parse(current) as Record<string, unknown>;
    const iso = (text: unknown) => `${String(text).replace(" ", "T")}Z`;
    const old = { ...record, started_at: iso(record.started_at), finished_at: iso(record.finished_at) };
    await writeFile(file, `${JSON.stringify(old)}\n`);
    try {
      const session = await openDuckDB({ threads: 1 });
      try {
        await attachLakeViews(
          session.connection,
          lake.lakeDir,
          await takeSnapshot(new LocalObjectStore(lake.lakeDir)),
        );
        const read = (
          await session.connection.runAndReadAll(
            `SELECT strftime(started_at, '%Y-%m-%d %H:%M:%S.%g') AS s, strftime(finished_at, '%Y-%m-%d %H:%M:%S.%g') AS f FROM drops WHERE drop_id = '${lake.okDrop}'`,
          )
        ).getRowObjectsJson();
        expect(read).toEqual([{ s: record.started_at, f: record.finished_at }]);
      } finally {
        session.close();
      }
    } finally {
      await writeFile(file, current);
    }
  });
});
