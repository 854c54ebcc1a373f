/**
 * ConsulClient against real loopback servers that misbehave — one that streams a body forever,
 * one that accepts and never answers — and against a real HTTPS agent, with its TLS settings
 * from options and from Consul's environment variables.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from "node:net";
import { once } from "node:events";
import { after, before, describe, it } from "node:test";
import { ConsulClient, DEFAULT_MAX_RESPONSE_BYTES } from "../../src/client/consul-client.js";
import { resolveTls } from "../../src/client/address.js";
import { isAugurError } from "../../src/lib/errors.js";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";
import { makeTlsMaterial, type TlsMaterial } from "../helpers/tls-material.js";

const port = (s: Server | TcpServer): number => (s.address() as { port: number }).port;

describe("ConsulClient - bounds on what an agent can make it hold", () => {
  let endless: Server;
  let silent: TcpServer;
  const sockets = new Set<Socket>();
  before(async () => {
    // Answers 200 and then streams 64 KiB chunks for as long as the client reads.
    endless = createServer((_req, res) => {
      res.writeHead(200, { "Content-Type": "application/json" });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const pump = (): void => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once("drain", pump);
      };
      pump();
    }).listen(0, "127.0.0.1");
    // Accepts connections and never says a word.
    silent = createTcpServer((s) => {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
    }).listen(0, "127.0.0.1");
    await Promise.all([once(endless, "listening"), once(silent, "listening")]);
  });
  after(() => {
    endless.closeAllConnections();
    endless.close();
    for (const s of sockets) s.destroy();
    silent.close();
  });

  it("body cap - a body that never ends fails with REMOTE_ERROR at the cap (default 64 MiB)", async () => {
    assert.equal(DEFAULT_MAX_RESPONSE_BYTES, 64 * 1024 * 1024);
    const client = new ConsulClient({
      address: `127.0.0.1:${port(endless)}`,
      env: {},
      maxResponseBytes: 1024 * 1024,
    });
    await assert.rejects(client.request("GET", "/v1/kv/a"), (err: unknown) => {
      assert.ok(isAugurError(err));
      assert.equal(err.code, "REMOTE_ERROR");
      assert.match(
        err.message,
        /^Get "http:\/\/127\.0\.0\.1:\d+\/v1\/kv\/a": response body larger than 1048576 bytes$/,
      );
      return true;
    });
  });

  it("body cap - a declared Content-Length past the cap is refused before reading", async () => {
    const big = createServer((_req, res) => {
      res.writeHead(200, { "Content-Length": String(10 * 1024 * 1024) });
      res.write("x");
    }).listen(0, "127.0.0.1");
    await once(big, "listening");
    try {
      const client = new ConsulClient({
        address: `127.0.0.1:${port(big)}`,
        env: {},
        maxResponseBytes: 1000,
      });
      await assert.rejects(
        client.request("GET", "/v1/kv/a"),
        /response body larger than 1000 bytes/,
      );
    } finally {
      big.closeAllConnections();
      big.close();
    }
  });

  it("headers timeout - a server that accepts and never answers fails the call with UNREACHABLE", async () => {
    const client = new ConsulClient({
      address: `127.0.0.1:${port(silent)}`,
      env: {},
      headersTimeoutMs: 200,
    });
    await assert.rejects(client.request("GET", "/v1/agent/self"), (err: unknown) => {
      assert.ok(isAugurError(err));
      assert.equal(err.code, "UNREACHABLE");
      assert.match(err.message, /no response headers within 200ms/);
      return true;
    });
  });

  it("headers timeout - a blocking query may be held for its wait plus a margin", async () => {
    // The server holds the blocking query for a while; the headers timeout alone is far
    // shorter, but the query's own 60 s wait (plus wait/16) is what bounds it.
    const holding = createServer((req, res) => {
      setTimeout(() => res.end("[]"), 400);
    }).listen(0, "127.0.0.1");
    await once(holding, "listening");
    try {
      const client = new ConsulClient({
        address: `127.0.0.1:${port(holding)}`,
        env: {},
        headersTimeoutMs: 50,
      });
      const res = await client.request("GET", "/v1/kv/a", { query: { index: "5", wait: "60s" } });
      assert.equal(res.status, 200);
      // The same server without ?index= is a plain read, and 50 ms is all it gets.
      await assert.rejects(client.request("GET", "/v1/kv/a"), /no response headers within 50ms/);
    } finally {
      holding.closeAllConnections();
      holding.close();
    }
  });
});

describe("ConsulClient - TLS settings", () => {
  it("resolveTls - a flag beats AUGUR_* beats CONSUL_*; CONSUL_HTTP_SSL_VERIFY=false skips verification", () => {
    const env = {
      CONSUL_CACERT: "/consul/ca.pem",
      AUGUR_CACERT: "/augur/ca.pem",
      CONSUL_CAPATH: "/consul/cas",
      CONSUL_CLIENT_CERT: "/consul/c.pem",
      CONSUL_CLIENT_KEY: "/consul/c.key",
      CONSUL_TLS_SERVER_NAME: "server.dc1.consul",
      CONSUL_HTTP_SSL_VERIFY: "false",
    };
    assert.deepEqual(resolveTls({ caFile: "/flag/ca.pem", certFile: "" }, env), {
      caFile: "/flag/ca.pem",
      caPath: "/consul/cas",
      certFile: "/consul/c.pem",
      keyFile: "/consul/c.key",
      serverName: "server.dc1.consul",
      insecureSkipVerify: true,
    });
    assert.equal(resolveTls({}, env).caFile, "/augur/ca.pem");
    assert.deepEqual(resolveTls({}, { CONSUL_HTTP_SSL_VERIFY: "true" }), {});
    // Go only logs a value that is not a bool, and keeps verifying.
    assert.deepEqual(resolveTls({}, { CONSUL_HTTP_SSL_VERIFY: "nope" }), {});
  });

  describe("against a real HTTPS agent with verify_incoming", () => {
    let m: TlsMaterial;
    let agent: TestAgent;
    let url: string;
    before(async () => {
      m = await makeTlsMaterial();
      agent = await startTestAgent({
        httpAddresses: [],
        https: {
          addresses: [{ host: "127.0.0.1", port: 0 }],
          tls: {
            caFile: m.ca.cert,
            certFile: m.server.cert,
            keyFile: m.server.key,
            verifyIncoming: true,
            minVersion: "TLSv1.2",
          },
        },
      });
      url = agent.url;
    });
    after(async () => {
      await agent.stop();
      await m.cleanup();
    });

    it("options - CA and client certificate: the typed helpers work over HTTPS", async () => {
      const client = new ConsulClient({
        address: url,
        env: {},
        tls: { caFile: m.ca.cert, certFile: m.client.cert, keyFile: m.client.key },
      });
      assert.equal(await client.kvPut("tls/a", "over-tls"), true);
      assert.equal(
        (await client.kvGet("tls/a"))?.Value,
        Buffer.from("over-tls").toString("base64"),
      );
    });

    it("env - CONSUL_HTTP_ADDR without a scheme, CONSUL_HTTP_SSL, CONSUL_CACERT, CONSUL_CLIENT_CERT/KEY", async () => {
      const client = new ConsulClient({
        env: {
          CONSUL_HTTP_ADDR: url.replace("https://", ""),
          CONSUL_HTTP_SSL: "true",
          CONSUL_CACERT: m.ca.cert,
          CONSUL_CLIENT_CERT: m.client.cert,
          CONSUL_CLIENT_KEY: m.client.key,
        },
      });
      assert.equal(client.address, url);
      assert.equal((await client.request("GET", "/v1/status/leader")).status, 200);
    });

    it("verification - no CA fails; CONSUL_HTTP_SSL_VERIFY=false connects; a wrong server name fails", async () => {
      const pair = { certFile: m.client.cert, keyFile: m.client.key };
      await assert.rejects(
        new ConsulClient({ address: url, env: {}, tls: pair }).request("GET", "/v1/status/leader"),
        (err: unknown) => isAugurError(err) && err.code === "UNREACHABLE",
      );
      const insecure = new ConsulClient({
        address: url,
        env: { CONSUL_HTTP_SSL_VERIFY: "false" },
        tls: pair,
      });
      assert.equal((await insecure.request("GET", "/v1/status/leader")).status, 200);
      await assert.rejects(
        new ConsulClient({
          address: url,
          env: {},
          tls: { ...pair, caFile: m.ca.cert, serverName: "server.dc2.consul" },
        }).request("GET", "/v1/status/leader"),
        /server\.dc2\.consul|altnames/i,
      );
      const named = new ConsulClient({
        address: url,
        env: {},
        tls: { ...pair, caFile: m.ca.cert, serverName: "localhost" },
      });
      assert.equal((await named.request("GET", "/v1/status/leader")).status, 200);
    });

    it("without a client certificate the agent refuses the connection", async () => {
      const client = new ConsulClient({ address: url, env: {}, tls: { caFile: m.ca.cert } });
      await assert.rejects(client.request("GET", "/v1/status/leader"), (err: unknown) => {
        assert.ok(isAugurError(err));
        assert.equal(err.code, "UNREACHABLE");
        return true;
      });
    });

    it("a CA file that cannot be read is CONFIG_INVALID in Consul's words", async () => {
      const client = new ConsulClient({
        address: url,
        env: {},
        tls: { caFile: "/nonexistent/ca.pem" },
      });
      await assert.rejects(client.request("GET", "/v1/status/leader"), (err: unknown) => {
        assert.ok(isAugurError(err));
        assert.equal(err.code, "CONFIG_INVALID");
        assert.equal(
          err.message,
          "Error loading from /nonexistent/ca.pem: open /nonexistent/ca.pem: no such file or directory",
        );
        return true;
      });
    });
  });
});
