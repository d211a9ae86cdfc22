/**
 * The lake's input tables on the test Trino, declared from the very specs the stack gives Glue
 * (infra/constructs/lake-catalog.ts `lakeTables()`): same columns, same Hive types, same storage format
 * (Parquet, or OpenX JSON for the ledger and the run records), same partition keys. So the differential tier
 * proves that a Trino reading of what ingest and the runner write, through the catalog the stack deploys,
 * matches DuckDB's (what that cannot prove about Athena's own JSON reader: docs/adr/0009-system-tables.md).
 *
 * What differs from Athena, and why:
 * - The datasets' symlink tables are declared through the file metastore (declareSymlinkTable): Trino reads
 *   symlink tables but cannot create one in SQL. The manifests they read are the ones ingest writes, with
 *   `file://` URIs (the local store's ObjectStore.uri).
 * - Partitions are registered, not projected: Trino's partition projection supports no MONTHS unit (Athena's
 *   `order_month` projection), so Hive-style directories are found with `system.sync_partition_metadata`, and the
 *   ledger's plain `drops/`, `rejected/` directories are registered one by one (`system.register_partition`).
 * - Locations are `file://` URIs of the local lake instead of `s3://`.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type GlueColumn, lakeTables, type TableSpec } from "../../infra/constructs/lake-catalog.ts";

/** What this module needs from a Trino connection (server.ts TrinoServer / TrinoConnection). */
export interface TrinoQuerier {
  query(sql: string): Promise<unknown>;
  /** The Hive file metastore directory (hive.metastore.catalog.dir), to declare symlink tables. */
  readonly catalogDir?: string;
}

/** The formats of a symlink table over Parquet files, as Glue declares them (lake-catalog.ts). */
const SYMLINK_STORAGE = {
  serde: "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
  inputFormat: "org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat",
  outputFormat: "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
};

/**
 * Declares `hive.<schema>.<table>` as a symlink table over the manifest folder `manifestDir`: Trino reads
 * such tables (the files each manifest lists) but its SQL cannot create one, so the table is created as a
 * Parquet table over that folder and its file-metastore entry is then given the symlink formats, as Glue
 * holds them for the stack's tables. (Trino 476's file metastore keeps a table's formats either as one of its
 * own storage formats or, for any other, as `originalStorageFormat`.)
 */
export async function declareSymlinkTable(
  trino: TrinoQuerier,
  schema: string,
  table: string,
  columns: readonly GlueColumn[],
  manifestDir: string,
  comment = "",
): Promise<void> {
  const catalogDir = trino.catalogDir;
  if (catalogDir === undefined) {
    throw new Error(
      "Symlink tables are declared through the Hive file metastore: set CRMLAKE_TRINO_CATALOG_DIR to the reused server's hive.metastore.catalog.dir",
    );
  }
  await mkdir(manifestDir, { recursive: true });
  await trino.query(
    `CREATE TABLE hive.${quoteIdent(schema)}.${quoteIdent(table)} (\n${columns.map(columnDdl).join(",\n")}\n)\nCOMMENT ${quoteString(comment)}\nWITH (format = 'PARQUET', external_location = ${quoteString(`file://${manifestDir}`)})`,
  );
  const dir = join(catalogDir.replace(/^file:\/\//, ""), schema, table);
  const file = join(dir, ".trinoSchema");
  const metadata = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
  if (metadata.storageFormat !== "PARQUET") {
    throw new Error(
      `${file}: expected storageFormat PARQUET, found ${JSON.stringify(metadata.storageFormat)}`,
    );
  }
  delete metadata.storageFormat;
  metadata.originalStorageFormat = SYMLINK_STORAGE;
  await writeFile(file, JSON.stringify(metadata));
  // The checksum Hadoop's local file system wrote beside it would no longer match.
  await rm(join(dir, "..trinoSchema.crc"), { force: true });
}

/**
 * A Glue (Hive DDL) type in Trino's notation: `string` → `varchar`, `map<string,bigint>` → `map(varchar, bigint)`,
 * `struct<rows:bigint>` → `row("rows" bigint)`.
 */
export function trinoTypeOfGlue(glueType: string): string {
  let rest = glueType.replace(/\s+/g, "");
  const parse = (): string => {
    const match = /^([a-z_]+)(\(\d+(?:,\d+)?\))?/.exec(rest);
    if (match === null) throw new Error(`Cannot translate the Glue type "${glueType}" to Trino`);
    rest = rest.slice(match[0].length);
    const name = match[1] ?? "";
    const args = match[2] ?? "";
    if (name === "struct") {
      if (!rest.startsWith("<")) throw new Error(`Glue type "${glueType}": struct without <…>`);
      rest = rest.slice(1);
      const fields: string[] = [];
      for (;;) {
        const field = /^([a-z_][a-z0-9_]*):/.exec(rest);
        if (field === null) throw new Error(`Glue type "${glueType}": a struct field without a name`);
        rest = rest.slice(field[0].length);
        fields.push(`${quoteIdent(field[1] ?? "")} ${parse()}`);
        if (rest.startsWith(",")) {
          rest = rest.slice(1);
          continue;
        }
        if (!rest.startsWith(">")) throw new Error(`Glue type "${glueType}": unclosed struct<…>`);
        rest = rest.slice(1);
        return `row(${fields.join(", ")})`;
      }
    }
    if (name === "array" || name === "map") {
      if (!rest.startsWith("<")) throw new Error(`Glue type "${glueType}": ${name} without <…>`);
      rest = rest.slice(1);
      const inner = [parse()];
      if (name === "map") {
        if (!rest.startsWith(",")) throw new Error(`Glue type "${glueType}": map without a value type`);
        rest = rest.slice(1);
        inner.push(parse());
      }
      if (!rest.startsWith(">")) throw new Error(`Glue type "${glueType}": unclosed ${name}<…>`);
      rest = rest.slice(1);
      return `${name}(${inner.join(", ")})`;
    }
    const simple: Record<string, string> = {
      string: "varchar",
      varchar: `varchar${args}`,
      int: "integer",
      integer: "integer",
      bigint: "bigint",
      smallint: "smallint",
      tinyint: "tinyint",
      boolean: "boolean",
      double: "double",
      float: "real",
      date: "date",
      // Athena reads Hive timestamps at millisecond precision, as the test server does (hive.timestamp-precision).
      timestamp: "timestamp(3)",
      decimal: `decimal${args}`,
    };
    const translated = simple[name];
    if (translated === undefined) throw new Error(`Cannot translate the Glue type "${glueType}" to Trino`);
    return translated;
  };
  const type = parse();
  if (rest !== "") throw new Error(`Cannot translate the Glue type "${glueType}" to Trino (left: ${rest})`);
  return type;
}

const quoteString = (text: string): string => `'${text.replaceAll("'", "''")}'`;
const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;

function columnDdl(c: GlueColumn): string {
  return `  ${quoteIdent(c.name)} ${trinoTypeOfGlue(c.type)} COMMENT ${quoteString(c.comment)}`;
}

/** The CREATE TABLE of a spec over `<lakeDir>/<spec.prefix>`. */
export function createTableSql(schema: string, spec: TableSpec, lakeDir: string): string {
  if (spec.format === "parquet-symlink") {
    throw new Error(`${spec.name} is a symlink table: declare it with declareSymlinkTable`);
  }
  const format = spec.format === "parquet" ? "PARQUET" : "OPENX_JSON";
  const columns = [...spec.columns, ...spec.partitionKeys].map(columnDdl).join(",\n");
  const properties = [
    `format = '${format}'`,
    `external_location = ${quoteString(`file://${join(lakeDir, spec.prefix)}`)}`,
  ];
  if (spec.partitionKeys.length > 0) {
    properties.push(
      `partitioned_by = ARRAY[${spec.partitionKeys.map((k) => quoteString(k.name)).join(", ")}]`,
    );
  }
  return `CREATE TABLE hive.${quoteIdent(schema)}.${quoteIdent(spec.name)} (\n${columns}\n)\nCOMMENT ${quoteString(spec.description)}\nWITH (${properties.join(", ")})`;
}

/** Partition values of a projected partition key (`enum` projections list them). */
function enumValues(spec: TableSpec, key: string): string[] {
  const projection = spec.projection[key];
  if (projection?.type !== "enum" || projection.values === undefined) {
    throw new Error(`Table ${spec.name}: partition ${key} has plain directories but no enum projection`);
  }
  return projection.values.split(",");
}

/**
 * Creates `schema` (if needed) and one table per lake table spec, then makes every partition directory of
 * the local lake visible. Returns the specs it declared.
 */
export async function registerLakeTables(
  trino: TrinoQuerier,
  schema: string,
  lakeDir: string,
  schemaLocation: string,
): Promise<TableSpec[]> {
  await trino.query(
    `CREATE SCHEMA IF NOT EXISTS hive.${quoteIdent(schema)} WITH (location = ${quoteString(`file://${schemaLocation}`)})`,
  );
  const specs = lakeTables();
  for (const spec of specs) {
    // An S3 prefix without objects is an empty table on Athena; Trino wants the directory to exist.
    await mkdir(join(lakeDir, spec.prefix), { recursive: true });
    if (spec.format === "parquet-symlink") {
      await declareSymlinkTable(
        trino,
        schema,
        spec.name,
        spec.columns,
        join(lakeDir, spec.prefix),
        spec.description,
      );
      continue;
    }
    await trino.query(createTableSql(schema, spec, lakeDir));
    if (spec.partitionKeys.length === 0) continue;
    if (spec.partitionDirs === "plain") {
      const [key, ...more] = spec.partitionKeys;
      if (key === undefined || more.length > 0) {
        throw new Error(`Table ${spec.name}: plain partition directories need exactly one partition key`);
      }
      for (const value of enumValues(spec, key.name)) {
        const dir = join(lakeDir, spec.prefix, value);
        if (!existsSync(dir)) continue;
        await trino.query(
          `CALL hive.system.register_partition(${quoteString(schema)}, ${quoteString(spec.name)}, ARRAY[${quoteString(key.name)}], ARRAY[${quoteString(value)}], ${quoteString(`file://${dir}`)})`,
        );
      }
    } else {
      await trino.query(
        `CALL hive.system.sync_partition_metadata(${quoteString(schema)}, ${quoteString(spec.name)}, 'FULL')`,
      );
    }
  }
  return specs;
}
