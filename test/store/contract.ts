/**
 * The store contract: one suite every Store implementation must pass (memory, disk, etcd).
 * Revisions are asserted relative to the store's current one, so a store that shares its
 * revision space (etcd) runs the same cases.
 */
import { describe, it, type TestContext } from "node:test";
import assert from "node:assert/strict";
import type { Store, WatchBatch } from "../../src/store/store.js";
import { isAugurError } from "../../src/lib/errors.js";

export interface OpenedStore {
  readonly store: Store;
  cleanup(): Promise<void>;
}

export interface ContractOptions {
  /** Case name → why this store skips it. */
  readonly skip?: Record<string, string>;
  /**
   * The store keeps time with setTimeout and Date, so the lease cases run on node:test's fake
   * timers instead of waiting out a TTL. etcd keeps its own time: it runs them in real time.
   */
  readonly fakeTime?: boolean;
}

/** Yields to I/O (lmdb's commits) without a timer, which fake time would stop. */
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined): string => new TextDecoder().decode(b);

async function take(
  iter: AsyncIterable<WatchBatch>,
  n: number,
  timeoutMs = 5000,
): Promise<WatchBatch[]> {
  const out: WatchBatch[] = [];
  const it = iter[Symbol.asyncIterator]();
  const deadline = Date.now() + timeoutMs;
  while (out.length < n) {
    const next = await Promise.race([
      it.next(),
      new Promise<"timeout">((r) =>
        setTimeout(() => r("timeout"), Math.max(0, deadline - Date.now())),
      ),
    ]);
    if (next === "timeout") assert.fail(`watch delivered ${out.length} of ${n} batches`);
    if (next.done) break;
    out.push(next.value);
  }
  return out;
}

export function storeContract(
  name: string,
  open: () => Promise<OpenedStore>,
  options: ContractOptions = {},
): void {
  const c = (title: string, fn: (store: Store, t: TestContext) => Promise<void>): void => {
    const skip = options.skip?.[title];
    it(`${name} - ${title}`, skip ? { skip } : {}, async (t) => {
      const { store, cleanup } = await open();
      try {
        await fn(store, t);
      } finally {
        t.mock.timers.reset();
        await cleanup();
      }
    });
  };

  describe(`store contract: ${name}`, () => {
    c("a fresh store is at revision 1", async (s) => assert.equal(await s.revision(), 1));

    c("each write moves the revision by one; reads do not", async (s) => {
      const r0 = await s.revision();
      const { revision } = await s.put("a", enc("1"));
      assert.equal(revision, r0 + 1);
      await s.get("a");
      await s.range("");
      assert.equal(await s.revision(), r0 + 1);
      const del = await s.delete("missing");
      assert.equal(del.deleted, 0);
      assert.equal(await s.revision(), r0 + 1);
    });

    c("put/get keep create and mod revisions and the version", async (s) => {
      const first = await s.put("k", enc("v1"));
      const second = await s.put("k", enc("v2"));
      assert.equal(dec(second.prev?.value), "v1");
      const kv = await s.get("k");
      assert.equal(dec(kv?.value), "v2");
      assert.equal(kv?.createRevision, first.revision);
      assert.equal(kv?.modRevision, second.revision);
      assert.equal(kv?.version, 2);
    });

    c("range returns a prefix in key order and nothing outside it", async (s) => {
      for (const k of ["p/b", "p/a", "q/a", "p", "p/c/d"]) await s.put(k, enc(k));
      const { kvs } = await s.range("p/");
      assert.deepEqual(
        kvs.map((kv) => kv.key),
        ["p/a", "p/b", "p/c/d"],
      );
      assert.equal((await s.range("")).kvs.length, 5);
    });

    c(
      "range returns everything at one revision, past a gRPC message (12 MiB of values)",
      async (s) => {
        // etcd's client refuses a reply over 4 MiB by default: one unpaged range of a big store
        // (the view's load at start) would fail, and with it the agent's start.
        const value = new Uint8Array(512 * 1024).fill(0x61);
        for (let i = 0; i < 24; i++) await s.put(`big/${String(i).padStart(2, "0")}`, value);
        const head = await s.revision();
        const { kvs, revision } = await s.range("big/");
        assert.equal(kvs.length, 24);
        assert.equal(revision, head);
        assert.deepEqual(
          kvs.map((kv) => kv.key),
          Array.from({ length: 24 }, (_, i) => `big/${String(i).padStart(2, "0")}`),
        );
        assert.ok(kvs.every((kv) => kv.value.length === value.length));
        assert.equal((await s.range("")).kvs.length, 24);
        // And more keys than one page holds, in order, nothing twice.
        const keys = Array.from({ length: 450 }, (_, i) => `small/${String(i).padStart(3, "0")}`);
        await Promise.all(keys.map((k) => s.put(k, enc(k))));
        assert.deepEqual(
          (await s.range("small/")).kvs.map((kv) => kv.key),
          keys,
        );
        assert.equal((await s.range("")).kvs.length, 24 + 450);
      },
    );

    c("delete and deleteRange report what they removed", async (s) => {
      await s.put("d/1", enc("x"));
      await s.put("d/2", enc("x"));
      await s.put("e/1", enc("x"));
      assert.equal((await s.delete("d/1")).deleted, 1);
      const r = await s.deleteRange("d/");
      assert.equal(r.deleted, 1);
      assert.deepEqual(
        (await s.range("")).kvs.map((kv) => kv.key),
        ["e/1"],
      );
    });

    c("a txn's deleteRange can keep a sub-range, in one revision", async (s) => {
      // Neighbours on both sides of the kept range in byte order, and a key with a non-ASCII
      // character (ordered differently as UTF-16 and as UTF-8).
      for (const k of ["r/a", "r/k", "r/k/1", "r/k/2", "r/k0", "r/l", "r/\u{1F600}", "rr", "q"])
        await s.put(k, enc("x"));
      const r0 = await s.revision();
      const res = await s.txn({
        compare: [],
        success: [{ type: "deleteRange", prefix: "r/", keep: "r/k/" }],
      });
      assert.ok(res.succeeded);
      assert.equal(res.revision, r0 + 1);
      const [first] = res.results;
      assert.equal(first?.type, "deleteRange");
      assert.deepEqual(
        (first?.type === "deleteRange" ? first.deleted.map((kv) => kv.key) : []).sort(),
        ["r/a", "r/k", "r/k0", "r/l", "r/\u{1F600}"].sort(),
      );
      assert.deepEqual(
        (await s.range("")).kvs.map((kv) => kv.key),
        ["q", "r/k/1", "r/k/2", "rr"],
      );
    });

    c("a txn checks every compare and writes in one revision", async (s) => {
      const { revision } = await s.put("t/a", enc("1"));
      const r0 = await s.revision();
      const ok = await s.txn({
        compare: [
          { key: "t/a", target: "modRevision", op: "=", value: revision },
          { key: "t/b", target: "exists", exists: false },
          { key: "t/a", target: "value", op: "=", value: enc("1") },
          { key: "t/a", target: "version", op: ">", value: 0 },
        ],
        success: [
          { type: "put", key: "t/b", value: enc("2") },
          { type: "put", key: "t/c", value: enc("3") },
          { type: "get", key: "t/a" },
        ],
        failure: [{ type: "put", key: "t/failed", value: enc("x") }],
      });
      assert.equal(ok.succeeded, true);
      assert.equal(ok.revision, r0 + 1);
      assert.equal((await s.get("t/b"))?.modRevision, (await s.get("t/c"))?.modRevision);
      const got = ok.results[2];
      assert.equal(got?.type === "get" ? dec(got.kv?.value) : "", "1");
      const failed = await s.txn({
        compare: [{ key: "t/a", target: "modRevision", op: "=", value: 1 }],
        success: [{ type: "delete", key: "t/a" }],
        failure: [{ type: "put", key: "t/failed", value: enc("x") }],
      });
      assert.equal(failed.succeeded, false);
      assert.ok(await s.get("t/a"));
      assert.ok(await s.get("t/failed"));
    });

    c(
      "watch from now sees later writes under its prefix only, one batch per revision",
      async (s) => {
        const ac = new AbortController();
        // From the next revision: the watch sees the writes below however late its stream opens.
        const iter = s.watch("w/", { signal: ac.signal, fromRevision: (await s.revision()) + 1 });
        const batches = take(iter, 2);
        await s.put("x/other", enc("no"));
        await s.txn({
          compare: [],
          success: [
            { type: "put", key: "w/a", value: enc("1") },
            { type: "put", key: "w/b", value: enc("2") },
          ],
        });
        await s.delete("w/a");
        const got = await batches;
        ac.abort();
        assert.equal(got[0]?.events.length, 2);
        const del = got[1]?.events[0];
        assert.equal(del?.type, "delete");
        assert.equal(del?.type === "delete" ? dec(del.prev?.value) : "", "1");
      },
    );

    c("watch from a past revision replays history in order", async (s) => {
      const { revision } = await s.put("h/1", enc("a"));
      await s.put("h/2", enc("b"));
      await s.put("h/1", enc("c"));
      const ac = new AbortController();
      const got = await take(s.watch("h/", { fromRevision: revision, signal: ac.signal }), 3);
      ac.abort();
      assert.deepEqual(
        got.map((b) => b.revision),
        [revision, revision + 1, revision + 2],
      );
    });

    c("aborting a watch ends the iteration", async (s) => {
      const ac = new AbortController();
      const iter = s.watch("a/", { signal: ac.signal })[Symbol.asyncIterator]();
      const next = iter.next();
      ac.abort();
      const r = await next;
      assert.equal(r.done, true);
    });

    c("keys on a lease vanish in one revision when it is revoked", async (s) => {
      const lease = await s.grant(30);
      await s.put("l/a", enc("1"), { lease });
      await s.put("l/b", enc("1"), { lease });
      const ac = new AbortController();
      const batches = take(
        s.watch("l/", { signal: ac.signal, fromRevision: (await s.revision()) + 1 }),
        1,
      );
      await s.revoke(lease);
      const [b] = await batches;
      ac.abort();
      assert.equal(b?.events.length, 2);
      assert.equal((await s.range("l/")).kvs.length, 0);
    });

    c(
      "a lease expires without keep-alives and keepAlive then fails with NOT_FOUND",
      async (s, t) => {
        if (options.fakeTime) t.mock.timers.enable({ apis: ["setTimeout", "Date"] });
        const lease = await s.grant(1);
        await s.put("x/leased", enc("1"), { lease });
        assert.equal(await s.keepAlive(lease), 1);
        if (options.fakeTime) {
          t.mock.timers.tick(999);
          for (let i = 0; i < 20; i++) await turn();
          assert.ok(await s.get("x/leased"), "the key stays until its TTL has passed");
          t.mock.timers.tick(1);
          for (let i = 0; i < 1000 && (await s.get("x/leased")); i++) await turn();
        } else {
          const deadline = Date.now() + 5000;
          while ((await s.get("x/leased")) && Date.now() < deadline)
            await new Promise((r) => setTimeout(r, 100));
        }
        assert.equal(await s.get("x/leased"), undefined);
        await assert.rejects(s.keepAlive(lease), (err) => isAugurError(err, "NOT_FOUND"));
      },
    );

    c("a put on an unknown lease fails with NOT_FOUND", async (s) => {
      await assert.rejects(s.put("x", enc("1"), { lease: "987654321" }), (err) =>
        isAugurError(err, "NOT_FOUND"),
      );
    });

    c("after close calls fail with STORE_CLOSED", async (s) => {
      await s.close();
      await assert.rejects(s.get("a"), (err) => isAugurError(err, "STORE_CLOSED"));
    });
  });
}
