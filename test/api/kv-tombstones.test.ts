/**
 * Deleted keys leave nothing behind once their tombstones are reaped: the catalog view keeps at
 * most KV_TOMBSTONE_LIMIT tombstones and forgets the deleted keys' scope indexes with them, and
 * a prefix read never answers an index below a reaped deletion.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { KV_TOMBSTONE_LIMIT } from "../../src/catalog/view.js";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";
import { inspectView } from "../../src/catalog/catalog.js";

describe("kv - tombstones are bounded", () => {
  let a: TestAgent;
  before(async () => (a = await startTestAgent()));
  after(async () => a.stop());

  const txn = async (ops: unknown[]): Promise<void> => {
    const res = await a.call("PUT", "/v1/txn", ops);
    assert.equal(res.status, 200, await res.clone().text());
  };
  const indexOf = async (path: string): Promise<number> =>
    Number((await a.call("GET", path)).headers.get("x-consul-index"));

  it("kv tombstones - creating and deleting many unique keys keeps the view's maps bounded; prefix indexes never go back", async () => {
    const view = inspectView(a.running.catalog);
    await a.call("PUT", "/v1/kv/t/keep", "1");
    await a.call("PUT", "/v1/kv/t/gone", "1");
    await a.call("DELETE", "/v1/kv/t/gone");
    const before = await indexOf("/v1/kv/t/?recurse");
    assert.ok(before > 0);
    const scopesBefore = view.scopes.size();
    const total = KV_TOMBSTONE_LIMIT + 6_000;
    const value = Buffer.from("v").toString("base64");
    for (let base = 0; base < total; base += 64) {
      const keys = Array.from({ length: Math.min(64, total - base) }, (_, i) => `u/${base + i}`);
      await txn(keys.map((Key) => ({ KV: { Verb: "set", Key, Value: value } })));
      await txn(keys.map((Key) => ({ KV: { Verb: "delete", Key } })));
    }
    assert.equal(
      view.kvTombstones.size,
      KV_TOMBSTONE_LIMIT,
      "tombstones beyond the limit are reaped",
    );
    assert.ok(!view.kvTombstones.has("t/gone"), "the oldest tombstone went first");
    assert.ok(
      view.scopes.size() <= scopesBefore + KV_TOMBSTONE_LIMIT + 16,
      `scope indexes: ${view.scopes.size()}`,
    );
    assert.ok(view.kvTombstoneFloor >= before);
    const afterReap = await indexOf("/v1/kv/t/?recurse");
    assert.ok(afterReap >= before, `prefix index went from ${before} back to ${afterReap}`);
  });
});
