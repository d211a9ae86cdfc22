/**
 * The system tables (functions/core/catalogue/system-tables.ts) on DuckDB: the logical types as DuckDB types,
 * DuckDB's type names read back into the logical notation, and the SELECT of each table's view over a local lake.
 *
 * The one correspondence between the engines' types (docs/adr/0009-system-tables.md). The Hive column is
 * catalogue/hive-types.ts `hiveType`; the DuckDB column is duckdbType / logicalTypeOfDuckDB here:
 *
 *   logical (Trino, Athena)   DuckDB                     Hive (Glue)
 *   varchar                   VARCHAR                    string
 *   bigint                    BIGINT                     bigint
 *   integer                   INTEGER                    int
 *   double                    DOUBLE                     double
 *   boolean                   BOOLEAN                    boolean
 *   decimal(p,s)              DECIMAL(p,s)               decimal(p,s)
 *   date                      DATE                       date
 *   timestamp(3)              TIMESTAMP_MS               timestamp   (Athena reads a Hive timestamp as timestamp(3))
 *   array(T)                  T[]                        array<T>
 *   map(K, V)                 MAP(K, V)                  map<K,V>
 *   row(f T, …)               STRUCT("f" T, …)           struct<f:T,…>
 *
 * Read back, DuckDB's other types keep a name that equals no declared type, so a drifted view is a mismatch,
 * never a silent match: TIMESTAMP (microseconds) is `timestamp(6)`, JSON is `json`, HUGEINT is `hugeint`.
 */
import { readdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import {
  type LogicalType,
  parseLogicalType,
  type SystemTable,
  systemTableColumns,
} from "../../core/catalogue/system-tables.ts";
import { TypeScanner } from "../../core/catalogue/type-scanner.ts";
import { escapeGlob, sqlIdent, sqlPath, sqlString } from "./session.ts";

const SCALARS: Readonly<Record<string, string>> = {
  varchar: "VARCHAR",
  bigint: "BIGINT",
  integer: "INTEGER",
  double: "DOUBLE",
  boolean: "BOOLEAN",
  date: "DATE",
  "timestamp(3)": "TIMESTAMP_MS",
};

function duckdbOf(type: LogicalType): string {
  switch (type.kind) {
    case "scalar": {
      const decimal = /^decimal\((\d+),(\d+)\)$/.exec(type.name);
      if (decimal !== null) return `DECIMAL(${decimal[1]},${decimal[2]})`;
      const sql = SCALARS[type.name];
      if (sql === undefined) throw new Error(`No DuckDB type for the logical type "${type.name}"`);
      return sql;
    }
    case "array":
      return `${duckdbOf(type.element)}[]`;
    case "map":
      return `MAP(${duckdbOf(type.key)}, ${duckdbOf(type.value)})`;
    case "row":
      return `STRUCT(${type.fields.map((f) => `${sqlIdent(f.name)} ${duckdbOf(f.type)}`).join(", ")})`;
  }
}

/** The DuckDB type of a logical type: `map(varchar, bigint)` → `MAP(VARCHAR, BIGINT)`. */
export function duckdbType(logical: string | LogicalType): string {
  return duckdbOf(typeof logical === "string" ? parseLogicalType(logical) : logical);
}

/** DuckDB scalar names (upper case, as DESCRIBE prints them) in the logical notation. */
const FROM_DUCKDB: Readonly<Record<string, string>> = {
  VARCHAR: "varchar",
  BIGINT: "bigint",
  INTEGER: "integer",
  DOUBLE: "double",
  BOOLEAN: "boolean",
  DATE: "date",
  TIMESTAMP_MS: "timestamp(3)",
  TIMESTAMP: "timestamp(6)",
  TIMESTAMP_S: "timestamp(0)",
  TIMESTAMP_NS: "timestamp(9)",
  "TIMESTAMP WITH TIME ZONE": "timestamp(6) with time zone",
  FLOAT: "real",
  BLOB: "varbinary",
};

class DuckDBTypeReader extends TypeScanner {
  read(): string {
    const type = this.type();
    this.end();
    return type;
  }

  protected fail(): never {
    throw new Error(`Cannot read the DuckDB type "${this.text}" (at character ${this.position + 1})`);
  }

  private type(): string {
    let type = this.base();
    while (this.text.startsWith("[]", this.position)) {
      this.position += 2;
      type = `array(${type})`;
    }
    return type;
  }

  private base(): string {
    this.space();
    // A name of one or more words (`TIMESTAMP WITH TIME ZONE`), up to `(`, `,`, `)`, `[` or the end.
    const match = /^[A-Za-z_][A-Za-z0-9_]*(?: [A-Za-z_][A-Za-z0-9_]*)*/.exec(this.text.slice(this.position));
    if (match === null) this.fail();
    this.position += match[0].length;
    const name = match[0].toUpperCase();
    if (name === "STRUCT") {
      this.expect("(");
      const fields: string[] = [];
      for (;;) {
        const field = this.fieldName();
        fields.push(`${field} ${this.type()}`);
        if (this.peek() === ",") {
          this.position++;
          continue;
        }
        this.expect(")");
        return `row(${fields.join(", ")})`;
      }
    }
    if (name === "MAP") {
      this.expect("(");
      const key = this.type();
      this.expect(",");
      const value = this.type();
      this.expect(")");
      return `map(${key}, ${value})`;
    }
    if (this.peek() === "(") {
      const close = this.text.indexOf(")", this.position);
      if (close < 0) this.fail();
      const args = this.text
        .slice(this.position + 1, close)
        .split(",")
        .map((a) => a.trim());
      this.position = close + 1;
      return `${name.toLowerCase()}(${args.join(",")})`;
    }
    return FROM_DUCKDB[name] ?? name.toLowerCase();
  }

  private fieldName(): string {
    if (this.peek() === '"') {
      let name = "";
      let i = this.position + 1;
      for (;;) {
        const quote = this.text.indexOf('"', i);
        if (quote < 0) this.fail();
        name += this.text.slice(i, quote);
        if (this.text[quote + 1] === '"') {
          name += '"';
          i = quote + 2;
          continue;
        }
        this.position = quote + 1;
        return name;
      }
    }
    const match = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.text.slice(this.position));
    if (match === null) this.fail();
    this.position += match[0].length;
    return match[0];
  }
}

/**
 * A DuckDB type as DESCRIBE or a result's column types print it (`MAP(VARCHAR, BIGINT)`,
 * `STRUCT(model VARCHAR, "rows" BIGINT)[]`, `TIMESTAMP_MS`) in the logical notation (`map(varchar, bigint)`,
 * `array(row(model varchar, rows bigint))`, `timestamp(3)`), by the correspondence above.
 */
export function logicalTypeOfDuckDB(duckdbTypeText: string): string {
  return new DuckDBTypeReader(duckdbTypeText.trim()).read();
}

/** Files with `suffix` directly in `dir`, ignoring a writer's temporary files; false when `dir` is absent. */
async function hasFiles(dir: string, suffix: string): Promise<boolean> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.some((e) => e.isFile() && e.name.endsWith(suffix) && !e.name.includes(".tmp-"));
  } catch {
    return false;
  }
}

/**
 * The SELECT of a system table's view over a local lake: its columns in declared order with their declared
 * types, then its partition key, whose value is the directory the row's file is in. Like Athena's enum
 * projection, only the declared partition values are read. A table with no files is an empty SELECT of the
 * same columns. `files`, when given, are the only files read (the quarantine files a ledger snapshot lists,
 * ADR 0010); otherwise every file of the table's folders is.
 */
export async function systemTableSelect(
  table: SystemTable,
  lakeDir: string,
  files?: readonly string[],
): Promise<string> {
  const columns = table.columns.map((c) => ({ name: c.name, sql: duckdbType(c.type) }));
  if (table.partitionKeys.length > 1) {
    throw new Error(`System table ${table.name}: the DuckDB views support one partition key`);
  }
  const key = table.partitionKeys[0];
  const dirs =
    key === undefined
      ? [{ dir: join(lakeDir, table.prefix), value: undefined }]
      : key.values.map((value) => ({
          dir: join(lakeDir, table.prefix, key.dirs === "hive" ? `${key.name}=${value}` : value),
          value,
        }));
  const suffix = table.format === "parquet" ? ".parquet" : ".json";
  const selects: string[] = [];
  for (const { dir, value } of dirs) {
    const listed = files?.filter((f) => dirname(f) === dir);
    if (listed === undefined ? !(await hasFiles(dir, suffix)) : listed.length === 0) continue;
    const glob =
      listed === undefined
        ? sqlString(join(escapeGlob(dir), `*${suffix}`))
        : `[${listed.map(sqlPath).join(", ")}]`;
    const source =
      table.format === "parquet"
        ? `read_parquet(${glob}, hive_partitioning = false)`
        : `read_json(${glob}, format = 'newline_delimited', columns = {${columns.map((c) => `${sqlString(c.name)}: ${sqlString(c.sql)}`).join(", ")}})`;
    const list = columns.map((c) => `CAST(${sqlIdent(c.name)} AS ${c.sql}) AS ${sqlIdent(c.name)}`);
    if (key !== undefined && value !== undefined) list.push(`${sqlString(value)} AS ${sqlIdent(key.name)}`);
    selects.push(`SELECT ${list.join(", ")} FROM ${source}`);
  }
  if (selects.length > 0) return selects.join(" UNION ALL ");
  const typed = systemTableColumns(table).map(
    (c) => `CAST(NULL AS ${duckdbType(c.type)}) AS ${sqlIdent(c.name)}`,
  );
  return `SELECT ${typed.join(", ")} WHERE false`;
}
