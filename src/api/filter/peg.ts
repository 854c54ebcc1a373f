/**
 * A small interpreter for PEG grammars that behaves like the parsers pigeon generates (the
 * generator go-bexpr uses), down to its error reports:
 *
 * - terminals (literals, character classes, any-char) note where they fail; the farthest
 *   failure position and everything expected there become `no match found, expected: ...`
 *   when the parse fails without another error; inside `!e` the bookkeeping is inverted, which
 *   is how `EOF <- !.` comes to be listed as "EOF";
 * - an action or `&{code}` that returns an error records `line:col (offset): rule <name>: <msg>`
 *   and the parse as a whole fails, even if it matched; duplicate messages merge.
 *
 * Unlike pigeon it memoizes rules (by position and inversion), which changes neither results
 * nor reports but keeps nested parentheses linear instead of exponential.
 *
 * @module
 */

export type Ok<T = unknown> = { readonly ok: true; readonly pos: number; readonly val: T };
export type Res<T = unknown> = Ok<T> | { readonly ok: false };

/** A parsing expression: reads `st.input` (code points) from `pos`. */
export type Expr<T = unknown> = (st: PegState, pos: number) => Res<T>;

const FAIL = { ok: false } as const;

export class PegState {
  readonly input: readonly string[];
  readonly #source: string;
  readonly errors: string[] = [];
  #maxFailPos = 0;
  #expected = new Set<string>();
  invert = false;
  readonly rules: string[] = [];
  readonly memo = new Map<number, Res>();

  constructor(source: string) {
    this.#source = source;
    this.input = Array.from(source);
  }

  /** pigeon's failAt: `matched` is whether the terminal matched. */
  failAt(matched: boolean, pos: number, want: string): void {
    if (matched !== this.invert) return;
    if (pos < this.#maxFailPos) return;
    if (pos > this.#maxFailPos) {
      this.#maxFailPos = pos;
      this.#expected = new Set();
    }
    this.#expected.add(this.invert ? `!${want}` : want);
  }

  /** pigeon's position text: line, column in runes (a newline sits at column 0 of the next line), byte offset. */
  where(pos: number): string {
    let line = 1;
    let col = 0;
    let offset = 0;
    for (let i = 0; i <= pos; i++) {
      const c = this.input[i];
      col++;
      if (c === "\n") {
        line++;
        col = 0;
      }
      if (i < pos) offset += Buffer.byteLength(c ?? "", "utf8");
    }
    return `${line}:${col} (${offset})`;
  }

  addError(pos: number, message: string): void {
    const rule = this.rules[this.rules.length - 1];
    const text = `${this.where(pos)}${rule === undefined ? "" : `: rule ${rule}`}: ${message}`;
    if (!this.errors.includes(text)) this.errors.push(text);
  }

  noMatch(): string {
    const eof = this.#expected.delete("!.");
    const list = [...this.#expected].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (eof) list.push("EOF");
    const joined =
      list.length <= 1
        ? (list[0] ?? "")
        : `${list.slice(0, -1).join(", ")} or ${list[list.length - 1]}`;
    return `${this.where(this.#maxFailPos)}: no match found, expected: ${joined}`;
  }

  get text(): string {
    return this.#source;
  }
}

/** Go's %q for the ASCII literals of a grammar. */
function quoteLiteral(s: string): string {
  return JSON.stringify(s);
}

export function lit(s: string): Expr<string> {
  const want = quoteLiteral(s);
  const chars = Array.from(s);
  return (st, pos) => {
    for (let i = 0; i < chars.length; i++) {
      if (st.input[pos + i] !== chars[i]) {
        st.failAt(false, pos, want);
        return FAIL;
      }
    }
    st.failAt(true, pos, want);
    return { ok: true, pos: pos + chars.length, val: s };
  };
}

/** A character class; `desc` is its source text, e.g. `[a-zA-Z0-9_]`. */
export function cls(desc: string, test: (c: string) => boolean): Expr<string> {
  return (st, pos) => {
    const c = st.input[pos];
    if (c === undefined || !test(c)) {
      st.failAt(false, pos, desc);
      return FAIL;
    }
    st.failAt(true, pos, desc);
    return { ok: true, pos: pos + 1, val: c };
  };
}

export const any: Expr<string> = (st, pos) => {
  const c = st.input[pos];
  if (c === undefined) {
    st.failAt(false, pos, ".");
    return FAIL;
  }
  st.failAt(true, pos, ".");
  return { ok: true, pos: pos + 1, val: c };
};

export function seq(...parts: Expr[]): Expr<unknown[]> {
  return (st, pos) => {
    const vals: unknown[] = [];
    let p = pos;
    for (const part of parts) {
      const r = part(st, p);
      if (!r.ok) return FAIL;
      vals.push(r.val);
      p = r.pos;
    }
    return { ok: true, pos: p, val: vals };
  };
}

export function choice<T>(...alts: Expr<T>[]): Expr<T> {
  return (st, pos) => {
    for (const alt of alts) {
      const r = alt(st, pos);
      if (r.ok) return r;
    }
    return FAIL;
  };
}

export function star<T>(e: Expr<T>): Expr<T[]> {
  return (st, pos) => {
    const vals: T[] = [];
    let p = pos;
    for (;;) {
      const r = e(st, p);
      if (!r.ok) return { ok: true, pos: p, val: vals };
      vals.push(r.val);
      p = r.pos;
    }
  };
}

export function plus<T>(e: Expr<T>): Expr<T[]> {
  const rest = star(e);
  return (st, pos) => {
    const first = e(st, pos);
    if (!first.ok) return FAIL;
    const r = rest(st, first.pos) as Ok<T[]>;
    return { ok: true, pos: r.pos, val: [first.val, ...r.val] };
  };
}

export function opt<T>(e: Expr<T>): Expr<T | undefined> {
  return (st, pos) => {
    const r = e(st, pos);
    return r.ok ? r : { ok: true, pos, val: undefined };
  };
}

/** `!e`: succeeds, consuming nothing, when `e` fails. */
export function not(e: Expr): Expr<undefined> {
  return (st, pos) => {
    st.invert = !st.invert;
    const r = e(st, pos);
    st.invert = !st.invert;
    return r.ok ? FAIL : { ok: true, pos, val: undefined };
  };
}

/** `&e`: succeeds, consuming nothing, when `e` matches. */
export function and(e: Expr): Expr<undefined> {
  return (st, pos) => (e(st, pos).ok ? { ok: true, pos, val: undefined } : FAIL);
}

/** `&{ return false, errors.New(message) }`: records the error and fails. */
export function failWith(message: string): Expr<never> {
  return (st, pos) => {
    st.addError(pos, message);
    return FAIL;
  };
}

/** `e { action }`; the action may throw to record an error (the match still stands). */
export function act<T, U>(e: Expr<T>, fn: (val: T, text: string) => U, onError: U): Expr<U> {
  return (st, pos) => {
    const r = e(st, pos);
    if (!r.ok) return FAIL;
    try {
      return { ok: true, pos: r.pos, val: fn(r.val, st.input.slice(pos, r.pos).join("")) };
    } catch (err) {
      st.addError(pos, (err as Error).message);
      return { ok: true, pos: r.pos, val: onError };
    }
  };
}

let ruleIds = 0;
/** Rules per grammar this module can tell apart in its memo keys. */
const MAX_RULES = 256;

/** A named rule (errors inside it name it by `display`), memoized by position and inversion. */
export function rule<T>(display: string, body: () => Expr<T>): Expr<T> {
  const id = ruleIds++ % MAX_RULES;
  let compiled: Expr<T> | undefined;
  return (st, pos) => {
    const key = (pos * 2 + (st.invert ? 1 : 0)) * MAX_RULES + id;
    const hit = st.memo.get(key);
    if (hit) return hit as Res<T>;
    compiled ??= body();
    st.rules.push(display);
    const r = compiled(st, pos);
    st.rules.pop();
    st.memo.set(key, r);
    return r;
  };
}
