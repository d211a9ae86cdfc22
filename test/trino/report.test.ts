// The report and the campaign audience on Athena's dialect (issue 18, item 5: `crmlake report --stack`,
// `campaign assign|plan --stack`): every query the report (loadReportData, resolveReportAsOf) and the
// audience (readAudience, readProfiles, readCampaignRecord, readBaseline) send runs on a real Trino, in the
// schema the real runner published a scored lake into (published tables partitioned by a DATE as_of, the
// drops and quarantine relations beside them, as in the stack's Glue database), and gives what DuckDB gives
// over the same lake. Set CRMLAKE_TRINO_URL to reuse a running test server while iterating.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type LakeRows,
  readAudience,
  readBaseline,
  readCampaignRecord,
  readProfiles,
} from "../../functions/core/campaigns/audience.ts";
import { takeSnapshot } from "../../functions/core/ledger/ledger.ts";
import {
  loadReportData,
  type Query,
  type ReportData,
  type Row,
  resolveReportAsOf,
} from "../../functions/core/report/report.ts";
import { openLakeQuerySession } from "../../functions/engines/duckdb/query-session.ts";
import { loadLakeReport } from "../../functions/engines/duckdb/report-source.ts";
import { LocalObjectStore } from "../../functions/storage/local.ts";
import { runScenario, type ScenarioRun } from "./differential.ts";
import { AS_OF } from "./fixture-lake.ts";
import { connectTrino, startTrino, type TrinoConnection, type TrinoServer } from "./server.ts";
import { TrinoWarehouse } from "./trino-warehouse.ts";

const NAME = "report";
const RUN_SCHEMA = `${NAME}_run`;
const PLACE = { where: "in the test lake", option: "--lake test" };

let trino: TrinoServer | TrinoConnection;
let root: string;
let run: ScenarioRun;
let onTrino: TrinoWarehouse;

/** Numbers as numbers (engines give BIGINT and DECIMAL as text), doubles to 9 significant digits. */
function normalised(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalised);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalised(v)]));
  }
  if (typeof value === "string" && /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(value))
    return normalised(Number(value));
  if (typeof value === "number") return Number(value.toPrecision(9));
  return value;
}

const trinoQuery: Query = async (sql) => (await onTrino.query(sql)).rows as Row[];
const trinoRows: LakeRows = async (sql) => {
  const result = await onTrino.query(sql);
  return { rows: result.rows.map((row) => result.columns.map((c) => row[c.name] ?? null)) };
};

beforeAll(async () => {
  const url = process.env.CRMLAKE_TRINO_URL;
  trino = url ? connectTrino(url) : await startTrino();
  root = await mkdtemp(join(tmpdir(), "crmlake-trino-report-"));
  run = await runScenario(
    trino,
    {
      name: NAME,
      fixture: { customers: 400 },
      config: {},
      why: "a scored lake for the report's and the audience's queries",
    },
    root,
  );
  onTrino = new TrinoWarehouse(trino, {
    inputSchema: `${NAME}_lake`,
    runSchema: RUN_SCHEMA,
    lakeDir: join(root, NAME, "trino-lake"),
    inputLakeDir: run.lake.lakeDir,
  });
  // The stack declares customer_scores_latest in Glue (ADR 0014); here a view of the one published as-of.
  await onTrino.query(
    `CREATE OR REPLACE VIEW customer_scores_latest AS SELECT * FROM customer_scores WHERE as_of = DATE '${AS_OF}'`,
  );
});

afterAll(async () => {
  if (trino !== undefined) {
    for (const schema of [RUN_SCHEMA, `${NAME}_lake`]) {
      await trino.query(`DROP SCHEMA IF EXISTS hive.${schema} CASCADE`).catch(() => undefined);
    }
    if ("stop" in trino) await trino.stop();
  }
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

describe("the report on Trino", () => {
  it("finds the latest as-of, and refuses one that is not published, naming those that are", async () => {
    expect(await resolveReportAsOf(trinoQuery, PLACE)).toBe(AS_OF);
    expect(await resolveReportAsOf(trinoQuery, PLACE, undefined, "2030-01-01")).toBe(AS_OF);
    await expect(resolveReportAsOf(trinoQuery, PLACE, "2024-11-19")).rejects.toThrow(
      `No run as of 2024-11-19 in the test lake. Runs exist as of: ${AS_OF}`,
    );
    await expect(resolveReportAsOf(trinoQuery, PLACE, undefined, "2024-01-01")).rejects.toThrow(
      `only after it, as of: ${AS_OF}`,
    );
  });

  it("reads every figure DuckDB reads from the same lake", async () => {
    const duckdb = await loadLakeReport(
      run.lake.lakeDir,
      await takeSnapshot(new LocalObjectStore(run.lake.lakeDir)),
      AS_OF,
    );
    const trinoData = await loadReportData(trinoQuery, AS_OF, { schema: RUN_SCHEMA });
    // The sections with rows, so that the comparison is not of empty lists.
    for (const key of ["pyramid", "whale", "stages", "rfm", "categories", "cohorts", "quarantine"] as const) {
      expect(trinoData[key].length, key).toBeGreaterThan(0);
    }
    expect(Number(trinoData.drops.drops)).toBeGreaterThan(0);
    expect(trinoData.ingestUnavailable).toBeUndefined();
    for (const key of Object.keys(duckdb) as (keyof ReportData)[]) {
      expect(normalised(trinoData[key]), key).toEqual(normalised(duckdb[key]));
    }
  });
});

describe("the campaign audience on Trino", () => {
  it("reads the audience's columns, profiles, a campaign record and the baseline as DuckDB does", async () => {
    const session = await openLakeQuerySession(
      run.lake.lakeDir,
      await takeSnapshot(new LocalObjectStore(run.lake.lakeDir)),
    );
    try {
      const duckRows: LakeRows = session.query;
      const [d, t] = [await readAudience(duckRows), await readAudience(trinoRows, RUN_SCHEMA)];
      expect(t.asOf).toBe(AS_OF);
      expect(d.asOf).toBe(AS_OF);
      expect([...t.columns].sort()).toEqual([...d.columns].sort());
      expect(t.columns.get("value_tier")).toBe("text");
      expect(t.columns.get("net_revenue")).toBe("number");

      const where = `"value_tier" IN ('top', 'big', 'medium')`;
      const profiles = await readProfiles(trinoRows, where);
      expect(profiles.length).toBeGreaterThan(0);
      expect(normalised(profiles)).toEqual(normalised(await readProfiles(duckRows, where)));

      const campaign = (await trinoRows("SELECT min(campaign_id) FROM campaigns")).rows[0]?.[0];
      expect(typeof campaign).toBe("string");
      const record = await readCampaignRecord(trinoRows, String(campaign));
      expect(record?.byIngestOrder).toBe(true);
      expect(record).toEqual(await readCampaignRecord(duckRows, String(campaign)));

      const from = "2024-08-23";
      const baseline = await readBaseline(trinoRows, "TRUE", AS_OF, from);
      expect(baseline.population).toBeGreaterThan(0);
      expect(normalised(baseline)).toEqual(normalised(await readBaseline(duckRows, "TRUE", AS_OF, from)));
    } finally {
      session.close();
    }
  });
});
