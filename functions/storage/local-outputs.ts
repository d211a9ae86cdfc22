/**
 * The ModelOutputs adapter of a lake directory (the port: functions/core/ports/model-outputs.ts).
 *
 * Local publishing (docs/adr/0002-model-runner.md):
 * 1. every model of the run is written under runs/staging/<run_id>/; nothing under models/ changes;
 * 2. when all succeeded, a journal (_publish.json) listing every partition and its files is written;
 * 3. each staged file is renamed over its published name — rename(2) replaces a file atomically, so a
 *    reader of one model sees the old file or the new one, never half of either;
 * 4. published files the journal does not list are removed, then the staging directory.
 * A run that dies before step 2 leaves only staging debris (removed by the next run); one that dies
 * during steps 3–4 is rolled forward by the next run from the journal. A failed run never reaches step 2.
 */

import { mkdir, open, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname, join } from "node:path";
import { MODEL_LAYOUT } from "../core/catalogue/layout.ts";
import { RunLockedError, StorageError } from "../core/errors.ts";
import { type DeletableOutputs, isDataFile, type PublishedPartition } from "../core/ports/model-outputs.ts";
import { parseRunRecord, type RunRecord, timestampText } from "../core/runner/runs.ts";
import { processAlive } from "./local.ts";

interface Journal {
  run_id: string;
  as_of: string;
  partitions: { model: string; files: string[] }[];
}

interface LockInfo {
  run_id: string;
  pid: number;
  host: string;
  started_at: string;
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === "ENOENT";
}

async function listFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => e.name)
      .sort();
  } catch (error) {
    if (isMissing(error)) return [];
    throw error;
  }
}

async function listDirs(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true }))
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  } catch (error) {
    if (isMissing(error)) return [];
    throw error;
  }
}

/** Writes a small file by writing a sibling and renaming it into place. */
async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

export class LocalModelOutputs implements DeletableOutputs {
  readonly location: string;

  constructor(lakeDir: string) {
    this.location = lakeDir;
  }

  private path(key: string): string {
    return join(this.location, ...key.split("/").filter((p) => p !== ""));
  }

  stagingTable(runId: string, model: string): string {
    return this.path(MODEL_LAYOUT.stagingTable(runId, model));
  }

  async lock(runId: string): Promise<() => Promise<void>> {
    const file = this.path(MODEL_LAYOUT.lock);
    await mkdir(join(file, ".."), { recursive: true });
    const info: LockInfo = {
      run_id: runId,
      pid: process.pid,
      host: hostname(),
      started_at: new Date().toISOString(),
    };
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const handle = await open(file, "wx");
        await handle.writeFile(JSON.stringify(info));
        await handle.close();
        return async () => {
          await rm(file, { force: true });
        };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        let holder: LockInfo | undefined;
        try {
          holder = JSON.parse(await readFile(file, "utf8")) as LockInfo;
        } catch {
          holder = undefined;
        }
        // A lock left by a process of this host that no longer exists is stale: take it over.
        if (
          holder !== undefined &&
          holder.host === hostname() &&
          !processAlive(holder.pid) &&
          attempt === 0
        ) {
          await rm(file, { force: true });
          continue;
        }
        const who =
          holder === undefined
            ? "an unreadable lock file"
            : `run ${holder.run_id} (pid ${holder.pid} on ${holder.host}, started ${holder.started_at})`;
        throw new RunLockedError(
          "run_locked",
          `Another run is using the lake ${this.location}: ${who}. Wait for it, or remove it with crmlake runs unlock --lake ${this.location} if that run is gone.`,
        );
      }
    }
    throw new RunLockedError("run_locked", `Could not take the run lock ${file}`);
  }

  async recover(currentRunId: string): Promise<void> {
    await this.failAbandonedRuns(currentRunId);
    const stagingRoot = this.path(MODEL_LAYOUT.stagingRoot);
    let runs: string[];
    try {
      runs = (await readdir(stagingRoot, { withFileTypes: true }))
        .filter((e) => e.isDirectory())
        .map((e) => e.name);
    } catch (error) {
      if (isMissing(error)) return;
      throw error;
    }
    for (const runId of runs.sort()) {
      if (runId === currentRunId) continue;
      let journal: Journal | undefined;
      try {
        journal = JSON.parse(
          await readFile(this.path(MODEL_LAYOUT.publishJournal(runId)), "utf8"),
        ) as Journal;
      } catch (error) {
        if (!isMissing(error) && !(error instanceof SyntaxError)) throw error;
      }
      if (journal !== undefined) await this.applyJournal(journal);
      await rm(this.path(MODEL_LAYOUT.stagingPrefix(runId)), { recursive: true, force: true });
    }
  }

  /**
   * Runs recorded `running` other than this one: this process holds the lake's run lock, so theirs are gone
   * (killed, or crashed before recording an outcome). They are recorded failed, so that nobody waits for
   * them and they stop pinning the inputs they read.
   */
  private async failAbandonedRuns(currentRunId: string): Promise<void> {
    for (const record of await this.listRunRecords()) {
      if (record.status !== "running" || record.run_id === currentRunId) continue;
      await this.writeRunRecord({
        ...record,
        status: "failed",
        finished_at: record.finished_at ?? timestampText(new Date()),
        error:
          record.error ??
          `The process running it ended without recording an outcome; run ${currentRunId} found it so.`,
      });
    }
  }

  async publish(runId: string, asOf: string, models: readonly string[]): Promise<void> {
    const partition = MODEL_LAYOUT.partitionDir(asOf);
    const journal: Journal = { run_id: runId, as_of: asOf, partitions: [] };
    for (const model of models) {
      const files = await listFiles(join(this.stagingTable(runId, model), partition));
      journal.partitions.push({ model, files });
    }
    await mkdir(this.path(MODEL_LAYOUT.stagingPrefix(runId)), { recursive: true });
    await writeAtomic(this.path(MODEL_LAYOUT.publishJournal(runId)), JSON.stringify(journal));
    await this.applyJournal(journal);
    await rm(this.path(MODEL_LAYOUT.stagingPrefix(runId)), { recursive: true, force: true });
  }

  /** Idempotent: moves what is still staged, then removes published files the journal does not list. */
  private async applyJournal(journal: Journal): Promise<void> {
    const partition = MODEL_LAYOUT.partitionDir(journal.as_of);
    for (const { model, files } of journal.partitions) {
      const staged = join(this.stagingTable(journal.run_id, model), partition);
      const target = join(this.path(MODEL_LAYOUT.modelPrefix(model)), partition);
      await mkdir(target, { recursive: true });
      for (const file of files) {
        try {
          await rename(join(staged, file), join(target, file));
        } catch (error) {
          if (!isMissing(error)) throw error; // already moved by an earlier attempt
        }
      }
      for (const stale of await listFiles(target)) {
        if (!files.includes(stale)) await rm(join(target, stale), { force: true });
      }
    }
  }

  async discard(runId: string): Promise<void> {
    await rm(this.path(MODEL_LAYOUT.stagingPrefix(runId)), { recursive: true, force: true });
  }

  async clearTable(runId: string, model: string): Promise<void> {
    await rm(this.stagingTable(runId, model), { recursive: true, force: true });
  }

  async writeRunRecord(record: RunRecord): Promise<void> {
    const file = this.path(MODEL_LAYOUT.runRecord(record.run_id));
    await mkdir(join(file, ".."), { recursive: true });
    await writeAtomic(file, `${JSON.stringify(record)}\n`);
  }

  async readRunRecord(runId: string): Promise<RunRecord | undefined> {
    try {
      const file = this.path(MODEL_LAYOUT.runRecord(runId));
      return parseRunRecord(await readFile(file, "utf8"), file);
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async listRunRecords(): Promise<RunRecord[]> {
    const dir = this.path(MODEL_LAYOUT.runLogPrefix);
    const records: RunRecord[] = [];
    for (const name of (await listFiles(dir)).filter((n) => n.endsWith(".json"))) {
      const file = join(dir, name);
      records.push(parseRunRecord(await readFile(file, "utf8"), file));
    }
    return records;
  }

  async publishedPartitions(): Promise<PublishedPartition[]> {
    const partitions: PublishedPartition[] = [];
    const prefix = MODEL_LAYOUT.partitionDir("");
    for (const model of await listDirs(this.path(MODEL_LAYOUT.modelsPrefix))) {
      const modelDir = this.path(MODEL_LAYOUT.modelPrefix(model));
      for (const dir of await listDirs(modelDir)) {
        if (!dir.startsWith(prefix)) continue;
        if ((await listFiles(join(modelDir, dir))).some(isDataFile)) {
          partitions.push({ model, asOf: dir.slice(prefix.length) });
        }
      }
    }
    return partitions;
  }

  async deletePartition({ model, asOf }: PublishedPartition): Promise<void> {
    const modelDir = this.path(MODEL_LAYOUT.modelPrefix(model));
    await rm(join(modelDir, MODEL_LAYOUT.partitionDir(asOf)), { recursive: true, force: true });
    // A model left with no partition goes too, so that nothing lists an empty table.
    if ((await readdir(modelDir).catch(() => [""])).length === 0) await rm(modelDir, { recursive: true });
  }

  async listTableFiles(location: string): Promise<string[]> {
    return (await listFiles(location)).filter(isDataFile).map((name) => join(location, name));
  }

  async readObject(location: string): Promise<Uint8Array> {
    try {
      return await readFile(location);
    } catch (error) {
      throw new StorageError(
        isMissing(error) ? "missing_object" : "read_failed",
        `Cannot read ${location}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  async writeObject(location: string, bytes: Uint8Array): Promise<void> {
    await mkdir(dirname(location), { recursive: true });
    await writeFile(location, bytes);
  }
}
