/**
 * The lake's layout: every key the pipeline writes is built here, so ingest, the query views, the model
 * runner and the Glue tables agree on it.
 *
 *   curated/<dataset>/[<partition>=<value>/]<drop_id>.parquet   validated rows of one drop
 *   quarantine/dataset=<dataset>/<drop_id>.parquet              rejected rows of one drop
 *   ledger/drops/<drop_id>.json                                 the last successful ingest of a drop
 *   ledger/rejected/<drop_id>.json                              the last rejected attempt (whole-file error)
 *   ledger/content/<dataset>/<sha256>.json                      content index: which drop holds these bytes
 */
import type { DatasetName } from "./contracts.ts";

export const LAKE = {
  curatedPrefix: (dataset: DatasetName) => `curated/${dataset}/`,
  curatedKey: (dataset: DatasetName, dropId: string, partition?: { column: string; value: string }) =>
    partition
      ? `curated/${dataset}/${partition.column}=${partition.value}/${dropId}.parquet`
      : `curated/${dataset}/${dropId}.parquet`,
  quarantinePrefix: "quarantine/",
  quarantineKey: (dataset: DatasetName, dropId: string) => `quarantine/dataset=${dataset}/${dropId}.parquet`,
  ledgerKey: (dropId: string) => `ledger/drops/${dropId}.json`,
  rejectedKey: (dropId: string) => `ledger/rejected/${dropId}.json`,
  contentKey: (dataset: DatasetName, sha256: string) => `ledger/content/${dataset}/${sha256}.json`,
} as const;
