/**
 * The local composition root (docs/adr/0008-layout-and-architecture-rules.md): the engine and the publisher
 * of a lake directory, matched here and nowhere else. DuckDB reads the lake's curated Parquet and writes the
 * models' Parquet into the same directory, which LocalModelOutputs publishes by rename; the project's stages
 * come from the registry. The CLI's commands build what they need here.
 */

import { existsSync } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type ClvBacktestOptions,
  type ClvBacktestResult,
  runClvBacktest,
} from "../core/backtest/clv-backtest.ts";
import type { NextAction } from "../core/catalogue/actions.ts";
import { ModelError, UsageError } from "../core/errors.ts";
import { takeSnapshot } from "../core/ledger/ledger.ts";
import type { ObjectStore } from "../core/ports/object-store.ts";
import type { Warehouse } from "../core/ports/warehouse.ts";
import type { ReportData } from "../core/report/report.ts";
import { buildActionLists, publishedActionAsOfs } from "../core/runner/action-lists.ts";
import { type DeletedAsOf, deletePublishedAsOf } from "../core/runner/delete.ts";
import { findLateDrops, rescoreNote } from "../core/runner/late-drops.ts";
import { type RunOptions, type RunSummary, runModels } from "../core/runner/run.ts";
import type { RunRecord } from "../core/runner/runs.ts";
import { STAGES } from "../core/stages/index.ts";
import { openActionSource } from "../engines/duckdb/export-actions.ts";
import { type LakeQuerySession, openLakeQuerySession } from "../engines/duckdb/query-session.ts";
import { loadLakeReport } from "../engines/duckdb/report-source.ts";
import { DuckDBWarehouse } from "../engines/duckdb/warehouse.ts";
import { LocalObjectStore } from "../storage/local.ts";
import { LocalModelOutputs } from "../storage/local-outputs.ts";

export interface LocalRunOptions extends Omit<RunOptions, "warehouse" | "outputs" | "lake"> {
  /** The lake directory: curated inputs are read from it, model outputs published into it. */
  readonly lakeDir: string;
  /**
   * An engine over the same lake that the caller opened and keeps open (tests that read the run's views
   * afterwards, the Trino differential tier); default an in-memory DuckDB over lakeDir, closed at the end.
   */
  readonly warehouse?: Warehouse;
}

/**
 * DuckDB's memory limit in a local run (issue 17): room beside it for Node's heap (the TypeScript stages hold a
 * model's columns) and DuckDB's allocations outside its buffer pool, so that a full run on 1,000,000 customers
 * stays under 2 GiB resident; above the limit DuckDB spills to its temporary directory (npm run bench -- run).
 */
export const RUN_MEMORY_LIMIT = "1GB";

/**
 * The note of a run that re-scores the latest as-of for late drops (ADR 0016: `crmlake ingest` asked for it), so
 * its record says so as a deployment's late-drop check does; undefined for any other run. Only a note: a lake
 * whose records cannot be read gives none.
 */
async function rescoreNoteFor(
  outputs: LocalModelOutputs,
  lake: LocalObjectStore,
  asOf: string,
): Promise<string | undefined> {
  try {
    const finding = await findLateDrops(outputs, lake);
    if (finding.kind !== "found" || finding.latest.asOf !== asOf || finding.late.length === 0)
      return undefined;
    return rescoreNote(finding.latest, finding.late);
  } catch {
    return undefined;
  }
}

/** Runs the models on a local lake: DuckDB over the lake directory, published into it, the project's stages. */
export async function runLocal(options: LocalRunOptions): Promise<RunSummary> {
  const { lakeDir, warehouse: given, ...rest } = options;
  const outputs = new LocalModelOutputs(lakeDir);
  const lake = new LocalObjectStore(lakeDir);
  const lateNote = rest.asOf === undefined ? undefined : await rescoreNoteFor(outputs, lake, rest.asOf);
  const warehouse = given ?? (await DuckDBWarehouse.open(lakeDir, { memoryLimit: RUN_MEMORY_LIMIT }));
  try {
    return await runModels({
      ...rest,
      ...(lateNote === undefined ? {} : { notes: [...(rest.notes ?? []), lateNote] }),
      stages: options.stages ?? STAGES,
      warehouse,
      outputs,
      lake,
      upgradeCommand: `crmlake doctor --upgrade --lake ${lakeDir}`,
    });
  } finally {
    if (given === undefined) await warehouse.close();
  }
}

/**
 * The lifetime-value backtest on a local lake (`crmlake backtest`): DuckDB over the lake directory, the tables
 * written into it under backtests/, the calibration histories kept in a scratch directory removed at the end.
 */
export async function backtestLocal(
  options: Omit<ClvBacktestOptions, "warehouse" | "lake" | "stages" | "scratchLocation"> & {
    readonly lakeDir: string;
  },
): Promise<ClvBacktestResult> {
  const { lakeDir, ...rest } = options;
  if (!existsSync(lakeDir)) {
    throw new ModelError("no_lake", `No lake at ${lakeDir}: ingest data into it first, or pass --lake DIR`);
  }
  const scratch = await mkdtemp(join(tmpdir(), "crmlake-backtest-"));
  const warehouse = await DuckDBWarehouse.open(lakeDir);
  try {
    return await runClvBacktest({
      ...rest,
      warehouse,
      lake: new LocalObjectStore(lakeDir),
      stages: STAGES,
      scratchLocation: scratch,
      upgradeCommand: `crmlake doctor --upgrade --lake ${lakeDir}`,
    });
  } finally {
    await warehouse.close();
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * The lake's inputs and published models as DuckDB views, for `crmlake query` and `crmlake campaign`: the inputs
 * as the ledger lists them when the session opens (docs/adr/0010-ledger-visibility-and-snapshots.md). A fresh
 * lake (a directory with nothing ingested yet) answers with empty tables; a mistyped --lake is a UsageError.
 */
export async function openLakeQuery(lakeDir: string): Promise<LakeQuerySession> {
  const isDir = await stat(lakeDir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir) {
    throw new UsageError(
      "no_lake",
      `Lake directory ${lakeDir} does not exist. Pass --lake DIR, or ingest into it first`,
    );
  }
  return openLakeQuerySession(lakeDir, await takeSnapshot(new LocalObjectStore(lakeDir)));
}

/**
 * The report's figures from a local lake's published models: as of `asOf`, or else the latest as-of (the
 * latest on or before `notAfter`, today, when given).
 */
export async function loadLocalReport(
  lakeDir: string,
  asOf?: string,
  notAfter?: string,
): Promise<ReportData> {
  return loadLakeReport(lakeDir, await takeSnapshot(new LocalObjectStore(lakeDir)), asOf, notAfter);
}

/**
 * Removes a published as-of from a local lake (`crmlake runs delete`): its model outputs, under the run lock;
 * the runs that published it stay recorded as `deleted` (functions/core/runner/delete.ts).
 */
export async function deleteLocalAsOf(lakeDir: string, asOf: string): Promise<DeletedAsOf> {
  // Taking the run lock creates <lake>/runs/: a mistyped --lake must not leave a lake behind.
  if (!existsSync(lakeDir)) {
    throw new ModelError("no_lake", `No lake at ${lakeDir}: nothing is published there. Pass --lake DIR`);
  }
  return deletePublishedAsOf(new LocalModelOutputs(lakeDir), asOf, {
    command: `crmlake runs delete --as-of ${asOf} --lake ${lakeDir}`,
  });
}

/** The run records of a local lake (`crmlake runs`): runs/log/, whatever their status. */
export async function localRunRecords(lakeDir: string): Promise<RunRecord[]> {
  if (!existsSync(lakeDir)) {
    throw new UsageError("no_lake", `Lake directory ${lakeDir} does not exist. Pass --lake DIR`);
  }
  return new LocalModelOutputs(lakeDir).listRunRecords();
}

export interface ExportedActions {
  readonly asOf: string;
  /** Where the files went: a directory, or `s3://bucket/prefix`. */
  readonly location: string;
  readonly files: readonly {
    readonly action: NextAction;
    readonly key: string;
    readonly customers: number;
  }[];
}

/**
 * Writes the published next-best actions of a local lake as one CSV per action (`crmlake export actions`):
 * `<action>.csv` in `out`, a directory or an `s3://bucket/prefix` (the S3 client from the environment, as
 * `crmlake ingest` uses), as of `asOf` or the latest as-of of customer_actions. The same writer as the
 * runner's post-publish step (functions/core/runner/action-lists.ts); each file is replaced whole.
 */
export async function exportLocalActions(
  lakeDir: string,
  out: string,
  asOf?: string,
): Promise<ExportedActions> {
  if (!existsSync(lakeDir)) {
    throw new ModelError("no_lake", `No lake at ${lakeDir}: nothing is published there. Pass --lake DIR`);
  }
  let target: ObjectStore = new LocalObjectStore(out);
  if (out.startsWith("s3://")) {
    // Imported on use, as `crmlake doctor` does: the AWS SDK stays out of every other command's start-up (ADR 0012).
    const { parseS3Uri, S3ObjectStore, s3ClientFromEnv } = await import("../storage/s3.ts");
    const { bucket, key } = parseS3Uri(out);
    target = new S3ObjectStore({ bucket, prefix: key, client: s3ClientFromEnv() });
  }
  const source = await openActionSource(lakeDir);
  try {
    const asOfs = await publishedActionAsOfs(source.query);
    const chosen = asOf ?? asOfs[0];
    if (chosen === undefined || !asOfs.includes(chosen)) {
      const shown = asOfs.slice(0, 5).join(", ");
      throw new ModelError(
        "no_actions",
        `customer_actions has no rows as of ${chosen ?? "any date"} in ${lakeDir}; published as-ofs: ${shown === "" ? "none" : shown}${asOfs.length > 5 ? ", …" : ""}`,
      );
    }
    const lists = await buildActionLists(source.query, chosen);
    for (const list of lists) await target.put(`${list.action}.csv`, list.csv);
    return {
      asOf: chosen,
      location: target.location,
      files: lists.map((l) => ({ action: l.action, key: `${l.action}.csv`, customers: l.customers })),
    };
  } finally {
    source.close();
  }
}
