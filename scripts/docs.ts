/** `npm run docs`: regenerates the generated sections of README.md and docs/models.md. */
import { readFile, writeFile } from "node:fs/promises";
import { replaceContractsSection } from "../functions/core/catalogue/contracts-doc.ts";
import { loadCatalogueModels } from "../functions/core/catalogue/stages.ts";
import { generateModelsDoc, MODELS_DOC_PATH } from "../functions/core/runner/docs.ts";
import { replaceModelsSection } from "../functions/core/runner/readme-models.ts";

const readme = await readFile("README.md", "utf8");
const updated = replaceModelsSection(replaceContractsSection(readme), await loadCatalogueModels("sql"));
if (updated !== readme) await writeFile("README.md", updated);
const modelsDoc = await generateModelsDoc();
const before = await readFile(MODELS_DOC_PATH, "utf8");
if (modelsDoc !== before) await writeFile(MODELS_DOC_PATH, modelsDoc);
console.log(updated === readme && modelsDoc === before ? "docs are up to date" : "docs updated");
