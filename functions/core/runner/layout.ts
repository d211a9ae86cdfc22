/**
 * Where model outputs and run records live in the lake (docs/adr/0002-model-runner.md). Keys are relative
 * to the lake root and `/`-separated, like LAKE in ../lake.ts.
 *
 *   models/<model>/as_of=<YYYY-MM-DD>/data.parquet     a published model output (one partition per as-of)
 *   runs/staging/<run_id>/<model>/as_of=<d>/…          a local run's outputs until every model succeeded
 *   models/<model>/run=<run_id>/as_of=<d>/…            on S3: a run's outputs, published by pointing the
 *                                                      Glue partition at them (ADR 0006)
 *   runs/staging/<run_id>/_publish.json                publish journal: present = roll forward on restart
 *   runs/log/<run_id>.json                             one record per run (the `runs` table)
 *   runs/lock                                          held while a run computes and publishes
 */
export const MODEL_LAYOUT = {
  modelsPrefix: "models/",
  modelPrefix: (model: string) => `models/${model}/`,
  partitionDir: (asOf: string) => `as_of=${asOf}`,
  dataFile: "data.parquet",
  stagingPrefix: (runId: string) => `runs/staging/${runId}/`,
  stagingTable: (runId: string, model: string) => `runs/staging/${runId}/${model}/`,
  runTable: (runId: string, model: string) => `models/${model}/run=${runId}/`,
  publishJournal: (runId: string) => `runs/staging/${runId}/_publish.json`,
  runLogPrefix: "runs/log/",
  runRecord: (runId: string) => `runs/log/${runId}.json`,
  lock: "runs/lock",
} as const;
