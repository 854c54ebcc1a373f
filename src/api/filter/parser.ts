/**
 * The go-bexpr grammar (hashicorp/go-bexpr grammar/grammar.peg), parsed by recursive descent:
 *
 *   Or    := And ("or" Or)?            precedence: not > and > or; keywords lowercase only
 *   And   := Not ("and" And)?
 *   Not   := "not" Not | "(" Or ")" | Match
 *   Match := Selector ("==" | "!=" | "contains" | "not contains" | "matches" | "not matches") Value
 *          | Selector ("is empty" | "is not empty")
 *          | Value ("in" | "not in") Selector
 *   Selector := Ident ("." Ident | "." Digits | "[" String "]")*  |  "\"/json/pointer\""
 *   Value    := Selector (its text) | Number | "double" | `raw`
 *
 * @module
 */

export type MatchOp = "==" | "!=" | "in" | "not in" | "contains" | "not contains" | "is empty" | "is not empty" | "matches" | "not matches";

export type Expr =
  | { readonly type: "or" | "and"; readonly left: Expr; readonly right: Expr }
  | { readonly type: "not"; readonly operand: Expr }
  | { readonly type: "match"; readonly selector: readonly string[]; readonly op: MatchOp; readonly value?: string };

export class FilterSyntaxError extends Error {}

const IDENT = /[a-zA-Z][a-zA-Z0-9_/]*/y;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?/y;
const DIGITS = /[0-9]+/y;
const WS = /[ \t\r\n]+/y;

export function parseFilter(input: string): Expr {
  const p = new Parser(input);
  p.ws();
  const expr = p.or();
  p.ws();
  if (!p.done()) p.fail(`unexpected ${JSON.stringify(input.slice(p.pos, p.pos + 10))}`);
  return expr;
}

class Parser {
  pos = 0;
  constructor(private readonly s: string) {}

  done(): boolean {
    return this.pos >= this.s.length;
  }

  fail(what: string): never {
    throw new FilterSyntaxError(`1:${this.pos + 1} (${this.pos}): ${what}`);
  }

  ws(): boolean {
    return this.#match(WS) !== undefined;
  }

  #match(re: RegExp): string | undefined {
    re.lastIndex = this.pos;
    const m = re.exec(this.s);
    if (!m) return undefined;
    this.pos = re.lastIndex;
    return m[0];
  }

  /** A keyword (or phrase) followed by whitespace, `(`, or the end. */
  #keyword(words: string): boolean {
    const save = this.pos;
    const parts = words.split(" ");
    for (let i = 0; i < parts.length; i++) {
      if (i > 0 && !this.ws()) return this.#reset(save);
      const w = parts[i] as string;
      if (!this.s.startsWith(w, this.pos)) return this.#reset(save);
      this.pos += w.length;
    }
    const next = this.s[this.pos];
    if (next !== undefined && !/[ \t\r\n(]/.test(next)) return this.#reset(save);
    return true;
  }

  #reset(save: number): false {
    this.pos = save;
    return false;
  }

  or(): Expr {
    const left = this.and();
    const save = this.pos;
    if (this.ws() && this.#keyword("or") && this.ws()) return { type: "or", left, right: this.or() };
    this.pos = save;
    return left;
  }

  and(): Expr {
    const left = this.not();
    const save = this.pos;
    if (this.ws() && this.#keyword("and") && this.ws()) return { type: "and", left, right: this.and() };
    this.pos = save;
    return left;
  }

  not(): Expr {
    const save = this.pos;
    if (this.#keyword("not") && this.ws()) {
      const operand = this.not();
      return operand.type === "not" ? operand.operand : { type: "not", operand };
    }
    this.pos = save;
    if (this.s[this.pos] === "(") {
      this.pos++;
      this.ws();
      const inner = this.or();
      this.ws();
      if (this.s[this.pos] !== ")") this.fail("Unmatched parentheses");
      this.pos++;
      return inner;
    }
    return this.match();
  }

  match(): Expr {
    const start = this.pos;
    const selector = this.#selector();
    if (selector) {
      const save = this.pos;
      for (const op of ["is not empty", "is empty"] as const) {
        if (this.ws() && this.#keyword(op)) return { type: "match", selector, op };
        this.pos = save;
      }
      this.ws();
      for (const op of ["==", "!="] as const) {
        if (this.s.startsWith(op, this.pos)) {
          this.pos += op.length;
          this.ws();
          return { type: "match", selector, op, value: this.#value() };
        }
      }
      this.pos = save;
      for (const op of ["not contains", "contains", "not matches", "matches"] as const) {
        if (this.ws() && this.#keyword(op) && this.ws()) return { type: "match", selector, op, value: this.#value() };
        this.pos = save;
      }
      this.pos = start;
    }
    const value = this.#value();
    const save = this.pos;
    for (const op of ["not in", "in"] as const) {
      if (this.ws() && this.#keyword(op) && this.ws()) {
        const sel = this.#selector();
        if (!sel) this.fail("Invalid selector");
        return { type: "match", selector: sel, op, value };
      }
      this.pos = save;
    }
    return this.fail("no match found, expected a match expression");
  }

  /** A selector as a path of parts, or undefined (position unchanged) when there is none. */
  #selector(): string[] | undefined {
    const start = this.pos;
    if (this.s.startsWith('"/', this.pos)) {
      const end = this.s.indexOf('"', this.pos + 1);
      if (end < 0) this.fail("Unterminated string literal");
      const parts = this.s.slice(this.pos + 2, end).split("/");
      this.pos = end + 1;
      return parts.map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
    }
    const first = this.#match(IDENT);
    if (first === undefined) return undefined;
    const path = [first];
    for (;;) {
      if (this.s[this.pos] === ".") {
        this.pos++;
        const part = this.#match(IDENT) ?? this.#match(DIGITS);
        if (part === undefined) this.fail("Invalid selector");
        path.push(part);
      } else if (this.s[this.pos] === "[") {
        this.pos++;
        this.ws();
        const key = this.#string();
        if (key === undefined) this.fail("Invalid index");
        this.ws();
        if (this.s[this.pos] !== "]") this.fail("Unclosed index expression");
        this.pos++;
        path.push(key);
      } else break;
    }
    if (["and", "or", "not", "in", "is", "contains", "matches"].includes(first) && path.length === 1) {
      this.pos = start;
      return undefined;
    }
    return path;
  }

  #value(): string {
    const str = this.#string();
    if (str !== undefined) return str;
    const num = this.#match(NUMBER);
    if (num !== undefined) {
      const next = this.s[this.pos];
      if (next !== undefined && !/[ \t\r\n)]/.test(next)) this.fail("Invalid number literal");
      return num;
    }
    const sel = this.#selector();
    if (sel) return sel.join(".");
    return this.fail("no match found, expected a value");
  }

  /** A double-quoted string (Go escapes) or a backtick raw string. */
  #string(): string | undefined {
    const q = this.s[this.pos];
    if (q !== '"' && q !== "`") return undefined;
    if (q === "`") {
      const end = this.s.indexOf("`", this.pos + 1);
      if (end < 0) this.fail("Unterminated string literal");
      const text = this.s.slice(this.pos + 1, end);
      this.pos = end + 1;
      return text;
    }
    let i = this.pos + 1;
    while (i < this.s.length && this.s[i] !== '"') i += this.s[i] === "\\" ? 2 : 1;
    if (i >= this.s.length) this.fail("Unterminated string literal");
    const literal = this.s.slice(this.pos, i + 1);
    this.pos = i + 1;
    try {
      return JSON.parse(literal.replace(/\\'/g, "'")) as string;
    } catch {
      return this.fail(`invalid string literal ${literal}`);
    }
  }
}
