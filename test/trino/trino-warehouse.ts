/**
 * A Warehouse (functions/core/ports/warehouse.ts) on the local test Trino, so the differential tier runs the
 * real runner (`runModels`): its ordering, its rendering of `{{ parameters }}` into typed literals, its column
 * and unique-key checks and its publishing, with Trino as the engine.
 *
 * Every statement the Athena adapter sends for a model comes from the adapter's own builders
 * (functions/engines/athena/sql.ts): the input views, the model views, the CTAS of a model into
 * `<model>__ctas`, the view that hides its partition column, the information_schema column query. Only what
 * Trino cannot take from Athena's dialect is translated, each in one place here:
 *
 * - `CREATE DATABASE … COMMENT` (Hive DDL on Athena) → `CREATE SCHEMA`, and `DROP DATABASE` → `DROP SCHEMA`;
 * - the CTAS's `external_location` is an `s3://` URI (the builder accepts no other), replaced by the `file://`
 *   URI of the runner's staging directory;
 * - the CTAS's `write_compression = 'ZSTD'` (an Athena table property Trino lacks) → the Hive session
 *   property `compression_codec = ZSTD`, which makes Trino write the same ZSTD-compressed Parquet;
 * - the published tables (Hive DDL with partition projection on Athena) → a Trino CREATE TABLE with the same
 *   columns and a DATE `as_of` partition column, whose partitions `sync_partition_metadata` registers;
 * - a CTAS of no rows cannot commit on a local file system (see materialize), so that table is declared
 *   from the body's columns instead; the CTAS itself was planned and run by Trino all the same.
 */

import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { MODEL_LAYOUT } from "../../functions/core/catalogue/layout.ts";
import { type InputSnapshot, relationFiles } from "../../functions/core/ledger/ledger.ts";
import type {
  AttachRequest,
  ColumnInfo,
  JsonValue,
  MaterializeRequest,
  MaterializeResult,
  QueryResult,
  Row,
  Warehouse,
} from "../../functions/core/ports/warehouse.ts";
import { inputPlan } from "../../functions/engines/athena/inputs.ts";
import {
  sql as athenaSql,
  BODY_SUFFIX,
  CTAS_SUFFIX,
  identifier,
  isoDate,
  UNLOADED_SUFFIX,
} from "../../functions/engines/athena/sql.ts";
import { INPUT_RELATIONS } from "../../functions/engines/athena/warehouse.ts";
import { declareSymlinkTable } from "./lake-tables.ts";
import { TrinoQueryError, type TrinoResult, type TrinoSession } from "./server.ts";

export interface TrinoQueryable {
  query(sql: string, session?: TrinoSession): Promise<TrinoResult>;
  /** The Hive file metastore directory, where the run's symlink tables are declared (lake-tables.ts). */
  readonly catalogDir?: string;
}

/** The s3:// location handed to the CTAS builder, replaced by the staging directory's file:// URI. */
const PLACEHOLDER_LOCATION = "s3://crmlake-trino-placeholder/location/";

function replaceOnce(text: string, search: string, replacement: string): string {
  const first = text.indexOf(search);
  if (first < 0 || text.indexOf(search, first + 1) >= 0) {
    throw new Error(
      `The Athena CTAS builder changed: expected exactly one "${search}" in:\n${text.slice(0, 600)}`,
    );
  }
  return text.slice(0, first) + replacement + text.slice(first + search.length);
}

/** A local directory as the `file://` URI Trino's Hive connector takes, with the trailing `/` Athena's have. */
export function fileUri(dir: string): string {
  if (!dir.startsWith("/") || /['\\]/.test(dir)) throw new Error(`Not a plain absolute path: ${dir}`);
  return `file://${dir.endsWith("/") ? dir : `${dir}/`}`;
}

/** The Athena CTAS of a model, as built by athena-sql.ts, with its two Athena-only parts made Trino's. */
export function trinoCtas(
  database: string,
  table: string,
  location: string,
  asOf: string,
  body: string,
): string {
  const athena = athenaSql.ctas(database, table, PLACEHOLDER_LOCATION, asOf, body);
  const compressionless = replaceOnce(athena, "  write_compression = 'ZSTD',\n", "");
  return replaceOnce(
    compressionless,
    `external_location = '${PLACEHOLDER_LOCATION}'`,
    `external_location = '${fileUri(location)}'`,
  );
}

function isEmptyCtasOnLocalFiles(error: unknown): boolean {
  return (
    error instanceof TrinoQueryError &&
    error.errorName === "HIVE_METASTORE_ERROR" &&
    error.message.includes("External table location does not exist")
  );
}

/** Session property that stands for the CTAS's write_compression = 'ZSTD'. */
const CTAS_SESSION = { "hive.compression_codec": "ZSTD" } as const;

function jsonValue(value: unknown): JsonValue {
  if (value === null || value === undefined) return null;
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return value;
  if (Array.isArray(value)) return value.map(jsonValue);
  if (typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonValue(v)]));
  }
  return String(value);
}

interface ModelTable {
  readonly table: string;
  readonly columns: readonly ColumnInfo[];
}

export interface TrinoWarehouseOptions {
  /** Schema holding the lake's input tables (lake-tables.ts). */
  readonly inputSchema: string;
  /** The run's own schema: views over the inputs, the models' CTAS tables and views. */
  readonly runSchema: string;
  /** Lake whose `models/<model>/` the runner publishes to (attachPublished reads them from there). */
  readonly lakeDir: string;
  /** Lake the input tables are over (their files' `"$path"` is under it). */
  readonly inputLakeDir: string;
}

export class TrinoWarehouse implements Warehouse {
  readonly engine = "trino";
  private readonly trino: TrinoQueryable;
  private readonly inputSchema: string;
  private readonly runSchema: string;
  private readonly lakeDir: string;
  private readonly inputLakeDir: string;
  private readonly models = new Map<string, ModelTable>();
  private readonly published = new Set<string>();
  /**
   * Every statement sent, in order, with its duration (the report lists the slowest) and the bytes Trino read
   * from storage for it (bench/trino-bytes.ts sums them per model).
   */
  readonly history: { sql: string; ms: number; physicalInputBytes?: number }[] = [];

  constructor(trino: TrinoQueryable, options: TrinoWarehouseOptions) {
    this.trino = trino;
    this.inputSchema = identifier("database", options.inputSchema);
    this.runSchema = identifier("database", options.runSchema);
    this.lakeDir = options.lakeDir;
    this.inputLakeDir = options.inputLakeDir;
  }

  /**
   * The Athena adapter's inputs (functions/engines/athena/inputs.ts): for each pinned relation the run's
   * manifest of its files (`file://` URIs on this tier, in the Trino lake's runs/manifests/), the adapter's
   * DROP, a symlink table over the manifest's folder declared through the file metastore (Trino's SQL cannot
   * create one: lake-tables.ts declareSymlinkTable) with the columns the adapter declares, then the
   * adapter's view.
   */
  async attachInputs(inputs: InputSnapshot): Promise<void> {
    await this.run(`CREATE SCHEMA IF NOT EXISTS hive.${this.runSchema}`);
    for (const name of INPUT_RELATIONS) {
      const files = relationFiles(inputs, name)?.map((key) => `file://${join(this.inputLakeDir, key)}`);
      const plan = inputPlan(this.runSchema, this.inputSchema, name, files);
      if (plan.kind === "pinned") {
        await this.run(plan.drop);
        const dir = join(this.lakeDir, MODEL_LAYOUT.runManifestPrefix(this.runSchema, name));
        await mkdir(dir, { recursive: true });
        await writeFile(join(dir, "manifest"), plan.manifest);
        // The adapter's DDL, checked to build, then declared in Trino's terms.
        plan.create(`s3://crmlake-trino-placeholder/${MODEL_LAYOUT.runManifestPrefix(this.runSchema, name)}`);
        await declareSymlinkTable(
          this.trino,
          this.runSchema,
          plan.table,
          plan.columns.map((c) => ({ name: c.name, type: c.hive, comment: "" })),
          dir,
        );
      }
      await this.run(plan.view);
    }
  }

  async replaceView(name: string, select: string): Promise<void> {
    await this.run(athenaSql.view(this.runSchema, identifier("view", name), select));
  }

  async materialize(request: MaterializeRequest): Promise<MaterializeResult> {
    const model = identifier("model", request.model);
    const asOf = isoDate(request.partition.value);
    if (this.published.has(model)) {
      await this.run(athenaSql.dropTable(this.runSchema, model));
      this.published.delete(model);
    }
    const table = `${model}${CTAS_SUFFIX}`;
    const ctas = trinoCtas(this.runSchema, table, request.tableLocation, asOf, request.body);
    let rows: number;
    try {
      const created = await this.run(ctas, CTAS_SESSION);
      // A CTAS answers with one row: the number of rows it wrote.
      rows = Number(created.rows[0]?.[0] ?? Number.NaN);
    } catch (error) {
      if (!isEmptyCtasOnLocalFiles(error)) throw error;
      // A CTAS of no rows writes no file, so its location never appears on a local file system, and the
      // file metastore refuses an external table without one (S3 has no directories, so Glue does not).
      // A CTAS also refuses an existing directory, so the empty table is declared instead: the body's
      // columns (from a view of it, as the adapter's UNLOAD path does), then `as_of`, over the empty directory.
      await this.createEmptyTable(table, request.body, request.tableLocation);
      rows = 0;
    }
    const columns = (await this.columnsOf(table)).filter((c) => c.name !== "as_of");
    await this.run(
      athenaSql.projectionView(
        this.runSchema,
        model,
        table,
        columns.map((c) => c.name),
      ),
    );
    this.models.set(model, { table, columns });
    return { rows, columns };
  }

  /**
   * A TypeScript stage's Parquet files (under `<tableLocation>/as_of=<d>/`, written by the runner's codec)
   * become a table over that directory and the model a view of it, as the Athena adapter's
   * attachMaterialized does (an external table, then the view), in Trino's DDL.
   */
  async attachMaterialized(request: AttachRequest): Promise<MaterializeResult> {
    const model = identifier("model", request.model);
    const asOf = isoDate(request.partition.value);
    if (this.published.has(model)) {
      await this.run(athenaSql.dropTable(this.runSchema, model));
      this.published.delete(model);
    }
    const table = `${model}${UNLOADED_SUFFIX}`;
    const dir = join(request.tableLocation, MODEL_LAYOUT.partitionDir(asOf));
    // A stage of no rows may write no file; the file metastore wants the directory to exist.
    await mkdir(dir, { recursive: true });
    await this.run(athenaSql.dropTable(this.runSchema, table));
    const list = request.columns.map((c) => `"${c.name}" ${c.type}`).join(", ");
    await this.run(
      `CREATE TABLE hive.${this.runSchema}.${table} (${list}) WITH (format = 'PARQUET', external_location = '${fileUri(dir)}')`,
    );
    await this.run(
      athenaSql.projectionView(
        this.runSchema,
        model,
        table,
        request.columns.map((c) => c.name),
      ),
    );
    this.models.set(model, { table, columns: request.columns });
    return { rows: request.rows, columns: request.columns };
  }

  /** Each model of the run becomes a table over its published files, every as_of a DATE partition. */
  async attachPublished(): Promise<void> {
    for (const [model, { columns }] of this.models) {
      await this.run(
        this.published.has(model)
          ? athenaSql.dropTable(this.runSchema, model)
          : athenaSql.dropView(this.runSchema, model),
      );
      const location = fileUri(join(this.lakeDir, MODEL_LAYOUT.modelPrefix(model)));
      const list = [...columns.map((c) => `"${c.name}" ${c.type}`), `"as_of" date`].join(", ");
      await this.run(
        `CREATE TABLE hive.${this.runSchema}.${model} (${list}) WITH (format = 'PARQUET', external_location = '${location}', partitioned_by = ARRAY['as_of'])`,
      );
      await this.run(`CALL hive.system.sync_partition_metadata('${this.runSchema}', '${model}', 'FULL')`);
      this.published.add(model);
    }
  }

  async query(sql: string): Promise<QueryResult> {
    const result = await this.run(sql);
    const columns = result.columns.map((c) => ({ name: c.name, type: c.type }));
    const rows: Row[] = result.rows.map((values) =>
      Object.fromEntries(columns.map((c, i) => [c.name, jsonValue(values[i])])),
    );
    return { columns, rows };
  }

  /** Raw Trino result of a SELECT in the run's schema (values as the protocol gives them). */
  async select(sql: string): Promise<TrinoResult> {
    return this.run(sql);
  }

  async close(): Promise<void> {
    await this.run(`DROP SCHEMA IF EXISTS hive.${this.runSchema} CASCADE`);
  }

  private async createEmptyTable(table: string, body: string, location: string): Promise<void> {
    const bodyView = `${table}${BODY_SUFFIX}`;
    await this.run(athenaSql.view(this.runSchema, bodyView, body));
    const columns = await this.columnsOf(bodyView);
    await this.run(athenaSql.dropView(this.runSchema, bodyView));
    await mkdir(location, { recursive: true });
    const list = [...columns.map((c) => `"${c.name}" ${c.type}`), `"as_of" varchar`].join(", ");
    await this.run(
      `CREATE TABLE hive.${this.runSchema}.${table} (${list}) WITH (format = 'PARQUET', external_location = '${fileUri(location)}', partitioned_by = ARRAY['as_of'])`,
    );
  }

  private async columnsOf(table: string): Promise<ColumnInfo[]> {
    const { rows } = await this.run(athenaSql.columns("hive", this.runSchema, table));
    return rows.map(([name, type]) => ({ name: String(name), type: String(type) }));
  }

  private async run(sql: string, properties: Record<string, string> = {}): Promise<TrinoResult> {
    const started = performance.now();
    let result: TrinoResult | undefined;
    try {
      result = await this.trino.query(sql, { catalog: "hive", schema: this.runSchema, properties });
      return result;
    } finally {
      const bytes = result?.stats?.physicalInputBytes;
      this.history.push({
        sql,
        ms: performance.now() - started,
        ...(bytes === undefined ? {} : { physicalInputBytes: Number(bytes) }),
      });
    }
  }
}
