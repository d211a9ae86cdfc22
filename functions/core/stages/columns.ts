/**
 * Columnar reads and writes for the stages that handle a row per distinct history or per customer (a million and
 * more): the values of a column as one typed array, and a column built from typed arrays, without a JavaScript
 * value per cell (Vector.get and vectorFromArray cost about a microsecond a cell, and garbage for the collector).
 */
import * as arrow from "apache-arrow";

/** The values of a numeric column (Int32, Int64, Float64) as doubles; NULL is NaN. */
export function numberColumn(vector: arrow.Vector): Float64Array {
  const out = new Float64Array(vector.length);
  let at = 0;
  for (const data of vector.data) {
    const values = data.values as Int32Array | BigInt64Array | Float64Array;
    const bitmap = data.nullCount > 0 ? data.nullBitmap : undefined;
    for (let i = 0; i < data.length; i++) {
      const j = data.offset + i;
      const valid = bitmap === undefined || ((bitmap[j >> 3] as number) & (1 << (j & 7))) !== 0;
      out[at++] = valid ? Number(values[j]) : Number.NaN;
    }
  }
  return out;
}

/** 1 where a Utf8 column equals `text`, else 0 (NULL included). */
export function utf8Equals(vector: arrow.Vector, text: string): Uint8Array {
  const target = new TextEncoder().encode(text);
  const out = new Uint8Array(vector.length);
  let at = 0;
  for (const data of vector.data) {
    const offsets = data.valueOffsets as Int32Array;
    const bytes = data.values as Uint8Array;
    const bitmap = data.nullCount > 0 ? data.nullBitmap : undefined;
    for (let i = 0; i < data.length; i++, at++) {
      const j = data.offset + i;
      if (bitmap !== undefined && ((bitmap[j >> 3] as number) & (1 << (j & 7))) === 0) continue;
      const start = offsets[j] as number;
      if ((offsets[j + 1] as number) - start !== target.length) continue;
      let same = 1;
      for (let k = 0; k < target.length; k++) {
        if (bytes[start + k] !== target[k]) {
          same = 0;
          break;
        }
      }
      out[at] = same;
    }
  }
  return out;
}

/** A validity bitmap (Arrow's: bit i set when row i is valid) of the rows where `valid` holds. */
function bitmapOf(length: number, valid: (i: number) => boolean): { bitmap: Uint8Array; nulls: number } {
  const bitmap = new Uint8Array((length + 7) >> 3);
  let nulls = 0;
  for (let i = 0; i < length; i++) {
    if (valid(i)) bitmap[i >> 3] = (bitmap[i >> 3] as number) | (1 << (i & 7));
    else nulls++;
  }
  return { bitmap, nulls };
}

/** A Float64 column; NaN is NULL. */
export function float64Vector(values: Float64Array): arrow.Vector<arrow.Float64> {
  const { bitmap, nulls } = bitmapOf(values.length, (i) => !Number.isNaN(values[i]));
  return arrow.makeVector(
    arrow.makeData({
      type: new arrow.Float64(),
      length: values.length,
      nullCount: nulls,
      nullBitmap: nulls > 0 ? bitmap : null,
      data: values,
    }),
  );
}

/** An Int32 column; the rows where `valid` is false (when given) are NULL. */
export function int32Vector(values: Int32Array, valid?: (i: number) => boolean): arrow.Vector<arrow.Int32> {
  const { bitmap, nulls } = bitmapOf(values.length, valid ?? (() => true));
  return arrow.makeVector(
    arrow.makeData({
      type: new arrow.Int32(),
      length: values.length,
      nullCount: nulls,
      nullBitmap: nulls > 0 ? bitmap : null,
      data: values,
    }),
  );
}

/** An Int64 column of whole numbers (exact below 2^53). */
export function int64Vector(values: Float64Array): arrow.Vector<arrow.Int64> {
  return arrow.makeVector(BigInt64Array.from(values, (v) => BigInt(v)));
}

/** A Utf8 column whose row i is `texts[codes[i]]` (a few distinct texts, many rows). */
export function utf8Vector(texts: readonly string[], codes: Uint8Array): arrow.Vector<arrow.Utf8> {
  const encoded = texts.map((t) => new TextEncoder().encode(t));
  const offsets = new Int32Array(codes.length + 1);
  for (let i = 0; i < codes.length; i++) {
    offsets[i + 1] = (offsets[i] as number) + (encoded[codes[i] as number] as Uint8Array).length;
  }
  const bytes = new Uint8Array(offsets[codes.length] as number);
  for (let i = 0; i < codes.length; i++) bytes.set(encoded[codes[i] as number] as Uint8Array, offsets[i]);
  return arrow.makeVector(
    arrow.makeData({
      type: new arrow.Utf8(),
      length: codes.length,
      nullCount: 0,
      valueOffsets: offsets,
      data: bytes,
    }),
  );
}
