/**
 * The go-bexpr 0.1.2 grammar (its grammar.peg, compiled by pigeon), as a backtracking PEG
 * parser that follows the same ordered choices:
 *
 *   Input    <- _? "(" _? Or _? ")" _? EOF / _? Or _? EOF
 *   Or       <- And _ "or" _ Or / And
 *   And      <- Not _ "and" _ And / Not
 *   Not      <- "not" _ Not / Paren
 *   Paren    <- "(" _? Or _? ")" / Match / "(" _? Or _? !")" &{Unmatched parentheses}
 *   Match    <- Selector (_? "==" _? / _? "!=" _? / _ "contains" _ / _ "not" _ "contains" _
 *                         / _ "matches" _ / _ "not" _ "matches" _) Value
 *             / Selector (_ "is" _ "empty" / _ "is" _ "not" _ "empty")
 *             / Value (_ "in" _ / _ "not" _ "in" _) Selector
 *   Selector <- Ident ("." Ident / "[" _? String _? "]")*        Ident <- [a-zA-Z][a-zA-Z0-9_]*
 *   Value    <- Selector / Number / String
 *   Number   <- "-"? ("0" / [1-9][0-9]*) ("." [0-9]+)? &(_ / EOF / ")")
 *   String   <- "`" (!"`" .)* "`" / "\"" (!"\"" .)* "\""      (then strconv.Unquote)
 *
 * Keywords are plain literals, so `not`, `in` or `and` can also be selectors and bare values
 * wherever the ordered choice lets them. `contains` is `in` with the operands swapped. There is
 * no numeric index, JSON pointer or `.0` form: those arrived in later go-bexpr versions.
 * Like pigeon, an error raised inside a rule (a bad escape, a bad number, an unmatched
 * parenthesis) fails the whole parse even when another alternative went on to match.
 *
 * @module
 */
import { goStringOf, goUnquote, type GoString } from "./go-strconv.js";

export type MatchOp = "==" | "!=" | "in" | "not in" | "is empty" | "is not empty" | "matches" | "not matches";

export type Expr =
  | { readonly type: "or" | "and"; readonly left: Expr; readonly right: Expr }
  | { readonly type: "not"; readonly operand: Expr }
  | { readonly type: "match"; readonly selector: readonly string[]; readonly op: MatchOp; readonly value?: GoString };

export class FilterSyntaxError extends Error {}

type Result<T> = { value: T; pos: number } | undefined;

const WS = /[ \t\r\n]+/y;
const IDENT = /[a-zA-Z][a-zA-Z0-9_]*/y;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?/y;

/** Parses a filter expression; throws FilterSyntaxError. */
export function parseFilter(input: string): Expr {
  return new Parser(input).input();
}

class Parser {
  readonly #s: string;
  readonly #errors: string[] = [];
  readonly #orMemo = new Map<number, Result<Expr>>();
  #farthest = 0;

  constructor(s: string) {
    this.#s = s;
  }

  input(): Expr {
    let r = this.#inputParen();
    if (!r) {
      const p = this.#opt(this.#ws(0), 0);
      const e = this.#or(p);
      if (e) {
        const end = this.#opt(this.#ws(e.pos), e.pos);
        if (end === this.#s.length) r = e;
      }
    }
    if (this.#errors.length > 0) throw new FilterSyntaxError(this.#errors.join("\n"));
    if (!r) throw new FilterSyntaxError(`${this.#where(this.#farthest)}: no match found`);
    return r.value;
  }

  #inputParen(): Result<Expr> {
    let p = this.#opt(this.#ws(0), 0);
    if (this.#s[p] !== "(") return undefined;
    p = this.#opt(this.#ws(p + 1), p + 1);
    const e = this.#or(p);
    if (!e) return undefined;
    p = this.#opt(this.#ws(e.pos), e.pos);
    if (this.#s[p] !== ")") return undefined;
    p = this.#opt(this.#ws(p + 1), p + 1);
    return p === this.#s.length ? { value: e.value, pos: p } : undefined;
  }

  /** pigeon's position: line, column in characters, offset in UTF-8 bytes. */
  #where(pos: number): string {
    const before = this.#s.slice(0, pos);
    const line = before.split("\n").length;
    const col = Array.from(before.slice(before.lastIndexOf("\n") + 1)).length + 1;
    return `${line}:${col} (${Buffer.byteLength(before, "utf8")})`;
  }

  /** Records an error as pigeon words it, naming the rule by its display name; duplicates merge. */
  #error(pos: number, rule: string, message: string): void {
    const text = `${this.#where(pos)}: rule ${rule}: ${message}`;
    if (!this.#errors.includes(text)) this.#errors.push(text);
  }

  #note(pos: number): void {
    if (pos > this.#farthest) this.#farthest = pos;
  }

  #re(re: RegExp, pos: number): Result<string> {
    re.lastIndex = pos;
    const m = re.exec(this.#s);
    if (!m) {
      this.#note(pos);
      return undefined;
    }
    return { value: m[0], pos: re.lastIndex };
  }

  #lit(text: string, pos: number): number | undefined {
    if (this.#s.startsWith(text, pos)) return pos + text.length;
    this.#note(pos);
    return undefined;
  }

  #ws(pos: number): number | undefined {
    return this.#re(WS, pos)?.pos;
  }

  #opt(p: number | undefined, fallback: number): number {
    return p ?? fallback;
  }

  /** A sequence of literals, `_` marking required whitespace and `_?` optional whitespace. */
  #seq(parts: readonly string[], pos: number): number | undefined {
    let p: number | undefined = pos;
    for (const part of parts) {
      if (p === undefined) return undefined;
      if (part === "_") p = this.#ws(p);
      else if (part === "_?") p = this.#opt(this.#ws(p), p);
      else p = this.#lit(part, p);
    }
    return p;
  }

  // The left operand is parsed once: "A _ op _ B / A" tries the same A in both alternatives,
  // so sharing it changes nothing but the cost (pigeon's version is exponential in nesting).
  #or(pos: number): Result<Expr> {
    if (this.#orMemo.has(pos)) return this.#orMemo.get(pos);
    const left = this.#and(pos);
    let r: Result<Expr> = left;
    if (left) {
      const p = this.#seq(["_", "or", "_"], left.pos);
      const right = p === undefined ? undefined : this.#or(p);
      if (right) r = { value: { type: "or", left: left.value, right: right.value }, pos: right.pos };
    }
    this.#orMemo.set(pos, r);
    return r;
  }

  #and(pos: number): Result<Expr> {
    const left = this.#not(pos);
    if (!left) return undefined;
    const p = this.#seq(["_", "and", "_"], left.pos);
    const right = p === undefined ? undefined : this.#and(p);
    return right ? { value: { type: "and", left: left.value, right: right.value }, pos: right.pos } : left;
  }

  #not(pos: number): Result<Expr> {
    const p = this.#seq(["not", "_"], pos);
    if (p !== undefined) {
      const inner = this.#not(p);
      if (inner) {
        const e = inner.value;
        return { value: e.type === "not" ? e.operand : { type: "not", operand: e }, pos: inner.pos };
      }
    }
    return this.#paren(pos);
  }

  #paren(pos: number): Result<Expr> {
    let inner: Result<Expr>;
    if (this.#s[pos] === "(") {
      inner = this.#or(this.#opt(this.#ws(pos + 1), pos + 1));
      if (inner) {
        const p = this.#opt(this.#ws(inner.pos), inner.pos);
        if (this.#s[p] === ")") return { value: inner.value, pos: p + 1 };
      }
    }
    const m = this.#match(pos);
    if (m) return m;
    if (inner) this.#error(this.#opt(this.#ws(inner.pos), inner.pos), '"grouping"', "Unmatched parentheses");
    return undefined;
  }

  #match(pos: number): Result<Expr> {
    const sel = this.#selector(pos);
    if (sel) {
      const op = this.#selectorOp(sel.pos);
      if (op) {
        const v = this.#value(op.pos);
        if (v) return { value: { type: "match", selector: sel.value, op: op.value, value: v.value }, pos: v.pos };
      }
      const emptyOp = this.#emptyOp(sel.pos);
      if (emptyOp) return { value: { type: "match", selector: sel.value, op: emptyOp.value }, pos: emptyOp.pos };
    }
    const v = this.#value(pos);
    if (!v) return undefined;
    const inOp = this.#first(v.pos, [
      [["_", "in", "_"], "in"],
      [["_", "not", "_", "in", "_"], "not in"],
    ]);
    if (!inOp) return undefined;
    const target = this.#selector(inOp.pos);
    if (!target) {
      this.#error(inOp.pos, '"match"', "Invalid selector");
      return undefined;
    }
    return { value: { type: "match", selector: target.value, op: inOp.value, value: v.value }, pos: target.pos };
  }

  #first(pos: number, choices: readonly [readonly string[], MatchOp][]): Result<MatchOp> {
    for (const [parts, op] of choices) {
      const p = this.#seq(parts, pos);
      if (p !== undefined) return { value: op, pos: p };
    }
    return undefined;
  }

  #selectorOp(pos: number): Result<MatchOp> {
    return this.#first(pos, [
      [["_?", "==", "_?"], "=="],
      [["_?", "!=", "_?"], "!="],
      [["_", "contains", "_"], "in"],
      [["_", "not", "_", "contains", "_"], "not in"],
      [["_", "matches", "_"], "matches"],
      [["_", "not", "_", "matches", "_"], "not matches"],
    ]);
  }

  #emptyOp(pos: number): Result<MatchOp> {
    return this.#first(pos, [
      [["_", "is", "_", "empty"], "is empty"],
      [["_", "is", "_", "not", "_", "empty"], "is not empty"],
    ]);
  }

  #selector(pos: number): Result<string[]> {
    const first = this.#re(IDENT, pos);
    if (!first) return undefined;
    const path = [first.value];
    let p = first.pos;
    for (;;) {
      if (this.#s[p] === ".") {
        const id = this.#re(IDENT, p + 1);
        if (id) {
          path.push(id.value);
          p = id.pos;
          continue;
        }
      }
      const idx = this.#index(p);
      if (!idx) break;
      path.push(idx.value);
      p = idx.pos;
    }
    return { value: path, pos: p };
  }

  /** `["key"]`. The key is a Go string; a selector part is text, so it is decoded as UTF-8. */
  #index(pos: number): Result<string> {
    if (this.#s[pos] !== "[") {
      this.#note(pos);
      return undefined;
    }
    const p = this.#opt(this.#ws(pos + 1), pos + 1);
    const lit = this.#string(p);
    if (!lit) {
      this.#error(p, '"index"', "Invalid index");
      return undefined;
    }
    const end = this.#opt(this.#ws(lit.pos), lit.pos);
    if (this.#s[end] !== "]") {
      this.#error(end, '"index"', "Unclosed index expression");
      return undefined;
    }
    return { value: lit.value.bytes.toString("utf8"), pos: end + 1 };
  }

  #value(pos: number): Result<GoString> {
    const sel = this.#selector(pos);
    if (sel) return { value: goStringOf(sel.value.join(".")), pos: sel.pos };
    const num = this.#re(NUMBER, pos);
    if (num) {
      const next = this.#s[num.pos];
      if (next === undefined || next === ")" || /[ \t\r\n]/.test(next)) return { value: goStringOf(num.value), pos: num.pos };
      this.#error(num.pos, '"number"', "Invalid number literal");
      return undefined;
    }
    return this.#string(pos);
  }

  #string(pos: number): Result<GoString> {
    const q = this.#s[pos];
    if (q !== '"' && q !== "`") {
      this.#note(pos);
      return undefined;
    }
    const end = this.#s.indexOf(q, pos + 1);
    if (end < 0) {
      this.#error(this.#s.length, '"string"', "Unterminated string literal");
      return undefined;
    }
    const literal = this.#s.slice(pos, end + 1);
    try {
      return { value: goUnquote(literal), pos: end + 1 };
    } catch {
      // pigeon keeps the match but records the action's error, which fails the parse.
      this.#error(pos, '"string"', "invalid syntax");
      return { value: goStringOf(""), pos: end + 1 };
    }
  }
}
