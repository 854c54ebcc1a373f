/**
 * A fuzzed token never grants access and never crashes the agent: random bytes and lengths,
 * near-misses of a real secret, header injection attempts and a megabyte header, sent as raw
 * HTTP so nothing in a client cleans them up first.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { randomBytes } from "node:crypto";
import { aclDenyByDefault, startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";

const MANAGEMENT = "3a3b3c3d-3333-4333-8333-33333333abcd";

/** One raw request; resolves to the status code, or 0 when the agent closed without answering. */
function raw(port: number, head: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", () => undefined);
    socket.on("close", () => {
      const text = Buffer.concat(chunks).toString("latin1");
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      resolve({ status: m ? Number(m[1]) : 0, body: text.slice(text.indexOf("\r\n\r\n") + 4) });
    });
    socket.end(head);
  });
}

const request = (token: Buffer, path = "/v1/kv/secret"): Buffer =>
  Buffer.concat([
    Buffer.from(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Consul-Token: `),
    token,
    Buffer.from("\r\n\r\n"),
  ]);

void describe("ACL token fuzzing", () => {
  let a: TestAgent;
  let port = 0;
  before(async () => {
    a = await startTestAgent({
      acl: aclDenyByDefault(MANAGEMENT),
    });
    port = Number(new URL(a.url).port);
    const put = await a.call("PUT", "/v1/kv/secret", "s3cr3t", { "X-Consul-Token": MANAGEMENT });
    assert.equal(put.status, 200);
  });
  after(() => a.stop());

  const assertNoAccess = (r: { status: number; body: string }, what: string): void => {
    assert.notEqual(r.status, 200, `${what} was let in`);
    assert.ok(!r.body.includes("czNjcjN0"), `${what} saw the value`);
  };

  void it("fuzz - random bytes of random lengths never read a protected key", async () => {
    for (let i = 0; i < 300; i++) {
      const token = randomBytes(1 + Math.floor(Math.random() * 200)).filter(
        (b) => b !== 0x0d && b !== 0x0a,
      );
      assertNoAccess(await raw(port, request(Buffer.from(token))), `random token ${i}`);
    }
  });

  void it("fuzz - near misses of the management secret are refused as ACL not found", async () => {
    const near = [
      MANAGEMENT.toUpperCase(),
      MANAGEMENT.slice(0, -1),
      `${MANAGEMENT}0`,
      ` ${MANAGEMENT}x`,
      MANAGEMENT.replace(/d$/, "e"),
      `${MANAGEMENT}\t`.slice(1),
      "anonymous ",
      "ANONYMOUS",
    ];
    for (const t of near) {
      const r = await raw(port, request(Buffer.from(t)));
      assertNoAccess(r, JSON.stringify(t));
      assert.equal(r.status, 403, JSON.stringify(t));
    }
  });

  void it("fuzz - header injection and smuggling attempts grant nothing", async () => {
    const attempts = [
      `x\r\nX-Consul-Token: ${MANAGEMENT}`,
      `x\nX-Consul-Token: ${MANAGEMENT}`,
      `x\rX-Consul-Token: ${MANAGEMENT}`,
      `\u0000${MANAGEMENT}`,
    ];
    for (const t of attempts)
      assertNoAccess(await raw(port, request(Buffer.from(t, "latin1"))), JSON.stringify(t));
    // A second X-Consul-Token header: the first one is the one read, as Go's Header.Get does.
    const twice = Buffer.from(
      `GET /v1/kv/secret HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Consul-Token: nope\r\nX-Consul-Token: ${MANAGEMENT}\r\n\r\n`,
    );
    assertNoAccess(await raw(port, twice), "a second header");
    const bearer = Buffer.from(
      `GET /v1/kv/secret HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Basic ${MANAGEMENT}\r\n\r\n`,
    );
    assertNoAccess(await raw(port, bearer), "Basic instead of Bearer");
  });

  void it("fuzz - a megabyte token header is refused before it is looked up; the agent serves on", async () => {
    const r = await raw(port, request(Buffer.alloc(1 << 20, 0x61)));
    assert.ok(r.status === 431 || r.status === 0, `status ${r.status}`);
    const ok = await a.call("GET", "/v1/kv/secret", undefined, { "X-Consul-Token": MANAGEMENT });
    assert.equal(ok.status, 200);
  });

  void it("fuzz - the token in the query string, header and bearer all resolve the same way", async () => {
    const q = await a.call("GET", `/v1/kv/secret?token=${MANAGEMENT}`);
    assert.equal(q.status, 200);
    const bearer = await a.call("GET", "/v1/kv/secret", undefined, {
      Authorization: `Bearer ${MANAGEMENT}`,
    });
    assert.equal(bearer.status, 200);
    const wrong = await a.call("GET", "/v1/kv/secret?token=nope", undefined, {
      "X-Consul-Token": MANAGEMENT,
    });
    assert.equal(wrong.status, 403, "?token= wins, as in Consul");
  });
});
