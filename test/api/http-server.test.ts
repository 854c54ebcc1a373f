/**
 * The HTTP layer itself (api/server.ts on node:http and find-my-way): what it answers before
 * any route runs — unknown paths and methods, malformed escapes, bodies over the limit — and
 * how it holds and lets go of parked requests: a deadline, a client that leaves, a release.
 *
 * @module
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { ApiServer, BODY_LIMIT } from "../../src/api/server.js";
import { route } from "../../src/api/router.js";
import { json } from "../../src/api/response.js";
import { ScopeIndex } from "../../src/catalog/scopes.js";
import { blockingRead } from "../../src/api/blocking.js";
import { heapPop, heapPush } from "../../src/api/parked.js";

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** node:http, so paths and bodies reach the server exactly as written. */
function send(
  port: number,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: Buffer | string; chunks?: Buffer[] } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, method, path, headers: options.headers ?? {}, agent: false },
      (res) => {
        const parts: Buffer[] = [];
        res.on("data", (c: Buffer) => parts.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(parts).toString("utf8"),
          }),
        );
      },
    );
    // The server may answer (413) and close before the whole body is written.
    req.on("error", (err: NodeJS.ErrnoException) =>
      err.code === "EPIPE" || err.code === "ECONNRESET" ? undefined : reject(err),
    );
    for (const c of options.chunks ?? []) req.write(c);
    req.end(options.body);
  });
}

describe("http server", () => {
  const scopes = new ScopeIndex();
  const waiter = {
    wait: (s: string, after: number, signal: Parameters<ScopeIndex["wait"]>[2]) =>
      scopes.wait(s, after, signal),
    scopeIndex: (s: string) => scopes.get(s),
  };
  let server: ApiServer;
  let port: number;
  let bodies: Buffer[];

  before(async () => {
    bodies = [];
    server = new ApiServer({
      routes: [
        route("/v1/echo/", {
          PUT: (req) => {
            bodies.push(req.body);
            return json({ rest: req.rest, bytes: req.body.length });
          },
        }),
        // An answer that cannot be encoded: as a handler's return value (sync) and after an
        // await (async); once as a large list (encoded in slices).
        route("/v1/unencodable", {
          GET: (req) => {
            const bad = {
              toJSON: (): never => {
                throw new RangeError("Invalid string length");
              },
            };
            const value = req.flag("large") ? Array.from({ length: 200 }, () => bad) : bad;
            return req.flag("async") ? Promise.resolve(json(value)) : json(value);
          },
        }),
        route("/v1/wait", {
          GET: async (req, ctx) => {
            const { value, meta } = await blockingRead(req, ctx, waiter, "s", () => ({
              index: Math.max(1, scopes.get("s")),
              value: scopes.get("s"),
            }));
            return json(value, meta);
          },
        }),
      ],
    });
    const [addr] = await server.listen([{ host: "127.0.0.1", port: 0 }]);
    port = addr?.port ?? 0;
  });
  after(async () => server.close());

  it("server - unknown paths and methods answer Consul's 404 texts; HEAD on a GET-only path is a 405 with Allow", async () => {
    const api = await send(port, "GET", "/v1/nope");
    assert.deepEqual(
      [api.status, api.body, api.headers["content-type"]],
      [404, "Invalid URL path: not a recognized HTTP API endpoint\n", "text/plain; charset=utf-8"],
    );
    const other = await send(port, "GET", "/ui/");
    assert.deepEqual([other.status, other.body], [404, "404 page not found\n"]);
    // A method no route takes is an unknown endpoint, not a 405 (as before: fastify's router).
    assert.equal((await send(port, "PROPFIND", "/v1/wait")).status, 404);
    const head = await send(port, "HEAD", "/v1/wait");
    assert.deepEqual([head.status, head.headers["allow"]], [405, "OPTIONS,GET"]);
    assert.equal(head.headers["x-consul-default-acl-policy"], "allow");
  });

  it("server - a malformed escape in the path is a 400 in plain text, not a crash", async () => {
    const bad = await send(port, "PUT", "/v1/echo/a%zzb", { body: "x" });
    assert.equal(bad.status, 400);
    assert.equal(bad.headers["content-type"], "text/plain; charset=utf-8");
    assert.match(bad.body, /^Request decode failed: /);
    const good = await send(port, "PUT", "/v1/echo/a%2Fb%20c", { body: "x" });
    assert.deepEqual(JSON.parse(good.body), { rest: "a/b c", bytes: 1 });
  });

  it("server - bodies are read raw whatever their Content-Type, chunked or not", async () => {
    const bytes = Buffer.from([0, 255, 10, 13, 0x7b]);
    for (const contentType of [
      undefined,
      "application/json",
      "text/plain",
      "application/octet-stream",
      "nonsense",
    ]) {
      const res = await send(port, "PUT", "/v1/echo/k", {
        body: bytes,
        headers: contentType ? { "Content-Type": contentType } : {},
      });
      assert.equal(res.status, 200, `${contentType}: ${res.body}`);
      assert.deepEqual([...(bodies.at(-1) ?? [])], [...bytes], String(contentType));
    }
    const chunked = await send(port, "PUT", "/v1/echo/k", {
      chunks: [Buffer.from("ab"), Buffer.from("cd")],
      headers: { "Transfer-Encoding": "chunked" },
    });
    assert.deepEqual(JSON.parse(chunked.body), { rest: "k", bytes: 4 });
  });

  it("server - a body over 1 MiB is a 413, announced or streamed, and the server goes on", async () => {
    const announced = await send(port, "PUT", "/v1/echo/big", {
      headers: { "Content-Length": String(BODY_LIMIT + 1) },
      chunks: [Buffer.alloc(1024)],
    });
    assert.deepEqual([announced.status, announced.body], [413, "Request body too large"]);
    const chunk = Buffer.alloc(64 * 1024, 1);
    const streamed = await send(port, "PUT", "/v1/echo/big", {
      chunks: Array.from({ length: 17 }, () => chunk),
      headers: { "Transfer-Encoding": "chunked" },
    });
    assert.deepEqual([streamed.status, streamed.body], [413, "Request body too large"]);
    const exact = await send(port, "PUT", "/v1/echo/big", {
      body: Buffer.alloc(BODY_LIMIT, 2),
    });
    assert.deepEqual(JSON.parse(exact.body), { rest: "big", bytes: BODY_LIMIT });
  });

  it("server - an answer that cannot be encoded is a 500 and the server goes on", async () => {
    for (const path of ["/v1/unencodable", "/v1/unencodable?async", "/v1/unencodable?large"]) {
      const res = await send(port, "GET", path);
      assert.deepEqual([res.status, res.body], [500, "Invalid string length"], path);
    }
    const after = await send(port, "PUT", "/v1/echo/still", { body: "up" });
    assert.deepEqual(JSON.parse(after.body), { rest: "still", bytes: 2 });
  });

  it("server - a parked query ends at its deadline, on a change, or when parked queries are released", async () => {
    const started = performance.now();
    const timedOut = await send(port, "GET", "/v1/wait?index=1&wait=100ms");
    assert.equal(timedOut.status, 200);
    assert.ok(performance.now() - started >= 95, "it waited for its deadline");
    // A change to its scope wakes it with the new index.
    const woken = send(port, "GET", "/v1/wait?index=1&wait=60s");
    await new Promise((r) => setTimeout(r, 100));
    scopes.bump(["s"], 7);
    const w = await woken;
    assert.deepEqual([w.status, w.headers["x-consul-index"], w.body], [200, "7", "7"]);
    // releaseParked answers every parked query at once with its current data.
    const parked = Array.from({ length: 20 }, () => send(port, "GET", "/v1/wait?index=7&wait=60s"));
    while (scopes.parked() < 20) await new Promise((r) => setTimeout(r, 10));
    server.releaseParked();
    const released = await Promise.all(parked);
    assert.deepEqual(
      new Set(released.map((r) => `${r.status} ${r.headers["x-consul-index"]}`)),
      new Set(["200 7"]),
    );
    assert.equal(scopes.parked(), 0);
  });

  it("server - a client that leaves a parked query frees its waiter", async () => {
    const req = request({
      host: "127.0.0.1",
      port,
      path: "/v1/wait?index=7&wait=60s",
      agent: false,
    });
    req.on("error", () => undefined);
    req.end();
    while (scopes.parked() < 1) await new Promise((r) => setTimeout(r, 10));
    req.destroy();
    while (scopes.parked() > 0) await new Promise((r) => setTimeout(r, 10));
    assert.equal(scopes.parked(), 0);
  });

  it("server - every parked query lasts at least its wait, whatever order the waits were set in", async () => {
    const waits = [400, 50, 250, 150, 10, 300];
    await Promise.all(
      waits.map(async (ms) => {
        const started = performance.now();
        const res = await send(port, "GET", `/v1/wait?index=7&wait=${ms}ms`);
        assert.equal(res.status, 200);
        assert.ok(performance.now() - started >= ms - 2, `a ${ms} ms wait answered early`);
      }),
    );
  });

  it("server - the deadline table pops buckets in order", () => {
    const heap: number[] = [];
    const values = Array.from({ length: 500 }, (_, i) => (i * 7919) % 1009);
    for (const v of values) heapPush(heap, v);
    const popped: number[] = [];
    while (heap.length > 0) popped.push(heapPop(heap) as number);
    assert.deepEqual(
      popped,
      [...values].sort((x, y) => x - y),
    );
  });
});
