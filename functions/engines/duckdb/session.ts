import { mkdir } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import type { DuckDBConnection } from "@duckdb/node-api";

/** The connection type, for the one core module allowed to use the session (ingest: ADR 0008). */
export type { DuckDBConnection } from "@duckdb/node-api";

export interface DuckDBOptions {
  /** Worker threads; defaults to the CPU count (a Lambda sets its vCPU count). */
  threads?: number;
  /** DuckDB's buffer-manager limit, e.g. `1GB`; above it DuckDB spills to `tempDirectory`. */
  memoryLimit?: string;
  tempDirectory?: string;
  /** Database file; in memory by default. */
  path?: string;
}

export interface DuckDBSession {
  readonly connection: DuckDBConnection;
  close(): void;
}

/**
 * Trino functions DuckDB lacks that the portability lint recommends (docs/sql-portability.md), defined under
 * their Trino names with Trino's semantics so a model can use them unchanged on both engines. Only names
 * DuckDB does not have: a macro named like a builtin would shadow it. TEMP keeps them out of a database file.
 */
const TRINO_FUNCTIONS = [
  // Trino's array_join skips NULL elements, as array_to_string does.
  "CREATE OR REPLACE TEMP MACRO array_join(a, sep) AS array_to_string(a, sep)",
  // ISO day of week, 1 = Monday … 7 = Sunday (DuckDB's dayofweek and EXTRACT(dow) are 0 = Sunday).
  "CREATE OR REPLACE TEMP MACRO day_of_week(d) AS isodow(d)",
  // Trino's with_timezone(timestamp, zone): the wall-clock timestamp read in zone, as a timestamp with time
  // zone. `with_timezone(ts, 'UTC') AT TIME ZONE z` is then the wall clock of z on both engines.
  "CREATE OR REPLACE TEMP MACRO with_timezone(ts, zone) AS timezone(zone, ts)",
] as const;

/**
 * Opens DuckDB with every setting that matters stated explicitly (DESIGN.md §4): threads, memory limit,
 * spill directory, UTC, no extension downloads (the npm binding links parquet, json and icu statically; a
 * Lambda has no network for autoinstall and no home directory).
 */
export async function openDuckDB(options: DuckDBOptions = {}): Promise<DuckDBSession> {
  const tempDirectory = options.tempDirectory ?? join(tmpdir(), "crmlake-duckdb");
  await mkdir(tempDirectory, { recursive: true });
  // Loaded on first use: the native module takes longer to load than the rest of the command line, and
  // commands that never open DuckDB (`crmlake --help`) should not pay for it (ADR 0012).
  const { DuckDBInstance } = await import("@duckdb/node-api");
  const instance = await DuckDBInstance.create(options.path ?? ":memory:", {
    threads: String(options.threads ?? Math.max(1, availableParallelism())),
    memory_limit: options.memoryLimit ?? "2GB",
    temp_directory: tempDirectory,
    home_directory: tempDirectory,
    autoinstall_known_extensions: "false",
    autoload_known_extensions: "true",
    // DuckDB keeps memory it freed for reuse, outside memory_limit, up to allocator_flush_threshold (128 MB by
    // default) per thread. Flushed at 32 MB by a background thread, peak memory stays flat: ingest's in the
    // drop's size, and a full run on 1 M customers peaked at 1,549 MiB instead of 1,973 MiB, at the same CPU
    // (docs/development.md, Benchmarks).
    allocator_background_threads: "true",
    allocator_flush_threshold: "32MB",
  });
  const connection = await instance.connect();
  // ICU (statically linked) loads with the instance, so the zone can only be set once connected.
  await connection.run("SET TimeZone = 'UTC'");
  for (const statement of TRINO_FUNCTIONS) await connection.run(statement);
  return {
    connection,
    close: () => {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

/** Quotes a string as a SQL literal. Used for file paths and option values we control, never row data. */
export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/**
 * A file path as a literal for DuckDB's readers, which expand `*`, `?` and `[…]` in every path they are
 * given, lists included: each such character is escaped as a one-character class, so `/data/lake*` reads
 * that folder only, never a neighbour that the pattern would also match.
 */
export function sqlPath(path: string): string {
  return sqlString(escapeGlob(path));
}

/** A path with DuckDB's glob characters escaped, to which a pattern (`*.json`) may then be appended. */
export function escapeGlob(path: string): string {
  return path.replace(/[*?[]/g, (c) => `[${c}]`);
}

/** Quotes an identifier (contract names are lower-case and safe; `group` is a keyword). */
export function sqlIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
