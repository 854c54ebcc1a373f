/**
 * How requests are spelled on the wire: escaped paths, query strings (Consul's presence-only
 * flags as bare keys), read options as Consul's query parameters, and Go-style error wording
 * for transport failures.
 *
 * @module
 */
import type { ReadOptions } from "./types.js";

/** Query parameters; undefined values are skipped, arrays repeat, `""` sends the bare key. */
export type QueryParams = Record<string, string | string[] | undefined>;

export { escapePath } from "../lib/url-path.js";

/** `?a=1&b&c=x&c=y`, or "" with nothing to send. */
export function queryString(query: QueryParams | undefined): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(query ?? {})) {
    for (const v of value === undefined ? [] : Array.isArray(value) ? value : [value]) {
      parts.push(
        v === "" ? encodeURIComponent(key) : `${encodeURIComponent(key)}=${encodeURIComponent(v)}`,
      );
    }
  }
  return parts.length === 0 ? "" : `?${parts.join("&")}`;
}

/** `Get`, `Put`, ... as Go's url.Error names the operation. */
export const goOp = (method: string): string => method.charAt(0) + method.slice(1).toLowerCase();

/** The innermost useful text of a fetch failure (`connect ECONNREFUSED 127.0.0.1:1`). */
export function causeText(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && e.message === "fetch failed" && e.cause !== undefined) e = e.cause;
  if (e instanceof AggregateError && e.errors.length > 0) e = e.errors[0];
  if (e instanceof Error) return e.message || ((e as NodeJS.ErrnoException).code ?? e.name);
  return String(e);
}

/** Read options as Consul's query parameters. */
export function readQuery(q: ReadOptions | undefined): QueryParams {
  return {
    dc: q?.datacenter || undefined,
    stale: q?.stale ? "" : undefined,
    filter: q?.filter || undefined,
    near: q?.near || undefined,
    "node-meta": q?.nodeMeta ? Object.entries(q.nodeMeta).map(([k, v]) => `${k}:${v}`) : undefined,
  };
}
