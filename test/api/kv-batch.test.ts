/**
 * Group commit of plain KV writes: concurrent PUTs share transactions (fewer store round trips)
 * and each still lands, with its value, in order per key. Runs on the real memory store,
 * counting its transactions, and end to end through an agent's HTTP API.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MemoryStore } from "../../src/store/memory/memory-store.js";
import type { TxnRequest, TxnResponse } from "../../src/store/store.js";
import { KvSetBatcher } from "../../src/catalog/kv-batch.js";
import { decodeRecord, keys, type KvRecord } from "../../src/catalog/records.js";
import { startTestAgent } from "../helpers/in-process-agent.js";

class CountingStore extends MemoryStore {
  txns = 0;
  override txn(request: TxnRequest): Promise<TxnResponse> {
    this.txns++;
    return super.txn(request);
  }
}

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const valueOf = async (store: MemoryStore, key: string): Promise<string> => {
  const kv = await store.get(keys.kv(key));
  return kv
    ? Buffer.from(decodeRecord<KvRecord>(kv.value).Value ?? "", "base64").toString()
    : "(absent)";
};

describe("KV group commit", () => {
  it("kv-batch - 100 concurrent writes to distinct keys all land, in far fewer transactions", async () => {
    const store = new CountingStore();
    const batcher = new KvSetBatcher(store, { kv: new Map(), sessions: new Map() });
    const revisions = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        batcher.set({ verb: "set", key: `b/${i}`, value: bytes(`v${i}`) }),
      ),
    );
    assert.ok(store.txns >= 2 && store.txns < 100, `${store.txns} transactions`);
    for (let i = 0; i < 100; i++) assert.equal(await valueOf(store, `b/${i}`), `v${i}`);
    for (const [i, r] of revisions.entries())
      assert.equal(
        (await store.get(keys.kv(`b/${i}`)))?.modRevision,
        r,
        "each write resolves with the revision that holds it",
      );
  });

  it("kv-batch - writes to one key never share a transaction: each gets its own revision, the last wins", async () => {
    const store = new CountingStore();
    const batcher = new KvSetBatcher(store, { kv: new Map(), sessions: new Map() });
    const revs = await Promise.all(
      ["1", "2", "3"].map((v) => batcher.set({ verb: "set", key: "same", value: bytes(v) })),
    );
    assert.equal(new Set(revs).size, 3);
    assert.deepEqual(
      [...revs].sort((a, b) => a - b),
      revs,
      "applied in the order they were sent",
    );
    assert.equal(await valueOf(store, "same"), "3");
  });

  it("kv-batch - through the HTTP API: 64 concurrent PUTs (some to the same key) answer true and read back", async () => {
    const agent = await startTestAgent();
    try {
      const answers = await Promise.all(
        Array.from({ length: 64 }, (_, i) =>
          agent.call("PUT", `/v1/kv/http/${i % 48}`, `x${i}`).then((r) => r.text()),
        ),
      );
      assert.ok(answers.every((a) => a === "true"));
      for (let k = 0; k < 48; k++) {
        const raw = await (await agent.call("GET", `/v1/kv/http/${k}?raw`)).text();
        const writers = k + 48 < 64 ? [`x${k}`, `x${k + 48}`] : [`x${k}`];
        assert.ok(writers.includes(raw), `key ${k}: ${raw} is one of ${writers.join(", ")}`);
      }
    } finally {
      await agent.stop();
    }
  });
});
