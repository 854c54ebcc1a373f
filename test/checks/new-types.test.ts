/**
 * The udp, grpc, h2ping and alias check types against real servers on loopback (a grpc-js
 * server with the health service, UDP sockets, node:http2 servers in h2c and TLS with a
 * certificate made at test time), and through a real in-process agent's HTTP API; docker and
 * os_service refused through the API and config files.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createSocket, type Socket } from "node:dgram";
import { once } from "node:events";
import { execFile, execFileSync, spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import {
  createSecureServer,
  createServer as createH2Server,
  type Http2SecureServer,
  type Http2Server,
} from "node:http2";
import { createServer as createTcpServer, type AddressInfo, type Server } from "node:net";
import { tmpdir } from "node:os";
import { promisify } from "node:util";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import type { CheckDefinition, CheckStatus, HealthCheck } from "../../src/catalog/types.js";
import { loadConfig, parseAgentFlags } from "../../src/config/index.js";
import { decodeCheckDefinition, decodeServiceDefinition } from "../../src/config/definitions.js";
import { AUGUR_BIN } from "../helpers/agent-process.js";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";
import { until } from "../helpers/until.js";
import { base, probeOnce } from "./check-helpers.js";

const execFileAsync = promisify(execFile);

const portOf = (s: { address(): unknown }): number => (s.address() as AddressInfo).port;

/** A port nothing listens on: bound once, then closed. */
async function closedUdpPort(): Promise<number> {
  const s = createSocket("udp4");
  s.bind(0, "127.0.0.1");
  await once(s, "listening");
  const port = portOf(s);
  s.close();
  return port;
}

async function closedTcpPort(): Promise<number> {
  const s = createTcpServer().listen(0, "127.0.0.1");
  await once(s, "listening");
  const port = portOf(s);
  await new Promise((r) => s.close(r));
  return port;
}

// ---- the grpc.health.v1 service, encoded here independently of src/checks/grpc-check.ts ----

/**
 * HealthCheckRequest (field 1, length-delimited service; one-byte length is enough here). An
 * object, not the bare string: grpc-js takes a falsy request as no request at all.
 */
function decodeRequest(buf: Buffer): { service: string } {
  if (buf.length === 0) return { service: "" };
  assert.equal(buf[0], 0x0a);
  return { service: buf.subarray(2, 2 + (buf[1] ?? 0)).toString("utf8") };
}
/** HealthCheckResponse{status} (field 1, varint). */
const encodeResponse = (status: number): Buffer =>
  status === 0 ? Buffer.alloc(0) : Buffer.from([0x08, status]);

const SERVING = 1;
const NOT_SERVING = 2;

function healthService(
  statuses: Map<string, number>,
  seen: string[],
): grpc.UntypedServiceImplementation {
  return {
    Check: (
      call: grpc.ServerUnaryCall<{ service: string }, number>,
      callback: grpc.sendUnaryData<number>,
    ): void => {
      seen.push(call.request.service);
      const status = statuses.get(call.request.service);
      if (status === undefined)
        callback({ code: grpc.status.NOT_FOUND, details: "unknown service" }, null);
      else callback(null, status);
    },
  };
}

const HEALTH_DEFINITION: grpc.ServiceDefinition = {
  Check: {
    path: "/grpc.health.v1.Health/Check",
    requestStream: false,
    responseStream: false,
    requestSerialize: (r: { service: string }) => Buffer.from(r.service),
    requestDeserialize: decodeRequest,
    responseSerialize: encodeResponse,
    responseDeserialize: (b: Buffer) => b[1] ?? 0,
  },
};

async function grpcServer(
  statuses: Map<string, number>,
  seen: string[],
  credentials: grpc.ServerCredentials,
): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  server.addService(HEALTH_DEFINITION, healthService(statuses, seen));
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", credentials, (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { server, port };
}

describe("new check types", () => {
  let dir = "";
  let cert: Buffer;
  let key: Buffer;
  const statuses = new Map<string, number>([
    ["", SERVING],
    ["web", SERVING],
  ]);
  const seen: string[] = [];
  let plain: { server: grpc.Server; port: number };
  let secure: { server: grpc.Server; port: number };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "augur-new-checks-"));
    // A self-signed certificate for 127.0.0.1, made now: nothing secret is kept in the tree.
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=IP:127.0.0.1,DNS:localhost",
        "-days",
        "1",
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
      ],
      { stdio: "ignore" },
    );
    cert = await readFile(join(dir, "cert.pem"));
    key = await readFile(join(dir, "key.pem"));
    plain = await grpcServer(statuses, seen, grpc.ServerCredentials.createInsecure());
    secure = await grpcServer(
      statuses,
      seen,
      grpc.ServerCredentials.createSsl(null, [{ private_key: key, cert_chain: cert }]),
    );
  });
  after(async () => {
    plain.server.forceShutdown();
    secure.server.forceShutdown();
    await rm(dir, { recursive: true, force: true });
  });

  // ---- grpc ------------------------------------------------------------------------------------

  describe("grpc", () => {
    const grpcDef = (target: string, over: Record<string, unknown> = {}): CheckDefinition =>
      base({ type: "grpc", grpc: target, ...over });

    it("SERVING is passing, for the whole server and for a named service", async () => {
      const target = `127.0.0.1:${plain.port}`;
      seen.length = 0;
      assert.deepEqual(await probeOnce(grpcDef(target)), {
        status: "passing",
        output: `gRPC check ${target}: success`,
      });
      assert.deepEqual(await probeOnce(grpcDef(`${target}/web`)), {
        status: "passing",
        output: `gRPC check ${target}/web: success`,
      });
      // The request named the service after the slash, and nothing for the whole server.
      assert.deepEqual(seen, ["", "web"]);
    });

    it("NOT_SERVING is critical with Consul's output; SERVING again is passing", async () => {
      const target = `127.0.0.1:${plain.port}/web`;
      statuses.set("web", NOT_SERVING);
      try {
        assert.deepEqual(await probeOnce(grpcDef(target)), {
          status: "critical",
          output: `gRPC ${target} serving status: NOT_SERVING`,
        });
      } finally {
        statuses.set("web", SERVING);
      }
      assert.equal((await probeOnce(grpcDef(target))).status, "passing");
    });

    it("an unknown service is critical with the server's gRPC error", async () => {
      assert.deepEqual(await probeOnce(grpcDef(`127.0.0.1:${plain.port}/nope`)), {
        status: "critical",
        output: "rpc error: code = NotFound desc = unknown service",
      });
    });

    it("a closed port is critical: Unavailable, with Go's dial error", async () => {
      const port = await closedTcpPort();
      assert.deepEqual(await probeOnce(grpcDef(`127.0.0.1:${port}`)), {
        status: "critical",
        output: `rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:${port}: connect: connection refused"`,
      });
    });

    it("an address without a port is critical, as Go's dial refuses it", async () => {
      assert.deepEqual(await probeOnce(grpcDef("127.0.0.1/web")), {
        status: "critical",
        output: `rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp: address 127.0.0.1: missing port in address"`,
      });
    });

    it("grpc_use_tls: passing with tls_skip_verify, critical on an unknown authority", async () => {
      const target = `127.0.0.1:${secure.port}`;
      assert.deepEqual(
        await probeOnce(grpcDef(target, { grpcUseTls: true, tlsSkipVerify: true })),
        {
          status: "passing",
          output: `gRPC check ${target}: success`,
        },
      );
      assert.deepEqual(await probeOnce(grpcDef(target, { grpcUseTls: true })), {
        status: "critical",
        output: `rpc error: code = Unavailable desc = connection error: desc = "transport: authentication handshake failed: tls: failed to verify certificate: x509: certificate signed by unknown authority"`,
      });
      // Cleartext against the TLS port fails rather than passing.
      assert.equal((await probeOnce(grpcDef(target))).status, "critical");
    });

    it("an answer of megabytes is refused at 64 KiB, not buffered", async () => {
      let sent = 0;
      const flood = createH2Server((_req, res) => {
        res.writeHead(200, { "content-type": "application/grpc" });
        // A frame header claiming 16 MiB, then data for as long as the client takes it.
        const head = Buffer.from([0, 1, 0, 0, 0]);
        res.write(head);
        const chunk = Buffer.alloc(64 * 1024);
        const pump = (): void => {
          while (sent < 16 * 1024 * 1024 && !res.destroyed) {
            sent += chunk.length;
            if (!res.write(chunk)) {
              res.once("drain", pump);
              return;
            }
          }
        };
        pump();
      }).listen(0, "127.0.0.1");
      await once(flood, "listening");
      try {
        const result = await probeOnce(grpcDef(`127.0.0.1:${portOf(flood)}`));
        assert.equal(result.status, "critical");
        assert.match(
          result.output,
          /^rpc error: code = ResourceExhausted desc = grpc: received message larger than max/,
        );
        assert.ok(sent < 16 * 1024 * 1024, `the server sent all ${sent} bytes`);
      } finally {
        flood.close();
      }
    });

    it("a server that never answers is critical at the timeout", async () => {
      const silent = createTcpServer(() => undefined).listen(0, "127.0.0.1");
      await once(silent, "listening");
      try {
        assert.deepEqual(
          await probeOnce(grpcDef(`127.0.0.1:${portOf(silent)}`, { timeoutMs: 200 })),
          {
            status: "critical",
            output: "rpc error: code = DeadlineExceeded desc = context deadline exceeded",
          },
        );
      } finally {
        silent.close();
      }
    });
  });

  // ---- udp -------------------------------------------------------------------------------------

  describe("udp", () => {
    let echo: Socket;
    let silent: Socket;
    const received: number[] = [];
    before(async () => {
      echo = createSocket("udp4");
      echo.on("message", (msg, rinfo) => {
        received.push(msg.length);
        echo.send("pong", rinfo.port, rinfo.address);
      });
      silent = createSocket("udp4");
      silent.on("message", (msg) => received.push(msg.length));
      echo.bind(0, "127.0.0.1");
      silent.bind(0, "127.0.0.1");
      await Promise.all([once(echo, "listening"), once(silent, "listening")]);
    });
    after(() => {
      echo.close();
      silent.close();
    });

    it("an answering socket is passing; the probe is an empty datagram", async () => {
      const address = `127.0.0.1:${portOf(echo)}`;
      received.length = 0;
      assert.deepEqual(await probeOnce(base({ type: "udp", udp: address })), {
        status: "passing",
        output: `UDP connect ${address}: Success`,
      });
      assert.deepEqual(received, [0]);
    });

    it("a silent socket is passing once the timeout passes, as Consul's timeout branch", async () => {
      const address = `127.0.0.1:${portOf(silent)}`;
      received.length = 0;
      assert.deepEqual(await probeOnce(base({ type: "udp", udp: address, timeoutMs: 200 })), {
        status: "passing",
        output: `UDP connect ${address}: Success`,
      });
      assert.deepEqual(received, [0]);
    });

    it("a closed port (ICMP port unreachable) is critical with Go's read error", async () => {
      const port = await closedUdpPort();
      const result = await probeOnce(base({ type: "udp", udp: `127.0.0.1:${port}` }));
      assert.equal(result.status, "critical");
      assert.match(
        result.output,
        new RegExp(
          `^read udp 127\\.0\\.0\\.1:\\d+->127\\.0\\.0\\.1:${port}: read: connection refused$`,
        ),
      );
    });

    it("an address without a port is critical, as Go's dial refuses it", async () => {
      assert.deepEqual(await probeOnce(base({ type: "udp", udp: "127.0.0.1" })), {
        status: "critical",
        output: "dial udp: address 127.0.0.1: missing port in address",
      });
    });
  });

  // ---- h2ping ----------------------------------------------------------------------------------

  describe("h2ping", () => {
    let h2c: Http2Server;
    let h2s: Http2SecureServer;
    let http1: Server;
    before(async () => {
      h2c = createH2Server();
      h2s = createSecureServer({ cert, key });
      // Speaks, but not HTTP/2: answers the preface with HTTP/1 and hangs up.
      http1 = createTcpServer((s) => s.end("HTTP/1.1 400 Bad Request\r\n\r\n"));
      h2c.listen(0, "127.0.0.1");
      h2s.listen(0, "127.0.0.1");
      http1.listen(0, "127.0.0.1");
      await Promise.all([once(h2c, "listening"), once(h2s, "listening"), once(http1, "listening")]);
    });
    after(() => {
      h2c.close();
      h2s.close();
      http1.close();
    });
    const h2Def = (address: string, over: Record<string, unknown> = {}): CheckDefinition =>
      base({ type: "h2ping", h2ping: address, h2pingUseTls: true, ...over });

    it("h2c (h2ping_use_tls false): a ping is passing", async () => {
      assert.deepEqual(
        await probeOnce(h2Def(`127.0.0.1:${portOf(h2c)}`, { h2pingUseTls: false })),
        {
          status: "passing",
          output: "HTTP2 ping was successful",
        },
      );
    });

    it("TLS: passing with tls_skip_verify, critical on an unknown authority", async () => {
      const address = `127.0.0.1:${portOf(h2s)}`;
      assert.deepEqual(await probeOnce(h2Def(address, { tlsSkipVerify: true })), {
        status: "passing",
        output: "HTTP2 ping was successful",
      });
      assert.deepEqual(await probeOnce(h2Def(address)), {
        status: "critical",
        output: `Failed to dial to ${address}: tls: failed to verify certificate: x509: certificate signed by unknown authority`,
      });
    });

    it("a closed port and a server that is not HTTP/2 are critical", async () => {
      const port = await closedTcpPort();
      assert.deepEqual(await probeOnce(h2Def(`127.0.0.1:${port}`, { h2pingUseTls: false })), {
        status: "critical",
        output: `Failed to dial to 127.0.0.1:${port}: dial tcp 127.0.0.1:${port}: connect: connection refused`,
      });
      const notH2 = await probeOnce(h2Def(`127.0.0.1:${portOf(http1)}`, { h2pingUseTls: false }));
      assert.equal(notH2.status, "critical");
      assert.match(notH2.output, /^(HTTP2 ping failed|Failed to dial to)/);
    });
  });

  // ---- through the agent -----------------------------------------------------------------------

  describe("through the agent's HTTP API", () => {
    let agent: TestAgent;
    before(async () => (agent = await startTestAgent()));
    after(async () => agent.stop());

    const checks = async (): Promise<Record<string, HealthCheck>> =>
      (await (await agent.call("GET", "/v1/agent/checks")).json()) as Record<string, HealthCheck>;
    const statusOf = async (id: string): Promise<HealthCheck | undefined> => (await checks())[id];
    const put = async (path: string, body: object): Promise<void> => {
      const res = await agent.call("PUT", path, body);
      assert.equal(res.status, 200, await res.text());
    };
    const waitFor = async (id: string, status: CheckStatus, output?: string): Promise<void> =>
      until(
        async () => {
          const c = await statusOf(id);
          return c?.Status === status && (output === undefined || c.Output === output);
        },
        `${id} ${status} ${output ?? ""}`,
      );

    it("grpc, udp and h2ping register in any casing, run, and report Consul's Type and Definition", async () => {
      const udp = createSocket("udp4");
      udp.on("message", (_m, r) => udp.send("ok", r.port, r.address));
      udp.bind(0, "127.0.0.1");
      const h2 = createH2Server().listen(0, "127.0.0.1");
      await Promise.all([once(udp, "listening"), once(h2, "listening")]);
      try {
        await put("/v1/agent/check/register", {
          Name: "g",
          GRPC: `127.0.0.1:${plain.port}/web`,
          GRPCUseTLS: false,
          Interval: "1s",
        });
        await put("/v1/agent/check/register", {
          name: "gs",
          grpc: `127.0.0.1:${secure.port}`,
          grpc_use_tls: true,
          tls_skip_verify: true,
          interval: "1s",
        });
        await put("/v1/agent/check/register", {
          Name: "u",
          UDP: `127.0.0.1:${portOf(udp)}`,
          Interval: "1s",
        });
        await put("/v1/agent/check/register", {
          name: "h",
          h2ping: `127.0.0.1:${portOf(h2)}`,
          h2ping_use_tls: false,
          interval: "1s",
        });
        await put("/v1/agent/check/register", {
          Name: "hs",
          H2PING: `127.0.0.1:${portOf(h2)}`,
          Interval: "1s",
        });
        await waitFor("g", "passing", `gRPC check 127.0.0.1:${plain.port}/web: success`);
        await waitFor("gs", "passing");
        await waitFor("u", "passing", `UDP connect 127.0.0.1:${portOf(udp)}: Success`);
        await waitFor("h", "passing", "HTTP2 ping was successful");
        // h2ping_use_tls defaults to true: TLS against a cleartext server fails.
        await waitFor("hs", "critical");
        const all = await checks();
        assert.equal(all.g?.Type, "grpc");
        assert.equal(all.u?.Type, "udp");
        assert.equal(all.h?.Type, "h2ping");
        assert.deepEqual(all.g?.Definition, {
          GRPC: `127.0.0.1:${plain.port}/web`,
          Interval: "1s",
          Timeout: "10s",
          OutputMaxSize: 4096,
        });
        assert.deepEqual(all.gs?.Definition, {
          TLSSkipVerify: true,
          GRPC: `127.0.0.1:${secure.port}`,
          GRPCUseTLS: true,
          Interval: "1s",
          Timeout: "10s",
          OutputMaxSize: 4096,
        });
        assert.equal(all.u?.Definition.UDP, `127.0.0.1:${portOf(udp)}`);
        assert.equal(all.u?.Definition.TCP, undefined);
        assert.equal(all.h?.Definition.H2PING, `127.0.0.1:${portOf(h2)}`);
        assert.equal(all.h?.Definition.H2PingUseTLS, undefined);
        assert.equal(all.hs?.Definition.H2PingUseTLS, true);
        // The catalog has them too, as the agent synced them.
        await until(async () => {
          const res = await agent.call("GET", "/v1/health/node/node1");
          const list = (await res.json()) as HealthCheck[];
          return list.some((c) => c.CheckID === "g" && c.Status === "passing");
        }, "g passing in the catalog");
      } finally {
        for (const id of ["g", "gs", "u", "h", "hs"])
          await agent.call("PUT", `/v1/agent/check/deregister/${id}`);
        udp.close();
        h2.close();
      }
    });

    it("alias_service mirrors a local service: passing, then critical when it goes critical", async () => {
      await put("/v1/agent/service/register", {
        Name: "web",
        Check: { CheckID: "web-ttl", TTL: "1h" },
      });
      await put("/v1/agent/service/register", {
        Name: "proxy",
        Check: { CheckID: "proxy-alias", alias_service: "web" },
      });
      try {
        const alias = await statusOf("proxy-alias");
        assert.equal(alias?.Type, "alias");
        assert.equal(alias?.Interval, "");
        assert.equal(alias?.Timeout, "");
        assert.deepEqual(alias?.Definition, { AliasService: "web", OutputMaxSize: 4096 });
        // The TTL check starts critical, and so does the alias.
        await waitFor("proxy-alias", "critical", `Aliased check "Service 'web' check" failing: `);
        await put("/v1/agent/check/pass/web-ttl?note=fine", {});
        await waitFor("proxy-alias", "passing", "All checks passing.");
        await put("/v1/agent/check/warn/web-ttl?note=slow", {});
        await waitFor(
          "proxy-alias",
          "warning",
          `Aliased check "Service 'web' check" failing: slow`,
        );
        await put("/v1/agent/check/fail/web-ttl?note=boom", {});
        await waitFor(
          "proxy-alias",
          "critical",
          `Aliased check "Service 'web' check" failing: boom`,
        );
        // Health of the aliasing service follows.
        const res = await agent.call("GET", "/v1/health/service/proxy?passing");
        assert.deepEqual(await res.json(), []);
        await put("/v1/agent/check/pass/web-ttl", {});
        await waitFor("proxy-alias", "passing", "All checks passing.");
        // The aliased service going away is critical, worded as Consul's local alias words it.
        await put("/v1/agent/service/deregister/web", {});
        await waitFor("proxy-alias", "critical", "Service web could not be found on node ");
      } finally {
        await agent.call("PUT", "/v1/agent/service/deregister/proxy");
        await agent.call("PUT", "/v1/agent/service/deregister/web");
      }
    });

    it("an alias never counts itself: a node-level alias of a local service does not latch", async () => {
      await put("/v1/agent/service/register", {
        Name: "db",
        Check: { CheckID: "db-ttl", TTL: "1h" },
      });
      // Node-level: without the guard it would read its own (initially critical) status.
      await put("/v1/agent/check/register", {
        Name: "db alias",
        CheckID: "db-alias",
        AliasService: "db",
      });
      try {
        await waitFor("db-alias", "critical");
        await put("/v1/agent/check/pass/db-ttl", {});
        await waitFor("db-alias", "passing", "All checks passing.");
      } finally {
        await agent.call("PUT", "/v1/agent/check/deregister/db-alias");
        await agent.call("PUT", "/v1/agent/service/deregister/db");
      }
    });

    it("two aliases of each other do not latch critical or feed each other's output", async () => {
      await put("/v1/agent/service/register", {
        Name: "a",
        Checks: [
          { CheckID: "a-ttl", TTL: "1h" },
          { CheckID: "a-alias", AliasService: "b" },
        ],
      });
      await put("/v1/agent/service/register", {
        Name: "b",
        Checks: [
          { CheckID: "b-ttl", TTL: "1h" },
          { CheckID: "b-alias", AliasService: "a" },
        ],
      });
      try {
        await put("/v1/agent/check/pass/b-ttl", {});
        await put("/v1/agent/check/fail/a-ttl?note=down", {});
        await waitFor("b-alias", "critical", `Aliased check "Service 'a' check" failing: down`);
        await waitFor("a-alias", "passing", "All checks passing.");
        await put("/v1/agent/check/pass/a-ttl", {});
        await waitFor("b-alias", "passing", "All checks passing.");
        await waitFor("a-alias", "passing", "All checks passing.");
      } finally {
        await agent.call("PUT", "/v1/agent/service/deregister/a");
        await agent.call("PUT", "/v1/agent/service/deregister/b");
      }
    });

    it("alias_node and alias_service on another node read the catalog", async () => {
      await put("/v1/catalog/register", {
        Node: "ext",
        Address: "10.0.0.9",
        Service: { ID: "api1", Service: "api" },
        Checks: [
          { CheckID: "ext-node", Name: "ext node", Status: "passing" },
          { CheckID: "api-up", Name: "api up", Status: "passing", ServiceID: "api1" },
        ],
      });
      await put("/v1/agent/check/register", {
        Name: "ext api",
        CheckID: "ext-api",
        AliasNode: "ext",
        AliasService: "api1",
      });
      await put("/v1/agent/check/register", { Name: "ext n", CheckID: "ext-n", AliasNode: "ext" });
      await put("/v1/agent/check/register", {
        Name: "ext gone",
        CheckID: "ext-gone",
        AliasNode: "ext",
        AliasService: "nope",
      });
      try {
        await waitFor("ext-api", "passing", "All checks passing.");
        await waitFor("ext-n", "passing", "All checks passing.");
        await waitFor("ext-gone", "critical", "Service nope could not be found on node ext");
        await put("/v1/catalog/register", {
          Node: "ext",
          Address: "10.0.0.9",
          Check: {
            CheckID: "api-up",
            Name: "api up",
            Status: "critical",
            Output: "refused",
            ServiceID: "api1",
          },
        });
        await waitFor("ext-api", "critical", `Aliased check "api up" failing: refused`);
        // The node alias reads node-level checks only: the service's check is not its business.
        assert.equal((await statusOf("ext-n"))?.Status, "passing");
        await put("/v1/catalog/register", {
          Node: "ext",
          Address: "10.0.0.9",
          Check: { CheckID: "ext-node", Name: "ext node", Status: "warning", Output: "disk" },
        });
        await waitFor("ext-n", "warning", `Aliased check "ext node" failing: disk`);
      } finally {
        for (const id of ["ext-api", "ext-n", "ext-gone"])
          await agent.call("PUT", `/v1/agent/check/deregister/${id}`);
        await agent.call("PUT", "/v1/catalog/deregister", { Node: "ext" });
      }
    });

    it("python3-consul registers alias and udp checks (lower-case keys) and reads them back", async () => {
      const udp = createSocket("udp4");
      udp.on("message", (_m, r) => udp.send("ok", r.port, r.address));
      udp.bind(0, "127.0.0.1");
      await once(udp, "listening");
      const script = [
        "import consul, json, sys, time",
        "c = consul.Consul(host='127.0.0.1', port=int(sys.argv[1]))",
        "def wait(cid, status):",
        "    for _ in range(800):",
        "        got = c.agent.checks().get(cid, {})",
        "        if got.get('Status') == status: return got",
        "        time.sleep(0.025)",
        "    raise SystemExit('timed out waiting for %s %s: %r' % (cid, status, got))",
        // A node-level check: an alias counts it, so it passes before the alias is made.
        "c.agent.check.register('pyudp', check={'udp': sys.argv[2], 'interval': '1s'})",
        "u = wait('pyudp', 'passing')",
        "c.agent.service.register('pyweb', check=consul.Check.ttl('1h'))",
        "c.agent.service.register('pyproxy', check={'alias_service': 'pyweb'})",
        "before = wait('service:pyproxy', 'critical')",
        "c.agent.check.ttl_pass('service:pyweb')",
        "after = wait('service:pyproxy', 'passing')",
        "print(json.dumps({'before': before, 'after': after, 'udp': u}))",
      ].join("\n");
      try {
        const port = new URL(agent.url).port;
        // Asynchronously: the agent answering it runs in this process.
        const run = await execFileAsync(
          "/usr/bin/python3",
          ["-c", script, port, `127.0.0.1:${portOf(udp)}`],
          { encoding: "utf8", timeout: 60_000, env: { ...process.env, PYTHONPATH: "" } },
        ).catch((err: { stdout?: string; stderr?: string }) =>
          assert.fail(`python3-consul failed:\n${err.stdout ?? ""}\n${err.stderr ?? ""}`),
        );
        const out = JSON.parse(run.stdout) as Record<string, HealthCheck>;
        assert.equal(out.before?.Type, "alias");
        assert.equal(out.before?.ServiceID, "pyproxy");
        assert.match(out.before?.Output ?? "", /^Aliased check "Service 'pyweb' check" failing: /);
        assert.equal(out.after?.Output, "All checks passing.");
        assert.equal(out.udp?.Type, "udp");
        assert.equal(out.udp?.Output, `UDP connect 127.0.0.1:${portOf(udp)}: Success`);
      } finally {
        udp.close();
        await agent.call("PUT", "/v1/agent/check/deregister/pyudp");
        await agent.call("PUT", "/v1/agent/service/deregister/pyproxy");
        await agent.call("PUT", "/v1/agent/service/deregister/pyweb");
      }
    });

    for (const [what, fields, why] of [
      [
        "docker",
        { DockerContainerID: "abc", Args: ["/bin/true"], Interval: "10s" },
        "Invalid check: docker (DockerContainerID) checks are not supported by augur; use ttl, http, tcp, script (args), udp, grpc, h2ping or alias checks",
      ],
      [
        "os_service",
        { os_service: "sshd", interval: "10s" },
        "Invalid check: os_service (OSService) checks are not supported by augur; use ttl, http, tcp, script (args), udp, grpc, h2ping or alias checks",
      ],
    ] as const) {
      it(`${what} is refused with 400 by check/register and service/register, leaving nothing`, async () => {
        const direct = await agent.call("PUT", "/v1/agent/check/register", {
          Name: what,
          ...fields,
        });
        assert.equal(direct.status, 400);
        assert.equal(await direct.text(), why);
        const embedded = await agent.call("PUT", "/v1/agent/service/register", {
          Name: `svc-${what}`,
          Checks: [{ TTL: "30s" }, fields],
        });
        assert.equal(embedded.status, 400);
        assert.equal(await embedded.text(), why);
        assert.deepEqual(await checks(), {});
        assert.deepEqual(await (await agent.call("GET", "/v1/agent/services")).json(), {});
      });
    }
  });

  // ---- config files ----------------------------------------------------------------------------

  describe("config files", () => {
    it("a docker or os_service check in the agent's config stops it from starting", async () => {
      const os = decodeCheckDefinition(
        { name: "sshd", os_service: "sshd", interval: "10s" },
        { config: true, path: "checks[0]." },
      );
      await assert.rejects(
        startTestAgent({ checks: [os] }),
        /os_service \(OSService\) checks are not supported by augur/,
      );
      const svc = decodeServiceDefinition(
        {
          name: "d",
          checks: [{ docker_container_id: "abc", args: ["/bin/true"], interval: "10s" }],
        },
        { config: true, path: "services[0]." },
      );
      await assert.rejects(
        startTestAgent({ services: [svc], enableScriptChecks: true }),
        /docker \(DockerContainerID\) checks are not supported by augur/,
      );
    });

    it("augur validate refuses os_service and accepts the new types; HCL decodes them", async () => {
      const run = async (name: string, config: object) => {
        const file = join(dir, `${name}.json`);
        await writeFile(file, JSON.stringify({ data_dir: join(dir, "data"), ...config }));
        return spawnSync(process.execPath, [AUGUR_BIN, "validate", file], {
          encoding: "utf8",
          timeout: 10_000,
        });
      };
      const refused = await run("os", {
        checks: [{ name: "s", os_service: "sshd", interval: "10s" }],
      });
      assert.equal(refused.status, 1, refused.stdout);
      assert.match(refused.stderr, /os_service \(OSService\) checks are not supported by augur/);
      const ok = await run("new", {
        services: [
          {
            name: "api",
            checks: [
              { grpc: "127.0.0.1:1/api", grpc_use_tls: true, interval: "10s" },
              { udp: "127.0.0.1:1", interval: "10s" },
              { h2ping: "127.0.0.1:1", h2ping_use_tls: false, interval: "10s" },
              { alias_service: "web" },
            ],
          },
        ],
        checks: [{ name: "n", alias_node: "other" }],
      });
      assert.equal(ok.status, 0, ok.stderr);
      assert.equal(ok.stdout, "Configuration is valid!\n");
      // HCL, as Consul's docs write these checks: decoded with their own fields.
      const hcl = join(dir, "checks.hcl");
      await writeFile(
        hcl,
        [
          `data_dir = "${join(dir, "data")}"`,
          `check { name = "g" grpc = "127.0.0.1:1/api" grpc_use_tls = true tls_skip_verify = true interval = "10s" }`,
          `check { name = "h" h2ping = "127.0.0.1:1" h2ping_use_tls = false interval = "10s" }`,
          `check { name = "hs" h2ping = "127.0.0.1:2" interval = "10s" }`,
          `check { name = "u" udp = "127.0.0.1:1" interval = "10s" timeout = "1s" }`,
          `check { name = "a" alias_node = "n2" alias_service = "web" }`,
        ].join("\n"),
      );
      const { config } = await loadConfig({ flags: parseAgentFlags([]), files: [hcl], dirs: [] });
      const byName = new Map(config.checks.map((c) => [c.name, c]));
      assert.deepEqual([...byName.keys()], ["g", "h", "hs", "u", "a"]);
      assert.deepEqual(
        [...byName.values()].map((c) => c.type),
        ["grpc", "h2ping", "h2ping", "udp", "alias"],
      );
      assert.equal(byName.get("g")?.grpc, "127.0.0.1:1/api");
      assert.equal(byName.get("g")?.grpcUseTls, true);
      assert.equal(byName.get("g")?.tlsSkipVerify, true);
      assert.equal(byName.get("h")?.h2pingUseTls, false);
      assert.equal(byName.get("hs")?.h2pingUseTls, true);
      assert.equal(byName.get("u")?.udp, "127.0.0.1:1");
      assert.equal(byName.get("u")?.timeoutMs, 1000);
      assert.equal(byName.get("a")?.aliasNode, "n2");
      assert.equal(byName.get("a")?.aliasService, "web");
      assert.equal(byName.get("a")?.timeoutMs, undefined);
      for (const c of config.checks) assert.equal(c.tcp, undefined, c.name);
    });
  });
});
