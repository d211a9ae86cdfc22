import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { S3Client } from "@aws-sdk/client-s3";
import { createS3Client } from "../../functions/storage/s3.ts";

export interface S3TestServer {
  /** `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  /** A client configured the way production configures one for a custom endpoint. */
  readonly client: S3Client;
  stop(): Promise<void>;
}

const STARTUP_TIMEOUT_MS = 30_000;
const CHILD_SCRIPT = fileURLToPath(new URL("./s3rver-process.ts", import.meta.url));
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

/**
 * Starts a real S3-compatible server (s3rver) on loopback, on a free port, storing into a fresh temp
 * directory, with the given buckets created. DESIGN.md §8: S3 code is tested against a real server.
 *
 * s3rver runs in a child process because its ListObjectsV2 continuation tokens are DES-encrypted, and
 * Node ≥ 17 (OpenSSL 3) only offers DES with `--openssl-legacy-provider` (jamhall/s3rver#818). In
 * process, every listing longer than one page fails with a 500 InternalError. The flag goes to the
 * child only, so the tests themselves run on Node's default crypto.
 */
export async function startS3Server(buckets: readonly string[]): Promise<S3TestServer> {
  const directory = await mkdtemp(join(tmpdir(), "crmlake-s3rver-"));
  const child = spawn(
    process.execPath,
    [
      "--openssl-legacy-provider",
      "--import",
      TSX_LOADER,
      CHILD_SCRIPT,
      JSON.stringify({ directory, buckets }),
    ],
    { stdio: ["pipe", "pipe", "pipe"] },
  );
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    // Keep the tail only: it explains a failed start without growing without bound.
    stderr = (stderr + chunk).slice(-4000);
  });

  let port: number;
  try {
    port = await readPort(child, () => stderr);
  } catch (error) {
    await stopChild(child);
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
  const endpoint = `http://127.0.0.1:${port}`;
  const client = s3rverClient(endpoint);
  return {
    endpoint,
    client,
    async stop() {
      client.destroy();
      await stopChild(child);
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/**
 * A new client for an s3rver endpoint, built by the production factory (path style, checksums only when
 * required). Tests that add middleware to watch requests take their own client rather than the shared one.
 */
export function s3rverClient(endpoint: string): S3Client {
  // s3rver verifies SigV4 signatures against its one built-in account, S3RVER/S3RVER.
  return createS3Client({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
  });
}

async function readPort(child: ChildProcess, stderr: () => string): Promise<number> {
  const stdout = child.stdout;
  if (stdout === null) throw new Error("s3rver child has no stdout");
  const lines = createInterface({ input: stdout });
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), STARTUP_TIMEOUT_MS);
  try {
    const firstLine = once(lines, "line", { signal: timeout.signal }).then(([line]: unknown[]) =>
      String(line),
    );
    const exited = once(child, "exit", { signal: timeout.signal }).then(([code]: unknown[]) => {
      throw new Error(`s3rver exited with code ${String(code)} before listening:\n${stderr()}`);
    });
    const line = await Promise.race([firstLine, exited]).catch((error: unknown) => {
      if (timeout.signal.aborted) {
        throw new Error(`s3rver did not report a port within ${STARTUP_TIMEOUT_MS} ms:\n${stderr()}`);
      }
      throw error;
    });
    const parsed: unknown = JSON.parse(line);
    if (
      typeof parsed === "object" &&
      parsed !== null &&
      "port" in parsed &&
      typeof parsed.port === "number"
    ) {
      return parsed.port;
    }
    throw new Error(`s3rver child printed ${line}; expected {"port": number}`);
  } finally {
    clearTimeout(timer);
    timeout.abort();
    lines.close();
  }
}

/** Closes the child's stdin (it then closes s3rver and exits); kills it if it has not gone in 5 s. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.stdin?.end();
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}
