/**
 * ModelOutputs on S3 with Glue (docs/adr/0006-atomic-publish-and-resumable-runs.md). S3 has no rename, so a
 * run never overwrites published files; it publishes by moving a pointer:
 *
 * 1. Athena writes each model of a run under its own prefix, models/<model>/run=<run_id>/as_of=<d>/
 *    (MODEL_LAYOUT.runTable). Nothing a reader sees changes.
 * 2. publish writes the journal runs/staging/<run_id>/_publish.json (one PUT: whole or absent), listing
 *    each model's new partition location;
 * 3. points each model's Glue partition as_of=<d> at its new location (UpdatePartition, or CreatePartition
 *    for a new as_of). Athena resolves a partition's location when it plans a query: a reader of a model
 *    sees the previous run's files or this run's, never a mix, and the old files stay readable for queries
 *    already running;
 *    When this run's as-of is the greatest succeeded one (the run records say which; a re-score of an older
 *    date is not), the journal also lists the models whose `<model>_latest` table is to show it, and each is
 *    pointed at the same location with one UpdateTable (ADR 0014);
 * 4. deletes the journal, then sweeps: run partitions of these models that no Glue partition points at and
 *    whose files are older than `retiredGraceMs` (a day) are deleted. The grace outlives any query that resolved
 *    the old location, and a run waiting to be resumed. A latest table always points at a location some
 *    partition points at too, so the sweep spares what it shows.
 * A run that dies in 3 is rolled forward by the next run from the journal, latest tables included (pointing
 * is idempotent). A failed run's prefixes are deleted by discard; one that died without a word is swept after
 * the grace.
 *
 * Removing an as-of (`runs delete`, deletePublishedAsOf, and the retention sweep, runner/retention.ts) first
 * points each latest table at the greatest as-of the model keeps (or at the stack's placeholder), then
 * unregisters the partitions; their files are left to the sweep, marked retired like replaced ones.
 *
 * The lock is one object, runs/lock, created with PutObject `If-None-Match: *` (S3 conditional writes): S3
 * answers 412 to the second writer. A lock older than `staleLockMs` (its holder's Lambda is certainly dead)
 * is taken over with `If-Match: <its ETag>`, so of two runs taking over the same stale lock one wins. A lock
 * held under the same run id is taken over at once: that is the same run, invoked again to resume.
 * Servers that ignore the conditions (s3rver) still get the read-before-write check, which is racy there.
 */
import { hostname } from "node:os";
import { GetObjectCommand, PutObjectCommand, type S3Client, S3ServiceException } from "@aws-sdk/client-s3";
import { z } from "zod";
import { LATEST_TABLE } from "../core/catalogue/latest-tables.ts";
import { MODEL_LAYOUT } from "../core/catalogue/layout.ts";
import { errorMessage, RunLockedError, StorageError } from "../core/errors.ts";
import { type DeletableOutputs, isDataFile, type PublishedPartition } from "../core/ports/model-outputs.ts";
import { parseRunRecord, type RunRecord } from "../core/runner/runs.ts";
import { isPreconditionFailure, S3ObjectStore } from "./s3.ts";

/** A scoring Lambda runs at most 15 minutes; a lock twice that old has no living holder. */
export const DEFAULT_STALE_LOCK_MS = 30 * 60 * 1000;

/**
 * A lock held under the run's own id is taken over once it is older than this: a Lambda lives at most 15
 * minutes, so the holder is then a dead attempt of this run; a younger one is a duplicate delivery of the
 * same event still running, and is left alone.
 */
export const DEFAULT_SAME_RUN_TAKEOVER_MS = 15 * 60 * 1000;

/** The marker publish leaves in a run partition it replaced: the sweep's grace counts from it (ADR 0006). */
export const RETIRED_MARKER = "_retired";

/** Unreferenced run prefixes younger than this are kept (running queries, runs waiting to resume). */
export const DEFAULT_RETIRED_GRACE_MS = 24 * 60 * 60 * 1000;

const STAGING_ROOT = MODEL_LAYOUT.stagingRoot;

/** Where each published model's partitions point (GluePartitions, functions/storage/glue-partitions.ts). */
export interface ModelPartitions {
  /**
   * Points the partition `as_of=<asOf>` of each model's table at its location (idempotent), reads first and
   * writes back to back; returns where each pointed before.
   */
  pointAll(
    asOf: string,
    targets: readonly { readonly table: string; readonly location: string }[],
  ): Promise<
    readonly { readonly table: string; readonly previous: string | undefined; readonly location: string }[]
  >;
  /** Every location the table's partitions point at. */
  locations(table: string): Promise<string[]>;
  /** Every partition of the table: its as-of and where it points. */
  partitions(table: string): Promise<{ asOf: string; location: string }[]>;
  /** Whether the catalogue has a table of this name. */
  hasTable(table: string): Promise<boolean>;
  /** Unregisters the partition `as_of=<asOf>` of the table (its files stay); idempotent. */
  remove(table: string, asOf: string): Promise<void>;
  /**
   * Points `<model>_latest` at a partition location of the model and its as-of, or at its placeholder
   * (undefined), with one call; nothing when it points there already (ADR 0014).
   */
  pointLatest(
    model: string,
    target: { readonly asOf: string; readonly location: string } | undefined,
  ): Promise<unknown>;
  /** The as-of `<model>_latest` shows, or undefined at its placeholder (ADR 0014). */
  latestAsOf?(model: string): Promise<string | undefined>;
}

export interface S3ModelOutputsOptions {
  readonly bucket: string;
  /** The lake's key prefix (`lake` and `lake/` are the same); empty means the bucket root. */
  readonly prefix?: string;
  readonly client: S3Client;
  /** The catalogue whose partitions publish the models (the stack's Glue tables). */
  readonly partitions: ModelPartitions;
  /** Run prefixes no partition points at are deleted once their files are this old (default a day). */
  readonly retiredGraceMs?: number;
  /** A lock of the same run id older than this is taken over (default 15 minutes). */
  readonly sameRunTakeoverMs?: number;
  /** A lock whose started_at is older than this is taken over (default 30 minutes). */
  readonly staleLockMs?: number;
  readonly now?: () => Date;
  /** ListObjectsV2 page size (tests use small pages to exercise pagination). */
  readonly pageSize?: number;
}

/**
 * The publish journal: the partition location each model is to point at, and the models whose latest table is
 * to show it (this run's as-of is the greatest succeeded one; absent in journals written before ADR 0014).
 */
export interface PublishJournal {
  readonly run_id: string;
  readonly as_of: string;
  readonly partitions: readonly { readonly model: string; readonly location: string }[];
  readonly latest?: readonly string[];
}

export interface S3LockInfo {
  readonly run_id: string;
  readonly host: string;
  readonly started_at: string;
}

function isMissingKey(error: unknown): boolean {
  return (
    error instanceof S3ServiceException &&
    (error.name === "NoSuchKey" || (error.$metadata.httpStatusCode === 404 && error.name !== "NoSuchBucket"))
  );
}

const LOCK = z.object({ run_id: z.string(), host: z.string(), started_at: z.string() });

const JOURNAL = z.object({
  run_id: z.string(),
  as_of: z.string(),
  partitions: z.array(z.object({ model: z.string(), location: z.string() })),
  latest: z.array(z.string()).optional(),
});

/** JSON text, or undefined when it does not parse. */
function json(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The lock's holder, or undefined for an unreadable lock (reported as such by the caller). */
function parseLock(text: string): S3LockInfo | undefined {
  const parsed = LOCK.safeParse(json(text));
  return parsed.success ? parsed.data : undefined;
}

function parseJournal(text: string, where: string): PublishJournal {
  const value = json(text);
  if (value === undefined)
    throw new StorageError("bad_journal", `The publish journal ${where} is not valid JSON`);
  const parsed = JOURNAL.safeParse(value);
  if (parsed.success) return parsed.data;
  const entry = parsed.error.issues.some((issue) => issue.path[0] === "partitions" && issue.path.length > 1);
  throw new StorageError(
    "bad_journal",
    entry
      ? `The publish journal ${where} has a malformed partition entry`
      : `The publish journal ${where} lacks run_id, as_of or partitions; expected {"run_id", "as_of", "partitions": [{"model", "location"}]}`,
  );
}

export class S3ModelOutputs implements DeletableOutputs {
  readonly location: string;
  readonly store: S3ObjectStore;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly client: S3Client;
  private readonly partitions: ModelPartitions;
  private readonly retiredGraceMs: number;
  private readonly staleLockMs: number;
  private readonly sameRunTakeoverMs: number;
  private readonly now: () => Date;

  constructor(options: S3ModelOutputsOptions) {
    this.bucket = options.bucket;
    const trimmed = (options.prefix ?? "").replace(/^\/+|\/+$/g, "");
    this.prefix = trimmed === "" ? "" : `${trimmed}/`;
    this.client = options.client;
    this.partitions = options.partitions;
    this.retiredGraceMs = options.retiredGraceMs ?? DEFAULT_RETIRED_GRACE_MS;
    this.staleLockMs = options.staleLockMs ?? DEFAULT_STALE_LOCK_MS;
    this.sameRunTakeoverMs = options.sameRunTakeoverMs ?? DEFAULT_SAME_RUN_TAKEOVER_MS;
    this.now = options.now ?? (() => new Date());
    this.location = `s3://${this.bucket}/${this.prefix}`;
    this.store = new S3ObjectStore({
      bucket: this.bucket,
      prefix: this.prefix,
      client: this.client,
      ...(options.pageSize === undefined ? {} : { pageSize: options.pageSize }),
    });
  }

  private uri(key: string): string {
    return `${this.location}${key}`;
  }

  stagingTable(runId: string, model: string): string {
    return this.uri(MODEL_LAYOUT.runTable(runId, model));
  }

  /** Deletes every object under an `s3://` location inside this lake (AthenaWarehouseOptions.clearLocation). */
  async clearLocation(location: string): Promise<void> {
    await this.deletePrefix(this.lakeKey(location, "clear"));
  }

  async lock(runId: string): Promise<() => Promise<void>> {
    const key = MODEL_LAYOUT.lock;
    const info: S3LockInfo = { run_id: runId, host: hostname(), started_at: this.now().toISOString() };
    const body = JSON.stringify(info);
    const held = await this.readLock();
    let condition: { IfNoneMatch: string } | { IfMatch: string } = { IfNoneMatch: "*" };
    if (held !== undefined) {
      const started = held.info === undefined ? Number.NaN : Date.parse(held.info.started_at);
      const age = this.now().getTime() - started;
      const sameRun = held.info?.run_id === runId;
      const stale = Number.isFinite(started) && age > (sameRun ? this.sameRunTakeoverMs : this.staleLockMs);
      if (sameRun && !stale) {
        throw new RunLockedError(
          "run_in_progress",
          `Run ${runId} is already running (lock taken ${held.info?.started_at} on ${held.info?.host}): this invocation is a duplicate and does nothing`,
        );
      }
      if (!stale || held.etag === undefined) throw this.locked(held.info);
      // Compare-and-swap on the stale lock's ETag: of two runs taking it over, exactly one succeeds.
      condition = { IfMatch: held.etag };
    }
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.prefix + key,
          Body: body,
          ContentType: "application/json",
          ...condition,
        }),
      );
    } catch (error) {
      if (isPreconditionFailure(error)) throw this.locked((await this.readLock())?.info);
      throw new StorageError(
        "s3_error",
        `S3 PutObject failed for the run lock ${this.uri(key)}: ${errorMessage(error)}`,
        { cause: error },
      );
    }
    return async () => {
      // Delete only our own lock: a run that outlived staleLockMs may have lost it to another run.
      const current = await this.readLock();
      if (current?.info?.run_id === runId) await this.store.delete([key]);
    };
  }

  private async readLock(): Promise<{ info: S3LockInfo | undefined; etag: string | undefined } | undefined> {
    try {
      const response = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + MODEL_LAYOUT.lock }),
      );
      const text = response.Body === undefined ? "" : await response.Body.transformToString("utf8");
      return { info: parseLock(text), etag: response.ETag };
    } catch (error) {
      if (isMissingKey(error)) return undefined;
      throw new StorageError(
        "s3_error",
        `S3 GetObject failed for the run lock ${this.uri(MODEL_LAYOUT.lock)}: ${errorMessage(error)}`,
        { cause: error },
      );
    }
  }

  private locked(holder: S3LockInfo | undefined): RunLockedError {
    const who =
      holder === undefined
        ? "an unreadable lock object"
        : `run ${holder.run_id} (on ${holder.host}, started ${holder.started_at})`;
    const minutes = Math.round(this.staleLockMs / 60_000);
    return new RunLockedError(
      "run_locked",
      `Another run is using the lake ${this.location}: ${who}. Wait for it; a lock older than ${minutes} minutes is taken over, or remove it with crmlake runs unlock --stack NAME if that run is gone (it refuses a lock under 15 minutes old).`,
    );
  }

  async recover(currentRunId: string): Promise<void> {
    const staged = await this.store.list(STAGING_ROOT);
    const runs = new Set<string>();
    for (const { key } of staged) {
      const runId = key.slice(STAGING_ROOT.length).split("/")[0];
      if (runId !== undefined && runId !== "" && runId !== currentRunId) runs.add(runId);
    }
    for (const runId of [...runs].sort()) {
      const journalKey = MODEL_LAYOUT.publishJournal(runId);
      const bytes = await this.store.get(journalKey);
      if (bytes !== undefined) {
        try {
          await this.applyJournal(parseJournal(Buffer.from(bytes).toString("utf8"), this.uri(journalKey)));
        } catch (error) {
          if (!(error instanceof StorageError) || !["bad_journal", "no_model_table"].includes(error.code))
            throw error;
          throw new StorageError(
            error.code,
            `${error.message}. Every run first finishes the interrupted publish of run ${runId}; fix ${this.uri(journalKey)}, or delete it to give that publish up (the run's files stay under models/<model>/run=${runId}/ until the sweep).`,
            { cause: error },
          );
        }
      }
      await this.deletePrefix(MODEL_LAYOUT.stagingPrefix(runId));
    }
  }

  async publish(runId: string, asOf: string, models: readonly string[]): Promise<void> {
    const partition = `${MODEL_LAYOUT.partitionDir(asOf)}/`;
    const journal: PublishJournal = {
      run_id: runId,
      as_of: asOf,
      partitions: models.map((model) => ({
        model,
        location: `${this.stagingTable(runId, model)}${partition}`,
      })),
      latest: (await this.isLatest(runId, asOf)) ? [...models] : [],
    };
    const journalKey = MODEL_LAYOUT.publishJournal(runId);
    await this.store.put(journalKey, JSON.stringify(journal));
    await this.applyJournal(journal);
    await this.store.delete([journalKey]);
    await this.sweep(models, runId);
  }

  /**
   * Whether a run as of `asOf` shows in the latest tables: no other run that succeeded is as of a later date
   * (the run records; a run as of the same date replaces that date's partitions, so it does too).
   */
  private async isLatest(runId: string, asOf: string): Promise<boolean> {
    const greatest = (await this.listRunRecords())
      .filter((r) => r.status === "succeeded" && r.run_id !== runId)
      .reduce<string | undefined>(
        (max, r) => (max === undefined || r.as_of > max ? r.as_of : max),
        undefined,
      );
    return greatest === undefined || asOf >= greatest;
  }

  /**
   * Idempotent roll-forward: points every partition of the journal at its location, then the latest table of
   * each model the journal lists at the same location.
   */
  async applyJournal(journal: PublishJournal): Promise<void> {
    for (const { model, location } of journal.partitions) {
      if (!location.startsWith(this.uri(MODEL_LAYOUT.modelPrefix(model)))) {
        throw new StorageError(
          "bad_journal",
          `The publish journal of run ${journal.run_id} points ${model} at ${location}, outside ${this.uri(MODEL_LAYOUT.modelPrefix(model))}`,
        );
      }
    }
    const latest = (journal.latest ?? []).map((model) => {
      const entry = journal.partitions.find((p) => p.model === model);
      if (entry === undefined) {
        throw new StorageError(
          "bad_journal",
          `The publish journal of run ${journal.run_id} moves the latest table of ${model}, which it does not publish`,
        );
      }
      return entry;
    });
    const changes = await this.partitions.pointAll(
      journal.as_of,
      journal.partitions.map(({ model, location }) => ({ table: model, location })),
    );
    // The grace period of a replaced run partition starts now, not when its files were written.
    for (const { previous, location } of changes) {
      if (previous !== undefined && previous !== location && previous.startsWith(this.location)) {
        await this.store.put(`${previous.slice(this.location.length)}${RETIRED_MARKER}`, "");
      }
    }
    for (const { model, location } of latest) {
      await this.partitions.pointLatest(model, { asOf: journal.as_of, location });
    }
  }

  /** The models with files under models/ that the catalogue still has a table for. */
  private async publishedModels(): Promise<string[]> {
    const models = new Set<string>();
    for (const { key } of await this.store.list(MODEL_LAYOUT.modelsPrefix)) {
      const [, model = ""] = key.split("/");
      if (model !== "") models.add(model);
    }
    const out: string[] = [];
    for (const model of [...models].sort()) if (await this.partitions.hasTable(model)) out.push(model);
    return out;
  }

  /** Every registered as-of partition of every model (`runs delete`, deletePublishedAsOf). */
  async publishedPartitions(): Promise<PublishedPartition[]> {
    const out: PublishedPartition[] = [];
    for (const model of await this.publishedModels()) {
      for (const { asOf } of await this.partitions.partitions(model)) out.push({ model, asOf });
    }
    return out;
  }

  /**
   * Points each model's latest table at the greatest as-of the model publishes besides `asOf`, or at the
   * placeholder when it publishes no other: before `asOf` is removed, so a reader of a latest table never
   * finds its partition gone.
   */
  async moveLatestFrom(asOf: string): Promise<void> {
    for (const model of await this.publishedModels()) {
      const kept = (await this.partitions.partitions(model))
        .filter((p) => p.asOf !== asOf)
        .sort((a, b) => (a.asOf < b.asOf ? -1 : a.asOf > b.asOf ? 1 : 0))
        .at(-1);
      await this.partitions.pointLatest(model, kept);
    }
  }

  /**
   * Re-points each latest table of `models` that does not show its model's greatest succeeded as-of (ADR 0014,
   * "Repaired by every run"): the greatest as-of of a succeeded run record in which the model succeeded, this
   * run's `asOf` included (its record is written succeeded after this), pointed at that as-of's registered
   * partition. One GetPartitions and one GetTable per model; an UpdateTable only for a table that shows
   * something else (a deploy reset it to its placeholder). An as-of without a registered partition is left.
   */
  async repairLatest(runId: string, asOf: string, models: readonly string[]): Promise<string[]> {
    const records = (await this.listRunRecords()).filter(
      (r) => r.status === "succeeded" && r.run_id !== runId,
    );
    const repaired: string[] = [];
    for (const model of models) {
      let target = asOf;
      for (const r of records) {
        if (r.as_of > target && r.models.some((m) => m.model === model && m.status === "succeeded")) {
          target = r.as_of;
        }
      }
      const location = (await this.partitions.partitions(model)).find((p) => p.asOf === target)?.location;
      if (location === undefined) continue;
      const previous = (await this.partitions.pointLatest(model, { asOf: target, location })) as
        | { readonly asOf?: unknown; readonly template?: unknown }
        | undefined;
      if (previous?.asOf !== target || previous?.template !== LATEST_TABLE.template(location, target)) {
        repaired.push(`${LATEST_TABLE.name(model)} → ${target}`);
      }
    }
    return repaired;
  }

  /** The as-of each model's latest table shows (the retention sweep keeps them). */
  async latestAsOfs(): Promise<ReadonlyMap<string, string>> {
    const latest = new Map<string, string>();
    if (this.partitions.latestAsOf === undefined) return latest;
    for (const model of await this.publishedModels()) {
      const asOf = await this.partitions.latestAsOf(model);
      if (asOf !== undefined) latest.set(model, asOf);
    }
    return latest;
  }

  /**
   * Unregisters the partition; its files are marked retired, so the sweep of a later publish deletes them
   * once the grace period has passed (a query may have planned against them).
   */
  async deletePartition({ model, asOf }: PublishedPartition): Promise<void> {
    const location = (await this.partitions.partitions(model)).find((p) => p.asOf === asOf)?.location;
    await this.partitions.remove(model, asOf);
    if (location?.startsWith(this.location)) {
      await this.store.put(`${location.slice(this.location.length)}${RETIRED_MARKER}`, "");
    }
  }

  /**
   * Deletes the run partitions (`models/<model>/run=<id>/as_of=<d>/`) of `models` that no Glue partition
   * points at and whose newest file is older than the grace period; the current run's are kept whatever
   * their age. Returns the deleted prefixes.
   */
  async sweep(models: readonly string[], currentRunId: string): Promise<string[]> {
    const cutoff = this.now().getTime() - this.retiredGraceMs;
    const deleted: string[] = [];
    for (const model of models) {
      const root = MODEL_LAYOUT.modelPrefix(model);
      const referenced = await this.partitions.locations(model);
      const byRun = new Map<string, { keys: string[]; newest: number }>();
      for (const object of await this.store.list(root)) {
        // One run's one partition, models/<model>/run=<id>/as_of=<d>/, is what a partition points at.
        const [run = "", partition = ""] = object.key.slice(root.length).split("/");
        if (!run.startsWith("run=") || run === `run=${currentRunId}` || !partition.startsWith("as_of=")) {
          continue;
        }
        const prefix = `${root}${run}/${partition}/`;
        const entry = byRun.get(prefix) ?? { keys: [], newest: Number.NEGATIVE_INFINITY };
        entry.keys.push(object.key);
        // Unknown age counts as new: never delete what might be read.
        entry.newest = Math.max(entry.newest, object.lastModified?.getTime() ?? Number.POSITIVE_INFINITY);
        byRun.set(prefix, entry);
      }
      for (const [prefix, { keys, newest }] of byRun) {
        const uri = this.uri(prefix);
        if (newest > cutoff || referenced.some((location) => location.startsWith(uri))) continue;
        await this.store.delete(keys);
        deleted.push(prefix);
      }
    }
    return deleted;
  }

  /** Deletes a failed run's files (its run table in every model) and its journal, if any. */
  async discard(runId: string): Promise<void> {
    const segment = `run=${runId}`;
    const byModel = new Map<string, string[]>();
    for (const { key } of await this.store.list(MODEL_LAYOUT.modelsPrefix)) {
      const [, model = "", run] = key.split("/");
      if (run === segment) byModel.set(model, [...(byModel.get(model) ?? []), key]);
    }
    for (const [model, keys] of byModel) {
      // Never what a partition points at: a run that failed after publishing keeps what readers read.
      const published = (await this.partitions.locations(model))
        .filter((l) => l.startsWith(this.location))
        .map((l) => l.slice(this.location.length));
      const doomed = keys.filter((key) => !published.some((prefix) => key.startsWith(prefix)));
      if (doomed.length > 0) await this.store.delete(doomed);
    }
    await this.deletePrefix(MODEL_LAYOUT.stagingPrefix(runId));
  }

  /** Empties a model's run table, unless a Glue partition points into it (then readers read it). */
  async clearTable(runId: string, model: string): Promise<void> {
    const table = MODEL_LAYOUT.runTable(runId, model);
    const published = (await this.partitions.locations(model)).find((l) => l.startsWith(this.uri(table)));
    if (published !== undefined) {
      throw new StorageError(
        "published_files",
        `Refusing to clear ${this.uri(table)}: the Glue table ${model} publishes ${published} from it`,
      );
    }
    await this.deletePrefix(table);
  }

  private async deletePrefix(prefix: string): Promise<void> {
    const keys = (await this.store.list(prefix)).map((o) => o.key);
    if (keys.length > 0) await this.store.delete(keys);
  }

  async writeRunRecord(record: RunRecord): Promise<void> {
    await this.store.put(MODEL_LAYOUT.runRecord(record.run_id), `${JSON.stringify(record)}\n`);
  }

  async readRunRecord(runId: string): Promise<RunRecord | undefined> {
    const bytes = await this.store.get(MODEL_LAYOUT.runRecord(runId));
    return bytes === undefined
      ? undefined
      : parseRunRecord(Buffer.from(bytes).toString("utf8"), this.uri(MODEL_LAYOUT.runRecord(runId)));
  }

  /** Every run record under runs/log/ (one GET each): what the drift notes of a run compare with. */
  async listRunRecords(): Promise<RunRecord[]> {
    const records: RunRecord[] = [];
    for (const { key } of await this.store.list(MODEL_LAYOUT.runLogPrefix)) {
      if (!key.endsWith(".json")) continue;
      const bytes = await this.store.get(key);
      if (bytes !== undefined)
        records.push(parseRunRecord(Buffer.from(bytes).toString("utf8"), this.uri(key)));
    }
    return records;
  }

  async listTableFiles(location: string): Promise<string[]> {
    const prefix = this.lakeKey(location, "list");
    const directory = prefix.endsWith("/") ? prefix : `${prefix}/`;
    return (await this.store.list(directory))
      .map((o) => o.key)
      .filter((key) => !key.slice(directory.length).includes("/") && isDataFile(key.slice(directory.length)))
      .map((key) => this.uri(key));
  }

  async readObject(location: string): Promise<Uint8Array> {
    const bytes = await this.store.get(this.lakeKey(location, "read"));
    if (bytes === undefined) throw new StorageError("missing_object", `${location} does not exist`);
    return bytes;
  }

  async writeObject(location: string, bytes: Uint8Array): Promise<void> {
    await this.store.put(this.lakeKey(location, "write"), bytes);
  }

  /** The key of an `s3://` location inside this lake; a location elsewhere is refused. */
  private lakeKey(location: string, action: string): string {
    if (!location.startsWith(this.location)) {
      throw new StorageError(
        "outside_lake",
        `Refusing to ${action} ${location}: it is not under the lake ${this.location}`,
      );
    }
    return location.slice(this.location.length);
  }
}
