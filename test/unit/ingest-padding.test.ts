import { describe, expect, it } from "vitest";
import { PaddingDetector } from "../../functions/core/ingest/padding.ts";

/** The detector's answer on a text pushed in chunks of `size` bytes (every straddle is tried below). */
function padded(text: string | Buffer, size = 1 << 16, options: { latin1?: boolean; quote?: number } = {}) {
  const bytes = typeof text === "string" ? Buffer.from(text) : text;
  const detector = new PaddingDetector(
    0x2c,
    "quote" in options ? options.quote : 0x22,
    options.latin1 ?? false,
  );
  for (let at = 0; at < bytes.length; at += size) detector.push(bytes.subarray(at, at + size));
  return detector.finish();
}

/** The answer must not depend on where the chunks are cut. */
function paddedAnyCut(text: string | Buffer, options: { latin1?: boolean; quote?: number } = {}): boolean {
  const answers = new Set([1, 2, 3, 5, 1 << 16].map((size) => padded(text, size, options)));
  expect(answers.size).toBe(1);
  return [...answers][0] as boolean;
}

describe("the padding detector (which files need their fields trimmed)", () => {
  it("says no for spaces inside fields only, as in a timestamp", () => {
    expect(paddedAnyCut('a,b,ts\n1,x y,2024-01-01 10:00:00\n2,"q r",2024-01-02 11:00:00\n')).toBe(false);
    expect(paddedAnyCut("a,b\r\n1,é ü\r\n")).toBe(false);
  });

  it("says yes for a space that may begin or end a field", () => {
    for (const text of [
      "a,b\n1, x\n",
      "a,b\n1,x \n",
      "a,b\n 1,x\n",
      "a,b\n1,x \r\n",
      "a,b\r 1,x\r",
      'a,b\n1," x"\n',
      'a,b\n1,"x "\n',
      " a,b\n1,x\n",
      "\uFEFF a,b\n1,x\n",
      "a,b\n1,x ",
      "a,b\n1, \n",
    ]) {
      expect(paddedAnyCut(text), JSON.stringify(text)).toBe(true);
    }
  });

  it("says yes for any wider space character anywhere (no-break, em, ideographic, …)", () => {
    for (const char of ["\u00A0", "\u1680", "\u2000", "\u2003", "\u200A", "\u202F", "\u205F", "\u3000"]) {
      expect(paddedAnyCut(`a,b\n1,x${char}y\n`), JSON.stringify(char)).toBe(true);
    }
    // Other characters sharing the first bytes are no spaces: a typographic quote (E2 80 9C), a pound (C2 A3).
    expect(paddedAnyCut("a,b\n1,\u201Cx\u201D £3\n")).toBe(false);
  });

  it("reads Latin-1 bytes: A0 is the no-break space", () => {
    expect(paddedAnyCut(Buffer.from("a,b\n1,x\xA0y\n", "latin1"), { latin1: true })).toBe(true);
    expect(paddedAnyCut(Buffer.from("a,b\n1,\xE9t\xE9 x\n", "latin1"), { latin1: true })).toBe(false);
  });

  it("without quoting, a space beside a quote is inside a field", () => {
    expect(paddedAnyCut('a,b\n1,x " y\n', { quote: undefined })).toBe(false);
    expect(paddedAnyCut('a,b\n1,x " y\n')).toBe(true);
  });
});
