import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { replaceContractsSection } from "../../functions/core/catalogue/contracts-doc.ts";
import { loadCatalogueModels } from "../../functions/core/catalogue/stages.ts";
import { replaceModelsSection } from "../../functions/core/runner/readme-models.ts";

describe("README.md", () => {
  it("opens with the two commands a newcomer runs", async () => {
    const readme = await readFile("README.md", "utf8");
    const commands = [...readme.matchAll(/```(?:bash|sh)?\n([^`]+?)\n```/g)].map((m) => m[1]?.trim());
    expect(commands.slice(0, 2)).toEqual(["npm ci && npm run demo", "npm test"]);
  });

  it("documents the data contracts exactly as contracts.ts defines them (run npm run docs after a change)", async () => {
    const readme = await readFile("README.md", "utf8");
    expect(replaceContractsSection(readme)).toBe(readme);
  });

  it("lists every published model table with its grain and columns (run npm run docs after a change)", async () => {
    const readme = await readFile("README.md", "utf8");
    expect(replaceModelsSection(readme, await loadCatalogueModels("sql"))).toBe(readme);
  });
});
