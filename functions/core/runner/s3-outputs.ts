/**
 * ModelOutputs on S3 (docs/adr/0005-scoring-on-athena.md): the same layout and journal as the local
 * implementation (outputs.ts, MODEL_LAYOUT), with S3 operations in place of renames.
 *
 * 1. Athena writes every model of a run under runs/staging/<run_id>/<model>/as_of=<d>/; models/ does not change.
 * 2. publish lists the staged objects and writes the journal runs/staging/<run_id>/_publish.json (one PUT:
 *    it exists whole or not at all);
 * 3. copies every staged object to models/<model>/as_of=<d>/<same name>;
 * 4. deletes the objects of those partitions that the journal does not list (the previous run's files);
 * 5. deletes the staged objects, the journal last.
 * A run that dies before 2 leaves staging debris, which the next run's recover() deletes; one that dies in
 * 3–5 is rolled forward by the next run from the journal (copying is idempotent; a staged object that is
 * already gone was copied before step 5 began).
 *
 * Not atomic for readers: between the first copy and the last delete of step 4, a reader of one partition
 * can see old and new files together. ADR 0005 says what would make it atomic (a Glue partition swap).
 *
 * The lock is one object, runs/lock, created with PutObject `If-None-Match: *` (S3 conditional writes): S3
 * answers 412 to the second writer. A lock older than `staleLockMs` (its holder's Lambda is certainly dead)
 * is taken over with `If-Match: <its ETag>`, so of two runs taking over the same stale lock one wins.
 * Servers that ignore the conditions (s3rver) still get the read-before-write check, which is racy there.
 */
import { hostname } from "node:os";
import {
  CopyObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { S3ObjectStore } from "../../storage/s3.ts";
import { errorMessage, StorageError } from "../errors.ts";
import { RunLockedError } from "./errors.ts";
import { MODEL_LAYOUT } from "./layout.ts";
import type { ModelOutputs } from "./outputs.ts";
import type { RunRecord } from "./runs.ts";

/** A scoring Lambda runs at most 15 minutes; a lock twice that old has no living holder. */
export const DEFAULT_STALE_LOCK_MS = 30 * 60 * 1000;

const STAGING_ROOT = "runs/staging/";

export interface S3ModelOutputsOptions {
  readonly bucket: string;
  /** The lake's key prefix (`lake` and `lake/` are the same); empty means the bucket root. */
  readonly prefix?: string;
  readonly client: S3Client;
  /** A lock whose started_at is older than this is taken over (default 30 minutes). */
  readonly staleLockMs?: number;
  readonly now?: () => Date;
  /** ListObjectsV2 page size (tests use small pages to exercise pagination). */
  readonly pageSize?: number;
}

/** The publish journal, the same shape as the local one. */
export interface PublishJournal {
  readonly run_id: string;
  readonly as_of: string;
  /** Per model, the staged object names relative to `<staging table>as_of=<d>/`. */
  readonly partitions: readonly { readonly model: string; readonly files: readonly string[] }[];
}

export interface S3LockInfo {
  readonly run_id: string;
  readonly host: string;
  readonly started_at: string;
}

function isPreconditionFailure(error: unknown): boolean {
  if (!(error instanceof S3ServiceException)) return false;
  const status = error.$metadata.httpStatusCode;
  // 412: the object exists (If-None-Match) or changed (If-Match); 409: a concurrent conditional write won.
  return (
    status === 412 ||
    status === 409 ||
    error.name === "PreconditionFailed" ||
    error.name === "ConditionalRequestConflict"
  );
}

function isMissingKey(error: unknown): boolean {
  return (
    error instanceof S3ServiceException &&
    (error.name === "NoSuchKey" || (error.$metadata.httpStatusCode === 404 && error.name !== "NoSuchBucket"))
  );
}

function parseLock(text: string): S3LockInfo | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (
      typeof value === "object" &&
      value !== null &&
      "run_id" in value &&
      typeof value.run_id === "string" &&
      "host" in value &&
      typeof value.host === "string" &&
      "started_at" in value &&
      typeof value.started_at === "string"
    ) {
      return { run_id: value.run_id, host: value.host, started_at: value.started_at };
    }
  } catch {
    // An unreadable lock is reported as such below.
  }
  return undefined;
}

function parseJournal(text: string, where: string): PublishJournal {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new StorageError("bad_journal", `The publish journal ${where} is not valid JSON`, { cause: error });
  }
  if (
    typeof value === "object" &&
    value !== null &&
    "run_id" in value &&
    typeof value.run_id === "string" &&
    "as_of" in value &&
    typeof value.as_of === "string" &&
    "partitions" in value &&
    Array.isArray(value.partitions)
  ) {
    const partitions: { model: string; files: string[] }[] = [];
    for (const entry of value.partitions as unknown[]) {
      if (
        typeof entry === "object" &&
        entry !== null &&
        "model" in entry &&
        typeof entry.model === "string" &&
        "files" in entry &&
        Array.isArray(entry.files) &&
        entry.files.every((f: unknown) => typeof f === "string")
      ) {
        partitions.push({ model: entry.model, files: entry.files as string[] });
      } else {
        throw new StorageError("bad_journal", `The publish journal ${where} has a malformed partition entry`);
      }
    }
    return { run_id: value.run_id, as_of: value.as_of, partitions };
  }
  throw new StorageError(
    "bad_journal",
    `The publish journal ${where} lacks run_id, as_of or partitions; expected {"run_id", "as_of", "partitions": [{"model", "files"}]}`,
  );
}

/**
 * CopySource is `bucket/key`, URL-encoded; `/` stays a separator. `=` (in every `as_of=` segment) is left as
 * is: S3 reads it either way, and s3rver does not decode CopySource, so `%3D` would be a key it lacks.
 */
function copySource(bucket: string, key: string): string {
  const encoded = key
    .split("/")
    .map((segment) => encodeURIComponent(segment).replaceAll("%3D", "="))
    .join("/");
  return `${bucket}/${encoded}`;
}

export class S3ModelOutputs implements ModelOutputs {
  readonly location: string;
  readonly store: S3ObjectStore;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly client: S3Client;
  private readonly staleLockMs: number;
  private readonly now: () => Date;

  constructor(options: S3ModelOutputsOptions) {
    this.bucket = options.bucket;
    const trimmed = (options.prefix ?? "").replace(/^\/+|\/+$/g, "");
    this.prefix = trimmed === "" ? "" : `${trimmed}/`;
    this.client = options.client;
    this.staleLockMs = options.staleLockMs ?? DEFAULT_STALE_LOCK_MS;
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
    return this.uri(MODEL_LAYOUT.stagingTable(runId, model));
  }

  /** Deletes every object under an `s3://` location inside this lake (AthenaWarehouseOptions.clearLocation). */
  async clearLocation(location: string): Promise<void> {
    if (!location.startsWith(this.location)) {
      throw new StorageError(
        "outside_lake",
        `Refusing to clear ${location}: it is not under the lake ${this.location}`,
      );
    }
    await this.deletePrefix(location.slice(this.location.length));
  }

  async lock(runId: string): Promise<() => Promise<void>> {
    const key = MODEL_LAYOUT.lock;
    const info: S3LockInfo = { run_id: runId, host: hostname(), started_at: this.now().toISOString() };
    const body = JSON.stringify(info);
    const held = await this.readLock();
    let condition: { IfNoneMatch: string } | { IfMatch: string } = { IfNoneMatch: "*" };
    if (held !== undefined) {
      const started = held.info === undefined ? Number.NaN : Date.parse(held.info.started_at);
      const stale = Number.isFinite(started) && this.now().getTime() - started > this.staleLockMs;
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
      `Another run is using the lake ${this.location}: ${who}. Wait for it; a lock older than ${minutes} minutes is taken over, or delete ${this.uri(MODEL_LAYOUT.lock)} if that run is gone.`,
    );
  }

  async recover(): Promise<void> {
    const staged = await this.store.list(STAGING_ROOT);
    const runs = new Set<string>();
    for (const { key } of staged) {
      const runId = key.slice(STAGING_ROOT.length).split("/")[0];
      if (runId !== undefined && runId !== "") runs.add(runId);
    }
    for (const runId of [...runs].sort()) {
      const journalKey = MODEL_LAYOUT.publishJournal(runId);
      const bytes = await this.store.get(journalKey);
      if (bytes !== undefined) {
        await this.applyJournal(parseJournal(Buffer.from(bytes).toString("utf8"), this.uri(journalKey)));
      }
      await this.removeStaging(runId);
    }
  }

  async publish(runId: string, asOf: string, models: readonly string[]): Promise<void> {
    const partition = `${MODEL_LAYOUT.partitionDir(asOf)}/`;
    const partitions: { model: string; files: string[] }[] = [];
    for (const model of models) {
      const dir = `${MODEL_LAYOUT.stagingTable(runId, model)}${partition}`;
      const files = (await this.store.list(dir)).map((o) => o.key.slice(dir.length));
      partitions.push({ model, files });
    }
    const journal: PublishJournal = { run_id: runId, as_of: asOf, partitions };
    await this.store.put(MODEL_LAYOUT.publishJournal(runId), JSON.stringify(journal));
    await this.applyJournal(journal);
    await this.removeStaging(runId);
  }

  /**
   * Idempotent roll-forward: copies what is still staged, then deletes the partition's objects that the
   * journal does not list. A staged object that no longer exists was copied by an earlier attempt.
   */
  async applyJournal(journal: PublishJournal): Promise<void> {
    const partition = `${MODEL_LAYOUT.partitionDir(journal.as_of)}/`;
    for (const { model, files } of journal.partitions) {
      const staged = `${MODEL_LAYOUT.stagingTable(journal.run_id, model)}${partition}`;
      const target = `${MODEL_LAYOUT.modelPrefix(model)}${partition}`;
      for (const file of files) {
        await this.copy(staged + file, target + file);
      }
      const keep = new Set(files.map((f) => target + f));
      const stale = (await this.store.list(target)).map((o) => o.key).filter((k) => !keep.has(k));
      if (stale.length > 0) await this.store.delete(stale);
    }
  }

  private async copy(from: string, to: string): Promise<void> {
    try {
      await this.client.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key: this.prefix + to,
          CopySource: copySource(this.bucket, this.prefix + from),
        }),
      );
    } catch (error) {
      // Copied by an earlier attempt whose staged object was then deleted; anything else is lost data.
      if (isMissingKey(error) && (await this.exists(to))) return;
      throw new StorageError(
        "s3_error",
        `S3 CopyObject failed from ${this.uri(from)} to ${this.uri(to)}: ${errorMessage(error)}`,
        { cause: error },
      );
    }
  }

  private async exists(key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
      return true;
    } catch (error) {
      if (isMissingKey(error)) return false;
      throw new StorageError(
        "s3_error",
        `S3 HeadObject failed for ${this.uri(key)}: ${errorMessage(error)}`,
        {
          cause: error,
        },
      );
    }
  }

  async discard(runId: string): Promise<void> {
    await this.removeStaging(runId);
  }

  /** Deletes a run's staged objects, the journal last, so an interruption never strands a half-applied journal. */
  private async removeStaging(runId: string): Promise<void> {
    const journalKey = MODEL_LAYOUT.publishJournal(runId);
    const keys = (await this.store.list(MODEL_LAYOUT.stagingPrefix(runId))).map((o) => o.key);
    const data = keys.filter((k) => k !== journalKey);
    if (data.length > 0) await this.store.delete(data);
    if (keys.includes(journalKey)) await this.store.delete([journalKey]);
  }

  private async deletePrefix(prefix: string): Promise<void> {
    const keys = (await this.store.list(prefix)).map((o) => o.key);
    if (keys.length > 0) await this.store.delete(keys);
  }

  async writeRunRecord(record: RunRecord): Promise<void> {
    await this.store.put(MODEL_LAYOUT.runRecord(record.run_id), `${JSON.stringify(record)}\n`);
  }
}
