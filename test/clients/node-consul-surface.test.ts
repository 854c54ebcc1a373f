/**
 * #11 item 10: the endpoints #11 added, driven through the npm `consul` client (node-consul
 * 2.0.1) where it has calls for them: prepared queries, transactions with catalog ops, ACLs
 * while they are off, the server identity (agent/self, members -wan, status/leader, the consul
 * service). Against a real `augur agent -dev` child process.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import Consul from "consul";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";

/** The calls below, loosely typed: node-consul's .d.ts leaves out fields and calls it has. */
type Call = (...args: unknown[]) => Promise<unknown>;
interface LooseConsul {
  query: Record<"create" | "list" | "get" | "update" | "execute" | "explain" | "destroy", Call>;
  transaction: { create: Call };
}

describe("npm consul client - #11 endpoints", () => {
  let agent: AgentProcess;
  let consul: Consul;
  let loose: LooseConsul;

  before(async () => {
    agent = await startAgentProcess();
    const [host, port] = agent.httpAddr.split(":");
    consul = new Consul({ host: host ?? "127.0.0.1", port: Number(port) });
    loose = consul as unknown as LooseConsul;
    await consul.agent.service.register({ name: "web", id: "web-1", port: 80, tags: ["v1"] });
    await consul.agent.service.register({ name: "web", id: "web-2", port: 81, tags: ["v2"] });
  });
  after(async () => {
    consul.destroy();
    await agent.stop();
  });

  it("node-consul - prepared queries: create, list, get, update, execute, explain, destroy", async () => {
    const created = (await loose.query.create({
      name: "web-v1",
      service: { service: "web", tags: ["v1"], onlypassing: false },
    })) as { ID: string };
    assert.match(created.ID, /^[0-9a-f-]{36}$/);
    const list = (await loose.query.list()) as { ID: string; Name: string }[];
    assert.deepEqual(
      list.map((q) => [q.ID, q.Name]),
      [[created.ID, "web-v1"]],
    );
    // node-consul hands over the one element of Consul's one-element array.
    const got = (await loose.query.get(created.ID)) as { Service: { Tags: string[] } };
    assert.deepEqual(got.Service.Tags, ["v1"]);
    const run = (await loose.query.execute("web-v1")) as {
      Service: string;
      Nodes: { Service: { ID: string } }[];
      Failovers: number;
    };
    assert.equal(run.Service, "web");
    assert.deepEqual(
      run.Nodes.map((n) => n.Service.ID),
      ["web-1"],
    );
    assert.equal(run.Failovers, 0);
    await loose.query.update({
      query: created.ID,
      name: "web-v1",
      service: { service: "web", tags: ["v2"] },
    });
    const updated = (await loose.query.execute(created.ID)) as {
      Nodes: { Service: { ID: string } }[];
    };
    assert.deepEqual(
      updated.Nodes.map((n) => n.Service.ID),
      ["web-2"],
    );
    // node-consul's explain takes the first element of an array, and Consul (as augur) answers
    // an object, so the client hands over undefined; the call itself must still succeed.
    assert.equal(await loose.query.explain(created.ID), undefined);
    const explained = (await (
      await fetch(`${agent.url}/v1/query/${created.ID}/explain`)
    ).json()) as { Query: { ID: string; Service: { Tags: string[] } } };
    assert.equal(explained.Query.ID, created.ID);
    assert.deepEqual(explained.Query.Service.Tags, ["v2"]);
    await loose.query.destroy(created.ID);
    assert.deepEqual(await loose.query.list(), []);
    await assert.rejects(loose.query.get(created.ID), /not found/i);
  });

  it("node-consul - a transaction with KV, Node and Service ops applies as one", async () => {
    const out = (await loose.transaction.create([
      { KV: { Verb: "set", Key: "txn/a", Value: Buffer.from("1").toString("base64") } },
      { Node: { Verb: "set", Node: { Node: "ext-1", Address: "10.0.0.9" } } },
      {
        Service: {
          Verb: "set",
          Node: "ext-1",
          Service: { ID: "db-1", Service: "db", Port: 5432 },
        },
      },
      { Node: { Verb: "get", Node: { Node: "ext-1" } } },
    ])) as { Results: Record<string, { Node?: string; Key?: string }>[]; Errors: unknown };
    assert.equal(out.Errors, null);
    assert.equal(out.Results.length, 4);
    assert.equal(out.Results[0]?.["KV"]?.Key, "txn/a");
    assert.equal(out.Results[3]?.["Node"]?.Node, "ext-1");
    const db = (await consul.catalog.service.nodes("db")) as { Node: string }[];
    assert.deepEqual(
      db.map((n) => n.Node),
      ["ext-1"],
    );
    // A failing op (CAS on a stale index) leaves nothing behind, and the client sees the 409.
    await assert.rejects(
      loose.transaction.create([
        { KV: { Verb: "set", Key: "txn/b", Value: "" } },
        { Node: { Verb: "cas", Node: { Node: "ext-1", Address: "x", ModifyIndex: 1 } } },
      ]),
    );
    assert.equal(await consul.kv.get("txn/b"), undefined);
  });

  it("node-consul - ACLs off: acl.bootstrap and acl.replication answer 'ACL support disabled'", async () => {
    await assert.rejects(consul.acl.bootstrap(), /ACL support disabled/);
    await assert.rejects(consul.acl.replication(), /ACL support disabled/);
  });

  it("node-consul - a -dev agent is a server: self, members -wan, status.leader, the consul service", async () => {
    const self = (await consul.agent.self()) as {
      Config: { Server: boolean; NodeName: string };
      Stats: { consul: { leader_addr: string } };
    };
    assert.equal(self.Config.Server, true);
    assert.equal(await consul.status.leader(), self.Stats.consul.leader_addr);
    const wan = (await consul.agent.members({ wan: true })) as { Name: string }[];
    assert.deepEqual(
      wan.map((m) => m.Name),
      [`${self.Config.NodeName}.dc1`],
    );
    const servers = (await consul.health.service("consul")) as {
      Service: { ID: string; Port: number };
    }[];
    assert.deepEqual(
      servers.map((e) => [e.Service.ID, e.Service.Port]),
      [["consul", 8300]],
    );
  });
});
