/**
 * Cluster mode on a real etcd: two agents (child processes) sharing one catalog; kill -9 of one
 * turns its serfHealth critical on the other.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";
import { startEtcdCluster, type EtcdCluster } from "../helpers/etcd-cluster.js";

interface Check { CheckID: string; Status: string; Output: string }

describe("cluster mode on etcd", () => {
  let etcd: EtcdCluster;
  let dir = "";
  let a1: AgentProcess;
  let a2: AgentProcess;
  before(async () => {
    etcd = await startEtcdCluster(1);
    dir = await mkdtemp(join(tmpdir(), "augur-cluster-"));
    const args = (node: string): string[] => [`-etcd=${etcd.clientUrls.join(",")}`, "-etcd-prefix", `c${process.pid}/`, "-node", node, "-data-dir", join(dir, node), "-bind", "127.0.0.1"];
    a1 = await startAgentProcess({ args: args("a1") });
    a2 = await startAgentProcess({ args: args("a2") });
  });
  after(async () => {
    await a1.stop();
    await a2.stop();
    await etcd.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("cluster - agents see each other's nodes, services and members", async () => {
    await fetch(`${a1.url}/v1/agent/service/register`, { method: "PUT", body: JSON.stringify({ Name: "shared", Port: 1234 }) });
    const seen = (await (await fetch(`${a2.url}/v1/catalog/service/shared`)).json()) as { Node: string; ServicePort: number }[];
    assert.deepEqual(seen.map((s) => [s.Node, s.ServicePort]), [["a1", 1234]]);
    const members = (await (await fetch(`${a2.url}/v1/agent/members`)).json()) as { Name: string; Status: number }[];
    assert.deepEqual(members.map((m) => [m.Name, m.Status]), [["a1", 1], ["a2", 1]]);
  });

  it("cluster - an event fired on one agent is listed on the other; a lock taken on one is seen on the other", async () => {
    const fired = (await (await fetch(`${a1.url}/v1/event/fire/deploy`, { method: "PUT", body: "v9" })).json()) as { ID: string };
    const list = (await (await fetch(`${a2.url}/v1/event/list?name=deploy`)).json()) as { ID: string }[];
    assert.deepEqual(list.map((e) => e.ID), [fired.ID]);
    const { ID } = (await (await fetch(`${a1.url}/v1/session/create`, { method: "PUT", body: "{}" })).json()) as { ID: string };
    assert.equal(await (await fetch(`${a1.url}/v1/kv/lock?acquire=${ID}`, { method: "PUT", body: "a1" })).text(), "true");
    const [pair] = (await (await fetch(`${a2.url}/v1/kv/lock`)).json()) as { Session?: string }[];
    assert.equal(pair?.Session, ID);
    const other = (await (await fetch(`${a2.url}/v1/session/create`, { method: "PUT", body: "{}" })).json()) as { ID: string };
    assert.equal(await (await fetch(`${a2.url}/v1/kv/lock?acquire=${other.ID}`, { method: "PUT", body: "a2" })).text(), "false");
  });

  it("cluster - kill -9 of an agent turns its serfHealth critical on the other", async () => {
    await a1.kill();
    const end = Date.now() + 15_000;
    let serf: Check | undefined;
    while (Date.now() < end) {
      const checks = (await (await fetch(`${a2.url}/v1/health/node/a1`)).json()) as Check[];
      serf = checks.find((c) => c.CheckID === "serfHealth");
      if (serf?.Status === "critical") break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(serf?.Status, "critical");
    assert.equal(serf?.Output, "Agent not live or unreachable");
    const health = (await (await fetch(`${a2.url}/v1/health/service/shared?passing`)).json()) as unknown[];
    assert.deepEqual(health, []);
    const members = (await (await fetch(`${a2.url}/v1/agent/members`)).json()) as { Name: string; Status: number }[];
    assert.equal(members.find((m) => m.Name === "a1")?.Status, 4);
    // a1's session was tied to its serfHealth: invalidated, so its lock is free again.
    const end2 = Date.now() + 5000;
    let pair: { Session?: string } | undefined = { Session: "x" };
    while (pair?.Session && Date.now() < end2) {
      [pair] = (await (await fetch(`${a2.url}/v1/kv/lock`)).json()) as { Session?: string }[];
      if (pair?.Session) await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(pair?.Session, undefined);
  });
});
