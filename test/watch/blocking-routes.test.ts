/**
 * The watch API as blocking queries: `X-Consul-Index` on every answer (the watch engine's change
 * index) and `?index=&wait=` parking until a detected event, a delivery, a dead letter or a replay
 * moves it. The web UI's Watches pages read them this way instead of polling.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server, type ServerResponse } from "node:http";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { ApiServer } from "../../src/api/server.js";
import { watchRoutes } from "../../src/api/routes/watches.js";
import type { WatchManager } from "../../src/watch/manager.js";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";
import { defs, manager, until } from "./manager-helpers.js";

/** A handler endpoint that holds each request until the test answers it. */
async function heldReceiver(): Promise<{ url: string; held: ServerResponse[]; server: Server }> {
  const held: ServerResponse[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => held.push(res));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return { url, held, server };
}

interface Deliveries {
  Pending: { ID: string; Status: string }[];
  Recent: { ID: string; Status: string }[];
  Dead: { ID: string; LastError: string }[];
}

describe("watch API blocking queries", () => {
  let a: TestAgent;
  let m: WatchManager;
  let server: ApiServer;
  let base: string;
  let receiver: Awaited<ReturnType<typeof heldReceiver>>;
  const get = async (path: string): Promise<{ index: number; status: number; body: unknown }> => {
    const res = await fetch(`${base}${path}`);
    const text = await res.text();
    return {
      index: Number(res.headers.get("X-Consul-Index")),
      status: res.status,
      body: res.headers.get("content-type")?.includes("json") ? JSON.parse(text) : text,
    };
  };
  /** Starts a read and reports whether it has answered yet. */
  const start = (path: string) => {
    const read = { settled: false, answer: get(path) };
    void read.answer.then(() => (read.settled = true));
    return read;
  };

  before(async () => {
    a = await startTestAgent();
    receiver = await heldReceiver();
    m = manager(a).m;
    await m.start(
      defs({
        type: "keyprefix",
        prefix: "blk/",
        id: "blk",
        on_start: "never",
        handler_type: "http",
        // One attempt, so a refused delivery is a dead letter at once.
        retry_max_attempts: 1,
        http_handler_config: { path: receiver.url },
      }),
    );
    server = new ApiServer({ routes: watchRoutes(m) });
    const [addr] = await server.listen([{ host: "127.0.0.1", port: 0 }]);
    base = `http://127.0.0.1:${addr?.port ?? 0}`;
  });
  after(async () => {
    await server.close();
    for (const res of receiver.held) res.destroy();
    receiver.server.closeAllConnections();
    receiver.server.close();
    await m.stop();
    await a.stop();
  });

  it("watch API - every read answers X-Consul-Index, the engine's change index (at least 1)", async () => {
    for (const path of [
      "/v1/agent/watches",
      "/v1/agent/watch/events",
      "/v1/agent/watch/deliveries",
    ]) {
      const r = await get(path);
      assert.equal(r.status, 200, path);
      assert.ok(r.index >= 1, `${path}: X-Consul-Index ${r.index}`);
      assert.equal(r.index, m.changes.index, path);
    }
  });

  it("watch API - a parked deliveries read answers when the delivery is recorded, not before", async () => {
    await until(async () => (await a.call("PUT", "/v1/kv/blk/a", "1")).status === 200, 8000, "put");
    // The event is detected and its delivery is in flight (held by the receiver).
    await until(() => receiver.held.length === 1, 8000, "the delivery attempt");
    const { index } = await get("/v1/agent/watch/deliveries");
    const parked = start(`/v1/agent/watch/deliveries?index=${index}&wait=30s`);
    await until(() => m.changes.parked() === 1, 8000, "the read to park");
    // Parked and still held: the delivery has not finished, so the read must not have answered.
    assert.equal(parked.settled, false);
    assert.equal(m.changes.index, index);
    receiver.held[0]?.end();
    const answer = await parked.answer;
    assert.equal(answer.status, 200);
    assert.ok(answer.index > index, `index ${answer.index} after ${index}`);
    const report = answer.body as Deliveries;
    assert.equal(report.Recent.length, 1);
    assert.equal(report.Recent[0]?.Status, "delivered");
    assert.equal(report.Pending.length, 0);
  });

  it("watch API - a parked watches read and events read wake on a detected change", async () => {
    const { index } = await get("/v1/agent/watch/events");
    const events = start(`/v1/agent/watch/events?watch=blk&index=${index}&wait=30s`);
    const watches = start(`/v1/agent/watches?index=${index}&wait=30s`);
    await until(() => m.changes.parked() === 2, 8000, "both reads to park");
    assert.equal(events.settled || watches.settled, false);
    assert.equal((await a.call("PUT", "/v1/kv/blk/b", "2")).status, 200);
    const [e, w] = await Promise.all([events.answer, watches.answer]);
    assert.ok(e.index > index && w.index > index);
    assert.ok((e.body as { Changes: { Entity: string }[] }[]).length >= 2);
    assert.equal((w.body as { ID: string }[])[0]?.ID, "blk");
    await until(() => receiver.held.length === 2, 8000, "the second delivery attempt");
    receiver.held[1]?.end();
  });

  it("watch API - a dead letter and its replay each move the index", async () => {
    await until(async () => (await get("/v1/agent/watch/deliveries")).body !== undefined);
    await until(
      async () =>
        ((await get("/v1/agent/watch/deliveries")).body as Deliveries).Pending.length === 0,
      8000,
      "the second delivery to finish",
    );
    const before = await get("/v1/agent/watch/deliveries");
    const parked = start(`/v1/agent/watch/deliveries?index=${before.index}&wait=30s`);
    await until(() => m.changes.parked() === 1, 8000, "the read to park");
    assert.equal((await a.call("PUT", "/v1/kv/blk/c", "3")).status, 200);
    await until(() => receiver.held.length === 3, 8000, "the third delivery attempt");
    receiver.held[2]?.writeHead(400).end("refused");
    // The read may wake on the event first; keep reading until the dead letter shows.
    let answer = await parked.answer;
    while ((answer.body as Deliveries).Dead.length === 0)
      answer = await get(`/v1/agent/watch/deliveries?index=${answer.index}&wait=30s`);
    const dead = (answer.body as Deliveries).Dead[0];
    assert.ok(dead);
    const replay = start(`/v1/agent/watch/deliveries?index=${answer.index}&wait=30s`);
    await until(() => m.changes.parked() === 1, 8000, "the read to park");
    const res = await fetch(`${base}/v1/agent/watch/replay/${dead.ID}`, { method: "PUT" });
    assert.equal(res.status, 200);
    assert.ok((await replay.answer).index > answer.index);
    await until(() => receiver.held.length === 4, 8000, "the replayed attempt");
    receiver.held[3]?.end();
  });

  it("watch API - a wait with no change answers the same index when it ends", async () => {
    const { index } = await get("/v1/agent/watches");
    const r = await get(`/v1/agent/watches?index=${index}&wait=50ms`);
    assert.equal(r.status, 200);
    assert.equal(r.index, index);
  });

  it("watch API - a bad wait or index is Consul's 400", async () => {
    const w = await get("/v1/agent/watch/events?index=1&wait=soon");
    assert.deepEqual([w.status, w.body], [400, "Invalid wait time"]);
    const i = await get("/v1/agent/watch/deliveries?index=-1");
    assert.deepEqual([i.status, i.body], [400, "Invalid index"]);
  });

  it("watch API - deliveries readers woken by one change share one read of the outbox; ?limit is capped", async () => {
    const heldBefore = receiver.held.length;
    const limits: number[] = [];
    const original = m.deliveries.bind(m);
    m.deliveries = (query) => {
      limits.push(query?.limit ?? 100);
      return original(query);
    };
    try {
      // The earlier cases' last outcomes are recorded first: nothing else may wake these reads.
      let quiet = m.changes.index;
      await until(
        async () => {
          await new Promise((r) => setTimeout(r, 300));
          const settled = m.changes.index === quiet;
          quiet = m.changes.index;
          return settled;
        },
        8000,
        "the engine to be quiet",
      );
      const { index } = await get("/v1/agent/watch/deliveries");
      limits.length = 0;
      const reads = Array.from({ length: 30 }, (_, i) =>
        start(`/v1/agent/watch/deliveries?watch=blk&limit=${i + 1}&index=${index}&wait=30s`),
      );
      await until(() => m.changes.parked() === 30, 8000, "30 reads to park");
      assert.deepEqual(limits, [], "parked reads read nothing yet");
      assert.equal((await a.call("PUT", "/v1/kv/blk/shared", "4")).status, 200);
      const answers = await Promise.all(reads.map((r) => r.answer));
      assert.deepEqual(limits, [100], "one read, for the largest size asked");
      // Each got what a read of its own would have: its limit's share of the same lists.
      const woke = answers[0]?.index ?? 0;
      assert.ok(answers.every((x) => x.status === 200 && x.index === woke));
      // The delivery of that change is held by the receiver: the index stays until it answers.
      assert.equal(m.changes.index, woke);
      const full = (await get("/v1/agent/watch/deliveries?watch=blk&limit=30")).body as Deliveries;
      answers.forEach((x, i) => {
        const d = x.body as Deliveries;
        assert.deepEqual(d.Recent, full.Recent.slice(0, i + 1));
        assert.deepEqual(d.Dead, full.Dead.slice(0, i + 1));
        assert.deepEqual(d.Pending, full.Pending.slice(0, i + 1));
      });
      limits.length = 0;
      assert.equal((await get("/v1/agent/watch/deliveries?limit=999999999")).status, 200);
      assert.deepEqual(limits, [10_000], "at most 10,000 records per list");

      // At most 64 answers are kept at one index: 70 more watch names (the index has not moved,
      // so these reads answer at once at `woke`) are each read once, and asked again only the
      // 7 past the bound (one key, blk's, is kept already) are read again.
      assert.equal(m.changes.index, woke);
      const names = Array.from({ length: 70 }, (_, i) => `w${i}`);
      const round = (): Promise<{ status: number; index: number }[]> =>
        Promise.all(
          names.map((w) => get(`/v1/agent/watch/deliveries?watch=${w}&index=${woke - 1}`)),
        );
      limits.length = 0;
      const first = await round();
      assert.ok(first.every((x) => x.status === 200 && x.index === woke));
      assert.equal(limits.length, 70, "each new key read once");
      limits.length = 0;
      const second = await round();
      assert.ok(second.every((x) => x.status === 200 && x.index === woke));
      assert.equal(m.changes.index, woke, "nothing moved the index between the rounds");
      assert.equal(
        limits.length,
        70 - 63,
        "the keys past the bound are read again, the kept ones not",
      );
    } finally {
      m.deliveries = original;
      await until(() => receiver.held.length > heldBefore, 8000, "the delivery attempt");
      for (const res of receiver.held.slice(heldBefore)) res.end();
    }
  });

  it("watch API - closing the server answers a parked read at once", async () => {
    const { index } = await get("/v1/agent/watches");
    const parked = start(`/v1/agent/watches?index=${index}&wait=10m`);
    await until(() => m.changes.parked() === 1, 8000, "the read to park");
    await server.close();
    const r = await parked.answer;
    assert.equal(r.status, 200);
    assert.equal(m.changes.parked(), 0);
  });
});
