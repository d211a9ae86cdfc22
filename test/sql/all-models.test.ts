import { readdir, readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Model } from "../../functions/core/catalogue/models.ts";
import { loadCatalogueModels } from "../../functions/core/catalogue/stages.ts";
import type { Row } from "../../functions/core/ports/warehouse.ts";
import { generateLake } from "./generate.ts";
import { makeLake, read, removeLake, run } from "./helpers.ts";

const AS_OF = "2024-06-30";

describe("all models on generated data", () => {
  let lake: string;
  let tables: Model[];
  const firstRun = new Map<string, Row[]>();

  beforeAll(async () => {
    tables = (await loadCatalogueModels("sql")).filter((m) => m.header.materialized === "table");
    lake = await makeLake(generateLake({ customers: 600, seed: 42, start: "2021-07-01", days: 1095 }));
    await run(lake, { asOf: AS_OF, models: [], config: { affinity: { min_pair_baskets: 3 } } });
    for (const model of tables)
      firstRun.set(model.name, await read(lake, model.name, AS_OF, model.header.uniqueKey.join(", ")));
  }, 120_000);

  afterAll(async () => {
    await removeLake(lake);
  });

  it("produces every table, with rows", () => {
    for (const model of tables) expect(firstRun.get(model.name)?.length, model.name).toBeGreaterThan(0);
    expect(firstRun.get("whale_curve")).toHaveLength(100);
    expect(firstRun.get("pyramid_summary")).toHaveLength(6);
    expect(firstRun.get("pyramid_migration")).toHaveLength(36);
  });

  it("gives every per-customer table the same customers as customer_base", () => {
    const ids = (name: string) => (firstRun.get(name) ?? []).map((r) => r.customer_id);
    const base = ids("customer_base");
    for (const name of [
      "customer_rfm",
      "customer_pyramid",
      "customer_lifecycle",
      "customer_needs",
      "customer_profitability",
      "customer_scores",
    ]) {
      expect(ids(name), name).toEqual(base);
    }
  });

  it("gives the same rows when the same as_of is run again", async () => {
    await run(lake, { asOf: AS_OF, models: [], config: { affinity: { min_pair_baskets: 3 } } });
    for (const model of tables) {
      expect(await read(lake, model.name, AS_OF, model.header.uniqueKey.join(", ")), model.name).toEqual(
        firstRun.get(model.name),
      );
    }
  }, 120_000);
});

describe("SQL test coverage", () => {
  it("exercises every model in a test under test/sql/ besides this one", async () => {
    const files = (await readdir("test/sql")).filter(
      (f) => f.endsWith(".test.ts") && f !== "all-models.test.ts",
    );
    const texts = await Promise.all(files.map((f) => readFile(`test/sql/${f}`, "utf8")));
    const untested = (await loadCatalogueModels("sql"))
      .map((m) => m.name)
      .filter(
        (name) =>
          !texts.some((t) => new RegExp(`["'\`]${name}["'\`]|\\b${name}\\b AS|FROM ${name}\\b`).test(t)),
      );
    expect(untested).toEqual([]);
  });
});
