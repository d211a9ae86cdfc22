/**
 * Issue 11, case 1 on S3: identical drops ingested at the same time into one lake bucket (on AWS, SQS hands
 * files to concurrent Lambdas). The content claim is a conditional create, which moto answers as S3 does.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ingestDrop } from "../../functions/core/ingest/ingest.ts";
import { readLedger } from "../../functions/core/ledger/ledger.ts";
import { S3ObjectStore } from "../../functions/storage/s3.ts";
import { type MotoServer, motoS3, startMoto } from "./moto-server.ts";

const BUCKET = "crmlake-ingest";
let moto: MotoServer;
let s3: S3Client;
let scratch = "";

beforeAll(async () => {
  moto = await startMoto();
  s3 = await motoS3(moto, BUCKET);
  scratch = await mkdtemp(join(tmpdir(), "crmlake-moto-ingest-"));
});

afterAll(async () => {
  s3?.destroy();
  await moto?.stop();
  if (scratch !== "") await rm(scratch, { recursive: true, force: true });
});

describe("ingest on moto's S3", () => {
  it("of identical drops ingested at once under different keys, exactly one is committed", async () => {
    const lake = new S3ObjectStore({ bucket: BUCKET, prefix: "lake", client: s3 });
    const rows = ["order_id,customer_id,ordered_at,amount"];
    for (let i = 0; i < 3000; i++) rows.push(`o${i},c${i % 101},2024-03-0${1 + (i % 9)},${i % 40}.50`);
    const content = `${rows.join("\n")}\n`;
    const sources = ["a", "b", "c"].map((name) => ({
      localPath: join(scratch, `${name}.csv`),
      uri: `s3://landing/transactions/${name}.csv`,
    }));
    for (const source of sources) await writeFile(source.localPath, content);
    const results = await Promise.allSettled(
      sources.map((source) =>
        ingestDrop({
          store: lake,
          dataset: "transactions",
          source,
          workDir: scratch,
          duckdb: { threads: 1 },
        }),
      ),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    for (const r of results) {
      if (r.status === "rejected") {
        expect((r.reason as { code?: string }).code).toMatch(/^duplicate_(drop|in_progress)$/);
      }
    }
    const committed = (await readLedger(lake)).filter((r) => r.status === "ok");
    expect(committed).toHaveLength(1);
    expect(committed[0]?.rows_ok).toBe(3000);
  });
});
