/**
 * JSON with exact 64-bit integers. Consul's uint64 fields (KV `Flags`) go up to 2^64-1, past the
 * 2^53 a JS number holds exactly: `JSON.parse` turns 9007199254740993 into ...992 and
 * `JSON.stringify` cannot write a bigint at all. {@link parseJsonLossless} reads integers beyond
 * 2^53 as bigints; `goJson` (api/response.ts) writes bigints as bare JSON numbers.
 *
 * @module
 */
import { randomBytes } from "node:crypto";

/** Unguessable, so no string a client sends can pass for a marked number. */
const MARK = `augur-u64-${randomBytes(8).toString("hex")}:`;

/** Replaces integer tokens too large for a double with marked strings, skipping string contents. */
function markBigIntegers(text: string): string {
  let out = "";
  let last = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++)
        if (text.charCodeAt(i) === 0x5c /* \ */) i++;
      continue;
    }
    if (c !== 0x2d /* - */ && (c < 0x30 || c > 0x39)) continue;
    let end = i + 1;
    while (end < text.length && /[0-9eE.+-]/.test(text[end] as string)) end++;
    const token = text.slice(i, end);
    if (/^-?\d+$/.test(token) && !Number.isSafeInteger(Number(token))) {
      out += `${text.slice(last, i)}"${MARK}${token}"`;
      last = end;
    }
    i = end - 1;
  }
  return last === 0 ? text : out + text.slice(last);
}

/**
 * `JSON.parse`, except that integers beyond Number.MAX_SAFE_INTEGER come back as bigints.
 * Texts without a 16-digit run take the plain JSON.parse path.
 */
export function parseJsonLossless(text: string): unknown {
  if (!/\d{16}/.test(text)) return JSON.parse(text);
  return JSON.parse(markBigIntegers(text), (_k, v: unknown) =>
    typeof v === "string" && v.startsWith(MARK) ? BigInt(v.slice(MARK.length)) : v,
  );
}

/**
 * `JSON.stringify` that writes bigints as bare JSON numbers. Values without bigints (nearly all)
 * take plain JSON.stringify: a replacer function would slow every call down by half.
 */
export function stringifyLossless(value: unknown, indent?: number | string): string | undefined {
  try {
    return JSON.stringify(value, null, indent);
  } catch (err) {
    if (!(err instanceof TypeError)) throw err; // "Do not know how to serialize a BigInt"
  }
  let marked = false;
  const text = JSON.stringify(
    value,
    (_k, v: unknown) => (typeof v === "bigint" ? ((marked = true), `${MARK}${v}`) : v),
    indent,
  );
  return marked ? text?.replace(new RegExp(`"${MARK}(-?\\d+)"`, "g"), "$1") : text;
}
