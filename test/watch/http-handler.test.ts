import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { HttpHandler } from "../../src/watch/handlers/http-handler.js";
import { verify } from "../../src/watch/signing.js";
import type { HttpHandlerDefinition } from "../../src/watch/types.js";
import { handlerContract, request, type Behaviour } from "./handler-contract.js";
import { httpReceiver, type HttpReceiver } from "./receivers.js";

function def(url: string, over: Partial<HttpHandlerDefinition> = {}): HttpHandlerDefinition {
  return {
    kind: "http",
    key: "k",
    payload: "consul",
    durable: true,
    timeoutMs: 5000,
    url,
    method: "POST",
    header: {},
    tlsSkipVerify: false,
    retry: { initialIntervalMs: 10, maxIntervalMs: 100, maxAttempts: 3, maxAgeMs: 0 },
    ...over,
  };
}

const STATUS: Record<Behaviour, number | "hang"> = {
  ok: 200,
  transient: 503,
  permanent: 400,
  hang: "hang",
};

handlerContract("http handler", async (behaviour, timeoutMs) => {
  const status = STATUS[behaviour];
  const r = await httpReceiver(() => (status === "hang" ? "hang" : { status }));
  return {
    handler: new HttpHandler(def(r.url, { timeoutMs })),
    received: async () =>
      r.requests.map((q) => ({
        body: q.body.toString("utf8"),
        index: String(q.headers["x-consul-index"]),
        eventId: String(q.headers["idempotency-key"]),
      })),
    close: () => r.close(),
  };
});

async function withReceiver(fn: (r: HttpReceiver) => Promise<void>): Promise<void> {
  const r = await httpReceiver();
  try {
    await fn(r);
  } finally {
    await r.close();
  }
}

void test("http handler - Consul's headers, configured headers added, method, Idempotency-Key", () =>
  withReceiver(async (r) => {
    const h = new HttpHandler(
      def(r.url, { method: "PUT", header: { "x-team": ["a", "b"], Authorization: ["Bearer t"] } }),
    );
    assert.equal(
      (await h.deliver(request({ attempt: 2 }), new AbortController().signal)).kind,
      "delivered",
    );
    const q = r.requests[0];
    assert.ok(q);
    assert.equal(q.method, "PUT");
    assert.equal(q.url, "/hook");
    assert.equal(q.headers["content-type"], "application/json");
    assert.equal(q.headers["x-consul-index"], "18446744073709551615");
    assert.equal(q.headers["idempotency-key"], "2f6e1a0c-0000-4000-8000-000000000001");
    assert.equal(q.headers["x-augur-attempt"], "2");
    assert.equal(q.headers["authorization"], "Bearer t");
    assert.deepEqual(
      q.rawHeaders.filter((_, i, a) => i % 2 === 1 && a[i - 1] === "X-Team"),
      ["a", "b"],
    );
    assert.equal(q.body.toString(), '{"Key":"a","Value":"PGI+"}\n');
  }));

void test("http handler - HMAC-SHA256 binds the timestamp, Idempotency-Key, X-Consul-Index, fencing token and body", () =>
  withReceiver(async (r) => {
    const secret = Buffer.from("s3cret");
    const now = 1_700_000_000_123;
    const h = new HttpHandler(def(r.url), { secret, now: () => now });
    await h.deliver(request({ fencingToken: "42" }), new AbortController().signal);
    const q = r.requests[0];
    assert.ok(q);
    const fields = {
      timestamp: String(q.headers["x-augur-timestamp"]),
      idempotencyKey: String(q.headers["idempotency-key"]),
      consulIndex: String(q.headers["x-consul-index"]),
      fencingToken: String(q.headers["x-augur-fencing-token"]),
    };
    const sig = String(q.headers["x-augur-signature"]);
    assert.equal(fields.timestamp, "1700000000");
    assert.equal(fields.fencingToken, "42");
    assert.match(sig, /^sha256=[0-9a-f]{64}$/);
    const ok = (f: typeof fields, body: Buffer | string = q.body, at = now): boolean =>
      verify(secret, f, body, sig, { now: at });
    assert.equal(ok(fields), true);
    assert.equal(verify(Buffer.from("other"), fields, q.body, sig, { now }), false);
    assert.equal(ok({ ...fields, timestamp: "1700000001" }), false, "the timestamp is signed");
    assert.equal(
      ok({ ...fields, idempotencyKey: "forged-key" }),
      false,
      "the Idempotency-Key is signed: a replay cannot dodge dedupe",
    );
    assert.equal(ok({ ...fields, consulIndex: "999999" }), false, "X-Consul-Index is signed");
    assert.equal(ok({ ...fields, fencingToken: "43" }), false, "the fencing token is signed");
    assert.equal(
      ok(fields, Buffer.concat([q.body, Buffer.from(" ")])),
      false,
      "the body is signed",
    );
    assert.equal(ok(fields, q.body, now + 301_000), false, "outside the replay window");
    assert.equal(ok(fields, q.body, now + 299_000), true, "inside the replay window");
  }));

void test("http handler - without a fencing token the signature binds an empty one", () =>
  withReceiver(async (r) => {
    const secret = Buffer.from("s3cret");
    const now = 1_700_000_000_000;
    await new HttpHandler(def(r.url), { secret, now: () => now }).deliver(
      request(),
      new AbortController().signal,
    );
    const q = r.requests[0];
    assert.ok(q);
    assert.equal(q.headers["x-augur-fencing-token"], undefined);
    const fields = {
      timestamp: String(q.headers["x-augur-timestamp"]),
      idempotencyKey: String(q.headers["idempotency-key"]),
      consulIndex: String(q.headers["x-consul-index"]),
    };
    assert.equal(
      verify(secret, fields, q.body, String(q.headers["x-augur-signature"]), { now }),
      true,
    );
    assert.equal(
      verify(
        secret,
        { ...fields, fencingToken: "1" },
        q.body,
        String(q.headers["x-augur-signature"]),
        { now },
      ),
      false,
    );
  }));

void test("http handler - 5xx and 429 retry (Retry-After honoured), other 4xx are permanent", () =>
  withReceiver(async (r) => {
    const h = new HttpHandler(def(r.url));
    const signal = new AbortController().signal;
    r.respond = () => ({ status: 500, body: "boom" });
    const a = await h.deliver(request(), signal);
    assert.deepEqual([a.kind, a.output], ["retry", "boom"]);
    r.respond = () => ({ status: 429, headers: { "Retry-After": "7" } });
    const b = await h.deliver(request(), signal);
    assert.deepEqual([b.kind, b.kind === "retry" && b.retryAfterMs], ["retry", 7000]);
    r.respond = () => ({ status: 404 });
    assert.equal((await h.deliver(request(), signal)).kind, "permanent");
    r.respond = () => ({ status: 302 });
    assert.equal(
      (await h.deliver(request(), signal)).kind,
      "permanent",
      "a 3xx without Location is the answer, as in Go",
    );
  }));

void test("http handler - redirects are followed as Go's http.Client follows them", () =>
  withReceiver(async (r) => {
    const other = await httpReceiver();
    try {
      const h = new HttpHandler(
        def(`http://127.0.0.1:${r.port}/start`, { header: { Authorization: ["Bearer s3cret"] } }),
      );
      const signal = new AbortController().signal;
      // 307 keeps method and body; 308 to another host drops Authorization; 303 turns POST into GET.
      r.respond = (req) =>
        req.url === "/start"
          ? { status: 307, headers: { Location: "/again" } }
          : req.url === "/again"
            ? { status: 308, headers: { Location: `http://localhost:${other.port}/moved` } }
            : { status: 500 };
      other.respond = (req) =>
        req.url === "/moved" ? { status: 303, headers: { Location: "/final" } } : { status: 204 };
      const out = await h.deliver(request({ body: '{"x":1}' }), signal);
      assert.deepEqual(out, { kind: "delivered", output: "" });
      assert.deepEqual(
        r.requests.map((q) => [q.method, q.url, q.body.toString(), q.headers.authorization]),
        [
          ["POST", "/start", '{"x":1}\n', "Bearer s3cret"],
          ["POST", "/again", '{"x":1}\n', "Bearer s3cret"],
        ],
      );
      assert.deepEqual(
        other.requests.map((q) => [
          q.method,
          q.url,
          q.body.toString(),
          q.headers.authorization,
          q.headers["idempotency-key"],
        ]),
        [
          ["POST", "/moved", '{"x":1}\n', undefined, "2f6e1a0c-0000-4000-8000-000000000001"],
          ["GET", "/final", "", undefined, "2f6e1a0c-0000-4000-8000-000000000001"],
        ],
      );

      r.requests.length = 0;
      r.respond = () => ({ status: 302, headers: { Location: "/loop" } });
      const loop = await h.deliver(request(), signal);
      assert.equal(loop.kind, "permanent");
      assert.match(loop.kind === "permanent" ? loop.error : "", /stopped after 10 redirects/);
      assert.equal(r.requests.length, 11, "the first request and 10 redirects");
    } finally {
      await other.close();
    }
  }));

void test("http handler - connection refused is retryable", async () => {
  const srv = createServer();
  srv.listen(0, "127.0.0.1");
  await once(srv, "listening");
  const port = (srv.address() as AddressInfo).port;
  srv.close();
  await once(srv, "close");
  const r = await new HttpHandler(def(`http://127.0.0.1:${port}/x`)).deliver(
    request(),
    new AbortController().signal,
  );
  assert.equal(r.kind, "retry");
  assert.match(r.kind === "retry" ? r.error : "", /ECONNREFUSED/);
});

void test("http handler - a URL that cannot work is permanent", async () => {
  const r = await new HttpHandler(def("ftp://example/x")).deliver(
    request(),
    new AbortController().signal,
  );
  assert.equal(r.kind, "permanent");
});
