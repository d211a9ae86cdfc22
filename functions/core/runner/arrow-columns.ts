/**
 * The Arrow form of the header's column types, for TypeScript stages (docs/adr/0007-typescript-stages.md):
 * a stage receives each dependency as an apache-arrow Table whose columns have exactly these types, and
 * returns one whose columns have them too.
 *
 *   decimal(p,s)  Decimal128(p,s)      values are unscaled 128-bit integers (decimalValues, decimalVector)
 *   bigint        Int64                values are bigint
 *   integer       Int32
 *   double        Float64
 *   varchar       Utf8                 not Dictionary<Utf8>, which vectorFromArray makes by default
 *   date          Date32 (days)        arrow.DateDay
 *   timestamp(3)  Timestamp(ms)        arrow.TimestampMillisecond, no time zone
 *   boolean       Bool
 *   array(T)      List<T>
 *
 * Parquet files written by the engines hold other timestamp units (DuckDB writes microseconds, Athena may
 * write INT96, read as nanoseconds): conformTable converts those to milliseconds, the lake's precision.
 */
import * as arrow from "apache-arrow";
import { ModelError } from "../errors.ts";

export interface DeclaredColumn {
  readonly name: string;
  /** Header notation (column-types.ts): `decimal(18,2)`, `timestamp(3)`, `array(varchar)`, … */
  readonly type: string;
}

const DECIMAL = /^decimal\((\d+),(\d+)\)$/;
const ARRAY = /^array\((.*)\)$/;

/** The Arrow type that holds a declared column type. */
export function arrowType(declared: string): arrow.DataType {
  switch (declared) {
    case "bigint":
      return new arrow.Int64();
    case "integer":
      return new arrow.Int32();
    case "double":
      return new arrow.Float64();
    case "varchar":
      return new arrow.Utf8();
    case "date":
      return new arrow.DateDay();
    case "timestamp(3)":
      return new arrow.TimestampMillisecond();
    case "boolean":
      return new arrow.Bool();
  }
  const decimal = DECIMAL.exec(declared);
  if (decimal !== null) return new arrow.Decimal(Number(decimal[2]), Number(decimal[1]), 128);
  const array = ARRAY.exec(declared);
  if (array !== null) return new arrow.List(new arrow.Field("element", arrowType(array[1] ?? ""), true));
  throw new ModelError("bad_header", `The column type "${declared}" has no Arrow form`);
}

/** Whether `type` is exactly the Arrow form of `declared` (nullability and field names aside). */
export function holdsDeclared(type: arrow.DataType, declared: string): boolean {
  switch (declared) {
    case "bigint":
      return arrow.DataType.isInt(type) && type.isSigned && type.bitWidth === 64;
    case "integer":
      return arrow.DataType.isInt(type) && type.isSigned && type.bitWidth === 32;
    case "double":
      return arrow.DataType.isFloat(type) && type.precision === arrow.Precision.DOUBLE;
    case "varchar":
      return arrow.DataType.isUtf8(type);
    case "date":
      return arrow.DataType.isDate(type) && type.unit === arrow.DateUnit.DAY;
    case "timestamp(3)":
      return arrow.DataType.isTimestamp(type) && type.unit === arrow.TimeUnit.MILLISECOND && !type.timezone;
    case "boolean":
      return arrow.DataType.isBool(type);
  }
  const decimal = DECIMAL.exec(declared);
  if (decimal !== null) {
    return (
      arrow.DataType.isDecimal(type) &&
      type.bitWidth === 128 &&
      type.precision === Number(decimal[1]) &&
      type.scale === Number(decimal[2])
    );
  }
  const array = ARRAY.exec(declared);
  const element = arrow.DataType.isList(type) ? type.children[0] : undefined;
  return array !== null && element !== undefined && holdsDeclared(element.type, array[1] ?? "");
}

const TIME_UNITS: Readonly<Record<number, string>> = {
  [arrow.TimeUnit.SECOND]: "s",
  [arrow.TimeUnit.MILLISECOND]: "ms",
  [arrow.TimeUnit.MICROSECOND]: "µs",
  [arrow.TimeUnit.NANOSECOND]: "ns",
};

/** An Arrow type in words, for messages: `Decimal128(18,2)`, `Timestamp(µs)`, `Dictionary<Int32, Utf8>`. */
export function describeArrowType(type: arrow.DataType): string {
  if (arrow.DataType.isDecimal(type)) return `Decimal${type.bitWidth}(${type.precision},${type.scale})`;
  if (arrow.DataType.isTimestamp(type)) {
    const unit = TIME_UNITS[type.unit] ?? String(type.unit);
    return type.timezone ? `Timestamp(${unit}, ${type.timezone})` : `Timestamp(${unit})`;
  }
  if (arrow.DataType.isDate(type)) return type.unit === arrow.DateUnit.DAY ? "Date32" : "Date64";
  if (arrow.DataType.isList(type)) {
    const child = type.children[0];
    return `List<${child === undefined ? "?" : describeArrowType(child.type)}>`;
  }
  return String(type);
}

function describeDeclared(declared: string): string {
  return `${declared} (Arrow ${describeArrowType(arrowType(declared))})`;
}

/** Names and order: `undefined` when they agree, else what differs, in the words checkColumns uses. */
function nameDifferences(actual: readonly string[], declared: readonly string[]): string | undefined {
  if (actual.join(",") === declared.join(",")) return undefined;
  const missing = declared.filter((c) => !actual.includes(c));
  const extra = actual.filter((c) => !declared.includes(c));
  return [
    missing.length > 0 ? `documented but not produced: ${missing.join(", ")}` : "",
    extra.length > 0 ? `produced but not documented: ${extra.join(", ")}` : "",
    missing.length === 0 && extra.length === 0
      ? `order differs: the table has ${actual.join(", ")}; the header documents ${declared.join(", ")}`
      : "",
  ]
    .filter((p) => p !== "")
    .join("; ");
}

/**
 * Fails unless the table has exactly the declared columns, in order, each of the Arrow form of its declared
 * type. `what` names the table in the message (`stage customer_share`).
 */
export function checkTableSchema(table: arrow.Table, columns: readonly DeclaredColumn[], what: string): void {
  const names = nameDifferences(
    table.schema.fields.map((f) => f.name),
    columns.map((c) => c.name),
  );
  if (names !== undefined) {
    throw new ModelError(
      "columns_mismatch",
      `${what}: the output columns do not match the header (${names})`,
    );
  }
  const mismatches = columns.flatMap((column, index) => {
    const type = table.schema.fields[index]?.type;
    if (type !== undefined && holdsDeclared(type, column.type)) return [];
    return [
      `column ${column.name} is ${type === undefined ? "missing" : describeArrowType(type)}, but the header declares ${describeDeclared(column.type)}`,
    ];
  });
  if (mismatches.length > 0) {
    throw new ModelError(
      "column_types_mismatch",
      `${what}: ${mismatches.join("; ")}. Return each column as the Arrow type of its declared type (functions/core/runner/arrow-columns.ts), or correct the header.`,
    );
  }
}

/** A vector of timestamps in any unit, as milliseconds (rounded down, like the engines' casts). */
function toMilliseconds(vector: arrow.Vector): arrow.Vector {
  const values: (number | null)[] = [];
  for (let i = 0; i < vector.length; i++) {
    const value: unknown = vector.get(i);
    values.push(typeof value === "number" ? Math.floor(value) : null);
  }
  return arrow.vectorFromArray(values, new arrow.TimestampMillisecond());
}

/**
 * A table read from Parquet, given exactly the declared Arrow types: timestamps of another unit become
 * milliseconds; any other difference fails, naming `what` (the file) and the column.
 */
export function conformTable(
  table: arrow.Table,
  columns: readonly DeclaredColumn[],
  what: string,
): arrow.Table {
  const names = nameDifferences(
    table.schema.fields.map((f) => f.name),
    columns.map((c) => c.name),
  );
  if (names !== undefined) {
    throw new ModelError("columns_mismatch", `${what}: the columns do not match the header (${names})`);
  }
  const fields = columns.map((c) => new arrow.Field(c.name, arrowType(c.type), true));
  const schema = new arrow.Schema(fields);
  if (table.numRows === 0) return new arrow.Table(schema);
  const vectors: Record<string, arrow.Vector> = {};
  for (const [index, column] of columns.entries()) {
    const vector = table.getChildAt(index);
    if (vector === null)
      throw new ModelError("columns_mismatch", `${what}: column ${column.name} is missing`);
    if (holdsDeclared(vector.type, column.type)) {
      vectors[column.name] = vector;
    } else if (column.type === "timestamp(3)" && arrow.DataType.isTimestamp(vector.type)) {
      vectors[column.name] = toMilliseconds(vector);
    } else {
      throw new ModelError(
        "column_types_mismatch",
        `${what}: column ${column.name} is read from Parquet as ${describeArrowType(vector.type)}, but the header declares ${describeDeclared(column.type)}`,
      );
    }
  }
  return new arrow.Table(schema, vectors);
}

/** An empty table with the declared columns (a dependency whose partition holds no file). */
export function emptyTable(columns: readonly DeclaredColumn[]): arrow.Table {
  return new arrow.Table(
    new arrow.Schema(columns.map((c) => new arrow.Field(c.name, arrowType(c.type), true))),
  );
}

// ---- Decimals: apache-arrow hands out a Decimal128 value as four 32-bit words; these speak bigint.

const WORD = 0xffffffffn;

/** A Decimal128 column's values as unscaled integers (12345.67 in decimal(18,2) is 1234567n), NULL as null. */
export function decimalValues(vector: arrow.Vector): (bigint | null)[] {
  if (!arrow.DataType.isDecimal(vector.type) || vector.type.bitWidth !== 128) {
    throw new ModelError(
      "column_types_mismatch",
      `decimalValues needs a Decimal128 column, not ${describeArrowType(vector.type)}`,
    );
  }
  const values: (bigint | null)[] = [];
  for (let i = 0; i < vector.length; i++) {
    const words = vector.get(i) as Uint32Array | null;
    if (words === null) {
      values.push(null);
      continue;
    }
    let value = 0n;
    for (let w = 3; w >= 0; w--) value = (value << 32n) | BigInt(words[w] ?? 0);
    values.push(BigInt.asIntN(128, value));
  }
  return values;
}

/**
 * A Decimal128(precision, scale) vector from unscaled integers. Fails on a value with more digits than the
 * precision allows (the engines would refuse it too).
 */
export function decimalVector(
  values: readonly (bigint | null)[],
  precision: number,
  scale: number,
): arrow.Vector<arrow.Decimal> {
  const limit = 10n ** BigInt(precision);
  const words = new Uint32Array(values.length * 4);
  const validity = new Uint8Array(Math.ceil(values.length / 8));
  let nullCount = 0;
  for (const [i, value] of values.entries()) {
    if (value === null) {
      nullCount++;
      continue;
    }
    if (value >= limit || value <= -limit) {
      throw new ModelError(
        "decimal_overflow",
        `The unscaled value ${value} does not fit decimal(${precision},${scale}) (at most ${precision} digits)`,
      );
    }
    validity[i >> 3] = (validity[i >> 3] ?? 0) | (1 << (i & 7));
    let rest = BigInt.asUintN(128, value);
    for (let w = 0; w < 4; w++) {
      words[i * 4 + w] = Number(rest & WORD);
      rest >>= 32n;
    }
  }
  return arrow.makeVector(
    arrow.makeData({
      type: new arrow.Decimal(scale, precision, 128),
      length: values.length,
      nullCount,
      nullBitmap: nullCount === 0 ? null : validity,
      data: words,
    }),
  );
}
