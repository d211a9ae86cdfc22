import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DatasetName } from "../../functions/core/catalogue/contracts.ts";
import { ingestDrop } from "../../functions/core/ingest/ingest.ts";
import { parseProfile } from "../../functions/core/ingest/profile.ts";
import { takeSnapshot } from "../../functions/core/ledger/ledger.ts";
import { attachLakeViews } from "../../functions/engines/duckdb/lake-views.ts";
import { openDuckDB } from "../../functions/engines/duckdb/session.ts";
import { LocalObjectStore } from "../../functions/storage/local.ts";

/** A throw-away lake on local disk, with helpers to drop files into it and query it. */
export async function tempLake() {
  const root = await mkdtemp(join(tmpdir(), "crmlake-test-"));
  const lakeDir = join(root, "lake");
  const inbox = join(root, "inbox");
  const store = new LocalObjectStore(lakeDir);
  return {
    root,
    lakeDir,
    store,
    /** Writes a file into the inbox and returns its path. */
    async file(name: string, content: string | Uint8Array): Promise<string> {
      const path = join(inbox, name);
      await import("node:fs/promises").then((fs) => fs.mkdir(inbox, { recursive: true }));
      await writeFile(path, content);
      return path;
    },
    async ingest(dataset: DatasetName, path: string, profile?: unknown) {
      return ingestDrop({
        store,
        dataset,
        source: { localPath: path, uri: path },
        ...(profile === undefined ? {} : { profile: parseProfile(profile, "test profile") }),
        workDir: root,
        duckdb: { threads: 2, memoryLimit: "512MB" },
      });
    },
    /** Runs SQL over the lake's views; values as DuckDB's JSON form (decimals and big integers as strings). */
    async query(sql: string): Promise<Record<string, unknown>[]> {
      const session = await openDuckDB({ threads: 1 });
      try {
        await attachLakeViews(session.connection, lakeDir, await takeSnapshot(store));
        return (await session.connection.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
      } finally {
        session.close();
      }
    },
  };
}
