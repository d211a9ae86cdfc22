/**
 * Whether any field of a delimited file may begin or end with a character that DuckDB's `trim` removes,
 * found on the pass that hashes the file (inspect.ts). When none can, convert.ts reads each field as it is
 * instead of trimming it: `trim` decodes every character of every value (a third of the conversion's CPU
 * time on the benchmark's file, issue 17), and on such a file it changes nothing.
 *
 * `trim` removes the characters of Unicode category Zs from both ends: the space, and U+00A0, U+1680,
 * U+2000–U+200A, U+202F, U+205F, U+3000 (DuckDB 1.5.6, utf8proc). The answer errs one way only, towards
 * trimming: a space next to a delimiter, a line end, a quote, the start or the end of the file, or any of
 * the wider spaces anywhere (in Latin-1, byte A0), says "padded". A field begins at the start of the file,
 * after a delimiter, a line end or its opening quote, and ends before a delimiter, a line end, its closing
 * quote or the end of the file; so a file without any of these has no field that trim would change.
 */

const SPACE = 0x20;
const LF = 0x0a;
const CR = 0x0d;

/** The UTF-8 encodings of Zs characters other than the space (U+2000–U+200A and U+202F share E2 80). */
const WIDE_SPACES_UTF8 = [
  Buffer.from([0xc2, 0xa0]),
  Buffer.from([0xe1, 0x9a, 0x80]),
  Buffer.from([0xe2, 0x81, 0x9f]),
  Buffer.from([0xe3, 0x80, 0x80]),
];
const E2_80 = Buffer.from([0xe2, 0x80]);

export class PaddingDetector {
  private result = false;
  /** The last bytes of the previous chunk (a pattern may straddle two chunks). */
  private tail: Buffer = Buffer.alloc(0);
  /** 1 at the bytes a field ends or begins beside: the delimiter, the line ends, the quote. */
  private readonly boundary = new Uint8Array(256);
  /** Bytes pushed so far. */
  private seen = 0;

  /**
   * @param delimiter the delimiter byte
   * @param quote the quote byte, undefined without quoting
   * @param latin1 whether the file is Latin-1 (else UTF-8)
   */
  constructor(
    delimiter: number,
    quote: number | undefined,
    private readonly latin1: boolean,
  ) {
    for (const byte of [delimiter, LF, CR, ...(quote === undefined ? [] : [quote])]) this.boundary[byte] = 1;
  }

  push(chunk: Buffer): void {
    if (this.result || chunk.length === 0) return;
    // A space in the first four bytes may open the first field (after a byte-order mark, three bytes).
    if (this.seen < 4 && chunk.subarray(0, 4 - this.seen).includes(SPACE)) this.result = true;
    this.seen += chunk.length;
    // The previous chunk's last two bytes with this one's first two: the patterns across the cut.
    if (!this.result && this.tail.length > 0)
      this.result = this.scan(Buffer.concat([this.tail, chunk.subarray(0, 2)]));
    if (!this.result) this.result = this.scan(chunk);
    // The stream's last two bytes (a chunk may be shorter than two).
    const last = Buffer.concat([this.tail, chunk.subarray(Math.max(0, chunk.length - 2))]);
    this.tail = last.subarray(Math.max(0, last.length - 2));
  }

  /** The answer, once every byte has been pushed. */
  finish(): boolean {
    // A space as the last byte ends the last field.
    return this.result || this.tail[this.tail.length - 1] === SPACE;
  }

  private scan(bytes: Buffer): boolean {
    if (this.latin1 ? bytes.includes(0xa0) : this.wideSpace(bytes)) return true;
    for (let at = bytes.indexOf(SPACE); at >= 0; at = bytes.indexOf(SPACE, at + 1)) {
      // Beyond the buffer (undefined, read as 0): the other side of a cut, seen with the neighbouring chunk.
      if (this.boundary[bytes[at - 1] ?? 0] === 1 || this.boundary[bytes[at + 1] ?? 0] === 1) return true;
    }
    return false;
  }

  private wideSpace(bytes: Buffer): boolean {
    if (WIDE_SPACES_UTF8.some((needle) => bytes.includes(needle))) return true;
    for (let at = bytes.indexOf(E2_80); at >= 0; at = bytes.indexOf(E2_80, at + 1)) {
      const third = bytes[at + 2];
      if (third !== undefined && ((third >= 0x80 && third <= 0x8a) || third === 0xaf)) return true;
    }
    return false;
  }
}
