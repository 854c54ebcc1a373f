/**
 * A 3-member etcd under an agent: losing one member changes nothing; losing two makes writes fail
 * with Consul's "No cluster leader" (500) within the call deadline, and the agent recovers when
 * the members return.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";
import { startEtcdCluster, type EtcdCluster } from "../helpers/etcd-cluster.js";

describe("cluster quorum", () => {
  let etcd: EtcdCluster;
  let agent: AgentProcess;
  let dir = "";
  before(async () => {
    etcd = await startEtcdCluster(3);
    dir = await mkdtemp(join(tmpdir(), "augur-quorum-"));
    agent = await startAgentProcess({ args: [`-etcd=${etcd.clientUrls.join(",")}`, "-node", "q1", "-data-dir", dir, "-bind", "127.0.0.1"] });
  });
  after(async () => {
    await agent.stop();
    await etcd.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const put = (key: string, value: string): Promise<Response> => fetch(`${agent.url}/v1/kv/${key}`, { method: "PUT", body: value });

  it("quorum - one member down: reads and writes keep working", async () => {
    await etcd.killMember(2);
    // The client may first try the dead member; allow a short settling period.
    let res = await put("q/a", "1");
    for (let i = 0; i < 10 && res.status !== 200; i++) res = await put("q/a", "1");
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "true");
    const [pair] = (await (await fetch(`${agent.url}/v1/kv/q/a`)).json()) as { Value: string }[];
    assert.equal(Buffer.from(pair?.Value ?? "", "base64").toString(), "1");
  });

  it("quorum - two members down: writes fail with 500 No cluster leader; they recover when members return", async () => {
    await etcd.killMember(1);
    const started = Date.now();
    const res = await put("q/b", "2");
    assert.equal(res.status, 500);
    assert.equal(await res.text(), "No cluster leader");
    assert.ok(Date.now() - started < 30_000, "the write failed in bounded time");
    await etcd.startMember(1);
    await etcd.startMember(2);
    const end = Date.now() + 30_000;
    let ok = false;
    while (!ok && Date.now() < end) {
      ok = (await put("q/b", "3")).status === 200;
      if (!ok) await new Promise((r) => setTimeout(r, 500));
    }
    assert.ok(ok, "writes work again after the members return");
    const [pair] = (await (await fetch(`${agent.url}/v1/kv/q/b`)).json()) as { Value: string }[];
    assert.equal(Buffer.from(pair?.Value ?? "", "base64").toString(), "3");
  });
});
