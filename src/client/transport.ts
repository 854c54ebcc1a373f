/**
 * The client's HTTP(S) transport on node:http and node:https (global fetch cannot take a CA, a
 * client certificate or a server name without a dispatcher node does not ship). It adds two
 * bounds a client of an untrusted or broken agent needs: the time to get an answer's headers
 * (a server that accepts and never answers cannot hold a call forever) and the size of a body
 * read into memory.
 *
 * @module
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { AugurError } from "../lib/errors.js";
import type { TlsMaterial } from "../lib/tls-files.js";

/** How the client checks the agent's certificate and which one it presents. */
export interface ClientTls extends TlsMaterial {
  /** `CONSUL_HTTP_SSL_VERIFY=false`: no check of the agent's certificate (Go's InsecureSkipVerify). */
  readonly insecureSkipVerify?: boolean;
  /** `CONSUL_TLS_SERVER_NAME` / `-tls-server-name`: SNI, and the name the certificate must carry. */
  readonly serverName?: string;
  /** Check the chain but not the name (the agent calling its own loopback listener). */
  readonly skipHostnameCheck?: boolean;
}

/** One request's transport settings. */
export interface SendOptions {
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body?: string | Uint8Array;
  readonly signal: AbortSignal;
  /** Connect, TLS handshake and response headers must all be done within this; 0: no limit. */
  readonly headersTimeoutMs: number;
}

/**
 * Plain HTTP connections are pooled process-wide, as global fetch pooled them: a new client (a
 * watch restarted, a join attempt) reuses an idle connection instead of opening its own. Idle
 * sockets do not hold the process open.
 */
const SHARED_HTTP = new HttpAgent({ keepAlive: true });

/** The pool for a client: the shared one for HTTP, its own for HTTPS (its CA and certificate). */
export function connectionPool(url: URL, tls: ClientTls | undefined): HttpAgent {
  if (url.protocol !== "https:") return SHARED_HTTP;
  return new HttpsAgent({
    keepAlive: true,
    ...(tls?.ca ? { ca: tls.ca } : {}),
    ...(tls?.cert ? { cert: tls.cert } : {}),
    ...(tls?.key ? { key: tls.key } : {}),
    rejectUnauthorized: tls?.insecureSkipVerify !== true,
    ...(tls?.serverName ? { servername: tls.serverName } : {}),
    ...(tls?.skipHostnameCheck ? { checkServerIdentity: () => undefined } : {}),
  });
}

/**
 * Sends a request and resolves once the answer's status and headers are in; the body is the
 * returned stream. Rejects with UNREACHABLE when the headers did not come in time, or with
 * node's error for a refused connection, a failed handshake or an abort.
 */
export function open(url: URL, agent: HttpAgent, options: SendOptions): Promise<IncomingMessage> {
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, {
      method: options.method,
      headers: options.headers,
      agent,
      signal: options.signal,
    });
    const ms = options.headersTimeoutMs;
    const timer =
      ms > 0
        ? setTimeout(
            () => req.destroy(new AugurError("UNREACHABLE", `no response headers within ${ms}ms`)),
            ms,
          )
        : undefined;
    req.once("response", (res) => {
      clearTimeout(timer);
      resolve(res);
    });
    req.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end(options.body);
  });
}

/**
 * Reads a body to its end; past `limit` bytes the connection is cut and the read fails with
 * REMOTE_ERROR (an agent answering without end is broken, or not an agent).
 */
export function readBody(res: IncomingMessage, limit: number): Promise<Buffer> {
  const tooLarge = (): AugurError =>
    new AugurError("REMOTE_ERROR", `response body larger than ${limit} bytes`);
  if (Number(res.headers["content-length"]) > limit) {
    res.destroy();
    return Promise.reject(tooLarge());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    res.on("data", (chunk: Buffer) => {
      received += chunk.length;
      if (received > limit) {
        chunks.length = 0;
        const err = tooLarge();
        reject(err);
        res.destroy(err);
      } else chunks.push(chunk);
    });
    res.once("end", () => resolve(Buffer.concat(chunks, received)));
    res.once("error", reject);
    res.once("close", () => {
      if (!res.complete)
        reject(res.errored ?? new AugurError("UNREACHABLE", "connection closed mid-response"));
    });
  });
}
