// Every model's declared column types against what DuckDB really gives. The runner checks the tables itself
// (a run fails on a mismatch); views are not materialized, so this is where their declared types are held to
// the engine. The Trino tier (npm run test:trino) runs the same runner check on Trino.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runLocal } from "../../functions/backends/local.ts";
import { canonicalType } from "../../functions/core/catalogue/column-types.ts";
import type { Model } from "../../functions/core/catalogue/models.ts";
import { loadCatalogueModels } from "../../functions/core/catalogue/stages.ts";
import { parseConfig } from "../../functions/core/config.ts";
import { DuckDBWarehouse } from "../../functions/engines/duckdb/warehouse.ts";
import { generateLake } from "./generate.ts";
import { makeLake, removeLake } from "./helpers.ts";

const AS_OF = "2024-06-30";
const MODELS: readonly Model[] = await loadCatalogueModels("sql");

describe("declared column types on DuckDB", () => {
  let lake: string;
  let warehouse: DuckDBWarehouse;
  const actual = new Map<string, string[]>();

  beforeAll(async () => {
    lake = await makeLake(generateLake({ customers: 200, seed: 7, start: "2022-07-01", days: 730 }));
    warehouse = await DuckDBWarehouse.open(lake);
    await runLocal({ lakeDir: lake, asOf: AS_OF, config: parseConfig({}, "test config"), warehouse });
    // After the run, tables are read back from their published Parquet (as_of last), views as the run left them.
    for (const model of MODELS) {
      const { columns } = await warehouse.query(`SELECT * FROM ${model.name} LIMIT 0`);
      const own = model.header.materialized === "table" ? columns.slice(0, -1) : columns;
      actual.set(
        model.name,
        own.map((c) => `${c.name} ${canonicalType(c.type)}`),
      );
    }
  }, 120_000);

  afterAll(async () => {
    await warehouse?.close();
    await removeLake(lake);
  });

  it.each(MODELS.map((m) => [m.name, m] as const))("%s has the declared types", (_name, model) => {
    expect(actual.get(model.name)).toEqual(model.header.columns.map((c) => `${c.name} ${c.type}`));
  });

  it("reads the lake's millisecond timestamps (TIMESTAMP_MS) as the declared timestamp(3)", () => {
    expect(actual.get("stg_transactions")).toContain("ordered_at timestamp(3)");
  });
});
