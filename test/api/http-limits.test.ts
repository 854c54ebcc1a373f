/**
 * What one client can hold: `limits.http_max_conns_per_client` (429 beyond it, in Consul's
 * words), `http_config.read_header_timeout` / `read_timeout` for clients that send a request
 * slowly or not at all, and the proof that a received blocking query is not cut off by them.
 * Clients that go away are not the agent's problem and are not logged.
 *
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TOO_MANY_CONNS } from "../../src/api/conn-limit.js";
import { loadConfig, parseAgentFlags } from "../../src/config/index.js";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";

interface RawClient {
  readonly socket: Socket;
  /** Everything received so far. */
  received(): string;
  /** Resolves once the server has closed the connection (or after `ms`, with false). */
  closed(ms: number): Promise<boolean>;
  /** Sends a request and resolves with the next complete response (status line and body). */
  request(text: string): Promise<{ status: number; body: string }>;
}

async function rawClient(a: TestAgent): Promise<RawClient> {
  const { hostname, port } = new URL(a.url);
  const socket = connect({ host: hostname, port: Number(port) });
  socket.on("error", () => undefined);
  await once(socket, "connect");
  let buf = "";
  let consumed = 0;
  let onData: (() => void) | undefined;
  socket.setEncoding("utf8").on("data", (d: string) => {
    buf += d;
    onData?.();
  });
  const ended = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  return {
    socket,
    received: () => buf,
    closed: (ms) =>
      Promise.race([
        ended.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), ms)),
      ]),
    request: (text) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no response; received: ${JSON.stringify(buf.slice(consumed))}`)),
          5000,
        );
        onData = () => {
          const rest = buf.slice(consumed);
          const head = rest.indexOf("\r\n\r\n");
          if (head < 0) return;
          const length = Number(/content-length: (\d+)/i.exec(rest.slice(0, head))?.[1] ?? 0);
          if (rest.length < head + 4 + length) return;
          consumed += head + 4 + length;
          clearTimeout(timer);
          onData = undefined;
          resolve({
            status: Number(rest.slice(9, 12)),
            body: rest.slice(head + 4, head + 4 + length),
          });
        };
        socket.write(text);
        onData();
      }),
  };
}

const GET_LEADER = "GET /v1/status/leader HTTP/1.1\r\nHost: augur\r\n\r\n";

async function eventually(cond: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

void test(
  "limits - a client over http_max_conns_per_client gets Consul's 429 and is closed; its other connections keep working; closing frees a slot",
  { timeout: 30_000 },
  async () => {
    const a = await startTestAgent({ http: { maxConnsPerClient: 5 } });
    const clients: RawClient[] = [];
    try {
      for (let i = 0; i < 5; i++) {
        const c = await rawClient(a);
        clients.push(c);
        assert.equal((await c.request(GET_LEADER)).status, 200);
      }
      const sixth = await rawClient(a);
      sixth.socket.write(GET_LEADER);
      assert.equal(await sixth.closed(5000), true, "the connection over the limit is closed");
      assert.match(sixth.received(), /^HTTP\/1\.1 429 Too Many Requests\r\n/);
      assert.ok(sixth.received().endsWith(`\r\n\r\n${TOO_MANY_CONNS}`), sixth.received());
      // The five admitted keep-alive connections still answer.
      for (const c of clients) assert.equal((await c.request(GET_LEADER)).status, 200);
      // One closes: a new connection is admitted again.
      clients.shift()?.socket.destroy();
      await eventually(async () => {
        const c = await rawClient(a);
        c.socket.write(GET_LEADER);
        const ok = await c
          .closed(300)
          .then((closed) => !closed && c.received().startsWith("HTTP/1.1 200"));
        if (ok) clients.push(c);
        else c.socket.destroy();
        return ok;
      }, 5000);
      // fetch (undici keep-alive) sees the same 429 once the limit is full again.
      const res = await a.call("GET", "/v1/status/leader");
      assert.equal(res.status, 429);
      assert.equal(await res.text(), TOO_MANY_CONNS);
    } finally {
      for (const c of clients) c.socket.destroy();
      await a.stop();
    }
  },
);

void test(
  "limits - by default (Consul's 200) the 201st connection from 127.0.0.1 is refused",
  { timeout: 60_000 },
  async () => {
    const a = await startTestAgent();
    const clients: RawClient[] = [];
    try {
      for (let i = 0; i < 200; i++) clients.push(await rawClient(a));
      const answers = await Promise.all(clients.map((c) => c.request(GET_LEADER)));
      assert.deepEqual(new Set(answers.map((r) => r.status)), new Set([200]));
      const extra = await rawClient(a);
      extra.socket.write(GET_LEADER);
      assert.equal(await extra.closed(5000), true);
      assert.match(extra.received(), /^HTTP\/1\.1 429 /);
    } finally {
      for (const c of clients) c.socket.destroy();
      await a.stop();
    }
  },
);

void test(
  "limits - a client that stops sending headers is closed after read_header_timeout",
  { timeout: 30_000 },
  async () => {
    const a = await startTestAgent({ http: { readHeaderTimeoutMs: 300, readTimeoutMs: 600 } });
    try {
      const c = await rawClient(a);
      const started = Date.now();
      c.socket.write("GET /v1/status/leader HTTP/1.1\r\nHost: augur\r\n");
      assert.equal(await c.closed(5000), true, "closed within 5 s");
      const took = Date.now() - started;
      assert.ok(took >= 250, `closed after ${took} ms, before the timeout`);
      assert.match(c.received(), /^HTTP\/1\.1 408 Request Timeout\r\n/);
      console.log(`header timeout 300 ms: closed after ${took} ms`);
    } finally {
      await a.stop();
    }
  },
);

void test(
  "limits - a client that trickles its body is answered 408 and closed after read_timeout; nothing is written",
  { timeout: 30_000 },
  async () => {
    const a = await startTestAgent({ http: { readHeaderTimeoutMs: 300, readTimeoutMs: 600 } });
    try {
      const c = await rawClient(a);
      const started = Date.now();
      c.socket.write("PUT /v1/kv/slow HTTP/1.1\r\nHost: augur\r\nContent-Length: 100\r\n\r\nab");
      const trickle = setInterval(() => c.socket.writable && c.socket.write("x"), 100);
      const closed = await c.closed(5000);
      clearInterval(trickle);
      const took = Date.now() - started;
      assert.equal(closed, true, "closed within 5 s");
      assert.match(c.received(), /^HTTP\/1\.1 408 Request Timeout\r\n/);
      assert.ok(took >= 500, `closed after ${took} ms, before the timeout`);
      console.log(`read timeout 600 ms: trickling client closed after ${took} ms`);
      assert.equal((await a.call("GET", "/v1/kv/slow")).status, 404);
      // The agent still serves everyone else.
      assert.equal((await a.call("GET", "/v1/status/leader")).status, 200);
    } finally {
      await a.stop();
    }
  },
);

void test(
  "limits - a 2 s blocking query is not cut off by a 300 ms read timeout",
  { timeout: 30_000 },
  async () => {
    const a = await startTestAgent({ http: { readHeaderTimeoutMs: 200, readTimeoutMs: 300 } });
    try {
      await a.call("PUT", "/v1/kv/k", "v");
      const index = (await a.call("GET", "/v1/kv/k")).headers.get("x-consul-index");
      const started = Date.now();
      const res = await a.call("GET", `/v1/kv/k?index=${index}&wait=2s`);
      const took = Date.now() - started;
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("x-consul-index"), index);
      assert.ok(took >= 1900, `returned after ${took} ms`);
      // A blocking query that a change releases works the same.
      const parked = a.call("GET", `/v1/kv/k?index=${index}&wait=5s`);
      await new Promise((r) => setTimeout(r, 1000));
      await a.call("PUT", "/v1/kv/k", "v2");
      const woken = await parked;
      assert.equal(woken.status, 200);
      assert.notEqual(woken.headers.get("x-consul-index"), index);
    } finally {
      await a.stop();
    }
  },
);

void test("limits - limits and http_config are read from HCL and JSON config files", async () => {
  const dir = await mkdtemp(join(tmpdir(), "augur-limits-"));
  try {
    const hcl = join(dir, "a.hcl");
    await writeFile(
      hcl,
      'limits {\n  http_max_conns_per_client = 7\n  rpc_max_conns_per_client = 3\n}\nhttp_config {\n  read_timeout = "45s"\n  read_header_timeout = "2s"\n}\n',
    );
    const { config, notices } = await loadConfig({
      flags: parseAgentFlags(["-dev"]),
      files: [hcl],
      dirs: [],
    });
    assert.deepEqual(config.http, {
      maxConnsPerClient: 7,
      readTimeoutMs: 45_000,
      readHeaderTimeoutMs: 2000,
    });
    assert.ok(
      notices.some((n) => n.includes('"limits.rpc_max_conns_per_client"')),
      notices.join("\n"),
    );
    const json = join(dir, "b.json");
    await writeFile(json, JSON.stringify({ limits: { http_max_conns_per_client: 0 } }));
    assert.deepEqual(
      (await loadConfig({ flags: parseAgentFlags(["-dev"]), files: [json], dirs: [] })).config.http,
      { maxConnsPerClient: 0 },
    );
    await writeFile(json, JSON.stringify({ limits: { http_max_conns_per_client: "many" } }));
    await assert.rejects(
      loadConfig({ flags: parseAgentFlags(["-dev"]), files: [json], dirs: [] }),
      /limits\.http_max_conns_per_client: expected a non-negative integer/,
    );
    await writeFile(json, JSON.stringify({ http_config: { read_timeout: 5 } }));
    await assert.rejects(
      loadConfig({ flags: parseAgentFlags(["-dev"]), files: [json], dirs: [] }),
      /http_config\.read_timeout: expected a duration/,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

void test("http_config.response_headers - sent on every answer (a handler's own headers win); bad names and values refuse the config", async () => {
  const dir = await mkdtemp(join(tmpdir(), "augur-resp-headers-"));
  try {
    const ok = join(dir, "ok.hcl");
    await writeFile(
      ok,
      'http_config {\n  response_headers {\n    "Access-Control-Allow-Origin" = "*"\n    "X-Consul-Index" = "999"\n  }\n}\n',
    );
    const { config } = await loadConfig({
      flags: parseAgentFlags(["-dev"]),
      files: [ok],
      dirs: [],
    });
    assert.deepEqual(config.http.responseHeaders, {
      "Access-Control-Allow-Origin": "*",
      "X-Consul-Index": "999",
    });
    for (const [name, body] of [
      ["name.json", { http_config: { response_headers: { "Bad Header": "x" } } }],
      ["value.json", { http_config: { response_headers: { "X-Ok": "a\r\nInjected: 1" } } }],
      ["type.json", { http_config: { response_headers: ["x"] } }],
    ] as const) {
      const f = join(dir, name);
      await writeFile(f, JSON.stringify(body));
      await assert.rejects(
        loadConfig({ flags: parseAgentFlags(["-dev"]), files: [f], dirs: [] }),
        /response_headers/,
      );
    }
    const a = await startTestAgent({ http: config.http });
    try {
      assert.equal((await a.call("PUT", "/v1/kv/h", "v")).status, 200);
      const read = await a.call("GET", "/v1/kv/h");
      assert.equal(read.headers.get("access-control-allow-origin"), "*");
      assert.notEqual(read.headers.get("x-consul-index"), "999", "the read's own index wins");
      const missing = await a.call("GET", "/v1/nope");
      assert.equal(missing.status, 404);
      assert.equal(
        missing.headers.get("access-control-allow-origin"),
        "*",
        "error answers carry them too",
      );
    } finally {
      await a.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

void test("default_query_time / max_query_time - a blocking query waits the default without ?wait and never longer than the max", async () => {
  const dir = await mkdtemp(join(tmpdir(), "augur-query-time-"));
  try {
    const f = join(dir, "q.json");
    await writeFile(f, JSON.stringify({ default_query_time: "300ms", max_query_time: "600ms" }));
    const { config } = await loadConfig({ flags: parseAgentFlags(["-dev"]), files: [f], dirs: [] });
    assert.deepEqual(config.queryTimes, { defaultMs: 300, maxMs: 600 });
    const bad = join(dir, "bad.json");
    await writeFile(bad, JSON.stringify({ max_query_time: "0s" }));
    await assert.rejects(
      loadConfig({ flags: parseAgentFlags(["-dev"]), files: [bad], dirs: [] }),
      /max_query_time: expected a positive duration/,
    );
    const a = await startTestAgent({ queryTimes: { defaultMs: 300, maxMs: 600 } });
    try {
      assert.equal((await a.call("PUT", "/v1/kv/q", "v")).status, 200);
      const index = (await a.call("GET", "/v1/kv/q")).headers.get("x-consul-index");
      const timed = async (query: string): Promise<number> => {
        const t0 = performance.now();
        const res = await a.call("GET", `/v1/kv/q?index=${index}${query}`);
        assert.equal(res.headers.get("x-consul-index"), index);
        return performance.now() - t0;
      };
      const byDefault = await timed("");
      assert.ok(
        byDefault >= 290,
        `waited ${byDefault.toFixed(0)} ms without ?wait (default 300 ms)`,
      );
      // Capped: a 10-minute ask ends after the 600 ms maximum (plus up to 1/16 jitter), not 10 minutes.
      const capped = await timed("&wait=10m");
      assert.ok(
        capped >= 590 && capped < 5_000,
        `waited ${capped.toFixed(0)} ms for ?wait=10m (max 600 ms)`,
      );
    } finally {
      await a.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
