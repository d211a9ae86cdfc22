import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { DatasetName } from "../../functions/core/catalogue/contracts.ts";
import { IngestError } from "../../functions/core/errors.ts";
import { generate } from "../../functions/core/generate/generate.ts";
import { DEFAULT_OPTIONS } from "../../functions/core/generate/options.ts";
import { ingestDrop } from "../../functions/core/ingest/ingest.ts";
import type { LedgerRecord } from "../../functions/core/ingest/types.ts";
import { LocalObjectStore } from "../../functions/storage/local.ts";

interface TruthFile {
  path: string;
  dataset: DatasetName;
  rows: number;
  clean_rows: number;
  faults: Record<string, number>;
}

/** Generates a business, ingests every file it wrote, and returns the ledger next to the ground truth. */
async function generateAndIngest(dirty: number) {
  const root = await mkdtemp(join(tmpdir(), "crmlake-gen-ingest-"));
  const out = join(root, "drops");
  await generate({ ...DEFAULT_OPTIONS, out, customers: 600, seed: 7, dirty, force: true });
  const truth = JSON.parse(await readFile(join(out, "ground_truth.json"), "utf8")) as {
    files: TruthFile[];
    faults: { duplicate_drops: { path: string; copy_of: string }[] };
  };
  const store = new LocalObjectStore(join(root, "lake"));
  const ledgers = new Map<string, LedgerRecord>();
  const rejections = new Map<string, IngestError>();
  for (const file of truth.files) {
    const path = join(out, file.path);
    try {
      ledgers.set(
        file.path,
        (
          await ingestDrop({
            store,
            dataset: file.dataset,
            source: { localPath: path, uri: path },
            workDir: root,
          })
        ).ledger,
      );
    } catch (error) {
      if (!(error instanceof IngestError)) throw error;
      rejections.set(file.path, error);
    }
  }
  return { truth, ledgers, rejections };
}

describe("generated drops through ingest", () => {
  it("ingest cleanly when the generator injects no fault", async () => {
    const { truth, ledgers, rejections } = await generateAndIngest(0);
    expect([...rejections.keys()]).toEqual([]);
    for (const file of truth.files) {
      expect(ledgers.get(file.path), file.path).toMatchObject({
        rows_in: file.rows,
        rows_ok: file.rows,
        rows_quarantined: 0,
      });
    }
  });

  it("quarantine exactly the injected faults, file by file, and reject the re-delivered copy", async () => {
    const { truth, ledgers, rejections } = await generateAndIngest(0.01);
    const duplicates = new Set(truth.faults.duplicate_drops.flatMap((d) => [d.path, d.copy_of]));
    // Files are ingested in ground-truth order: of an original and its copy, the second one is rejected.
    expect([...rejections.values()].map((e) => e.code)).toEqual(["duplicate_drop"]);
    expect([...rejections.keys()].every((path) => duplicates.has(path))).toBe(true);
    let faults = 0;
    for (const file of truth.files) {
      const ledger = ledgers.get(file.path);
      if (!ledger) continue;
      expect(
        { rows_in: ledger.rows_in, rows_ok: ledger.rows_ok, reasons: ledger.quarantine_reasons },
        file.path,
      ).toEqual({ rows_in: file.rows, rows_ok: file.clean_rows, reasons: file.faults });
      faults += Object.values(file.faults).reduce((a, b) => a + b, 0);
    }
    expect(faults).toBeGreaterThan(20);
  });
});
