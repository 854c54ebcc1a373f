/**
 * A handler's first attempt runs while the outbox flushes the event's record, and nothing of the
 * attempt is recorded before the flush: a durable record's outcome (delivered, a failed attempt)
 * reaches the outbox only once the record is durable, and a record whose write fails is dropped,
 * the watch reporting the change again. The outbox is a real lmdb one; the wrapper below only
 * holds back when the watch learns how each write ended (a slow disk), and can spoil the state of
 * a commit so that lmdb refuses it (a failing one).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LmdbWatchStore } from "../../src/watch/lmdb-store.js";
import type { WatchStore } from "../../src/watch/outbox.js";
import type { PersistedWatchState } from "../../src/watch/detector.js";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";
import { until } from "../helpers/until.js";
import { defs, manager } from "./manager-helpers.js";
import { httpReceiver, type HttpReceiver } from "./receivers.js";
import { settle } from "./fake-clock.js";

interface HeldStore {
  readonly store: WatchStore;
  /** Settles every held commit as the store settled it, and holds no more. */
  release(): void;
  held(): number;
  /** The next commit's state cannot be encoded: lmdb refuses the write. */
  spoilNext(): void;
}

/** `inner` with each commit's settlement held until `release()` (its write itself is not held). */
function heldStore(inner: WatchStore): HeldStore {
  let waiting: (() => void)[] = [];
  let open = false;
  let spoil = false;
  const store: WatchStore = Object.assign(Object.create(inner) as WatchStore, {
    kind: "disk" as const,
    commit: (...[watchId, state, records, onQueued]: Parameters<WatchStore["commit"]>) => {
      let written = state;
      if (spoil && state !== null) {
        spoil = false;
        written = Object.defineProperty({ ...state }, "index", {
          enumerable: true,
          get(): string {
            throw new Error("this state cannot be written");
          },
        }) as PersistedWatchState;
      }
      const done = inner.commit(watchId, written, records, onQueued);
      if (open) return done;
      // Held from here: how the write ended is passed on at release.
      const ended = done.then(
        (created) => () => created,
        (err: unknown) => () => {
          throw err;
        },
      );
      return new Promise((resolve, reject) =>
        waiting.push(() => void ended.then((end) => resolve(end())).catch(reject)),
      );
    },
  });
  // Everything else goes to the store itself (its private fields need `this` = inner).
  for (const name of [
    "loadState",
    "resume",
    "pending",
    "pendingSummary",
    "recordAttempt",
    "finish",
    "requeue",
    "recent",
    "dead",
    "depth",
    "close",
  ] as const)
    (store as unknown as Record<string, unknown>)[name] = (inner[name] as () => unknown).bind(
      inner,
    );
  return {
    store,
    release: () => {
      open = true;
      for (const r of waiting) r();
      waiting = [];
    },
    held: () => waiting.length,
    spoilNext: () => void (spoil = true),
  };
}

describe("watch - a handler's first attempt runs during the outbox's flush", () => {
  let agent: TestAgent;
  let dir: string;
  before(async () => {
    agent = await startTestAgent();
    dir = await mkdtemp(join(tmpdir(), "augur-flush-overlap-"));
  });
  after(async () => {
    await agent.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function watching(
    name: string,
    receivers: { r: HttpReceiver; durable?: boolean }[],
    before?: (disk: HeldStore) => void,
  ): Promise<{ disk: HeldStore; inner: LmdbWatchStore; stop(): Promise<void> }> {
    const inner = await LmdbWatchStore.open(join(dir, name));
    const disk = heldStore(inner);
    before?.(disk);
    const { m } = manager(agent, { openDurableStore: () => Promise.resolve(disk.store) });
    await m.start(
      defs({
        type: "key",
        key: `fo/${name}`,
        handlers: receivers.map(({ r, durable }) => ({
          handler_type: "http",
          http_handler_config: { path: r.url },
          retry_initial_interval: "10ms",
          ...(durable === false ? { durable: false } : {}),
        })),
      }),
    );
    return {
      disk,
      inner,
      stop: async () => {
        disk.release();
        await m.stop();
      },
    };
  }

  it("both handlers are called while the flush is held; the durable one's delivery is recorded after it", async () => {
    const fast = await httpReceiver();
    const safe = await httpReceiver();
    const w = await watching("ok", [{ r: fast, durable: false }, { r: safe }]);
    try {
      await until(() => w.disk.held() === 1, "the first commit to wait for its flush");
      await Promise.all([fast.waitFor(1), safe.waitFor(1)]);
      await settle();
      assert.equal(w.disk.held(), 1, "the flush is still held");
      assert.equal((await w.inner.recent()).length, 0, "nothing recorded before the flush");
      w.disk.release();
      await until(async () => (await w.inner.recent()).length === 1, "the delivery recorded");
      assert.equal((await w.inner.pending()).length, 0);
      assert.equal(safe.requests.length, 1);
      assert.equal(fast.requests.length, 1);
    } finally {
      await w.stop();
      await Promise.all([fast.close(), safe.close()]);
    }
  });

  it("a failed first attempt is recorded, and retried, only after the flush", async () => {
    const safe = await httpReceiver((_q, n) => ({ status: n === 1 ? 503 : 200 }));
    const w = await watching("retry", [{ r: safe }]);
    try {
      await until(() => w.disk.held() === 1, "the first commit to wait for its flush");
      await safe.waitFor(1);
      await settle();
      const [held] = await w.inner.pending();
      assert.equal(held?.attempts, 0, "the failed attempt is not recorded before the flush");
      assert.equal(safe.requests.length, 1, "no retry before the flush");
      w.disk.release();
      await safe.waitFor(2);
      await until(async () => (await w.inner.recent()).length === 1, "the retry recorded");
      const [done] = await w.inner.recent();
      assert.equal(done?.attempts, 2);
    } finally {
      await w.stop();
      await safe.close();
    }
  });

  it("a record whose write failed is dropped, and the handler gets the change again", async () => {
    // The key exists, so the watch's first event carries a change the watch can report again
    // (a start event without changes is not repeated).
    await fetch(`${agent.url}/v1/kv/fo/failed`, { method: "PUT", body: "v" });
    const safe = await httpReceiver();
    const w = await watching("failed", [{ r: safe }], (disk) => disk.spoilNext());
    try {
      await until(() => w.disk.held() === 1, "the first commit to wait for its flush");
      await safe.waitFor(1);
      w.disk.release();
      // The watch goes back to its last durable state (none) and reports again about a second later.
      await safe.waitFor(2, 10_000);
      await until(
        async () => (await w.inner.recent()).length === 1,
        "the second delivery recorded",
      );
      await settle();
      assert.equal(safe.requests.length, 2, "the dropped record is not delivered again");
      assert.deepEqual(await w.inner.pending(), []);
      assert.deepEqual(await w.inner.dead(), []);
      const [first, second] = safe.requests.map((q) => q.headers["idempotency-key"]);
      assert.equal(first, second, "the same change carries the same event id (receivers dedupe)");
    } finally {
      await w.stop();
      await safe.close();
    }
  });
});
