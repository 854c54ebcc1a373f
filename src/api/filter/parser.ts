/**
 * The go-bexpr 0.1.2 grammar (its grammar.peg, which pigeon compiles), written out for ./peg
 * with the same rules, the same ordered choices and the same display names:
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
 * It runs on ./peg, which reports errors as pigeon does: an error raised inside a rule (a bad
 * escape, a bad number, an unmatched parenthesis) fails the whole parse even when another
 * alternative went on to match, and a plain failure lists what was expected where parsing got
 * farthest.
 *
 * @module
 */
import { goStringOf, goUnquote, type GoString } from "./go-strconv.js";
import {
  act,
  and,
  any,
  choice,
  cls,
  failWith,
  lit,
  not,
  opt,
  PegState,
  plus,
  rule,
  seq,
  star,
  type Expr as Peg,
} from "./peg.js";

export type MatchOp =
  "==" | "!=" | "in" | "not in" | "is empty" | "is not empty" | "matches" | "not matches";

export type Expr =
  | { readonly type: "or" | "and"; readonly left: Expr; readonly right: Expr }
  | { readonly type: "not"; readonly operand: Expr }
  | {
      readonly type: "match";
      readonly selector: readonly string[];
      readonly op: MatchOp;
      readonly value?: GoString;
    };

export class FilterSyntaxError extends Error {}

type Match = Extract<Expr, { type: "match" }>;

const ws = rule('"whitespace"', () =>
  plus(cls("[ \\t\\r\\n]", (c) => c === " " || c === "\t" || c === "\r" || c === "\n")),
);
const ows = opt(ws);
const eof = rule("EOF", () => not(any));

function op(name: string, value: MatchOp, ...parts: Peg[]): Peg<MatchOp> {
  return rule(name, () => act(seq(...parts), () => value, value));
}

const matchEqual = op("MatchEqual", "==", ows, lit("=="), ows);
const matchNotEqual = op("MatchNotEqual", "!=", ows, lit("!="), ows);
const matchIsEmpty = op("MatchIsEmpty", "is empty", ws, lit("is"), ws, lit("empty"));
const matchIsNotEmpty = op(
  "MatchIsNotEmpty",
  "is not empty",
  ws,
  lit("is"),
  ws,
  lit("not"),
  ws,
  lit("empty"),
);
const matchIn = op("MatchIn", "in", ws, lit("in"), ws);
const matchNotIn = op("MatchNotIn", "not in", ws, lit("not"), ws, lit("in"), ws);
const matchContains = op("MatchContains", "in", ws, lit("contains"), ws);
const matchNotContains = op("MatchNotContains", "not in", ws, lit("not"), ws, lit("contains"), ws);
const matchMatches = op("MatchMatches", "matches", ws, lit("matches"), ws);
const matchNotMatches = op(
  "MatchNotMatches",
  "not matches",
  ws,
  lit("not"),
  ws,
  lit("matches"),
  ws,
);

const isAlpha = (c: string): boolean => (c >= "a" && c <= "z") || (c >= "A" && c <= "Z");
const isDigit = (c: string): boolean => c >= "0" && c <= "9";

const identifier = rule("Identifier", () =>
  act(
    seq(
      cls("[a-zA-Z]", isAlpha),
      star(cls("[a-zA-Z0-9_]", (c) => isAlpha(c) || isDigit(c) || c === "_")),
    ),
    (_v, text) => text,
    "",
  ),
);

const rawStringChar = rule("RawStringChar", () => seq(not(lit("`")), any));
const doubleStringChar = rule("DoubleStringChar", () => seq(not(lit('"')), any));

const stringLiteral: Peg<GoString> = rule('"string"', () =>
  choice<GoString>(
    act(
      choice(
        seq(lit("`"), star(rawStringChar), lit("`")),
        seq(lit('"'), star(doubleStringChar), lit('"')),
      ),
      (_v, text) => goUnquote(text),
      goStringOf(""),
    ),
    act(
      seq(
        choice(seq(lit("`"), star(rawStringChar)), seq(lit('"'), star(doubleStringChar))),
        eof,
        failWith("Unterminated string literal"),
      ),
      () => goStringOf(""),
      goStringOf(""),
    ),
  ),
);

const indexExpression: Peg<string> = rule('"index"', () =>
  choice<string>(
    act(
      seq(lit("["), ows, stringLiteral, ows, lit("]")),
      (v) => (v[2] as GoString).bytes.toString("utf8"),
      "",
    ),
    act(seq(lit("["), ows, not(stringLiteral), failWith("Invalid index")), () => "", ""),
    act(
      seq(lit("["), ows, stringLiteral, ows, not(lit("]")), failWith("Unclosed index expression")),
      () => "",
      "",
    ),
  ),
);

const selectorOrIndex: Peg<string> = rule("SelectorOrIndex", () =>
  choice<string>(
    act(seq(lit("."), identifier), (v) => v[1] as string, ""),
    indexExpression,
  ),
);

const selector: Peg<string[]> = rule('"selector"', () =>
  act(seq(identifier, star(selectorOrIndex)), (v) => [v[0] as string, ...(v[1] as string[])], []),
);

const afterNumbers = rule("AfterNumbers", () => and(choice<unknown>(ws, eof, lit(")"))));
const integerOrFloat = rule("IntegerOrFloat", () =>
  seq(
    choice<unknown>(
      lit("0"),
      seq(
        cls("[1-9]", (c) => c >= "1" && c <= "9"),
        star(cls("[0-9]", isDigit)),
      ),
    ),
    opt(seq(lit("."), plus(cls("[0-9]", isDigit)))),
  ),
);
const numberLiteral: Peg<string> = rule('"number"', () =>
  choice<string>(
    act(seq(opt(lit("-")), integerOrFloat, afterNumbers), (_v, text) => text, ""),
    act(
      seq(opt(lit("-")), integerOrFloat, not(afterNumbers), failWith("Invalid number literal")),
      () => "",
      "",
    ),
  ),
);

const value: Peg<GoString> = rule('"value"', () =>
  choice<GoString>(
    act(selector, (sel) => goStringOf(sel.join(".")), goStringOf("")),
    act(numberLiteral, (n) => goStringOf(n), goStringOf("")),
    stringLiteral,
  ),
);

const matchSelectorOpValue: Peg<Match> = rule('"match"', () =>
  act(
    seq(
      selector,
      choice(
        matchEqual,
        matchNotEqual,
        matchContains,
        matchNotContains,
        matchMatches,
        matchNotMatches,
      ),
      value,
    ),
    (v): Match => ({
      type: "match",
      selector: v[0] as string[],
      op: v[1] as MatchOp,
      value: v[2] as GoString,
    }),
    { type: "match", selector: [], op: "==" },
  ),
);

const matchSelectorOp: Peg<Match> = rule('"match"', () =>
  act(
    seq(selector, choice(matchIsEmpty, matchIsNotEmpty)),
    (v): Match => ({ type: "match", selector: v[0] as string[], op: v[1] as MatchOp }),
    { type: "match", selector: [], op: "==" },
  ),
);

const matchValueOpSelector: Peg<Match> = rule('"match"', () =>
  choice<Match>(
    act(
      seq(value, choice(matchIn, matchNotIn), selector),
      (v): Match => ({
        type: "match",
        selector: v[2] as string[],
        op: v[1] as MatchOp,
        value: v[0] as GoString,
      }),
      { type: "match", selector: [], op: "==" },
    ),
    act(
      seq(value, choice(matchIn, matchNotIn), not(selector), failWith("Invalid selector")),
      (): Match => ({ type: "match", selector: [], op: "==" }),
      { type: "match", selector: [], op: "==" },
    ),
  ),
);

const matchExpression: Peg<Expr> = rule('"match"', () =>
  choice<Expr>(matchSelectorOpValue, matchSelectorOp, matchValueOpSelector),
);

const parenthesized: Peg<Expr> = rule('"grouping"', () =>
  choice<Expr>(
    act(seq(lit("("), ows, orExpression, ows, lit(")")), (v) => v[2] as Expr, NONE),
    matchExpression,
    act(
      seq(lit("("), ows, orExpression, ows, not(lit(")")), failWith("Unmatched parentheses")),
      () => NONE,
      NONE,
    ),
  ),
);

const NONE: Expr = { type: "match", selector: [], op: "==" };

const notExpression: Peg<Expr> = rule("NotExpression", () =>
  choice<Expr>(
    act(
      seq(lit("not"), ws, notExpression),
      (v): Expr => {
        const e = v[2] as Expr;
        // pigeon's action folds `not not e` into `e`.
        return e.type === "not" ? e.operand : { type: "not", operand: e };
      },
      NONE,
    ),
    parenthesized,
  ),
);

const andExpression: Peg<Expr> = rule("AndExpression", () =>
  choice<Expr>(
    act(
      seq(notExpression, ws, lit("and"), ws, andExpression),
      (v): Expr => ({ type: "and", left: v[0] as Expr, right: v[4] as Expr }),
      NONE,
    ),
    notExpression,
  ),
);

function orExpression(st: PegState, pos: number): ReturnType<Peg<Expr>> {
  return orRule(st, pos);
}

const orRule: Peg<Expr> = rule("OrExpression", () =>
  choice<Expr>(
    act(
      seq(andExpression, ws, lit("or"), ws, orExpression),
      (v): Expr => ({ type: "or", left: v[0] as Expr, right: v[4] as Expr }),
      NONE,
    ),
    andExpression,
  ),
);

const input: Peg<Expr> = rule("Input", () =>
  choice<Expr>(
    act(seq(ows, lit("("), ows, orExpression, ows, lit(")"), ows, eof), (v) => v[3] as Expr, NONE),
    act(seq(ows, orExpression, ows, eof), (v) => v[1] as Expr, NONE),
  ),
);

/** Parses a filter expression; throws FilterSyntaxError with pigeon's message. */
export function parseFilter(source: string): Expr {
  const st = new PegState(source);
  const r = input(st, 0);
  if (!r.ok && st.errors.length === 0) throw new FilterSyntaxError(st.noMatch());
  if (st.errors.length > 0) throw new FilterSyntaxError(st.errors.join("\n"));
  if (!r.ok) throw new FilterSyntaxError(st.noMatch());
  return r.val;
}
