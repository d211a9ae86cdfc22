/**
 * The cursor the type-notation parsers share: the Hive type map (hive-types.ts), the logical types of the
 * system tables (system-tables.ts) and DuckDB's type names (engines/duckdb/system-tables.ts). Each parser
 * says what a failure means in its own words; the scanning is the same.
 */
export abstract class TypeScanner {
  protected position = 0;
  constructor(protected readonly text: string) {}

  /** Throws the parser's own error, naming the text and the position; `why` is what was wrong. */
  protected abstract fail(why?: string): never;

  protected space(): void {
    while (this.text[this.position] === " ") this.position++;
  }

  /** The next character after spaces, without consuming it. */
  protected peek(): string | undefined {
    this.space();
    return this.text[this.position];
  }

  protected expect(char: string): void {
    if (this.peek() !== char) this.fail(`expected "${char}"`);
    this.position++;
  }

  /** Fails unless only spaces are left. */
  protected end(): void {
    this.space();
    if (this.position !== this.text.length) this.fail("unexpected text after the type");
  }
}
