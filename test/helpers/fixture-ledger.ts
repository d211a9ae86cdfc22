/**
 * Commits ledger records for Parquet files a test wrote straight into a lake (fixture lakes built with DuckDB
 * COPY, not through ingest): readers read only what the ledger lists (docs/adr/0010), so each fixture dataset
 * becomes one committed drop whose files are every `.parquet` under `curated/<dataset>/`.
 */
import { DATASET_NAMES } from "../../functions/core/catalogue/contracts.ts";
import { LAKE } from "../../functions/core/catalogue/layout.ts";
import type { LedgerRecord } from "../../functions/core/ingest/types.ts";
import { LAKE_FORMAT_VERSION } from "../../functions/core/ledger/format.ts";
import { commitDrop } from "../../functions/core/ledger/ledger.ts";
import { LocalObjectStore } from "../../functions/storage/local.ts";

export async function commitFixtureFiles(lakeDir: string, dropId = "fixture"): Promise<void> {
  const store = new LocalObjectStore(lakeDir);
  // Written by this crmlake: the current format, recorded as ingest records it in a new lake.
  await store.put(LAKE.formatKey, `${JSON.stringify({ format_version: LAKE_FORMAT_VERSION })}\n`);
  for (const dataset of DATASET_NAMES) {
    const keys = (await store.list(LAKE.curatedPrefix(dataset)))
      .map((o) => o.key)
      .filter((k) => k.endsWith(".parquet"));
    if (keys.length === 0) continue;
    const record: LedgerRecord = {
      drop_id: `${dropId}-${dataset.replaceAll("_", "-")}`,
      dataset,
      source: `fixture:${dataset}`,
      content_sha256: dataset.padEnd(64, "0"),
      size_bytes: 0,
      format: "parquet",
      profile: null,
      status: "ok",
      rows_in: 0,
      rows_ok: 0,
      rows_quarantined: 0,
      quarantine_reasons: {},
      error_code: null,
      error: null,
      warnings: [],
      version: "fixture",
      output_keys: keys,
      started_at: "2024-01-01 00:00:00.000",
      finished_at: "2024-01-01 00:00:00.000",
      duration_ms: 0,
    };
    await commitDrop(store, record, { retire: async () => {} });
  }
}
