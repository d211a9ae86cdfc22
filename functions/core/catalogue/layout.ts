/**
 * The lake's layout: every key the pipeline writes is built here, so ingest, the query views, the model
 * runner and the Glue tables agree on it.
 *
 *   curated/<dataset>/[<partition>=<value>/]<drop_id>__<version>[-<n>].parquet   validated rows of one
 *                                                                  version of a drop
 *   quarantine/dataset=<dataset>/<drop_id>__<version>.parquet   rejected rows of one version of a drop
 *   ledger/drops/<drop_id>.json                                 the committed version of a drop: readers read
 *                                                               exactly the files it lists (ADR 0010)
 *   ledger/retired/<drop_id>__<version>.json                    a superseded version, deleted after a grace period
 *   ledger/rejected/<drop_id>.json                              the last rejected attempt (whole-file error)
 *   ledger/content/<dataset>/<sha256>.json                      content index: which drop holds these bytes
 *   ledger/manifests/<dataset>/manifest                         symlink manifest: the URI of every committed
 *                                                               file of a dataset, one per line (the BI tables)
 *
 * Model outputs and run records (docs/adr/0002-model-runner.md, ADR 0006), under MODEL_LAYOUT:
 *
 *   models/<model>/as_of=<YYYY-MM-DD>/data.parquet     a published model output (one partition per as-of)
 *   runs/staging/<run_id>/<model>/as_of=<d>/…          a local run's outputs until every model succeeded
 *   models/<model>/run=<run_id>/as_of=<d>/…            on S3: a run's outputs, published by pointing the
 *                                                      Glue partition at them (ADR 0006)
 *   models/<model>/latest=none/                        on S3: holds no files; where <model>_latest points
 *                                                      before a run has published (ADR 0014)
 *   runs/staging/<run_id>/_publish.json                publish journal: present = roll forward on restart
 *   runs/log/<run_id>.json                             one record per run (the `runs` table)
 *   runs/snapshots/<run_id>.json                       the drop versions and files a run reads (ADR 0010)
 *   runs/manifests/<run_id>/<dataset>/manifest         on Athena: the run's symlink manifest of those files
 *   runs/lock                                          held while a run computes and publishes
 *   runs/unlocks/<time>-<run_id>.json                  a lock crmlake runs unlock removed, by whom and why
 *
 * Action lists for activation tools (docs/lifetime-value.md, "Next-best actions"; ADR 0013), written by every
 * run that publishes customer_actions, after it has published:
 *
 *   exports/actions/as_of=<d>/<action>.csv      one CSV per next action (a header-only file for none)
 *   exports/actions/as_of=<d>/manifest.json     written last: as-of, run, keys and counts
 *   exports/actions/latest/<action>.csv         the latest as-of's lists, at a path that never changes
 *   exports/actions/latest/manifest.json        written after them: which as-of latest/ holds
 *
 * Backtests (docs/lifetime-value.md, "Backtest"), their own path: a backtest reads past its as-of, so its tables
 * are not model outputs of that as-of. Local lakes only for now.
 *
 *   backtests/<table>/as_of=<d>/horizon_days=<h>/data.parquet   one backtest's table (replaced by a re-run)
 */
import type { DatasetName } from "./contracts.ts";

export const LAKE = {
  curatedPrefix: (dataset: DatasetName) => `curated/${dataset}/`,
  /** The name files of one version of a drop share (ADR 0010: no attempt overwrites another's files). */
  fileStem: (dropId: string, version: string) => `${dropId}__${version}`,
  curatedKey: (dataset: DatasetName, stem: string, partition?: { column: string; value: string }) =>
    partition
      ? `curated/${dataset}/${partition.column}=${partition.value}/${stem}.parquet`
      : `curated/${dataset}/${stem}.parquet`,
  quarantinePrefix: "quarantine/",
  quarantineKey: (dataset: DatasetName, stem: string) => `quarantine/dataset=${dataset}/${stem}.parquet`,
  ledgerKey: (dropId: string) => `ledger/drops/${dropId}.json`,
  rejectedKey: (dropId: string) => `ledger/rejected/${dropId}.json`,
  contentPrefix: "ledger/content/",
  contentKey: (dataset: DatasetName, sha256: string) => `ledger/content/${dataset}/${sha256}.json`,
  /** Committed drop records: one object per drop, replaced by each commit (ADR 0010). */
  ledgerPrefix: "ledger/drops/",
  /** Retirement markers: a superseded version's files, deleted after the grace period (ADR 0010). */
  retiredPrefix: "ledger/retired/",
  retiredKey: (dropId: string, version: string) => `ledger/retired/${dropId}__${version}.json`,
  /**
   * A dataset's symlink manifest (ADR 0010, decision 5): the Athena table of the dataset reads exactly the
   * files it lists. Alone in its folder: a symlink reader fails on any other object there.
   */
  manifestPrefix: (dataset: DatasetName) => `ledger/manifests/${dataset}/`,
  manifestKey: (dataset: DatasetName) => `ledger/manifests/${dataset}/manifest`,
  /** The lake's format version (ADR 0010, decision 7). */
  formatKey: "ledger/format.json",
} as const;

/** Keys of model outputs and run records (see the layout above). */
export const MODEL_LAYOUT = {
  modelsPrefix: "models/",
  modelPrefix: (model: string) => `models/${model}/`,
  partitionDir: (asOf: string) => `as_of=${asOf}`,
  dataFile: "data.parquet",
  stagingRoot: "runs/staging/",
  stagingPrefix: (runId: string) => `runs/staging/${runId}/`,
  stagingTable: (runId: string, model: string) => `runs/staging/${runId}/${model}/`,
  runTable: (runId: string, model: string) => `models/${model}/run=${runId}/`,
  /** Where a `<model>_latest` table points before any run has (ADR 0014): no run writes there. */
  latestPlaceholder: (model: string) => `models/${model}/latest=none/`,
  publishJournal: (runId: string) => `runs/staging/${runId}/_publish.json`,
  runLogPrefix: "runs/log/",
  runRecord: (runId: string) => `runs/log/${runId}.json`,
  /** The inputs a run pinned: every drop's version and files (ADR 0010). */
  snapshotPrefix: "runs/snapshots/",
  snapshotKey: (runId: string) => `runs/snapshots/${runId}.json`,
  /** A run's symlink manifest of one dataset on Athena: the files it pinned (ADR 0010, decision 5). */
  runManifestPrefix: (runId: string, dataset: string) => `runs/manifests/${runId}/${dataset}/`,
  runManifestKey: (runId: string, dataset: string) => `runs/manifests/${runId}/${dataset}/manifest`,
  lock: "runs/lock",
  /** What `crmlake runs unlock` removed, when and by whom: one record per removal. */
  unlockLogPrefix: "runs/unlocks/",
  unlockRecord: (at: string, runId: string) => `runs/unlocks/${at}-${runId}.json`,
} as const;

/** Keys of the backtest tables (see the layout above). */
export const BACKTEST_LAYOUT = {
  backtestsPrefix: "backtests/",
  tablePrefix: (table: string) => `backtests/${table}/`,
  dataKey: (table: string, asOf: string, horizonDays: number) =>
    `backtests/${table}/as_of=${asOf}/horizon_days=${horizonDays}/data.parquet`,
} as const;

/** Keys of the action lists (see the layout above). */
export const EXPORT_LAYOUT = {
  actionsPrefix: "exports/actions/",
  asOfPrefix: (asOf: string) => `exports/actions/as_of=${asOf}/`,
  asOfKey: (asOf: string, action: string) => `exports/actions/as_of=${asOf}/${action}.csv`,
  asOfManifest: (asOf: string) => `exports/actions/as_of=${asOf}/manifest.json`,
  latestPrefix: "exports/actions/latest/",
  latestKey: (action: string) => `exports/actions/latest/${action}.csv`,
  latestManifest: "exports/actions/latest/manifest.json",
} as const;

/**
 * Top-level prefixes of the lake and who writes them: the stack grants each Lambda its prefixes, and the
 * Glue tables sit under them. Every key above starts with one of these.
 */
export const LAKE_PREFIXES = {
  /** ingest: validated rows of each drop version (LAKE.curatedKey) */
  curated: "curated/",
  /** ingest: rejected rows of each drop version (LAKE.quarantineKey) */
  quarantine: LAKE.quarantinePrefix,
  /** ingest: committed records, rejections, content claims, retirement markers, the format file */
  ledger: "ledger/",
  /** scoring: model outputs (MODEL_LAYOUT); a Glue partition points at the run that published it */
  models: MODEL_LAYOUT.modelsPrefix,
  /** scoring: run staging, publish journals, run records, pinned snapshots and the run lock */
  runs: "runs/",
  /** scoring: the action lists for activation tools (EXPORT_LAYOUT), after each publish */
  exports: "exports/",
} as const;
