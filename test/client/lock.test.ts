/**
 * The client's Lock and Semaphore (Consul's api.Lock and api.Semaphore) against a real agent in
 * this process, seen through a recording HTTP proxy: session renewal keeps a lock past its
 * session's lifetime, unlock/release and destroy leave nothing behind, and a lock taken away
 * (key deleted, holder's session destroyed) is reported on `lost`.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";
import { sessionIds } from "../helpers/session-locks.js";
import { until } from "../helpers/until.js";
import { ConsulClient } from "../../src/client/index.js";
import { LockStateError } from "../../src/client/lock-common.js";
import { Lock, LOCK_FLAG_VALUE } from "../../src/client/lock.js";
import { Semaphore } from "../../src/client/semaphore.js";

/** An HTTP proxy in front of the agent that remembers `METHOD path` of every request. */
async function recordingProxy(
  target: string,
): Promise<{ url: string; seen: string[]; close(): Promise<void> }> {
  const seen: string[] = [];
  const server: Server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = chunks.length > 0 ? new Uint8Array(Buffer.concat(chunks)) : undefined;
      fetch(`${target}${req.url}`, { method: req.method ?? "GET", ...(body ? { body } : {}) }).then(
        async (up) => {
          res.writeHead(up.status, Object.fromEntries(up.headers));
          res.end(Buffer.from(await up.arrayBuffer()));
        },
        () => res.destroy(),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  return {
    url: `127.0.0.1:${port}`,
    seen,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

void describe("client Lock and Semaphore", () => {
  let agent: TestAgent;
  let client: ConsulClient;

  before(async () => {
    agent = await startTestAgent({ sessionTtlMinMs: 1000 });
    client = new ConsulClient({ address: agent.url, env: {} });
  });
  after(() => agent.stop());

  void test("Lock - renews its session every TTL/2, holding the lock past the session's 2×TTL life", async () => {
    const proxy = await recordingProxy(agent.url);
    try {
      const viaProxy = new ConsulClient({ address: proxy.url, env: {} });
      const lock = new Lock(viaProxy, { key: "renew/.lock", sessionTtl: "2s" });
      const held = await lock.lock();
      assert.ok(held);
      const session = (await client.kvGet("renew/.lock"))?.Session ?? "";
      // Five renewals 1 s apart are 5 s: past the 4 s an unrenewed 2 s session lives. (A 2 s TTL
      // leaves a renewal 3 s of slack on a loaded machine.)
      const renewals = (): number =>
        proxy.seen.filter((r) => r.startsWith(`PUT /v1/session/renew/${session}`)).length;
      await until(() => renewals() >= 5, "five renewals", 30_000);
      assert.equal(held.lost.aborted, false);
      assert.ok((await sessionIds(agent.url)).has(session));
      await lock.unlock();
      assert.ok(proxy.seen.includes(`PUT /v1/session/destroy/${session}`));
    } finally {
      await proxy.close();
    }
  });

  void test("Lock - unlock releases and ends the session; destroy then removes the free key", async () => {
    const lock = new Lock(client, { key: "plain/.lock" });
    await assert.rejects(lock.unlock(), { message: "Lock not held" });
    const held = await lock.lock();
    assert.ok(held);
    const pair = await client.kvGet("plain/.lock");
    assert.equal(pair?.Flags, LOCK_FLAG_VALUE);
    await assert.rejects(
      lock.lock(),
      (err) => err instanceof LockStateError && err.refusal === "held",
    );
    await lock.unlock();
    await until(() => held.lost.aborted, "the monitor to stop");
    assert.equal((await client.kvGet("plain/.lock"))?.Session, undefined);
    assert.equal((await sessionIds(agent.url)).size, 0);
    await lock.destroy();
    assert.equal(await client.kvGet("plain/.lock"), undefined);
  });

  void test("Lock - the key deleted under us is reported on lost", async () => {
    const lock = new Lock(client, { key: "gone/.lock" });
    const held = await lock.lock();
    assert.ok(held);
    await client.kvDelete("gone/.lock");
    await until(() => held.lost.aborted, "lost");
    await lock.unlock();
  });

  void test("Lock - a key with other flags is not a lock", async () => {
    await client.kvPut("other/.lock", "x", { flags: 7 });
    await assert.rejects(new Lock(client, { key: "other/.lock" }).lock(), {
      message: "Existing key does not match lock use",
    });
    assert.equal((await sessionIds(agent.url)).size, 0);
  });

  void test("Lock - tryOnce gives up after its wait; stop abandons a wait at once", async () => {
    const first = new Lock(client, { key: "busy/.lock" });
    assert.ok(await first.lock());
    const second = new Lock(client, { key: "busy/.lock", tryOnce: true, lockWaitMs: 200 });
    assert.equal(await second.lock(), undefined);
    const stop = new AbortController();
    const third = new Lock(client, { key: "busy/.lock" }).lock(stop.signal);
    await until(async () => (await sessionIds(agent.url)).size === 2, "the third's session");
    stop.abort();
    assert.equal(await third, undefined);
    assert.equal((await sessionIds(agent.url)).size, 1);
    await first.unlock();
    await first.destroy();
  });

  void test("Semaphore - a holder whose session is destroyed loses its slot to the next", async () => {
    const a = new Semaphore(client, { prefix: "slots", limit: 1 });
    const heldA = await a.acquire();
    assert.ok(heldA);
    const b = new Semaphore(client, { prefix: "slots", limit: 1 });
    const heldB = b.acquire();
    await until(async () => (await client.kvList("slots/")).length === 3, "b's contender key");
    const lockPair = await client.kvGet("slots/.lock");
    const holders = Object.keys(
      (
        JSON.parse(Buffer.from(lockPair?.Value ?? "", "base64").toString()) as {
          Holders: Record<string, boolean>;
        }
      ).Holders,
    );
    assert.equal(holders.length, 1);
    await client.sessionDestroy(holders[0] ?? "");
    await until(() => heldA.lost.aborted, "a to see its slot lost");
    assert.ok(await heldB);
    // A limit that disagrees with the stored one is refused, in Consul's words.
    await assert.rejects(new Semaphore(client, { prefix: "slots", limit: 3 }).acquire(), {
      message: "semaphore limit conflict (lock: 1, local: 3)",
    });
    await a.release();
    await b.release();
    await b.destroy();
    assert.deepEqual(await client.kvList("slots/"), []);
    assert.equal((await sessionIds(agent.url)).size, 0);
  });
});
