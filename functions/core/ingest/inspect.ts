import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { open, stat } from "node:fs/promises";
import { basename } from "node:path";
import { Transform, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { IngestError } from "../errors.ts";
import { type CsvLayout, CsvScanner } from "./csv-scan.ts";
import { PaddingDetector } from "./padding.ts";
import type { SourceProfile } from "./profile.ts";

export type FileFormat = "csv" | "jsonl" | "parquet";

export interface FileFacts {
  readonly format: FileFormat;
  readonly gzip: boolean;
  readonly delimiter: string;
  readonly sizeBytes: number;
  readonly sha256: string;
  /** Where a delimited file's records start and which are broken by a stray quote (csv-scan.ts). */
  readonly layout?: CsvLayout;
  /**
   * A delimited file's: false when no field can begin or end with a character trim removes (padding.ts), so
   * the fields need no trimming. Absent: unknown (trim).
   */
  readonly padded?: boolean;
}

const GZIP_MAGIC = [0x1f, 0x8b];
const PARQUET_MAGIC = "PAR1";

/**
 * Streams the file once for its SHA-256 (the drop's content identity in the ledger) and, for gzip, checks
 * the whole compressed stream on the way: DuckDB's reader stops quietly at a damaged or truncated gzip
 * member and returns the rows before it (observed on 1.5.6), which would lose rows without a word.
 * `onText` receives the (decompressed) bytes on the same pass: the CSV scanner reads them there.
 */
export async function sha256File(
  path: string,
  gzip = false,
  onText?: (chunk: Buffer) => void,
): Promise<string> {
  const hash = createHash("sha256");
  // One read of the file: every chunk is hashed on its way through, and a gzip file is also decompressed
  // to the end (and thrown away) so that damage anywhere in it is found here, not half-way through
  // converting. pipeline() carries an error of any stage to this await: none is left unhandled.
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      try {
        onText?.(chunk);
        done();
      } catch (error) {
        done(error as Error);
      }
    },
  });
  try {
    await (gzip
      ? pipeline(createReadStream(path), tap, createGunzip(), sink)
      : pipeline(createReadStream(path), tap, sink));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (gzip && typeof code === "string" && code.startsWith("Z_")) {
      throw new IngestError(
        "corrupt_gzip",
        `"${basename(path)}" is not a valid gzip file: ${(error as Error).message}`,
        { cause: error },
      );
    }
    throw error;
  }
  return hash.digest("hex");
}

async function readHead(path: string, bytes: number): Promise<Buffer> {
  const handle = await open(path, "r");
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** The format a file name claims: `orders.csv.gz` → csv + gzip. */
export function formatFromName(name: string): { format?: FileFormat; gzip: boolean; tsv: boolean } {
  const lower = basename(name).toLowerCase();
  const gzip = lower.endsWith(".gz");
  const bare = gzip ? lower.slice(0, -3) : lower;
  const ext = bare.includes(".") ? bare.slice(bare.lastIndexOf(".") + 1) : "";
  const byExt: Record<string, FileFormat> = {
    csv: "csv",
    tsv: "csv",
    txt: "csv",
    jsonl: "jsonl",
    ndjson: "jsonl",
    json: "jsonl",
    parquet: "parquet",
  };
  return { format: byExt[ext], gzip, tsv: ext === "tsv" };
}

/**
 * Works out what a drop is and checks that it is what it claims, before DuckDB touches it: a `.gz` that is
 * not gzip, a `.parquet` that is not Parquet, a binary file posing as text, an empty file. Each is a
 * whole-file rejection with one line that says what is wrong and what was expected.
 */
export async function inspectFile(
  path: string,
  displayName: string,
  profile: SourceProfile,
): Promise<FileFacts> {
  const { size } = await stat(path);
  const named = formatFromName(displayName);
  const format = profile.format ?? named.format;
  if (!format) {
    throw new IngestError(
      "unknown_format",
      `Cannot tell the format of "${displayName}": expected a name ending in .csv, .tsv, .txt, .jsonl, .ndjson, .json or .parquet (optionally .gz), or "format" in the source profile`,
    );
  }
  if (size === 0) throw new IngestError("empty_file", `"${displayName}" is empty (0 bytes)`);
  const head = await readHead(path, 4);
  const isGzip = head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
  if (named.gzip && !isGzip) {
    throw new IngestError(
      "not_gzip",
      `"${displayName}" is named .gz but is not gzip-compressed (it does not start with the gzip signature 1f 8b)`,
    );
  }
  if (format === "parquet") {
    if (isGzip)
      throw new IngestError("bad_format", `"${displayName}": gzip-compressed Parquet is not supported`);
    const tail = await readTail(path, 4);
    if (head.toString("latin1") !== PARQUET_MAGIC || tail.toString("latin1") !== PARQUET_MAGIC) {
      throw new IngestError(
        "bad_format",
        `"${displayName}" is not a Parquet file (Parquet files start and end with "PAR1")`,
      );
    }
  }
  const delimiter = profile.delimiter ?? (named.tsv ? "\t" : ",");
  const scanner = format === "csv" ? csvScanner(profile, delimiter) : undefined;
  const padding = format === "csv" ? paddingDetector(profile, delimiter) : undefined;
  const sha256 = await sha256File(
    path,
    isGzip,
    scanner &&
      ((chunk) => {
        scanner.push(chunk);
        padding?.push(chunk);
      }),
  );
  const layout = scanner?.finish();
  return {
    format,
    gzip: isGzip,
    delimiter,
    sizeBytes: size,
    sha256,
    ...(layout ? { layout } : {}),
    ...(padding ? { padded: padding.finish() } : {}),
  };
}

/**
 * The scanner of a delimited file's records. It reads bytes, so the quote and the delimiter must each be one
 * byte in the file's encoding (any ASCII character, or any character in Latin-1); a profile with another
 * character is read by DuckDB alone, without resynchronisation after a stray quote.
 */
function csvScanner(profile: SourceProfile, delimiter: string): CsvScanner | undefined {
  const bytes = csvBytes(profile, delimiter);
  if (!bytes) return undefined;
  const { delimiterByte, quoteByte } = bytes;
  return new CsvScanner({
    ...(quoteByte === undefined ? {} : { quote: quoteByte }),
    delimiter: delimiterByte,
    header: profile.header,
    ...(profile.columns ? { columns: profile.columns.length } : {}),
    maxQuotedLines: profile.quoted_field_max_lines,
    maxQuotedBytes: profile.quoted_field_max_bytes,
  });
}

/** The padding detector of a delimited file, on the same terms as its scanner (one-byte delimiter and quote). */
function paddingDetector(profile: SourceProfile, delimiter: string): PaddingDetector | undefined {
  const bytes = csvBytes(profile, delimiter);
  return bytes && new PaddingDetector(bytes.delimiterByte, bytes.quoteByte, profile.encoding === "latin-1");
}

/** The delimiter's and the quote's byte, when each is one byte in the file's encoding. */
function csvBytes(
  profile: SourceProfile,
  delimiter: string,
): { delimiterByte: number; quoteByte: number | undefined } | undefined {
  const byteOf = (char: string) => {
    const code = char.charCodeAt(0);
    return code < (profile.encoding === "latin-1" ? 256 : 128) ? code : undefined;
  };
  const delimiterByte = byteOf(delimiter);
  const quoteByte = profile.quote === "" ? undefined : byteOf(profile.quote);
  if (delimiterByte === undefined || (profile.quote !== "" && quoteByte === undefined)) return undefined;
  return { delimiterByte, quoteByte };
}

async function readTail(path: string, bytes: number): Promise<Buffer> {
  const { size } = await stat(path);
  const handle = await open(path, "r");
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, Math.max(0, size - bytes));
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/**
 * Reads the beginning of a text file (gunzipping if needed) up to `limit` bytes. Throws `corrupt_gzip`
 * when the compressed stream is damaged right at the start.
 */
export async function readTextHead(path: string, facts: FileFacts, limit = 1 << 20): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  const source = createReadStream(path, { highWaterMark: 64 * 1024 });
  const stream = facts.gzip ? source.pipe(createGunzip()) : source;
  try {
    for await (const chunk of stream) {
      chunks.push(chunk as Buffer);
      total += (chunk as Buffer).length;
      if (total >= limit) break;
    }
  } catch (error) {
    if (facts.gzip) {
      // A truncated gzip still yields its first bytes; only a stream that yields nothing is unreadable here.
      if (total === 0) {
        throw new IngestError("corrupt_gzip", `Cannot decompress: ${(error as Error).message}`, {
          cause: error,
        });
      }
    } else throw error;
  } finally {
    source.destroy();
  }
  return Buffer.concat(chunks);
}

/** Splits the first record of a delimited text into fields, honouring quotes (a doubled quote escapes). */
export function parseFirstRecord(text: string, delimiter: string, quote: string): string[] {
  const fields: string[] = [];
  let field = "";
  let inQuotes = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charAt(i);
    if (inQuotes) {
      if (ch === quote) {
        if (text.charAt(i + 1) === quote) {
          field += quote;
          i++;
        } else inQuotes = false;
      } else field += ch;
    } else if (quote !== "" && ch === quote) inQuotes = true;
    else if (ch === delimiter) {
      fields.push(field);
      field = "";
    } else if (ch === "\n" || ch === "\r") break;
    else field += ch;
  }
  fields.push(field);
  return fields;
}

/** Decodes the head of a text file in the profile's encoding, without a byte-order mark. */
export function decodeHead(head: Buffer, encoding: SourceProfile["encoding"]): string {
  const text = new TextDecoder(encoding === "latin-1" ? "latin1" : "utf-8").decode(head);
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** True when the bytes look binary (a NUL byte in the first kilobytes): not a text export. */
export function looksBinary(head: Buffer): boolean {
  return head.subarray(0, 8192).includes(0);
}
