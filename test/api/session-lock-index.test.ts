/**
 * The view's index of locks by session, which destroy and the orphan sweep use instead of a scan
 * of every key (a client could otherwise make each session destroy walk a million keys).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";
import { inspectView } from "../../src/catalog/catalog.js";

describe("sessions - locks indexed by session", () => {
  let a: TestAgent;
  before(async () => (a = await startTestAgent()));
  after(async () => a.stop());

  const session = async (): Promise<string> =>
    ((await (await a.call("PUT", "/v1/session/create", {})).json()) as { ID: string }).ID;
  const locked = (id: string): string[] =>
    inspectView(a.running.catalog)
      .locksOf(id)
      .map((s) => s.value.Key)
      .sort();

  it("lock index - follows acquire, writes that keep the lock, release, delete and destroy", async () => {
    const s1 = await session();
    const s2 = await session();
    for (const k of ["l/a", "l/b", "l/c"])
      assert.equal(await (await a.call("PUT", `/v1/kv/${k}?acquire=${s1}`, "x")).text(), "true");
    assert.equal(await (await a.call("PUT", `/v1/kv/l/d?acquire=${s2}`, "x")).text(), "true");
    assert.deepEqual(locked(s1), ["l/a", "l/b", "l/c"]);
    await a.call("PUT", "/v1/kv/l/a", "plain write keeps the holder");
    assert.deepEqual(locked(s1), ["l/a", "l/b", "l/c"]);
    await a.call("PUT", `/v1/kv/l/b?release=${s1}`, "x");
    await a.call("DELETE", "/v1/kv/l/c");
    assert.deepEqual(locked(s1), ["l/a"]);
    assert.ok(inspectView(a.running.catalog).lockHolders().includes(s2));
    await a.call("PUT", `/v1/session/destroy/${s1}`);
    assert.deepEqual(locked(s1), []);
    assert.ok(!inspectView(a.running.catalog).lockHolders().includes(s1));
    const [pair] = (await (await a.call("GET", "/v1/kv/l/a")).json()) as { Session?: string }[];
    assert.equal(pair?.Session, undefined, "the destroy released it");
    assert.deepEqual(locked(s2), ["l/d"], "another session's lock is untouched");
  });
});
