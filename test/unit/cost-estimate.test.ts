/**
 * The monthly cost estimate of docs/deploying.md (issue 18, item 8): its table is what bench/cost.ts prices
 * from the measured sizes in bench/cost-results.json, and the bound on Athena's bytes per run follows the
 * model graph as its comment says.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  customMetricNames,
  estimate,
  PRICES,
  type SizeMeasure,
  scannedPerRun,
  table,
} from "../../bench/cost.ts";
import type { Model } from "../../functions/core/catalogue/models.ts";
import { loadCatalogueModels } from "../../functions/core/catalogue/stages.ts";
import { PROJECT_ROOT } from "../../infra/config.ts";

const MiB = 1024 ** 2;

function sizes(inputBytes: Record<string, number>, modelBytes: Record<string, number> = {}): SizeMeasure {
  return {
    customers: 1,
    lines: 1,
    landedBytes: 0,
    inputBytes,
    modelBytes,
    ingestSeconds: 0,
    runSeconds: 0,
  };
}

describe("the monthly cost estimate", () => {
  let models: Model[];
  beforeAll(async () => {
    models = await loadCatalogueModels(join(PROJECT_ROOT, "sql"));
  });

  it("is the table docs/deploying.md shows, from the measured sizes (npx tsx bench/cost.ts price)", () => {
    const measured = JSON.parse(
      readFileSync(join(PROJECT_ROOT, "bench", "cost-results.json"), "utf8"),
    ) as SizeMeasure[];
    expect(measured.map((m) => m.customers)).toEqual([10_000, 100_000, 1_000_000]);
    const metrics = customMetricNames().length;
    const expected = table(measured.map((m) => estimate(models, m, metrics)));
    const doc = readFileSync(join(PROJECT_ROOT, "docs", "deploying.md"), "utf8");
    const shown = doc.slice(
      doc.indexOf("<!-- cost-table: npx tsx bench/cost.ts price -->\n") + 49,
      doc.indexOf("\n<!-- /cost-table -->"),
    );
    expect(shown).toBe(expected);
    expect(doc).toContain("list prices as published in 2026, not verified here");
  });

  it("bills every statement at least 10 MB: an empty lake still costs its statements", () => {
    const empty = scannedPerRun(models, sizes({}));
    expect(empty.bytes).toBe(0);
    const tables = models.filter((m) => m.header.materialized === "table");
    expect(empty.statements).toBeGreaterThanOrEqual(4 * tables.length);
    expect(empty.billedBytes).toBe(empty.statements * PRICES.athenaMinBytesPerQuery);
  });

  it("counts an input once for every path a published model reaches it by, through views", () => {
    const once = scannedPerRun(models, sizes({ transactions: 1000 * MiB }));
    // stg_order_lines (temporary: a view on Athena) and stg_transactions read transactions; many tables
    // read them, so the input counts many times over, in whole reads.
    expect(once.bytes % (1000 * MiB)).toBe(0);
    expect(once.bytes / (1000 * MiB)).toBeGreaterThan(5);
    // A model table's output counts for each model reading it, and once more for its own key check.
    const rfm = scannedPerRun(models, sizes({}, { customer_rfm: 1000 * MiB }));
    const readers = models.filter(
      (m) => m.header.materialized === "table" && m.header.dependsOn.includes("customer_rfm"),
    ).length;
    expect(rfm.bytes).toBe((readers + 1) * 1000 * MiB);
  });
});
