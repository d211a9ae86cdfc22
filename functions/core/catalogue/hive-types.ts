/**
 * The Hive type map: a column type in Trino notation (a model header's declared type, or what Athena's
 * information_schema reports) → the Hive DDL type a Glue table declares. Part of the catalogue, because the
 * stack's Glue tables and the Athena adapter's CREATE EXTERNAL TABLE must agree on it.
 */
import { QueryFailedError } from "../errors.ts";
import { TypeScanner } from "./type-scanner.ts";

/** Field names of a struct type, as Athena reports them (always lower-case). */
const FIELD = /^[a-z_][a-z0-9_]{0,254}$/;

function fieldName(name: string): string {
  if (!FIELD.test(name)) {
    throw new QueryFailedError(
      "athena_invalid_name",
      `Invalid column name "${name}": expected ${FIELD.source}`,
    );
  }
  return name;
}

const SIMPLE_HIVE_TYPES: Readonly<Record<string, string>> = {
  varchar: "string",
  string: "string",
  boolean: "boolean",
  tinyint: "tinyint",
  smallint: "smallint",
  integer: "int",
  int: "int",
  bigint: "bigint",
  real: "float",
  float: "float",
  double: "double",
  date: "date",
  timestamp: "timestamp",
  varbinary: "binary",
  binary: "binary",
};

class TypeParser extends TypeScanner {
  parse(): string {
    const type = this.type();
    this.end();
    return type;
  }

  protected fail(): never {
    throw new QueryFailedError(
      "athena_unsupported_type",
      `Cannot declare the Athena type "${this.text}" in a Glue table (at character ${this.position + 1})`,
    );
  }

  private word(): string {
    this.space();
    const match = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.text.slice(this.position));
    if (match === null) this.fail();
    this.position += match[0].length;
    return match[0].toLowerCase();
  }

  private fieldName(): string {
    this.space();
    if (this.text[this.position] === '"') {
      const end = this.text.indexOf('"', this.position + 1);
      if (end < 0) this.fail();
      const name = this.text.slice(this.position + 1, end);
      this.position = end + 1;
      return fieldName(name.toLowerCase());
    }
    return fieldName(this.word());
  }

  private numbers(): number[] {
    const values: number[] = [];
    this.expect("(");
    for (;;) {
      this.space();
      const match = /^\d+/.exec(this.text.slice(this.position));
      if (match === null) this.fail();
      values.push(Number(match[0]));
      this.position += match[0].length;
      if (this.peek() === ",") {
        this.position++;
        continue;
      }
      this.expect(")");
      return values;
    }
  }

  private type(): string {
    const name = this.word();
    const open = this.peek();
    if (name === "decimal") {
      const [precision, scale] = open === "(" ? this.numbers() : [38, 0];
      if (precision === undefined || precision < 1 || precision > 38) this.fail();
      return `decimal(${precision},${scale ?? 0})`;
    }
    if (name === "char" || name === "varchar") {
      if (open !== "(") return name === "char" ? "char(1)" : "string";
      const [length] = this.numbers();
      return name === "char" ? `char(${length})` : `varchar(${length})`;
    }
    if (name === "timestamp") {
      if (open === "(") this.numbers(); // Athena's Hive tables read timestamps as timestamp(3) whatever the declaration
      return "timestamp";
    }
    if (name === "array") return `array<${this.nested(1)[0]}>`;
    if (name === "map") {
      const [key, value] = this.nested(2);
      return `map<${key},${value}>`;
    }
    if (name === "row" || name === "struct") return `struct<${this.fields().join(",")}>`;
    const simple = SIMPLE_HIVE_TYPES[name];
    if (simple === undefined) this.fail();
    return simple;
  }

  /** `(T)` / `(K, V)` in Trino notation, `<T>` / `<K,V>` in Hive notation. */
  private nested(count: number): string[] {
    const open = this.peek();
    if (open !== "(" && open !== "<") this.fail();
    this.position++;
    const types: string[] = [];
    for (let i = 0; i < count; i++) {
      if (i > 0) this.expect(",");
      types.push(this.type());
    }
    this.expect(open === "(" ? ")" : ">");
    return types;
  }

  /** `(a integer, b varchar)` in Trino notation, `<a:int,b:string>` in Hive notation. */
  private fields(): string[] {
    const open = this.peek();
    if (open !== "(" && open !== "<") this.fail();
    this.position++;
    const fields: string[] = [];
    for (;;) {
      const name = this.fieldName();
      if (open === "<") this.expect(":");
      fields.push(`${name}:${this.type()}`);
      if (this.peek() === ",") {
        this.position++;
        continue;
      }
      this.expect(open === "(" ? ")" : ">");
      return fields;
    }
  }
}

/**
 * The Hive DDL type of an Athena column type, as information_schema reports it (Trino notation:
 * `varchar`, `decimal(18,2)`, `array(row(a integer))`) or as Glue stores it (`string`, `array<struct<a:int>>`).
 */
export function hiveType(trinoType: string): string {
  return new TypeParser(trinoType.trim()).parse();
}
