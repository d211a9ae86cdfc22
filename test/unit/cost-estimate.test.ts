/**
 * The monthly cost estimate of docs/deploying.md (issue 18, item 8): its table is what bench/cost.ts prices
 * from the measured sizes in bench/cost-results.json, and Athena's bytes per run scale the Trino tier's
 * measurement (bench/trino-bytes-results.json).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  customMetricNames,
  estimate,
  PRICES,
  readTrinoBytes,
  type SizeMeasure,
  scannedPerRun,
  type TrinoBytes,
  table,
} from "../../bench/cost.ts";
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
  it("is the table docs/deploying.md shows, from the measured sizes (npx tsx bench/cost.ts price)", () => {
    const measured = JSON.parse(
      readFileSync(join(PROJECT_ROOT, "bench", "cost-results.json"), "utf8"),
    ) as SizeMeasure[];
    expect(measured.map((m) => m.customers)).toEqual([10_000, 100_000, 1_000_000]);
    const metrics = customMetricNames().length;
    const expected = table(measured.map((m) => estimate(m, readTrinoBytes(), metrics)));
    const doc = readFileSync(join(PROJECT_ROOT, "docs", "deploying.md"), "utf8");
    const shown = doc.slice(
      doc.indexOf("<!-- cost-table: npx tsx bench/cost.ts price -->\n") + 49,
      doc.indexOf("\n<!-- /cost-table -->"),
    );
    expect(shown).toBe(expected);
    expect(doc).toContain("list prices as published in 2026, not verified here");
  });

  it("scales the Trino tier's two-year ratio by the lake's curated transactions, each reading statement billed 10 MB at least", () => {
    const trino: TrinoBytes = {
      customers: 10,
      measured: [
        { years: 1, lines: 1, curatedTransactionBytes: 1, runBytes: 1000, scanningStatements: 1 },
        { years: 2, lines: 2, curatedTransactionBytes: 2 * MiB, runBytes: 190 * MiB, scanningStatements: 3 },
      ],
    };
    const scan = scannedPerRun(sizes({ transactions: 10 * MiB, customers: 5 * MiB }), trino);
    expect(scan.ratio).toBe(95);
    expect(scan.bytes).toBe(950 * MiB);
    expect(scan.statements).toBe(3);
    expect(scan.billedBytes).toBe(950 * MiB + 3 * PRICES.athenaMinBytesPerQuery);
    // An empty lake still pays the minimum of every statement.
    expect(scannedPerRun(sizes({}), trino).billedBytes).toBe(3 * PRICES.athenaMinBytesPerQuery);
  });

  it("reads the ratio from a real measurement: every year count, and a run reading far more than its floor", () => {
    const trino = readTrinoBytes();
    expect(trino.measured.map((m) => m.years)).toEqual([1, 2, 4]);
    for (const m of trino.measured) {
      expect(m.runBytes / m.curatedTransactionBytes).toBeGreaterThan(10);
      expect(m.scanningStatements).toBeGreaterThan(100);
    }
  });
});
