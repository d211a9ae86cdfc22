/**
 * Issue 18 asked that the input tables' projected months (once 2000-01 to the current month) match what ingest
 * accepts (years 1900–2199). Since lake format 3 (issue 11, ADR 0010) the dataset tables are symlink tables over
 * the ledger's manifests and project nothing, so no month ingest accepts can fall outside a table. This keeps it
 * so: the only projected partitions are the system tables' enums of fixed directories, never a range of dates or
 * numbers that a catalogue could cut short.
 */
import { describe, expect, it } from "vitest";
import { DATASET_NAMES } from "../../functions/core/catalogue/contracts.ts";
import { lakeTables, modelOutputTables, partitioning } from "../../infra/constructs/lake-catalog.ts";
import { MODELS } from "./helpers.ts";

describe("partition projection", () => {
  const tables = [...lakeTables(), ...modelOutputTables(MODELS)];

  it("projects no range: every projected partition key is an enum", () => {
    const projected = tables.filter((t) => partitioning(t) === "projected");
    expect(projected.length).toBeGreaterThan(0);
    for (const table of projected) {
      for (const [key, props] of Object.entries(table.projection)) {
        expect([table.name, key, props.type]).toEqual([table.name, key, "enum"]);
        expect(props).not.toHaveProperty("range");
      }
    }
  });

  it("reads every dataset through its manifest, unpartitioned, so all of ingest's dates are visible", () => {
    for (const dataset of DATASET_NAMES) {
      const table = tables.find((t) => t.name === dataset);
      expect(table).toMatchObject({ format: "parquet-symlink", partitionKeys: [], projection: {} });
    }
  });
});
