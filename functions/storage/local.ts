import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import {
  copyFile,
  link,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  writeFile,
} from "node:fs/promises";
import { hostname } from "node:os";
import { dirname, join, relative, resolve, sep } from "node:path";
import { pipeline } from "node:stream/promises";
import { StorageError } from "../core/errors.ts";
import type { ObjectInfo, ObjectStore, TaggedObject, WriteCondition } from "../core/ports/object-store.ts";

/** A local object's entity tag: the SHA-256 of its bytes (equal bytes, equal tag, as S3's MD5 ETag). */
function etagOf(body: string | Uint8Array): string {
  return createHash("sha256").update(body).digest("hex");
}

/** How long a conditional replace waits for another writer of the same key (it holds the key's lock briefly). */
const KEY_LOCK_WAIT_MS = 10_000;
/** A key lock older than this was left by a writer that died between taking and releasing it. */
const KEY_LOCK_STALE_MS = 30_000;

/** Whether a process of this host with this pid exists (a lock's holder, before its lock is taken over). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * An ObjectStore on the local filesystem. Writes go to a temporary sibling first and are renamed into
 * place, so a reader never sees half a file (rename is atomic within one filesystem).
 */
export class LocalObjectStore implements ObjectStore {
  readonly location: string;

  constructor(root: string) {
    this.location = resolve(root);
  }

  /** `file://` and the absolute path, unencoded: the form Trino's and Hive's readers take in a manifest. */
  uri(key: string): string {
    return `file://${this.path(key)}`;
  }

  private path(key: string): string {
    if (key.split("/").includes("..")) {
      throw new StorageError("bad_key", `Object key "${key}" must not contain ".."`);
    }
    return join(this.location, ...key.split("/"));
  }

  private async atomicWrite(key: string, write: (tmp: string) => Promise<void>): Promise<void> {
    const target = this.path(key);
    await mkdir(dirname(target), { recursive: true });
    const tmp = `${target}.tmp-${process.pid}-${Date.now()}`;
    try {
      await write(tmp);
      await rename(tmp, target);
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
  }

  async put(key: string, body: string | Uint8Array): Promise<void> {
    await this.atomicWrite(key, (tmp) => writeFile(tmp, body));
  }

  async putFile(key: string, localPath: string): Promise<void> {
    await this.atomicWrite(key, (tmp) => copyFile(localPath, tmp));
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      return await readFile(this.path(key));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") return undefined;
      throw error;
    }
  }

  async getTagged(key: string): Promise<TaggedObject | undefined> {
    const body = await this.get(key);
    return body === undefined ? undefined : { body, etag: etagOf(body) };
  }

  /**
   * Create-if-absent is one link(2) of a fully written temporary file: it fails when the name exists, so the
   * object appears whole or not at all. Replace-if-unchanged compares and renames while holding the key's
   * lock file (created with O_EXCL; a lock left by a dead process of this host, or older than 30 s, is
   * taken over), so two replacers of one key take turns.
   */
  async putIf(
    key: string,
    body: string | Uint8Array,
    condition: WriteCondition,
  ): Promise<string | undefined> {
    const target = this.path(key);
    await mkdir(dirname(target), { recursive: true });
    if ("ifNoneMatch" in condition) {
      const tmp = `${target}.tmp-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
      await writeFile(tmp, body);
      try {
        await link(tmp, target);
        return etagOf(body);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "EEXIST") return undefined;
        throw error;
      } finally {
        await rm(tmp, { force: true });
      }
    }
    const release = await this.lockKey(target);
    try {
      const current = await this.getTagged(key);
      if (current?.etag !== condition.ifMatch) return undefined;
      await this.put(key, body);
      return etagOf(body);
    } finally {
      await release();
    }
  }

  private async lockKey(target: string): Promise<() => Promise<void>> {
    const lock = `${target}.lock-key`;
    const deadline = Date.now() + KEY_LOCK_WAIT_MS;
    for (let wait = 5; ; wait = Math.min(wait * 2, 200)) {
      try {
        const handle = await open(lock, "wx");
        await handle.writeFile(JSON.stringify({ pid: process.pid, host: hostname(), at: Date.now() }));
        await handle.close();
        return () => rm(lock, { force: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      }
      let holder: { pid?: number; host?: string; at?: number } | undefined;
      try {
        holder = JSON.parse(await readFile(lock, "utf8")) as typeof holder;
      } catch {
        holder = undefined; // being written, or removed meanwhile
      }
      const dead = holder?.host === hostname() && holder.pid !== undefined && !processAlive(holder.pid);
      const old = holder?.at !== undefined && Date.now() - holder.at > KEY_LOCK_STALE_MS;
      if (dead || old) {
        await rm(lock, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new StorageError(
          "key_locked",
          `Could not write ${target}: another process has held ${lock} for over ${KEY_LOCK_WAIT_MS / 1000} s`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  async getToFile(key: string, localPath: string): Promise<void> {
    const source = this.path(key);
    try {
      await stat(source);
    } catch {
      throw new StorageError("not_found", `Object "${key}" does not exist in ${this.location}`);
    }
    await mkdir(dirname(localPath), { recursive: true });
    await pipeline(createReadStream(source), createWriteStream(localPath));
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const base = this.path(prefix.replace(/\/+$/, ""));
    const out: ObjectInfo[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries: import("node:fs").Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (error) {
        if (
          (error as NodeJS.ErrnoException).code === "ENOENT" ||
          (error as NodeJS.ErrnoException).code === "ENOTDIR"
        )
          return;
        throw error;
      }
      for (const entry of entries) {
        const full = join(dir, entry.name);
        if (entry.isDirectory()) await walk(full);
        else if (entry.isFile() && !entry.name.includes(".tmp-") && !entry.name.endsWith(".lock-key")) {
          const key = relative(this.location, full).split(sep).join("/");
          if (key.startsWith(prefix)) {
            const info = await stat(full);
            out.push({ key, size: info.size, lastModified: info.mtime });
          }
        }
      }
    };
    await walk(prefix.endsWith("/") || prefix === "" ? base : dirname(base));
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) await rm(this.path(key), { force: true });
  }
}
