import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { optionalEnv } from "../core/env.ts";
import { StorageError } from "../core/errors.ts";
import type { ObjectInfo, ObjectStore, TaggedObject, WriteCondition } from "../core/ports/object-store.ts";

/** S3 accepts at most this many keys in one DeleteObjects request. */
const DELETE_BATCH = 1000;
/** 8 MiB parts: 8× fewer requests than the 5 MiB minimum, still well inside the 10,000-part limit (80 GB). */
const PART_SIZE = 8 * 1024 * 1024;
/** Parts in flight; lib-storage buffers up to queueSize × partSize (32 MiB) in memory. */
const QUEUE_SIZE = 4;
/** How many per-key failures a DeleteObjects error spells out before summarising the rest. */
const MAX_REPORTED_ERRORS = 10;

export interface S3ObjectStoreOptions {
  readonly bucket: string;
  /** Key prefix the store is rooted at (`lake` and `lake/` are the same); empty means the bucket root. */
  readonly prefix?: string;
  /** Defaults to `s3ClientFromEnv()`. */
  readonly client?: S3Client;
  /** ListObjectsV2 MaxKeys; S3 caps (and defaults) it at 1000. Small values exercise pagination in tests. */
  readonly pageSize?: number;
}

export interface S3Location {
  readonly bucket: string;
  readonly key: string;
}

export interface S3ClientOptions {
  /** A custom endpoint (MinIO, s3rver, LocalStack, …); unset means AWS S3. */
  readonly endpoint?: string;
  readonly region?: string;
  readonly credentials?: S3ClientConfig["credentials"];
}

/**
 * Builds an S3 client. With a custom endpoint it switches to path-style addressing, because local and
 * third-party servers rarely resolve `bucket.host` virtual-host names.
 *
 * It also sets checksums to WHEN_REQUIRED, for custom endpoints only. Since @aws-sdk/client-s3 3.729 the
 * SDK adds a CRC32 checksum to every upload it can (an `x-amz-checksum-crc32` header for buffers, a
 * trailer in an `aws-chunked` body for streams, ChecksumAlgorithm on multipart uploads) and validates
 * checksums in responses. Many S3-compatible servers predate that: some reject the headers, others
 * store the chunk framing as if it were data (s3rver 3.7 saved a streamed "hello" PutObject as
 * `5\r\nhello\r\n0\r\nx-amz-checksum-crc32:…`). AWS S3 supports the checksums, so they stay on there.
 */
export function createS3Client(options: S3ClientOptions = {}): S3Client {
  const config: S3ClientConfig = {};
  if (options.region !== undefined) config.region = options.region;
  if (options.credentials !== undefined) config.credentials = options.credentials;
  if (options.endpoint !== undefined && options.endpoint !== "") {
    config.endpoint = options.endpoint;
    config.forcePathStyle = true;
    config.requestChecksumCalculation = "WHEN_REQUIRED";
    config.responseChecksumValidation = "WHEN_REQUIRED";
  }
  return new S3Client(config);
}

/**
 * The client the Lambdas and the CLI use: AWS S3, or the server named by `CRMLAKE_S3_ENDPOINT`. Call it
 * once at module scope (STYLE.md), so the environment is read once and the connection pool is reused.
 */
export function s3ClientFromEnv(): S3Client {
  const endpoint = optionalEnv("CRMLAKE_S3_ENDPOINT", "");
  if (endpoint === "") return createS3Client();
  // Local servers ignore the region, but the SDK refuses to sign without one; a laptop rarely sets it.
  return createS3Client({ endpoint, region: optionalEnv("AWS_REGION", "us-east-1") });
}

/** Splits `s3://bucket/key/parts` into bucket and key (the key may be empty: `s3://bucket`). */
export function parseS3Uri(uri: string): S3Location {
  const match = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(uri);
  const bucket = match?.[1];
  if (match === null || bucket === undefined) {
    throw new StorageError("bad_uri", `"${uri}" is not an S3 URI; expected s3://bucket/key`);
  }
  return { bucket, key: match[2] ?? "" };
}

/**
 * An ObjectStore on an S3 bucket (or any S3-compatible server). Keys are relative to `prefix`. S3 writes
 * are atomic per object, so unlike the local store nothing goes through a temporary key.
 */
export class S3ObjectStore implements ObjectStore {
  readonly location: string;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly client: S3Client;
  private readonly pageSize: number | undefined;

  constructor(options: S3ObjectStoreOptions) {
    const trimmed = (options.prefix ?? "").replace(/^\/+|\/+$/g, "");
    this.bucket = options.bucket;
    this.prefix = trimmed === "" ? "" : `${trimmed}/`;
    this.location = trimmed === "" ? `s3://${options.bucket}` : `s3://${options.bucket}/${trimmed}`;
    this.client = options.client ?? s3ClientFromEnv();
    this.pageSize = options.pageSize;
  }

  private fullKey(key: string): string {
    return `${this.prefix}${key}`;
  }

  uri(key: string): string {
    return `s3://${this.bucket}/${this.fullKey(key)}`;
  }

  async put(key: string, body: string | Uint8Array): Promise<void> {
    try {
      await this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key), Body: body }),
      );
    } catch (error) {
      throw this.failure("PutObject", this.uri(key), error);
    }
  }

  async putFile(key: string, localPath: string): Promise<void> {
    // lib-storage sizes the upload with a synchronous stat of the stream's path; a missing file would
    // surface as a bare ENOENT from inside the SDK, so check first and name both ends.
    try {
      await stat(localPath);
    } catch (error) {
      throw new StorageError(
        "not_found",
        `Cannot upload "${localPath}" to ${this.uri(key)}: file not found`,
        {
          cause: error,
        },
      );
    }
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: this.fullKey(key), Body: createReadStream(localPath) },
      partSize: PART_SIZE,
      queueSize: QUEUE_SIZE,
    });
    try {
      await upload.done();
    } catch (error) {
      throw this.failure("Upload", this.uri(key), error);
    }
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const response = await this.getObject(key);
    if (response === undefined) return undefined;
    try {
      return await this.body(response, key).transformToByteArray();
    } catch (error) {
      throw this.failure("GetObject", this.uri(key), error);
    }
  }

  async getTagged(key: string): Promise<TaggedObject | undefined> {
    const response = await this.getObject(key);
    if (response === undefined) return undefined;
    if (response.ETag === undefined) {
      throw new StorageError("s3_error", `GetObject ${this.uri(key)} returned no ETag`);
    }
    try {
      return { body: await this.body(response, key).transformToByteArray(), etag: response.ETag };
    } catch (error) {
      throw this.failure("GetObject", this.uri(key), error);
    }
  }

  /**
   * PutObject with `If-None-Match: *` or `If-Match: <etag>` (S3 conditional writes): S3 answers 412 to the
   * writer whose condition no longer holds, and 409 to one that lost a concurrent conditional write; both
   * mean "another writer won" here. Servers that ignore the headers (s3rver) make this an ordinary PUT: the
   * moto tier is where the races are tested.
   */
  async putIf(
    key: string,
    body: string | Uint8Array,
    condition: WriteCondition,
  ): Promise<string | undefined> {
    try {
      const response = await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.fullKey(key),
          Body: body,
          ...("ifNoneMatch" in condition ? { IfNoneMatch: "*" } : { IfMatch: condition.ifMatch }),
        }),
      );
      if (response.ETag === undefined) {
        throw new StorageError("s3_error", `PutObject ${this.uri(key)} returned no ETag`);
      }
      return response.ETag;
    } catch (error) {
      // S3 answers If-Match on a key that does not exist with 404 NoSuchKey: the tag read is gone too.
      if (isPreconditionFailure(error) || ("ifMatch" in condition && isMissingKey(error))) return undefined;
      throw this.failure("PutObject", this.uri(key), error);
    }
  }

  async getToFile(key: string, localPath: string): Promise<void> {
    const response = await this.getObject(key);
    if (response === undefined) {
      throw new StorageError(
        "not_found",
        `Object "${key}" does not exist in ${this.location} (${this.uri(key)})`,
      );
    }
    const body = this.body(response, key);
    if (!(body instanceof Readable)) {
      throw new StorageError(
        "s3_error",
        `GetObject ${this.uri(key)} returned a body that is not a Node stream`,
      );
    }
    await mkdir(dirname(localPath), { recursive: true });
    // Download to a sibling and rename, so a dropped connection never leaves a truncated file that a
    // later step (DuckDB reading /tmp) would take for the whole object.
    const tmp = `${localPath}.tmp-${process.pid}-${Date.now()}`;
    try {
      await pipeline(body, createWriteStream(tmp));
      await rename(tmp, localPath);
    } catch (error) {
      await rm(tmp, { force: true });
      throw this.failure("GetObject", this.uri(key), error);
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    let token: string | undefined;
    do {
      let page: ListObjectsV2CommandOutput;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.fullKey(prefix),
            ContinuationToken: token,
            MaxKeys: this.pageSize,
          }),
        );
      } catch (error) {
        throw this.failure("ListObjectsV2", `${this.uri(prefix)}*`, error);
      }
      for (const object of page.Contents ?? []) {
        if (object.Key === undefined || !object.Key.startsWith(this.prefix)) continue;
        out.push({
          key: object.Key.slice(this.prefix.length),
          size: object.Size ?? 0,
          ...(object.LastModified === undefined ? {} : { lastModified: object.LastModified }),
        });
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    // S3 already returns UTF-8 byte order; sort by JS string order anyway so both adapters agree exactly.
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (let start = 0; start < keys.length; start += DELETE_BATCH) {
      const batch = keys.slice(start, start + DELETE_BATCH);
      let errors: { Key?: string; Code?: string; Message?: string }[];
      try {
        const response = await this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            // Quiet: the response lists only failures, not the (up to 1000) keys that were deleted.
            Delete: { Objects: batch.map((key) => ({ Key: this.fullKey(key) })), Quiet: true },
          }),
        );
        errors = response.Errors ?? [];
      } catch (error) {
        throw this.failure(
          "DeleteObjects",
          `${this.location} (${batch.length} keys from "${batch[0]}")`,
          error,
        );
      }
      // DeleteObjects answers 200 even when keys fail (AccessDenied, …); the failures are in the body.
      if (errors.length > 0) {
        const shown = errors
          .slice(0, MAX_REPORTED_ERRORS)
          .map((e) => `${e.Key ?? "?"}: ${e.Code ?? "Error"} ${e.Message ?? ""}`.trim());
        const more =
          errors.length > MAX_REPORTED_ERRORS ? `; and ${errors.length - MAX_REPORTED_ERRORS} more` : "";
        throw new StorageError(
          "delete_failed",
          `DeleteObjects in s3://${this.bucket} failed for ${errors.length} of ${batch.length} keys: ${shown.join("; ")}${more}`,
        );
      }
    }
  }

  /** GetObject, or undefined when the key does not exist (a missing bucket is still an error). */
  private async getObject(key: string): Promise<GetObjectCommandOutput | undefined> {
    try {
      return await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }));
    } catch (error) {
      if (isMissingKey(error)) return undefined;
      throw this.failure("GetObject", this.uri(key), error);
    }
  }

  private body(response: GetObjectCommandOutput, key: string): NonNullable<GetObjectCommandOutput["Body"]> {
    if (response.Body === undefined) {
      throw new StorageError("s3_error", `GetObject ${this.uri(key)} returned no body`);
    }
    return response.Body;
  }

  /** Wraps an SDK error; the message names the operation, the bucket and key (`where`) and AWS's text. */
  private failure(operation: string, where: string, error: unknown): StorageError {
    if (error instanceof StorageError) return error;
    if (error instanceof S3ServiceException) {
      return new StorageError(
        codeOf(error),
        `S3 ${operation} failed for ${where}: ${error.name}: ${error.message}`,
        { cause: error },
      );
    }
    const message = error instanceof Error ? error.message : String(error);
    return new StorageError("s3_error", `S3 ${operation} failed for ${where}: ${message}`, { cause: error });
  }
}

/** 412: the object exists (If-None-Match) or changed (If-Match); 409: a concurrent conditional write won. */
export function isPreconditionFailure(error: unknown): boolean {
  if (!(error instanceof S3ServiceException)) return false;
  const status = error.$metadata.httpStatusCode;
  return (
    status === 412 ||
    status === 409 ||
    error.name === "PreconditionFailed" ||
    error.name === "ConditionalRequestConflict"
  );
}

function isMissingKey(error: unknown): boolean {
  if (!(error instanceof S3ServiceException)) return false;
  if (error.name === "NoSuchKey") return true;
  // Some servers answer a bare 404 without an error body; a missing bucket must not read as a missing key.
  return error.$metadata.httpStatusCode === 404 && error.name !== "NoSuchBucket";
}

const CODES: Readonly<Record<string, string>> = {
  NoSuchKey: "not_found",
  NoSuchBucket: "no_such_bucket",
  AccessDenied: "access_denied",
  InvalidAccessKeyId: "access_denied",
  SignatureDoesNotMatch: "access_denied",
  SlowDown: "throttled",
};

function codeOf(error: S3ServiceException): string {
  return CODES[error.name] ?? "s3_error";
}
