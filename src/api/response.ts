/**
 * What a route handler returns, and how it is written. Consul's JSON is Go's encoding/json:
 * compact, HTML-escaped (`<`, `>`, `&` as \u003c...), no trailing newline; `?pretty` indents by 4
 * spaces and adds a newline.
 *
 * @module
 */
import { stringifyLossless } from "../lib/lossless-json.js";

/** Read metadata sent as `X-Consul-*` headers on catalog, health, KV and session reads. */
export interface QueryMeta {
  readonly index: number;
  readonly knownLeader?: boolean;
  readonly lastContactMs?: number;
  readonly consistency?: "leader" | "stale" | "consistent";
}

export type ApiResult =
  | { readonly kind: "json"; readonly value: unknown; readonly status?: number; readonly meta?: QueryMeta; readonly headers?: Record<string, string> }
  | { readonly kind: "raw"; readonly body: Buffer | string; readonly contentType: string; readonly status?: number; readonly meta?: QueryMeta; readonly headers?: Record<string, string> }
  | { readonly kind: "empty"; readonly status?: number; readonly meta?: QueryMeta; readonly headers?: Record<string, string> };

export const json = (value: unknown, meta?: QueryMeta, headers?: Record<string, string>): ApiResult => ({
  kind: "json",
  value,
  ...(meta ? { meta } : {}),
  ...(headers ? { headers } : {}),
});
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

const HTML_UNSAFE = /[<>&\u2028\u2029]/;
const HTML_UNSAFE_ALL = /[<>&\u2028\u2029]/g;
const GO_ESCAPES: Record<string, string> = {
  "<": "\\u003c",
  ">": "\\u003e",
  "&": "\\u0026",
  "\u2028": "\\u2028",
  "\u2029": "\\u2029",
};

/** Serialises as Go's json.Marshal / MarshalIndent(“”, “    ”) would. */
export function goJson(value: unknown, pretty = false): string {
  let text: string | undefined;
  try {
    text = pretty ? `${JSON.stringify(value, null, 4)}\n` : JSON.stringify(value);
  } catch (err) {
    // Only uint64 fields past 2^53 (KV Flags) are bigints; the fast path above covers the rest.
    if (!(err instanceof TypeError && /BigInt/.test(err.message))) throw err;
    text = pretty ? `${stringifyLossless(value, 4)}\n` : stringifyLossless(value);
  }
  if (text === undefined) return "null";
  // Characters are only ever inside strings here, so escaping them in place is what Go does.
  return HTML_UNSAFE.test(text) ? text.replace(HTML_UNSAFE_ALL, (c) => GO_ESCAPES[c] ?? c) : text;
}

/** The `X-Consul-*` headers for a read. The index is never 0 (0 becomes 1). */
export function metaHeaders(meta: QueryMeta): Record<string, string> {
  return {
    "X-Consul-Index": String(Math.max(1, meta.index)),
    "X-Consul-KnownLeader": String(meta.knownLeader ?? true),
    "X-Consul-LastContact": String(meta.lastContactMs ?? 0),
    "X-Consul-Effective-Consistency": meta.consistency ?? "leader",
  };
}
