/**
 * The syntax check Go's `json.Unmarshal` runs before decoding (encoding/json's scanner), with
 * its error texts: `invalid character 'x' looking for beginning of value`, `unexpected end of
 * JSON input`, ... Consul prints these verbatim (`consul kv import`'s "Cannot unmarshal data:
 * ..."), and V8's `JSON.parse` words them differently.
 *
 * A byte-at-a-time state machine with an explicit stack, as Go's is: input of any size or
 * nesting runs in linear time without recursion, and nesting past Go's 10000 levels is refused
 * in Go's words.
 *
 * @module
 */

/** Go's maxNestingDepth. */
const MAX_DEPTH = 10_000;

const enum Parse {
  ObjectKey,
  ObjectValue,
  ArrayValue,
}

/** What a state does with one byte: the next state, or an error context ("after array element"). */
type State = (c: number) => State | string;

const isSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isHex = (c: number): boolean =>
  isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);

/** Go's quoteChar: `'x'`, with `'\''`, `'"'` and strconv.Quote's escapes for the rest. */
export function goQuoteChar(c: number): string {
  if (c === 0x27) return `'\\''`;
  if (c === 0x22) return `'"'`;
  const escapes: Record<number, string> = {
    0x07: "\\a",
    0x08: "\\b",
    0x0c: "\\f",
    0x0a: "\\n",
    0x0d: "\\r",
    0x09: "\\t",
    0x0b: "\\v",
    0x5c: "\\\\",
  };
  const known = escapes[c];
  if (known) return `'${known}'`;
  if (c < 0x20 || c === 0x7f) return `'\\x${c.toString(16).padStart(2, "0")}'`;
  // Go quotes string(rune(c)): a byte past 0x7f reads as the Latin-1 rune of that value.
  if ((c >= 0x80 && c <= 0xa0) || c === 0xad) return `'\\u00${c.toString(16).padStart(2, "0")}'`;
  return `'${String.fromCharCode(c)}'`;
}

/** A literal's remaining bytes (`rue` after `t`), then the end of a value. */
function literal(name: string, rest: string, after: State): State {
  if (rest === "") return after;
  const want = rest.charCodeAt(0);
  return (c) =>
    c === want
      ? literal(name, rest.slice(1), after)
      : `in literal ${name} (expecting '${rest[0]}')`;
}

class Scanner {
  readonly stack: Parse[] = [];
  endTop = false;

  readonly endTopState: State = (c) => (isSpace(c) ? this.endTopState : "after top-level value");

  readonly endValue: State = (c) => {
    const top = this.stack[this.stack.length - 1];
    if (top === undefined) {
      this.endTop = true;
      return this.endTopState(c);
    }
    if (isSpace(c)) return this.endValue;
    switch (top) {
      case Parse.ObjectKey:
        if (c !== 0x3a /* : */) return "after object key";
        this.stack[this.stack.length - 1] = Parse.ObjectValue;
        return this.beginValue;
      case Parse.ObjectValue:
        if (c === 0x2c /* , */) {
          this.stack[this.stack.length - 1] = Parse.ObjectKey;
          return this.beginString;
        }
        if (c === 0x7d /* } */) return this.pop();
        return "after object key:value pair";
      case Parse.ArrayValue:
        if (c === 0x2c) return this.beginValue;
        if (c === 0x5d /* ] */) return this.pop();
        return "after array element";
    }
  };

  pop(): State {
    this.stack.pop();
    if (this.stack.length === 0) {
      this.endTop = true;
      return this.endTopState;
    }
    return this.endValue;
  }

  push(p: Parse, next: State): State | string {
    this.stack.push(p);
    return this.stack.length > MAX_DEPTH ? "exceeded max depth" : next;
  }

  readonly beginValue: State = (c) => {
    if (isSpace(c)) return this.beginValue;
    if (c === 0x7b /* { */) return this.push(Parse.ObjectKey, this.beginStringOrEmpty);
    if (c === 0x5b /* [ */) return this.push(Parse.ArrayValue, this.beginValueOrEmpty);
    if (c === 0x22) return this.inString;
    if (c === 0x2d /* - */) return this.neg;
    if (c === 0x30) return this.zero;
    if (c >= 0x31 && c <= 0x39) return this.one;
    if (c === 0x74) return literal("true", "rue", this.endValue);
    if (c === 0x66) return literal("false", "alse", this.endValue);
    if (c === 0x6e) return literal("null", "ull", this.endValue);
    return "looking for beginning of value";
  };

  readonly beginValueOrEmpty: State = (c) => {
    if (isSpace(c)) return this.beginValueOrEmpty;
    if (c === 0x5d) return this.endValue(c);
    return this.beginValue(c);
  };

  readonly beginStringOrEmpty: State = (c) => {
    if (isSpace(c)) return this.beginStringOrEmpty;
    if (c === 0x7d) {
      this.stack[this.stack.length - 1] = Parse.ObjectValue;
      return this.endValue(c);
    }
    return this.beginString(c);
  };

  readonly beginString: State = (c) => {
    if (isSpace(c)) return this.beginString;
    if (c === 0x22) return this.inString;
    return "looking for beginning of object key string";
  };

  readonly inString: State = (c) => {
    if (c === 0x22) return this.endValue;
    if (c === 0x5c) return this.inStringEsc;
    if (c < 0x20) return "in string literal";
    return this.inString;
  };

  readonly inStringEsc: State = (c) => {
    if ([0x62, 0x66, 0x6e, 0x72, 0x74, 0x5c, 0x2f, 0x22].includes(c)) return this.inString;
    if (c === 0x75) return this.hex(4);
    return "in string escape code";
  };

  hex(left: number): State {
    return (c) =>
      !isHex(c)
        ? "in \\u hexadecimal character escape"
        : left === 1
          ? this.inString
          : this.hex(left - 1);
  }

  readonly neg: State = (c) => {
    if (c === 0x30) return this.zero;
    if (c >= 0x31 && c <= 0x39) return this.one;
    return "in numeric literal";
  };

  readonly one: State = (c) => (isDigit(c) ? this.one : this.zero(c));

  readonly zero: State = (c) => {
    if (c === 0x2e /* . */) return this.dot;
    if (c === 0x65 || c === 0x45) return this.exp;
    return this.endValue(c);
  };

  readonly dot: State = (c) => (isDigit(c) ? this.dot0 : "after decimal point in numeric literal");

  readonly dot0: State = (c) => {
    if (isDigit(c)) return this.dot0;
    if (c === 0x65 || c === 0x45) return this.exp;
    return this.endValue(c);
  };

  readonly exp: State = (c) => (c === 0x2b || c === 0x2d ? this.expSign : this.expSign(c));

  readonly expSign: State = (c) => (isDigit(c) ? this.exp0 : "in exponent of numeric literal");

  readonly exp0: State = (c) => (isDigit(c) ? this.exp0 : this.endValue(c));
}

/**
 * Go's `checkValid`: undefined when `data` is one well-formed JSON value (whitespace around it
 * allowed), otherwise the error text `json.Unmarshal` returns.
 */
export function goJsonSyntaxError(data: Uint8Array): string | undefined {
  const scanner = new Scanner();
  let state: State = scanner.beginValue;
  for (let i = 0; i < data.length; i++) {
    const c = data[i] as number;
    const next = state(c);
    if (typeof next === "string") return `invalid character ${goQuoteChar(c)} ${next}`;
    state = next;
  }
  if (scanner.endTop) return undefined;
  // Go's eof() feeds one space: it ends a top-level number, and it is the character named when
  // the input stops inside a literal or a number ("tru", "-").
  const last = state(0x20);
  if (typeof last === "string") return `invalid character ' ' ${last}`;
  return scanner.endTop ? undefined : "unexpected end of JSON input";
}
