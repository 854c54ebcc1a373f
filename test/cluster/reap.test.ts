/**
 * Consul's `reconnect_timeout` on a real etcd: a member that died is marked failed with the time
 * a live agent first saw it so, and reaped (member, node, services, checks) once it has been
 * failed that long; a member that comes back clears its mark; a member that left is forgotten
 * after Serf's 24 h tombstone timeout. Agents run in this process so time can be faked: the
 * reaping pass is called with a chosen "now" instead of waiting hours.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { startEtcdCluster, type EtcdCluster } from "../helpers/etcd-cluster.js";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";
import { TOMBSTONE_TIMEOUT_MS } from "../../src/agent/agent.js";
import { keys } from "../../src/catalog/records.js";
import { until } from "../watch/manager-helpers.js";

const HOUR = 3600_000;
const TIMEOUT = 8 * HOUR;

describe("reaping failed members (reconnect_timeout) on etcd", () => {
  let etcd: EtcdCluster;
  let a: TestAgent;
  const others: TestAgent[] = [];
  const prefix = `reap${process.pid}/`;
  const join = async (node: string): Promise<TestAgent> => {
    const agent = await startTestAgent({
      nodeName: node,
      nodeId: randomUUID(),
      dev: false,
      etcd: { endpoints: etcd.clientUrls, prefix },
      livenessTtlSeconds: 1,
    });
    others.push(agent);
    return agent;
  };
  const get = async <T>(path: string): Promise<T> =>
    (await (await a.call("GET", path)).json()) as T;
  const members = async (): Promise<[string, number][]> =>
    (await get<{ Name: string; Status: number }[]>("/v1/agent/members")).map((m) => [
      m.Name,
      m.Status,
    ]);
  const reap = (now: number): Promise<string[]> =>
    a.running.catalog.reapFailedMembers(now, TIMEOUT, TOMBSTONE_TIMEOUT_MS);
  const mark = async (node: string): Promise<number | undefined> => {
    const kv = await a.running.catalog.store.get(keys.failed(node));
    return kv
      ? (JSON.parse(Buffer.from(kv.value).toString()) as { FailedAt: number }).FailedAt
      : undefined;
  };
  /** Stops an agent without leaving; its lease lapses as if it had been killed. */
  const die = async (agent: TestAgent, node: string): Promise<void> => {
    await agent.stop();
    await until(
      async () => (await members()).some(([n, s]) => n === node && s === 4),
      10_000,
      `${node} failed`,
    );
  };

  before(async () => {
    etcd = await startEtcdCluster(1);
    a = await join("a");
  });
  after(async () => {
    for (const o of others) await o.stop().catch(() => undefined);
    await etcd.stop();
  });

  it("reap - a failed member is marked, then reaped with its node, services and checks after reconnect_timeout", async () => {
    const b = await join("b");
    await b.call("PUT", "/v1/agent/service/register", {
      Name: "doomed",
      Port: 7,
      Check: { TTL: "30s" },
    });
    await until(
      async () => (await get<unknown[]>("/v1/catalog/service/doomed")).length === 1,
      5000,
      "service seen",
    );
    await die(b, "b");

    const t0 = Date.UTC(2026, 10, 25);
    assert.deepEqual(await reap(t0), [], "first pass only marks");
    assert.equal(await mark("b"), t0, "failure mark holds when it was first seen");
    assert.deepEqual(await reap(t0 + HOUR), []);
    assert.equal(await mark("b"), t0, "a later pass keeps the first time");
    assert.deepEqual(await reap(t0 + TIMEOUT - 1), [], "not before reconnect_timeout");
    assert.ok((await members()).some(([n]) => n === "b"));

    assert.deepEqual(await reap(t0 + TIMEOUT), ["b"]);
    assert.deepEqual(
      (await members()).map(([n]) => n),
      ["a"],
      "gone from members",
    );
    assert.deepEqual(
      (await get<{ Node: string }[]>("/v1/catalog/nodes")).map((n) => n.Node),
      ["a"],
      "node deregistered",
    );
    assert.deepEqual(
      await get<unknown[]>("/v1/catalog/service/doomed"),
      [],
      "its services are gone",
    );
    assert.deepEqual(await get<unknown[]>("/v1/health/node/b"), [], "and its checks");
    assert.equal(await mark("b"), undefined, "mark removed");
    assert.deepEqual(await reap(t0 + 2 * TIMEOUT), [], "nothing left to reap");
  });

  it("reap - a member that comes back before reconnect_timeout clears its mark and is never reaped", async () => {
    const c1 = await join("c");
    await die(c1, "c");
    const t0 = Date.UTC(2026, 10, 26);
    await reap(t0);
    assert.equal(await mark("c"), t0);
    await join("c");
    await until(
      async () => (await members()).some(([n, s]) => n === "c" && s === 1),
      5000,
      "c alive again",
    );
    assert.equal(await mark("c"), undefined, "rejoining cleared the mark");
    assert.deepEqual(await reap(t0 + 10 * TIMEOUT), []);
    assert.ok((await get<{ Node: string }[]>("/v1/catalog/nodes")).some((n) => n.Node === "c"));
  });

  it("reap - a member that left is listed as left, then forgotten after the tombstone timeout", async () => {
    const d = await join("d");
    await d.call("PUT", "/v1/agent/leave");
    await until(
      async () => (await members()).some(([n, s]) => n === "d" && s === 3),
      5000,
      "d left",
    );
    assert.ok(
      !(await get<{ Node: string }[]>("/v1/catalog/nodes")).some((n) => n.Node === "d"),
      "leave deregistered the node",
    );
    assert.deepEqual(await reap(Date.now()), []);
    assert.ok(
      (await members()).some(([n]) => n === "d"),
      "still listed as left within the tombstone timeout",
    );
    await reap(Date.now() + TOMBSTONE_TIMEOUT_MS + 1000);
    assert.ok(!(await members()).some(([n]) => n === "d"), "forgotten");
  });
});
