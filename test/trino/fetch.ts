// Obtains a Trino server distribution for the differential test tier and caches it outside the repository.
//
// Run `npx tsx test/trino/fetch.ts` to only download + extract (CI pre-fetch); server.ts calls ensureTrino().
//
// Why Trino 476 by default: the reachable Maven Central (repo.maven.apache.org / repo1.maven.org) lists only
// 352, 356, 368, 470 and 476 in io/trino/trino-server/maven-metadata.xml; 435 (the last release on Java 17)
// answers HTTP 404. 476 is the newest of those and closest to what Athena engine v3 tracks today; it needs
// JDK 24+, so it runs on the Temurin 25 JDK. Override with CRMLAKE_TRINO_VERSION (e.g. 368 on Java 17).

import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rename, rm, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { pathToFileURL } from "node:url";

export const DEFAULT_TRINO_VERSION = "476";

export interface TrinoInstall {
  version: string;
  /** Extracted distribution (bin/, lib/, plugin/); treated as read-only, every server gets its own etc/. */
  home: string;
  javaHome: string;
  javaMajor: number;
}

export function trinoVersion(): string {
  return process.env.CRMLAKE_TRINO_VERSION ?? DEFAULT_TRINO_VERSION;
}

export function cacheRoot(): string {
  return process.env.CRMLAKE_TRINO_CACHE ?? join(homedir(), ".cache", "crmlake", "trino");
}

function mavenRepo(): string {
  return (process.env.CRMLAKE_MAVEN_REPO ?? "https://repo.maven.apache.org/maven2").replace(/\/+$/, "");
}

function log(message: string): void {
  process.stderr.write(`[trino-fetch] ${message}\n`);
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
}

/** Minimum JDK major per Trino release, from the release notes (390: 17, 436: 21, 447: 22, 464: 23, 476: 24). */
export function requiredJavaMajor(version: string): number {
  const v = Number.parseInt(version, 10);
  if (v >= 476) return 24;
  if (v >= 464) return 23;
  if (v >= 447) return 22;
  if (v >= 436) return 21;
  if (v >= 390) return 17;
  return 11;
}

function javaMajorOf(home: string): number | undefined {
  // The JDK's `release` file is cheaper and more reliable to read than parsing `java -version` output.
  const releaseFile = join(home, "release");
  if (!existsSync(releaseFile) || !existsSync(join(home, "bin", "java"))) return undefined;
  const match = /^JAVA_VERSION="(\d+)(?:\.(\d+))?/m.exec(readFileSync(releaseFile, "utf8"));
  if (!match?.[1]) return undefined;
  // Java 8 and older report "1.8"; irrelevant for Trino but keeps the parser honest.
  return match[1] === "1" ? Number(match[2]) : Number(match[1]);
}

/**
 * Picks the lowest installed JDK that satisfies Trino's minimum: Trino only tests its minimum major, and
 * old releases break on much newer JDKs (removed JVM flags, Security Manager, Unsafe restrictions).
 */
export function findJavaHome(version: string): { home: string; major: number } {
  const min = requiredJavaMajor(version);
  const forced = process.env.CRMLAKE_TRINO_JAVA_HOME;
  if (forced) {
    const major = javaMajorOf(forced);
    if (major === undefined)
      throw new Error(`CRMLAKE_TRINO_JAVA_HOME=${forced} is not a JDK (no release file)`);
    return { home: forced, major };
  }
  const candidates = new Set<string>();
  if (process.env.JAVA_HOME) candidates.add(process.env.JAVA_HOME);
  for (const root of ["/usr/lib/jvm", "/opt/java", "/usr/local/lib/jvm"]) {
    if (!existsSync(root)) continue;
    for (const name of readdirSync(root)) candidates.add(join(root, name));
  }
  const found: { home: string; major: number }[] = [];
  for (const home of candidates) {
    const major = javaMajorOf(home);
    if (major !== undefined) found.push({ home, major });
  }
  const usable = found.filter((j) => j.major >= min).sort((a, b) => a.major - b.major);
  const best = usable[0];
  if (!best) {
    const seen = found.map((j) => `${j.home} (${j.major})`).join(", ") || "none";
    throw new Error(`Trino ${version} needs JDK ${min}+; found: ${seen}. Set CRMLAKE_TRINO_JAVA_HOME.`);
  }
  return best;
}

/** Error for a release the repository does not serve, listing the versions it does (a mirror may be partial). */
async function notPublished(version: string, url: string, status: number): Promise<Error> {
  const metadataUrl = `${mavenRepo()}/io/trino/trino-server/maven-metadata.xml`;
  let available = "unknown";
  try {
    const xml = await (await fetch(metadataUrl)).text();
    available = [...xml.matchAll(/<version>([^<]+)<\/version>/g)].map((m) => m[1]).join(", ") || "none";
  } catch {
    // Keep the primary error; the listing is only a hint.
  }
  return new Error(
    `Trino ${version}: GET ${url} -> HTTP ${status}. ${metadataUrl} lists: ${available}. ` +
      "Pick one with CRMLAKE_TRINO_VERSION or point CRMLAKE_MAVEN_REPO at a repository that has it.",
  );
}

async function download(url: string, dest: string, expectedSha1: string): Promise<void> {
  const res = await fetch(url);
  if (!res.ok || !res.body) throw new Error(`GET ${url} -> HTTP ${res.status}`);
  const total = Number(res.headers.get("content-length") ?? 0);
  const hash = createHash("sha1");
  let received = 0;
  let lastReport = Date.now();
  const started = Date.now();
  // Hash while streaming so a 0.8 GB file is read from disk only once (by tar).
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      received += chunk.length;
      if (Date.now() - lastReport > 5000) {
        lastReport = Date.now();
        const pct = total ? ` (${((received / total) * 100).toFixed(0)}%)` : "";
        const rate = received / 1024 / 1024 / ((Date.now() - started) / 1000);
        log(`  ${mib(received)} / ${mib(total)}${pct}, ${rate.toFixed(1)} MiB/s`);
      }
      done(null, chunk);
    },
  });
  const part = `${dest}.${process.pid}.part`;
  try {
    await pipeline(
      Readable.fromWeb(res.body as WebReadableStream<Uint8Array>),
      meter,
      createWriteStream(part),
    );
    const actual = hash.digest("hex");
    if (actual !== expectedSha1) {
      throw new Error(
        `sha1 mismatch for ${url}: expected ${expectedSha1}, got ${actual} (${received} bytes)`,
      );
    }
    // Rename last so a crash never leaves a truncated tarball under the final name.
    await rename(part, dest);
  } finally {
    await rm(part, { force: true });
  }
}

async function sha1File(path: string): Promise<string> {
  const hash = createHash("sha1");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "inherit", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`${cmd} ${args.join(" ")} exited ${code}: ${stderr.slice(-2000)}`)),
    );
  });
}

const MARKER = ".crmlake-extracted";

/** Downloads (sha1-verified) and extracts the distribution once; later calls only check the marker file. */
export async function ensureTrino(version: string = trinoVersion()): Promise<TrinoInstall> {
  const java = findJavaHome(version);
  const root = cacheRoot();
  const name = `trino-server-${version}`;
  const home = join(root, name);
  const result = { version, home, javaHome: java.home, javaMajor: java.major };
  if (existsSync(join(home, MARKER))) return result;

  await mkdir(root, { recursive: true });
  const tarball = join(root, `${name}.tar.gz`);
  const url = `${mavenRepo()}/io/trino/trino-server/${version}/${name}.tar.gz`;
  const sha1Res = await fetch(`${url}.sha1`);
  if (!sha1Res.ok) throw await notPublished(version, `${url}.sha1`, sha1Res.status);
  // Maven Central's .sha1 files hold the bare hex digest; some mirrors append the file name.
  const expectedSha1 = (await sha1Res.text()).trim().split(/\s+/)[0] ?? "";

  if (existsSync(tarball) && (await sha1File(tarball)) === expectedSha1) {
    log(`reusing verified ${tarball}`);
  } else {
    const t0 = Date.now();
    log(`downloading ${url}`);
    await download(url, tarball, expectedSha1);
    const { size } = await stat(tarball);
    log(
      `downloaded ${mib(size)} (${size} bytes) in ${((Date.now() - t0) / 1000).toFixed(1)} s, sha1 ${expectedSha1} ok`,
    );
  }

  const t1 = Date.now();
  log(`extracting into ${home}`);
  // Extract beside the target and rename, so a half-extracted tree is never mistaken for a good one.
  const tmp = await mkdtemp(join(root, `.extract-${version}-`));
  try {
    await run("tar", ["-xzf", tarball, "-C", tmp]);
    if (!existsSync(join(tmp, name, "bin", "launcher")))
      throw new Error(`${tarball} has no ${name}/bin/launcher`);
    await writeFile(join(tmp, name, MARKER), `${expectedSha1}\n`);
    // A concurrent fetch (CI pre-fetch racing a test run) may have finished first; keep its tree in place.
    if (!existsSync(join(home, MARKER))) {
      await rm(home, { recursive: true, force: true });
      await rename(join(tmp, name), home);
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  log(`extracted in ${((Date.now() - t1) / 1000).toFixed(1)} s`);
  return result;
}

async function diskUsage(path: string): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn("du", ["-sh", path], { stdio: ["ignore", "pipe", "ignore"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.on("close", () => resolve(out.split(/\s/)[0] ?? "?"));
  });
}

const invokedPath = process.argv[1];
if (invokedPath && import.meta.url === pathToFileURL(invokedPath).href) {
  const t0 = Date.now();
  const install = await ensureTrino();
  const { size } = await stat(join(cacheRoot(), `trino-server-${install.version}.tar.gz`));
  log(
    `Trino ${install.version} ready at ${install.home} (tarball ${mib(size)}, extracted ${await diskUsage(install.home)}), ` +
      `Java ${install.javaMajor} at ${install.javaHome}, total ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
}
