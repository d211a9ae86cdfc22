/**
 * docs/models.md, generated from the model headers, the parameter list and the config schema, so the
 * documentation cannot drift from the models: test/unit/runner-docs.test.ts fails when the file is stale.
 * Regenerate with `npm run docs` (scripts/docs.ts, every generated page) or `npx tsx functions/core/runner/docs.ts`.
 */
import { writeFile } from "node:fs/promises";
import { pathToFileURL } from "node:url";
import { z } from "zod";
import { DEFAULT_SQL_DIR, LAYERS, type Model, planModels } from "../catalogue/models.ts";
import { loadCatalogueModels } from "../catalogue/stages.ts";
import { CONFIG_SCHEMA } from "../config.ts";
import { PARAMETERS } from "./params.ts";

export const MODELS_DOC_PATH = new URL("../../../docs/models.md", import.meta.url);

const LAYER_TITLES: Record<(typeof LAYERS)[number], string> = {
  staging: "Staging (views, not published)",
  intermediate: "Intermediate",
  marts: "Marts",
  scores: "Scores",
};

function cell(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll("\n", " ");
}

function modelSection(model: Model, dependents: readonly string[]): string[] {
  const h = model.header;
  const lines = [
    `### ${model.name}`,
    "",
    `${h.question}`,
    "",
    `- **Grain:** ${h.grain}`,
    `- **File:** \`${model.file}\` (${h.materialized})`,
    `- **Depends on:** ${h.dependsOn.length > 0 ? h.dependsOn.map((d) => `[${d}](#${d})`).join(", ") : "—"}`,
  ];
  if (h.sources.length > 0) lines.push(`- **Reads inputs:** ${h.sources.join(", ")}`);
  if (h.uniqueKey.length > 0) lines.push(`- **Unique key:** ${h.uniqueKey.join(", ")}`);
  if (dependents.length > 0)
    lines.push(`- **Used by:** ${dependents.map((d) => `[${d}](#${d})`).join(", ")}`);
  for (const note of h.notes) lines.push(`- ${note}`);
  lines.push("", "| column | type | description |", "|---|---|---|");
  for (const column of h.columns)
    lines.push(`| ${column.name} | ${column.type} | ${cell(column.description)} |`);
  lines.push("");
  return lines;
}

interface JsonSchemaNode {
  type?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  properties?: Record<string, JsonSchemaNode>;
}

function configRows(node: JsonSchemaNode, path: string[]): string[] {
  if (node.properties !== undefined && node.type === "object") {
    return Object.entries(node.properties).flatMap(([key, child]) => configRows(child, [...path, key]));
  }
  const allowed =
    node.enum !== undefined
      ? node.enum.map((v) => JSON.stringify(v)).join(" \\| ")
      : node.const !== undefined
        ? JSON.stringify(node.const)
        : node.minimum !== undefined && node.maximum !== undefined
          ? `${node.type ?? ""} ${node.minimum} to ${node.maximum}`
          : (node.type ?? "");
  const fallback = node.default === undefined ? "—" : JSON.stringify(node.default);
  return [`| ${path.join(".")} | ${fallback} | ${allowed} | ${cell(node.description ?? "")} |`];
}

/** The index of the published tables (every table model, in run order): name, layer and grain. */
function publishedTables(ordered: readonly Model[]): string[] {
  return [
    "## Published tables",
    "",
    "Every table a run publishes, with its grain; the sections below describe each column.",
    "",
    "| table | layer | grain |",
    "|---|---|---|",
    ...ordered
      .filter((m) => m.header.materialized === "table")
      .map((m) => `| [\`${m.name}\`](#${m.name}) | ${m.layer} | ${cell(m.header.grain)} |`),
    "",
  ];
}

/** The whole docs/models.md text. */
export function renderModelsDoc(models: readonly Model[]): string {
  const ordered = planModels(models);
  const dependents = (name: string) =>
    ordered.filter((m) => m.header.dependsOn.includes(name)).map((m) => m.name);
  const lines = [
    "# Models",
    "",
    "<!-- Generated from the model headers in sql/ by functions/core/runner/docs.ts; do not edit by hand.",
    "     Regenerate with: npm run docs -->",
    "",
    "`crmlake run` computes these tables as of a date (only transactions on or before it count) and publishes each",
    "table to `<lake>/models/<model>/as_of=<YYYY-MM-DD>/data.parquet`. Query them by name with `crmlake query`:",
    "`<model>` holds every as-of (its last column is `as_of`), `<model>_latest` only the newest. The `runs` and",
    "`run_models` tables record every run. See docs/adr/0002-model-runner.md for the header format and the runner.",
    "On a deployment the Glue catalogue has the same tables for Athena and BI tools: `<model>_latest` there shows",
    "the greatest as-of a run succeeded for, moved by the run that publishes it and by `runs delete`, and not by a",
    "re-score of an older date, and put back by the next run after a deploy resets it",
    "(docs/adr/0014-latest-tables-in-the-catalogue.md; docs/deploying.md). Each as-of is what was known when its run",
    "read the inputs (`runs.inputs_taken_at`): a file dated on or before the latest as-of that lands after it was",
    "scored is late, and the latest as-of is re-scored with it (locally `crmlake ingest` says so; a deployment's",
    "hourly check does it); earlier as-ofs stay as computed, and docs/system-tables.md (Late files) lists which",
    "drops each run missed (docs/adr/0016-late-files-rescore-the-latest-as-of.md).",
    "Column types are in Athena's (Trino's) notation; every run checks each table's real output types against them,",
    "on DuckDB and on Athena alike.",
    "",
    "Run order (dependencies first):",
    "",
    ordered.map((m) => `\`${m.name}\``).join(" → "),
    "",
    ...publishedTables(ordered),
  ];
  for (const layer of LAYERS) {
    const inLayer = ordered.filter((m) => m.layer === layer);
    if (inLayer.length === 0) continue;
    lines.push(`## ${LAYER_TITLES[layer]}`, "");
    for (const model of inLayer) lines.push(...modelSection(model, dependents(model.name)));
  }

  lines.push(
    "## Parameters",
    "",
    "Models use parameters as `{{ name }}`; the runner replaces each with a typed SQL literal (`DATE '2024-01-31'`,",
    "`CAST(0.3 AS DECIMAL(9,4))`, `90`, `'gross_margin'`) after validating it. No other text is substituted.",
    "",
    "| parameter | type | meaning |",
    "|---|---|---|",
  );
  for (const p of PARAMETERS) {
    const type = p.type.kind === "decimal" ? `decimal(${p.type.precision},${p.type.scale})` : p.type.kind;
    lines.push(`| ${p.name} | ${type} | ${cell(p.description)} |`);
  }
  lines.push(
    "",
    "## Configuration",
    "",
    "`crmlake run --config FILE` reads one JSON file (example: examples/crmlake.config.json); `crmlake ingest` and",
    "`crmlake report` read its `calendar`. Every field is optional and has the default below; unknown keys are rejected.",
    "",
    "| key | default | allowed | meaning |",
    "|---|---|---|---|",
    ...configRows(z.toJSONSchema(CONFIG_SCHEMA, { io: "input" }) as JsonSchemaNode, []).filter(
      (row) => !row.startsWith("| $schema "),
    ),
    "",
  );
  return lines.join("\n");
}

/** Loads the project's models and renders the document. */
export async function generateModelsDoc(sqlDir = DEFAULT_SQL_DIR): Promise<string> {
  return renderModelsDoc(await loadCatalogueModels(sqlDir));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await writeFile(MODELS_DOC_PATH, await generateModelsDoc());
  process.stdout.write(`wrote ${MODELS_DOC_PATH.pathname}\n`);
}
