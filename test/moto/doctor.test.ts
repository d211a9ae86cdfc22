/**
 * `crmlake doctor` on a lake bucket (issue 11, point 5): the command line checks and repairs an S3 lake as
 * it does a local one, here on moto's S3 (CRMLAKE_S3_ENDPOINT), and the same doctorLake removes an orphan.
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LAKE, MODEL_LAYOUT } from "../../functions/core/catalogue/layout.ts";
import { ingestDrop } from "../../functions/core/ingest/ingest.ts";
import { doctorLake } from "../../functions/core/ledger/doctor.ts";
import { S3ObjectStore } from "../../functions/storage/s3.ts";
import { type MotoServer, motoS3, startMoto } from "./moto-server.ts";

const BUCKET = "crmlake-doctor";
const BIN = resolve("bin/crmlake.mjs");
let moto: MotoServer;
let s3: S3Client;
let scratch = "";

beforeAll(async () => {
  moto = await startMoto();
  s3 = await motoS3(moto, BUCKET);
  scratch = await mkdtemp(join(tmpdir(), "crmlake-moto-doctor-"));
});

afterAll(async () => {
  s3?.destroy();
  await moto?.stop();
  if (scratch !== "") await rm(scratch, { recursive: true, force: true });
});

function doctor(...args: string[]) {
  const run = spawnSync(process.execPath, [BIN, "doctor", "--lake", `s3://${BUCKET}/lake`, ...args], {
    encoding: "utf8",
    timeout: 120_000,
    env: {
      ...process.env,
      CRMLAKE_S3_ENDPOINT: moto.endpoint,
      AWS_ACCESS_KEY_ID: "testing",
      AWS_SECRET_ACCESS_KEY: "testing",
      AWS_REGION: "us-east-1",
    },
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe("crmlake doctor on a lake bucket", () => {
  it("reports and repairs a missing manifest and a run whose retries ran out; removes an orphan", async () => {
    const lake = new S3ObjectStore({ bucket: BUCKET, prefix: "lake", client: s3 });
    const csv = join(scratch, "jan.csv");
    await writeFile(csv, "order_id,customer_id,ordered_at,amount\no1,c1,2024-01-05,10.00\n");
    const { ledger } = await ingestDrop({
      store: lake,
      dataset: "transactions",
      source: { localPath: csv, uri: "s3://landing/transactions/jan.csv" },
      workDir: scratch,
      duckdb: { threads: 1 },
    });
    expect(doctor()).toMatchObject({ code: 0, stdout: expect.stringContaining("is healthy (format 3)") });

    // A crash between a commit and its manifest rebuild; a run started 8 hours ago, still "running".
    await lake.delete([LAKE.manifestKey("transactions")]);
    const started = new Date(Date.now() - 8 * 3600_000).toISOString().replace("T", " ").slice(0, 23);
    await lake.put(
      MODEL_LAYOUT.runRecord("gone"),
      `${JSON.stringify({ run_id: "gone", as_of: "2024-01-31", status: "running", engine: "athena", started_at: started, finished_at: null, duration_ms: null, models_requested: null, config: "{}", models: [], bytes_scanned: null, cost_usd: null, error: null })}\n`,
    );
    const found = doctor();
    expect(found.code).toBe(1);
    expect(found.stdout).toMatch(/found +manifest +ledger\/manifests\/transactions\/manifest: missing/);
    expect(found.stdout).toMatch(/found +stuck_run +gone: recorded running since/);

    const repaired = doctor("--repair");
    expect(repaired.code).toBe(0);
    expect(repaired.stdout).toMatch(/repaired +manifest/);
    expect(Buffer.from((await lake.get(LAKE.manifestKey("transactions"))) ?? []).toString()).toBe(
      ledger.output_keys
        .filter((k) => k.startsWith("curated/"))
        .map((k) => `s3://${BUCKET}/lake/${k}\n`)
        .join(""),
    );
    const run = JSON.parse(Buffer.from((await lake.get(MODEL_LAYOUT.runRecord("gone"))) ?? []).toString());
    expect(run.status).toBe("failed");
    expect(doctor()).toMatchObject({ code: 0 });

    // An orphan (a copy under curated/): the command line leaves objects younger than 15 minutes alone,
    // and moto's are all new, so this part calls the same doctorLake with no settling time.
    const orphan = "curated/transactions/order_month=2024-01/copy.parquet";
    await lake.put(orphan, (await lake.get(ledger.output_keys[0] ?? "")) ?? new Uint8Array());
    const report = await doctorLake(lake, {
      now: new Date(),
      repair: true,
      settleMs: 0,
      runAlive: async () => false,
    });
    expect(report.findings.map((f) => [f.kind, f.subject, f.repaired])).toEqual([["orphan", orphan, true]]);
    expect(await lake.get(orphan)).toBeUndefined();
  });
});
