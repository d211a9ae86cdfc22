/**
 * The record structure of a delimited file, found on the pass that hashes it (inspect.ts sha256File): where
 * each record starts (its physical line), and which records are broken by a quote that is never closed.
 *
 * DuckDB's CSV reader cannot resynchronise after a stray quote: it reads every later line into the quoted
 * field, up to the next quote or the end of the file (observed on 1.5.6, strict mode or not). This scanner
 * applies the resynchronisation rule of docs/ingest.md#broken-quoting: a quoted field that runs over a line
 * end may span at most `maxQuotedLines` line ends and `maxQuotedBytes` bytes, must be closed before the end
 * of the file, must be followed by a delimiter or a line end, and its record must have the header's number
 * of fields. Otherwise the record is broken: its first physical line is quarantined, and reading resumes at
 * the next physical line. convert.ts then hands DuckDB a copy without the broken lines.
 *
 * The scanner follows DuckDB's reading of a file, which the line numbers depend on: a quote opens a quoted
 * field only at the start of a field (elsewhere it is an ordinary character), a doubled quote inside one is
 * a quote, a line ends at \n, \r\n or \r, and an empty line is no record unless the file has one column.
 */

const LF = 0x0a;
const CR = 0x0d;
const UTF8_BOM = [0xef, 0xbb, 0xbf];

export interface CsvScanOptions {
  /** The quote byte; undefined when the profile turns quoting off. */
  readonly quote?: number;
  readonly delimiter: number;
  /** Whether the first record is the header (it then gives the number of fields). */
  readonly header: boolean;
  /** The number of fields when the file has no header (the profile's `columns`). */
  readonly columns?: number;
  readonly maxQuotedLines: number;
  readonly maxQuotedBytes: number;
}

/** A record broken by a quote: its first physical line is quarantined and left out of what DuckDB reads. */
export interface BrokenRecord {
  /** The physical line (1-based) the record starts on. */
  readonly line: number;
  /** The bytes of that line, without its line end. */
  readonly raw: Buffer;
  /** Why it is broken: the rest of the quarantine message (convert.ts adds where reading resumes). */
  readonly reason: string;
  /** The line's byte range in the (decompressed) stream, line end included: what the copy leaves out. */
  readonly start: number;
  readonly end: number;
}

/**
 * From this record on, `physical - record` and `physical - logical` are constant until the next shift.
 * `record` counts the records DuckDB reads (a header included), `logical` the lines DuckDB numbers its
 * rejected records by (every line end outside a quoted field, empty lines included), `physical` the lines
 * of the file. All three count in the copy DuckDB reads, from which broken lines are left out, except
 * `physical`, which counts the lines of the original file.
 */
export interface LineShift {
  readonly record: number;
  readonly logical: number;
  readonly physical: number;
}

export interface CsvLayout {
  /** Records DuckDB should read (a header included, broken records excluded). */
  readonly records: number;
  readonly shifts: LineShift[];
  readonly broken: BrokenRecord[];
  /**
   * Bytes of the longest record DuckDB reads (its line ends included; broken records excluded): convert.ts
   * gives DuckDB a small read buffer when no record comes near its limit (csvReadOptions).
   */
  readonly longestRecord: number;
}

type Scan =
  | { readonly kind: "incomplete" }
  | { readonly kind: "end" }
  | { readonly kind: "blank"; readonly end: number }
  | { readonly kind: "record"; readonly end: number; readonly lineEnds: number; readonly fields: number }
  | { readonly kind: "broken"; readonly reason: string };

/** Scans a stream of bytes chunk by chunk (push), then `finish()` returns the layout. */
export class CsvScanner {
  private pending: Buffer = Buffer.alloc(0);
  /** Stream offset of pending[0]. */
  private base = 0;
  private started = false;
  private record = 1;
  private logical = 1;
  private physical = 1;
  private shiftRecord = 0;
  private shiftLogical = 0;
  private columns: number | undefined;
  private readonly shifts: LineShift[] = [];
  private readonly broken: BrokenRecord[] = [];
  private longest = 0;

  constructor(private readonly options: CsvScanOptions) {
    this.columns = options.header ? undefined : options.columns;
  }

  push(chunk: Buffer): void {
    const buffer = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    this.scan(buffer, false);
  }

  finish(): CsvLayout {
    this.scan(this.pending, true);
    return {
      records: this.record - 1,
      shifts: this.shifts,
      broken: this.broken,
      longestRecord: this.longest,
    };
  }

  private scan(buffer: Buffer, final: boolean): void {
    let position = 0;
    if (!this.started) {
      if (buffer.length < UTF8_BOM.length && !final) {
        this.pending = buffer;
        return;
      }
      this.started = true;
      if (UTF8_BOM.every((byte, i) => buffer[i] === byte)) position = UTF8_BOM.length;
    }
    // The next quote and carriage return at or after `position` (Infinity: none in the buffer), found with
    // indexOf (memchr) and kept until passed: a line without either is a plain record, counted without
    // looking at its bytes one by one. Most lines of most files are.
    let nextQuote = -1;
    let nextCr = -1;
    const { quote } = this.options;
    for (;;) {
      if (this.columns !== undefined || !this.options.header) {
        const lf = buffer.indexOf(LF, position);
        if (lf > position && buffer[position] !== CR) {
          if (nextQuote < position) nextQuote = indexOrInfinity(buffer, quote, position);
          if (nextCr < position) nextCr = indexOrInfinity(buffer, CR, position);
          if (nextQuote > lf && (nextCr > lf || nextCr === lf - 1)) {
            if (lf + 1 - position > this.longest) this.longest = lf + 1 - position;
            this.advanceRecord(0);
            position = lf + 1;
            continue;
          }
        }
      }
      const scan = this.scanRecord(buffer, position, final);
      if (scan.kind === "incomplete" || scan.kind === "end") break;
      if (scan.kind === "blank") {
        // DuckDB skips an empty line, except in a file of one column, where it is a record (an empty value).
        if (this.columns === 1) this.advanceRecord(0);
        else {
          this.logical += 1;
          this.physical += 1;
        }
        position = scan.end;
      } else if (scan.kind === "record") {
        if (this.record === 1 && this.options.header) this.columns = scan.fields;
        if (scan.end - position > this.longest) this.longest = scan.end - position;
        this.advanceRecord(scan.lineEnds);
        position = scan.end;
      } else {
        const lineEnd = endOfLine(buffer, position);
        this.broken.push({
          line: this.physical,
          raw: Buffer.from(buffer.subarray(position, lineEnd.content)),
          reason: scan.reason,
          start: this.base + position,
          end: this.base + lineEnd.next,
        });
        this.physical += 1;
        position = lineEnd.next;
      }
    }
    this.base += position;
    this.pending = buffer.subarray(position);
  }

  /** Counts a record that starts here and spans `lineEnds` line ends inside quoted fields. */
  private advanceRecord(lineEnds: number): void {
    const record = this.physical - this.record;
    const logical = this.physical - this.logical;
    if (record !== this.shiftRecord || logical !== this.shiftLogical) {
      this.shifts.push({ record: this.record, logical: this.logical, physical: this.physical });
      this.shiftRecord = record;
      this.shiftLogical = logical;
    }
    this.record += 1;
    this.logical += 1;
    this.physical += 1 + lineEnds;
  }

  /** The record starting at `start`, or why it cannot be decided from the bytes so far. */
  private scanRecord(buffer: Buffer, start: number, final: boolean): Scan {
    const { quote, delimiter, maxQuotedLines, maxQuotedBytes } = this.options;
    const n = buffer.length;
    if (start >= n) return final ? { kind: "end" } : { kind: "incomplete" };
    const first = buffer[start];
    if (first === LF || first === CR) {
      if (first === CR && start + 1 >= n && !final) return { kind: "incomplete" };
      return { kind: "blank", end: start + (first === CR && buffer[start + 1] === LF ? 2 : 1) };
    }
    let i = start;
    let fields = 1;
    let lineEnds = 0;
    let fieldStart = true;
    // After a closed quote followed by other characters on the record's own line, DuckDB rejects the record
    // and reads on at the next line end: no quote opens a field until then.
    let rejected = false;
    while (i < n) {
      const byte = buffer[i];
      if (byte === LF || byte === CR) {
        if (byte === CR && i + 1 >= n && !final) return { kind: "incomplete" };
        const end = i + (byte === CR && buffer[i + 1] === LF ? 2 : 1);
        return this.complete(end, lineEnds, fields);
      }
      if (byte === delimiter) {
        fields += 1;
        fieldStart = true;
        i += 1;
        continue;
      }
      if (!(fieldStart && byte === quote && !rejected)) {
        fieldStart = false;
        i += 1;
        continue;
      }
      // A quoted field: find its closing quote, counting the line ends inside it.
      const open = i;
      const field = fields;
      let inside = 0;
      i += 1;
      for (;;) {
        if (i >= n) {
          if (!final) return { kind: "incomplete" };
          return {
            kind: "broken",
            reason: `a quoted field opened in field ${field} is never closed (it runs to the end of the file)`,
          };
        }
        const c = buffer[i];
        if (c === quote) {
          if (i + 1 >= n && !final) return { kind: "incomplete" };
          if (buffer[i + 1] === quote) {
            i += 2;
            continue;
          }
          i += 1;
          break;
        }
        if (c === LF || c === CR) {
          if (c === CR && i + 1 >= n && !final) return { kind: "incomplete" };
          if (c === CR && buffer[i + 1] === LF) i += 1;
          inside += 1;
          if (inside > maxQuotedLines) {
            return {
              kind: "broken",
              reason: `a quoted field opened in field ${field} is still open after ${maxQuotedLines} line ends (quoted_field_max_lines)`,
            };
          }
        }
        i += 1;
        if (inside > 0 && i - open > maxQuotedBytes) {
          return {
            kind: "broken",
            reason: `a quoted field opened in field ${field} is still open after ${maxQuotedBytes} bytes (quoted_field_max_bytes)`,
          };
        }
      }
      lineEnds += inside;
      fieldStart = false;
      if (i >= n) {
        if (!final) return { kind: "incomplete" };
        continue;
      }
      const next = buffer[i];
      if (next !== delimiter && next !== LF && next !== CR) {
        if (lineEnds > 0) {
          return {
            kind: "broken",
            reason: `a quoted field (field ${field}) in a record that runs over ${lineEnds} line end(s) is followed by ${JSON.stringify(String.fromCharCode(next ?? 0))} instead of a delimiter, so a quote in it is stray`,
          };
        }
        rejected = true;
      }
    }
    if (!final) return { kind: "incomplete" };
    return this.complete(n, lineEnds, fields);
  }

  /** A record that ends at `end`; one that spans lines must have the header's number of fields. */
  private complete(end: number, lineEnds: number, fields: number): Scan {
    if (lineEnds > 0 && this.columns !== undefined && fields !== this.columns && this.record > 1) {
      return {
        kind: "broken",
        reason: `a quoted field runs over ${lineEnds} line end(s) into a record of ${fields} fields instead of ${this.columns}, so its opening quote is stray`,
      };
    }
    return { kind: "record", end, lineEnds, fields };
  }
}

function indexOrInfinity(buffer: Buffer, byte: number | undefined, from: number): number {
  const index = byte === undefined ? -1 : buffer.indexOf(byte, from);
  return index < 0 ? Number.POSITIVE_INFINITY : index;
}

/** Where the physical line starting at `start` ends: its content and the start of the next line. */
function endOfLine(buffer: Buffer, start: number): { content: number; next: number } {
  for (let i = start; i < buffer.length; i++) {
    const byte = buffer[i];
    if (byte === LF) return { content: i, next: i + 1 };
    if (byte === CR) return { content: i, next: buffer[i + 1] === LF ? i + 2 : i + 1 };
  }
  return { content: buffer.length, next: buffer.length };
}

/** Scans a whole buffer at once (tests, small inputs). */
export function scanCsv(bytes: Buffer, options: CsvScanOptions): CsvLayout {
  const scanner = new CsvScanner(options);
  scanner.push(bytes);
  return scanner.finish();
}
