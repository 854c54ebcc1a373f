/**
 * The HTTP server: fastify (chosen for its speed and its maintained request lifecycle) carrying
 * Consul's route table. Bodies are taken raw for every content type — Consul reads KV values as
 * bytes and decodes JSON itself — and every error goes through the one error mapper.
 *
 * @module
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { AugurError } from "../lib/errors.js";
import { errorResponse } from "./error-mapper.js";
import { allowHeader, type HandlerContext, type Route } from "./router.js";
import { ApiRequest } from "./request.js";
import { goJson, metaHeaders, type ApiResult } from "./response.js";

/**
 * Serialised bodies by result object: when a change releases thousands of parked queries for the
 * same scope, their reads return the same object and it is encoded once.
 */
const encoded = new WeakMap<object, { pretty: boolean; body: string }>();

function encode(value: unknown, pretty: boolean): string {
  if (typeof value !== "object" || value === null) return goJson(value, pretty);
  const hit = encoded.get(value);
  if (hit && hit.pretty === pretty) return hit.body;
  const body = goJson(value, pretty);
  encoded.set(value, { pretty, body });
  return body;
}

/** Bodies above this are refused before they are read; KV and txn apply Consul's own limits. */
const BODY_LIMIT = 16 * 1024 * 1024;
const METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"] as const;
const TEXT = "text/plain; charset=utf-8";

export interface ApiServerOptions {
  readonly routes: readonly Route[];
  /** `allow` unless ACLs are configured to deny; sent on every response. */
  readonly defaultAclPolicy?: "allow" | "deny";
  /** Called for every request that failed with a 5xx, for the agent's log. */
  readonly onServerError?: (err: unknown, method: string, url: string) => void;
  /** `X-Consul-KnownLeader` / `X-Consul-LastContact` for read responses (default: known, 0). */
  readonly storeContact?: () => { knownLeader: boolean; lastContactMs: number };
  /** Called after every response, for request metrics. `route` is the matched route pattern. */
  readonly onResponse?: (method: string, route: string, status: number, seconds: number) => void;
}

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** An HTTP API server listening on one or more addresses (Consul's `addresses.http` list). */
export class ApiServer {
  readonly #apps: FastifyInstance[] = [];
  readonly #options: ApiServerOptions;
  /** Controllers of requests in flight that asked for a signal (parked blocking queries). */
  readonly #inFlight = new Set<AbortController>();
  /** Requests whose response #send already counted. */
  readonly #counted = new WeakSet<object>();

  constructor(options: ApiServerOptions) {
    this.#options = options;
  }

  /** Starts listening on each address; resolves to the bound addresses (port 0 becomes real). */
  async listen(addresses: readonly ListenAddress[]): Promise<ListenAddress[]> {
    const bound: ListenAddress[] = [];
    for (const address of addresses) {
      const app = this.#build();
      this.#apps.push(app);
      await app.listen({ host: address.host, port: address.port });
      const info = app.server.address();
      const port = typeof info === "object" && info !== null ? info.port : address.port;
      bound.push({ host: address.host, port });
    }
    return bound;
  }

  /** Releases parked blocking queries and closes every listener. */
  /**
   * Ends every parked blocking query now, each answering with its current data (and the current
   * KnownLeader header): used when the agent loses its store, so clients learn it at once.
   */
  releaseParked(): void {
    for (const c of [...this.#inFlight]) c.abort();
  }

  async close(): Promise<void> {
    for (const c of this.#inFlight) c.abort();
    await Promise.all(this.#apps.map((app) => app.close()));
  }

  #build(): FastifyInstance {
    const app = Fastify({
      logger: false,
      bodyLimit: BODY_LIMIT,
      // Blocking queries hold a request for up to 10 min + jitter.
      requestTimeout: 0,
      keepAliveTimeout: 30_000,
      return503OnClosing: false,
      forceCloseConnections: true,
      routerOptions: { maxParamLength: 8192 },
      // A malformed URL escape is the client's error; answer it like any other, in plain text.
      frameworkErrors: (err, req, reply) => this.#sendError(reply, err, req.method, req.url),
    });
    app.removeAllContentTypeParsers();
    app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));
    for (const r of this.#options.routes) {
      app.route({
        method: [...METHODS],
        url: r.prefix ? `${r.path}*` : r.path,
        handler: (req, reply) => this.#dispatch(r, req, reply),
      });
    }
    app.setNotFoundHandler((req, reply) => {
      const path = req.url.split("?")[0] ?? "";
      const body = path.startsWith("/v1/") ? "Invalid URL path: not a recognized HTTP API endpoint\n" : "404 page not found\n";
      this.#sendText(reply, 404, body);
    });
    app.setErrorHandler((err, req, reply) => this.#sendError(reply, err, req.method, req.url));
    const onResponse = this.#options.onResponse;
    if (onResponse) {
      app.addHook("onResponse", (req, reply, done) => {
        // Hijacked replies (every successful route answer) were counted in #send already.
        if (!this.#counted.delete(req.raw)) onResponse(req.method, req.routeOptions.url ?? "unknown", reply.statusCode, reply.elapsedTime / 1000);
        done();
      });
    }
    return app;
  }

  async #dispatch(r: Route, req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const started = performance.now();
    const method = req.method;
    const allow = allowHeader(r);
    if (method === "OPTIONS") {
      reply.header("Allow", allow);
      this.#sendText(reply, 200, "");
      return;
    }
    const handler = r.methods[method as keyof Route["methods"]];
    if (!handler) {
      throw new AugurError("METHOD_NOT_ALLOWED", `method ${method} not allowed`, { headers: { Allow: allow } });
    }
    const url = req.raw.url ?? "/";
    const q = url.indexOf("?");
    const rawPath = q < 0 ? url : url.slice(0, q);
    const rest = r.prefix ? decodePath(rawPath.slice(r.path.length)) : "";
    const query = new URLSearchParams(q < 0 ? "" : url.slice(q + 1));
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const apiReq = new ApiRequest(method, rest, query, body, req.headers);
    const result = await handler(apiReq, this.#context(reply));
    this.#send(reply, result, apiReq.flag("pretty"), r.path, started);
  }

  /**
   * The handler's context. Its signal is made only when a handler asks (most requests never
   * block), and aborts when the client goes away or the server shuts down, so parked queries
   * let go of their waiters.
   */
  #context(reply: FastifyReply): HandlerContext {
    let controller: AbortController | undefined;
    const inFlight = this.#inFlight;
    return {
      get signal(): AbortSignal {
        if (!controller) {
          const c = new AbortController();
          controller = c;
          inFlight.add(c);
          reply.raw.once("close", () => {
            inFlight.delete(c);
            c.abort();
          });
        }
        return controller.signal;
      },
    };
  }

  /**
   * Writes the response straight to node:http (fastify's reply is hijacked): one write of
   * headers and body, and exactly the Content-Type Consul sends (`application/json`, which
   * node-consul requires, without fastify's "; charset=utf-8").
   */
  #send(reply: FastifyReply, result: ApiResult, pretty: boolean, route: string, started: number): void {
    const headers: Record<string, string | number> = { "X-Consul-Default-ACL-Policy": this.#options.defaultAclPolicy ?? "allow" };
    if (result.meta) Object.assign(headers, metaHeaders(this.#options.storeContact ? { ...this.#options.storeContact(), ...result.meta } : result.meta));
    if (result.headers) Object.assign(headers, result.headers);
    let body: string | Buffer;
    switch (result.kind) {
      case "json":
        headers["Content-Type"] = "application/json";
        body = encode(result.value, pretty);
        break;
      case "raw":
        headers["Content-Type"] = result.contentType;
        body = result.body;
        break;
      case "empty":
        body = "";
        break;
    }
    headers["Content-Length"] = typeof body === "string" ? Buffer.byteLength(body) : body.length;
    const status = result.status ?? 200;
    reply.hijack();
    reply.raw.writeHead(status, headers);
    reply.raw.end(body);
    if (this.#options.onResponse) {
      this.#counted.add(reply.request.raw);
      this.#options.onResponse(reply.request.method, route, status, (performance.now() - started) / 1000);
    }
  }

  #sendError(reply: FastifyReply, err: unknown, method: string, url: string): void {
    const res = errorResponse(err);
    if (res.status >= 500) this.#options.onServerError?.(err, method, url);
    reply.headers(res.headers);
    this.#sendText(reply, res.status, res.body);
  }

  #sendText(reply: FastifyReply, status: number, body: string): void {
    reply.header("X-Consul-Default-ACL-Policy", this.#options.defaultAclPolicy ?? "allow");
    reply.code(status).type(TEXT).send(body);
  }
}

/** Go's URL path decoding; a malformed escape is a client error, not a crash. */
function decodePath(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch (err) {
    throw new AugurError("BAD_REQUEST", `Request decode failed: invalid URL escape in ${JSON.stringify(raw)}`, { cause: err });
  }
}
