import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkArchitecture, RULES, type RuleId } from "../architecture/rules.ts";

const ROOT = join(import.meta.dirname, "..", "..");

/** Every TypeScript file under functions/ and infra/, by path relative to the repository root. */
function projectFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const top of ["functions", "infra"]) {
    for (const entry of readdirSync(join(ROOT, top), { recursive: true, encoding: "utf8" })) {
      if (!entry.endsWith(".ts")) continue;
      const path = `${top}/${entry.split("\\").join("/")}`;
      files.set(path, readFileSync(join(ROOT, path), "utf8"));
    }
  }
  return files;
}

const TREE = projectFiles();

/** The tree with some files added or replaced, in memory. */
const planted = (files: Record<string, string>) => new Map([...TREE, ...Object.entries(files)]);

const rulesOf = (files: Record<string, string>) =>
  checkArchitecture(planted(files)).map((v) => ({ rule: v.rule, file: v.file }));

describe("the layout's rules (ADR 0008)", () => {
  it("hold on the project's code", () => {
    expect(TREE.size).toBeGreaterThan(50);
    expect(checkArchitecture(TREE)).toEqual([]);
  });

  const cases: readonly (readonly [RuleId, Record<string, string>, string])[] = [
    [
      "cycle",
      // A type-only import from a stage back to the runner that runs it closes a cycle.
      {
        "functions/core/runner/stage.ts": `import type { RunSummary } from "./run.ts";\n${TREE.get("functions/core/runner/stage.ts")}`,
      },
      "functions/core/runner/run.ts",
    ],
    [
      "core-imports-adapter",
      {
        "functions/core/runner/planted.ts":
          'import { DuckDBWarehouse } from "../../engines/duckdb/warehouse.ts";',
      },
      "functions/core/runner/planted.ts",
    ],
    [
      "core-imports-adapter",
      // The ingest exception is the DuckDB session alone, not the rest of the DuckDB adapter.
      {
        "functions/core/ingest/planted.ts":
          'import { attachLakeViews } from "../../engines/duckdb/lake-views.ts";',
      },
      "functions/core/ingest/planted.ts",
    ],
    [
      "core-imports-sdk",
      { "functions/core/report/planted.ts": 'import type { S3Client } from "@aws-sdk/client-s3";' },
      "functions/core/report/planted.ts",
    ],
    [
      "core-imports-sdk",
      { "functions/core/ingest/planted.ts": 'import type { DuckDBConnection } from "@duckdb/node-api";' },
      "functions/core/ingest/planted.ts",
    ],
    [
      "infra-imports-runtime",
      { "infra/constructs/planted.ts": 'import { sql } from "../../functions/engines/athena/sql.ts";' },
      "infra/constructs/planted.ts",
    ],
    [
      "infra-imports-runtime",
      { "infra/constructs/planted.ts": 'import { runModels } from "../../functions/core/runner/run.ts";' },
      "infra/constructs/planted.ts",
    ],
    [
      "catalogue-impure",
      { "functions/core/catalogue/planted.ts": 'import type { Table } from "apache-arrow";' },
      "functions/core/catalogue/planted.ts",
    ],
    [
      "catalogue-impure",
      {
        "functions/core/catalogue/planted.ts":
          'import { ModelError } from "../errors.ts";\nimport { lintSql } from "../runner/lint.ts";',
      },
      "functions/core/catalogue/planted.ts",
    ],
    [
      "registry-outside-roots",
      { "functions/core/runner/planted.ts": 'import { STAGES } from "../stages/index.ts";' },
      "functions/core/runner/planted.ts",
    ],
    [
      "adapter-imports-root",
      { "functions/engines/duckdb/planted.ts": 'import { runLocal } from "../../backends/local.ts";' },
      "functions/engines/duckdb/planted.ts",
    ],
    [
      "adapter-imports-root",
      { "functions/storage/planted.ts": 'import { AthenaWarehouse } from "../engines/athena/warehouse.ts";' },
      "functions/storage/planted.ts",
    ],
    [
      "entry-imports-engine",
      {
        "functions/cli/commands/planted.ts": 'import { openDuckDB } from "../../engines/duckdb/session.ts";',
      },
      "functions/cli/commands/planted.ts",
    ],
    [
      "dynamic-import",
      {
        "functions/core/runner/planted.ts":
          'const specifier = "./duckdb-warehouse.ts";\nexport const load = () => import(specifier);',
      },
      "functions/core/runner/planted.ts",
    ],
  ];

  it.each(cases)("report a planted violation of %s", (rule, files, file) => {
    expect(rulesOf(files)).toEqual([{ rule, file }]);
  });

  it("covers every rule with a planted violation", () => {
    expect(new Set(cases.map(([rule]) => rule))).toEqual(new Set(Object.keys(RULES)));
  });

  it("allow ingest its DuckDB session and the composition roots their adapters and the registry", () => {
    expect(
      rulesOf({
        "functions/core/ingest/planted.ts": 'import { openDuckDB } from "../../engines/duckdb/session.ts";',
        "functions/backends/planted.ts":
          'import { STAGES } from "../core/stages/index.ts";\nimport { DuckDBWarehouse } from "../engines/duckdb/warehouse.ts";',
        "infra/constructs/planted.ts": 'import { LAKE } from "../../functions/core/catalogue/layout.ts";',
      }),
    ).toEqual([]);
  });
});
