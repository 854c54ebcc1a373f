/**
 * The agent's own watches, served in-process: a {@link WatchSource} that runs the API's route
 * handlers directly — the same handlers, the same blocking reads on the catalog view's scopes —
 * instead of going through a loopback socket, HTTP parsing and the JSON round trip. What it
 * hands back is what the HTTP server would have sent: the same status, the same `X-Consul-*`
 * headers, the same error texts, and a body encoded by the same encoder (`goJson`), so a watch
 * sees byte for byte what it would see over HTTP (test/watch/in-process-source.test.ts).
 *
 * It also takes no connection from `limits.http_max_conns_per_client`: an agent with hundreds
 * of watches no longer has them refused with 429s by its own connection limit.
 *
 * `augur watch` and watches pointed at another datacenter keep the HTTP client; main.ts picks.
 *
 * @module
 */
import { AugurError } from "../lib/errors.js";
import type { WatchSource } from "../watch/query.js";
import { errorResponse } from "./error-mapper.js";
import { ApiRequest, decodePath, type QueryTimes, type TokenResolver } from "./request.js";
import { encodesInChunks, goJson, goJsonChunks, readHeaders, type ApiResult } from "./response.js";
import type { WaitSignal } from "../catalog/scopes.js";
import {
  allowHeader,
  type HandlerContext,
  type HttpMethod,
  type Route,
  type RouteHandler,
} from "./router.js";

type SourceRequest = Parameters<WatchSource["request"]>;
type SourceResponse = Awaited<ReturnType<WatchSource["request"]>>;
type RequestOptions = NonNullable<SourceRequest[2]>;

export interface InProcessSourceOptions {
  /** The agent's route table (the same list its HTTP server serves). */
  readonly routes: readonly Route[];
  /** Sent as `X-Consul-Token` on every request, as the HTTP client would (the internal token). */
  readonly token?: string;
  /** As ApiServerOptions: `X-Consul-Default-ACL-Policy`. */
  readonly defaultAclPolicy?: "allow" | "deny";
  /** As ApiServerOptions: `X-Consul-KnownLeader` / `X-Consul-LastContact` for reads. */
  readonly storeContact?: () => { knownLeader: boolean; lastContactMs: number };
  /** As ApiServerOptions: called for every request that failed with a 5xx. */
  readonly onServerError?: (err: unknown, method: string, url: string) => void;
  /** As ApiServerOptions: `default_query_time` / `max_query_time`. */
  readonly queryTimes?: QueryTimes;
  /** As ApiServerOptions: request tokens to authorizers while ACLs are enabled. */
  readonly aclResolver?: TokenResolver;
}

const NOT_AN_ENDPOINT = "Invalid URL path: not a recognized HTTP API endpoint\n";

/** Runs requests against the route table in this process. */
export class InProcessSource implements WatchSource {
  readonly #o: InProcessSourceOptions;
  readonly #exact = new Map<string, Route>();
  /** Prefix routes, longest first, so `/v1/agent/service/` wins over a shorter prefix. */
  readonly #prefixes: Route[];
  /** Requests in flight, aborted by {@link releaseParked}. */
  readonly #inFlight = new Set<AbortController>();

  constructor(options: InProcessSourceOptions) {
    this.#o = options;
    for (const r of options.routes) if (!r.prefix) this.#exact.set(r.path, r);
    this.#prefixes = options.routes
      .filter((r) => r.prefix)
      .sort((a, b) => b.path.length - a.path.length);
  }

  /**
   * Ends every parked blocking query now, each answering with its current data: the in-process
   * half of ApiServer.releaseParked (the agent lost or regained its store).
   */
  releaseParked(): void {
    for (const c of [...this.#inFlight]) c.abort();
  }

  /**
   * One request, answered as the HTTP server would answer it. Like the HTTP client, an abort by
   * the caller's signal or the timeout throws instead of returning the (early) answer.
   */
  async request(
    method: SourceRequest[0],
    path: string,
    options: RequestOptions = {},
  ): Promise<SourceResponse> {
    const op = `${method.charAt(0)}${method.slice(1).toLowerCase()} "${path}"`;
    if (options.signal?.aborted) throw new AugurError("UNREACHABLE", `${op}: request aborted`);
    // Per request, as the HTTP server's context: the watch's signal lives across many requests,
    // and the handler's listeners must not pile up on it.
    const controller = new AbortController();
    const onAbort = (): void => controller.abort();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    this.#inFlight.add(controller);
    try {
      const res = await withTimeout(
        this.#answer(method, path, options, controller.signal),
        options.timeoutMs ?? 0,
        op,
      );
      if (options.signal?.aborted) throw new AugurError("UNREACHABLE", `${op}: request aborted`);
      return res;
    } finally {
      controller.abort(); // a timed-out handler lets go of its waiter
      this.#inFlight.delete(controller);
      options.signal?.removeEventListener("abort", onAbort);
    }
  }

  async #answer(
    method: HttpMethod,
    path: string,
    options: RequestOptions,
    signal: AbortSignal,
  ): Promise<SourceResponse> {
    const r = this.#route(path);
    const query = searchParams(options.query);
    if (r === undefined)
      return textResponse(
        404,
        this.#baseHeaders(),
        path.startsWith("/v1/") ? NOT_AN_ENDPOINT : "404 page not found\n",
      );
    try {
      const handler: RouteHandler | undefined = r.methods[method];
      if (!handler)
        throw new AugurError("METHOD_NOT_ALLOWED", `method ${method} not allowed`, {
          headers: { Allow: allowHeader(r) },
        });
      const req = new ApiRequest(
        method,
        r.prefix ? decodePath(path.slice(r.path.length)) : "",
        query.toString(),
        bodyOf(options.body),
        this.#requestHeaders(options.headers),
        this.#o.queryTimes,
        this.#o.aclResolver,
      );
      const result = await handler(req, contextOf(signal));
      return await this.#respond(result, req.flag("pretty"));
    } catch (err) {
      const res = errorResponse(err);
      if (res.status >= 500)
        this.#o.onServerError?.(err, method, query.size > 0 ? `${path}?${query.toString()}` : path);
      return textResponse(res.status, { ...this.#baseHeaders(), ...res.headers }, res.body);
    }
  }

  #route(path: string): Route | undefined {
    const exact = this.#exact.get(path);
    if (exact !== undefined) return exact;
    return this.#prefixes.find((r) => path.startsWith(r.path));
  }

  /** ApiServer.#send's headers and body, without the socket. */
  async #respond(result: ApiResult, pretty: boolean): Promise<SourceResponse> {
    const headers = result.meta
      ? readHeaders(this.#o.defaultAclPolicy ?? "allow", result.meta, this.#o.storeContact?.())
      : this.#baseHeaders();
    if (result.headers) Object.assign(headers, result.headers);
    const status = result.status ?? 200;
    switch (result.kind) {
      case "json": {
        headers["Content-Type"] = "application/json";
        // A large body (health/state/any on a big catalog) is encoded in yielding slices, as
        // the server does, so one watch's read never holds the event loop for the whole encoding.
        const body = encodesInChunks(result.value)
          ? Buffer.concat(await goJsonChunks(result.value, pretty))
          : goJson(result.value, pretty);
        return makeInProcessResponse(status, headers, body);
      }
      case "raw":
        headers["Content-Type"] = result.contentType;
        return makeInProcessResponse(status, headers, result.body);
      case "empty":
        return makeInProcessResponse(status, headers, "");
      case "stream":
        // Nothing in-process reads an endless body (agent/monitor): only a socket can end it.
        throw new AugurError("INVALID_STATE", "streaming endpoints are served over HTTP only");
    }
  }

  #baseHeaders(): Record<string, string> {
    return { "X-Consul-Default-ACL-Policy": this.#o.defaultAclPolicy ?? "allow" };
  }

  /** node:http's lower-cased request headers: the caller's, then the token. */
  #requestHeaders(extra: Record<string, string> | undefined): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(extra ?? {})) out[k.toLowerCase()] = v;
    if (this.#o.token !== undefined) out["x-consul-token"] = this.#o.token;
    return out;
  }
}

/** `answer`, or the HTTP client's timeout error after `ms` (0: none). */
async function withTimeout<T>(answer: Promise<T>, ms: number, op: string): Promise<T> {
  if (ms <= 0) return answer;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>(
    (_, reject) =>
      (timer = setTimeout(
        () => reject(new AugurError("UNREACHABLE", `${op}: timed out after ${ms}ms`)),
        ms,
      )),
  );
  try {
    return await Promise.race([answer, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The client's query encoding, read back as the server reads it: arrays repeat, `""` is a bare flag. */
function searchParams(query: RequestOptions["query"]): URLSearchParams {
  const out = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    for (const v of value === undefined ? [] : Array.isArray(value) ? value : [value])
      out.append(key, v);
  }
  return out;
}

function bodyOf(body: RequestOptions["body"]): Buffer {
  if (body === undefined) return Buffer.alloc(0);
  return typeof body === "string"
    ? Buffer.from(body)
    : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

function textResponse(
  status: number,
  headers: Record<string, string>,
  body: string,
): SourceResponse {
  return makeInProcessResponse(
    status,
    { ...headers, "Content-Type": "text/plain; charset=utf-8" },
    body,
  );
}

/**
 * A ClientResponse over text already in memory. The body stays a string until someone asks for
 * bytes: the watch plan reads `text()`, so the common path never copies it into a Buffer.
 */
function makeInProcessResponse(
  status: number,
  headers: Record<string, string>,
  body: string | Buffer,
): SourceResponse {
  const h = new Headers(headers);
  const raw = h.get("x-consul-index");
  let text: string | undefined = typeof body === "string" ? body : undefined;
  let bytes: Buffer | undefined = typeof body === "string" ? undefined : body;
  const readText = (): string => (text ??= (bytes as Buffer).toString("utf8"));
  return {
    status,
    headers: h,
    index: raw !== null && /^\d{1,20}$/.test(raw) ? Number(raw) : undefined,
    get body(): Buffer {
      return (bytes ??= Buffer.from(text as string));
    },
    text: readText,
    json<T = unknown>(): T {
      try {
        return JSON.parse(readText()) as T;
      } catch (err) {
        throw new AugurError(
          "REMOTE_ERROR",
          `Failed to decode response (status ${status}): ${readText().slice(0, 120)}`,
          { cause: err },
        );
      }
    },
  };
}

/**
 * A handler's context for an in-process request: the request's own signal, and a blocking wait's
 * deadline as a signal that also aborts with it. One request parks at most once at a time, so
 * the timer and listener here cost what the HTTP server's shared deadline table saves per socket.
 */
function contextOf(signal: AbortSignal): HandlerContext {
  return {
    signal,
    deadline(ms: number): WaitSignal {
      const timer = AbortSignal.timeout(Math.max(0, Math.ceil(ms)));
      return AbortSignal.any([signal, timer]);
    },
  };
}
