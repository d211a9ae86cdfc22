/**
 * The audience filter of `crmlake campaign assign` and `plan` (docs/campaigns.md, "Choosing the audience"): a
 * small language over the columns of a published customer table, parsed here by hand into a SQL predicate. It is
 * never raw SQL: a column must be one of the table's (and is quoted as an identifier), every value becomes a
 * quoted literal of the column's kind, and anything else is refused with the position where it went wrong.
 *
 *   filter     := or
 *   or         := and ("or" and)*
 *   and        := unary ("and" unary)*
 *   unary      := "not" unary | "(" or ")" | comparison
 *   comparison := column op value | column ["not"] "in" "(" value ("," value)* ")"
 *   op         := "=" | "!=" | "<>" | "<" | "<=" | ">" | ">="
 *   value      := word | number | 'text' | "text"     (a quote inside text is doubled: 'o''brien')
 *
 * Keywords (and, or, not, in, true, false) are case-insensitive; column names and text values are not.
 */
import { UsageError } from "../errors.ts";

/** What a column holds, which decides the values it may be compared with. */
export type FilterColumnKind = "text" | "number" | "boolean";

/** The columns a filter may name, with their kinds. */
export type FilterColumns = ReadonlyMap<string, FilterColumnKind>;

/** A filter the language refuses; `position` is 1-based, in characters of the filter text. */
export class FilterError extends UsageError {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super("bad_filter", message);
  }
}

type TokenKind = "word" | "number" | "string" | "op" | "(" | ")" | "," | "end";

interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  /** 0-based offset in the filter. */
  readonly at: number;
}

const OPERATORS = ["<=", ">=", "!=", "<>", "=", "<", ">"] as const;
const KEYWORDS = new Set(["and", "or", "not", "in"]);
const WORD = /[A-Za-z_][A-Za-z0-9_.-]*/y;
const NUMBER = /[+-]?(?:\d+(?:\.\d+)?|\.\d+)(?![A-Za-z0-9_.])/y;

function describe(token: Token): string {
  return token.kind === "end" ? "the end of the filter" : `"${token.text}"`;
}

/** Splits a filter into tokens; an unknown character or an unclosed quote is an error at its position. */
export function tokenize(filter: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < filter.length) {
    const ch = filter[i] as string;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    if (ch === "(" || ch === ")" || ch === ",") {
      tokens.push({ kind: ch, text: ch, at: i });
      i++;
      continue;
    }
    if (ch === "'" || ch === '"') {
      let text = "";
      let j = i + 1;
      for (;;) {
        if (j >= filter.length) {
          throw new FilterError(`the quote opened at position ${i + 1} is not closed: ${filter}`, i + 1);
        }
        if (filter[j] === ch) {
          if (filter[j + 1] === ch) {
            text += ch;
            j += 2;
            continue;
          }
          break;
        }
        text += filter[j];
        j++;
      }
      tokens.push({ kind: "string", text, at: i });
      i = j + 1;
      continue;
    }
    const op = OPERATORS.find((o) => filter.startsWith(o, i));
    if (op !== undefined) {
      tokens.push({ kind: "op", text: op, at: i });
      i += op.length;
      continue;
    }
    NUMBER.lastIndex = i;
    const number = NUMBER.exec(filter);
    if (number) {
      tokens.push({ kind: "number", text: number[0], at: i });
      i += number[0].length;
      continue;
    }
    WORD.lastIndex = i;
    const word = WORD.exec(filter);
    if (word) {
      tokens.push({ kind: "word", text: word[0], at: i });
      i += word[0].length;
      continue;
    }
    throw new FilterError(
      `unexpected character "${ch}" at position ${i + 1}; a filter compares columns with =, !=, <, <=, >, >= or in (…), joined by and, or, not and parentheses`,
      i + 1,
    );
  }
  tokens.push({ kind: "end", text: "", at: filter.length });
  return tokens;
}

/** A SQL string literal. */
function sqlText(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** A SQL identifier, quoted. */
function sqlColumn(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

class Parser {
  private index = 0;

  constructor(
    private readonly filter: string,
    private readonly tokens: readonly Token[],
    private readonly columns: FilterColumns,
  ) {}

  private peek(): Token {
    return this.tokens[this.index] as Token;
  }

  private next(): Token {
    const token = this.peek();
    if (token.kind !== "end") this.index++;
    return token;
  }

  private isKeyword(token: Token, keyword: string): boolean {
    return token.kind === "word" && token.text.toLowerCase() === keyword;
  }

  private fail(token: Token, expected: string): never {
    throw new FilterError(
      `expected ${expected} at position ${token.at + 1}, found ${describe(token)}: ${this.filter}`,
      token.at + 1,
    );
  }

  parse(): string {
    if (this.peek().kind === "end") throw new FilterError("the filter is empty", 1);
    const sql = this.or();
    const rest = this.peek();
    if (rest.kind !== "end") this.fail(rest, '"and", "or" or the end of the filter');
    return sql;
  }

  private or(): string {
    const parts = [this.and()];
    while (this.isKeyword(this.peek(), "or")) {
      this.next();
      parts.push(this.and());
    }
    return parts.length === 1 ? (parts[0] as string) : `(${parts.join(" OR ")})`;
  }

  private and(): string {
    const parts = [this.unary()];
    while (this.isKeyword(this.peek(), "and")) {
      this.next();
      parts.push(this.unary());
    }
    return parts.length === 1 ? (parts[0] as string) : `(${parts.join(" AND ")})`;
  }

  private unary(): string {
    const token = this.peek();
    if (this.isKeyword(token, "not")) {
      this.next();
      return `(NOT ${this.unary()})`;
    }
    if (token.kind === "(") {
      this.next();
      const inner = this.or();
      const close = this.next();
      if (close.kind !== ")") this.fail(close, '")"');
      return inner;
    }
    return this.comparison();
  }

  private comparison(): string {
    const token = this.next();
    if (token.kind !== "word" || KEYWORDS.has(token.text.toLowerCase())) {
      this.fail(token, 'a column name or "("');
    }
    const kind = this.columns.get(token.text);
    if (kind === undefined) {
      throw new FilterError(
        `unknown column "${token.text}" at position ${token.at + 1}; columns: ${[...this.columns.keys()].join(", ")}`,
        token.at + 1,
      );
    }
    const column = sqlColumn(token.text);
    let negated = false;
    let op = this.next();
    if (this.isKeyword(op, "not")) {
      negated = true;
      op = this.next();
      if (!this.isKeyword(op, "in")) this.fail(op, '"in" after "not"');
    }
    if (this.isKeyword(op, "in")) {
      const open = this.next();
      if (open.kind !== "(") this.fail(open, '"(" after "in"');
      const values = [this.value(token.text, kind)];
      for (;;) {
        const sep = this.next();
        if (sep.kind === ")") break;
        if (sep.kind !== ",") this.fail(sep, '"," or ")"');
        values.push(this.value(token.text, kind));
      }
      return `${column} ${negated ? "NOT IN" : "IN"} (${values.join(", ")})`;
    }
    if (op.kind !== "op") this.fail(op, `an operator (=, !=, <, <=, >, >=) or "in" after ${token.text}`);
    if (kind === "boolean" && op.text !== "=" && op.text !== "!=" && op.text !== "<>") {
      throw new FilterError(
        `${token.text} is true or false: compare it with = or != (position ${op.at + 1})`,
        op.at + 1,
      );
    }
    const sqlOp = op.text === "!=" ? "<>" : op.text;
    return `${column} ${sqlOp} ${this.value(token.text, kind)}`;
  }

  private value(column: string, kind: FilterColumnKind): string {
    const token = this.next();
    if (
      token.kind === "end" ||
      !(token.kind === "word" || token.kind === "number" || token.kind === "string")
    ) {
      this.fail(token, `a value for ${column}`);
    }
    if (kind === "number") {
      if (token.kind !== "number" && !(token.kind === "string" && NUMBER_TEXT.test(token.text))) {
        this.fail(token, `a number for ${column}`);
      }
      // A number as a quoted literal cast to DOUBLE: the engine never reads the filter's text as SQL.
      return `CAST(${sqlText(String(Number(token.text)))} AS DOUBLE)`;
    }
    if (kind === "boolean") {
      const text = token.text.toLowerCase();
      if (token.kind === "number" || (text !== "true" && text !== "false")) {
        this.fail(token, `true or false for ${column}`);
      }
      return text === "true" ? "TRUE" : "FALSE";
    }
    if (token.kind === "word" && KEYWORDS.has(token.text.toLowerCase())) {
      this.fail(token, `a value for ${column} (quote it if it is the word ${token.text})`);
    }
    return sqlText(token.text);
  }
}

const NUMBER_TEXT = /^[+-]?(?:\d+(?:\.\d+)?|\.\d+)$/;

/**
 * The SQL predicate of a filter over `columns`, e.g. `value_tier in (top, big) and lifecycle_stage = lapsed`
 * gives `("value_tier" IN ('top', 'big') AND "lifecycle_stage" = 'lapsed')`. Throws FilterError.
 */
export function filterToSql(filter: string, columns: FilterColumns): string {
  return new Parser(filter, tokenize(filter), columns).parse();
}

/** The kind of a column from its SQL type (DuckDB's or a model header's); undefined when not filterable. */
export function filterKindOf(sqlType: string): FilterColumnKind | undefined {
  const type = sqlType.trim().toLowerCase();
  if (type === "varchar" || type.startsWith("varchar(")) return "text";
  if (type === "boolean") return "boolean";
  if (
    /^(tinyint|smallint|integer|int|bigint|hugeint|double|float|real|decimal(\(\d+,\s*\d+\))?)$/.test(type)
  ) {
    return "number";
  }
  return undefined;
}
