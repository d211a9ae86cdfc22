/**
 * The Athena adapter of Warehouse (functions/core/ports/warehouse.ts; docs/adr/0004-athena-adapter.md).
 *
 * A run works in its own Glue database (`runDatabase`), created on first use and dropped by close():
 * - attachInputs: one view per input relation over the curated tables of `inputDatabase`, so model bodies
 *   read `transactions`, `customers`, … unqualified, exactly as on DuckDB;
 * - materialize: a CTAS writes the rows as Parquet under `<tableLocation>as_of=<d>/` (the runner's layout)
 *   into the table `<model>__ctas`, and the view `<model>` shows its columns without the partition column,
 *   like the DuckDB adapter's view over its file. With `materialization: "unload"` (for a workgroup that
 *   enforces its result location, where Athena rejects a CTAS with external_location) the body is written
 *   with UNLOAD and read back through an external table instead;
 * - attachMaterialized: Parquet files a TypeScript stage wrote under `<tableLocation>as_of=<d>/` are read back
 *   through the same external table (`<model>__unloaded`) and view as an UNLOADed model's, so a resumed run
 *   finds a stage done in an earlier invocation like any other model;
 * - attachPublished: each model materialized in the run becomes a view of the stack's table of that model
 *   in `inputDatabase` (registered partitions, `as_of` a DATE partition column, last), which is what BI
 *   users read: the runner's verification query reads the published run through the catalogue;
 * - materialized: a resumed run finds the tables an earlier invocation left in the run database;
 * - interrupted: a statement stopped at the Lambda's deadline (`athena_deadline`) interrupts the run;
 * - close: DROP DATABASE … CASCADE. The tables are external: their files stay where the runner put them.
 *
 * Every statement is generated in athena-sql.ts from names checked against strict patterns.
 */
import { DATASET_NAMES } from "../../core/catalogue/contracts.ts";
import { MODEL_LAYOUT } from "../../core/catalogue/layout.ts";
import { QueryFailedError } from "../../core/errors.ts";
import { type InputSnapshot, relationFiles } from "../../core/ledger/ledger.ts";
import type {
  AttachRequest,
  ColumnInfo,
  MaterializeRequest,
  MaterializeResult,
  QueryResult,
  Warehouse,
} from "../../core/ports/warehouse.ts";
import {
  AthenaQueryRunner,
  type AthenaQueryRunnerOptions,
  type QueryStats,
  type RunQueryOptions,
  type UsageTotals,
} from "./client.ts";
import { inputPlan } from "./inputs.ts";
import {
  BODY_SUFFIX,
  CTAS_SUFFIX,
  identifier,
  isoDate,
  PINNED_SUFFIX,
  s3Location,
  sql,
  UNLOADED_SUFFIX,
} from "./sql.ts";

export { hiveType } from "../../core/catalogue/hive-types.ts";
export * from "./client.ts";
export { athenaTypeName, decodeDatum, normaliseDecimal, normaliseTimestamp } from "./results.ts";
export { sql as athenaSql } from "./sql.ts";

/** The relations attachInputs makes readable (the Warehouse contract): the curated datasets, quarantine, drops. */
export const INPUT_RELATIONS: readonly string[] = [...DATASET_NAMES, "quarantine", "drops"];

/** Default cap on rows read through GetQueryResults by query(). */
export const DEFAULT_MAX_READ_ROWS = 1_000_000;

/**
 * What the Athena adapter offers beyond Warehouse. The runner uses the optional members of the contract
 * (usage, materialized) to put bytes scanned and cost in the run record, and to resume a run.
 */
export interface WarehouseUsage {
  /** Totals over every statement of the run: count, bytes scanned, engine time, estimated USD. */
  usage(): UsageTotals;
  /** Each statement, in order. */
  readonly history: readonly QueryStats[];
}

export interface AthenaWarehouseExtensions extends WarehouseUsage {
  /**
   * A model this run database already holds (a run resumed in a new invocation): restores its view and
   * returns what materialize() returned, or undefined when it was not materialized.
   */
  materialized(model: string, asOf: string): Promise<MaterializeResult | undefined>;
}

export interface AthenaWarehouseOptions extends Omit<AthenaQueryRunnerOptions, "workGroup"> {
  readonly workGroup: string;
  /** The Glue database of the curated tables (the stack's database). */
  readonly inputDatabase: string;
  /** The run's own Glue database (see runDatabaseName); created on first use. */
  readonly runDatabase: string;
  /** The lake root, `s3://bucket/prefix/`; published outputs are under `<lake>models/<model>/`. */
  readonly lakeLocation: string;
  /** An existing query runner (shares its history and token scope); default one built from these options. */
  readonly runner?: AthenaQueryRunner;
  /** The relations attachInputs exposes; default INPUT_RELATIONS. */
  readonly inputs?: readonly string[];
  /** "ctas" (default, the Warehouse contract) or "unload" (for workgroups that enforce their result location). */
  readonly materialization?: "ctas" | "unload";
  /**
   * Empties an S3 prefix. When given, a CTAS/UNLOAD that FAILED with AthenaError.Retryable is retried after
   * emptying its location (Athena leaves partial files, and a CTAS requires an empty location); without it
   * such statements are not retried.
   */
  readonly clearLocation?: (location: string) => Promise<void>;
  /** Drop the run database on close (default true; keep it to debug a run). */
  readonly dropRunDatabaseOnClose?: boolean;
  /**
   * Writes the run's symlink manifest of an input relation (the pinned files' locations, one per line) and
   * returns its folder, `s3://…/` (the backend puts it at MODEL_LAYOUT.runManifestKey). Needed by every run
   * that pins a file.
   */
  readonly writeInputManifest?: (relation: string, body: string) => Promise<string>;
  /** Cap on rows read by query() (default 1,000,000). */
  readonly maxReadRows?: number;
}

/** A Glue database name for a run: `<prefix>_run_<run id>`, lower-cased, other characters as `_`. */
export function runDatabaseName(prefix: string, runId: string): string {
  const name = `${prefix}_run_${runId}`.toLowerCase().replace(/[^a-z0-9_]/g, "_");
  return identifier("database", name.slice(0, 255));
}

/** A model name that cannot collide with the adapter's own tables (`<model>__ctas`, …). */
function modelName(name: string): string {
  const model = identifier("model", name);
  for (const suffix of [CTAS_SUFFIX, BODY_SUFFIX, UNLOADED_SUFFIX, PINNED_SUFFIX]) {
    if (model.endsWith(suffix)) {
      throw new QueryFailedError(
        "athena_invalid_name",
        `Invalid model name "${name}": names ending in ${suffix} are reserved for the Athena adapter's tables`,
      );
    }
  }
  return model;
}

/** The checked model name and as_of date of a request to write (or attach) a model's partition. */
function target(request: Pick<MaterializeRequest, "model" | "partition">): { model: string; asOf: string } {
  if (request.partition.column !== "as_of") {
    throw new QueryFailedError(
      "athena_partition",
      `Unsupported partition column "${request.partition.column}"`,
    );
  }
  return { model: modelName(request.model), asOf: isoDate(request.partition.value) };
}

interface ModelTable {
  /** The Glue table holding the rows in the run database. */
  readonly table: string;
  readonly columns: readonly ColumnInfo[];
  readonly asOf: string;
}

export class AthenaWarehouse implements Warehouse, AthenaWarehouseExtensions {
  readonly engine = "athena";
  readonly athena: AthenaQueryRunner;
  readonly runDatabase: string;
  readonly inputDatabase: string;
  readonly lakeLocation: string;
  private readonly options: AthenaWarehouseOptions;
  private readonly models = new Map<string, ModelTable>();
  private database: Promise<void> | undefined;

  constructor(options: AthenaWarehouseOptions) {
    this.options = options;
    this.athena = options.runner ?? new AthenaQueryRunner(options);
    this.runDatabase = identifier("database", options.runDatabase);
    this.inputDatabase = identifier("database", options.inputDatabase);
    this.lakeLocation = s3Location(options.lakeLocation);
    if (this.runDatabase === this.inputDatabase) {
      throw new QueryFailedError(
        "athena_invalid_name",
        `The run database must differ from the input database "${this.inputDatabase}": close() drops it`,
      );
    }
    for (const name of options.inputs ?? INPUT_RELATIONS) identifier("relation", name);
  }

  get history(): readonly QueryStats[] {
    return this.athena.history;
  }

  usage(): UsageTotals {
    return this.athena.usage();
  }

  /**
   * One view per input relation (inputs.ts): the datasets and the quarantine over symlink tables of the
   * run's own manifests, which list exactly the files the run pinned, so a drop committed after the run
   * started, an attempt that never committed or a stray file under curated/ is never read, and a resumed
   * run reads the same files (docs/adr/0010-ledger-visibility-and-snapshots.md).
   */
  async attachInputs(inputs: InputSnapshot): Promise<void> {
    await this.ensureDatabase();
    for (const name of this.options.inputs ?? INPUT_RELATIONS) {
      const files = relationFiles(inputs, name)?.map((key) => `${this.lakeLocation}${key}`);
      const plan = inputPlan(this.runDatabase, this.inputDatabase, name, files);
      const label = `attach input ${name}`;
      if (plan.kind === "pinned") {
        const write = this.options.writeInputManifest;
        if (write === undefined) {
          throw new QueryFailedError(
            "athena_no_manifest",
            `The run pins files of ${name}, but this AthenaWarehouse was given no writeInputManifest to list them`,
          );
        }
        await this.run(plan.drop, label);
        await this.run(plan.create(await write(name, plan.manifest)), label);
      }
      await this.run(plan.view, label);
    }
  }

  async replaceView(name: string, select: string): Promise<void> {
    const statement = sql.view(this.runDatabase, identifier("view", name), select);
    await this.ensureDatabase();
    await this.run(statement, `view ${name}`);
  }

  async materialize(request: MaterializeRequest): Promise<MaterializeResult> {
    const { model, asOf } = target(request);
    const location = s3Location(request.tableLocation);
    await this.ensureDatabase();
    return this.options.materialization === "unload"
      ? this.materializeByUnload(model, request.body, location, asOf)
      : this.materializeByCtas(model, request.body, location, asOf);
  }

  async attachMaterialized(request: AttachRequest): Promise<MaterializeResult> {
    const { model, asOf } = target(request);
    const partition = `${s3Location(request.tableLocation)}${MODEL_LAYOUT.partitionDir(asOf)}/`;
    await this.ensureDatabase();
    return this.registerParquet(model, request.columns, partition, asOf, request.rows);
  }

  async attachPublished(): Promise<void> {
    await this.ensureDatabase();
    for (const model of this.models.keys()) {
      await this.run(
        sql.view(this.runDatabase, model, sql.selectAll(this.inputDatabase, model)),
        `attach published ${model}`,
      );
    }
  }

  interrupted(error: unknown): boolean {
    return error instanceof QueryFailedError && error.code === "athena_deadline";
  }

  async query(select: string): Promise<QueryResult> {
    await this.ensureDatabase();
    const { columns, rows } = await this.athena.query(select, {
      ...this.context("query"),
      maxRows: this.options.maxReadRows ?? DEFAULT_MAX_READ_ROWS,
    });
    return { columns, rows };
  }

  async materialized(model: string, asOf: string): Promise<MaterializeResult | undefined> {
    const name = modelName(model);
    const date = isoDate(asOf);
    await this.ensureDatabase();
    // UNLOAD mode writes only `<model>__unloaded` (as TypeScript stages do in either mode): one lookup, not two.
    const suffixes =
      this.options.materialization === "unload" ? [UNLOADED_SUFFIX] : [CTAS_SUFFIX, UNLOADED_SUFFIX];
    for (const suffix of suffixes) {
      const table = `${name}${suffix}`;
      const columns = (await this.columnsOf(table)).filter((c) => c.name !== "as_of");
      if (columns.length === 0) continue;
      return this.publishInRun(name, table, columns, date, undefined, "resume");
    }
    return undefined;
  }

  async close(): Promise<void> {
    if (this.options.dropRunDatabaseOnClose === false || this.database === undefined) return;
    this.database = undefined;
    await this.athena.runQuery(sql.dropDatabase(this.runDatabase), {
      label: `drop run database ${this.runDatabase}`,
      catalog: this.athena.catalog,
    });
  }

  // ---- Internals.

  private async materializeByCtas(
    model: string,
    body: string,
    location: string,
    asOf: string,
  ): Promise<MaterializeResult> {
    const table = `${model}${CTAS_SUFFIX}`;
    const completed = await this.athena.runQuery(sql.ctas(this.runDatabase, table, location, asOf, body), {
      ...this.context(`materialize ${model} (CTAS)`),
      ...this.retryAfterClearing(location),
    });
    const updated = await this.athena.updateCount(completed);
    // information_schema lists the partition column last; the view and the result leave it out.
    const columns = (await this.columnsOf(table)).filter((c) => c.name !== "as_of");
    if (columns.length === 0) {
      throw new QueryFailedError(
        "athena_no_columns",
        `Athena query ${completed.queryExecutionId} (materialize ${model}) succeeded, but ${this.runDatabase}.${table} has no columns in information_schema`,
      );
    }
    return this.publishInRun(model, table, columns, asOf, updated);
  }

  private async materializeByUnload(
    model: string,
    body: string,
    location: string,
    asOf: string,
  ): Promise<MaterializeResult> {
    const bodyView = `${model}${BODY_SUFFIX}`;
    const partition = `${location}${MODEL_LAYOUT.partitionDir(asOf)}/`;
    await this.run(sql.view(this.runDatabase, bodyView, body), `materialize ${model}: body view`);
    const columns = await this.columnsOf(bodyView);
    if (columns.length === 0) {
      throw new QueryFailedError(
        "athena_no_columns",
        `The body of ${model} has no columns in information_schema (view ${this.runDatabase}.${bodyView})`,
      );
    }
    const completed = await this.athena.runQuery(
      sql.unload(`SELECT * FROM ${this.runDatabase}.${bodyView}`, partition, "ZSTD"),
      { ...this.context(`materialize ${model} (UNLOAD)`), ...this.retryAfterClearing(partition) },
    );
    const updated = await this.athena.updateCount(completed);
    return this.registerParquet(model, columns, partition, asOf, updated);
  }

  /**
   * Parquet files under `partition` (an UNLOAD's, or a TypeScript stage's) become the external table
   * `<model>__unloaded`, which materialized() finds when a run resumes, and `model` a view of it.
   */
  private async registerParquet(
    model: string,
    columns: readonly ColumnInfo[],
    partition: string,
    asOf: string,
    rows: number | undefined,
  ): Promise<MaterializeResult> {
    const table = `${model}${UNLOADED_SUFFIX}`;
    await this.run(sql.dropTable(this.runDatabase, table), `materialize ${model}: drop old table`);
    await this.run(
      sql.parquetTable(
        this.runDatabase,
        table,
        columns.map((c) => ({ name: c.name, type: c.type })),
        partition,
      ),
      `materialize ${model}: table`,
    );
    return this.publishInRun(model, table, columns, asOf, rows);
  }

  /**
   * Every materialization ends alike, and so does finding one an earlier invocation made: `model` becomes a
   * view of the table without as_of, and is recorded.
   */
  private async publishInRun(
    model: string,
    table: string,
    columns: readonly ColumnInfo[],
    asOf: string,
    updated: number | undefined,
    step: "materialize" | "resume" = "materialize",
  ): Promise<MaterializeResult> {
    await this.run(
      sql.projectionView(
        this.runDatabase,
        model,
        table,
        columns.map((c) => c.name),
      ),
      `${step} ${model}: view`,
    );
    const rows = updated ?? (await this.count(table, `${step} ${model}: count`));
    this.models.set(model, { table, columns, asOf });
    return { rows, columns };
  }

  private retryAfterClearing(location: string): Pick<RunQueryOptions, "maxFailedRetries" | "beforeRetry"> {
    const clear = this.options.clearLocation;
    return clear === undefined ? { maxFailedRetries: 0 } : { beforeRetry: () => clear(location) };
  }

  private context(label: string): RunQueryOptions {
    return { label, database: this.runDatabase, catalog: this.athena.catalog };
  }

  private ensureDatabase(): Promise<void> {
    this.database ??= this.athena
      .runQuery(sql.createRunDatabase(this.runDatabase), {
        label: `create run database ${this.runDatabase}`,
        catalog: this.athena.catalog,
      })
      .then(
        () => undefined,
        (error: unknown) => {
          this.database = undefined;
          throw error;
        },
      );
    return this.database;
  }

  private async run(statement: string, label: string): Promise<void> {
    await this.athena.runQuery(statement, this.context(label));
  }

  private async columnsOf(table: string): Promise<ColumnInfo[]> {
    const { rows } = await this.athena.query(
      sql.columns(this.athena.catalog, this.runDatabase, table),
      this.context(`columns of ${table}`),
    );
    return rows.map((row) => ({ name: String(row.column_name), type: String(row.data_type) }));
  }

  private async count(table: string, label: string): Promise<number> {
    const { rows } = await this.athena.query(sql.count(this.runDatabase, table), this.context(label));
    return Number(rows[0]?.n ?? 0);
  }
}
