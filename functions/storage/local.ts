import { createReadStream, createWriteStream } from "node:fs";
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import { pipeline } from "node:stream/promises";
import { StorageError } from "../core/errors.ts";
import type { ObjectInfo, ObjectStore } from "../core/ports/object-store.ts";

/**
 * An ObjectStore on the local filesystem. Writes go to a temporary sibling first and are renamed into
 * place, so a reader never sees half a file (rename is atomic within one filesystem).
 */
export class LocalObjectStore implements ObjectStore {
  readonly location: string;

  constructor(root: string) {
    this.location = resolve(root);
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
        else if (entry.isFile() && !entry.name.includes(".tmp-")) {
          const key = relative(this.location, full).split(sep).join("/");
          if (key.startsWith(prefix)) out.push({ key, size: (await stat(full)).size });
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
