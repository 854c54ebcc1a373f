/**
 * Real receivers for handler tests: shell scripts in a temp dir, and an HTTP server on
 * 127.0.0.1:0 whose answers a test scripts.
 *
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { WATCH_DEFAULTS, type ScriptHandlerDefinition } from "../../src/watch/types.js";

/** A script handler's definition as the config would give it, with fast retries. */
export function scriptDef(over: Partial<ScriptHandlerDefinition>): ScriptHandlerDefinition {
  return {
    kind: "script",
    key: "k",
    payload: "consul",
    durable: true,
    timeoutMs: 5000,
    outputMaxSize: WATCH_DEFAULTS.outputMaxSize,
    retry: { initialIntervalMs: 10, maxIntervalMs: 100, maxAttempts: 3, maxAgeMs: 0 },
    ...over,
  };
}

export interface TempDir {
  readonly path: string;
  /** Writes an executable `/bin/sh` script and returns its path. */
  script(name: string, body: string): Promise<string>;
  remove(): Promise<void>;
}

export async function tempDir(prefix = "augur-watch-"): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return {
    path,
    async script(name, body) {
      const file = join(path, name);
      await writeFile(file, `#!/bin/sh\n${body}\n`);
      await chmod(file, 0o755);
      return file;
    },
    remove: () => rm(path, { recursive: true, force: true }),
  };
}

/** Reads what a recording script wrote: `<dir>/in.<delivery>` bodies and `<dir>/env.<delivery>` lines. */
export async function readRecorded(dir: string): Promise<{ body: string; env: string[] }[]> {
  const names = (await readdir(dir))
    .filter((n) => n.startsWith("in."))
    .sort((a, b) => Number(a.slice(3)) - Number(b.slice(3)));
  return Promise.all(
    names.map(async (n) => ({
      body: await readFile(join(dir, n), "utf8"),
      env: (await readFile(join(dir, `env.${n.slice(3)}`), "utf8")).trim().split(" "),
    })),
  );
}

/** A shell line that records (atomically: the body file appears last) stdin and `CONSUL_INDEX AUGUR_EVENT_ID AUGUR_DELIVERY_ATTEMPT`. */
export const RECORD = (dir: string): string =>
  `n=$(date +%s%N); echo "$CONSUL_INDEX $AUGUR_EVENT_ID $AUGUR_DELIVERY_ATTEMPT" > "${dir}/env.$n"; cat > "${dir}/tmp.$n"; mv "${dir}/tmp.$n" "${dir}/in.$n"`;

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage["headers"];
  readonly rawHeaders: string[];
  readonly body: Buffer;
}

export type Responder = (
  req: RecordedRequest,
  n: number,
) => { status: number; headers?: Record<string, string>; body?: string } | "hang";

export interface HttpReceiver {
  readonly url: string;
  readonly port: number;
  readonly requests: RecordedRequest[];
  respond: Responder;
  /** Resolves when `n` requests have arrived. */
  waitFor(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function httpReceiver(
  respond: Responder = () => ({ status: 200 }),
  port = 0,
): Promise<HttpReceiver> {
  const requests: RecordedRequest[] = [];
  const hung: ServerResponse[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const rec: RecordedRequest = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body: Buffer.concat(chunks),
      };
      requests.push(rec);
      for (const w of waiters.filter((w) => requests.length >= w.n)) w.resolve();
      const answer = receiver.respond(rec, requests.length);
      if (answer === "hang") return void hung.push(res);
      res.writeHead(answer.status, answer.headers ?? {});
      res.end(answer.body ?? "");
    });
  });
  server.listen(port, "127.0.0.1");
  await once(server, "listening");
  const actual = (server.address() as AddressInfo).port;
  const receiver: HttpReceiver = {
    url: `http://127.0.0.1:${actual}/hook`,
    port: actual,
    requests,
    respond,
    waitFor: (n, timeoutMs = 10_000) =>
      requests.length >= n
        ? Promise.resolve()
        : new Promise((resolve, reject) => {
            const t = setTimeout(
              () => reject(new Error(`only ${requests.length} of ${n} requests arrived`)),
              timeoutMs,
            );
            waiters.push({ n, resolve: () => (clearTimeout(t), resolve()) });
          }),
    async close() {
      for (const r of hung) r.destroy();
      server.closeAllConnections();
      server.close();
      await once(server, "close");
    },
  };
  return receiver;
}
