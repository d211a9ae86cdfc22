/**
 * `npm run docs`: regenerates the generated pages under docs/ (README.md links to them and holds no generated
 * text). Each page has a test that fails when it is stale. A new generated page is one more entry in PAGES.
 */
import { readFile, writeFile } from "node:fs/promises";
import { CONTRACTS_DOC_PATH, renderContractsDoc } from "../functions/core/catalogue/contracts-doc.ts";
import {
  renderSystemTablesDoc,
  SYSTEM_TABLES_DOC_PATH,
} from "../functions/core/catalogue/system-tables-doc.ts";
import { generateModelsDoc, MODELS_DOC_PATH } from "../functions/core/runner/docs.ts";

const PAGES: readonly { readonly path: URL; readonly render: () => string | Promise<string> }[] = [
  { path: CONTRACTS_DOC_PATH, render: renderContractsDoc },
  { path: MODELS_DOC_PATH, render: generateModelsDoc },
  { path: SYSTEM_TABLES_DOC_PATH, render: renderSystemTablesDoc },
];

let updated = 0;
for (const page of PAGES) {
  const text = await page.render();
  const before = await readFile(page.path, "utf8").catch(() => undefined);
  if (text !== before) {
    await writeFile(page.path, text);
    updated++;
  }
}
console.log(updated === 0 ? "docs are up to date" : `docs updated (${updated} of ${PAGES.length} pages)`);
