import { test } from "node:test";
import assert from "node:assert/strict";
import { systemClock } from "../../src/watch/clock.js";
import { DeliveryWorker } from "../../src/watch/delivery-worker.js";
import { HttpHandler } from "../../src/watch/handlers/http-handler.js";
import { silentLogger } from "../../src/watch/logger.js";
import { MemoryWatchStore } from "../../src/watch/memory-store.js";
import type { NewRecord } from "../../src/watch/outbox.js";
import type { HttpHandlerDefinition, RetryPolicy } from "../../src/watch/types.js";
import { LmdbWatchStore } from "../../src/watch/lmdb-store.js";
import { httpReceiver, tempDir, type HttpReceiver } from "./receivers.js";
import { FakeClock } from "./fake-clock.js";
import { join } from "node:path";

const FAST: RetryPolicy = { initialIntervalMs: 10, maxIntervalMs: 40, maxAttempts: 5, maxAgeMs: 0 };

function handler(url: string): HttpHandler {
  const def: HttpHandlerDefinition = {
    kind: "http",
    key: "h1",
    payload: "consul",
    durable: true,
    timeoutMs: 2000,
    url,
    method: "POST",
    header: {},
    tlsSkipVerify: false,
    retry: FAST,
  };
  return new HttpHandler(def);
}

const rec = (n: number): NewRecord => ({
  eventId: `e${n}`,
  watchId: "w1",
  handlerKey: "h1",
  index: String(n),
  createdAt: Date.now(),
  body: `{"n":${n}}`,
});

async function setup(
  respond: HttpReceiver["respond"],
  retry: RetryPolicy = FAST,
): Promise<{
  r: HttpReceiver;
  store: MemoryWatchStore;
  worker: DeliveryWorker;
  done(): Promise<void>;
}> {
  const r = await httpReceiver(respond);
  const store = new MemoryWatchStore();
  const worker = new DeliveryWorker({
    handler: handler(r.url),
    retry,
    store,
    clock: systemClock(),
    logger: silentLogger,
    random: () => 0.5,
  });
  worker.start();
  return { r, store, worker, done: async () => (await worker.stop(), await r.close()) };
}

async function until(cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((res) => setTimeout(res, 10));
  }
}

void test("delivery - retries a 503 with backoff; records reach the handler in order, head of line", async () => {
  const t = await setup((q, n) => (n <= 2 ? { status: 503 } : { status: 200 }));
  try {
    t.worker.enqueue(
      await t.store.commit("w1", { version: 1, index: "3", reported: {}, updatedAt: 0 }, [
        rec(1),
        rec(2),
        rec(3),
      ]),
    );
    await until(async () => (await t.store.recent()).length === 3);
    assert.deepEqual(
      t.r.requests.map((q) => q.headers["idempotency-key"]),
      ["e1", "e1", "e1", "e2", "e3"],
    );
    assert.deepEqual(
      t.r.requests.map((q) => q.headers["x-augur-attempt"]),
      ["1", "2", "3", "1", "1"],
    );
    const recent = await t.store.recent();
    assert.deepEqual(
      recent.map((x) => [x.eventId, x.attempts]),
      [
        ["e3", 1],
        ["e2", 1],
        ["e1", 3],
      ],
    );
    assert.equal(t.store.depth(), 0);
  } finally {
    await t.done();
  }
});

void test("delivery - a 400 is dead-lettered at once, without a retry storm, and the queue moves on", async () => {
  const t = await setup((q) =>
    q.headers["idempotency-key"] === "e1" ? { status: 400, body: "bad" } : { status: 200 },
  );
  try {
    t.worker.enqueue(
      await t.store.commit("w1", { version: 1, index: "2", reported: {}, updatedAt: 0 }, [
        rec(1),
        rec(2),
      ]),
    );
    await until(async () => (await t.store.recent()).length === 1);
    await new Promise((res) => setTimeout(res, 100));
    assert.equal(t.r.requests.length, 2, "one request each");
    const dead = await t.store.dead();
    assert.deepEqual(
      dead.map((d) => [d.eventId, d.attempts]),
      [["e1", 1]],
    );
    assert.match(dead[0]?.lastError ?? "", /400.*permanent failure/);
  } finally {
    await t.done();
  }
});

void test("delivery - retries stop at retry_max_attempts, then dead letter", async () => {
  const t = await setup(() => ({ status: 502 }), { ...FAST, maxAttempts: 3 });
  try {
    t.worker.enqueue(
      await t.store.commit("w1", { version: 1, index: "1", reported: {}, updatedAt: 0 }, [rec(1)]),
    );
    await until(async () => (await t.store.dead()).length === 1);
    assert.equal(t.r.requests.length, 3);
    assert.match((await t.store.dead())[0]?.lastError ?? "", /gave up after 3 attempts/);
  } finally {
    await t.done();
  }
});

void test("delivery - Retry-After on a 429 delays the next attempt at least that long", async () => {
  const t = await setup((q, n) =>
    n === 1 ? { status: 429, headers: { "Retry-After": "1" } } : { status: 200 },
  );
  try {
    t.worker.enqueue(
      await t.store.commit("w1", { version: 1, index: "1", reported: {}, updatedAt: 0 }, [rec(1)]),
    );
    await t.r.waitFor(1);
    const first = Date.now();
    await t.r.waitFor(2, 5000);
    assert.ok(Date.now() - first >= 900, "waited for Retry-After");
  } finally {
    await t.done();
  }
});

void test("delivery - stop aborts an attempt in flight after the grace; the record stays pending", async () => {
  const r = await httpReceiver(() => "hang");
  const store = new MemoryWatchStore();
  const worker = new DeliveryWorker({
    handler: handler(r.url),
    retry: FAST,
    store,
    clock: systemClock(),
    logger: silentLogger,
    stopGraceMs: 100,
  });
  worker.start();
  try {
    worker.enqueue(
      await store.commit("w1", { version: 1, index: "1", reported: {}, updatedAt: 0 }, [rec(1)]),
    );
    await r.waitFor(1);
    await worker.stop();
    assert.equal(worker.state, "stopped");
    assert.deepEqual(
      (await store.pending()).map((x) => [x.eventId, x.attempts]),
      [["e1", 0]],
    );
  } finally {
    await r.close();
  }
});

void test("delivery - past its in-memory bound a worker reads the backlog back from the outbox: every record once, in order", async () => {
  const dir = await tempDir("augur-spill-");
  let open = false;
  const r = await httpReceiver(() => (open ? { status: 200 } : { status: 503 }));
  const store = await LmdbWatchStore.open(join(dir.path, "watches"));
  const worker = new DeliveryWorker({
    handler: handler(r.url),
    retry: { ...FAST, maxAttempts: 0 },
    store,
    clock: systemClock(),
    logger: silentLogger,
    random: () => 0.5,
    queueMax: { records: 3 },
  });
  worker.start();
  try {
    for (let n = 1; n <= 10; n++)
      worker.enqueue(
        await store.commit("w1", { version: 1, index: String(n), reported: {}, updatedAt: 0 }, [
          rec(n),
        ]),
      );
    assert.equal(worker.depth, 10, "the depth counts the records waiting in the store");
    await r.waitFor(2);
    open = true;
    await until(
      async () => (await store.recent()).length === 10 && worker.depth === 0 && store.depth() === 0,
    );
    const firsts = [
      ...new Map(r.requests.map((q) => [String(q.headers["idempotency-key"]), q])).keys(),
    ];
    assert.deepEqual(
      firsts,
      Array.from({ length: 10 }, (_, i) => `e${i + 1}`),
      "in order",
    );
    const ok = (await store.recent()).map((x) => x.eventId).reverse();
    assert.deepEqual(
      ok,
      Array.from({ length: 10 }, (_, i) => `e${i + 1}`),
      "each delivered once",
    );
    assert.equal(
      r.requests.filter((q) => q.headers["x-augur-attempt"] === "1").length,
      10,
      "one first attempt per record: none queued twice",
    );
  } finally {
    await worker.stop();
    await store.close();
    await r.close();
    await dir.remove();
  }
});

void test("delivery - the next records go out while earlier ones are still being recorded as delivered", async () => {
  const r = await httpReceiver();
  const store = new MemoryWatchStore();
  // The outbox's 'delivered' writes stall (a slow flush) until released.
  const held: (() => void)[] = [];
  let open = false;
  const finish = store.finish.bind(store);
  store.finish = async (...args) => {
    if (!open && args[1] === "delivered") await new Promise<void>((res) => held.push(res));
    return finish(...args);
  };
  const worker = new DeliveryWorker({
    handler: handler(r.url),
    retry: FAST,
    store,
    clock: systemClock(),
    logger: silentLogger,
  });
  worker.start();
  try {
    worker.enqueue(
      await store.commit("w1", { version: 1, index: "3", reported: {}, updatedAt: 0 }, [
        rec(1),
        rec(2),
        rec(3),
      ]),
    );
    await r.waitFor(3);
    assert.deepEqual(
      r.requests.map((q) => JSON.parse(q.body.toString()) as unknown),
      [{ n: 1 }, { n: 2 }, { n: 3 }],
    );
    // All three delivered, none recorded yet: the worker did not wait for the first recording.
    await until(() => held.length === 3);
    assert.equal((await store.pending()).length, 3);
    open = true;
    for (const res of held) res();
    await until(async () => (await store.pending()).length === 0);
    assert.deepEqual(
      (await store.recent()).map((x) => x.eventId),
      ["e3", "e2", "e1"],
    );
  } finally {
    open = true;
    for (const res of held) res();
    await worker.stop();
    await r.close();
  }
});

void test("delivery - a worker starting on a backlog larger than its queue reads it in pages: every record once, in order, and while it runs new ones queue behind", async () => {
  const dir = await tempDir("augur-backlog-");
  const r = await httpReceiver(() => ({ status: 200 }));
  const store = await LmdbWatchStore.open(join(dir.path, "watches"));
  // Another handler's records interleaved: not this worker's to read or deliver.
  for (let n = 1; n <= 25; n++)
    await store.commit("w1", null, [rec(n), { ...rec(100 + n), handlerKey: "other" }]);
  /** The most records one read of the store handed the worker. */
  let largestRead = 0;
  const counting = new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === "pending")
        return async (...args: Parameters<LmdbWatchStore["pending"]>) => {
          const out = await target.pending(...args);
          largestRead = Math.max(largestRead, out.length);
          return out;
        };
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const worker = new DeliveryWorker({
    handler: handler(r.url),
    retry: FAST,
    store: counting,
    clock: systemClock(),
    logger: silentLogger,
    random: () => 0.5,
    queueMax: { records: 4 },
  });
  try {
    await worker.loadPending("w1", "h1");
    assert.equal(worker.depth, 25, "the depth counts the backlog still in the store");
    worker.start();
    worker.enqueue(await store.commit("w1", null, [rec(26)]));
    await until(async () => (await store.pendingSummary("w1", "h1")).count === 0);
    assert.deepEqual(
      r.requests.map((q) => String(q.headers["idempotency-key"])),
      Array.from({ length: 26 }, (_, i) => `e${i + 1}`),
      "each once, in order, the new one last",
    );
    assert.ok(largestRead <= 4, `read ${largestRead} records at once`);
    assert.equal((await store.pendingSummary("w1", "other")).count, 25, "the other handler's wait");
  } finally {
    await worker.stop();
    await store.close();
    await r.close();
    await dir.remove();
  }
});

void test("delivery - a retry is due after its wait even when the wall clock was stepped back meanwhile", async () => {
  const r = await httpReceiver((q, n) => (n === 1 ? { status: 503 } : { status: 200 }));
  const clock = new FakeClock();
  const store = new MemoryWatchStore();
  const worker = new DeliveryWorker({
    handler: handler(r.url),
    retry: { initialIntervalMs: 1000, maxIntervalMs: 1000, maxAttempts: 5, maxAgeMs: 0 },
    store,
    clock,
    logger: silentLogger,
    random: () => 0.5,
  });
  worker.start();
  try {
    worker.enqueue(
      await store.commit("w1", { version: 1, index: "1", reported: {}, updatedAt: 0 }, [rec(1)]),
    );
    await until(() => r.requests.length === 1);
    await until(async () => (await store.pending()).some((p) => p.attempts === 1));
    await clock.advance(0);
    // The retry waits its backoff (at most 1 s); the clock is stepped back an hour meanwhile.
    clock.step(-3_600_000);
    await clock.advance(1_000);
    await until(() => r.requests.length === 2);
    await until(async () => (await store.recent()).length === 1);
  } finally {
    await worker.stop();
    await r.close();
  }
});
