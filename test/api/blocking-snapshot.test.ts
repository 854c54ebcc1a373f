/**
 * A regression: an agent that loads its catalog from a snapshot (a restart on its data dir, a
 * join to an etcd that already has data, a resync after compaction) marks every scope with the
 * snapshot's revision, while a key's X-Consul-Index stays its ModifyIndex. A blocking query at
 * that ModifyIndex used to wake at once, read the same index, and loop without yielding — the
 * agent stopped answering anyone. It must park until the key changes or `wait` ends.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";

describe("blocking queries after the view loaded a snapshot", () => {
  let dir = "";
  let agent: AgentProcess | undefined;
  before(async () => (dir = await mkdtemp(join(tmpdir(), "augur-snapshot-"))));
  after(async () => {
    await agent?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("blocking - a query at a key's ModifyIndex older than the snapshot parks for its wait and the agent keeps answering", async () => {
    const args = ["-data-dir", join(dir, "data"), "-bind", "127.0.0.1", "-node", "snap"];
    agent = await startAgentProcess({ args });
    await fetch(`${agent.url}/v1/kv/old`, { method: "PUT", body: "1" });
    for (let i = 0; i < 3; i++)
      await fetch(`${agent.url}/v1/kv/newer-${i}`, { method: "PUT", body: "x" });
    await agent.stop();
    agent = await startAgentProcess({ args });

    const first = await fetch(`${agent.url}/v1/kv/old`);
    const index = Number(first.headers.get("x-consul-index"));
    const started = Date.now();
    const blocked = fetch(`${agent.url}/v1/kv/old?index=${index}&wait=1s`, {
      signal: AbortSignal.timeout(10_000),
    });
    await new Promise((r) => setTimeout(r, 200));
    const self = await fetch(`${agent.url}/v1/agent/self`, { signal: AbortSignal.timeout(3000) });
    assert.equal(self.status, 200, "the agent still answers while the query parks");
    const res = await blocked;
    assert.equal(res.status, 200);
    assert.equal(Number(res.headers.get("x-consul-index")), index, "nothing changed: same index");
    assert.ok(Date.now() - started >= 900, `it waited for ?wait (${Date.now() - started} ms)`);

    // And a change still wakes it.
    const woken = fetch(`${agent.url}/v1/kv/old?index=${index}&wait=30s`, {
      signal: AbortSignal.timeout(10_000),
    });
    await new Promise((r) => setTimeout(r, 200));
    await fetch(`${agent.url}/v1/kv/old`, { method: "PUT", body: "2" });
    const changed = await woken;
    assert.ok(Number(changed.headers.get("x-consul-index")) > index);
  });
});
