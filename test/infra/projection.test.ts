/**
 * Issue 18 asked that the input tables' projected months (once 2000-01 to the current month) match what ingest
 * accepts (years 1900–2199). Since lake format 3 (issue 11, ADR 0010) the dataset tables are symlink tables over
 * the ledger's manifests and project nothing, so no month ingest accepts can fall outside a table. This keeps it
 * so: the projected partitions are the system tables' enums of fixed directories, never a range of dates or
 * numbers that a catalogue could cut short, and the `<model>_latest` tables' one date (ADR 0014), which is meant
 * to cut everything else off and which the publisher moves.
 */
import { describe, expect, it } from "vitest";
import { DATASET_NAMES } from "../../functions/core/catalogue/contracts.ts";
import {
  lakeTables,
  latestTable,
  modelOutputTables,
  partitioning,
} from "../../infra/constructs/lake-catalog.ts";
import { MODELS } from "./helpers.ts";

describe("partition projection", () => {
  const published = modelOutputTables(MODELS);
  const tables = [...lakeTables(), ...published, ...published.map(latestTable)];

  it("projects no range but the latest tables' one date: every other projected partition key is an enum", () => {
    const projected = tables.filter((t) => partitioning(t) === "projected");
    expect(projected.length).toBeGreaterThan(published.length);
    for (const table of projected.filter((t) => t.latestOf !== undefined)) {
      const { range = "" } = table.projection.as_of ?? {};
      const [from, to] = range.split(",");
      expect([table.name, from]).toEqual([table.name, to]);
    }
    for (const table of projected.filter((t) => t.latestOf === undefined)) {
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
