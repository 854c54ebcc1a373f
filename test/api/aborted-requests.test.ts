/**
 * A client that goes away — mid-headers, mid-body, while its blocking query is parked, or while
 * a large answer is being written — is the client's business: the agent logs no warning or
 * error for it, and goes on serving.
 *
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { once } from "node:events";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";

async function socketTo(a: TestAgent): Promise<Socket> {
  const { hostname, port } = new URL(a.url);
  const socket = connect({ host: hostname, port: Number(port) });
  socket.on("error", () => undefined);
  await once(socket, "connect");
  return socket;
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Writes `text`, waits `ms`, then resets the connection. */
async function sendThenReset(a: TestAgent, text: string, ms: number): Promise<void> {
  const s = await socketTo(a);
  s.write(text);
  await pause(ms);
  s.resetAndDestroy();
}

/** Writes `text`, waits `ms`, then closes the connection politely (FIN). */
async function sendThenClose(a: TestAgent, text: string, ms: number): Promise<void> {
  const s = await socketTo(a);
  s.write(text);
  await pause(ms);
  s.destroy();
}

void test(
  "aborted requests - clients that go away mid-request or mid-blocking-query are not logged as warnings",
  { timeout: 60_000 },
  async () => {
    const a = await startTestAgent();
    try {
      await a.call("PUT", "/v1/kv/k", "v");
      for (let i = 0; i < 2000; i++)
        if (i % 200 === 0)
          await a.call(
            "PUT",
            "/v1/txn",
            Array.from({ length: 100 }, (_, j) => ({
              KV: {
                Verb: "set",
                Key: `big/${i + j}`,
                Value: Buffer.alloc(512, 1).toString("base64"),
              },
            })),
          );
      const index = (await a.call("GET", "/v1/kv/k")).headers.get("x-consul-index") ?? "1";
      for (const close of [sendThenReset, sendThenClose]) {
        // Mid-headers.
        await close(a, "GET /v1/kv/k HTTP/1.1\r\nHost: augur\r\nX-Half", 50);
        // Mid-body.
        await close(
          a,
          "PUT /v1/kv/half HTTP/1.1\r\nHost: augur\r\nContent-Length: 1000\r\n\r\nsome of it",
          50,
        );
        // While a blocking query is parked.
        await close(a, `GET /v1/kv/k?index=${index}&wait=30s HTTP/1.1\r\nHost: augur\r\n\r\n`, 200);
        await close(
          a,
          `GET /v1/health/state/any?index=999999&wait=30s HTTP/1.1\r\nHost: augur\r\n\r\n`,
          200,
        );
        // Right after sending, before the answer (a large one) is written.
        await close(a, "GET /v1/kv/big/?recurse HTTP/1.1\r\nHost: augur\r\n\r\n", 0);
        await close(a, "GET /v1/kv/big/?recurse HTTP/1.1\r\nHost: augur\r\n\r\n", 5);
      }
      // fetch with an AbortSignal, as a client library gives up on a long poll.
      const ac = new AbortController();
      const aborted = fetch(`${a.url}/v1/kv/k?index=${index}&wait=30s`, {
        signal: ac.signal,
      }).catch((err: unknown) => err);
      await pause(200);
      ac.abort();
      assert.ok((await aborted) instanceof Error);
      // The agent still answers, and its parked-query bookkeeping let go of the aborted ones.
      await pause(300);
      assert.equal((await a.call("GET", "/v1/kv/k")).status, 200);
      const noisy = a.logs.filter((l) => /\[(WARN|ERROR)/.test(l));
      assert.deepEqual(noisy, [], noisy.join(""));
    } finally {
      await a.stop();
    }
  },
);
