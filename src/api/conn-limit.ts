/**
 * `limits.http_max_conns_per_client`: how many TCP connections one client IP may hold open to
 * the HTTP API at once (Consul's default 200; 0 means no limit). A connection beyond it gets
 * the response Consul's connlimit helper writes — a 429 with the same text — and is closed
 * before any request on it is read, so a client that leaks connections cannot use up the
 * agent's file descriptors while others keep working.
 *
 * @module
 */
import type { Server } from "node:http";
import type { Socket } from "node:net";

/** Consul's default `limits.http_max_conns_per_client`. */
export const DEFAULT_MAX_CONNS_PER_CLIENT = 200;

/** Consul's words (agent/agent.go, go-connlimit), so clients matching on them keep working. */
export const TOO_MANY_CONNS =
  "Your IP is issuing too many concurrent connections, please rate limit your calls\n";
const TOO_MANY_CONNS_RESPONSE =
  `HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(TOO_MANY_CONNS)}\r\nConnection: close\r\n\r\n` +
  TOO_MANY_CONNS;

/** How long a refused client gets to read the 429 and close before the socket is destroyed. */
const REFUSED_LINGER_MS = 1000;

/** Counts open connections per client IP and refuses those over the limit. */
export class ConnectionLimiter {
  readonly #max: number;
  readonly #open = new Map<string, number>();

  /** `max` 0 (or less) disables the limit. */
  constructor(max: number) {
    this.#max = max;
  }

  /** Open connections from `ip` (for tests and metrics). */
  openFrom(ip: string): number {
    return this.#open.get(normalize(ip)) ?? 0;
  }

  /**
   * Puts the limit in front of node:http's own connection listener: a refused socket never
   * reaches the HTTP parser, so nothing it sends is read or logged.
   */
  install(server: Server): void {
    if (this.#max <= 0) return;
    const listeners = server.listeners("connection") as ((socket: Socket) => void)[];
    server.removeAllListeners("connection");
    server.on("connection", (socket: Socket) => {
      if (!this.#admit(socket)) return;
      for (const l of listeners) l.call(server, socket);
    });
  }

  #admit(socket: Socket): boolean {
    const ip = normalize(socket.remoteAddress ?? "");
    const n = this.#open.get(ip) ?? 0;
    if (n >= this.#max) {
      refuse(socket);
      return false;
    }
    this.#open.set(ip, n + 1);
    socket.once("close", () => {
      const left = (this.#open.get(ip) ?? 1) - 1;
      if (left <= 0) this.#open.delete(ip);
      else this.#open.set(ip, left);
    });
    return true;
  }
}

function refuse(socket: Socket): void {
  socket.on("error", () => undefined);
  // Read and drop whatever the client sends so the close is a FIN, not a reset that could
  // swallow the 429 before the client reads it.
  socket.resume();
  socket.end(TOO_MANY_CONNS_RESPONSE);
  setTimeout(() => socket.destroy(), REFUSED_LINGER_MS).unref();
}

/** `::ffff:127.0.0.1` and `127.0.0.1` are the same client. */
function normalize(ip: string): string {
  return ip.startsWith("::ffff:") ? ip.slice(7) : ip;
}
