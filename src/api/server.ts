/**
 * The HTTP server: node:http with find-my-way's radix router carrying Consul's route table, and
 * nothing in between. A request is routed, its body (if any) read raw whatever its content type
 * — Consul reads KV values as bytes and decodes JSON itself — its handler run, and its answer
 * written straight to node:http with Consul's exact headers. Every error goes through the one
 * error mapper. A framework's request lifecycle cost half the time of a KV GET; this path costs
 * little more than node:http itself (bench/kv-throughput.ts).
 *
 * @module
 */
import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerOptions,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { Socket } from "node:net";
import type { TlsOptions } from "node:tls";
import FindMyWay from "find-my-way";
import { AugurError, badRequest } from "../lib/errors.js";
import { errorResponse } from "./error-mapper.js";
import { allowHeader, type Route } from "./router.js";
import { ApiRequest, decodePath, type QueryTimes, type TokenResolver } from "./request.js";
import { ConnectionLimiter, DEFAULT_MAX_CONNS_PER_CLIENT } from "./conn-limit.js";
import { ParkedRequests } from "./parked.js";
import {
  encodesInChunks,
  goJson,
  goJsonChunks,
  readHeaders,
  type ApiResult,
  type StreamResult,
} from "./response.js";

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

/**
 * Bodies above this are refused (413) before or while they are read; KV and txn apply Consul's
 * own, smaller limits. Consul's largest bodies are 512 KiB (a KV value, a transaction), and a
 * client may hold 200 connections (`http_max_conns_per_client`), each buffering a body: at 16 MiB
 * that was one client holding 1.4 GB of the agent's memory (measured), at 1 MiB it is 200 MiB.
 */
export const BODY_LIMIT = 1024 * 1024;
/** Methods with routes; any other is a 404, as an unknown path. */
const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"]);
const TEXT = "text/plain; charset=utf-8";
const NO_BODY = Buffer.alloc(0);
/** The route label request metrics get for a request no route matched. */
const UNMATCHED = "unknown";

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
  /** `default_query_time` / `max_query_time` (Consul's 5 and 10 minutes when absent). */
  readonly queryTimes?: QueryTimes;
  /** Resolves request tokens when ACLs are enabled; absent, nothing is checked. */
  readonly aclResolver?: TokenResolver;
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
  /** `http_config.response_headers`: added to every answer; a handler's own headers win. */
  readonly responseHeaders?: Readonly<Record<string, string>>;
}

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

type Router = FindMyWay.Instance<FindMyWay.HTTPVersion.V1>;

/**
 * An HTTP API server listening on one or more addresses (Consul's `addresses.http` list), and
 * on HTTPS addresses (`addresses.https`) with the same routes and limits.
 */
export class ApiServer {
  readonly #servers: Server[] = [];
  readonly #httpsServers: HttpsServer[] = [];
  readonly #options: ApiServerOptions;
  #router: Router;
  readonly #parked = new ParkedRequests();
  readonly #policy: string;
  /** `http_config.response_headers`, or undefined when none are configured (the usual case). */
  readonly #responseHeaders: Readonly<Record<string, string>> | undefined;
  readonly #handler = (req: IncomingMessage, res: ServerResponse): void => this.#handle(req, res);
  /** Routes with a large request body being read right now (at most one each). */
  readonly #largeBodyReads = new Set<Route>();

  constructor(options: ApiServerOptions) {
    this.#options = options;
    this.#policy = options.defaultAclPolicy ?? "allow";
    this.#responseHeaders = options.limits?.responseHeaders;
    this.#router = buildRouter(options.routes);
  }

  /**
   * Replaces the route table (a reload that moves or turns off the web UI). Requests already
   * routed finish on their old route; the next request is matched against the new table.
   */
  setRoutes(routes: readonly Route[]): void {
    this.#router = buildRouter(routes);
  }

  /** Starts listening on each address; resolves to the bound addresses (port 0 becomes real). */
  async listen(addresses: readonly ListenAddress[]): Promise<ListenAddress[]> {
    return this.#listenEach(addresses, () => this.#httpServer());
  }

  /**
   * Starts HTTPS listeners with `tls` (see api/tls.ts); resolves to the bound addresses. The
   * certificate, CA and client verification can be replaced later with {@link setSecureContext}.
   */
  async listenHttps(
    addresses: readonly ListenAddress[],
    tls: TlsOptions,
  ): Promise<ListenAddress[]> {
    return this.#listenEach(addresses, () => {
      const server = createHttpsServer({ ...this.#serverOptions(), ...tls }, this.#handler);
      this.#configure(server);
      this.#httpsServers.push(server);
      return server;
    });
  }

  /**
   * Replaces the HTTPS listeners' certificate, key, CA and client verification: connections
   * made from now on use them, open ones keep theirs, and no listener is closed (reload).
   */
  setSecureContext(tls: TlsOptions): void {
    for (const server of this.#httpsServers) server.setSecureContext(tls);
  }

  async #listenEach(
    addresses: readonly ListenAddress[],
    create: () => Server,
  ): Promise<ListenAddress[]> {
    const bound: ListenAddress[] = [];
    for (const address of addresses) {
      const server = create();
      this.#servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(address.port, address.host, () => {
          server.off("error", reject);
          resolve();
        });
      });
      const info = server.address();
      bound.push({
        host: address.host,
        port: typeof info === "object" && info !== null ? info.port : address.port,
      });
    }
    return bound;
  }

  /**
   * Ends every parked blocking query now, each answering with its current data (and the current
   * KnownLeader header): used when the agent loses its store, so clients learn it at once.
   */
  releaseParked(): void {
    this.#parked.releaseAll();
  }

  /** Releases parked blocking queries, then closes every listener and connection. */
  async close(): Promise<void> {
    this.#parked.releaseAll();
    // One turn of the event loop lets the released queries write their answers.
    await new Promise((resolve) => setImmediate(resolve));
    const listening = this.#servers.filter((s) => s.listening);
    this.#servers.length = 0;
    this.#httpsServers.length = 0;
    await Promise.all(
      listening.map(
        (server) =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          }),
      ),
    );
  }

  /**
   * node:http with the read timeouts and the per-client connection limit. node's
   * `requestTimeout` runs from the first byte of a request until its body is complete, so a
   * received blocking query, however long its `wait`, is not subject to it (http-limits test).
   */
  #httpServer(): Server {
    const server = createServer(this.#serverOptions(), this.#handler);
    this.#configure(server);
    return server;
  }

  #serverOptions(): ServerOptions & { handshakeTimeout: number } {
    const limits = this.#options.limits ?? {};
    const requestTimeout = limits.readTimeoutMs ?? DEFAULT_READ_TIMEOUT_MS;
    // node refuses a headers timeout longer than the request timeout.
    const headersTimeout = Math.min(
      limits.readHeaderTimeoutMs ?? DEFAULT_READ_HEADER_TIMEOUT_MS,
      requestTimeout || Infinity,
    );
    const shortest = Math.min(headersTimeout || Infinity, requestTimeout || Infinity);
    // node checks the timeouts on an interval (30 s by default); check often enough that a
    // timeout is enforced within about a quarter of its length.
    const connectionsCheckingInterval = Number.isFinite(shortest)
      ? Math.max(50, Math.min(1000, Math.floor(shortest / 4)))
      : 30_000;
    return {
      requestTimeout,
      headersTimeout,
      connectionsCheckingInterval,
      // HTTPS only: the TLS handshake comes before the headers, so it gets their time limit.
      handshakeTimeout: headersTimeout || DEFAULT_READ_HEADER_TIMEOUT_MS,
    };
  }

  #configure(server: Server): void {
    const limits = this.#options.limits ?? {};
    server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
    server.on("clientError", answerClientError);
    new ConnectionLimiter(limits.maxConnsPerClient ?? DEFAULT_MAX_CONNS_PER_CLIENT).install(server);
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const started = this.#options.onResponse ? performance.now() : 0;
    const method = req.method ?? "GET";
    const url = req.url ?? "/";
    // Every route takes every method in METHODS (a wrong one is a 405 naming it), so routes are
    // kept in one tree, GET's, which find-my-way looks up fastest.
    const found = METHODS.has(method) ? this.#router.find("GET", url) : null;
    if (found === null) {
      const body = url.startsWith("/v1/")
        ? "Invalid URL path: not a recognized HTTP API endpoint\n"
        : "404 page not found\n";
      this.#text(req, res, 404, body, undefined, UNMATCHED, started);
      return;
    }
    const r = found.store as Route | null;
    if (r === null) {
      // The router met a malformed escape: the client's error, answered in plain text.
      this.#fail(
        req,
        res,
        badRequest(`Request decode failed: '${url}' is not a valid url component`),
        UNMATCHED,
        started,
      );
      return;
    }
    if (method === "GET" || method === "HEAD" || !hasBody(req)) {
      this.#dispatch(r, req, res, NO_BODY, started);
      return;
    }
    let limit = BODY_LIMIT;
    const large = r.largeBody && r.methods[method as keyof Route["methods"]] ? r.largeBody : null;
    if (large) {
      try {
        large.beforeBody(this.#request(r, req, method, NO_BODY));
        // One large body in memory per route at a time: concurrent uploads would each hold up
        // to the route's limit.
        if (this.#largeBodyReads.has(r))
          throw new AugurError(
            "CONTENDED",
            `another request to ${r.path} is still sending its body; try again when it is done`,
            { status: 429 },
          );
      } catch (err) {
        this.#fail(req, res, err, r.path, started);
        return;
      }
      limit = large.limit;
      this.#largeBodyReads.add(r);
    }
    readBody(req, limit, large ? undefined : r.tooLarge)
      .finally(() => {
        if (large) this.#largeBodyReads.delete(r);
      })
      .then(
        (body) => this.#dispatch(r, req, res, body, started),
        (err: unknown) => this.#fail(req, res, err, r.path, started),
      );
  }

  /** Runs the route's handler; synchronous answers are written without a promise in between. */
  #dispatch(
    r: Route,
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer,
    started: number,
  ): void {
    let pretty = false;
    let result: ApiResult | Promise<ApiResult>;
    try {
      const method = req.method as string;
      if (method === "OPTIONS") {
        this.#text(req, res, 200, "", { Allow: allowHeader(r) }, r.path, started);
        return;
      }
      const handler = r.methods[method as keyof Route["methods"]];
      if (!handler)
        throw new AugurError("METHOD_NOT_ALLOWED", `method ${method} not allowed`, {
          headers: { Allow: allowHeader(r) },
        });
      const apiReq = this.#request(r, req, method, body);
      pretty = apiReq.flag("pretty");
      result = handler(apiReq, this.#parked.context(res));
    } catch (err) {
      this.#fail(req, res, err, r.path, started);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (value) => this.#send(req, res, value, pretty, r.path, started),
        (err: unknown) => this.#fail(req, res, err, r.path, started),
      );
    } else this.#send(req, res, result, pretty, r.path, started);
  }

  #request(r: Route, req: IncomingMessage, method: string, body: Buffer): ApiRequest {
    const url = req.url as string;
    const q = url.indexOf("?");
    const rest = r.prefix ? decodePath(url.slice(r.path.length, q < 0 ? url.length : q)) : "";
    return new ApiRequest(
      method,
      rest,
      q < 0 ? "" : url.slice(q + 1),
      body,
      req.headers,
      this.#options.queryTimes,
      this.#options.aclResolver,
    );
  }

  /**
   * Writes a handler's answer: headers, then the body (in 64 KiB buffers when it is large), and
   * exactly the Content-Type Consul sends (`application/json`, which node-consul requires).
   */
  #send(
    req: IncomingMessage,
    res: ServerResponse,
    result: ApiResult,
    pretty: boolean,
    route: string,
    started: number,
  ): void {
    // Nothing that goes wrong while the answer is encoded or written may escape: #send runs in
    // a promise's continuation or in node's request event, where a throw ended the process (a
    // txn answer past V8's longest string did: `RangeError: Invalid string length`).
    try {
      // An object, not a [name, value] list: writeHead takes a fresh object as it is, while a list
      // goes through removeHeader/appendHeader once per header.
      const headers = result.meta
        ? readHeaders(this.#policy, result.meta, this.#options.storeContact?.())
        : { "X-Consul-Default-ACL-Policy": this.#policy };
      if (result.headers) Object.assign(headers, result.headers);
      const status = result.status ?? 200;
      switch (result.kind) {
        case "json": {
          headers["Content-Type"] = "application/json";
          const body = encode(result.value, pretty);
          if (typeof body === "string")
            this.#write(req, res, status, headers, body, route, started);
          else
            body
              .then((chunks) => this.#write(req, res, status, headers, chunks, route, started))
              .catch((err: unknown) => this.#fail(req, res, err, route, started));
          return;
        }
        case "raw":
          headers["Content-Type"] = result.contentType;
          this.#write(req, res, status, headers, result.body, route, started);
          return;
        case "empty":
          this.#write(req, res, status, headers, "", route, started);
          return;
        case "stream":
          this.#stream(req, res, status, headers, result, route, started);
          return;
      }
    } catch (err) {
      this.#fail(req, res, err, route, started);
    }
  }

  /**
   * A streamed body: the status line at once (the client learns the stream has started), then
   * each chunk as it comes. The next chunk is asked for only once the socket has drained, so a
   * client that does not read holds at most node's buffer here, and the producer decides what
   * to drop. Ends when the body ends, the client goes away, or the server closes.
   */
  #stream(
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    headers: Record<string, string>,
    result: StreamResult,
    route: string,
    started: number,
  ): void {
    if (res.destroyed) return;
    const gone = new AbortController();
    const onClose = (): void => gone.abort();
    res.once("close", onClose);
    let body: AsyncIterable<string | Buffer>;
    try {
      body = result.open(gone.signal);
    } catch (err) {
      res.off("close", onClose);
      this.#fail(req, res, err, route, started);
      return;
    }
    if (this.#responseHeaders) headers = { ...this.#responseHeaders, ...headers };
    headers["Content-Type"] = result.contentType;
    res.writeHead(status, headers);
    res.flushHeaders();
    void pump(body, res, gone.signal).then(() => {
      res.off("close", onClose);
      gone.abort();
      if (!res.destroyed) res.end();
      this.#options.onResponse?.(
        req.method as string,
        route,
        status,
        (performance.now() - started) / 1000,
      );
    });
  }

  #write(
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    headers: Record<string, string>,
    body: string | Buffer | Buffer[],
    route: string,
    started: number,
  ): void {
    // The client left while the answer was being made: nothing to write to.
    if (res.destroyed) return;
    if (this.#responseHeaders) headers = { ...this.#responseHeaders, ...headers };
    if (Array.isArray(body)) {
      let length = 0;
      for (const chunk of body) length += chunk.length;
      headers["Content-Length"] = String(length);
      res.writeHead(status, headers);
      for (const chunk of body) res.write(chunk);
      res.end();
    } else {
      headers["Content-Length"] = String(
        typeof body === "string" ? Buffer.byteLength(body) : body.length,
      );
      res.writeHead(status, headers);
      res.end(body);
    }
    this.#options.onResponse?.(
      req.method as string,
      route,
      status,
      (performance.now() - started) / 1000,
    );
  }

  #fail(
    req: IncomingMessage,
    res: ServerResponse,
    err: unknown,
    route: string,
    started: number,
  ): void {
    // A client that went away mid-request (a half-read body, a parked query it gave up on) is not
    // a server error: there is nobody to answer and nothing for the operator to act on.
    if (res.destroyed || req.socket.destroyed) return;
    // A handler failed after the answer started (it cannot, but a half answer must not get a second head).
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const answer = errorResponse(err);
    if (answer.status >= 500)
      this.#options.onServerError?.(err, req.method as string, req.url as string);
    this.#text(req, res, answer.status, answer.body, answer.headers, route, started);
  }

  #text(
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    body: string,
    extra: Readonly<Record<string, string>> | undefined,
    route: string,
    started: number,
  ): void {
    const headers: Record<string, string> = {
      "X-Consul-Default-ACL-Policy": this.#policy,
      "Content-Type": TEXT,
    };
    if (extra) Object.assign(headers, extra);
    this.#write(req, res, status, headers, body, route, started);
  }
}

/**
 * Consul's routing (agent/http.go), as find-my-way matches it: an exact path, or a prefix (a
 * path ending in `/`) taking the rest as a wildcard. Static paths win over prefixes. The route
 * is the match's store; a malformed escape in the path matches with a null store.
 */
function buildRouter(routes: readonly Route[]): Router {
  const router = FindMyWay({
    maxParamLength: 8192,
    onBadUrl: () => undefined,
    // The query string is parsed by ApiRequest when a handler reads it, not by the router.
    querystringParser: () => undefined,
  });
  const unused = (): void => undefined;
  for (const r of routes) router.on("GET", r.prefix ? `${r.path}*` : r.path, unused, r);
  return router.compile();
}

/** Writes `body` to `res` chunk by chunk, each after the previous drained; never rejects. */
async function pump(
  body: AsyncIterable<string | Buffer>,
  res: ServerResponse,
  signal: AbortSignal,
): Promise<void> {
  try {
    for await (const chunk of body) {
      if (signal.aborted || res.destroyed) break;
      if (!res.write(chunk)) await drained(res, signal);
    }
  } catch {
    // The producer failed after the status line went out: a cut stream is all that is left.
    res.destroy();
  }
}

/** Resolves on `drain`, or when the client is gone (then no drain will come). */
function drained(res: ServerResponse, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off("drain", done);
      signal.removeEventListener("abort", done);
      resolve();
    };
    res.once("drain", done);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** Whether a request carries a body: chunked, or a non-zero Content-Length. */
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers["content-length"];
  return req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

/** The whole body as one Buffer (a copy: nothing keeps the socket's read buffers); 413 past `limit`. */
function readBody(
  req: IncomingMessage,
  limit: number,
  announcedTooLarge?: (announced: number) => AugurError,
): Promise<Buffer> {
  const announced = Number(req.headers["content-length"]);
  if (announced > limit) return Promise.reject(announcedTooLarge?.(announced) ?? tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    req.on("data", (chunk: Buffer) => {
      if (received < 0) return; // over the limit: the rest is read and dropped
      received += chunk.length;
      if (received > limit) {
        received = -1;
        chunks.length = 0;
        reject(tooLarge());
      } else chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks, Math.max(received, 0))));
    req.on("error", (err) => reject(badRequest(`Request decode failed: ${err.message}`, err)));
    // A client that goes away mid-body: settles the promise (its socket is gone, so nothing is answered).
    req.on("close", () => {
      if (!req.complete)
        reject(badRequest("Request decode failed: the client closed the connection"));
    });
  });
}

const tooLarge = (): AugurError => new AugurError("TOO_LARGE", "Request body too large");

/**
 * A request that was not received in time, or was malformed, gets a plain-text status and the
 * connection is closed; a client that reset the connection gets nothing. Neither is logged: it
 * is the client's doing, not the agent's.
 */
function answerClientError(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === "ECONNRESET" || socket.destroyed) return;
  const [status, text, body] =
    err.code === "ERR_HTTP_REQUEST_TIMEOUT"
      ? [
          408,
          "Request Timeout",
          "Request timeout: the request was not received within http_config.read_timeout\n",
        ]
      : err.code === "HPE_HEADER_OVERFLOW"
        ? [431, "Request Header Fields Too Large", "Request headers too large\n"]
        : [400, "Bad Request", "Malformed HTTP request\n"];
  if (socket.writable)
    socket.write(
      `HTTP/1.1 ${status} ${text}\r\nContent-Type: ${TEXT}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  socket.destroy();
}
