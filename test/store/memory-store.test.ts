import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MemoryStore } from "../../src/store/memory/memory-store.js";
import { isAugurError } from "../../src/lib/errors.js";
import { storeContract } from "./contract.js";

storeContract(
  "MemoryStore",
  async () => {
    const store = new MemoryStore();
    return { store, cleanup: () => store.close() };
  },
  { fakeTime: true },
);

describe("MemoryStore history", () => {
  it("memory - a watch from a compacted revision fails with STORE_COMPACTED", async () => {
    const store = new MemoryStore({ history: { maxRevisions: 3 } });
    for (let i = 0; i < 10; i++) await store.put(`k${i}`, new Uint8Array([i]));
    const iter = store.watch("", { fromRevision: 3 })[Symbol.asyncIterator]();
    await assert.rejects(
      async () => iter.next(),
      (err) => isAugurError(err, "STORE_COMPACTED"),
    );
    await store.close();
  });

  it("memory - history is bounded by bytes: 200 PUTs of 64 KiB keep about 1 MiB, older revisions are compacted", async () => {
    const maxBytes = 1024 * 1024;
    const store = new MemoryStore({ history: { maxBytes } });
    const value = new Uint8Array(64 * 1024);
    for (let i = 0; i < 200; i++) await store.put("big", value);
    const size = store.historySize();
    assert.ok(size.bytes <= maxBytes, `history holds ${size.bytes} bytes`);
    assert.ok(
      size.revisions >= 4 && size.revisions < 10,
      `history keeps ${size.revisions} revisions`,
    );
    const old = store.watch("", { fromRevision: 2 })[Symbol.asyncIterator]();
    await assert.rejects(
      async () => old.next(),
      (err) => isAugurError(err, "STORE_COMPACTED"),
      "a watcher that missed dropped revisions is told so",
    );
    const ac = new AbortController();
    const seen: number[] = [];
    for await (const b of store.watch("", { fromRevision: size.oldest, signal: ac.signal })) {
      seen.push(b.revision);
      if (seen.length === size.revisions) ac.abort();
    }
    assert.equal(
      seen[0],
      size.oldest,
      "a watcher from the oldest kept revision gets everything since",
    );
    await store.close();
  });

  it("memory - a single revision larger than the byte bound is still kept (the newest always is)", async () => {
    const store = new MemoryStore({ history: { maxBytes: 1024 } });
    await store.put("a", new Uint8Array(4096));
    assert.equal(store.historySize().revisions, 1);
    await store.close();
  });

  it("memory - a watcher that falls further behind than the history holds gets STORE_COMPACTED, then can resume", async () => {
    const store = new MemoryStore({ history: { maxRevisions: 5 } });
    const ac = new AbortController();
    const iter = store.watch("", { signal: ac.signal })[Symbol.asyncIterator]();
    for (let i = 0; i < 5; i++) await store.put(`k${i}`, new Uint8Array([i]));
    assert.equal((await iter.next()).value?.revision, 2, "within the bound, every batch comes");
    for (let i = 0; i < 10; i++) await store.put(`k${i}`, new Uint8Array([i]));
    await assert.rejects(
      async () => iter.next(),
      (err) => isAugurError(err, "STORE_COMPACTED"),
      "a watcher that fell behind is told to resync",
    );
    const again = store
      .watch("", { fromRevision: store.historySize().oldest, signal: ac.signal })
      [Symbol.asyncIterator]();
    assert.equal(
      (await again.next()).value?.revision,
      store.historySize().oldest,
      "a new watch from the kept history works",
    );
    ac.abort();
    await store.close();
  });
});
