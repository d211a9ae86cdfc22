import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type DeleteObjectsOutput,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { StorageError } from "../../functions/core/errors.ts";
import type { ObjectStore } from "../../functions/core/ports/object-store.ts";
import { LocalObjectStore } from "../../functions/storage/local.ts";
import { parseS3Uri, S3ObjectStore, s3ClientFromEnv } from "../../functions/storage/s3.ts";
import { conditionalWriteContract } from "../helpers/conditional-writes.ts";
import { type S3TestServer, s3rverClient, startS3Server } from "../helpers/s3-server.ts";

const BUCKET = "crmlake-test";
const MiB = 1024 * 1024;
/** Bigger than two 8 MiB parts, so putFile needs three parts (8 + 8 + 4 MiB). */
const BIG_FILE_SIZE = 20 * MiB;

const text = (bytes: Uint8Array | undefined): string | undefined =>
  bytes === undefined ? undefined : Buffer.from(bytes).toString("utf8");
const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

// Local files shared by every suite: a big random file for multipart uploads, and room for downloads.
let scratch = "";
let bigFile = "";
let bigFileSha = "";
let scratchCounter = 0;
const scratchPath = (name: string): string => join(scratch, `${++scratchCounter}-${name}`);

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "crmlake-s3-store-"));
  bigFile = join(scratch, "big.bin");
  // Random bytes: a part boundary off by one, or parts reassembled out of order, changes the hash.
  const bytes = randomBytes(BIG_FILE_SIZE);
  bigFileSha = sha256(bytes);
  await writeFile(bigFile, bytes);
});

afterAll(async () => {
  if (scratch !== "") await rm(scratch, { recursive: true, force: true });
});

interface Backend {
  /** A store rooted at `root` (a directory under the backend's base, or a key prefix in the bucket). */
  open(root: string): ObjectStore;
  teardown(): Promise<void>;
}

interface Adapter {
  readonly name: string;
  setup(): Promise<Backend>;
}

const adapters: readonly Adapter[] = [
  {
    name: "LocalObjectStore",
    async setup() {
      const base = await mkdtemp(join(tmpdir(), "crmlake-local-store-"));
      return {
        open: (root) => new LocalObjectStore(join(base, ...root.split("/"))),
        teardown: () => rm(base, { recursive: true, force: true }),
      };
    },
  },
  {
    name: "S3ObjectStore on s3rver",
    async setup() {
      const server = await startS3Server([BUCKET]);
      return {
        // pageSize 10: every list in the contract suite crosses page boundaries on S3.
        open: (root) =>
          new S3ObjectStore({ bucket: BUCKET, prefix: root, client: server.client, pageSize: 10 }),
        teardown: () => server.stop(),
      };
    },
  },
];

describe.each(adapters)("$name honours the ObjectStore contract", (adapter) => {
  let backend: Backend | undefined;
  let rootCounter = 0;

  beforeAll(async () => {
    backend = await adapter.setup();
  });

  afterAll(async () => {
    await backend?.teardown();
  });

  /** A store in a root no other test uses, so tests neither see nor clobber each other's keys. */
  const freshRoot = (): string => `t${++rootCounter}`;
  const open = (root: string): ObjectStore => {
    if (backend === undefined) throw new Error(`${adapter.name} backend did not start`);
    return backend.open(root);
  };
  const freshStore = (): ObjectStore => open(freshRoot());

  it("put then get returns the same bytes, for text and binary bodies", async () => {
    const store = freshStore();
    const binary = new Uint8Array([0, 1, 2, 250, 255, 10, 13]);
    await store.put("docs/hello.txt", "héllo, lake");
    await store.put("docs/blob.bin", binary);
    expect(text(await store.get("docs/hello.txt"))).toBe("héllo, lake");
    expect(Buffer.from((await store.get("docs/blob.bin")) ?? [])).toEqual(Buffer.from(binary));
  });

  it("put replaces an existing object", async () => {
    const store = freshStore();
    await store.put("ledger/drops/d1.json", '{"rows":1}');
    await store.put("ledger/drops/d1.json", '{"rows":2}');
    expect(text(await store.get("ledger/drops/d1.json"))).toBe('{"rows":2}');
  });

  it("get of a key that does not exist returns undefined", async () => {
    const store = freshStore();
    await store.put("present.txt", "x");
    expect(await store.get("absent.txt")).toBeUndefined();
    expect(await store.get("absent-dir/absent.txt")).toBeUndefined();
  });

  it("getToFile streams the object to a local file, creating its directory", async () => {
    const store = freshStore();
    await store.put("curated/a.csv", "id,amount\n1,9.99\n");
    const target = join(scratchPath("download"), "nested", "a.csv");
    await store.getToFile("curated/a.csv", target);
    expect(await readFile(target, "utf8")).toBe("id,amount\n1,9.99\n");
  });

  it("getToFile of a missing key throws StorageError not_found naming the key", async () => {
    const store = freshStore();
    const error = await store
      .getToFile("drops/missing.csv", scratchPath("missing.csv"))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect(error).toMatchObject({ code: "not_found", message: expect.stringContaining("drops/missing.csv") });
  });

  it("list returns every object under a prefix, recursively, in key order, with sizes", async () => {
    const store = freshStore();
    await store.put("a/b/2.txt", "22");
    await store.put("a/b/1.txt", "1");
    await store.put("a/b/deep/3.txt", "333");
    await store.put("a/bc.txt", "4444");
    await store.put("a/c.txt", "55555");
    await store.put("z.txt", "z");
    // toMatchObject: S3 also reports lastModified.
    expect(await store.list("a/b/")).toMatchObject([
      { key: "a/b/1.txt", size: 1 },
      { key: "a/b/2.txt", size: 2 },
      { key: "a/b/deep/3.txt", size: 3 },
    ]);
    // A prefix is a string prefix, not a directory: "a/b" also matches "a/bc.txt".
    expect((await store.list("a/b")).map((o) => o.key)).toEqual([
      "a/b/1.txt",
      "a/b/2.txt",
      "a/b/deep/3.txt",
      "a/bc.txt",
    ]);
    expect((await store.list("")).map((o) => o.key)).toEqual([
      "a/b/1.txt",
      "a/b/2.txt",
      "a/b/deep/3.txt",
      "a/bc.txt",
      "a/c.txt",
      "z.txt",
    ]);
  });

  it("list returns all 25 keys when they span several pages", async () => {
    const store = freshStore();
    const keys = Array.from({ length: 25 }, (_, i) => `many/k${String(i).padStart(2, "0")}.json`);
    // Written in reverse so the result's order comes from list, not from the order of writes.
    for (const key of [...keys].reverse()) await store.put(key, key);
    expect((await store.list("many/")).map((o) => o.key)).toEqual(keys);
  });

  it("list of a prefix with no objects returns an empty array", async () => {
    const store = freshStore();
    await store.put("one/x.txt", "x");
    expect(await store.list("two/")).toEqual([]);
    expect(await freshStore().list("")).toEqual([]);
  });

  it("delete removes the given keys, keeps the rest and ignores keys that do not exist", async () => {
    const store = freshStore();
    await store.put("d/1.txt", "1");
    await store.put("d/2.txt", "2");
    await store.put("d/3.txt", "3");
    await store.delete(["d/1.txt", "d/3.txt", "d/never-existed.txt"]);
    expect((await store.list("d/")).map((o) => o.key)).toEqual(["d/2.txt"]);
    await store.delete([]);
    expect((await store.list("d/")).map((o) => o.key)).toEqual(["d/2.txt"]);
  });

  it("putFile uploads a small local file", async () => {
    const store = freshStore();
    const source = scratchPath("small.csv");
    await writeFile(source, "order_id,amount\no1,12.50\n");
    await store.putFile("landing/small.csv", source);
    expect(text(await store.get("landing/small.csv"))).toBe("order_id,amount\no1,12.50\n");
  });

  it("putFile of an empty file stores an empty object", async () => {
    const store = freshStore();
    const source = scratchPath("empty.csv");
    await writeFile(source, "");
    await store.putFile("landing/empty.csv", source);
    expect(await store.list("landing/")).toMatchObject([{ key: "landing/empty.csv", size: 0 }]);
    expect((await store.get("landing/empty.csv"))?.length).toBe(0);
  });

  it("putFile of a 20 MiB file round-trips byte-identical through getToFile", async () => {
    const store = freshStore();
    await store.putFile("big/big.bin", bigFile);
    expect(await store.list("big/")).toMatchObject([{ key: "big/big.bin", size: BIG_FILE_SIZE }]);
    const downloaded = scratchPath("big-download.bin");
    await store.getToFile("big/big.bin", downloaded);
    expect(sha256(await readFile(downloaded))).toBe(bigFileSha);
  });

  it("a store rooted at lake/ sees only its own keys", async () => {
    const root = freshRoot();
    const outer = open(root);
    const lake = open(`${root}/lake`);
    await outer.put("other/outside.txt", "outside");
    await outer.put("lakehouse.txt", "a sibling whose name starts with lake");
    await lake.put("curated/in.txt", "inside");

    expect((await lake.list("")).map((o) => o.key)).toEqual(["curated/in.txt"]);
    expect(await lake.get("other/outside.txt")).toBeUndefined();
    expect((await outer.list("")).map((o) => o.key)).toEqual([
      "lake/curated/in.txt",
      "lakehouse.txt",
      "other/outside.txt",
    ]);
    expect(text(await outer.get("lake/curated/in.txt"))).toBe("inside");

    await lake.delete(["other/outside.txt"]);
    expect(text(await outer.get("other/outside.txt"))).toBe("outside");
  });
});

interface RecordedCall {
  readonly command: string;
  readonly input: Record<string, unknown>;
}

/** Adds a middleware that records every command the client sends, with its input. */
function recordCommands(client: S3Client): RecordedCall[] {
  const calls: RecordedCall[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      calls.push({
        command: context.commandName ?? "?",
        input: { ...(args.input as Record<string, unknown>) },
      });
      return next(args);
    },
    { step: "initialize", name: "crmlakeRecordCommands" },
  );
  return calls;
}

const commandsOf = (calls: readonly RecordedCall[]): string[] => calls.map((call) => call.command);

describe("S3ObjectStore on s3rver: S3-specific behaviour", () => {
  let server: S3TestServer | undefined;
  let rootCounter = 0;

  beforeAll(async () => {
    server = await startS3Server([BUCKET]);
  });

  afterAll(async () => {
    await server?.stop();
  });

  const running = (): S3TestServer => {
    if (server === undefined) throw new Error("s3rver did not start");
    return server;
  };

  /** A store on its own client (so recorded calls are this test's only) under a fresh prefix. */
  const recordedStore = (options: { pageSize?: number } = {}) => {
    const client = s3rverClient(running().endpoint);
    const calls = recordCommands(client);
    const prefix = `s${++rootCounter}/lake/`;
    const store = new S3ObjectStore({ bucket: BUCKET, prefix, client, ...options });
    return { store, calls, client, prefix };
  };

  it("names its location s3://bucket/prefix, with or without the prefix's slashes", () => {
    const client = running().client;
    expect(new S3ObjectStore({ bucket: BUCKET, prefix: "lake/", client }).location).toBe(
      `s3://${BUCKET}/lake`,
    );
    expect(new S3ObjectStore({ bucket: BUCKET, prefix: "/lake", client }).location).toBe(
      `s3://${BUCKET}/lake`,
    );
    expect(new S3ObjectStore({ bucket: BUCKET, client }).location).toBe(`s3://${BUCKET}`);
  });

  it("putFile of a 20 MiB file uploads three 8 MiB multipart parts and round-trips byte-identical", async () => {
    const { store, calls, client, prefix } = recordedStore();
    await store.putFile("big.bin", bigFile);

    // s3rver's ETag for a multipart object is the MD5 of the whole object, not AWS's `<md5>-<parts>`,
    // so multipart is proven from the requests sent instead.
    expect(commandsOf(calls)).toEqual([
      "CreateMultipartUploadCommand",
      "UploadPartCommand",
      "UploadPartCommand",
      "UploadPartCommand",
      "CompleteMultipartUploadCommand",
    ]);
    const parts = calls.filter((call) => call.command === "UploadPartCommand");
    expect(parts.map((call) => (call.input.Body as Uint8Array).byteLength)).toEqual([
      8 * MiB,
      8 * MiB,
      4 * MiB,
    ]);

    const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `${prefix}big.bin` }));
    expect(head.ContentLength).toBe(BIG_FILE_SIZE);
    expect(sha256((await store.get("big.bin")) ?? new Uint8Array())).toBe(bigFileSha);
  });

  it("putFile of a file smaller than one part uses a single PutObject", async () => {
    const { store, calls } = recordedStore();
    const source = scratchPath("one-part.csv");
    await writeFile(source, "a,b\n1,2\n");
    await store.putFile("one-part.csv", source);
    expect(commandsOf(calls)).toEqual(["PutObjectCommand"]);
  });

  it("putFile of a local file that does not exist throws StorageError naming the file and the target", async () => {
    const { store, calls } = recordedStore();
    const missing = join(scratch, "no-such-file.csv");
    const error = await store.putFile("x.csv", missing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect(error).toMatchObject({ code: "not_found" });
    expect((error as StorageError).message).toContain(missing);
    expect((error as StorageError).message).toContain(`s3://${BUCKET}/`);
    expect(calls).toEqual([]);
  });

  it("list follows ContinuationToken: 25 keys with pageSize 10 take three ListObjectsV2 calls", async () => {
    const { store, calls, prefix } = recordedStore({ pageSize: 10 });
    const keys = Array.from({ length: 25 }, (_, i) => `p/${String(i).padStart(2, "0")}`);
    await Promise.all(keys.map((key) => store.put(key, "x")));
    calls.length = 0;

    expect((await store.list("p/")).map((o) => o.key)).toEqual(keys);
    expect(commandsOf(calls)).toEqual([
      "ListObjectsV2Command",
      "ListObjectsV2Command",
      "ListObjectsV2Command",
    ]);
    expect(calls.map((call) => call.input.MaxKeys)).toEqual([10, 10, 10]);
    expect(calls.map((call) => call.input.Prefix)).toEqual([`${prefix}p/`, `${prefix}p/`, `${prefix}p/`]);
    expect(calls[0]?.input.ContinuationToken).toBeUndefined();
    expect(calls[1]?.input.ContinuationToken).toEqual(expect.any(String));
  });

  it("delete sends at most 1000 keys per DeleteObjects request, in Quiet mode", async () => {
    const { store, calls, prefix } = recordedStore();
    await store.put("keep.txt", "keep");
    await store.put("k0007", "gone");
    await store.put("k2400", "gone");
    // 2500 keys, nearly all missing: S3 treats deleting a missing key as success, so this is cheap.
    const keys = Array.from({ length: 2500 }, (_, i) => `k${String(i).padStart(4, "0")}`);
    calls.length = 0;

    await store.delete(keys);
    expect(commandsOf(calls)).toEqual([
      "DeleteObjectsCommand",
      "DeleteObjectsCommand",
      "DeleteObjectsCommand",
    ]);
    const batches = calls.map((call) => call.input.Delete as { Objects: { Key: string }[]; Quiet: boolean });
    expect(batches.map((batch) => batch.Objects.length)).toEqual([1000, 1000, 500]);
    expect(batches.every((batch) => batch.Quiet)).toBe(true);
    expect(batches[2]?.Objects[0]?.Key).toBe(`${prefix}k2000`);
    expect((await store.list("")).map((o) => o.key)).toEqual(["keep.txt"]);
  });

  it("delete reports per-key failures from the DeleteObjects response as a StorageError", async () => {
    // s3rver never reports per-key failures, so this answers DeleteObjects the way S3 does when a
    // policy denies some keys: HTTP 200 with an Errors list.
    const client = s3rverClient(running().endpoint);
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== "DeleteObjectsCommand") return next(args);
        const output: DeleteObjectsOutput = {
          Errors: [{ Key: "lake/locked.parquet", Code: "AccessDenied", Message: "Access Denied" }],
        };
        return { output: { ...output, $metadata: { httpStatusCode: 200 } }, response: {} };
      },
      { step: "initialize", name: "crmlakeFakeDeleteErrors" },
    );
    const store = new S3ObjectStore({ bucket: BUCKET, prefix: "lake/", client });

    const error = await store.delete(["locked.parquet", "free.parquet"]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect(error).toMatchObject({ code: "delete_failed" });
    expect((error as StorageError).message).toContain("lake/locked.parquet: AccessDenied Access Denied");
    expect((error as StorageError).message).toContain("1 of 2 keys");
    client.destroy();
  });

  it("a custom-endpoint client stores a streamed body as sent, without aws-chunked checksum framing", async () => {
    // With the SDK's default (WHEN_SUPPORTED) checksums, s3rver stored this body as
    // "f\r\nhello from a stream\r\n0\r\nx-amz-checksum-crc32:…"; createS3Client must prevent that.
    const client = running().client;
    const source = scratchPath("stream.txt");
    await writeFile(source, "hello from a stream");
    await client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: "stream.txt",
        Body: createReadStream(source),
        ContentLength: 19,
      }),
    );
    const stored = await new S3ObjectStore({ bucket: BUCKET, client }).get("stream.txt");
    expect(text(stored)).toBe("hello from a stream");
  });

  it("maps an AWS error to a StorageError naming the operation, bucket, key and AWS's message, with the cause", async () => {
    const store = new S3ObjectStore({ bucket: "no-such-bucket", prefix: "lake", client: running().client });
    // A missing bucket is a misconfiguration, not a missing key: get must throw, not return undefined.
    const error = await store.get("ledger/d1.json").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect(error).toMatchObject({ code: "no_such_bucket" });
    const { message, cause } = error as StorageError;
    expect(message).toContain("GetObject");
    expect(message).toContain("s3://no-such-bucket/lake/ledger/d1.json");
    expect(message).toContain("The specified bucket does not exist");
    expect(cause).toMatchObject({ name: "NoSuchBucket" });

    await expect(store.put("x", "y")).rejects.toThrow(/PutObject failed for s3:\/\/no-such-bucket\/lake\/x/);
    await expect(store.list("")).rejects.toThrow(/ListObjectsV2 failed for s3:\/\/no-such-bucket\/lake\//);
    await expect(store.delete(["x"])).rejects.toThrow(/DeleteObjects failed for s3:\/\/no-such-bucket\/lake/);
  });
});

describe("s3ClientFromEnv", () => {
  afterAll(() => {
    vi.unstubAllEnvs();
  });

  it("uses path style and checksums only when required for a custom endpoint", async () => {
    vi.stubEnv("CRMLAKE_S3_ENDPOINT", "http://127.0.0.1:9000");
    const client = s3ClientFromEnv();
    expect(client.config.forcePathStyle).toBe(true);
    expect(await client.config.requestChecksumCalculation()).toBe("WHEN_REQUIRED");
    expect(await client.config.responseChecksumValidation()).toBe("WHEN_REQUIRED");
    expect(await client.config.region()).toBeTypeOf("string");
    client.destroy();
  });

  it("keeps the SDK's default checksums and addressing for AWS S3", async () => {
    vi.stubEnv("CRMLAKE_S3_ENDPOINT", "");
    vi.stubEnv("AWS_REGION", "eu-west-1");
    const client = s3ClientFromEnv();
    expect(client.config.forcePathStyle).toBeFalsy();
    expect(await client.config.requestChecksumCalculation()).toBe("WHEN_SUPPORTED");
    expect(await client.config.responseChecksumValidation()).toBe("WHEN_SUPPORTED");
    client.destroy();
  });
});

describe("parseS3Uri", () => {
  it("splits an s3:// URI into bucket and key", () => {
    expect(parseS3Uri("s3://landing/drops/2024/orders.csv.gz")).toEqual({
      bucket: "landing",
      key: "drops/2024/orders.csv.gz",
    });
    expect(parseS3Uri("s3://landing")).toEqual({ bucket: "landing", key: "" });
    expect(parseS3Uri("s3://landing/")).toEqual({ bucket: "landing", key: "" });
  });

  it("rejects anything that is not s3://bucket/… with a StorageError naming the value", () => {
    for (const bad of ["https://landing/x", "s3://", "s3:///key", "landing/x"]) {
      expect(() => parseS3Uri(bad)).toThrow(StorageError);
      expect(() => parseS3Uri(bad)).toThrow(bad);
    }
  });
});

describe("LocalObjectStore's conditional writes (ADR 0010)", () => {
  let base = "";
  let counter = 0;
  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), "crmlake-local-cond-"));
  });
  afterAll(async () => {
    await rm(base, { recursive: true, force: true });
  });
  conditionalWriteContract(() => new LocalObjectStore(join(base, `t${++counter}`)));

  it("takes over a key lock left by a process that no longer exists", async () => {
    const store = new LocalObjectStore(join(base, "stale"));
    await store.put("ledger/drops/d.json", "v1");
    const read = await store.getTagged("ledger/drops/d.json");
    // pid 2^22 + 1 is above Linux's pid_max default: no such process.
    await writeFile(
      join(base, "stale", "ledger", "drops", "d.json.lock-key"),
      JSON.stringify({ pid: 4_194_305, host: (await import("node:os")).hostname(), at: Date.now() }),
    );
    expect(await store.putIf("ledger/drops/d.json", "v2", { ifMatch: read?.etag ?? "" })).toEqual(
      expect.any(String),
    );
    expect(text(await store.get("ledger/drops/d.json"))).toBe("v2");
    expect((await store.list("ledger/")).map((o) => o.key)).toEqual(["ledger/drops/d.json"]);
  });
});
