/**
 * The HTTP server: fastify (chosen for its speed and its maintained request lifecycle) carrying
 * Consul's route table. Bodies are taken raw for every content type — Consul reads KV values as
 * bytes and decodes JSON itself — and every error goes through the one error mapper.
 *
 * @module
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { AugurError } from "../lib/errors.js";
import { errorResponse } from "./error-mapper.js";
import { allowHeader, type HandlerContext, type Route } from "./router.js";
import { ApiRequest } from "./request.js";
import { ConnectionLimiter, DEFAULT_MAX_CONNS_PER_CLIENT } from "./conn-limit.js";
import { encodesInChunks, goJson, goJsonChunks, metaHeaders, type ApiResult } from "./response.js";

/**
 * Serialised bodies by result object: when a change releases thousands of parked queries for the
 * same scope, their reads return the same object and it is encoded once.
 */
const encoded = new WeakMap<object, { pretty: boolean; body: string | Promise<Buffer[]> }>();

/** Small bodies synchronously as one string; large ones in yielding chunks (see goJsonChunks). */
function encode(value: unknown, pretty: boolean): string | Promise<Buffer[]> {
  if (typeof value !== "object" || value === null) return goJson(value, pretty);
  const hit = encoded.get(value);
  if (hit && hit.pretty === pretty) return hit.body;
  const body = encodesInChunks(value) ? goJsonChunks(value, pretty) : goJson(value, pretty);
  encoded.set(value, { pretty, body });
  return body;
}

/** Default `http_config.read_header_timeout`: time to receive a request's headers. */
export const DEFAULT_READ_HEADER_TIMEOUT_MS = 10_000;
/** Default `http_config.read_timeout`: time to receive a whole request, body included. */
export const DEFAULT_READ_TIMEOUT_MS = 60_000;
const KEEP_ALIVE_TIMEOUT_MS = 30_000;

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
  /** Connection and read limits; every field has a default. */
  readonly limits?: HttpLimits;
}

/**
 * What one client may hold. The read timeouts cover receiving a request only: a blocking query
 * that has been received and waits for a change is not cut off by them.
 */
export interface HttpLimits {
  /** `limits.http_max_conns_per_client` (default 200; 0: no limit). */
  readonly maxConnsPerClient?: number;
  /** `http_config.read_header_timeout` in ms (default 10 s). */
  readonly readHeaderTimeoutMs?: number;
  /** `http_config.read_timeout` in ms: headers and body (default 60 s). */
  readonly readTimeoutMs?: number;
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
      serverFactory: (handler) => this.#httpServer(handler),
      clientErrorHandler: answerClientError,
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

  /**
   * node:http with the read timeouts and the per-client connection limit. node's
   * `requestTimeout` runs from the first byte of a request until its body is complete, so a
   * received blocking query, however long its `wait`, is not subject to it (http-limits test).
   */
  #httpServer(handler: (req: IncomingMessage, res: ServerResponse) => void): ReturnType<typeof createServer> {
    const limits = this.#options.limits ?? {};
    const requestTimeout = limits.readTimeoutMs ?? DEFAULT_READ_TIMEOUT_MS;
    // node refuses a headers timeout longer than the request timeout.
    const headersTimeout = Math.min(limits.readHeaderTimeoutMs ?? DEFAULT_READ_HEADER_TIMEOUT_MS, requestTimeout || Infinity);
    const shortest = Math.min(headersTimeout || Infinity, requestTimeout || Infinity);
    // node checks the timeouts on an interval (30 s by default); check often enough that a
    // timeout is enforced within about a quarter of its length.
    const connectionsCheckingInterval = Number.isFinite(shortest) ? Math.max(50, Math.min(1000, Math.floor(shortest / 4))) : 30_000;
    const server = createServer({ requestTimeout, headersTimeout, connectionsCheckingInterval }, handler);
    server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
    new ConnectionLimiter(limits.maxConnsPerClient ?? DEFAULT_MAX_CONNS_PER_CLIENT).install(server);
    return server;
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
    await this.#send(reply, result, apiReq.flag("pretty"), r.path, started);
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
   * Writes the response straight to node:http (fastify's reply is hijacked): headers, then the
   * body (in 64 KiB buffers when it is large), and exactly the Content-Type Consul sends
   * (`application/json`, which node-consul requires, without fastify's "; charset=utf-8").
   */
  async #send(reply: FastifyReply, result: ApiResult, pretty: boolean, route: string, started: number): Promise<void> {
    const headers: Record<string, string | number> = { "X-Consul-Default-ACL-Policy": this.#options.defaultAclPolicy ?? "allow" };
    if (result.meta) Object.assign(headers, metaHeaders(this.#options.storeContact ? { ...this.#options.storeContact(), ...result.meta } : result.meta));
    if (result.headers) Object.assign(headers, result.headers);
    let body: string | Buffer | Buffer[];
    switch (result.kind) {
      case "json": {
        headers["Content-Type"] = "application/json";
        const encodedBody = encode(result.value, pretty);
        body = typeof encodedBody === "string" ? encodedBody : await encodedBody;
        break;
      }
      case "raw":
        headers["Content-Type"] = result.contentType;
        body = result.body;
        break;
      case "empty":
        body = "";
        break;
    }
    headers["Content-Length"] = typeof body === "string" ? Buffer.byteLength(body) : Array.isArray(body) ? body.reduce((n, b) => n + b.length, 0) : body.length;
    const status = result.status ?? 200;
    reply.hijack();
    // The client left while the body was being encoded: nothing to write to.
    if (reply.raw.destroyed) return;
    reply.raw.writeHead(status, headers);
    if (Array.isArray(body)) {
      for (const chunk of body) reply.raw.write(chunk);
      reply.raw.end();
    } else reply.raw.end(body);
    if (this.#options.onResponse) {
      this.#counted.add(reply.request.raw);
      this.#options.onResponse(reply.request.method, route, status, (performance.now() - started) / 1000);
    }
  }

  #sendError(reply: FastifyReply, err: unknown, method: string, url: string): void {
    // A client that went away mid-request (fastify reports the half-read body as an error) is
    // not a server error: there is nobody to answer and nothing for the operator to act on.
    // (The request stream itself is destroyed once its body is read, so it cannot tell.)
    if (reply.raw.destroyed || reply.request.raw.socket?.destroyed !== false) {
      reply.hijack();
      return;
    }
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

/**
 * A request that was not received in time, or was malformed, gets a plain-text status and the
 * connection is closed; a client that reset the connection gets nothing. Neither is logged: it
 * is the client's doing, not the agent's.
 */
function answerClientError(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === "ECONNRESET" || socket.destroyed) return;
  const [status, text, body] =
    err.code === "ERR_HTTP_REQUEST_TIMEOUT"
      ? [408, "Request Timeout", "Request timeout: the request was not received within http_config.read_timeout\n"]
      : err.code === "HPE_HEADER_OVERFLOW"
        ? [431, "Request Header Fields Too Large", "Request headers too large\n"]
        : [400, "Bad Request", "Malformed HTTP request\n"];
  if (socket.writable) socket.write(`HTTP/1.1 ${status} ${text}\r\nContent-Type: ${TEXT}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  socket.destroy();
}

/** Go's URL path decoding; a malformed escape is a client error, not a crash. */
function decodePath(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch (err) {
    throw new AugurError("BAD_REQUEST", `Request decode failed: invalid URL escape in ${JSON.stringify(raw)}`, { cause: err });
  }
}
