/**
 * Consul's HTTP handler (agent/watch_handler.go makeHTTPWatchHandler): `method` (POST) to `path`
 * with the payload JSON (plus Go's encoder newline), `Content-Type: application/json`,
 * `X-Consul-Index`, then the configured headers added; `timeout` (10 s); `tls_skip_verify`.
 *
 * augur adds `Idempotency-Key: <event id>`, the optional HMAC signature, and a classification:
 * 2xx delivered; 5xx, 429 (honouring `Retry-After`), timeouts and connection errors retry; any
 * other status is permanent.
 *
 * Redirects are followed as Consul's Go `http.Client` follows them (net/http redirectBehavior), so
 * a webhook that works under Consul works here: at most 10; 301/302/303 turn a non-GET/HEAD
 * request into a bodiless GET, 307/308 repeat the method and body; headers are carried over, less
 * `Authorization`, `Cookie` and `Www-Authenticate` when the host changes; a 3xx without `Location`
 * is the answer itself (permanent). The timeout covers the whole chain, as Go's Client.Timeout does.
 *
 * @module
 */
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { OutputBuffer } from "../output-buffer.js";
import { parseRetryAfter, type DeliveryOutcome } from "../retry.js";
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, sign } from "../signing.js";
import type { HttpHandlerDefinition } from "../types.js";
import type { DeliveryRequest, Handler } from "./handler.js";

/** Response bodies are kept like script output (Consul: circbuf of 4 KB). */
const RESPONSE_CAPTURE = 4096;

export interface HttpHandlerOptions {
  /** The HMAC secret, when the handler signs deliveries. */
  readonly secret?: Buffer;
  readonly now?: () => number;
}

/** Go's http.CanonicalHeaderKey: `x-consul-index` → `X-Consul-Index`. */
export function canonicalHeader(name: string): string {
  return name
    .toLowerCase()
    .replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
}

export class HttpHandler implements Handler {
  readonly kind = "http" as const;
  readonly target: string;
  readonly #def: HttpHandlerDefinition;
  readonly #secret: Buffer | undefined;
  readonly #now: () => number;

  constructor(def: HttpHandlerDefinition, options: HttpHandlerOptions = {}) {
    this.#def = def;
    this.#secret = options.secret;
    this.#now = options.now ?? Date.now;
    this.target = `${def.method} ${def.url}`;
  }

  #headers(request: DeliveryRequest, body: Buffer): Record<string, string[]> {
    const headers: Record<string, string[]> = {};
    const add = (name: string, value: string): void =>
      void (headers[canonicalHeader(name)] ??= []).push(value);
    add("Content-Type", "application/json");
    add("X-Consul-Index", request.index);
    for (const [name, values] of Object.entries(this.#def.header))
      for (const v of values) add(name, v);
    add("Idempotency-Key", request.eventId);
    add("X-Augur-Delivery", request.deliveryId);
    add("X-Augur-Attempt", String(request.attempt));
    if (request.fencingToken !== undefined) add("X-Augur-Fencing-Token", request.fencingToken);
    if (this.#secret) {
      const ts = String(Math.floor(this.#now() / 1000));
      add(TIMESTAMP_HEADER, ts);
      add(
        SIGNATURE_HEADER,
        sign(
          this.#secret,
          {
            timestamp: ts,
            idempotencyKey: request.eventId,
            consulIndex: request.index,
            fencingToken: request.fencingToken,
          },
          body,
        ),
      );
    }
    return headers;
  }

  deliver(request: DeliveryRequest, signal: AbortSignal): Promise<DeliveryOutcome> {
    const body = Buffer.from(`${request.body}\n`, "utf8");
    let url: URL;
    try {
      url = new URL(this.#def.url);
    } catch {
      return Promise.resolve({
        kind: "permanent",
        error: `Failed to setup http watch: invalid URL ${JSON.stringify(this.#def.url)}`,
      });
    }
    if (url.protocol !== "https:" && url.protocol !== "http:")
      return Promise.resolve({
        kind: "permanent",
        error: `Failed to setup http watch: unsupported protocol scheme "${url.protocol.replace(/:$/, "")}"`,
      });
    return new Promise((resolve) => {
      let settled = false;
      let current: ReturnType<typeof httpRequest> | undefined;
      const done = (o: DeliveryOutcome): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        resolve(o);
      };
      const timer = setTimeout(
        () => {
          current?.destroy();
          done({
            kind: "retry",
            error: `Failed to invoke http watch handler: timed out after ${this.#def.timeoutMs}ms`,
          });
        },
        this.#def.timeoutMs > 0 ? this.#def.timeoutMs : 2 ** 31 - 1,
      );
      const onAbort = (): void => {
        current?.destroy();
        done({ kind: "retry", error: "delivery aborted (agent stopping)" });
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });

      const send = (
        target: URL,
        method: string,
        headers: Record<string, string[]>,
        payload: Buffer | undefined,
        redirects: number,
      ): void => {
        if (settled) return;
        const sendFn =
          target.protocol === "https:"
            ? httpsRequest
            : target.protocol === "http:"
              ? httpRequest
              : undefined;
        if (sendFn === undefined)
          return done({
            kind: "permanent",
            error: `Failed to invoke http watch handler: unsupported protocol scheme "${target.protocol.replace(/:$/, "")}"`,
          });
        const sent = payload ? { ...headers, "Content-Length": String(payload.length) } : headers;
        const req = sendFn(target, {
          method,
          headers: sent,
          rejectUnauthorized: !this.#def.tlsSkipVerify,
        });
        current = req;
        req.on("error", (err) =>
          done({ kind: "retry", error: `Failed to invoke http watch handler: ${err.message}` }),
        );
        req.on("response", (res) => {
          const next = redirectOf(res, target, method);
          if (next === undefined) return readResponse(res, this.#now(), done);
          res.resume();
          if (redirects >= MAX_REDIRECTS)
            return done({
              kind: "permanent",
              error: `Failed to invoke http watch handler: ${method} ${next.url.href}: stopped after ${MAX_REDIRECTS} redirects`,
            });
          const carried = next.url.host === target.host ? headers : withoutSensitive(headers);
          send(
            next.url,
            next.method,
            carried,
            next.includeBody ? payload : undefined,
            redirects + 1,
          );
        });
        req.end(payload);
      };
      send(url, this.#def.method, this.#headers(request, body), body, 0);
    });
  }
}

/** Go's net/http Client default (`stopped after 10 redirects`). */
const MAX_REDIRECTS = 10;

/** Where Go's http.Client would go next for this response, or undefined if it stops here. */
function redirectOf(
  res: IncomingMessage,
  from: URL,
  method: string,
): { url: URL; method: string; includeBody: boolean } | undefined {
  const status = res.statusCode ?? 0;
  const location = res.headers.location;
  if (location === undefined || location === "") return undefined;
  let url: URL;
  try {
    url = new URL(location, from);
  } catch {
    return undefined;
  }
  if (status === 301 || status === 302 || status === 303)
    return {
      url,
      method: method === "GET" || method === "HEAD" ? method : "GET",
      includeBody: false,
    };
  if (status === 307 || status === 308) return { url, method, includeBody: true };
  return undefined;
}

const SENSITIVE = new Set(["Authorization", "Www-Authenticate", "Cookie", "Cookie2"]);

function withoutSensitive(headers: Record<string, string[]>): Record<string, string[]> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !SENSITIVE.has(name)));
}

function readResponse(res: IncomingMessage, now: number, done: (o: DeliveryOutcome) => void): void {
  const output = new OutputBuffer(RESPONSE_CAPTURE);
  res.on("data", (d: Buffer) => output.write(d));
  res.on("error", (err) =>
    done({ kind: "retry", error: `Failed to read http watch handler response: ${err.message}` }),
  );
  res.on("end", () => done({ ...classifyStatus(res, now), output: output.toString() }));
}

function classifyStatus(res: IncomingMessage, now: number): DeliveryOutcome {
  const status = res.statusCode ?? 0;
  const text = `${status} ${res.statusMessage ?? ""}`.trim();
  if (status >= 200 && status <= 299) return { kind: "delivered" };
  const retryAfter = parseRetryAfter(res.headers["retry-after"], now);
  if (status === 429 || status >= 500)
    return {
      kind: "retry",
      error: `http watch handler failed with status ${text}`,
      ...(retryAfter !== undefined ? { retryAfterMs: retryAfter } : {}),
    };
  return { kind: "permanent", error: `http watch handler failed with status ${text}` };
}
