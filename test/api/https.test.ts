/**
 * The HTTPS API of a real in-process agent, with certificates made by openssl at test time:
 * the listener answers, verify_incoming demands a client certificate from the CA,
 * tls_min_version and tls_cipher_suites hold, a reload rotates the certificate for new
 * connections without closing the listener, and ports.http = -1 leaves HTTPS only.
 */
import assert from "node:assert/strict";
import { copyFile, mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { request, type RequestOptions } from "node:https";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import type { HttpsTlsConfig } from "../../src/config/tls-config.js";
import type { AgentSettings } from "../../src/main.js";
import { parseWatchDefinition } from "../../src/watch/definition.js";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";
import { until } from "../helpers/until.js";
import { makeTlsMaterial, type TlsMaterial } from "../helpers/tls-material.js";

interface Answer {
  status: number;
  body: string;
  /** The CN of the certificate the agent presented. */
  peer: string;
}

/** One HTTPS request on a fresh connection (no agent: each call makes its own handshake). */
function get(
  url: string,
  path: string,
  tls: Pick<RequestOptions, "ca" | "cert" | "key" | "maxVersion" | "ciphers" | "minVersion">,
  method = "GET",
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method, agent: false, ...tls }, (res) => {
      const peer = String(
        (res.socket as import("node:tls").TLSSocket).getPeerCertificate().subject?.CN ?? "",
      );
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, peer }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

const files = async (m: TlsMaterial) => ({
  ca: await readFile(m.ca.cert),
  cert: await readFile(m.client.cert),
  key: await readFile(m.client.key),
  otherCert: await readFile(m.otherClient.cert),
  otherKey: await readFile(m.otherClient.key),
});

async function httpsAgent(
  m: TlsMaterial,
  tls: Partial<HttpsTlsConfig> = {},
  httpOff = false,
  more: Partial<AgentSettings> = {},
): Promise<{ agent: TestAgent; url: string }> {
  const agent = await startTestAgent({
    ...more,
    ...(httpOff ? { httpAddresses: [] } : {}),
    https: {
      addresses: [{ host: "127.0.0.1", port: 0 }],
      tls: {
        caFile: m.ca.cert,
        certFile: m.server.cert,
        keyFile: m.server.key,
        verifyIncoming: false,
        minVersion: "TLSv1.2",
        ...tls,
      },
    },
  });
  const a = agent.running.httpsAddresses[0];
  assert.ok(a, "no HTTPS address");
  return { agent, url: `https://127.0.0.1:${a.port}` };
}

describe("HTTPS API", () => {
  let m: TlsMaterial;
  let pem: Awaited<ReturnType<typeof files>>;
  before(async () => {
    m = await makeTlsMaterial();
    pem = await files(m);
  });
  after(() => m.cleanup());

  it("https - answers with the agent's certificate; HTTP keeps answering beside it", async () => {
    const { agent, url } = await httpsAgent(m);
    try {
      const res = await get(url, "/v1/status/leader", { ca: pem.ca });
      assert.equal(res.status, 200);
      assert.equal(res.peer, "server.dc1.consul");
      assert.match(res.body, /^"127\.0\.0\.1:8300"$/);
      // A client that does not trust the CA refuses the agent's certificate.
      await assert.rejects(
        get(url, "/v1/status/leader", {}),
        /self[- ]signed|unable to (get|verify)/i,
      );
      assert.equal((await agent.call("GET", "/v1/status/leader")).status, 200);
    } finally {
      await agent.stop();
    }
  });

  it("verify_incoming - no client certificate or one from another CA is refused; the CA's is served", async () => {
    const { agent, url } = await httpsAgent(m, { verifyIncoming: true });
    try {
      await assert.rejects(get(url, "/v1/agent/self", { ca: pem.ca }));
      await assert.rejects(
        get(url, "/v1/agent/self", { ca: pem.ca, cert: pem.otherCert, key: pem.otherKey }),
      );
      const ok = await get(url, "/v1/agent/self", { ca: pem.ca, cert: pem.cert, key: pem.key });
      assert.equal(ok.status, 200);
      assert.equal(
        (JSON.parse(ok.body) as { Config: { NodeName: string } }).Config.NodeName,
        "node1",
      );
    } finally {
      await agent.stop();
    }
  });

  it("ca_path - a directory of PEM files is the CA for client certificates", async () => {
    const cas = join(m.dir, "cas");
    await mkdir(join(cas, "nested"), { recursive: true });
    await copyFile(m.otherCa.cert, join(cas, "a-other.pem"));
    await copyFile(m.ca.cert, join(cas, "nested", "ca.pem"));
    const { agent, url } = await httpsAgent(m, {
      verifyIncoming: true,
      caFile: undefined,
      caPath: cas,
    } as Partial<HttpsTlsConfig>);
    try {
      // Both CAs are trusted, the one in a subdirectory too (Go's filepath.Walk).
      const other = await get(url, "/v1/status/leader", {
        ca: pem.ca,
        cert: pem.otherCert,
        key: pem.otherKey,
      });
      assert.equal(other.status, 200);
      const ok = await get(url, "/v1/status/leader", { ca: pem.ca, cert: pem.cert, key: pem.key });
      assert.equal(ok.status, 200);
    } finally {
      await agent.stop();
    }
  });

  it("tls_min_version tls13 - a TLS 1.2 client is refused, a TLS 1.3 client served", async () => {
    const { agent, url } = await httpsAgent(m, { minVersion: "TLSv1.3" });
    try {
      await assert.rejects(
        get(url, "/v1/status/leader", { ca: pem.ca, maxVersion: "TLSv1.2" }),
        /version|alert/i,
      );
      const ok = await get(url, "/v1/status/leader", { ca: pem.ca, minVersion: "TLSv1.3" });
      assert.equal(ok.status, 200);
    } finally {
      await agent.stop();
    }
  });

  it("tls_cipher_suites - a TLS 1.2 client offering only other suites is refused", async () => {
    const { agent, url } = await httpsAgent(m, {
      ciphers: "ECDHE-ECDSA-AES128-GCM-SHA256",
    });
    try {
      await assert.rejects(
        get(url, "/v1/status/leader", {
          ca: pem.ca,
          maxVersion: "TLSv1.2",
          ciphers: "ECDHE-ECDSA-AES256-GCM-SHA384",
        }),
      );
      const ok = await get(url, "/v1/status/leader", {
        ca: pem.ca,
        maxVersion: "TLSv1.2",
        ciphers: "ECDHE-ECDSA-AES128-GCM-SHA256",
      });
      assert.equal(ok.status, 200);
    } finally {
      await agent.stop();
    }
  });

  it("reload - rotated certificate files reach new connections; the listener stays up", async () => {
    const live = await m.ca.issue("live", { cn: "before-rotation" });
    const { agent, url } = await httpsAgent(m, { certFile: live.cert, keyFile: live.key });
    try {
      assert.equal((await get(url, "/v1/status/leader", { ca: pem.ca })).peer, "before-rotation");
      const next = await m.ca.issue("next", { cn: "after-rotation" });
      await copyFile(next.cert, live.cert);
      await copyFile(next.key, live.key);
      // PUT /v1/agent/reload over the HTTPS listener itself: the agent's reload path.
      assert.equal((await get(url, "/v1/agent/reload", { ca: pem.ca }, "PUT")).status, 200);
      assert.equal((await get(url, "/v1/status/leader", { ca: pem.ca })).peer, "after-rotation");
    } finally {
      await agent.stop();
    }
  });

  it("reload - an unreadable key fails the reload and keeps the old certificate", async () => {
    const live = await m.ca.issue("live2", { cn: "kept" });
    const { agent, url } = await httpsAgent(m, { certFile: live.cert, keyFile: live.key });
    try {
      await copyFile(m.ca.cert, live.key); // a certificate where the key should be
      const res = await get(url, "/v1/agent/reload", { ca: pem.ca }, "PUT");
      assert.equal(res.status, 500);
      assert.match(res.body, /Failed to load cert\/key pair/);
      assert.equal((await get(url, "/v1/status/leader", { ca: pem.ca })).peer, "kept");
    } finally {
      await agent.stop();
    }
  });

  it("ports.http = -1 - HTTPS only: no HTTP listener, the API answers over TLS", async () => {
    const { agent, url } = await httpsAgent(m, {}, true);
    try {
      assert.deepEqual(agent.running.addresses, []);
      assert.equal(agent.url, url);
      const port = Number(new URL(url).port);
      // Plain HTTP to the HTTPS port is not served as an API answer.
      const plain = await new Promise<string>((resolve) => {
        const s = connect(port, "127.0.0.1", () =>
          s.end("GET /v1/status/leader HTTP/1.1\r\nHost: x\r\n\r\n"),
        );
        let got = "";
        s.on("data", (d) => (got += d.toString("latin1")));
        s.on("close", () => resolve(got));
        s.on("error", () => resolve(got));
      });
      assert.doesNotMatch(plain, /HTTP\/1\.1 200/);
      assert.equal((await get(url, "/v1/status/leader", { ca: pem.ca })).status, 200);
    } finally {
      await agent.stop();
    }
  });
});

describe("HTTPS-only agent - its own HTTP client", () => {
  it("a watch naming another datacenter reaches the agent over HTTPS with the agent's certificate", async () => {
    const m = await makeTlsMaterial();
    const pem = await files(m);
    const watch = parseWatchDefinition({
      type: "key",
      key: "remote/k",
      datacenter: "dc2",
      handler_type: "script",
      args: ["true"],
    });
    const { agent, url } = await httpsAgent(m, { verifyIncoming: true }, true, {
      watches: [watch],
    });
    try {
      const client = { ca: pem.ca, cert: pem.cert, key: pem.key };
      // The agent answers its own request (a 500 for the unknown datacenter): the TLS
      // handshake, with its client certificate, succeeded.
      let last = "";
      await until(async () => {
        const res = await get(url, "/v1/agent/watches", client);
        last = (JSON.parse(res.body) as { LastError: string }[])[0]?.LastError ?? "";
        return last !== "";
      }, "the watch's first answer");
      assert.match(last, /datacenter/i);
      assert.doesNotMatch(last, /certificate|self[- ]signed|socket|ECONN/i);
    } finally {
      await agent.stop();
      await m.cleanup();
    }
  });
});
