/**
 * deletePublishedAsOf on a lake directory (LocalModelOutputs): what `crmlake runs delete` does beyond the
 * cases test/e2e/future-dates.test.ts runs through the CLI. A dead run's half-done publish of the as-of is
 * finished before the deletion (else its journal would bring the partition back), and a delete killed half-way
 * finishes when run again.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { deletePublishedAsOf } from "../../functions/core/runner/delete.ts";
import type { RunRecord } from "../../functions/core/runner/runs.ts";
import { LocalModelOutputs } from "../../functions/storage/local-outputs.ts";

const FUTURE = "2150-01-01";
const PAST = "2024-12-31";

function record(runId: string, asOf: string, status: RunRecord["status"]): RunRecord {
  return {
    run_id: runId,
    as_of: asOf,
    status,
    engine: "duckdb",
    started_at: "2026-12-06 10:00:00.000",
    finished_at: "2026-12-06 10:00:01.000",
    duration_ms: 1000,
    models_requested: null,
    config: "{}",
    models: [],
    bytes_scanned: null,
    cost_usd: null,
    error: null,
  };
}

let lake: string;
let outputs: LocalModelOutputs;

/** A published partition: the deletion looks at files, not at their contents. */
async function publish(model: string, asOf: string): Promise<void> {
  const dir = join(lake, "models", model, `as_of=${asOf}`);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "data.parquet"), "not read");
}

async function partitions(): Promise<string[]> {
  return (await outputs.publishedPartitions()).map((p) => `${p.model}/${p.asOf}`).sort();
}

beforeEach(async () => {
  lake = await mkdtemp(join(tmpdir(), "crmlake-runs-delete-"));
  outputs = new LocalModelOutputs(lake);
  for (const model of ["customer_base", "customer_scores"]) {
    await publish(model, PAST);
    await publish(model, FUTURE);
  }
  await outputs.writeRunRecord(record("r-past", PAST, "succeeded"));
  await outputs.writeRunRecord(record("r-future", FUTURE, "succeeded"));
  await outputs.writeRunRecord(record("r-future-failed", FUTURE, "failed"));
});

afterEach(async () => {
  await rm(lake, { recursive: true, force: true });
});

describe("deleting a published as-of", () => {
  it("removes its partitions, marks the runs that published it and names the latest left", async () => {
    const deleted = await deletePublishedAsOf(outputs, FUTURE, {
      now: () => new Date("2026-12-06T12:00:00Z"),
    });
    expect(deleted).toEqual({
      asOf: FUTURE,
      models: ["customer_base", "customer_scores"],
      runs: ["r-future"],
      latest: PAST,
    });
    expect(await partitions()).toEqual([`customer_base/${PAST}`, `customer_scores/${PAST}`]);
    const statuses = (await outputs.listRunRecords()).map((r) => [r.run_id, r.status, r.error]).sort();
    expect(statuses).toEqual([
      [
        "r-future",
        "deleted",
        `Its outputs were deleted on 2026-12-06 12:00:00.000 (crmlake runs delete --as-of ${FUTURE})`,
      ],
      // A failed run published nothing: its record stays as it was.
      ["r-future-failed", "failed", null],
      ["r-past", "succeeded", null],
    ]);
  });

  it("finishes a dead run's publish of the as-of first, so that no journal brings it back", async () => {
    // A run of FUTURE died between its journal and the renames (local-outputs.ts, step 3).
    const staged = join(lake, "runs", "staging", "r-dead", "customer_rfm", `as_of=${FUTURE}`);
    await mkdir(staged, { recursive: true });
    await writeFile(join(staged, "data.parquet"), "not read");
    await writeFile(
      join(lake, "runs", "staging", "r-dead", "_publish.json"),
      JSON.stringify({
        run_id: "r-dead",
        as_of: FUTURE,
        partitions: [{ model: "customer_rfm", files: ["data.parquet"] }],
      }),
    );
    await outputs.writeRunRecord(record("r-dead", FUTURE, "running"));
    const deleted = await deletePublishedAsOf(outputs, FUTURE);
    expect(deleted.models).toEqual(["customer_base", "customer_rfm", "customer_scores"]);
    await outputs.recover("a-later-run");
    expect(await partitions()).toEqual([`customer_base/${PAST}`, `customer_scores/${PAST}`]);
    expect(await readdir(join(lake, "models"))).toEqual(["customer_base", "customer_scores"]);
  });

  it("finishes a delete killed after marking the runs, when run again", async () => {
    await outputs.writeRunRecord({ ...record("r-future", FUTURE, "deleted"), error: "killed half-way" });
    const deleted = await deletePublishedAsOf(outputs, FUTURE);
    expect(deleted).toMatchObject({ models: ["customer_base", "customer_scores"], runs: [], latest: PAST });
    await expect(deletePublishedAsOf(outputs, FUTURE)).rejects.toThrow(
      `Nothing is published as of ${FUTURE} in ${lake}. Published as-ofs: ${PAST}`,
    );
  });

  it("leaves nothing published, and says so, when the last as-of goes", async () => {
    await deletePublishedAsOf(outputs, FUTURE);
    expect((await deletePublishedAsOf(outputs, PAST)).latest).toBeUndefined();
    await expect(deletePublishedAsOf(outputs, PAST)).rejects.toThrow(
      `Nothing is published as of ${PAST} in ${lake}: nothing is published there at all`,
    );
  });
});
