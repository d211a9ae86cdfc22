/**
 * The Glue database and the tables over the lake: the input tables generated from the data contracts
 * (functions/core/catalogue/contracts.ts), the system tables (quarantine, drops, runs) generated from their
 * one declaration (functions/core/catalogue/system-tables.ts), one output table per published model generated
 * from the model headers (functions/core/catalogue/header.ts, read with loadModels). The runtime modules infra
 * imports are pure: the contracts, the runner's header parser and layout (node:fs, no DuckDB) and the Athena
 * adapter's type mapping.
 *
 * Input tables are symlink tables over the datasets' manifests (ledger/manifests/<dataset>/manifest, rebuilt
 * from the ledger after each commit: ADR 0010), so they show exactly the committed drops; no crawler, no
 * partition registration. The system tables project theirs (enums of fixed directories). Model output
 * tables register theirs: each scoring run writes to a prefix of its own and then points
 * the partition `as_of=<d>` at it (UpdatePartition), so a reader sees one run or the other, never a mix
 * (ADR 0003 decision 4, ADR 0006). A projection's fixed location template could not be swapped. Beside each
 * model table, `<model>_latest` projects one date, the greatest succeeded as-of: the publisher swaps its range
 * and location template together with one UpdateTable (ADR 0014).
 *
 * The key layout mirrors functions/core/catalogue/layout.ts and functions/core/catalogue/layout.ts; test/infra checks that
 * they agree.
 */
import { Stack } from "aws-cdk-lib";
import * as glue from "aws-cdk-lib/aws-glue";
import type * as s3 from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";
import {
  CONTRACTS,
  DATASET_NAMES,
  type DatasetContract,
  type DatasetName,
} from "../../functions/core/catalogue/contracts.ts";
import { datasetColumns } from "../../functions/core/catalogue/dataset-columns.ts";
import type { ModelHeader } from "../../functions/core/catalogue/header.ts";
import { hiveType } from "../../functions/core/catalogue/hive-types.ts";
import { LATEST_TABLE } from "../../functions/core/catalogue/latest-tables.ts";
import { LAKE, MODEL_LAYOUT } from "../../functions/core/catalogue/layout.ts";
import type { Model } from "../../functions/core/catalogue/models.ts";
import {
  SYSTEM_TABLES,
  type SystemColumn,
  type SystemTable,
} from "../../functions/core/catalogue/system-tables.ts";

/** Top-level prefixes of the lake bucket (declared with the rest of the layout, in the catalogue). */
export { LAKE_PREFIXES } from "../../functions/core/catalogue/layout.ts";

/** Glue rejects longer column comments. */
const MAX_COMMENT = 255;
/** Glue rejects longer table descriptions. */
const MAX_DESCRIPTION = 2048;

export interface GlueColumn {
  readonly name: string;
  /** A Hive/Glue type: `string`, `bigint`, `decimal(18,2)`, `map<string,bigint>`, … */
  readonly type: string;
  readonly comment: string;
}

/** `parquet-symlink`: the location holds a manifest listing Parquet files (SymlinkTextInputFormat). */
export type TableFormat = "parquet" | "parquet-symlink" | "json-lines";

/** What a table is, independent of CDK: the tests read these too. */
export interface TableSpec {
  readonly name: string;
  readonly description: string;
  /** Key prefix of the table in the lake bucket, ending in `/`. */
  readonly prefix: string;
  readonly format: TableFormat;
  readonly columns: readonly GlueColumn[];
  readonly partitionKeys: readonly GlueColumn[];
  /**
   * Partition projection properties per partition key, without the `projection.<key>.` prefix
   * (e.g. `{ order_month: { type: "date", format: "yyyy-MM", … } }`). Either every partition key is projected
   * or none is; a partitioned table without projection has registered partitions (see `partitioning`).
   */
  readonly projection: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Partition directories are `<key>=<value>/` (Hive, the default) or plain `<value>/`. */
  readonly partitionDirs?: "hive" | "plain";
  /** Set on a `<model>_latest` table (latestTable): the model whose latest as-of it shows. */
  readonly latestOf?: string;
}

/**
 * A curated dataset: the contract's columns in order, the lineage columns, then the partition column of a
 * partitioned dataset (`order_month`, written into the files). A symlink table over the dataset's manifest
 * (ADR 0010, decision 5): it reads exactly the files the ledger commits, so it has no partitions of its own;
 * a filter on `order_month` or `ordered_at` skips other months' row groups by their Parquet statistics.
 */
export function datasetTable(contract: DatasetContract): TableSpec {
  return {
    name: contract.name,
    description: `${contract.description} Reads exactly the drops the ledger commits (its symlink manifest).`,
    prefix: LAKE.manifestPrefix(contract.name),
    format: "parquet-symlink",
    columns: datasetColumns(contract).map((c) => column(c.name, c.glue, c.description)),
    partitionKeys: [],
    projection: {},
  };
}

/**
 * The Glue table of a system table (functions/core/catalogue/system-tables.ts): its declared columns and
 * partition keys in Hive types (hive-types.ts), each partition key projected as an enum of its declared values,
 * so Athena reads exactly the directories the local views read.
 */
export function systemTableSpec(table: SystemTable): TableSpec {
  const glueColumn = (c: SystemColumn) => column(c.name, hiveType(c.type), c.description);
  const dirs = table.partitionKeys.map((k) => k.dirs);
  if (dirs.some((d) => d !== dirs[0])) {
    throw new Error(`System table ${table.name}: its partition directories are all Hive-style or all plain`);
  }
  return {
    name: table.name,
    description: table.description,
    prefix: table.prefix,
    format: table.format,
    columns: table.columns.map(glueColumn),
    partitionKeys: table.partitionKeys.map(glueColumn),
    projection: Object.fromEntries(
      table.partitionKeys.map((k) => [k.name, { type: "enum", values: k.values.join(",") }]),
    ),
    ...(dirs[0] === "plain" ? { partitionDirs: "plain" as const } : {}),
  };
}

/** The quarantine: one Parquet file per drop, partitioned by dataset (`quarantine/dataset=<dataset>/`). */
export function quarantineTable(): TableSpec {
  return systemTableSpec(SYSTEM_TABLES.quarantine);
}

/**
 * The drop ledger: the last successful ingest of each drop (`ledger/drops/`) and the last rejected attempt
 * (`ledger/rejected/`), like the local `drops` view. The directory is a projected partition, so Athena reads
 * those two prefixes and never the content index beside them (`ledger/content/`).
 */
export function ledgerTable(): TableSpec {
  return systemTableSpec(SYSTEM_TABLES.drops);
}

/**
 * The run records: one JSON object, on one line, per `runs/log/<run_id>.json`. The table's location is
 * `runs/log/`, so Athena never reads the run staging (`runs/staging/`) or the lock (`runs/lock`) beside it.
 */
export function runsTable(): TableSpec {
  return systemTableSpec(SYSTEM_TABLES.runs);
}

/** What the model output tables are generated from: a model as loadModels returns it. */
export interface ModelTableSource {
  readonly name: Model["name"];
  /** Names the model in errors, e.g. `sql/marts/customer_rfm.sql`. */
  readonly file: Model["file"];
  readonly header: Pick<ModelHeader, "question" | "grain" | "materialized" | "columns">;
}

/** The partition key of every model output table: the run's as-of date. */
export const MODEL_PARTITION_KEY: GlueColumn = {
  name: "as_of",
  // `date`, as the run's own tables declare it (ADR 0004, attachPublished).
  type: "date",
  comment:
    "Date the run computed the model as of (yyyy-MM-dd). A registered partition: the run that published " +
    "this date points it at its own files, so a reader sees one whole run.",
};

/**
 * The output table of each published model (`materialized: table`; views get none), named after the model,
 * over `models/<model>/`: the header's columns in order, their declared types in Hive notation and their
 * descriptions as comments, partitioned by `as_of` with registered partitions (no projection: the scoring
 * run swaps a partition's location to publish, ADR 0003 decision 4).
 */
export function modelOutputTables(models: readonly ModelTableSource[]): TableSpec[] {
  return models
    .filter((m) => m.header.materialized === "table")
    .map((m) => ({
      name: m.name,
      description: glueText(`${m.header.question} Grain: ${sentence(m.header.grain)}`, MAX_DESCRIPTION),
      prefix: MODEL_LAYOUT.modelPrefix(m.name),
      format: "parquet",
      columns: m.header.columns.map((c) => ({
        name: c.name,
        type: modelColumnType(m, c.name, c.type),
        comment: glueText(c.description, MAX_COMMENT),
      })),
      partitionKeys: [MODEL_PARTITION_KEY],
      projection: {},
    }));
}

/** The partition key of a `<model>_latest` table: the as-of it shows, one date. */
export const LATEST_PARTITION_KEY: GlueColumn = {
  name: "as_of",
  type: "date",
  comment:
    "Date the run computed the model as of (yyyy-MM-dd): the greatest succeeded as-of, the only one this " +
    "table shows. Projected over that one date; each run that publishes a greater as-of moves it.",
};

/**
 * The `<model>_latest` table beside a model output table (ADR 0014): the model's columns and comments, the
 * `as_of` partition key, and a date projection over exactly one day. The stack declares it pointed at the
 * placeholder (1970-01-01 under MODEL_LAYOUT.latestPlaceholder, which holds no files), so it is empty until a
 * run points it; the publisher then sets the projected day and the location template with one UpdateTable.
 * The table's own location stays the placeholder: with projection enabled, Athena reads the template.
 */
export function latestTable(model: TableSpec): TableSpec {
  if (partitioning(model) !== "registered" || model.latestOf !== undefined) {
    throw new Error(`Glue table "${model.name}" is not a model output table, so it has no latest table`);
  }
  return {
    name: LATEST_TABLE.name(model.name),
    description: glueText(
      `${model.name} as of the latest succeeded run only (the greatest as-of; the as_of column says which). ${model.description}`,
      MAX_DESCRIPTION,
    ),
    prefix: MODEL_LAYOUT.latestPlaceholder(model.name),
    format: model.format,
    columns: model.columns,
    partitionKeys: [LATEST_PARTITION_KEY],
    projection: { [LATEST_PARTITION_KEY.name]: LATEST_TABLE.projection(LATEST_TABLE.placeholderAsOf) },
    latestOf: model.name,
  };
}

/** The Hive type of a header column's declared (Trino) type; an error names the model file and the column. */
function modelColumnType(model: ModelTableSource, column: string, declared: string | undefined): string {
  if (declared === undefined || declared.trim() === "") {
    throw new Error(
      `${model.file}: column "${column}" declares no type, and its Glue table needs one ` +
        `("-- column ${column} <type>: <description>", e.g. varchar, bigint, decimal(18,2), date)`,
    );
  }
  try {
    return hiveType(declared);
  } catch (error) {
    throw new Error(
      `${model.file}: column "${column}" has type "${declared}", which a Glue table cannot declare: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/**
 * Text Glue accepts in a field of at most `max` characters: as is when it fits, else cut at the last word
 * boundary that leaves room for an ellipsis (or mid-word when there is none in the last fifth), with `…`.
 */
export function glueText(text: string, max: number): string {
  if (text.length <= max) return text;
  const room = text.slice(0, max - 1);
  const space = room.lastIndexOf(" ");
  const cut = space >= Math.floor(max * 0.8) ? room.slice(0, space) : room;
  // No dangling punctuation before the ellipsis, and never half of a surrogate pair.
  return `${cut.replace(/[\uD800-\uDBFF]$/, "").replace(/[\s,;:.(–-]+$/u, "")}…`;
}

function sentence(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

/**
 * How a table's partitions are found: `none` (unpartitioned), `projected` (Athena computes them from the
 * projection properties) or `registered` (Glue partitions, written by whoever publishes them).
 */
export function partitioning(spec: TableSpec): "none" | "projected" | "registered" {
  if (spec.partitionKeys.length === 0) return "none";
  const keys = spec.partitionKeys.map((k) => k.name);
  const projected = Object.keys(spec.projection);
  if (projected.length === 0) return "registered";
  if (projected.length !== keys.length || projected.some((k) => !keys.includes(k))) {
    throw new Error(
      `Glue table "${spec.name}" projects ${projected.join(", ")} but is partitioned by ${keys.join(", ")}: ` +
        "project every partition key or none",
    );
  }
  return "projected";
}

/**
 * The tables over what ingest and the runner write, apart from the model outputs: the curated datasets and the
 * system tables (quarantine, the drop ledger, the run records).
 */
export function lakeTables(): TableSpec[] {
  return [
    ...DATASET_NAMES.map((d: DatasetName) => datasetTable(CONTRACTS[d])),
    quarantineTable(),
    ledgerTable(),
    runsTable(),
  ];
}

const FORMATS: Record<TableFormat, glue.CfnTable.StorageDescriptorProperty> = {
  parquet: {
    inputFormat: "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    outputFormat: "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    serdeInfo: { serializationLibrary: "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe" },
  },
  "parquet-symlink": {
    inputFormat: "org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat",
    outputFormat: "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
    serdeInfo: { serializationLibrary: "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe" },
  },
  "json-lines": {
    inputFormat: "org.apache.hadoop.mapred.TextInputFormat",
    outputFormat: "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
    // A malformed ledger file must fail the query, not vanish from it.
    serdeInfo: {
      serializationLibrary: "org.openx.data.jsonserde.JsonSerDe",
      parameters: { "ignore.malformed.json": "FALSE" },
    },
  },
};

/** The Glue TableInput of a spec, over `s3://<bucket>/<prefix>`. */
export function tableInput(spec: TableSpec, bucketName: string): glue.CfnTable.TableInputProperty {
  const location = `s3://${bucketName}/${spec.prefix}`;
  const parameters: Record<string, string> = {
    EXTERNAL: "TRUE",
    classification: spec.format === "json-lines" ? "json" : "parquet",
  };
  const keys = Object.keys(spec.projection);
  if (partitioning(spec) === "projected") {
    parameters["projection.enabled"] = "true";
    for (const [key, props] of Object.entries(spec.projection)) {
      for (const [name, value] of Object.entries(props)) parameters[`projection.${key}.${name}`] = value;
    }
    const dir = (k: string) => (spec.partitionDirs === "plain" ? `\${${k}}/` : `${k}=\${${k}}/`);
    parameters["storage.location.template"] = location + keys.map(dir).join("");
  }
  return {
    name: spec.name,
    description: spec.description,
    tableType: "EXTERNAL_TABLE",
    parameters,
    partitionKeys: spec.partitionKeys.map(toCfn),
    storageDescriptor: { ...FORMATS[spec.format], location, columns: spec.columns.map(toCfn) },
  };
}

export interface LakeCatalogProps {
  readonly databaseName: string;
  readonly lake: s3.IBucket;
  readonly tables: readonly TableSpec[];
}

export class LakeCatalog extends Construct {
  readonly database: glue.CfnDatabase;
  readonly databaseName: string;
  readonly tables: ReadonlyMap<string, glue.CfnTable>;
  /**
   * The tables whose partitions are registered, not projected: the model outputs, whose `as_of` partitions
   * the scoring run creates and re-points. Every other table's partitions are projected (or it has none).
   */
  readonly registeredPartitionTables: readonly string[];
  /**
   * The `<model>_latest` tables (latestTable): projected, and re-pointed by the scoring run with UpdateTable,
   * the one table change it may make.
   */
  readonly latestTables: readonly string[];

  constructor(scope: Construct, id: string, props: LakeCatalogProps) {
    super(scope, id);
    const catalogId = Stack.of(this).account;
    this.databaseName = props.databaseName;
    this.database = new glue.CfnDatabase(this, "Database", {
      catalogId,
      databaseInput: {
        name: props.databaseName,
        description: "crmlake: curated input data, quarantine, drop ledger and model outputs (Athena)",
      },
    });
    const tables = new Map<string, glue.CfnTable>();
    for (const spec of props.tables) {
      if (tables.has(spec.name)) throw new Error(`Glue table "${spec.name}" is declared twice`);
      // The scoring role may update `table/<db>/*_latest` (CrmlakeFunction.useCatalog): no other table so named.
      if (spec.name.endsWith(LATEST_TABLE.suffix) !== (spec.latestOf !== undefined)) {
        throw new Error(
          `Glue table "${spec.name}": only the latest table of a model (latestTable) has a name ending in ` +
            `"${LATEST_TABLE.suffix}", which scoring may update; rename the model or table`,
        );
      }
      tables.set(
        spec.name,
        new glue.CfnTable(this, `Table-${spec.name}`, {
          catalogId,
          // The Ref of a Glue database is its name: the table waits for the database.
          databaseName: this.database.ref,
          tableInput: tableInput(spec, props.lake.bucketName),
        }),
      );
    }
    this.tables = tables;
    this.registeredPartitionTables = props.tables
      .filter((spec) => partitioning(spec) === "registered")
      .map((spec) => spec.name);
    this.latestTables = props.tables.filter((spec) => spec.latestOf !== undefined).map((spec) => spec.name);
  }

  /**
   * ARNs of the catalog, the database, every table in it (IAM names Glue tables by database) and every
   * `<model>_latest` table in it (`*_latest`: the constructor keeps that name to them).
   */
  arns(): { catalog: string; database: string; tables: string; latestTables: string } {
    const stack = Stack.of(this);
    const table = (name: string) =>
      stack.formatArn({ service: "glue", resource: "table", resourceName: `${this.databaseName}/${name}` });
    return {
      catalog: stack.formatArn({ service: "glue", resource: "catalog" }),
      database: stack.formatArn({ service: "glue", resource: "database", resourceName: this.databaseName }),
      tables: table("*"),
      latestTables: table(`*${LATEST_TABLE.suffix}`),
    };
  }

  /**
   * Name prefix of the scoring runs' own databases, `<db>_run_` (functions/engines/athena/warehouse.ts runDatabaseName:
   * `<db>_run_<run id>`, lower-cased, non-[a-z0-9_] replaced by `_`; test/infra checks that the two agree).
   */
  get runDatabasePrefix(): string {
    return `${this.databaseName}_run_`;
  }

  /** ARNs of the catalog, the run databases, every table in them and their (never used) functions. */
  runDatabaseArns(): { catalog: string; databases: string; tables: string; functions: string } {
    const stack = Stack.of(this);
    const prefix = this.runDatabasePrefix;
    return {
      catalog: stack.formatArn({ service: "glue", resource: "catalog" }),
      databases: stack.formatArn({ service: "glue", resource: "database", resourceName: `${prefix}*` }),
      tables: stack.formatArn({ service: "glue", resource: "table", resourceName: `${prefix}*/*` }),
      functions: stack.formatArn({
        service: "glue",
        resource: "userDefinedFunction",
        resourceName: `${prefix}*/*`,
      }),
    };
  }

  /** ARN of one table of this database. */
  tableArn(name: string): string {
    return Stack.of(this).formatArn({
      service: "glue",
      resource: "table",
      resourceName: `${this.databaseName}/${name}`,
    });
  }
}

function column(name: string, type: string, comment: string): GlueColumn {
  if (comment.length > MAX_COMMENT) {
    throw new Error(
      `Comment of column "${name}" has ${comment.length} characters; Glue allows ${MAX_COMMENT}`,
    );
  }
  return { name, type, comment };
}

function toCfn(c: GlueColumn): glue.CfnTable.ColumnProperty {
  return { name: c.name, type: c.type, comment: c.comment };
}
