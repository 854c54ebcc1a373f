/**
 * A scripted Consul-compatible HTTP server on 127.0.0.1:0, for plan tests that need answers a
 * real agent cannot be made to give (an index going backwards, errors on demand). Each request
 * takes the next scripted answer; requests are recorded with their query.
 *
 * @module
 */
import { createServer, type Server } from "node:http";
import { once } from "node:events";
import type { AddressInfo } from "node:net";

export type Answer = { status?: number; index: number | string; body: unknown } | { error: true };

export interface ScriptedConsul {
  readonly url: string;
  readonly queries: URLSearchParams[];
  /** Appends answers; a request with no answer left waits until one is added. */
  push(...answers: Answer[]): void;
  /** Resolves when `n` requests have been received. */
  waitForRequests(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function scriptedConsul(): Promise<ScriptedConsul> {
  const queries: URLSearchParams[] = [];
  const answers: Answer[] = [];
  const parked: (() => void)[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const server: Server = createServer((req, res) => {
    queries.push(new URL(req.url ?? "/", "http://x").searchParams);
    for (const w of waiters.filter((w) => queries.length >= w.n)) w.resolve();
    const answer = (): void => {
      const a = answers.shift();
      if (a === undefined) return void parked.push(answer);
      if ("error" in a) return void res.destroy();
      res.writeHead(a.status ?? 200, {
        "Content-Type": "application/json",
        "X-Consul-Index": String(a.index),
      });
      res.end(JSON.stringify(a.body));
    };
    answer();
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    queries,
    push(...more) {
      answers.push(...more);
      while (parked.length > 0 && answers.length > 0) parked.shift()?.();
    },
    waitForRequests: (n, timeoutMs = 5000) =>
      queries.length >= n
        ? Promise.resolve()
        : new Promise((resolve, reject) => {
            const t = setTimeout(
              () => reject(new Error(`only ${queries.length} of ${n} requests`)),
              timeoutMs,
            );
            waiters.push({ n, resolve: () => (clearTimeout(t), resolve()) });
          }),
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, "close");
    },
  };
}
