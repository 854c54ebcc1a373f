/**
 * What a route handler returns, and how it is written. Consul's JSON is Go's encoding/json:
 * compact, HTML-escaped (`<`, `>`, `&` as \u003c...), no trailing newline; `?pretty` indents by 4
 * spaces and adds a newline.
 *
 * @module
 */
import { stringifyLossless } from "../lib/lossless-json.js";
import { goHtmlEscape } from "../lib/go-html-escape.js";

/** Read metadata sent as `X-Consul-*` headers on catalog, health, KV and session reads. */
export interface QueryMeta {
  readonly index: number;
  /**
   * Only `X-Consul-KnownLeader` and `X-Consul-LastContact`, no index nor consistency: Consul's
   * answer to a read-only `/v1/txn`, which is not a blocking query.
   */
  readonly leaderOnly?: boolean;
  readonly knownLeader?: boolean;
  readonly lastContactMs?: number;
  readonly consistency?: "leader" | "stale" | "consistent";
}

export type ApiResult =
  | {
      readonly kind: "json";
      readonly value: unknown;
      readonly status?: number;
      readonly meta?: QueryMeta;
      readonly headers?: Record<string, string>;
    }
  | {
      readonly kind: "raw";
      readonly body: Buffer | string;
      readonly contentType: string;
      readonly status?: number;
      readonly meta?: QueryMeta;
      readonly headers?: Record<string, string>;
    }
  | {
      readonly kind: "empty";
      readonly status?: number;
      readonly meta?: QueryMeta;
      readonly headers?: Record<string, string>;
    }
  | StreamResult;

/**
 * A body written as it is produced (chunked, each chunk sent as it comes), until it ends or the
 * client goes away: `agent/monitor`. Only the HTTP server serves these.
 */
export interface StreamResult {
  readonly kind: "stream";
  readonly contentType: string;
  readonly status?: number;
  readonly meta?: QueryMeta;
  readonly headers?: Record<string, string>;
  /**
   * Starts the body; called before the status line is sent, so it may still throw an error
   * answer. `signal` aborts when the client disconnects (or the server closes); the iterable must
   * then end. The server waits for each chunk to drain before asking for the next.
   */
  open(signal: AbortSignal): AsyncIterable<string | Buffer>;
}

// Built without spreads: every read answers through these, and a spread of `{}` allocates.
export const json = (
  value: unknown,
  meta?: QueryMeta,
  headers?: Record<string, string>,
): ApiResult =>
  headers
    ? meta
      ? { kind: "json", value, meta, headers }
      : { kind: "json", value, headers }
    : meta
      ? { kind: "json", value, meta }
      : { kind: "json", value };
export const empty = (meta?: QueryMeta, status?: number): ApiResult => ({
  kind: "empty",
  ...(meta ? { meta } : {}),
  ...(status ? { status } : {}),
});
export const raw = (body: Buffer | string, contentType: string, meta?: QueryMeta): ApiResult => ({
  kind: "raw",
  body,
  contentType,
  ...(meta ? { meta } : {}),
});

/** Serialises as Go's json.Marshal / MarshalIndent(“”, “    ”) would. */
export function goJson(value: unknown, pretty = false): string {
  // Lossless: uint64 fields past 2^53 (KV Flags) are bigints, written as bare numbers.
  const text = pretty ? `${stringifyLossless(value, 4)}\n` : stringifyLossless(value);
  if (text === undefined) return "null";
  return goHtmlEscape(text);
}

/**
 * The headers of a read: the ACL policy every answer carries and the `X-Consul-*` meta. The
 * index is never 0 (0 becomes 1). `contact` is the store's leader contact; the read's own meta
 * wins where both say something. One object literal of one shape, which node:http's writeHead
 * takes as it is.
 */
export function readHeaders(
  policy: string,
  meta: QueryMeta,
  contact?: { knownLeader: boolean; lastContactMs: number },
): Record<string, string> {
  const headers: Record<string, string> = {
    "X-Consul-Default-ACL-Policy": policy,
    "X-Consul-Index": String(Math.max(1, meta.index)),
    "X-Consul-KnownLeader": (meta.knownLeader ?? contact?.knownLeader ?? true) ? "true" : "false",
    "X-Consul-LastContact": String(meta.lastContactMs ?? contact?.lastContactMs ?? 0),
    "X-Consul-Effective-Consistency": meta.consistency ?? "leader",
  };
  if (meta.leaderOnly) {
    delete headers["X-Consul-Index"];
    delete headers["X-Consul-Effective-Consistency"];
  }
  return headers;
}

/** Continuous serialisation allowed before yielding to the event loop. */
const ENCODE_SLICE_MS = 5;
/** Items encoded between clock reads. */
const ENCODE_CHECK_EVERY = 16;
/** Below this many top-level items a body is encoded in one go. */
const ENCODE_YIELD_MIN_ITEMS = 128;
/** Encoded text is turned into Buffers of about this many characters. */
const ENCODE_CHUNK_CHARS = 64 * 1024;

/**
 * `goJson`, byte for byte, as Buffers, for bodies that may be large (health/state/any on a big
 * catalog is megabytes): a top-level array or plain object is encoded member by member into
 * 64 KiB buffers, yielding to the event loop every few milliseconds, so one large read never
 * holds every other request and timer for the whole encoding, nor for one huge string copy.
 */
export async function goJsonChunks(value: unknown, pretty = false): Promise<Buffer[]> {
  const members = topLevelMembers(value);
  if (members === undefined || members.count < ENCODE_YIELD_MIN_ITEMS)
    return [Buffer.from(goJson(value, pretty))];
  const isArray = members.keys === undefined;
  const [open, close] = isArray ? ["[", "]"] : ["{", "}"];
  const chunks: Buffer[] = [];
  let pending: string[] = [];
  let pendingChars = 0;
  const push = (text: string): void => {
    pending.push(text);
    pendingChars += text.length;
    if (pendingChars < ENCODE_CHUNK_CHARS) return;
    chunks.push(Buffer.from(pending.join("")));
    pending = [];
    pendingChars = 0;
  };
  let written = 0;
  let sliceStart = performance.now();
  const record = value as Record<string, unknown>;
  for (let i = 0; i < members.count; i++) {
    if (i % ENCODE_CHECK_EVERY === 0 && performance.now() - sliceStart > ENCODE_SLICE_MS) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    }
    // Read in place: a [key, item] pair per member cost 100,000 allocations for a big array.
    const key = members.keys === undefined ? "" : (members.keys[i] as string);
    const item = members.keys === undefined ? (value as unknown[])[i] : record[key];
    const text = pretty
      ? stringifyLossless(item, 4)?.replaceAll("\n", "\n    ")
      : compactText(item);
    // JSON.stringify writes null for an unencodable array item and leaves out such an object member.
    if (text === undefined && !isArray) continue;
    const member = isArray
      ? (text ?? "null")
      : `${JSON.stringify(key)}:${pretty ? " " : ""}${text}`;
    const escaped = goHtmlEscape(member);
    push(
      written === 0
        ? `${open}${pretty ? "\n    " : ""}${escaped}`
        : `${pretty ? ",\n    " : ","}${escaped}`,
    );
    written++;
  }
  push(written === 0 ? `${open}${close}${pretty ? "\n" : ""}` : pretty ? `\n${close}\n` : close);
  if (pending.length > 0) chunks.push(Buffer.from(pending.join("")));
  return chunks;
}

/**
 * Compact JSON of frozen items, by item: a frozen object cannot change, so read models the
 * catalog shares between reads (see catalog/health.ts) are encoded once, not once per request.
 */
const frozenJson = new WeakMap<object, string>();

function compactText(item: unknown): string | undefined {
  if (typeof item !== "object" || item === null || !Object.isFrozen(item))
    return stringifyLossless(item);
  const cached = frozenJson.get(item);
  if (cached !== undefined) return cached;
  const text = stringifyLossless(item);
  if (text !== undefined) frozenJson.set(item, text);
  return text;
}

/**
 * Whether {@link goJsonChunks} would split `value` (a plain array or object of at least 128
 * members). Smaller bodies are encoded at once with {@link goJson}: no promise, no buffer list,
 * on the path every small read (a KV GET) takes.
 */
export function encodesInChunks(value: unknown): boolean {
  if (Array.isArray(value)) return value.length >= ENCODE_YIELD_MIN_ITEMS;
  const members = topLevelMembers(value);
  return members !== undefined && members.count >= ENCODE_YIELD_MIN_ITEMS;
}

/**
 * How many members a plain array or object has, and an object's keys; undefined for anything
 * JSON.stringify treats specially.
 */
function topLevelMembers(
  value: unknown,
): { readonly count: number; readonly keys?: readonly string[] } | undefined {
  if (
    typeof value !== "object" ||
    value === null ||
    typeof (value as { toJSON?: unknown }).toJSON === "function"
  )
    return undefined;
  if (Array.isArray(value)) return { count: value.length };
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return undefined;
  const keys = Object.keys(value);
  return { count: keys.length, keys };
}
