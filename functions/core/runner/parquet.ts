/**
 * Parquet ⇄ Arrow in TypeScript, for the runner's TypeScript stages (docs/adr/0007-typescript-stages.md):
 * parquet-wasm (the Rust `parquet` crate of arrow-rs compiled to WebAssembly) decodes and encodes, and the
 * tables cross to apache-arrow as Arrow IPC streams. No DuckDB: this runs in the scoring Lambda.
 *
 * The WebAssembly module (4.8 MB) is compiled on first use, not at import, so a run without stages never
 * pays for it. It is found the way Node finds a package file, from this module's location: in the repository,
 * node_modules/parquet-wasm/esm/parquet_wasm_bg.wasm; in the Lambda asset, the copy that
 * infra/bundling/parquet-wasm.ts puts under the bundle's own node_modules/ (test/infra/bundling.test.ts).
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import * as arrow from "apache-arrow";
import {
  Compression,
  initSync,
  ParquetFile,
  readParquet,
  Table as WasmTable,
  WriterPropertiesBuilder,
  writeParquet,
} from "parquet-wasm/esm";
import { errorMessage, ModelError } from "../errors.ts";

/** The package file of the WebAssembly module (an `exports` entry of parquet-wasm's package.json). */
export const PARQUET_WASM_FILE = "parquet-wasm/esm/parquet_wasm_bg.wasm";

/** Rows per decoded record batch (arrow-rs defaults to 1,024, which makes many tiny batches). */
const BATCH_ROWS = 65_536;

let initialised = false;

function ensureInitialised(): void {
  if (initialised) return;
  let path: string;
  try {
    path = createRequire(import.meta.url).resolve(PARQUET_WASM_FILE);
  } catch (error) {
    throw new ModelError(
      "parquet_unavailable",
      `Cannot find ${PARQUET_WASM_FILE} from ${import.meta.url}: ${errorMessage(error)}. In a Lambda asset it is copied next to the bundle (infra/bundling/parquet-wasm.ts); in the repository, run "npm ci".`,
      { cause: error },
    );
  }
  initSync({ module: readFileSync(path) });
  initialised = true;
}

/** Decodes a whole Parquet file (any codec arrow-rs reads: ZSTD, Snappy, GZIP, LZ4, Brotli, none). */
export function decodeParquet(bytes: Uint8Array, where: string): arrow.Table {
  ensureInitialised();
  try {
    return arrow.tableFromIPC(readParquet(bytes, { batchSize: BATCH_ROWS }).intoIPCStream());
  } catch (error) {
    throw new ModelError("bad_parquet", `Cannot read the Parquet file ${where}: ${errorMessage(error)}`, {
      cause: error,
    });
  }
}

/**
 * Decodes only `columns` (top-level names; they come back in the file's order) of a Parquet file: the others are
 * not decompressed. parquet-wasm's synchronous reader ignores a column selection; its file reader honours it.
 */
export async function decodeParquetColumns(
  bytes: Uint8Array,
  where: string,
  columns: readonly string[],
): Promise<arrow.Table> {
  ensureInitialised();
  try {
    const file = await ParquetFile.fromFile(new Blob([bytes]));
    try {
      const table = await file.read({ batchSize: BATCH_ROWS, columns: [...columns] });
      return arrow.tableFromIPC(table.intoIPCStream());
    } finally {
      file.free();
    }
  } catch (error) {
    throw new ModelError("bad_parquet", `Cannot read the Parquet file ${where}: ${errorMessage(error)}`, {
      cause: error,
    });
  }
}

/**
 * Encodes a table as one Parquet file, ZSTD-compressed like the engines' outputs (DuckDB adapter, Athena
 * UNLOAD). The Arrow schema travels in the file's metadata (`ARROW:schema`), as arrow-rs writes it.
 */
export function encodeParquet(table: arrow.Table): Uint8Array {
  ensureInitialised();
  const properties = new WriterPropertiesBuilder().setCompression(Compression.ZSTD).build();
  return writeParquet(WasmTable.fromIPCStream(arrow.tableToIPC(table, "stream")), properties);
}
