/**
 * KV writes read their inputs from the agent's local view first (one store round trip fewer).
 * The view can lag the store (another agent wrote through etcd a moment ago); these tests hand
 * runKvOps a view that is deliberately behind a real store and check that no answer is decided
 * by the stale view: writes land on the current record, and a `cas` or a check that the stale
 * view would refuse is recomputed from the store.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MemoryStore } from "../../src/store/memory/memory-store.js";
import { runKvOps, type KvOp, type LocalKv } from "../../src/catalog/kv.js";
import { decodeRecord, keys, type KvRecord } from "../../src/catalog/records.js";
import type { Stored } from "../../src/catalog/view.js";

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const set = (key: string, value: string): KvOp => ({ verb: "set", key, value: bytes(value) });

/** A snapshot of the store's KV as a view would hold it, frozen at the time of the call. */
async function snapshot(store: MemoryStore): Promise<LocalKv> {
  const kv = new Map<string, Stored<KvRecord>>();
  for (const e of (await store.range(keys.kv(""))).kvs)
    kv.set(e.key.slice(keys.kv("").length), {
      key: e.key,
      value: decodeRecord<KvRecord>(e.value),
      createRevision: e.createRevision,
      modRevision: e.modRevision,
    });
  return { kv, sessions: new Map() };
}

describe("KV writes with reads from a lagging view", () => {
  it("kv-view - a cas at the store's current index succeeds even though the view still has the old one", async () => {
    const store = new MemoryStore();
    await runKvOps(store, [set("k", "1")]);
    const stale = await snapshot(store);
    const second = await runKvOps(store, [set("k", "2")]);
    const r = await runKvOps(
      store,
      [{ verb: "cas", key: "k", value: bytes("3"), index: second.revision }],
      { view: stale },
    );
    assert.equal(r.applied, true, "decided by the store, not the stale view");
    const now = await store.get(keys.kv("k"));
    assert.equal(
      Buffer.from(
        decodeRecord<KvRecord>(now?.value ?? bytes("{}")).Value ?? "",
        "base64",
      ).toString(),
      "3",
    );
  });

  it("kv-view - a cas at the index only the stale view has is refused", async () => {
    const store = new MemoryStore();
    const first = await runKvOps(store, [set("k", "1")]);
    const stale = await snapshot(store);
    await runKvOps(store, [set("k", "2")]);
    const r = await runKvOps(
      store,
      [{ verb: "cas", key: "k", value: bytes("x"), index: first.revision }],
      { view: stale },
    );
    assert.equal(r.applied, false);
  });

  it("kv-view - a plain write over a stale view keeps the store's record current (no lost update)", async () => {
    const store = new MemoryStore();
    const created = await runKvOps(store, [set("k", "1")]);
    const stale = await snapshot(store);
    await runKvOps(store, [set("k", "2")]);
    const r = await runKvOps(store, [set("k", "3")], { view: stale });
    assert.equal(r.applied, true);
    const kv = await store.get(keys.kv("k"));
    assert.equal(kv?.modRevision, r.revision, "the write is the latest revision");
    assert.equal(
      kv?.createRevision,
      created.revision,
      "the key keeps the CreateIndex of its first write",
    );
  });

  it("kv-view - a key the stale view does not have yet is not created twice: check-not-exists is answered by the store", async () => {
    const store = new MemoryStore();
    const stale = await snapshot(store);
    await runKvOps(store, [set("fresh", "1")]);
    const r = await runKvOps(
      store,
      [{ verb: "check-not-exists", key: "fresh" }, set("other", "x")],
      { view: stale },
    );
    assert.equal(r.errors.length, 1, "the key exists in the store");
    assert.equal(await store.get(keys.kv("other")), undefined, "nothing written");
  });
});
