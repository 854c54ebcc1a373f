/**
 * Consul's routing: a route is a path prefix (or an exact path); the rest of the path is the
 * URL-decoded remainder. A known path with a method it does not take is a 405 naming the
 * method, with `Allow`; `OPTIONS` answers 200 with the same `Allow` (agent/http.go).
 *
 * @module
 */
import type { WaitSignal } from "../catalog/scopes.js";
import type { AugurError } from "../lib/errors.js";
import type { ApiRequest } from "./request.js";
import type { ApiResult } from "./response.js";

export type HttpMethod = "GET" | "PUT" | "POST" | "DELETE";

/** Passed to every handler. */
export interface HandlerContext {
  /** Aborts when the client goes away, or when the server releases parked queries or shuts down. */
  readonly signal: AbortSignal;
  /**
   * A blocking query's whole wait: a signal that aborts `ms` from now, when the client goes away,
   * or when the server releases parked queries or shuts down. It is the request context itself,
   * not an AbortSignal, and the server keeps every deadline in one shared table, so a parked
   * query holds no AbortController, timer or listener chain of its own. A later call replaces
   * the deadline.
   */
  deadline(ms: number): WaitSignal;
}

export type RouteHandler = (req: ApiRequest, ctx: HandlerContext) => ApiResult | Promise<ApiResult>;

export interface Route {
  /** For example `/v1/kv/` (with `prefix: true`) or `/v1/agent/self`. */
  readonly path: string;
  /** True when the route takes the rest of the path as an argument. */
  readonly prefix: boolean;
  /** Handlers per method; the methods listed here are the ones allowed. */
  readonly methods: Partial<Record<HttpMethod, RouteHandler>>;
  /**
   * A larger request body than the server's default 1 MiB (a snapshot restore). Such a body is
   * read only after `beforeBody` accepted the request (its query and headers, no body yet): a
   * client the route would refuse never gets that much into the agent's memory. One such body is
   * read at a time per route; another meanwhile is a 429.
   */
  readonly largeBody?: {
    readonly limit: number;
    readonly beforeBody: (req: ApiRequest) => void;
  };
  /**
   * The route's own 413 for a body whose `Content-Length` is past what the server reads (KV and
   * txn word theirs as Consul does, with the announced size); others get `Request body too large`.
   */
  readonly tooLarge?: (announced: number) => AugurError;
}

/** Builds a route; `path` ending in `/` marks a prefix route, as in Go's ServeMux. */
export function route(
  path: string,
  methods: Partial<Record<HttpMethod, RouteHandler>>,
  options: Pick<Route, "largeBody" | "tooLarge"> = {},
): Route {
  return { path, prefix: path.endsWith("/"), methods, ...options };
}

/** The `Allow` header Consul sends: OPTIONS first, then the route's methods. */
export function allowHeader(r: Route): string {
  return ["OPTIONS", ...Object.keys(r.methods)].join(",");
}
