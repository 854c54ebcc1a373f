import { getEventListeners } from "node:events";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { ConsulClient, escapePath, UnexpectedResponseError } from "../../src/client/index.js";
import { isAugurError } from "../../src/lib/errors.js";
import { closedPort, json, startServer, type Reply, type TestServer } from "./http-server.js";

void describe("ConsulClient address and token", () => {
  void test("address - explicit beats AUGUR_HTTP_ADDR beats CONSUL_HTTP_ADDR beats the default", () => {
    const env = { AUGUR_HTTP_ADDR: "10.0.0.2:8500", CONSUL_HTTP_ADDR: "10.0.0.3:8500" };
    assert.equal(
      new ConsulClient({ address: "10.0.0.1:1234", env }).address,
      "http://10.0.0.1:1234",
    );
    assert.equal(new ConsulClient({ env }).address, "http://10.0.0.2:8500");
    assert.equal(
      new ConsulClient({ env: { CONSUL_HTTP_ADDR: "10.0.0.3:8500" } }).address,
      "http://10.0.0.3:8500",
    );
    assert.equal(new ConsulClient({ env: {} }).address, "http://127.0.0.1:8500");
  });

  void test("address - empty values count as unset", () => {
    assert.equal(
      new ConsulClient({ address: "", env: { AUGUR_HTTP_ADDR: "", CONSUL_HTTP_ADDR: "h:1" } })
        .address,
      "http://h:1",
    );
  });

  void test("address - accepts a scheme, drops trailing slashes, honours CONSUL_HTTP_SSL", () => {
    assert.equal(new ConsulClient({ address: "http://h:1/", env: {} }).address, "http://h:1");
    assert.equal(new ConsulClient({ address: "https://h:1", env: {} }).address, "https://h:1");
    assert.equal(
      new ConsulClient({ address: "h:1", env: { CONSUL_HTTP_SSL: "true" } }).address,
      "https://h:1",
    );
    assert.equal(
      new ConsulClient({ address: "http://h:1", env: { CONSUL_HTTP_SSL: "true" } }).address,
      "http://h:1",
    );
  });

  void test("address - an unknown scheme is CONFIG_INVALID with Consul's wording", () => {
    assert.throws(
      () => new ConsulClient({ address: "ftp://h:1", env: {} }),
      (err: unknown) =>
        isAugurError(err, "CONFIG_INVALID") && err.message === "Unknown protocol scheme: ftp",
    );
  });

  void describe("token header", () => {
    let server: TestServer;
    before(async () => (server = await startServer(() => json({}))));
    after(() => server.close());

    const tokenSent = async (options: {
      token?: string;
      env: NodeJS.ProcessEnv;
    }): Promise<string | string[] | undefined> => {
      await new ConsulClient({ address: server.address, ...options }).request(
        "GET",
        "/v1/agent/self",
      );
      return server.requests.at(-1)?.headers["x-consul-token"];
    };

    void test("token - explicit beats AUGUR_HTTP_TOKEN beats CONSUL_HTTP_TOKEN, sent as X-Consul-Token", async () => {
      const env = { AUGUR_HTTP_TOKEN: "augur-t", CONSUL_HTTP_TOKEN: "consul-t" };
      assert.equal(await tokenSent({ token: "flag-t", env }), "flag-t");
      assert.equal(await tokenSent({ env }), "augur-t");
      assert.equal(await tokenSent({ env: { CONSUL_HTTP_TOKEN: "consul-t" } }), "consul-t");
    });

    void test("token - no header without a token", async () => {
      assert.equal(await tokenSent({ env: {} }), undefined);
    });
  });
});

void describe("ConsulClient.request", () => {
  let server: TestServer;
  let reply: (url: string) => Reply = () => json({});
  before(async () => (server = await startServer((req) => reply(req.url))));
  after(() => server.close());
  const client = (): ConsulClient => new ConsulClient({ address: server.address, env: {} });

  void test("index - X-Consul-Index is parsed; absent or malformed is undefined", async () => {
    reply = () => json([], { "X-Consul-Index": "42" });
    assert.equal((await client().request("GET", "/v1/catalog/nodes")).index, 42);
    reply = () => json([]);
    assert.equal((await client().request("GET", "/v1/catalog/nodes")).index, undefined);
    reply = () => json([], { "X-Consul-Index": "abc" });
    assert.equal((await client().request("GET", "/v1/catalog/nodes")).index, undefined);
  });

  void test("request - non-2xx is returned, not thrown", async () => {
    reply = () => ({ status: 500, body: "No path to datacenter" });
    const res = await client().request("GET", "/v1/catalog/nodes", { query: { dc: "nope" } });
    assert.equal(res.status, 500);
    assert.equal(res.text(), "No path to datacenter");
  });

  void test("request - query values: arrays repeat, undefined is skipped, empty sends the bare key", async () => {
    reply = () => json([]);
    await client().request("GET", "/v1/kv/a", {
      query: { recurse: "", "node-meta": ["a:1", "b:2"], dc: undefined, filter: 'x == "y"' },
    });
    assert.equal(
      server.requests.at(-1)?.url,
      "/v1/kv/a?recurse&node-meta=a%3A1&node-meta=b%3A2&filter=x%20%3D%3D%20%22y%22",
    );
  });

  void test("request - the body is sent byte for byte", async () => {
    reply = () => json(true);
    const bytes = new Uint8Array([0, 255, 10, 13]);
    await client().request("PUT", "/v1/kv/bin", { body: bytes });
    assert.deepEqual([...(server.requests.at(-1)?.body ?? [])], [0, 255, 10, 13]);
  });

  void test("request - connection refused throws a retryable UNREACHABLE error naming the URL and the cause", async () => {
    const port = await closedPort();
    const c = new ConsulClient({ address: `127.0.0.1:${port}`, env: {} });
    await assert.rejects(c.request("GET", "/v1/agent/self"), (err: unknown) => {
      assert.ok(isAugurError(err, "UNREACHABLE") && err.retryable);
      assert.match(
        err.message,
        new RegExp(`^Get "http://127.0.0.1:${port}/v1/agent/self": .*ECONNREFUSED`),
      );
      return true;
    });
  });

  void test("request - a timeout throws and says so", async () => {
    reply = () => ({ ...json({}), delayMs: 1000 });
    await assert.rejects(
      client().request("GET", "/v1/agent/self", { timeoutMs: 100 }),
      /timed out after 100ms/,
    );
  });

  void test("request - a long-lived signal gains no listeners across requests (watch loops reuse one)", async () => {
    reply = () => json({});
    const ac = new AbortController();
    for (let i = 0; i < 5; i++)
      await client().request("GET", "/v1/agent/self", { signal: ac.signal, timeoutMs: 5000 });
    assert.equal(getEventListeners(ac.signal, "abort").length, 0);
  });

  void test("request - an aborted signal throws 'request aborted'", async () => {
    reply = () => ({ ...json({}), delayMs: 1000 });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    await assert.rejects(
      client().request("GET", "/v1/agent/self", { signal: ac.signal }),
      /request aborted/,
    );
  });
});

void describe("ConsulClient typed helpers", () => {
  let server: TestServer;
  let reply: (method: string, url: string) => Reply = () => json({});
  before(async () => (server = await startServer((req) => reply(req.method, req.url))));
  after(() => server.close());
  const client = (): ConsulClient => new ConsulClient({ address: server.address, env: {} });

  void test("kvGet - 404 is undefined; a pair comes back as Consul sent it", async () => {
    reply = () => ({ status: 404 });
    assert.equal(await client().kvGet("missing"), undefined);
    const pair = {
      Key: "a/b",
      Value: Buffer.from("v").toString("base64"),
      Flags: 3,
      LockIndex: 0,
      CreateIndex: 5,
      ModifyIndex: 6,
    };
    reply = () => json([pair]);
    assert.deepEqual(await client().kvGet("a/b"), pair);
  });

  void test("kvPut - flags only when non-zero, cas as given, key segments escaped", async () => {
    reply = () => json(true);
    assert.equal(await client().kvPut("a b/c?d", "v", { flags: 0 }), true);
    assert.equal(server.requests.at(-1)?.url, "/v1/kv/a%20b/c%3Fd");
    await client().kvPut("k", "v", { flags: "18446744073709551615", cas: 0 });
    assert.equal(server.requests.at(-1)?.url, "/v1/kv/k?flags=18446744073709551615&cas=0");
    reply = () => json(false);
    assert.equal(await client().kvPut("k", "v", { cas: 9 }), false);
  });

  void test("kvDelete - recurse and cas parameters; false when the cas fails", async () => {
    reply = () => json(true);
    assert.equal(await client().kvDelete("p", { recurse: true }), true);
    assert.equal(server.requests.at(-1)?.url, "/v1/kv/p?recurse");
    reply = () => json(false);
    assert.equal(await client().kvDelete("k", { cas: 4 }), false);
    assert.equal(server.requests.at(-1)?.method, "DELETE");
  });

  void test("helpers - non-2xx throws UnexpectedResponseError with the status and Consul's wording", async () => {
    reply = () => ({ status: 400, body: "Missing service name\n" });
    await assert.rejects(client().agentServiceRegister({ Name: "" }), (err: unknown) => {
      assert.ok(err instanceof UnexpectedResponseError);
      assert.equal(err.status, 400);
      assert.equal(err.code, "BAD_REQUEST");
      assert.equal(err.responseText, "Missing service name");
      assert.equal(err.message, "Unexpected response code: 400 (Missing service name)");
      return true;
    });
  });

  void test("helpers - a server's trouble (5xx, 429, a body that is not JSON) is a retryable REMOTE_ERROR, never INTERNAL", async () => {
    for (const status of [500, 502, 429]) {
      reply = () => ({ status, body: "No cluster leader\n" });
      await assert.rejects(
        client().agentServiceRegister({ Name: "web" }),
        (err: unknown) =>
          isAugurError(err, "REMOTE_ERROR") && err.retryable && err.status === status,
      );
    }
    reply = () => ({ status: 401, body: "ACL support disabled\n" });
    await assert.rejects(client().agentServiceRegister({ Name: "web" }), (err: unknown) =>
      isAugurError(err, "PERMISSION_DENIED"),
    );
    reply = () => ({ status: 200, body: "<html>not consul</html>" });
    await assert.rejects(
      client().catalogNodes({}),
      (err: unknown) => isAugurError(err, "REMOTE_ERROR") && err.retryable,
    );
  });

  void test("catalogNodes - node-meta and filter go on the query", async () => {
    reply = () => json([{ Node: "n1" }]);
    const nodes = await client().catalogNodes({
      nodeMeta: { rack: "r1" },
      filter: "Node == n1",
      stale: true,
    });
    assert.equal(nodes[0]?.Node, "n1");
    assert.equal(
      server.requests.at(-1)?.url,
      "/v1/catalog/nodes?stale&filter=Node%20%3D%3D%20n1&node-meta=rack%3Ar1",
    );
  });

  void test("eventFire - PUT with filters and the payload as the body", async () => {
    reply = () => json({ ID: "e1", Name: "deploy" });
    const ev = await client().eventFire("deploy", "v1", { service: "web", tag: "blue" });
    assert.equal(ev.ID, "e1");
    const req = server.requests.at(-1);
    assert.equal(req?.method, "PUT");
    assert.equal(req?.url, "/v1/event/fire/deploy?service=web&tag=blue");
    assert.equal(req?.body.toString(), "v1");
  });

  void test("maintenance - node and service toggles", async () => {
    reply = () => ({ status: 200 });
    await client().maintenance(true, "because");
    assert.equal(server.requests.at(-1)?.url, "/v1/agent/maintenance?enable=true&reason=because");
    await client().serviceMaintenance("web", false);
    assert.equal(server.requests.at(-1)?.url, "/v1/agent/service/maintenance/web?enable=false");
  });

  void test("escapePath - keeps slashes, escapes everything else", () => {
    assert.equal(escapePath("a/b c/%"), "a/b%20c/%25");
  });
});
