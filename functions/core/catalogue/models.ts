/**
 * Model discovery and the dependency graph: every `sql/<layer>/<name>.sql` is one model, and every declared
 * TypeScript stage (a StageDeclaration: catalogue/stages.ts; its code in core/stages/) is one more; the header says what each depends on; the plan runs
 * them in a topological order that is the same on every machine.
 */
import { readdir, readFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { ModelError } from "../errors.ts";
import { IDENTIFIER, type ModelHeader, parseModelHeader } from "./header.ts";

/** The project's models: `sql/` at the repository root, wherever the command is run from. */
export const DEFAULT_SQL_DIR = fileURLToPath(new URL("../../../sql", import.meta.url));

/** Layers in dependency order: a model may read models of its own layer or earlier ones. */
export const LAYERS = ["staging", "intermediate", "marts", "scores"] as const;
export type Layer = (typeof LAYERS)[number];

/** Relations that exist before any model runs (attachLakeViews); models read them through `sources`. */
export const INPUT_RELATIONS = [
  "transactions",
  "customers",
  "campaigns",
  "campaign_contacts",
  "products",
  "quarantine",
  "drops",
] as const;

/** Names the runner itself defines in the query session; no model may take them. */
export const RESERVED_NAMES = ["runs", "run_models"] as const;

export interface Model {
  readonly name: string;
  readonly layer: Layer;
  /** Path relative to the project root, e.g. `sql/marts/customer_base.sql`; names the model in errors. */
  readonly file: string;
  readonly header: ModelHeader;
  /** The whole file text: header comments plus the SELECT with its `{{ macros }}`. */
  readonly sql: string;
  /** 1-based line where the SELECT starts. */
  readonly bodyLine: number;
  /** Set for a TypeScript stage (its `sql` is empty and its `file` is `stage <name>`). */
  readonly stage?: StageDeclaration;
}

/**
 * A TypeScript stage as the catalogue knows it: name, layer and header, apart from its code (which lives in
 * core/stages/ and is handed to the runner by the composition roots). The Glue tables, the docs and the plan
 * need only this; the runner needs the code too (runner/stage.ts Stage extends it).
 */
export interface StageDeclaration {
  readonly name: string;
  readonly layer: Layer;
  /** The header a SQL model file starts with; `materialized` is always table. */
  readonly header: ModelHeader;
}

/** A stage's declaration from its header text, parsed (and checked) like a SQL model's header. */
export function declareStage(definition: {
  readonly name: string;
  readonly layer: Layer;
  /** The `-- question:`, `-- grain:`, `-- depends_on:`, `-- column …` lines of a model file. */
  readonly header: string;
}): StageDeclaration {
  const { header } = parseModelHeader(definition.header, `stage ${definition.name}`);
  return { name: definition.name, layer: definition.layer, header };
}

/** Levenshtein distance, for "did you mean" hints. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current.push(
        Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost),
      );
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** ` Did you mean "x"?` when a known name is close to the unknown one, else an empty string. */
export function didYouMean(unknown: string, known: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const name of known) {
    const d = distance(unknown, name);
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(unknown.length / 4))
    ? ` Did you mean "${best}"?`
    : "";
}

/** The SQL text with comments and string literals blanked out (same length, so offsets stay valid). */
export function stripCommentsAndStrings(sql: string): string {
  return sql.replace(/--[^\n]*|'(?:[^']|'')*'/g, (match) => match.replace(/[^\n]/g, " "));
}

/** Relations a SELECT reads after FROM or JOIN (CTE names included; the caller filters). */
export function referencedRelations(sql: string): Set<string> {
  const code = stripCommentsAndStrings(sql).toLowerCase();
  const names = new Set<string>();
  for (const match of code.matchAll(/\b(?:from|join)\s+([a-z_][a-z0-9_]*)\b/g)) {
    if (match[1] !== undefined) names.add(match[1]);
  }
  return names;
}

async function sqlFiles(dir: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(dir, { recursive: true });
  } catch (error) {
    throw new ModelError(
      "no_models",
      `Cannot read the models directory ${dir}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  return entries.filter((entry) => entry.endsWith(".sql")).sort();
}

/**
 * Reads every model under `sqlDir` and checks the set: known layers, unique valid names, dependencies that
 * exist and respect the layer order, sources that are input relations, and a body that reads exactly what
 * the header declares. `displayRoot` is the directory file names in errors are relative to.
 */
export async function loadModels(sqlDir: string, displayRoot = join(sqlDir, "..")): Promise<Model[]> {
  const models = await readModelFiles(sqlDir, displayRoot);
  validateModels(models);
  return models;
}

/**
 * The project's whole plan: the SQL models under `sqlDir` and the TypeScript stages (the catalogue's
 * STAGE_DECLARATIONS, or the stages a runner is given), checked as one set. The runner, the Glue tables of the stack and the generated docs all use it, so
 * a stage gets its table and its documentation like a SQL model.
 */
export async function loadProjectModels(
  sqlDir: string,
  stages: readonly StageDeclaration[],
): Promise<Model[]> {
  const models = [...(await readModelFiles(sqlDir)), ...stageModels(stages)];
  validateModels(models);
  return models;
}

/** The SQL models under `sqlDir`, each parsed on its own; the set is not checked (validateModels does). */
export async function readModelFiles(sqlDir: string, displayRoot = join(sqlDir, "..")): Promise<Model[]> {
  const models: Model[] = [];
  for (const entry of await sqlFiles(sqlDir)) {
    const parts = entry.split(sep);
    const file = relative(displayRoot, join(sqlDir, entry)).split(sep).join("/");
    const layer = LAYERS.find((l) => l === parts[0]);
    if (parts.length !== 2 || layer === undefined) {
      throw new ModelError(
        "bad_model_path",
        `${file}: a model lives in one of the layer folders ${LAYERS.map((l) => `sql/${l}/`).join(", ")}`,
      );
    }
    const name = (parts[1] ?? "").replace(/\.sql$/, "");
    if (!IDENTIFIER.test(name)) {
      throw new ModelError(
        "bad_model_name",
        `${file}: model name "${name}" must be lower-case letters, digits and _, starting with a letter`,
      );
    }
    const text = await readFile(join(sqlDir, entry), "utf8");
    const { header, bodyLine } = parseModelHeader(text, file);
    models.push({ name, layer, file, header, sql: text, bodyLine });
  }
  return models;
}

/**
 * The stages as models of the plan, each checked on its own: a valid name, a known layer, a table (its
 * output is Parquet the runner writes), and no `sources` (a stage reads the tables of its dependencies, not
 * the input relations). validateModels checks them against the SQL models.
 */
export function stageModels(stages: readonly StageDeclaration[]): Model[] {
  return stages.map((stage) => {
    const file = `stage ${stage.name}`;
    if (!IDENTIFIER.test(stage.name)) {
      throw new ModelError(
        "bad_model_name",
        `${file}: stage name "${stage.name}" must be lower-case letters, digits and _, starting with a letter`,
      );
    }
    if (!(LAYERS as readonly string[]).includes(stage.layer)) {
      throw new ModelError(
        "bad_model_path",
        `${file}: layer "${stage.layer}" is not one of ${LAYERS.join(", ")}`,
      );
    }
    if (stage.header.materialized !== "table") {
      throw new ModelError(
        "bad_header",
        `${file}: a stage is always materialized as a table (its rows are written as Parquet); remove "materialized: ${stage.header.materialized}"`,
      );
    }
    if (stage.header.sources.length > 0) {
      throw new ModelError(
        "bad_header",
        `${file}: a stage reads the tables of the models it depends on, not input relations (sources: ${stage.header.sources.join(", ")}); put a SQL model that selects what it needs in depends_on`,
      );
    }
    return { name: stage.name, layer: stage.layer, file, header: stage.header, sql: "", bodyLine: 1, stage };
  });
}

/** Checks a set of models against each other (exported for tests that build models in memory). */
export function validateModels(models: readonly Model[]): void {
  const byName = new Map<string, Model>();
  for (const model of models) {
    const clash = byName.get(model.name);
    if (clash !== undefined) {
      throw new ModelError(
        "duplicate_model",
        `Model "${model.name}" is defined twice: ${clash.file} and ${model.file}`,
      );
    }
    const reserved = [...INPUT_RELATIONS, ...RESERVED_NAMES] as readonly string[];
    if (reserved.includes(model.name)) {
      throw new ModelError(
        "bad_model_name",
        `${model.file}: "${model.name}" is reserved (input relations and run tables: ${reserved.join(", ")})`,
      );
    }
    byName.set(model.name, model);
  }
  const known = [...byName.keys()].sort();
  for (const model of models) {
    for (const dependency of model.header.dependsOn) {
      const target = byName.get(dependency);
      if (target === undefined) {
        throw new ModelError(
          "unknown_model",
          `Unknown model "${dependency}" in depends_on of ${model.name} (${model.file}).${didYouMean(dependency, known)} Known models: ${known.join(", ")}`,
        );
      }
      if (LAYERS.indexOf(target.layer) > LAYERS.indexOf(model.layer)) {
        throw new ModelError(
          "layer_order",
          `${model.file}: ${model.layer} model ${model.name} depends on ${target.layer} model ${target.name}; a model may only read its own layer or earlier ones (${LAYERS.join(" → ")})`,
        );
      }
    }
    if (model.stage !== undefined) checkStageDependencies(model, byName);
    for (const source of model.header.sources) {
      if (!(INPUT_RELATIONS as readonly string[]).includes(source)) {
        throw new ModelError(
          "unknown_source",
          `Unknown input relation "${source}" in sources of ${model.name} (${model.file}).${didYouMean(source, INPUT_RELATIONS)} Input relations: ${INPUT_RELATIONS.join(", ")}`,
        );
      }
    }
    if (model.stage === undefined) checkReferences(model, byName);
  }
  // A cycle is reported with its path; the plan would otherwise never finish.
  planModels(models);
}

/**
 * A stage reads each dependency as the Parquet files this run wrote for it: a view has none. (A stage that
 * needs a staging view's rows depends on a table model that selects them.)
 */
function checkStageDependencies(model: Model, byName: ReadonlyMap<string, Model>): void {
  for (const dependency of model.header.dependsOn) {
    const target = byName.get(dependency);
    if (target !== undefined && target.header.materialized !== "table") {
      throw new ModelError(
        "stage_reads_view",
        `${model.file}: depends on ${dependency} (${target.file}), which is materialized as a ${target.header.materialized}. A stage reads its dependencies as the Parquet files of tables this run writes; depend on a table model instead (one that selects from ${dependency})`,
      );
    }
  }
}

/** The body must read every declared relation, and declare every model or input it reads. */
function checkReferences(model: Model, byName: ReadonlyMap<string, Model>): void {
  const referenced = referencedRelations(model.sql);
  for (const name of referenced) {
    if (name === model.name) continue;
    if (byName.has(name) && !model.header.dependsOn.includes(name)) {
      throw new ModelError(
        "undeclared_dependency",
        `${model.file}: reads model "${name}" but its header does not list it in depends_on`,
      );
    }
    if ((INPUT_RELATIONS as readonly string[]).includes(name) && !model.header.sources.includes(name)) {
      throw new ModelError(
        "undeclared_source",
        `${model.file}: reads input relation "${name}" but its header does not list it in sources`,
      );
    }
  }
  for (const name of [...model.header.dependsOn, ...model.header.sources]) {
    if (!referenced.has(name)) {
      throw new ModelError(
        "unused_dependency",
        `${model.file}: the header declares "${name}" but the SELECT never reads it (FROM/JOIN ${name})`,
      );
    }
  }
}

/**
 * Orders models so every dependency comes first. Among models that are ready at the same time, the earlier
 * layer and then the name come first, so the order is the same on every machine. A cycle fails with its
 * path spelled out: `a → b → a`.
 */
export function planModels(models: readonly Model[]): Model[] {
  const byName = new Map(models.map((m) => [m.name, m]));
  const state = new Map<string, "visiting" | "done">();
  const stack: string[] = [];
  const visit = (model: Model): void => {
    const seen = state.get(model.name);
    if (seen === "done") return;
    if (seen === "visiting") {
      const cycle = [...stack.slice(stack.indexOf(model.name)), model.name];
      throw new ModelError("dependency_cycle", `Dependency cycle: ${cycle.join(" → ")}`);
    }
    state.set(model.name, "visiting");
    stack.push(model.name);
    for (const dependency of [...model.header.dependsOn].sort()) {
      const target = byName.get(dependency);
      if (target !== undefined) visit(target);
    }
    stack.pop();
    state.set(model.name, "done");
  };
  const sorted = [...models].sort(compareModels);
  for (const model of sorted) visit(model);

  // Kahn's algorithm with a sorted ready list gives the deterministic order.
  const remaining = new Map(
    sorted.map((m) => [m.name, new Set(m.header.dependsOn.filter((d) => byName.has(d)))]),
  );
  const order: Model[] = [];
  while (remaining.size > 0) {
    const ready = sorted.filter((m) => remaining.get(m.name)?.size === 0);
    const next = ready[0];
    if (next === undefined) throw new ModelError("dependency_cycle", "Dependency cycle among the models");
    order.push(next);
    remaining.delete(next.name);
    for (const deps of remaining.values()) deps.delete(next.name);
  }
  return order;
}

function compareModels(a: Model, b: Model): number {
  const byLayer = LAYERS.indexOf(a.layer) - LAYERS.indexOf(b.layer);
  return byLayer !== 0 ? byLayer : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/**
 * The models a run computes: all of them, or the selected ones plus everything they depend on
 * (transitively), so a partial run never reads another run's outputs. Unknown names are explained.
 */
export function selectModels(models: readonly Model[], selection: readonly string[] | undefined): Model[] {
  const plan = planModels(models);
  if (selection === undefined || selection.length === 0) return plan;
  const byName = new Map(models.map((m) => [m.name, m]));
  const known = [...byName.keys()].sort();
  const wanted = new Set<string>();
  const add = (name: string): void => {
    if (wanted.has(name)) return;
    wanted.add(name);
    for (const dependency of byName.get(name)?.header.dependsOn ?? []) add(dependency);
  };
  for (const name of selection) {
    if (!byName.has(name)) {
      throw new ModelError(
        "unknown_model",
        `Unknown model "${name}" in --models.${didYouMean(name, known)} Known models: ${known.join(", ")}`,
      );
    }
    add(name);
  }
  return plan.filter((m) => wanted.has(m.name));
}
