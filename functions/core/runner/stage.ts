/**
 * TypeScript stages: models computed in TypeScript where SQL cannot reach (fitting BG/NBD by maximum
 * likelihood, …), in the same DAG as the SQL models (DESIGN.md §5, docs/adr/0007-typescript-stages.md).
 *
 * A stage has the header a SQL model has (header.ts) and a `run` function. The runner:
 * 1. reads each dependency (always a table model of this run) from the Parquet files this run wrote for it,
 *    under `<stagingTable(run, dependency)>as_of=<d>/`, through ModelOutputs (a directory, or S3), and
 *    decodes them into one apache-arrow Table per dependency, typed as its header declares (arrow-columns.ts);
 * 2. calls `run`, and checks the returned table against the stage's header: names, order, Arrow types;
 * 3. writes it as Parquet, `<stagingTable(run, stage)>as_of=<d>/part-0.parquet`, and has the engine read it
 *    under the stage's name (Warehouse.attachMaterialized), so SQL models after it read it like any table;
 * then the runner's usual checks and publishing treat it as a table model.
 *
 * Stages are declared in the catalogue (catalogue/stages.ts), implemented in core/stages/ and registered there
 * (core/stages/index.ts); the composition roots pass them to the runner (RunOptions.stages).
 */
import * as arrow from "apache-arrow";
import { MODEL_LAYOUT } from "../catalogue/layout.ts";
import { declareStage, type Layer, type Model, type StageDeclaration } from "../catalogue/models.ts";
import type { CrmlakeConfig } from "../config.ts";
import { errorMessage, ModelError } from "../errors.ts";
import type { ModelOutputs } from "../ports/model-outputs.ts";
import type { MaterializeResult, Warehouse } from "../ports/warehouse.ts";
import { checkTableSchema, conformTable, emptyTable } from "./arrow-columns.ts";
import { decodeParquet, decodeParquetColumns, encodeParquet } from "./parquet.ts";

export interface StageContext {
  /** Each dependency's rows in this run, by model name, with the Arrow types of its header (arrow-columns.ts). */
  readonly inputs: ReadonlyMap<string, arrow.Table>;
  /** The run's as-of date, `YYYY-MM-DD`. */
  readonly asOf: string;
  readonly config: CrmlakeConfig;
}

/**
 * Figures of a stage's output worth following from run to run (a fitted model's parameters): the runner records
 * them in the run record (`figures`, keyed `<stage>.<name>`) and notes among the run's `diagnostics` each that
 * moved by more than the threshold (relative) since the latest earlier successful run that recorded it.
 */
export interface StageWatch {
  /** Name → value; a figure the output does not have (a fit that failed) is null. */
  figures(output: arrow.Table): Readonly<Record<string, number | null>>;
  /** Relative change above which a move is noted, e.g. 0.25. */
  threshold(config: CrmlakeConfig): number;
}

/** A stage: its declaration (catalogue/stages.ts) and its code. */
export interface Stage extends StageDeclaration {
  /** The stage's rows: exactly the header's columns, in order, with their Arrow types. */
  run(context: StageContext): arrow.Table | Promise<arrow.Table>;
  /** The figures of its output to follow across runs (StageWatch); none when absent. */
  readonly watch?: StageWatch;
  /**
   * The columns it reads of some dependencies, by dependency (the others are read whole): only those are
   * decoded, in the header's order. A stage that needs two columns of a per-customer table is spared the rest.
   */
  readonly reads?: Readonly<Record<string, readonly string[]>>;
}

/** A project stage: the code of a declaration from catalogue/stages.ts. */
export function implementStage(
  declaration: StageDeclaration,
  run: (context: StageContext) => arrow.Table | Promise<arrow.Table>,
  watch?: StageWatch,
): Stage {
  return watch === undefined ? { ...declaration, run } : { ...declaration, run, watch };
}

/** A stage declared and implemented in one place (tests, and stages not yet in the catalogue). */
export function defineStage(definition: {
  readonly name: string;
  readonly layer: Layer;
  /** The header as text: the `-- question:`, `-- grain:`, `-- depends_on:`, `-- column …` lines of a model file. */
  readonly header: string;
  run(context: StageContext): arrow.Table | Promise<arrow.Table>;
}): Stage {
  return implementStage(declareStage(definition), definition.run);
}

/** The name of the one file a stage writes per partition. */
export const STAGE_FILE = "part-0.parquet";

/** `<tableLocation>as_of=<d>/`, for a directory path or an `s3://` prefix alike. */
export function partitionLocation(tableLocation: string, asOf: string): string {
  const root = tableLocation.endsWith("/") ? tableLocation : `${tableLocation}/`;
  return `${root}${MODEL_LAYOUT.partitionDir(asOf)}/`;
}

export interface StageRun {
  readonly model: Model;
  readonly stage: Stage;
  /** Every model of the plan, by name: the dependencies' headers type their files. */
  readonly models: ReadonlyMap<string, Model>;
  readonly runId: string;
  readonly asOf: string;
  readonly config: CrmlakeConfig;
  readonly outputs: ModelOutputs;
  readonly warehouse: Warehouse;
}

/** One dependency's files of this run (the columns the stage reads of it), decoded and concatenated. */
async function readDependency(run: StageRun, dependency: Model): Promise<arrow.Table> {
  const location = partitionLocation(run.outputs.stagingTable(run.runId, dependency.name), run.asOf);
  const reads = run.stage.reads?.[dependency.name];
  const unknown = reads?.filter((name) => !dependency.header.columns.some((c) => c.name === name)) ?? [];
  if (unknown.length > 0) {
    throw new ModelError(
      "unknown_column",
      `${run.model.file}: it reads ${unknown.join(", ")} of ${dependency.name}, which has no such column`,
    );
  }
  const columns =
    reads === undefined
      ? dependency.header.columns
      : dependency.header.columns.filter((c) => reads.includes(c.name));
  const files = await run.outputs.listTableFiles(location);
  const tables: arrow.Table[] = [];
  for (const file of files) {
    const bytes = await run.outputs.readObject(file);
    const decoded =
      reads === undefined
        ? decodeParquet(bytes, file)
        : await decodeParquetColumns(
            bytes,
            file,
            columns.map((c) => c.name),
          );
    tables.push(conformTable(decoded, columns, `${dependency.name} (${file})`));
  }
  const [first, ...rest] = tables;
  return first === undefined ? emptyTable(columns) : first.concat(...rest);
}

/** What the engine reads under the stage's name, and the figures the stage follows (Stage.watch). */
export interface StageResult extends MaterializeResult {
  readonly figures?: Readonly<Record<string, number | null>>;
}

/** Runs a stage (see the top of this file) and returns what the engine reads under its name. */
export async function materializeStage(run: StageRun): Promise<StageResult> {
  const { model, stage, warehouse } = run;
  const what = model.file;
  if (warehouse.attachMaterialized === undefined) {
    throw new ModelError(
      "stage_unsupported",
      `${what}: the ${warehouse.engine} warehouse cannot read files a TypeScript stage wrote (it has no attachMaterialized)`,
    );
  }
  const inputs = new Map<string, arrow.Table>();
  for (const name of model.header.dependsOn) {
    const dependency = run.models.get(name);
    if (dependency === undefined) {
      throw new ModelError("unknown_model", `${what}: its dependency ${name} is not part of this run`);
    }
    inputs.set(name, await readDependency(run, dependency));
  }

  let output: unknown;
  try {
    output = await stage.run({ inputs, asOf: run.asOf, config: run.config });
  } catch (error) {
    if (error instanceof ModelError) throw error;
    throw new ModelError("model_failed", `${what} failed: ${errorMessage(error)}`, { cause: error });
  }
  if (!arrow.isArrowTable(output)) {
    throw new ModelError(
      "stage_result",
      `${what}: run() must return an apache-arrow Table, not ${output === null ? "null" : typeof output}`,
    );
  }
  checkTableSchema(output, model.header.columns, what);

  const tableLocation = run.outputs.stagingTable(run.runId, model.name);
  await run.outputs.writeObject(
    `${partitionLocation(tableLocation, run.asOf)}${STAGE_FILE}`,
    encodeParquet(output),
  );
  const attached = await warehouse.attachMaterialized({
    model: model.name,
    tableLocation,
    partition: { column: "as_of", value: run.asOf },
    columns: model.header.columns.map((c) => ({ name: c.name, type: c.type })),
    rows: output.numRows,
  });
  return stage.watch === undefined ? attached : { ...attached, figures: stage.watch.figures(output) };
}
