/** `npm run docs`: regenerates the generated sections of README.md. */
import { readFile, writeFile } from "node:fs/promises";
import { replaceContractsSection } from "../functions/core/contracts-doc.ts";

const readme = await readFile("README.md", "utf8");
const updated = replaceContractsSection(readme);
if (updated !== readme) await writeFile("README.md", updated);
console.log(updated === readme ? "README.md is up to date" : "README.md updated");
