/**
 * Thousands of randomised and malformed requests (fast-check) against a real agent: every one
 * gets an HTTP answer with a status Consul could give, none crashes or wedges the agent, and it
 * keeps serving correct answers afterwards.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { request } from "node:http";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";

const PATHS = [
  "/v1/kv/",
  "/v1/kv/a",
  "/v1/kv/a/b",
  "/v1/txn",
  "/v1/catalog/register",
  "/v1/catalog/deregister",
  "/v1/catalog/nodes",
  "/v1/catalog/services",
  "/v1/catalog/service/",
  "/v1/catalog/node/",
  "/v1/health/service/",
  "/v1/health/state/",
  "/v1/health/checks/",
  "/v1/health/node/",
  "/v1/agent/service/register",
  "/v1/agent/check/register",
  "/v1/agent/services",
  "/v1/agent/checks",
  "/v1/agent/check/pass/",
  "/v1/agent/check/update/",
  "/v1/agent/service/maintenance/",
  "/v1/agent/maintenance",
  "/v1/session/create",
  "/v1/session/info/",
  "/v1/session/renew/",
  "/v1/event/fire/",
  "/v1/event/list",
  "/v1/status/leader",
  "/v1/agent/service/",
  "/v1/agent/service/deregister/",
  "/v1/nope",
  "/v2/x",
  "/",
];
const PARAMS = [
  "index",
  "wait",
  "filter",
  "recurse",
  "keys",
  "separator",
  "raw",
  "cas",
  "flags",
  "acquire",
  "release",
  "passing",
  "tag",
  "node-meta",
  "stale",
  "consistent",
  "dc",
  "enable",
  "reason",
  "note",
  "pretty",
  "name",
  "hash",
  "ns",
];
const ALLOWED = new Set([200, 400, 403, 404, 405, 409, 413, 500]);

const jsonish = fc.oneof(
  fc.json(),
  fc.string(),
  fc.constantFrom(
    "{",
    "[",
    "null",
    '{"Name": 5}',
    '{"Name":"x","Check":{"TTL":"bogus"}}',
    '[{"KV":{"Verb":"nope"}}]',
    '{"Name":"x","Port":"80"}',
    '{"Node":"n","Address":"a","Service":{"Service":"s","Port":-1}}',
  ),
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString("latin1")),
);

const requestArb = fc.record({
  method: fc.constantFrom("GET", "PUT", "DELETE", "POST", "OPTIONS", "PATCH"),
  path: fc
    .tuple(
      fc.constantFrom(...PATHS),
      fc.oneof(fc.constant(""), fc.stringMatching(/^[A-Za-z0-9%/_.:-]{0,16}$/)),
    )
    .map(([p, s]) => p + s),
  query: fc.array(
    fc.tuple(
      fc.constantFrom(...PARAMS),
      fc.oneof(
        fc.string({ maxLength: 12 }),
        fc.constantFrom(
          "1",
          "0",
          "true",
          "10ms",
          "-5",
          "99999999999999999999999",
          "Service.Tags contains",
          "(",
          "a == b",
        ),
      ),
      fc.boolean(),
    ),
    { maxLength: 4 },
  ),
  body: fc.option(jsonish, { nil: undefined }),
});

/** Sends a request with node:http so malformed paths reach the server as written. */
function send(base: URL, method: string, path: string, body: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers = body === undefined ? {} : { "Content-Length": String(Buffer.byteLength(body)) };
    const req = request(
      { host: base.hostname, port: base.port, method, path, headers, timeout: 5000, agent: false },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`timeout: ${method} ${path}`)));
    req.on("error", reject);
    req.end(body);
  });
}

describe("fuzz", () => {
  let a: TestAgent;
  before(async () => (a = await startTestAgent()));
  after(async () => a.stop());

  it("fuzz - random and malformed requests get Consul statuses and never break the agent", async () => {
    const base = new URL(a.url);
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(requestArb, async ({ method, path, query, body }) => {
        const qs = query
          .map(([k, v, bare]) =>
            bare ? encodeURIComponent(k) : `${encodeURIComponent(k)}=${encodeURIComponent(v)}`,
          )
          .join("&");
        // A blocking query would park for its wait; keep them short.
        const safeQs = qs.includes("index=") ? `${qs}&wait=5ms` : qs;
        const target = qs ? `${path}?${safeQs}` : path;
        const status = await send(
          base,
          method,
          target,
          method === "GET" || method === "OPTIONS" ? undefined : body,
        ).catch((err: unknown) => {
          throw new Error(`${method} ${target}: ${String(err)}`);
        });
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        assert.ok(ALLOWED.has(status), `${method} ${target} -> ${status}`);
      }),
      { numRuns: 3000 },
    );
    // Still serving correct answers.
    assert.equal(await (await a.call("PUT", "/v1/kv/after-fuzz", "ok")).text(), "true");
    const [pair] = (await (await a.call("GET", "/v1/kv/after-fuzz")).json()) as { Value: string }[];
    assert.equal(Buffer.from(pair?.Value ?? "", "base64").toString(), "ok");
    assert.equal((await a.call("GET", "/v1/catalog/nodes")).status, 200);
    assert.ok(
      (statuses.get(400) ?? 0) > 0 && (statuses.get(200) ?? 0) > 0,
      JSON.stringify([...statuses]),
    );
    const internal = a.logs.filter((l) => /INTERNAL|TypeError|ReferenceError|Cannot read/.test(l));
    assert.deepEqual(internal, [], "no request hit a bug");
  });
});
