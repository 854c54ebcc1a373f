import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MemoryStore } from "../../src/store/memory/memory-store.js";
import { isAugurError } from "../../src/lib/errors.js";
import { storeContract } from "./contract.js";

storeContract("MemoryStore", async () => {
  const store = new MemoryStore();
  return { store, cleanup: () => store.close() };
});

describe("MemoryStore history", () => {
  it("memory - a watch from a compacted revision fails with STORE_COMPACTED", async () => {
    const store = new MemoryStore({ historyLimit: 3 });
    for (let i = 0; i < 10; i++) await store.put(`k${i}`, new Uint8Array([i]));
    const iter = store.watch("", { fromRevision: 3 })[Symbol.asyncIterator]();
    await assert.rejects(async () => iter.next(), (err) => isAugurError(err, "STORE_COMPACTED"));
    await store.close();
  });
});
