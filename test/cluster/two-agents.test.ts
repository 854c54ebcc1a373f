/**
 * Cluster mode on a real etcd: two agents (child processes) sharing one catalog; kill -9 of one
 * turns its serfHealth critical on the other, and a `checks` watch on the other fires.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";
import { until } from "../watch/manager-helpers.js";
import { startEtcdCluster, type EtcdCluster } from "../helpers/etcd-cluster.js";
import { httpReceiver, type HttpReceiver } from "../watch/receivers.js";

interface Check {
  CheckID: string;
  Status: string;
  Output: string;
}

describe("cluster mode on etcd", () => {
  let etcd: EtcdCluster;
  let dir = "";
  let a1: AgentProcess;
  let a2: AgentProcess;
  let critical: HttpReceiver;
  let events: HttpReceiver;
  before(async () => {
    etcd = await startEtcdCluster(1);
    dir = await mkdtemp(join(tmpdir(), "augur-cluster-"));
    critical = await httpReceiver();
    const watch = join(dir, "watch.json");
    events = await httpReceiver();
    await writeFile(
      watch,
      JSON.stringify({
        watches: [
          {
            type: "checks",
            state: "critical",
            handler_type: "http",
            http_handler_config: { path: critical.url },
          },
          {
            type: "event",
            name: "deploy",
            on_start: "never",
            handler_type: "http",
            http_handler_config: { path: events.url },
          },
        ],
      }),
    );
    const args = (node: string): string[] => [
      `-etcd=${etcd.clientUrls.join(",")}`,
      "-etcd-prefix",
      `c${process.pid}/`,
      "-node",
      node,
      "-data-dir",
      join(dir, node),
      "-bind",
      "127.0.0.1",
    ];
    a1 = await startAgentProcess({ args: args("a1") });
    a2 = await startAgentProcess({ args: [...args("a2"), "-config-file", watch] });
  });
  after(async () => {
    await a1.stop();
    await a2.stop();
    await critical.close();
    await events.close();
    await etcd.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("cluster - agents see each other's nodes, services and members", async () => {
    await fetch(`${a1.url}/v1/agent/service/register`, {
      method: "PUT",
      body: JSON.stringify({ Name: "shared", Port: 1234 }),
    });
    const seen = (await (await fetch(`${a2.url}/v1/catalog/service/shared`)).json()) as {
      Node: string;
      ServicePort: number;
    }[];
    assert.deepEqual(
      seen.map((s) => [s.Node, s.ServicePort]),
      [["a1", 1234]],
    );
    const members = (await (await fetch(`${a2.url}/v1/agent/members`)).json()) as {
      Name: string;
      Status: number;
    }[];
    assert.deepEqual(
      members.map((m) => [m.Name, m.Status]),
      [
        ["a1", 1],
        ["a2", 1],
      ],
    );
  });

  it("cluster - an event fired on one agent is listed on the other; a lock taken on one is seen on the other", async () => {
    const fired = (await (
      await fetch(`${a1.url}/v1/event/fire/deploy`, { method: "PUT", body: "v9" })
    ).json()) as { ID: string };
    const list = (await (await fetch(`${a2.url}/v1/event/list?name=deploy`)).json()) as {
      ID: string;
    }[];
    assert.deepEqual(
      list.map((e) => e.ID),
      [fired.ID],
    );
    // a2's `event` watch fires for the event fired on a1.
    const end = Date.now() + 10_000;
    const fired2 = (): boolean =>
      events.requests.some((r) =>
        (JSON.parse(r.body.toString()) as { ID: string }[]).some((e) => e.ID === fired.ID),
      );
    while (!fired2() && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    assert.ok(fired2(), "the event watch on a2 delivered the event fired on a1");
    const { ID } = (await (
      await fetch(`${a1.url}/v1/session/create`, { method: "PUT", body: "{}" })
    ).json()) as { ID: string };
    assert.equal(
      await (
        await fetch(`${a1.url}/v1/kv/lock?acquire=${ID}`, { method: "PUT", body: "a1" })
      ).text(),
      "true",
    );
    const [pair] = (await (await fetch(`${a2.url}/v1/kv/lock`)).json()) as { Session?: string }[];
    assert.equal(pair?.Session, ID);
    const other = (await (
      await fetch(`${a2.url}/v1/session/create`, { method: "PUT", body: "{}" })
    ).json()) as { ID: string };
    assert.equal(
      await (
        await fetch(`${a2.url}/v1/kv/lock?acquire=${other.ID}`, { method: "PUT", body: "a2" })
      ).text(),
      "false",
    );
  });

  // The other agent's view has usually caught up before the cas arrives, so this does not force
  // the stale-view path; test/api/kv-view-reads.test.ts does, with a view held behind the store.
  it("cluster - a targeted event reaches only the agents it names: node, service ID and tag filters, as Consul's shouldProcessUserEvent", async () => {
    const fire = async (agent: AgentProcess, query: string): Promise<string> =>
      (
        (await (
          await fetch(`${agent.url}/v1/event/fire/deploy?${query}`, { method: "PUT", body: "t" })
        ).json()) as { ID: string }
      ).ID;
    const listed = async (agent: AgentProcess): Promise<string[]> =>
      (
        (await (await fetch(`${agent.url}/v1/event/list?name=deploy`)).json()) as { ID: string }[]
      ).map((e) => e.ID);
    const reg = await fetch(`${a2.url}/v1/agent/service/register`, {
      method: "PUT",
      body: JSON.stringify({ Name: "web", ID: "web-a2", Tags: ["blue"] }),
    });
    assert.equal(reg.status, 200);
    const onlyA1 = await fire(a2, "node=^a1$");
    const blueWeb = await fire(a1, "service=^web-&tag=^blue$");
    const greenWeb = await fire(a1, "service=^web-&tag=^green$");
    assert.ok((await listed(a1)).includes(onlyA1), "a1 takes the event naming it");
    assert.ok(
      !(await listed(a2)).includes(onlyA1),
      "a2 drops the event naming a1, though a2 fired it",
    );
    assert.ok((await listed(a2)).includes(blueWeb), "a2 has a service web-a2 tagged blue");
    assert.ok(!(await listed(a1)).includes(blueWeb), "a1 has no such service");
    assert.ok(
      !(await listed(a2)).includes(greenWeb) && !(await listed(a1)).includes(greenWeb),
      "no service is tagged green",
    );
    // a2's event watch: the untargeted event after these arrives; the one for a1 never does.
    const last = await fire(a1, "");
    const delivered = (): string[] =>
      events.requests.flatMap((r) =>
        (JSON.parse(r.body.toString()) as { ID: string }[]).map((e) => e.ID),
      );
    await until(
      () => delivered().includes(last),
      10_000,
      "a2's event watch to deliver the untargeted event",
    );
    assert.ok(!delivered().includes(onlyA1), "a2's event watch never delivered the event for a1");
    assert.ok(
      delivered().includes(blueWeb),
      "a2's event watch delivered the event for its service",
    );
    assert.equal(
      (await fetch(`${a2.url}/v1/agent/service/deregister/web-a2`, { method: "PUT" })).status,
      200,
    );
  });

  it("cluster - operator/raft/configuration lists etcd's members, its leader marked", async () => {
    const body = (await (await fetch(`${a1.url}/v1/operator/raft/configuration`)).json()) as {
      Servers: { ID: string; Node: string; Address: string; Leader: boolean; Voter: boolean }[];
    };
    assert.equal(body.Servers.length, 1, "the test's etcd has one member");
    const [m] = body.Servers;
    assert.ok(m && m.Leader && m.Voter, JSON.stringify(m));
    assert.match(m?.Address ?? "", /^127\.0\.0\.1:\d+$/, "the member's peer address");
    assert.match(m?.ID ?? "", /^[0-9a-f]+$/, "etcd's member ID in hex");
  });

  it("cluster - a cas on one agent right after a write on the other sees the write", async () => {
    for (let i = 0; i < 20; i++) {
      await fetch(`${a1.url}/v1/kv/cas-race`, { method: "PUT", body: `a${i}` });
      const [pair] = (await (await fetch(`${a1.url}/v1/kv/cas-race`)).json()) as {
        ModifyIndex: number;
      }[];
      const res = await fetch(`${a2.url}/v1/kv/cas-race?cas=${pair?.ModifyIndex}`, {
        method: "PUT",
        body: `b${i}`,
      });
      assert.equal(
        await res.text(),
        "true",
        `round ${i}: a2 must not answer from a view that has not caught up`,
      );
      const seen = await (await fetch(`${a1.url}/v1/kv/cas-race?raw&consistent`)).text();
      assert.ok(seen === `b${i}` || seen === `a${i}`);
    }
  });

  it("cluster - a recursive delete of 300 keys on etcd (past its 128 operations per transaction) removes them all, seen by both agents; a txn touching more than 128 keys is a clear 413", async () => {
    const put = (i: number): Promise<Response> =>
      fetch(`${a1.url}/v1/kv/tree/${i}`, { method: "PUT", body: "x" });
    for (let i = 0; i < 300; i += 50)
      await Promise.all(Array.from({ length: 50 }, (_, j) => put(i + j)));
    const listed = (await (
      await fetch(`${a2.url}/v1/kv/tree/?keys&consistent`)
    ).json()) as string[];
    assert.equal(listed.length, 300);
    // A get-tree beside a write reads (and compares) every key of the tree in one transaction.
    const txn = await fetch(`${a2.url}/v1/txn`, {
      method: "PUT",
      body: JSON.stringify([
        { KV: { Verb: "get-tree", Key: "tree/" } },
        { KV: { Verb: "set", Key: "tree-marker", Value: "eA==" } },
      ]),
    });
    assert.equal(txn.status, 413);
    assert.match(
      await txn.text(),
      /at most 128 of each in one transaction \(etcd's --max-txn-ops\)/,
    );
    const del = await fetch(`${a2.url}/v1/kv/tree/?recurse`, { method: "DELETE" });
    assert.equal(del.status, 200);
    assert.equal(await del.text(), "true");
    assert.equal((await fetch(`${a1.url}/v1/kv/tree/?keys&consistent`)).status, 404);
    assert.equal((await fetch(`${a2.url}/v1/kv/tree/?keys`)).status, 404);
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
    // a2's `checks` watch (state=critical) fires with a1's serfHealth in Consul's payload.
    // A delivery that is not a JSON list (none should be) simply does not count.
    const a1Critical = (body: Buffer): boolean => {
      let checks: unknown;
      try {
        checks = JSON.parse(body.toString());
      } catch {
        return false;
      }
      return (
        Array.isArray(checks) &&
        (checks as { Node: string; CheckID: string; Status: string }[]).some(
          (c) => c.Node === "a1" && c.CheckID === "serfHealth" && c.Status === "critical",
        )
      );
    };
    const fireEnd = Date.now() + 10_000;
    while (!critical.requests.some((r) => a1Critical(r.body)) && Date.now() < fireEnd)
      await new Promise((r) => setTimeout(r, 100));
    assert.ok(
      critical.requests.some((r) => a1Critical(r.body)),
      `the checks watch on a2 fired for a1 (${critical.requests.length} deliveries)`,
    );
    assert.ok(
      !a1Critical(critical.requests[0]?.body ?? Buffer.from("[]")),
      "its first delivery, before the kill, had no critical serfHealth",
    );
    const health = (await (
      await fetch(`${a2.url}/v1/health/service/shared?passing`)
    ).json()) as unknown[];
    assert.deepEqual(health, []);
    const members = (await (await fetch(`${a2.url}/v1/agent/members`)).json()) as {
      Name: string;
      Status: number;
    }[];
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
