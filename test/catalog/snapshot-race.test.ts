/**
 * A write that lands between a restore's read of the store and its transaction: on the embedded
 * store the transaction's compares fail, the restore plans again from the new state and retries,
 * so the result is exactly the snapshot and the racing write is ordered wholly before it. The
 * store is a real MemoryStore; the subclass only makes the race happen at a known point.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MemoryStore } from "../../src/store/memory/memory-store.js";
import type { TxnRequest, TxnResponse } from "../../src/store/store.js";
import { Catalog } from "../../src/catalog/catalog.js";
import { encodeRecord, type KvRecord } from "../../src/catalog/records.js";
import { restoreSnapshot, saveSnapshot } from "../../src/catalog/snapshot.js";

/** Runs `race` once, just before the next transaction; counts the guarded ones. */
class RacingStore extends MemoryStore {
  race: (() => Promise<void>) | undefined;
  guarded = 0;

  override async txn(request: TxnRequest): Promise<TxnResponse> {
    if (request.compare.length > 0) this.guarded++;
    const race = this.race;
    this.race = undefined;
    if (race) await race();
    return super.txn(request);
  }
}

const record = (key: string, value: string): Uint8Array =>
  encodeRecord({
    Key: key,
    Flags: 0,
    Value: Buffer.from(value).toString("base64"),
    LockIndex: 0,
  } satisfies KvRecord);

describe("snapshot - a write racing a restore", () => {
  it("snapshot - the restore retries on its compares and ends exactly at the snapshot", async () => {
    const store = new RacingStore();
    const catalog = new Catalog(store, { datacenter: "dc1" });
    await catalog.start();
    try {
      await store.put("kv/a", record("a", "saved"));
      await store.put("kv/b", record("b", "saved"));
      const { archive } = await saveSnapshot(catalog);
      const saved = (await store.range("kv/")).kvs.map((kv) => [kv.key, kv.value]);
      await store.put("kv/a", record("a", "changed"));

      store.race = async () => {
        await store.put("kv/a", record("a", "raced"));
        await store.put("kv/raced", record("raced", "new"));
      };
      await restoreSnapshot(catalog, archive);

      assert.equal(store.guarded, 2, "the first transaction failed its compares and was retried");
      assert.deepEqual(
        (await store.range("kv/")).kvs.map((kv) => [kv.key, kv.value]),
        saved,
        "the racing writes are ordered before the restore",
      );
    } finally {
      await catalog.stop();
      await store.close();
    }
  });
});
