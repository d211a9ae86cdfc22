/**
 * Every SQL statement the Athena adapter sends is built here (docs/adr/0004-athena-adapter.md). Names come
 * from the runner (model and relation names, validated lower-case identifiers) or from the engine's own
 * catalogue (column names); locations from the deployment. Each is checked against a strict pattern before
 * it is spliced in, and nothing here ever receives a data value.
 *
 * Quoting follows Athena's two grammars: Hive DDL (CREATE EXTERNAL TABLE, DATABASE) takes backticks,
 * Trino DML and views take double quotes, and CTAS/UNLOAD names stay unquoted (Athena CTAS limitations),
 * which the identifier pattern makes safe.
 */
import { hiveType } from "../../core/catalogue/hive-types.ts";
import { isIsoDate, notADate } from "../../core/dates.ts";
import { QueryFailedError } from "../../core/errors.ts";

/** Glue database, table and view names the adapter creates or reads: lower-case, like the runner's. */
const NAME = /^[a-z][a-z0-9_]{0,254}$/;
/** Column names as Athena reports them (always lower-case). */
const COLUMN = /^[a-z_][a-z0-9_]{0,254}$/;
/** Glue catalog names (`AwsDataCatalog`, or a registered catalog). */
const CATALOG = /^[A-Za-z][A-Za-z0-9_-]{0,127}$/;
/**
 * `s3://bucket/prefix/` with characters that need no escaping in a SQL literal or an S3 key. Run ids
 * (`20240131T120000123Z-a1b2c3`) and Hive partition directories (`as_of=2024-01-31`) fit.
 */
const S3_LOCATION = /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/(?:[A-Za-z0-9_.=+-]+\/)*$/;

/** Athena rejects longer query strings (service quota, not adjustable). */
export const MAX_QUERY_BYTES = 262_144;

/** The suffix of the CTAS table that holds a model's rows in the run database; `<model>` is a view over it. */
export const CTAS_SUFFIX = "__ctas";
/** The suffix of the view that holds a model's body before UNLOAD (materialization "unload"). */
export const BODY_SUFFIX = "__body";
/** The suffix of the external table over a model's UNLOADed files. */
export const UNLOADED_SUFFIX = "__unloaded";
/** The suffix of the symlink table over an input relation's pinned files; `<relation>` is a view over it. */
export const PINNED_SUFFIX = "__pinned";

export type NameKind = "database" | "table" | "view" | "model" | "relation";

function invalid(message: string): QueryFailedError {
  return new QueryFailedError("athena_invalid_name", message);
}

/** Returns `name` when it is a valid lower-case identifier; throws a message naming it otherwise. */
export function identifier(kind: NameKind, name: string): string {
  if (!NAME.test(name)) {
    throw invalid(
      `Invalid ${kind} name "${name}": Athena names here must match ${NAME.source} (lower-case letters, digits and _, starting with a letter)`,
    );
  }
  return name;
}

export function columnName(name: string): string {
  if (!COLUMN.test(name)) {
    throw invalid(`Invalid column name "${name}": expected ${COLUMN.source}`);
  }
  return name;
}

export function catalogName(name: string): string {
  if (!CATALOG.test(name)) throw invalid(`Invalid catalog name "${name}": expected ${CATALOG.source}`);
  return name;
}

/** A normalised S3 location (trailing `/` added); throws unless it is a plain `s3://bucket/prefix/`. */
export function s3Location(location: string): string {
  const normalised = location.endsWith("/") ? location : `${location}/`;
  if (!S3_LOCATION.test(normalised)) {
    throw invalid(
      `Invalid S3 location "${location}": expected s3://<bucket>/<prefix>/ with letters, digits and _ . = + - in the key`,
    );
  }
  return normalised;
}

/** A real calendar date written `YYYY-MM-DD` (it goes into SQL text: checked again here). */
export function isoDate(value: string): string {
  if (!isIsoDate(value)) throw invalid(`Invalid as_of: ${notADate(value)}`);
  return value;
}

/** The Parquet SerDe and the symlink formats, as the stack's Glue tables declare them. */
export const PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe";
export const SYMLINK_INPUT_FORMAT = "org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat";
export const SYMLINK_OUTPUT_FORMAT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat";

/** A Hive type of the catalogue's (`string`, `decimal(18,2)`, `map<string,bigint>`), checked before use. */
function plainHiveType(type: string): string {
  if (!/^[a-z][a-z0-9_(),<>: ]*$/.test(type)) {
    throw new QueryFailedError("athena_invalid_type", `Invalid Hive type "${type}"`);
  }
  return type;
}

/** A model body as a subquery: no trailing `;`, and a closing parenthesis a trailing `-- comment` cannot hide. */
function subquery(body: string): string {
  const trimmed = body.trim().replace(/;\s*$/, "");
  if (trimmed === "") throw new QueryFailedError("athena_empty_body", "The model body is empty");
  return `(\n${trimmed}\n)`;
}

/** `"a", "b"`: column lists of views (double quotes: `group` and other keywords are valid column names). */
function dmlColumns(columns: readonly string[]): string {
  return columns.map((c) => `"${columnName(c)}"`).join(", ");
}

export const sql = {
  createRunDatabase(database: string): string {
    return `CREATE DATABASE IF NOT EXISTS ${identifier("database", database)} COMMENT 'crmlake run database: views over the inputs and the tables of one model run, dropped when the run ends'`;
  },

  dropDatabase(database: string): string {
    return `DROP DATABASE IF EXISTS ${identifier("database", database)} CASCADE`;
  },

  /** The run's view of an input relation read whole from the input database (the drop ledger). */
  inputView(runDatabase: string, inputDatabase: string, name: string): string {
    const relation = identifier("relation", name);
    return `CREATE OR REPLACE VIEW ${identifier("database", runDatabase)}.${relation} AS SELECT * FROM ${identifier("database", inputDatabase)}.${relation}`;
  },

  /** The run's view of an input relation of which the run pinned no file: its columns, no rows. */
  emptyInputView(runDatabase: string, inputDatabase: string, name: string): string {
    return `${sql.inputView(runDatabase, inputDatabase, name)} WHERE false`;
  },

  /**
   * An external table over a symlink manifest: the Parquet files the manifest at `location` lists, and no
   * others (ADR 0010). Columns in Hive types, as the Glue tables declare them.
   */
  symlinkTable(
    database: string,
    table: string,
    columns: readonly { name: string; hive: string }[],
    location: string,
  ): string {
    if (columns.length === 0)
      throw new QueryFailedError("athena_no_columns", "A table needs at least one column");
    return [
      `CREATE EXTERNAL TABLE ${identifier("database", database)}.${identifier("table", table)} (`,
      columns.map((c) => `  \`${columnName(c.name)}\` ${plainHiveType(c.hive)}`).join(",\n"),
      ")",
      `ROW FORMAT SERDE '${PARQUET_SERDE}'`,
      `STORED AS INPUTFORMAT '${SYMLINK_INPUT_FORMAT}'`,
      `OUTPUTFORMAT '${SYMLINK_OUTPUT_FORMAT}'`,
      `LOCATION '${s3Location(location)}'`,
    ].join("\n");
  },

  /**
   * The run's view of a pinned relation over its symlink table: the table's columns, with the Hive partition
   * columns of the paths (`<column>=<value>/`) read from `"$path"`: `derive` for one that is only in the path
   * (the quarantine's `dataset`, added last), `fallback` for one that files written before lake format 3 lack
   * (transactions' `order_month`).
   */
  pinnedView(
    runDatabase: string,
    name: string,
    table: string,
    columns: readonly string[],
    fromPath: Readonly<Record<string, "derive" | "fallback">> = {},
  ): string {
    const db = identifier("database", runDatabase);
    const path = (c: string) => `regexp_extract("$path", '/${columnName(c)}=([^/]+)/', 1)`;
    const select = [
      ...columns.map((c) =>
        fromPath[c] === "fallback"
          ? `coalesce("${columnName(c)}", ${path(c)}) AS "${c}"`
          : `"${columnName(c)}"`,
      ),
      ...Object.entries(fromPath)
        .filter(([, how]) => how === "derive")
        .map(([c]) => `${path(c)} AS "${c}"`),
    ];
    return `CREATE OR REPLACE VIEW ${db}.${identifier("relation", name)} AS SELECT ${select.join(", ")} FROM ${db}.${identifier("table", table)}`;
  },

  view(database: string, name: string, select: string): string {
    return `CREATE OR REPLACE VIEW ${identifier("database", database)}.${identifier("view", name)} AS\n${select.trim().replace(/;\s*$/, "")}`;
  },

  /** A view that shows `columns` of `table` in order (hides the CTAS table's partition column). */
  projectionView(database: string, name: string, table: string, columns: readonly string[]): string {
    const db = identifier("database", database);
    return `CREATE OR REPLACE VIEW ${db}.${identifier("view", name)} AS SELECT ${dmlColumns(columns)} FROM ${db}.${identifier("table", table)}`;
  },

  dropView(database: string, name: string): string {
    return `DROP VIEW IF EXISTS ${identifier("database", database)}.${identifier("view", name)}`;
  },

  dropTable(database: string, name: string): string {
    return `DROP TABLE IF EXISTS ${identifier("database", database)}.${identifier("table", name)}`;
  },

  /**
   * The CTAS of a model (the Warehouse contract): Parquet at `location`, one `as_of` partition, the
   * partition column last. One partition per statement keeps it far under Athena's 100-partition limit.
   * `as_of` is cast to plain varchar so the Glue column is `string`, like the published tables'.
   */
  ctas(database: string, table: string, location: string, asOf: string, body: string): string {
    return [
      `CREATE TABLE ${identifier("database", database)}.${identifier("table", table)}`,
      "WITH (",
      "  format = 'PARQUET',",
      "  write_compression = 'ZSTD',",
      `  external_location = '${s3Location(location)}',`,
      "  partitioned_by = ARRAY['as_of']",
      ")",
      `AS SELECT *, CAST('${isoDate(asOf)}' AS varchar) AS as_of FROM ${subquery(body)}`,
    ].join("\n");
  },

  /** UNLOAD of a SELECT as Parquet files under `location` (which must be empty). */
  unload(select: string, location: string, compression: "SNAPPY" | "ZSTD"): string {
    return `UNLOAD ${subquery(select)}\nTO '${s3Location(location)}'\nWITH (format = 'PARQUET', compression = '${compression}')`;
  },

  /** Columns of a table or view, in order, with their Trino types (`decimal(18,2)`, `array(varchar)`). */
  columns(catalog: string, database: string, table: string): string {
    return [
      "SELECT column_name, data_type",
      `FROM ${catalogName(catalog)}.information_schema.columns`,
      `WHERE table_schema = '${identifier("database", database)}' AND table_name = '${identifier("table", table)}'`,
      "ORDER BY ordinal_position",
    ].join("\n");
  },

  count(database: string, table: string): string {
    return `SELECT COUNT(*) AS n FROM ${identifier("database", database)}.${identifier("table", table)}`;
  },

  selectAll(database: string, name: string): string {
    return `SELECT * FROM ${identifier("database", database)}.${identifier("relation", name)}`;
  },

  /** An unpartitioned external Parquet table over the files under `location`. */
  parquetTable(
    database: string,
    table: string,
    columns: readonly { name: string; type: string }[],
    location: string,
  ): string {
    return [
      `CREATE EXTERNAL TABLE ${identifier("database", database)}.${identifier("table", table)} (`,
      hiveColumns(columns),
      ")",
      "STORED AS PARQUET",
      `LOCATION '${s3Location(location)}'`,
    ].join("\n");
  },
} as const;

function hiveColumns(columns: readonly { name: string; type: string }[]): string {
  if (columns.length === 0)
    throw new QueryFailedError("athena_no_columns", "A table needs at least one column");
  return columns.map((c) => `  \`${columnName(c.name)}\` ${hiveType(c.type)}`).join(",\n");
}
