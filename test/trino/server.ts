// Starts a real, single-node Trino server for the differential test tier (Trino vs DuckDB).
//
// The distribution comes from the cache managed by fetch.ts; every server gets its own work directory with
// etc/, data/, the file-based Hive metastore and the server log, so the cached install stays read-only and
// parallel servers cannot interfere. Only Node built-ins are used.

import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { closeSync, existsSync, openSync, readFileSync, rmSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { ensureTrino, type TrinoInstall } from "./fetch.ts";

export interface TrinoColumn {
  name: string;
  type: string;
}

export interface TrinoResult {
  columns: TrinoColumn[];
  /** Values as Trino's JSON encodes them: decimal/timestamp/date as strings, BIGINT beyond 2^53 as bigint. */
  rows: unknown[][];
  /**
   * The statement's final statistics (the protocol's `stats` of its last response): physicalInputBytes is what
   * the connectors read from storage, the figure closest to what Athena bills as bytes scanned.
   */
  stats?: { physicalInputBytes?: number; processedBytes?: number; elapsedTimeMillis?: number };
}

/**
 * Per-query session. Every query() is stateless: USE / SET SESSION results (X-Trino-Set-* response headers)
 * are not carried over, so pass catalog, schema and properties here instead.
 */
export interface TrinoSession {
  catalog?: string;
  schema?: string;
  /** Extra session properties, sent as X-Trino-Session. */
  properties?: Record<string, string>;
}

export interface TrinoServer {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  /** Local directory of the Hive file metastore (hive.metastore.catalog.dir) of the `hive` catalog. */
  catalogDir: string;
  /** Work directory holding etc/, data/, metastore and server.log. */
  workDir: string;
  /** Server stdout/stderr. */
  logFile: string;
  version: string;
  javaMajor: number;
  /** Process id of the launcher, which is also the process group id of the whole server tree. */
  pid: number;
  query(sql: string, session?: TrinoSession): Promise<TrinoResult>;
  stop(): Promise<void>;
}

export interface StartTrinoOptions {
  /** Loopback port; a free one is chosen when omitted. */
  port?: number;
  /** JVM -Xmx value, default 3G (the tests use tiny data; the cap keeps parallel CI jobs predictable). */
  heap?: string;
  /** Work directory; a fresh temp dir (removed again by stop()) when omitted. */
  workDir?: string;
  /** How long to wait for /v1/info to report starting=false. Default 300 s (2-core CI machines are slow). */
  startTimeoutMs?: number;
}

/** Error raised for a failed query, carrying Trino's structured error so tests can assert on errorName. */
export class TrinoQueryError extends Error {
  constructor(
    message: string,
    readonly sql: string,
    readonly errorName: string | undefined,
    readonly errorType: string | undefined,
    readonly errorCode: number | undefined,
    readonly queryId: string | undefined,
  ) {
    super(message);
    this.name = "TrinoQueryError";
  }
}

const USER = "crmlake";

function log(message: string): void {
  process.stderr.write(`[trino] ${message}\n`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      const port = typeof address === "object" && address ? address.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error("could not allocate a port"))));
    });
  });
}

function props(entries: Record<string, string>): string {
  return `${Object.entries(entries)
    .map(([k, v]) => `${k}=${v}`)
    .join("\n")}\n`;
}

function tail(file: string, lines = 60): string {
  if (!existsSync(file)) return "(no server log)";
  return readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
}

async function writeConfig(
  install: TrinoInstall,
  workDir: string,
  port: number,
  heap: string,
): Promise<void> {
  const v = Number.parseInt(install.version, 10);
  const etc = join(workDir, "etc");
  await mkdir(join(etc, "catalog"), { recursive: true });
  await mkdir(join(workDir, "metastore"), { recursive: true });

  await writeFile(
    join(etc, "node.properties"),
    props({
      "node.environment": "crmlake_test",
      "node.id": randomUUID(),
      "node.data-dir": join(workDir, "data"),
      // Bind and advertise loopback only: test servers must never be reachable from the network.
      "node.internal-address": "127.0.0.1",
      "node.bind-ip": "127.0.0.1",
    }),
  );

  const jvm = [
    "-server",
    `-Xmx${heap}`,
    "-XX:+UseG1GC",
    "-XX:+ExitOnOutOfMemoryError",
    "-XX:-OmitStackTraceInFastThrow",
    "-XX:ReservedCodeCacheSize=256M",
    "-XX:PerMethodRecompilationCutoff=10000",
    "-XX:PerBytecodeRecompilationCutoff=10000",
    "-Djdk.attach.allowAttachSelf=true",
    "-Djdk.nio.maxCachedBufferSize=2000000",
    "-Dfile.encoding=UTF-8",
    // Athena runs in UTC; also makes INT96 Parquet timestamps (Hive writer default) zone-independent.
    "-Duser.timezone=UTC",
  ];
  // JDK 21+ warns (and may later refuse) when Trino's JOL/attach agents load dynamically; 17 rejects the flag.
  if (install.javaMajor >= 21) jvm.push("-XX:+EnableDynamicAgentLoading");
  // JDK 24+ prints a warning per library using JNI / Unsafe memory access; keep the server log readable.
  if (install.javaMajor >= 22) jvm.push("--enable-native-access=ALL-UNNAMED");
  if (install.javaMajor >= 24) jvm.push("--sun-misc-unsafe-memory-access=allow");
  await writeFile(join(etc, "jvm.config"), `${jvm.join("\n")}\n`);

  await writeFile(
    join(etc, "config.properties"),
    props({
      coordinator: "true",
      "node-scheduler.include-coordinator": "true",
      "http-server.http.port": String(port),
      "discovery.uri": `http://127.0.0.1:${port}`,
      // query.max-memory(-per-node) keep their heap-relative defaults, so a smaller `heap` still starts.
      // Access logs only cost disk I/O here.
      "http-server.log.enabled": "false",
    }),
  );

  await writeFile(
    join(etc, "log.properties"),
    props({
      "io.trino": "WARN",
      "io.trino.server.Server": "INFO",
      "io.airlift": "WARN",
      // Airlift logs the full configuration table (~1000 lines) under this bare logger name.
      Bootstrap: "WARN",
      "org.hibernate": "WARN",
      "org.eclipse.jetty": "WARN",
      "org.apache.hadoop": "ERROR",
      "org.apache.parquet": "WARN",
    }),
  );

  const hive: Record<string, string> = {
    "connector.name": "hive",
    "hive.metastore": "file",
    "hive.metastore.catalog.dir": `file://${join(workDir, "metastore")}`,
    // CTAS/INSERT into tables with external_location, which is how the lake's Athena CTAS works.
    "hive.non-managed-table-writes-enabled": "true",
    // Trino's default is ORC; Athena CTAS defaults to Parquet.
    "hive.storage-format": "PARQUET",
    // hive.timestamp-precision stays at its MILLISECONDS default, as in Athena.
    // system.register_partition: the ledger's partitions are plain `drops/`, `rejected/` directories (Athena
    // projects them), which sync_partition_metadata cannot discover.
    "hive.allow-register-partition-procedure": "true",
  };
  // Trino 441 removed legacy Hive security (and its allow-* properties); allow-all is the default since.
  if (v < 441) hive["hive.allow-drop-table"] = "true";
  // Trino 458 switched off the legacy Hadoop file system, which is what serves file:// locations.
  if (v >= 458) hive["fs.hadoop.enabled"] = "true";
  await writeFile(join(etc, "catalog", "hive.properties"), props(hive));
}

/** Kills the whole process group: the launcher may exec the JVM or spawn it as a child. */
function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A detached shell that kills the server's process group once this Node process is gone, covering the
 * cases where no 'exit' handler runs (SIGKILL of a vitest worker, a crash in native code). It also removes
 * a temp work dir we created, which would otherwise pile up in /tmp.
 */
function startWatchdog(pgid: number, removeDir: string | undefined): void {
  // Numeric signals and no `--`: dash (Debian's /bin/sh) rejects `kill -s KILL -PGID` and `kill -- -PGID`.
  const script =
    `while kill -0 ${process.pid} 2>/dev/null && kill -0 -${pgid} 2>/dev/null; do sleep 1; done; ` +
    `kill -9 -${pgid} 2>/dev/null; if [ -n "$1" ]; then rm -rf "$1"; fi`;
  const watchdog = spawn("sh", ["-c", script, "trino-watchdog", removeDir ?? ""], {
    detached: true,
    stdio: "ignore",
  });
  watchdog.unref();
}

interface StatementResponse {
  id?: string;
  nextUri?: string;
  columns?: { name: string; type: string }[];
  data?: unknown[][];
  error?: { message?: string; errorName?: string; errorType?: string; errorCode?: number };
  stats?: { physicalInputBytes?: number; processedBytes?: number; elapsedTimeMillis?: number };
}

function asStatementResponse(value: JsonValue): StatementResponse {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new Error(`unexpected Trino response: ${String(value)}`);
  }
  // The protocol's shape is fixed; checking every field would only duplicate Trino's own contract tests.
  return value as unknown as StatementResponse;
}

async function request(url: string, init: RequestInit): Promise<StatementResponse> {
  // The protocol asks clients to retry 502/503/504 (and 429) with a back-off; they occur while busy.
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(url, init);
    if ([429, 502, 503, 504].includes(res.status) && attempt < 20) {
      await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** attempt, 2000)));
      continue;
    }
    const text = await res.text();
    if (!res.ok)
      throw new Error(`${init.method ?? "GET"} ${url} -> HTTP ${res.status}: ${text.slice(0, 2000)}`);
    return asStatementResponse(parseJsonExact(text));
  }
}

/**
 * Runs a statement, resubmitting it while Trino answers NO_NODES_AVAILABLE: for a few seconds after /v1/info
 * reports starting=false, the coordinator may not yet have announced itself as the (only) worker, and a
 * statement that needs a worker fails at scheduling, before it did anything.
 */
async function runQuery(baseUrl: string, sql: string, session: TrinoSession = {}): Promise<TrinoResult> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      return await runQueryOnce(baseUrl, sql, session);
    } catch (err) {
      if (
        !(err instanceof TrinoQueryError && err.errorName === "NO_NODES_AVAILABLE") ||
        Date.now() > deadline
      )
        throw err;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

async function runQueryOnce(baseUrl: string, sql: string, session: TrinoSession): Promise<TrinoResult> {
  const headers: Record<string, string> = {
    "X-Trino-User": USER,
    "X-Trino-Source": "crmlake-test",
    "X-Trino-Catalog": session.catalog ?? "hive",
    // Athena sessions are UTC; pinning it keeps current_timestamp & co. independent of the host.
    "X-Trino-Time-Zone": "UTC",
    // Without this capability Trino reports every timestamp as plain `timestamp` and rounds values to
    // milliseconds for "legacy" clients, which would hide precision differences from the comparison.
    "X-Trino-Client-Capabilities": "PARAMETRIC_DATETIME",
  };
  if (session.schema) headers["X-Trino-Schema"] = session.schema;
  const sessionProps = Object.entries(session.properties ?? {});
  if (sessionProps.length > 0) {
    headers["X-Trino-Session"] = sessionProps.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join(",");
  }

  let response = await request(`${baseUrl}/v1/statement`, {
    method: "POST",
    headers: { ...headers, "Content-Type": "text/plain; charset=utf-8" },
    body: sql,
  });
  let columns: TrinoColumn[] | undefined;
  const rows: unknown[][] = [];
  try {
    for (;;) {
      if (response.columns && !columns)
        columns = response.columns.map((c) => ({ name: c.name, type: c.type }));
      if (response.data) rows.push(...response.data);
      if (response.error) {
        const e = response.error;
        throw new TrinoQueryError(
          `Trino query ${response.id ?? "?"} failed: ${e.errorName ?? "?"} (${e.errorType ?? "?"}): ${e.message ?? "?"}\nSQL: ${sql}`,
          sql,
          e.errorName,
          e.errorType,
          e.errorCode,
          response.id,
        );
      }
      if (!response.nextUri) break;
      response = await request(response.nextUri, { method: "GET", headers });
    }
  } catch (err) {
    // Cancel so a failed/aborted test does not leave the query running on the shared server.
    if (response.nextUri && !(err instanceof TrinoQueryError)) {
      await fetch(response.nextUri, { method: "DELETE", headers }).catch(() => undefined);
    }
    throw err;
  }
  return { columns: columns ?? [], rows, ...(response.stats === undefined ? {} : { stats: response.stats }) };
}

async function waitUntilStarted(url: string, child: ChildProcess, logFile: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let lastError = "no answer yet";
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `Trino exited during start-up (code ${child.exitCode}, signal ${child.signalCode}). Last lines of server.log (set CRMLAKE_TRINO_KEEP=1 to keep ${dirname(logFile)}):\n${tail(logFile)}`,
      );
    }
    try {
      const res = await fetch(`${url}/v1/info`, { signal: AbortSignal.timeout(5000) });
      const info = (await res.json()) as { starting?: boolean };
      if (res.ok && info.starting === false) return;
      lastError = `HTTP ${res.status}, starting=${String(info.starting)}`;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(
    `Trino did not finish starting within ${timeoutMs / 1000} s (last /v1/info: ${lastError}). ` +
      `Last lines of server.log (set CRMLAKE_TRINO_KEEP=1 to keep ${dirname(logFile)}):\n${tail(logFile)}`,
  );
}

/** Current and peak resident memory of a server's JVM (the launcher execs it, so it keeps the launcher's pid). */
export function serverMemory(pid: number): string {
  const status = `/proc/${pid}/status`;
  if (!existsSync(status)) return "n/a (no /proc)";
  const text = readFileSync(status, "utf8");
  const kib = (field: string): number =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? 0);
  return `RSS ${Math.round(kib("VmRSS") / 1024)} MiB, peak ${Math.round(kib("VmHWM") / 1024)} MiB`;
}

/** A server someone else started (CRMLAKE_TRINO_URL, for iterating on a test): querying only, never stopped. */
export interface TrinoConnection {
  url: string;
  /**
   * The server's Hive file metastore directory, from CRMLAKE_TRINO_CATALOG_DIR: the symlink tables are
   * declared by editing it (lake-tables.ts declareSymlinkTable).
   */
  catalogDir?: string;
  query(sql: string, session?: TrinoSession): Promise<TrinoResult>;
}

export function connectTrino(url: string): TrinoConnection {
  const base = url.replace(/\/+$/, "");
  const catalogDir = process.env.CRMLAKE_TRINO_CATALOG_DIR;
  return {
    url: base,
    ...(catalogDir === undefined ? {} : { catalogDir }),
    query: (sql, session) => runQuery(base, sql, session),
  };
}

export async function startTrino(opts: StartTrinoOptions = {}): Promise<TrinoServer> {
  const install = await ensureTrino();
  const ownsWorkDir = opts.workDir === undefined;
  const workDir = opts.workDir ?? (await mkdtemp(join(tmpdir(), "crmlake-trino-")));
  await mkdir(workDir, { recursive: true });
  const port = opts.port ?? (await freePort());
  await writeConfig(install, workDir, port, opts.heap ?? "3G");

  const url = `http://127.0.0.1:${port}`;
  const logFile = join(workDir, "server.log");
  const logFd = openSync(logFile, "a");
  const t0 = Date.now();
  log(`starting Trino ${install.version} (Java ${install.javaMajor}) on ${url}, work dir ${workDir}`);
  // detached: the server becomes its own process group, so one signal reaches launcher and JVM alike.
  // stdout/stderr go straight to a file so the JVM never blocks on a pipe this process stops reading.
  const child = spawn(
    join(install.home, "bin", "launcher"),
    ["run", `--etc-dir=${join(workDir, "etc")}`, `--data-dir=${join(workDir, "data")}`],
    {
      cwd: workDir,
      detached: true,
      stdio: ["ignore", logFd, logFd],
      env: {
        ...process.env,
        JAVA_HOME: install.javaHome,
        PATH: `${join(install.javaHome, "bin")}:${process.env.PATH ?? ""}`,
      },
    },
  );
  closeSync(logFd);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not spawn ${join(install.home, "bin", "launcher")}`);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  const onExit = (): void => {
    killGroup(pid, "SIGKILL");
    if (ownsWorkDir && !process.env.CRMLAKE_TRINO_KEEP) rmSync(workDir, { recursive: true, force: true });
  };
  process.once("exit", onExit);
  startWatchdog(pid, ownsWorkDir && !process.env.CRMLAKE_TRINO_KEEP ? workDir : undefined);

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    process.removeListener("exit", onExit);
    killGroup(pid, "SIGTERM");
    let timer: NodeJS.Timeout | undefined;
    const graceful = await Promise.race([
      exited.then(() => true),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(false), 15_000);
      }),
    ]);
    // A pending timer would keep the test process alive for the full grace period.
    clearTimeout(timer);
    // The launcher may be gone while a forked JVM lingers; check the group, not just the child.
    if (!graceful || groupAlive(pid)) killGroup(pid, "SIGKILL");
    for (let i = 0; i < 50 && groupAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    if (ownsWorkDir && !process.env.CRMLAKE_TRINO_KEEP) await rm(workDir, { recursive: true, force: true });
  };

  try {
    await waitUntilStarted(url, child, logFile, opts.startTimeoutMs ?? 300_000);
  } catch (err) {
    await stop();
    throw err;
  }
  log(`Trino ${install.version} ready in ${((Date.now() - t0) / 1000).toFixed(1)} s (pid ${pid})`);

  return {
    url,
    catalogDir: join(workDir, "metastore"),
    workDir,
    logFile,
    version: install.version,
    javaMajor: install.javaMajor,
    pid,
    query: (sql, session) => runQuery(url, sql, session),
    stop,
  };
}

// ---------------------------------------------------------------------------------------------------------
// JSON parsing that keeps integers outside Number's safe range exact (as bigint).
//
// Why: Trino's protocol encodes BIGINT values as bare JSON numbers and JSON.parse silently rounds anything
// above 2^53, which a differential test would report as an engine difference. Node 20 has no JSON.parse
// source-text access, hence this small recursive-descent parser.

export type JsonValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

export function parseJsonExact(text: string): JsonValue {
  let i = 0;

  const fail = (what: string): never => {
    throw new SyntaxError(`${what} at offset ${i} in JSON: ${text.slice(Math.max(0, i - 40), i + 40)}`);
  };
  const skipWs = (): void => {
    while (i < text.length && (text[i] === " " || text[i] === "\n" || text[i] === "\r" || text[i] === "\t"))
      i++;
  };
  const expect = (literal: string): void => {
    if (text.startsWith(literal, i)) i += literal.length;
    else fail(`expected ${literal}`);
  };

  const parseString = (): string => {
    // Find the closing quote, then let JSON.parse decode escapes (it gets \uXXXX surrogates right).
    const start = i;
    i++;
    while (i < text.length) {
      const c = text[i];
      if (c === "\\") i += 2;
      else if (c === '"') {
        i++;
        return JSON.parse(text.slice(start, i)) as string;
      } else i++;
    }
    return fail("unterminated string");
  };

  const numberPattern = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
  const parseNumber = (): number | bigint => {
    numberPattern.lastIndex = i;
    const m = numberPattern.exec(text);
    if (!m) return fail("unexpected character");
    i += m[0].length;
    if (m[1] === undefined && m[2] === undefined) {
      const n = Number(m[0]);
      return Number.isSafeInteger(n) ? n : BigInt(m[0]);
    }
    return Number(m[0]);
  };

  const parseValue = (): JsonValue => {
    skipWs();
    const c = text[i];
    if (c === "{") {
      i++;
      const obj: { [key: string]: JsonValue } = {};
      skipWs();
      if (text[i] === "}") {
        i++;
        return obj;
      }
      for (;;) {
        skipWs();
        if (text[i] !== '"') fail("expected object key");
        const key = parseString();
        skipWs();
        expect(":");
        obj[key] = parseValue();
        skipWs();
        if (text[i] === ",") i++;
        else if (text[i] === "}") {
          i++;
          return obj;
        } else fail("expected , or }");
      }
    }
    if (c === "[") {
      i++;
      const arr: JsonValue[] = [];
      skipWs();
      if (text[i] === "]") {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(parseValue());
        skipWs();
        if (text[i] === ",") i++;
        else if (text[i] === "]") {
          i++;
          return arr;
        } else fail("expected , or ]");
      }
    }
    if (c === '"') return parseString();
    if (c === "t") {
      expect("true");
      return true;
    }
    if (c === "f") {
      expect("false");
      return false;
    }
    if (c === "n") {
      expect("null");
      return null;
    }
    return parseNumber();
  };

  const value = parseValue();
  skipWs();
  if (i !== text.length) fail("trailing characters");
  return value;
}
