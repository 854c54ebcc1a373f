/**
 * A journal write that fails (the disk store's lmdb commit on a full disk, an I/O error): the
 * write was applied in memory first, and later writes were computed on top of it. The store must
 * take it back out, refuse writes until it has, and never leave a lease's keys without a lease.
 * The journal here is the store's own port with writes settled by hand; test/store/disk-full.test.ts
 * runs the disk store on a real full file system.
 */
import { describe, it, mock } from "node:test";
import assert from "node:assert/strict";
import { MemoryStore, type Journal } from "../../src/store/memory/memory-store.js";
import { AugurError, isAugurError } from "../../src/lib/errors.js";
import type { WatchBatch } from "../../src/store/store.js";

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined): string | undefined =>
  b === undefined ? undefined : new TextDecoder().decode(b);

/** What the disk store's journal throws. */
const ioError = (message: string): AugurError => new AugurError("STORE_IO", message);

/** Journal writes held until the test settles them, in order. */
class HeldJournal implements Journal {
  readonly held: { revision: number; ok: () => void; fail: (message: string) => void }[] = [];
  /** When set, writes settle at once: true succeeds, false fails. */
  auto: boolean | undefined = true;

  write(revision: number): Promise<void> {
    if (this.auto === true) return Promise.resolve();
    if (this.auto === false) return Promise.reject(ioError("No space left on device"));
    return new Promise((ok, fail) =>
      this.held.push({ revision, ok, fail: (message) => fail(ioError(message)) }),
    );
  }

  next(): { ok: () => void; fail: (message: string) => void } {
    const w = this.held.shift();
    assert.ok(w, "a journal write is held");
    return w;
  }
}

const until = async (cond: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setImmediate(r));
  assert.ok(cond());
};

/** Lets every promise and immediate the store has queued run. */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
};

const storeIo = (match: RegExp) => (err: unknown) =>
  isAugurError(err, "STORE_IO") && match.test((err as Error).message);

describe("store - a failed journal write", () => {
  it("journal - a failed write is taken back out of memory; writes made on top of it fail too, then writes resume", async () => {
    const journal = new HeldJournal();
    const store = new MemoryStore({ journal });
    await store.put("k", bytes("durable"));
    const durableRev = await store.revision();
    const seen: WatchBatch[] = [];
    const ac = new AbortController();
    const watching = (async () => {
      for await (const b of store.watch("", { signal: ac.signal })) seen.push(b);
    })();

    journal.auto = undefined;
    const first = store.put("k", bytes("lost"));
    // Computed on top of the first: its version and the create-only compare see "lost" and "new".
    const second = store.txn({
      compare: [{ key: "new", target: "exists", exists: false }],
      success: [
        { type: "put", key: "new", value: bytes("x") },
        { type: "delete", key: "k" },
      ],
    });
    await until(() => journal.held.length === 2);
    journal.next().fail("No space left on device");
    await assert.rejects(first, storeIo(/^No space left on device$/));
    // While the second is still in flight, memory still holds both: writes are refused.
    await assert.rejects(
      store.put("other", bytes("1")),
      storeIo(/No space left on device; writes are refused until/),
    );
    // Reads are not refused.
    assert.equal((await store.range("")).kvs.length, 1);
    journal.next().fail("No space left on device");
    await assert.rejects(second, storeIo(/^No space left on device$/));

    // Both are undone: memory holds what the journal holds, and writes go through again.
    const k = await store.get("k");
    assert.equal(text(k?.value), "durable");
    assert.equal(k?.modRevision, durableRev);
    assert.equal(k?.version, 1);
    assert.equal(await store.get("new"), undefined);
    journal.auto = true;
    const created = await store.txn({
      compare: [{ key: "new", target: "exists", exists: false }],
      success: [{ type: "put", key: "new", value: bytes("y") }],
    });
    assert.equal(created.succeeded, true, "create-only succeeds: the failed create is gone");
    // Revisions only grow: the failed ones are not reused.
    assert.equal(created.revision, durableRev + 3);
    assert.equal((await store.get("new"))?.createRevision, durableRev + 3);
    await until(() => seen.length === 1);
    ac.abort();
    await watching;
    // Watchers saw only what became durable.
    assert.deepEqual(
      seen.map((b) => b.revision),
      [durableRev + 3],
    );
    await store.close();
  });

  it("journal - a write that reached the disk after a failed one: writes stay refused until a restart", async () => {
    const journal = new HeldJournal();
    const store = new MemoryStore({ journal });
    journal.auto = undefined;
    const first = store.put("a", bytes("1"));
    const second = store.put("b", bytes("2"));
    await until(() => journal.held.length === 2);
    journal.next().fail("Input/output error");
    journal.next().ok();
    await assert.rejects(first, storeIo(/^Input\/output error$/));
    await second; // durable: acknowledged
    journal.auto = true;
    await assert.rejects(
      store.put("c", bytes("3")),
      storeIo(/^Input\/output error; a later write reached the disk .* until the agent restarts$/),
    );
    await store.close();
  });

  it("journal - a failed put under a lease leaves the lease's keys as they were; a failed grant grants nothing", async () => {
    const journal = new HeldJournal();
    const store = new MemoryStore({ journal });
    const lease = await store.grant(60);
    await store.put("held", bytes("1"), { lease });
    const other = await store.grant(60);
    journal.auto = false;
    await assert.rejects(store.put("held", bytes("2"), { lease: other }), storeIo(/./));
    await assert.rejects(store.put("fresh", bytes("2"), { lease: other }), storeIo(/./));
    await assert.rejects(store.grant(60), storeIo(/./));
    journal.auto = true;
    // The key is back on its first lease: revoking the other deletes nothing, the first deletes it.
    await store.revoke(other);
    assert.equal(text((await store.get("held"))?.value), "1");
    assert.equal(await store.get("fresh"), undefined);
    await store.revoke(lease);
    assert.equal(await store.get("held"), undefined);
    await store.close();
  });

  it("journal - a lease that expires while writes fail keeps its keys' lease and deletes them once writes succeed", async () => {
    mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000_000 });
    try {
      const journal = new HeldJournal();
      const store = new MemoryStore({ journal });
      const lease = await store.grant(10);
      await store.put("lock", bytes("held"), { lease });
      journal.auto = false;
      mock.timers.tick(10_000);
      await settle();
      // The delete was refused: the key is still there, and still attached to a lease.
      assert.equal(text((await store.get("lock"))?.value), "held");
      journal.auto = true;
      mock.timers.tick(1_000);
      await settle();
      assert.equal(await store.get("lock"), undefined, "deleted on the retry");
      await assert.rejects(store.keepAlive(lease), (err) => isAugurError(err, "NOT_FOUND"));
      await store.close();
    } finally {
      mock.timers.reset();
    }
  });
});
