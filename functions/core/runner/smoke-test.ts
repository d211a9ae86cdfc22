/**
 * The smoke test of a deployment (`crmlake aws smoke-test --stack NAME`, issue 18 item 8; docs/operations.md):
 * proves a freshly deployed stack works end to end, then takes back what it added.
 *
 * 1. check   the lake is empty: no drop in the ledger (committed or rejected), no run record, no published
 *            partition, no file waiting in the landing bucket. The test refuses any other lake, with no way
 *            round it: scoring reads the whole lake and moves every `<model>_latest` table, so a sample
 *            scored in a lake with real data would be mixed into real outputs.
 * 2. sample  generates a small sample (the generator, functions/core/generate) over a period no real data
 *            has (2001), so whatever might ever be left of it stands out;
 * 3. drop    puts its files into the landing bucket under `<dataset>/crmlake-smoke-test-<stamp>…`;
 * 4. ingest  polls the ledger until each of those files has a committed drop (its `source` is the file);
 * 5. score   invokes the scoring run for the sample's as-of and waits for it (waitForRun);
 * 6. query   reads `customer_scores_latest` (on a stack through Athena) and checks it shows the sample's as-of
 *            with one row per sample customer;
 * 7. clean   removes what the test added, and only that: every key it deletes is derived from the landing
 *            keys it wrote (their drops, the drops' files and claims), from its own run ids (their records,
 *            snapshots, manifests, staging and files), or from its as-of, whose partitions are removed
 *            (`runs delete`) only when every run recorded for that as-of is its own. What it cannot remove
 *            safely it leaves, and says so.
 *
 * Every step prints its time; a failure names the step and what to check, and the clean-up still runs.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { DATASET_NAMES, type DatasetName } from "../catalogue/contracts.ts";
import { EXPORT_LAYOUT, LAKE, MODEL_LAYOUT } from "../catalogue/layout.ts";
import { CrmlakeError, errorMessage } from "../errors.ts";
import { generate } from "../generate/generate.ts";
import { DEFAULT_OPTIONS } from "../generate/options.ts";
import type { LedgerRecord } from "../ingest/types.ts";
import { readLedger } from "../ledger/ledger.ts";
import { refreshManifests } from "../ledger/manifests.ts";
import type { DeletableOutputs } from "../ports/model-outputs.ts";
import type { ObjectStore } from "../ports/object-store.ts";
import type { QueryResult } from "../ports/warehouse.ts";
import { deletePublishedAsOf } from "./delete.ts";
import { eventRunIds, runProgress, waitForRun } from "./wait.ts";

/** The sample's period: a past no real lake has data for, so the sample stands out anywhere it appears. */
export const SMOKE_PERIOD = { from: "2001-01-01", to: "2001-06-30" } as const;
/** The as-of the sample is scored at: the period's last day. */
export const SMOKE_AS_OF = SMOKE_PERIOD.to;
/** Every landed file of the test starts with this name, followed by the run's stamp. */
export const SMOKE_FILE_PREFIX = "crmlake-smoke-test-";
export const SMOKE_TABLE = "customer_scores_latest";

/** What the smoke test works on: a deployed stack's pieces (functions/backends/aws-stack.ts). */
export interface SmokeTestTarget {
  /** For messages: "stack Crmlake-dev". */
  readonly name: string;
  readonly lake: ObjectStore;
  readonly landing: ObjectStore;
  readonly outputs: DeletableOutputs;
  /** Starts the scoring run for `asOf`; returns the run id its record is kept under. */
  rescore(asOf: string): Promise<{ readonly runId: string }>;
  /** Runs a query over the published tables, as a BI user would. */
  query(
    sql: string,
  ): Promise<QueryResult & { readonly queryExecutionId?: string; readonly workGroup?: string }>;
}

export interface SmokeTestOptions {
  /** An empty directory for the sample. */
  readonly workDir: string;
  /** Customers in the sample (default 40). */
  readonly customers?: number;
  readonly ingestTimeoutMs?: number;
  readonly runTimeoutMs?: number;
  readonly pollMs?: number;
  /** How long a failed run's retry by Lambda may take to appear (waitForRun; default 4 minutes). */
  readonly retryGraceMs?: number;
  /** How the command is written, for what to check. */
  readonly command: string;
  readonly log: (line: string) => void;
  readonly now?: () => Date;
  readonly clock?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export const SMOKE_STEPS = ["check", "sample", "drop", "ingest", "score", "query", "clean"] as const;
export type SmokeStep = (typeof SMOKE_STEPS)[number];

/** A step that failed: its name, what went wrong, what to check. */
export class SmokeTestError extends CrmlakeError {
  readonly step: SmokeStep;
  constructor(step: SmokeStep, message: string, options?: { cause?: unknown }) {
    super(`smoke_${step}`, message, options);
    this.name = "SmokeTestError";
    this.step = step;
  }
}

export interface SmokeTestResult {
  readonly asOf: string;
  readonly customers: number;
  readonly drops: number;
  readonly runId: string;
  readonly durationMs: number;
  /** What the clean-up could not remove, one phrase each (empty: the lake is as it was). */
  readonly leftBehind: readonly string[];
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** What the lake already holds, one phrase each; empty for a lake the smoke test may use. */
export async function lakeContents(
  target: Pick<SmokeTestTarget, "lake" | "landing" | "outputs">,
): Promise<string[]> {
  const found: string[] = [];
  const count = (n: number, one: string, many = `${one}s`) => {
    if (n > 0) found.push(`${n} ${n === 1 ? one : many}`);
  };
  count(
    (await target.lake.list(LAKE.ledgerPrefix)).filter((o) => o.key.endsWith(".json")).length,
    "committed drop",
  );
  count((await target.lake.list("ledger/rejected/")).length, "rejected drop");
  count((await target.lake.list(MODEL_LAYOUT.runLogPrefix)).length, "run record");
  count((await target.outputs.publishedPartitions()).length, "published partition");
  const landed = (await target.landing.list("")).filter((o) =>
    DATASET_NAMES.some((d) => o.key.startsWith(`${d}/`)),
  );
  count(landed.length, "file in the landing bucket", "files in the landing bucket");
  return found;
}

/** The sample's files, as `<dataset>/<file>` paths under `dir`, and its number of customers. */
async function sampleFiles(
  dir: string,
): Promise<{ files: { dataset: DatasetName; path: string; name: string }[]; customers: number }> {
  const files: { dataset: DatasetName; path: string; name: string }[] = [];
  for (const dataset of DATASET_NAMES) {
    let names: string[];
    try {
      names = (await readdir(join(dir, dataset))).sort();
    } catch {
      continue;
    }
    for (const name of names) files.push({ dataset, path: join(dir, dataset, name), name });
  }
  const customersCsv = await readFile(join(dir, "customers", "customers.csv"), "utf8");
  const customers = customersCsv.split("\n").filter((line) => line.trim() !== "").length - 1;
  return { files, customers };
}

/** Runs the smoke test on `target`; throws a SmokeTestError naming the failed step (after cleaning up). */
export async function smokeTest(
  target: SmokeTestTarget,
  options: SmokeTestOptions,
): Promise<SmokeTestResult> {
  const clock = options.clock ?? Date.now;
  const now = options.now ?? (() => new Date());
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const pollMs = options.pollMs ?? 10_000;
  const log = options.log;
  const started = clock();
  let stepStarted = started;
  let index = 0;
  const begin = (step: SmokeStep, what: string) => {
    index = SMOKE_STEPS.indexOf(step) + 1;
    stepStarted = clock();
    log(`[${index}/${SMOKE_STEPS.length}] ${step}: ${what}`);
  };
  const done = (what: string) => log(`      ${what} (${seconds(clock() - stepStarted)})`);
  const fail = (step: SmokeStep, what: string, check: string, cause?: unknown): SmokeTestError =>
    new SmokeTestError(
      step,
      `Smoke test of ${target.name} failed at step ${SMOKE_STEPS.indexOf(step) + 1} (${step}) after ${seconds(clock() - stepStarted)}: ${what}. Check: ${check}`,
      cause === undefined ? undefined : { cause },
    );

  // 1. check: an empty lake only, so that nothing the test does can touch real data.
  begin(
    "check",
    `the lake ${target.lake.location} and the landing bucket ${target.landing.location} are empty`,
  );
  const contents = await lakeContents(target);
  if (contents.length > 0) {
    throw fail(
      "check",
      `its lake is not empty (${contents.join(", ")})`,
      `the smoke test runs only on a new deployment's empty lake, because scoring reads the whole lake and moves every *_latest table; run it right after the first cdk deploy, or deploy a stage of its own for it (cdk deploy -c crmlake:stage=smoke) and destroy that afterwards`,
    );
  }
  done("empty");

  const stamp = now().toISOString().replace(/[-:]/g, "").replace(/\..*$/, "").toLowerCase();
  const landed: string[] = [];
  let runId: string | undefined;
  let failure: unknown;
  let result: Omit<SmokeTestResult, "leftBehind" | "durationMs"> | undefined;
  try {
    // 2. sample
    begin("sample", `${options.customers ?? 40} customers from ${SMOKE_PERIOD.from} to ${SMOKE_PERIOD.to}`);
    await generate({
      ...DEFAULT_OPTIONS,
      out: options.workDir,
      customers: options.customers ?? 40,
      from: SMOKE_PERIOD.from,
      to: SMOKE_PERIOD.to,
      campaigns: 1,
      // A new sample each time: the same bytes again would be refused as a duplicate of a drop left behind.
      seed: now().getTime() % 1_000_000_007,
      dirty: 0,
      files: "monthly",
    });
    const sample = await sampleFiles(options.workDir);
    done(`${sample.files.length} files, ${sample.customers} customers`);

    // 3. drop
    begin("drop", `${sample.files.length} files into ${target.landing.location}`);
    for (const file of sample.files) {
      const key = `${file.dataset}/${SMOKE_FILE_PREFIX}${stamp}-${file.name}`;
      landed.push(key);
      await target.landing.putFile(key, file.path);
    }
    done(`dropped under ${SMOKE_FILE_PREFIX}${stamp}-*`);

    // 4. ingest
    const timeoutMs = options.ingestTimeoutMs ?? 10 * 60_000;
    begin("ingest", `waiting up to ${seconds(timeoutMs)} for the ledger to record ${landed.length} drops`);
    const sources = new Set(landed.map((key) => target.landing.uri(key)));
    let shown = -1;
    for (;;) {
      const rejected = await ownRejections(target.lake, sources);
      if (rejected.length > 0) {
        throw fail(
          "ingest",
          `ingest rejected ${rejected.map((r) => `${r.source} (${r.error_code}: ${r.error})`).join("; ")}`,
          "the ingest log (service crmlake-ingest) and docs/ingest.md; the sample is the generator's, so a rejection means the deployed ingest and this crmlake disagree (deploy this version)",
        );
      }
      const committed = (await readLedger(target.lake)).filter((r) => sources.has(r.source));
      if (committed.length !== shown) {
        shown = committed.length;
        log(
          `      ${committed.length} of ${landed.length} drops recorded (${seconds(clock() - stepStarted)})`,
        );
      }
      if (committed.length >= landed.length) break;
      if (clock() - stepStarted >= timeoutMs) {
        throw fail(
          "ingest",
          `${landed.length - committed.length} of ${landed.length} drops not recorded within ${seconds(timeoutMs)}`,
          "the ingest queue (IngestQueueUrl: messages waiting, their age), IngestDeadLetters, and the ingest log; docs/runbook.md, IngestQueueAge",
        );
      }
      await sleep(pollMs);
    }
    done("all drops recorded");

    // 5. score
    const runTimeoutMs = options.runTimeoutMs ?? 30 * 60_000;
    begin("score", `as of ${SMOKE_AS_OF}, waiting up to ${seconds(runTimeoutMs)}`);
    runId = (await target.rescore(SMOKE_AS_OF)).runId;
    log(`      run ${runId} started`);
    const outcome = await waitForRun(target.outputs, runId, {
      timeoutMs: runTimeoutMs,
      pollMs,
      ...(options.retryGraceMs === undefined ? {} : { retryGraceMs: options.retryGraceMs }),
      now: clock,
      sleep,
      onProgress: (line) => log(`      ${line}`),
    });
    if (outcome.kind !== "succeeded") {
      throw fail(
        "score",
        outcome.kind === "timeout"
          ? `run ${outcome.runId} did not end within ${seconds(runTimeoutMs)} (${outcome.record === undefined ? "no record yet" : runProgress(outcome.record)})`
          : `run ${outcome.record.run_id} ${outcome.kind}: ${outcome.record.error ?? "(no error recorded)"}`,
        "crmlake runs --stack NAME, the scoring log (docs/operations.md, Re-score a date) and ScoringDeadLetters",
      );
    }
    done(`run ${outcome.record.run_id} succeeded: ${outcome.record.models.length} models`);

    // 6. query
    begin("query", `${SMOKE_TABLE}: one row per sample customer, as of ${SMOKE_AS_OF}`);
    const sql = `SELECT CAST(as_of AS varchar) AS as_of, COUNT(*) AS customers, COUNT(DISTINCT customer_id) AS distinct_customers FROM ${SMOKE_TABLE} GROUP BY 1`;
    let answer: Awaited<ReturnType<SmokeTestTarget["query"]>>;
    try {
      answer = await target.query(sql);
    } catch (error) {
      throw fail(
        "query",
        `the query failed: ${errorMessage(error)}`,
        "that your principal may query the analysts' workgroup (AnalystWorkGroupName) and read the lake, and the Glue table customer_scores_latest",
        error,
      );
    }
    const rows = answer.rows.map((row) => ({
      asOf: String(row.as_of),
      customers: Number(row.customers),
      distinct: Number(row.distinct_customers),
    }));
    const ok =
      rows.length === 1 &&
      rows[0]?.asOf === SMOKE_AS_OF &&
      rows[0].customers === sample.customers &&
      rows[0].distinct === sample.customers;
    if (!ok) {
      throw fail(
        "query",
        `${SMOKE_TABLE} shows ${rows.length === 0 ? "no rows" : rows.map((r) => `${r.customers} rows (${r.distinct} customers) as of ${r.asOf}`).join(", ")}, not ${sample.customers} customers as of ${SMOKE_AS_OF}`,
        `crmlake runs --stack NAME (did another run publish meanwhile?) and where the Glue table ${SMOKE_TABLE} points`,
      );
    }
    const where = [
      answer.workGroup && `workgroup ${answer.workGroup}`,
      answer.queryExecutionId && `query ${answer.queryExecutionId}`,
    ]
      .filter(Boolean)
      .join(", ");
    done(`${sample.customers} customers as of ${SMOKE_AS_OF}${where === "" ? "" : ` (${where})`}`);
    result = { asOf: SMOKE_AS_OF, customers: sample.customers, drops: landed.length, runId };
  } catch (error) {
    failure = error;
  }

  // 7. clean: also after a failure, for whatever was added.
  begin("clean", "removing what the smoke test added");
  let leftBehind: string[];
  try {
    leftBehind = await cleanUp(target, {
      landed,
      runId,
      command: options.command,
      log: (l) => log(`      ${l}`),
    });
  } catch (error) {
    leftBehind = [
      `the clean-up failed (${errorMessage(error)}); run ${options.command} again once the lake is empty, or remove the ${SMOKE_FILE_PREFIX}${stamp} drops and as of ${SMOKE_AS_OF} by hand (docs/operations.md)`,
    ];
  }
  done(leftBehind.length === 0 ? "the lake is as it was" : `left behind: ${leftBehind.join("; ")}`);
  if (failure !== undefined) throw failure;
  if (result === undefined) throw new Error("smoke test ended without a result");
  return { ...result, durationMs: clock() - started, leftBehind };
}

/** Rejection records (ledger/rejected/) of the test's own files. */
async function ownRejections(lake: ObjectStore, sources: ReadonlySet<string>): Promise<LedgerRecord[]> {
  const found: LedgerRecord[] = [];
  for (const { key } of await lake.list("ledger/rejected/")) {
    const bytes = await lake.get(key);
    if (bytes === undefined) continue;
    try {
      const record = JSON.parse(Buffer.from(bytes).toString("utf8")) as LedgerRecord;
      if (sources.has(record.source)) found.push(record);
    } catch {
      // Not the test's: it writes none of these itself.
    }
  }
  return found;
}

/**
 * Removes what the test added, by keys derived from what it wrote (see the file's comment). Returns what it
 * left, one phrase each.
 */
async function cleanUp(
  target: SmokeTestTarget,
  state: {
    landed: readonly string[];
    runId: string | undefined;
    command: string;
    log: (line: string) => void;
  },
): Promise<string[]> {
  const { lake, landing, outputs } = target;
  const left: string[] = [];
  const sources = new Set(state.landed.map((key) => landing.uri(key)));

  // Model outputs: the as-of's partitions only when every run recorded for it is the test's own.
  if (state.runId !== undefined) {
    const own = new Set(eventRunIds(state.runId));
    const records = await outputs.listRunRecords();
    const others = records.filter((r) => r.as_of === SMOKE_AS_OF && !own.has(r.run_id));
    const ours = records.filter((r) => own.has(r.run_id));
    const published = (await outputs.publishedPartitions()).filter((p) => p.asOf === SMOKE_AS_OF);
    if (others.length > 0) {
      left.push(
        `as of ${SMOKE_AS_OF}, also published by ${others.map((r) => r.run_id).join(", ")} (not the test's): crmlake runs delete --as-of ${SMOKE_AS_OF} --stack NAME once you have looked`,
      );
    } else if (published.length > 0) {
      await deletePublishedAsOf(outputs, SMOKE_AS_OF, { command: state.command });
      state.log(
        `${published.length} partitions as of ${SMOKE_AS_OF} removed; the *_latest tables moved back`,
      );
    }
    const laterRuns = records.filter((r) => r.as_of !== SMOKE_AS_OF && !own.has(r.run_id));
    if (laterRuns.length > 0) {
      left.push(
        `runs ${laterRuns.map((r) => `${r.run_id} (as of ${r.as_of})`).join(", ")} ran while the sample was in the lake, so their outputs include it: crmlake runs delete --as-of <date> --stack NAME`,
      );
    }
    if (others.length === 0) {
      const keys: string[] = [];
      const modelKeys = (await lake.list(MODEL_LAYOUT.modelsPrefix)).map((o) => o.key);
      for (const id of own) {
        keys.push(...modelKeys.filter((k) => k.includes(`/run=${id}/`)));
        keys.push(MODEL_LAYOUT.runRecord(id), MODEL_LAYOUT.snapshotKey(id));
        for (const prefix of [MODEL_LAYOUT.stagingPrefix(id), `runs/manifests/${id}/`]) {
          keys.push(...(await lake.list(prefix)).map((o) => o.key));
        }
      }
      keys.push(...(await lake.list(EXPORT_LAYOUT.asOfPrefix(SMOKE_AS_OF))).map((o) => o.key));
      const latestManifest = await lake.get(EXPORT_LAYOUT.latestManifest);
      if (
        latestManifest !== undefined &&
        Buffer.from(latestManifest).toString("utf8").includes(`"${SMOKE_AS_OF}"`)
      ) {
        keys.push(...(await lake.list(EXPORT_LAYOUT.latestPrefix)).map((o) => o.key));
      }
      await lake.delete(keys);
      state.log(
        `${ours.length} run record${ours.length === 1 ? "" : "s"} and ${keys.length} run files removed`,
      );
    }
  }

  // Drops: the records whose source is a file the test landed, their files, content claims and retirements.
  const drops = (await readLedger(lake)).filter((r) => sources.has(r.source));
  const rejected = await ownRejections(lake, sources);
  const keys: string[] = [];
  for (const drop of drops) {
    keys.push(...drop.output_keys, LAKE.ledgerKey(drop.drop_id));
    keys.push(...(await lake.list(`${LAKE.retiredPrefix}${drop.drop_id}__`)).map((o) => o.key));
    const claimKey = LAKE.contentKey(drop.dataset, drop.content_sha256);
    const claim = await lake.get(claimKey);
    if (claim !== undefined && Buffer.from(claim).toString("utf8").includes(`"${drop.drop_id}"`))
      keys.push(claimKey);
  }
  keys.push(...rejected.map((r) => LAKE.rejectedKey(r.drop_id)));
  await lake.delete(keys);
  const datasets = [...new Set(drops.map((d) => d.dataset))];
  if (datasets.length > 0) await refreshManifests(lake, datasets);
  state.log(
    `${drops.length + rejected.length} drops and ${keys.length} ledger and data files removed; manifests rebuilt`,
  );

  // Drops that never reached the ledger (ingest still busy): their landing files go; ingest may still add them.
  const recorded = new Set([...drops, ...rejected].map((r) => r.source));
  const pending = state.landed.filter((key) => !recorded.has(landing.uri(key)));
  if (pending.length > 0) {
    left.push(
      `${pending.length} landed files had no drop record yet: ingest may still record them; run crmlake doctor --stack NAME and check the ledger for ${SMOKE_FILE_PREFIX}`,
    );
  }
  await landing.delete(state.landed);
  state.log(`${state.landed.length} landed files removed`);
  return left;
}
