import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { loadCatalogueModels } from "../../functions/core/catalogue/stages.ts";
import { generateModelsDoc, MODELS_DOC_PATH } from "../../functions/core/runner/docs.ts";

describe("docs/models.md", () => {
  it("is what the model headers generate (run: npm run docs)", async () => {
    expect(await readFile(MODELS_DOC_PATH, "utf8")).toBe(await generateModelsDoc());
  });

  it("lists every model with its grain and every documented column", async () => {
    const doc = await readFile(MODELS_DOC_PATH, "utf8");
    for (const model of await loadCatalogueModels("sql")) {
      expect(doc).toContain(`### ${model.name}\n`);
      expect(doc).toContain(`- **Grain:** ${model.header.grain}`);
      for (const column of model.header.columns) expect(doc).toContain(`| ${column.name} | `);
    }
  });
});
