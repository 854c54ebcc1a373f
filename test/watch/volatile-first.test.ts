/**
 * A handler with `durable = false` gets its event without waiting for the outbox's flush of the
 * watch's state; a durable handler of the same watch gets it only once that flush is done.
 * The outbox here holds every flush until the test releases it, as a slow disk would.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { MemoryWatchStore } from "../../src/watch/memory-store.js";
import type { WatchStore } from "../../src/watch/outbox.js";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";
import { until } from "../helpers/until.js";
import { defs, manager } from "./manager-helpers.js";
import { httpReceiver, type HttpReceiver } from "./receivers.js";
import { settle } from "./fake-clock.js";

/** A memory outbox whose commits resolve only when `release()` is called (a disk that stalls). */
function stallingStore(): { store: WatchStore; release(): void; held(): number } {
  const inner = new MemoryWatchStore();
  let waiting: (() => void)[] = [];
  let open = false;
  const store: WatchStore = Object.assign(Object.create(inner) as WatchStore, {
    kind: "disk" as const,
    commit: async (...args: Parameters<WatchStore["commit"]>) => {
      const done = await inner.commit(...args);
      if (!open) await new Promise<void>((r) => waiting.push(r));
      return done;
    },
  });
  // Everything else goes to the memory store itself (its private fields need `this` = inner).
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
  };
}

describe("watch - durable = false does not wait for the outbox's flush", () => {
  let agent: TestAgent;
  let fast: HttpReceiver;
  let safe: HttpReceiver;
  before(async () => {
    agent = await startTestAgent();
    fast = await httpReceiver();
    safe = await httpReceiver();
  });
  after(async () => {
    await Promise.all([fast.close(), safe.close()]);
    await agent.stop();
  });

  it("the volatile handler is called while the flush is held; the durable one after it", async () => {
    const disk = stallingStore();
    const { m } = manager(agent, { openDurableStore: () => Promise.resolve(disk.store) });
    await m.start(
      defs({
        type: "key",
        key: "vf/k",
        handlers: [
          { handler_type: "http", http_handler_config: { path: fast.url }, durable: false },
          { handler_type: "http", http_handler_config: { path: safe.url } },
        ],
      }),
    );
    try {
      await until(() => disk.held() === 1, "the first commit to wait for its flush");
      await fast.waitFor(1);
      await settle();
      assert.equal(safe.requests.length, 0, "the durable handler waits for the flush");
      disk.release();
      await safe.waitFor(1);
      assert.equal(fast.requests.length, 1);
    } finally {
      disk.release();
      await m.stop();
    }
  });
});
