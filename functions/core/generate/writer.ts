import { once } from "node:events";
import { createWriteStream, type WriteStream } from "node:fs";
import { appendFile } from "node:fs/promises";

/**
 * Output with bounded memory. The simulation produces text faster than a disk takes it, so both writers buffer
 * a bounded amount and make the producer wait (`await drain()` once per customer) while it is written.
 */

const FILE_CHUNK_CHARS = 256 * 1024;

/** One sequential file through a WriteStream; honours the stream's backpressure ('drain'). */
export class TextFile {
  private readonly stream: WriteStream;
  private chunks: string[] = [];
  private pending = 0;
  /** A write error, kept until the producer next waits on the file (a stream error has no other reader). */
  private failure: Error | undefined;
  rows = 0;

  constructor(
    readonly path: string,
    header: string,
  ) {
    this.stream = createWriteStream(path, { encoding: "utf8" });
    this.stream.on("error", (error) => {
      this.failure = error;
    });
    this.chunks.push(`${header}\n`);
  }

  writeRow(row: string): void {
    this.chunks.push(row, "\n");
    this.pending += row.length + 1;
    this.rows++;
  }

  /** Hands a full chunk to the stream, and waits while the stream's own buffer is full. */
  async drain(): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.pending < FILE_CHUNK_CHARS) return;
    if (!this.stream.write(this.take())) await once(this.stream, "drain");
  }

  private take(): string {
    const text = this.chunks.join("");
    this.chunks = [];
    this.pending = 0;
    return text;
  }

  async close(): Promise<void> {
    if (this.failure) throw this.failure;
    this.stream.end(this.take());
    await once(this.stream, "finish");
  }
}

const PERIOD_CHUNK_BYTES = 16 * 1024;

/** A growable byte buffer made of fixed chunks: rows are encoded as they arrive, so no string outlives its row. */
class ByteTail {
  private chunks: Buffer[] = [];
  private current: Buffer | undefined;
  private used = 0;

  /** Appends text; returns the bytes added. */
  write(text: string): number {
    const worstCase = text.length * 3;
    if (!this.current || this.used + worstCase > this.current.length) {
      if (this.current) this.chunks.push(this.current.subarray(0, this.used));
      this.current = Buffer.allocUnsafe(Math.max(PERIOD_CHUNK_BYTES, worstCase));
      this.used = 0;
    }
    const bytes = this.current.write(text, this.used, "utf8");
    this.used += bytes;
    return bytes;
  }

  isEmpty(): boolean {
    return this.chunks.length === 0 && this.used === 0;
  }

  /** Everything written so far, and empties the tail (its chunks are released to the garbage collector). */
  take(): Buffer {
    const all = this.current ? [...this.chunks, this.current.subarray(0, this.used)] : this.chunks;
    this.chunks = [];
    this.current = undefined;
    this.used = 0;
    return Buffer.concat(all);
  }
}

/**
 * Many files that receive rows in no particular order: one transaction file per day or month, while customers
 * are simulated one after the other. Each file has an in-memory tail of encoded bytes (not strings: a row
 * built by concatenation is a tree of string fragments several times its size, and would be promoted to the old
 * generation if kept). When all tails together exceed the budget, every tail is appended to its file (open,
 * append, close) and memory is back to zero. Memory is therefore bounded by the budget plus one partly filled
 * 16 KiB chunk per file, whatever the number of customers or lines, and at most one transaction file is open at
 * a time (daily files over years would exceed the open-file limit otherwise). A flush writes budget/files
 * bytes per file on average, so appends stay few (total size / budget × files).
 */
export class PeriodFiles {
  private readonly tails: ByteTail[];
  private readonly started: boolean[];
  private buffered = 0;
  /** Data rows (header excluded) written to each file, a partial last line included. */
  readonly rows: number[];
  /** Last complete row of each file, kept only when `keepLastRow` (to truncate a file for --dirty). */
  readonly lastRow: string[];

  constructor(
    private readonly paths: readonly string[],
    private readonly header: string,
    private readonly budgetBytes: number,
    private readonly keepLastRow: boolean,
  ) {
    this.tails = paths.map(() => new ByteTail());
    this.started = paths.map(() => false);
    this.rows = paths.map(() => 0);
    this.lastRow = paths.map(() => "");
  }

  writeRow(file: number, row: string): void {
    this.append(file, row, true);
  }

  /** Appends text without a line end (a record cut short). */
  writePartialRow(file: number, text: string): void {
    this.append(file, text, false);
  }

  private append(file: number, text: string, lineEnd: boolean): void {
    const tail = this.tails[file];
    if (tail === undefined) throw new RangeError(`No period file ${file}`);
    if (!this.started[file]) {
      this.started[file] = true;
      this.buffered += tail.write(`${this.header}\n`);
    }
    this.buffered += tail.write(lineEnd ? `${text}\n` : text);
    this.rows[file] = (this.rows[file] ?? 0) + 1;
    if (this.keepLastRow && lineEnd) this.lastRow[file] = text;
  }

  /** Files that received at least one row. */
  usedFiles(): number[] {
    return this.paths.flatMap((_, file) => (this.started[file] ? [file] : []));
  }

  async drain(): Promise<void> {
    if (this.buffered >= this.budgetBytes) await this.flush();
  }

  async flush(): Promise<void> {
    for (let file = 0; file < this.paths.length; file++) {
      const tail = this.tails[file];
      const path = this.paths[file];
      if (!tail || tail.isEmpty() || path === undefined) continue;
      await appendFile(path, tail.take());
    }
    this.buffered = 0;
  }
}
