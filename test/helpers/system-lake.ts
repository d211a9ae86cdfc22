/**
 * A small lake whose system tables all hold real rows, written by the real code: an ingested drop with a
 * quarantined line (`quarantine`, `ledger/drops/`), a drop rejected whole (`ledger/rejected/`), and two runs by
 * the real runner on DuckDB (`runs/log/`): one that succeeded, one whose model failed in the engine.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { runLocal } from "../../functions/backends/local.ts";
import { isCrmlakeError } from "../../functions/core/errors.ts";
import { dropIdFor } from "../../functions/core/ingest/ingest.ts";
import type { RunSummary } from "../../functions/core/runner/run.ts";
import { tempLake } from "./lake.ts";
import { CUSTOMER_TOTALS, STG_LINES } from "./score-models.ts";

const FAILING = `-- question: Total revenue.
-- grain: one row
-- depends_on: customer_totals
-- unique_key: customers
-- column customers bigint: Customers.
-- column revenue decimal(18,2): Revenue.
select COUNT(*) AS customers, CAST('not a number' AS DECIMAL(18,2)) AS revenue from customer_totals
`;

const AFTER_FAILING = `-- question: Never computed.
-- grain: one row
-- depends_on: total_failing
-- unique_key: customers
-- column customers bigint: Customers.
select customers from total_failing
`;

export interface SystemLake {
  readonly root: string;
  readonly lakeDir: string;
  readonly okDrop: string;
  readonly rejectedDrop: string;
  /** A run that succeeded (two models) and the id of one that failed (one model failed, one not run). */
  readonly run: RunSummary;
  readonly failedRun: string;
  remove(): Promise<void>;
}

export async function buildSystemLake(): Promise<SystemLake> {
  const lake = await tempLake();
  const good = await lake.file(
    "orders.csv",
    [
      "order_id,customer_id,ordered_at,amount",
      "o1,c1,2024-01-05 10:00:00,10.00",
      "o2,,2024-01-06 11:00:00,3.00",
      "o3,c2,2024-01-20 09:30:00.250,7.25",
    ].join("\n"),
  );
  const okDrop = (await lake.ingest("transactions", good)).ledger.drop_id;
  const bad = await lake.file(
    "no-amount.csv",
    "order_id,customer_id,ordered_at\no9,c9,2024-01-07 10:00:00\n",
  );
  let rejectedDrop = "";
  try {
    await lake.ingest("transactions", bad);
  } catch (error) {
    if (!isCrmlakeError(error)) throw error;
    rejectedDrop = dropIdFor("transactions", bad);
  }
  if (rejectedDrop === "") throw new Error("the drop without amount was not rejected");

  const sqlDir = join(lake.root, "sql");
  await mkdir(join(sqlDir, "staging"), { recursive: true });
  await mkdir(join(sqlDir, "marts"), { recursive: true });
  await writeFile(join(sqlDir, "staging", "stg_lines.sql"), STG_LINES);
  await writeFile(join(sqlDir, "marts", "customer_totals.sql"), CUSTOMER_TOTALS);
  // Its own models: the project's stages depend on models it does not have.
  const run = await runLocal({ lakeDir: lake.lakeDir, sqlDir, asOf: "2024-01-31", stages: [] });

  // A second run whose last model fails in the engine: a failed record, with an error and a model not run.
  const failingDir = join(lake.root, "sql-failing");
  await mkdir(join(failingDir, "staging"), { recursive: true });
  await mkdir(join(failingDir, "marts"), { recursive: true });
  await writeFile(join(failingDir, "staging", "stg_lines.sql"), STG_LINES);
  await writeFile(join(failingDir, "marts", "customer_totals.sql"), CUSTOMER_TOTALS);
  await writeFile(join(failingDir, "marts", "total_failing.sql"), FAILING);
  await writeFile(join(failingDir, "marts", "total_after.sql"), AFTER_FAILING);
  let failedRun = "";
  try {
    await runLocal({
      lakeDir: lake.lakeDir,
      sqlDir: failingDir,
      asOf: "2024-01-30",
      runId: "failing-run",
      stages: [],
    });
  } catch (error) {
    if (!isCrmlakeError(error)) throw error;
    failedRun = "failing-run";
  }
  if (failedRun === "") throw new Error("the failing run did not fail");

  return {
    root: lake.root,
    lakeDir: lake.lakeDir,
    okDrop,
    rejectedDrop,
    run,
    failedRun,
    remove: () => rm(lake.root, { recursive: true, force: true }),
  };
}
