/**
 * The pieces of Go's strconv that go-bexpr 0.1.2 leans on, with Go's error texts: Unquote for
 * string literals, ParseInt/ParseUint (base 0, so `0x1f`, `0o17`, `017`, `0b1`, `1_000`) and
 * ParseBool for coercing a literal to a field's type, and Quote for `%q`.
 *
 * A Go string is a byte string; a literal such as `"\xff"` holds bytes that are not UTF-8.
 * {@link GoString} keeps the bytes so that comparisons stay byte-exact.
 *
 * @module
 */

/** A Go string value: its bytes, and its text when the bytes are valid UTF-8. */
export interface GoString {
  readonly bytes: Buffer;
  /** The decoded text; undefined when the bytes are not valid UTF-8. */
  readonly text: string | undefined;
}

export class GoSyntaxError extends Error {}

// ignoreBOM: a leading U+FEFF is part of a Go string, not a byte-order mark to drop.
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export function goString(bytes: Buffer): GoString {
  let text: string | undefined;
  try {
    text = UTF8.decode(bytes);
  } catch {
    text = undefined;
  }
  return { bytes, text };
}

export function goStringOf(text: string): GoString {
  return { bytes: Buffer.from(text, "utf8"), text };
}

const SIMPLE_ESCAPES: Record<string, number> = {
  a: 7,
  b: 8,
  f: 12,
  n: 10,
  r: 13,
  t: 9,
  v: 11,
  "\\": 92,
};

function hexValue(s: string): number | undefined {
  return /^[0-9a-fA-F]+$/.test(s) ? parseInt(s, 16) : undefined;
}

/** strconv.Unquote for a `"..."` or `` `...` `` literal; throws GoSyntaxError("invalid syntax"). */
export function goUnquote(literal: string): GoString {
  const quote = literal[0];
  if (literal.length < 2 || literal[literal.length - 1] !== quote)
    throw new GoSyntaxError("invalid syntax");
  const body = literal.slice(1, -1);
  if (quote === "`") {
    if (body.includes("`")) throw new GoSyntaxError("invalid syntax");
    // Go drops carriage returns inside raw strings.
    return goStringOf(body.replace(/\r/g, ""));
  }
  if (quote !== '"') throw new GoSyntaxError("invalid syntax");
  const out: number[] = [];
  const chars = Array.from(body);
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    if (c === '"' || c === "\n") throw new GoSyntaxError("invalid syntax");
    if (c !== "\\") {
      out.push(...Buffer.from(c, "utf8"));
      continue;
    }
    const e = chars[++i];
    if (e === undefined) throw new GoSyntaxError("invalid syntax");
    if (e in SIMPLE_ESCAPES) out.push(SIMPLE_ESCAPES[e] as number);
    else if (e === '"') out.push(34);
    else if (e === "x" || e === "u" || e === "U") {
      const n = e === "x" ? 2 : e === "u" ? 4 : 8;
      const v = hexValue(chars.slice(i + 1, i + 1 + n).join(""));
      if (v === undefined || chars.slice(i + 1, i + 1 + n).length !== n)
        throw new GoSyntaxError("invalid syntax");
      i += n;
      if (e === "x") out.push(v);
      else {
        if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) throw new GoSyntaxError("invalid syntax");
        out.push(...Buffer.from(String.fromCodePoint(v), "utf8"));
      }
    } else if (e >= "0" && e <= "7") {
      const digits = chars.slice(i, i + 3).join("");
      if (!/^[0-7]{3}$/.test(digits)) throw new GoSyntaxError("invalid syntax");
      const v = parseInt(digits, 8);
      if (v > 255) throw new GoSyntaxError("invalid syntax");
      out.push(v);
      i += 2;
    } else throw new GoSyntaxError("invalid syntax");
  }
  return goString(Buffer.from(out));
}

function isPrint(cp: number): boolean {
  if (cp < 0x20 || (cp >= 0x7f && cp <= 0xa0) || cp === 0xad) return false;
  if (cp >= 0xd800 && cp <= 0xdfff) return false;
  // Separators and format characters Go's unicode.IsPrint rejects; the rest of Unicode is
  // treated as printable, which is what strconv.Quote does for the letters, marks and symbols
  // a filter is likely to hold.
  return (
    !/[\p{Zl}\p{Zp}\p{Cf}\p{Co}\p{Cn}]|[\p{Zs}]/u.test(String.fromCodePoint(cp)) || cp === 0x20
  );
}

/** strconv.Quote (what `%q` prints for a string). */
export function goQuote(s: GoString | string): string {
  const g = typeof s === "string" ? goStringOf(s) : s;
  let out = '"';
  const b = g.bytes;
  for (let i = 0; i < b.length;) {
    const [cp, size] = decodeRune(b, i);
    i += size;
    if (cp === -1) {
      out += `\\x${(b[i - 1] as number).toString(16).padStart(2, "0")}`;
      continue;
    }
    if (cp === 0x22 || cp === 0x5c) out += `\\${String.fromCharCode(cp)}`;
    else if (isPrint(cp)) out += String.fromCodePoint(cp);
    else if (cp === 7) out += "\\a";
    else if (cp === 8) out += "\\b";
    else if (cp === 12) out += "\\f";
    else if (cp === 10) out += "\\n";
    else if (cp === 13) out += "\\r";
    else if (cp === 9) out += "\\t";
    else if (cp === 11) out += "\\v";
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, "0")}`;
    else if (cp < 0x10000) out += `\\u${cp.toString(16).padStart(4, "0")}`;
    else out += `\\U${cp.toString(16).padStart(8, "0")}`;
  }
  return out + '"';
}

/** One UTF-8 rune at `i`: [code point, size], or [-1, 1] for a byte that starts no valid rune. */
function decodeRune(b: Buffer, i: number): [number, number] {
  const c = b[i] as number;
  if (c < 0x80) return [c, 1];
  const n = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
  if (n === 0 || c > 0xf4 || i + n > b.length) return [-1, 1];
  try {
    const cp = UTF8.decode(b.subarray(i, i + n)).codePointAt(0);
    return cp === undefined ? [-1, 1] : [cp, n];
  } catch {
    return [-1, 1];
  }
}

function numError(fn: string, s: string, what: "invalid syntax" | "value out of range"): Error {
  return new GoSyntaxError(`strconv.${fn}: parsing ${goQuote(s)}: ${what}`);
}

/** Go's underscoreOK: underscores only between digits, and only with a base prefix. */
function underscoreOK(s: string): boolean {
  let saw = "^";
  let i = 0;
  if (s[0] === "+" || s[0] === "-") s = s.slice(1);
  let hex = false;
  if (s.length >= 2 && s[0] === "0" && /[bBoOxX]/.test(s[1] as string)) {
    i = 2;
    saw = "0";
    hex = /[xX]/.test(s[1] as string);
  }
  for (; i < s.length; i++) {
    const c = s[i] as string;
    if (/[0-9]/.test(c) || (hex && /[a-fA-F]/.test(c))) {
      saw = "0";
      continue;
    }
    if (c === "_") {
      if (saw !== "0") return false;
      saw = "_";
      continue;
    }
    if (saw === "_") return false;
    saw = "!";
  }
  return saw !== "_";
}

/** strconv.ParseUint(s, 0, bits) as a bigint. */
export function goParseUint(s: string, bits = 64, fn = "ParseUint"): bigint {
  if (s === "") throw numError(fn, s, "invalid syntax");
  let base = 10;
  let body = s;
  if (s[0] === "0") {
    if (s.length >= 3 && /[bB]/.test(s[1] as string)) [base, body] = [2, s.slice(2)];
    else if (s.length >= 3 && /[oO]/.test(s[1] as string)) [base, body] = [8, s.slice(2)];
    else if (s.length >= 3 && /[xX]/.test(s[1] as string)) [base, body] = [16, s.slice(2)];
    else [base, body] = [8, s.slice(1)];
  }
  let underscores = false;
  let n = 0n;
  const max = (1n << BigInt(bits)) - 1n;
  for (const c of body) {
    if (c === "_") {
      underscores = true;
      continue;
    }
    const d = parseInt(c, 36);
    if (Number.isNaN(d) || d >= base) throw numError(fn, s, "invalid syntax");
    n = n * BigInt(base) + BigInt(d);
    // Go reports the overflow at the digit that causes it, before looking further.
    if (n > max) throw numError(fn, s, "value out of range");
  }
  if (underscores && !underscoreOK(s)) throw numError(fn, s, "invalid syntax");
  return n;
}

/** strconv.ParseInt(s, 0, bits) as a bigint. */
export function goParseInt(s: string, bits = 64): bigint {
  if (s === "") throw numError("ParseInt", s, "invalid syntax");
  const neg = s[0] === "-";
  const body = s[0] === "+" || s[0] === "-" ? s.slice(1) : s;
  let u: bigint;
  try {
    u = goParseUint(body, 64, "ParseInt");
  } catch (err) {
    const range = (err as Error).message.endsWith("value out of range");
    throw numError("ParseInt", s, range ? "value out of range" : "invalid syntax");
  }
  const cutoff = 1n << BigInt(bits - 1);
  if (!neg && u >= cutoff) throw numError("ParseInt", s, "value out of range");
  if (neg && u > cutoff) throw numError("ParseInt", s, "value out of range");
  return neg ? -u : u;
}

const BOOLS: Record<string, boolean> = {
  "1": true,
  t: true,
  T: true,
  TRUE: true,
  true: true,
  True: true,
  "0": false,
  f: false,
  F: false,
  FALSE: false,
  false: false,
  False: false,
};

export function goParseBool(s: string): boolean {
  const b = BOOLS[s];
  if (b === undefined)
    throw new GoSyntaxError(`strconv.ParseBool: parsing ${goQuote(s)}: invalid syntax`);
  return b;
}
