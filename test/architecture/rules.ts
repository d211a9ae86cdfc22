/**
 * The layout's rules (docs/adr/0008-layout-and-architecture-rules.md), checked over the import graph of
 * functions/ and infra/. Imports are read with TypeScript's own pre-processor, so type-only imports,
 * re-exports and dynamic imports all count. The checker works on a map of file texts, so the test can plant
 * a violation of each rule in memory and see it reported.
 */
import { posix } from "node:path";
import ts from "typescript";

export const RULES = {
  cycle: "No import cycle between project files, type-only imports included",
  "core-imports-adapter":
    "functions/core imports no adapter (engines/, storage/), composition root (backends/), entry point or CLI; " +
    "one exception: functions/core/ingest/ may import functions/engines/duckdb/session.ts (DuckDB is the converter)",
  "core-imports-sdk": "functions/core imports no AWS SDK, DuckDB, Powertools, Lambda or CDK package",
  "infra-imports-runtime":
    "infra/ imports nothing from functions/ but the catalogue (functions/core/catalogue/)",
  "catalogue-impure":
    "The catalogue imports only the catalogue, functions/core/errors.ts, node: builtins and zod",
  "registry-outside-roots":
    "Only the composition roots (functions/backends/) import the stage registry (functions/core/stages/index.ts)",
  "adapter-imports-root":
    "Adapters (engines/, storage/) import no composition root, entry point or CLI, and not each other: " +
    "an engine and a publisher are paired in a composition root",
  "entry-imports-engine": "Entry points (functions/*.ts, functions/cli/) get engines from a composition root",
  "dynamic-import": "No dynamic import with a computed specifier (bundlers cannot follow it)",
} as const;
export type RuleId = keyof typeof RULES;

export interface Violation {
  readonly rule: RuleId;
  readonly file: string;
  readonly detail: string;
}

const SDK = [
  /^@aws-sdk\//,
  /^@duckdb\//,
  /^@aws-lambda-powertools\//,
  /^aws-lambda$/,
  /^aws-cdk-lib/,
  /^constructs$/,
  /^cdk-nag$/,
];
const CATALOGUE = "functions/core/catalogue/";
const INGEST_EXCEPTION = { from: "functions/core/ingest/", to: "functions/engines/duckdb/session.ts" };
const REGISTRY = "functions/core/stages/index.ts";

type Area = "core" | "engines" | "storage" | "backends" | "entry" | "infra" | "other";

function area(file: string): Area {
  if (file.startsWith("functions/core/")) return "core";
  if (file.startsWith("functions/engines/")) return "engines";
  if (file.startsWith("functions/storage/")) return "storage";
  if (file.startsWith("functions/backends/")) return "backends";
  if (file.startsWith("functions/cli/") || /^functions\/[^/]+\.ts$/.test(file)) return "entry";
  if (file.startsWith("infra/")) return "infra";
  return "other";
}

interface Import {
  /** A project file (relative specifier, resolved) or a package name. */
  readonly target: string;
  readonly local: boolean;
}

function importsOf(file: string, text: string): { imports: Import[]; computed: number } {
  const imports = ts.preProcessFile(text, true, true).importedFiles.map((f): Import => {
    const spec = f.fileName;
    if (spec.startsWith("."))
      return { target: posix.normalize(posix.join(posix.dirname(file), spec)), local: true };
    return { target: spec, local: false };
  });
  let computed = 0;
  const visit = (node: ts.Node): void => {
    if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      !(node.arguments[0] !== undefined && ts.isStringLiteralLike(node.arguments[0]))
    ) {
      computed++;
    }
    ts.forEachChild(node, visit);
  };
  visit(ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS));
  return { imports, computed };
}

/** Every cycle's files, one list per strongly connected component of more than one file (or a self-import). */
function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const strongConnect = (v: string): void => {
    indices.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!indices.has(w)) {
        strongConnect(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) ?? 0, indices.get(w) ?? 0));
      }
    }
    if (low.get(v) === indices.get(v)) {
      const component: string[] = [];
      for (;;) {
        const w = stack.pop();
        if (w === undefined) break;
        onStack.delete(w);
        component.push(w);
        if (w === v) break;
      }
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!indices.has(v)) strongConnect(v);
  return found;
}

/** Checks the rules over project files given as `path relative to the repository root` → text. */
export function checkArchitecture(files: ReadonlyMap<string, string>): Violation[] {
  const violations: Violation[] = [];
  const graph = new Map<string, string[]>();
  for (const [file, text] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
    const from = area(file);
    const { imports, computed } = importsOf(file, text);
    graph.set(
      file,
      imports.filter((i) => i.local).map((i) => i.target),
    );
    const add = (rule: RuleId, detail: string) => violations.push({ rule, file, detail });
    if (computed > 0 && from !== "other")
      add("dynamic-import", `${computed} import() with a computed specifier`);
    for (const { target, local } of imports) {
      const to = local ? area(target) : "package";
      if (from === "core") {
        const exception = file.startsWith(INGEST_EXCEPTION.from) && target === INGEST_EXCEPTION.to;
        if (local && ["engines", "storage", "backends", "entry"].includes(to) && !exception) {
          add("core-imports-adapter", target);
        }
        if (!local && SDK.some((p) => p.test(target))) add("core-imports-sdk", target);
      }
      if (file.startsWith(CATALOGUE)) {
        const allowed = local
          ? target.startsWith(CATALOGUE) || target === "functions/core/errors.ts"
          : target.startsWith("node:") || target === "zod";
        if (!allowed) add("catalogue-impure", target);
      }
      if (from === "infra" && local && target.startsWith("functions/") && !target.startsWith(CATALOGUE)) {
        add("infra-imports-runtime", target);
      }
      if (local && target === REGISTRY && from !== "backends" && !file.startsWith("functions/core/stages/")) {
        add("registry-outside-roots", target);
      }
      if ((from === "engines" || from === "storage") && local) {
        const other = from === "engines" ? "storage" : "engines";
        if (to === "backends" || to === "entry" || to === other) add("adapter-imports-root", target);
      }
      if (from === "entry" && local && to === "engines") add("entry-imports-engine", target);
    }
  }
  for (const component of cycles(graph)) {
    violations.push({ rule: "cycle", file: component[0] ?? "", detail: component.join(" → ") });
  }
  return violations;
}
