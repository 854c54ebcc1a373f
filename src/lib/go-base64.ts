/**
 * Go's `base64.StdEncoding.DecodeString`, which Consul's JSON decoder runs on every `[]byte`
 * field (txn `Value`): the standard alphabet with `=` padding required, `\r` and `\n` skipped
 * anywhere, anything else — spaces, URL-safe `-_`, a missing `=`, data after the padding — an
 * error at the byte offset Go reports ("illegal base64 data at input byte N"). Unlike Go's
 * Strict mode, nonzero trailing bits are accepted. Node's Buffer.from(s, "base64") accepts all
 * of these silently, dropping what it cannot read.
 *
 * @module
 */

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const DECODE = new Int16Array(256).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

const CR = 0x0d;
const LF = 0x0a;
const PAD = 0x3d;

/** Go's base64.CorruptInputError: the byte offset (of the UTF-8 input) where decoding failed. */
export class CorruptBase64Error extends Error {
  constructor(readonly offset: number) {
    super(`illegal base64 data at input byte ${offset}`);
    this.name = "CorruptBase64Error";
  }
}

/**
 * Well-formed padded base64 without line breaks: what clients send. Such input means the same to
 * Go and to Node's native decoder, which is ~50× faster than the byte-by-byte path below (a
 * 128-op txn of 4 KiB values spent 30 ms there). Linear: no nested quantifiers.
 */
const CANONICAL = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Decodes like Go's StdEncoding.DecodeString; throws CorruptBase64Error where Go errors. */
export function decodeGoBase64(text: string): Buffer {
  if (CANONICAL.test(text)) return Buffer.from(text, "base64");
  const src = Buffer.from(text, "utf8");
  const out: number[] = [];
  let si = 0;
  for (;;) {
    const q = decodeQuantum(src, si);
    for (let i = 0; i < q.bytes.length; i++) out.push(q.bytes[i] as number);
    if (q.error !== undefined) throw new CorruptBase64Error(q.error);
    if (q.done) return Buffer.from(out);
    si = q.next;
  }
}

interface Quantum {
  bytes: number[];
  next: number;
  done: boolean;
  error?: number;
}

/** One group of four symbols, as encoding/base64's decodeQuantum reads it. */
function decodeQuantum(src: Buffer, start: number): Quantum {
  const buf = [0, 0, 0, 0];
  let si = start;
  let len = 4;
  let error: number | undefined;
  let done = false;
  for (let j = 0; j < 4; j++) {
    if (si === src.length) {
      if (j === 0) return { bytes: [], next: si, done: true };
      // Padding is required: a short final group is an error where it began.
      return { bytes: [], next: si, done: true, error: si - j };
    }
    const c = src[si] as number;
    si++;
    const v = DECODE[c] as number;
    if (v >= 0) {
      buf[j] = v;
      continue;
    }
    if (c === LF || c === CR) {
      j--;
      continue;
    }
    if (c !== PAD) return { bytes: [], next: si, done: true, error: si - 1 };
    if (j < 2) return { bytes: [], next: si, done: true, error: si - 1 };
    if (j === 2) {
      // "==" is expected; the first "=" is consumed.
      while (si < src.length && (src[si] === LF || src[si] === CR)) si++;
      if (si === src.length) return { bytes: [], next: si, done: true, error: src.length };
      if (src[si] !== PAD) return { bytes: [], next: si, done: true, error: si - 1 };
      si++;
    }
    while (si < src.length && (src[si] === LF || src[si] === CR)) si++;
    if (si < src.length) error = si;
    len = j;
    done = true;
    break;
  }
  const val =
    ((buf[0] as number) << 18) |
    ((buf[1] as number) << 12) |
    ((buf[2] as number) << 6) |
    (buf[3] as number);
  const bytes = [(val >> 16) & 0xff, (val >> 8) & 0xff, val & 0xff].slice(0, len - 1);
  return {
    bytes,
    next: si,
    done: done || si === src.length,
    ...(error !== undefined ? { error } : {}),
  };
}
