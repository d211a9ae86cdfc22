/**
 * The documentation's own checks: README.md stays a short first read that opens with the two commands, the
 * generated pages under docs/ are not stale, every page is in the index, and no relative link is broken.
 */
import { existsSync, statSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { dirname, join, normalize, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { CONTRACTS_DOC_PATH, renderContractsDoc } from "../../functions/core/catalogue/contracts-doc.ts";

/** README.md's budget: what a newcomer reads first; reference material goes to docs/ (docs/development.md). */
const README_MAX_BYTES = 15_000;

/** Every markdown page under docs/, as a repository path. */
async function docPages(dir = "docs"): Promise<string[]> {
  const pages: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) pages.push(...(await docPages(path)));
    else if (entry.name.endsWith(".md")) pages.push(path);
  }
  return pages.sort();
}

/** Markdown without fenced code blocks and inline code, where brackets are not links. */
function prose(markdown: string): string {
  return markdown.replace(/^```[^\n]*\n[\s\S]*?^```$/gm, "").replace(/`[^`\n]*`/g, "");
}

/** The targets of the relative links of a page (`[text](target)`), without web and mail links. */
function relativeLinks(markdown: string): string[] {
  return [...prose(markdown).matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1] ?? "")
    .filter((target) => !/^[a-z]+:/i.test(target));
}

/** GitHub's anchors of a page's headings: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const match of markdown.replace(/^```[^\n]*\n[\s\S]*?^```$/gm, "").matchAll(/^#{1,6} (.+)$/gm)) {
    const slug = (match[1] ?? "")
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    result.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return result;
}

describe("README.md", () => {
  it("opens with the two commands a newcomer runs", async () => {
    const readme = await readFile("README.md", "utf8");
    const commands = [...readme.matchAll(/```(?:bash|sh)?\n([^`]+?)\n```/g)].map((m) => m[1]?.trim());
    expect(commands.slice(0, 2)).toEqual(["npm ci && npm run demo", "npm test"]);
  });

  it(`stays under ${README_MAX_BYTES} bytes (reference material goes to a page under docs/)`, async () => {
    const bytes = (await readFile("README.md")).byteLength;
    expect(bytes, `README.md is ${bytes} bytes`).toBeLessThan(README_MAX_BYTES);
  });

  it("links the docs index", async () => {
    expect(relativeLinks(await readFile("README.md", "utf8"))).toContain("docs/README.md");
  });
});

describe("docs/contracts.md", () => {
  it("documents the data contracts exactly as contracts.ts defines them (run npm run docs after a change)", async () => {
    expect(await readFile(CONTRACTS_DOC_PATH, "utf8")).toBe(renderContractsDoc());
  });
});

describe("docs/README.md", () => {
  it("lists every page under docs/ (add a new page to the index)", async () => {
    const index = await readFile("docs/README.md", "utf8");
    const linked = new Set(relativeLinks(index).map((target) => join("docs", target.split("#")[0] ?? "")));
    const missing = (await docPages()).filter(
      (page) => page !== join("docs", "README.md") && !linked.has(page),
    );
    expect(missing).toEqual([]);
  });
});

describe("links between the pages", () => {
  it("point at files that exist, and at headings that exist in markdown pages", async () => {
    const broken: string[] = [];
    for (const page of ["README.md", ...(await docPages())]) {
      const text = await readFile(page, "utf8");
      for (const target of relativeLinks(text)) {
        const [path = "", anchor] = target.split("#");
        const file = path === "" ? page : normalize(join(dirname(page), decodeURIComponent(path)));
        if (relative(".", file).startsWith("..") || !existsSync(file)) {
          broken.push(`${page}: ${target} (no such file)`);
          continue;
        }
        if (anchor === undefined || !file.endsWith(".md") || statSync(file).isDirectory()) continue;
        if (!anchors(await readFile(file, "utf8")).has(anchor))
          broken.push(`${page}: ${target} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
  });
});
