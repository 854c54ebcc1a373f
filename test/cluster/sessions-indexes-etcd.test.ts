/**
 * Cluster mode on a real etcd: sessions stay consistent and indexes never go backwards.
 *
 * - etcd caps a transaction at 128 operations, so a 2,000-lock destroy cannot be one
 *   transaction: the record goes with the first locks and the rest follow. An agent `kill -9`ed
 *   in between leaves locks naming a missing session; a restarted agent frees them before it
 *   answers, and a running agent frees them as soon as it sees the record go.
 * - X-Consul-Index is an etcd revision, shared by every agent: an agent restarted against the
 *   same etcd, another agent joining, or an agent whose view resynced after etcd compacted the
 *   history it missed, never answers an index below what a client was told.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";
import { startEtcdCluster, type EtcdCluster } from "../helpers/etcd-cluster.js";
import {
  createSession,
  keyHolders,
  lockKeys,
  orphanedLocks,
  sessionIds,
  sleep,
} from "../helpers/session-locks.js";
import { assertNotBackwards, readIndexes, writeThenDelete } from "../helpers/index-probe.js";
import { startTcpProxy } from "../helpers/tcp-proxy.js";
import { until } from "../watch/manager-helpers.js";
import { EtcdStore } from "../../src/store/etcd/etcd-store.js";

const LOCKS = 2000;

describe("sessions and indexes on etcd", () => {
  let etcd: EtcdCluster;
  let dir = "";
  const running = new Set<AgentProcess>();
  const prefix = `si${process.pid}/`;
  const start = async (
    node: string,
    endpoints = etcd.clientUrls.join(","),
  ): Promise<AgentProcess> => {
    const agent = await startAgentProcess({
      args: [
        `-etcd=${endpoints}`,
        "-etcd-prefix",
        prefix,
        "-node",
        node,
        "-data-dir",
        join(dir, node),
        "-bind",
        "127.0.0.1",
      ],
    });
    running.add(agent);
    return agent;
  };
  const kill = async (agent: AgentProcess): Promise<void> => {
    await agent.kill();
    running.delete(agent);
  };
  /** Keys in etcd naming `session` while its record is gone: what a kill mid-destroy leaves. */
  const orphansInEtcd = async (session: string): Promise<number> => {
    const store = await EtcdStore.open({ endpoints: etcd.clientUrls, prefix });
    try {
      if (await store.get(`sessions/${session}`)) return 0;
      const { kvs } = await store.range("kv/atomic/");
      return kvs.filter(
        (kv) =>
          (JSON.parse(Buffer.from(kv.value).toString("utf8")) as { Session?: string }).Session ===
          session,
      ).length;
    } finally {
      await store.close();
    }
  };
  /** A test that failed midway leaves its agents up; the next starts from none. */
  const killAll = async (): Promise<void> => {
    for (const agent of [...running]) await kill(agent);
  };
  before(async () => {
    etcd = await startEtcdCluster(1);
    dir = await mkdtemp(join(tmpdir(), "augur-si-etcd-"));
  });
  after(async () => {
    for (const a of running) await a.stop();
    await etcd.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it(
    "sessions - kill -9 during a 2,000-lock destroy on etcd: after a restart no key names a missing session",
    { timeout: 180_000 },
    async () => {
      let a = await start("a");
      const outcomes: string[] = [];
      for (const [i, delay] of [0, 10, 20, 40, 80].entries()) {
        const keys = `atomic/${i}/`;
        // No node checks: the killed agent's liveness lapsing must not invalidate the session meanwhile.
        const id = await createSession(a.url, {
          NodeChecks: [],
          LockDelay: "0s",
          Behavior: i % 2 === 0 ? "release" : "delete",
        });
        await lockKeys(a.url, keys, id, LOCKS);
        const destroy = fetch(`${a.url}/v1/session/destroy/${id}`, { method: "PUT" }).then(
          (r) => r.status,
          () => 0,
        );
        await sleep(delay);
        await kill(a);
        const status = await destroy;
        const leftBehind = await orphansInEtcd(id);
        a = await start("a");
        const held = [...(await keyHolders(a.url, keys)).values()].filter((s) => s === id).length;
        if ((await sessionIds(a.url)).has(id)) {
          assert.notEqual(status, 200, "an acknowledged destroy is durable");
          assert.equal(held, LOCKS, "the session survived: so did every lock");
          outcomes.push(`${delay}ms: before`);
          assert.equal(
            (await fetch(`${a.url}/v1/session/destroy/${id}`, { method: "PUT" })).status,
            200,
          );
        } else {
          assert.equal(
            held,
            0,
            `kill at ${delay} ms: the session is gone, so none of its locks may remain`,
          );
          outcomes.push(
            `${delay}ms: after${leftBehind > 0 ? ` (${leftBehind} orphaned locks repaired at start)` : ""}`,
          );
        }
        assert.deepEqual(
          await orphanedLocks(a.url, "atomic/"),
          [],
          "no key names a missing session",
        );
      }
      console.log(`kill outcomes: ${outcomes.join(", ")}`);
      await kill(a);
    },
  );

  it(
    "sessions - a session record that vanishes without a destroy (lease expiry) has its locks freed by a running agent and at start",
    { timeout: 60_000 },
    async () => {
      await killAll();
      const a = await start("a");
      const watched = await createSession(a.url, { NodeChecks: [], LockDelay: "0s" });
      const unwatched = await createSession(a.url, { NodeChecks: [], Behavior: "delete" });
      await lockKeys(a.url, "vanish/watched/", watched, 300);
      await lockKeys(a.url, "vanish/unwatched/", unwatched, 300);
      const store = await EtcdStore.open({ endpoints: etcd.clientUrls, prefix });
      try {
        // As etcd does when a session's lease expires: the record goes, with no transaction of ours.
        await store.delete(`sessions/${watched}`);
        const end = Date.now() + 10_000;
        while ((await orphanedLocks(a.url, "vanish/watched/")).length > 0 && Date.now() < end)
          await sleep(100);
        assert.deepEqual(
          await orphanedLocks(a.url, "vanish/watched/"),
          [],
          "the running agent freed the locks",
        );
        // Now with no agent running to see it.
        await kill(a);
        await store.delete(`sessions/${unwatched}`);
      } finally {
        await store.close();
      }
      const b = await start("b");
      assert.deepEqual(
        await orphanedLocks(b.url, "vanish/"),
        [],
        "an agent frees them before it answers",
      );
      assert.equal(
        (await keyHolders(b.url, "vanish/unwatched/")).size,
        0,
        "a delete session's keys are deleted",
      );
      await kill(b);
    },
  );

  it(
    "indexes - an agent restarted against the same etcd, and another agent joining, never answer a lower index",
    { timeout: 60_000 },
    async () => {
      await killAll();
      let a = await start("a");
      await writeThenDelete(a.url);
      const before = await readIndexes(a.url);
      await kill(a);
      a = await start("a");
      assertNotBackwards(before, await readIndexes(a.url), "agent restarted on the same etcd");
      const b = await start("b");
      assertNotBackwards(before, await readIndexes(b.url), "another agent joining");
      await kill(a);
      await kill(b);
    },
  );

  it(
    "indexes - an agent whose view resyncs after etcd compacted the history it missed never answers a lower index",
    { timeout: 90_000 },
    async () => {
      await killAll();
      const url = new URL(etcd.clientUrls[0] as string);
      const proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port) });
      try {
        const other = await start("other");
        const cut = await start("cut", proxy.url);
        await writeThenDelete(other.url);
        const otherIndex = Number(
          (await fetch(`${other.url}/v1/kv/mono/a/1`)).headers.get("x-consul-index"),
        );
        await until(
          async () =>
            Number((await fetch(`${cut.url}/v1/kv/mono/a/1`)).headers.get("x-consul-index")) ===
            otherIndex,
          5000,
          "cut agent caught up",
        );
        const before = await readIndexes(cut.url);

        proxy.partition();
        await fetch(`${other.url}/v1/kv/mono/a/1`, { method: "DELETE" });
        await fetch(`${other.url}/v1/catalog/deregister`, {
          method: "PUT",
          body: JSON.stringify({ Node: "ext1" }),
        });
        const head = (await (
          await fetch(`${etcd.clientUrls[0]}/v3/kv/range`, {
            method: "POST",
            body: JSON.stringify({ key: Buffer.from("x").toString("base64") }),
          })
        ).json()) as { header: { revision: string } };
        const compacted = await fetch(`${etcd.clientUrls[0]}/v3/kv/compaction`, {
          method: "POST",
          body: JSON.stringify({ revision: head.header.revision, physical: true }),
        });
        assert.equal(compacted.status, 200, await compacted.text());
        proxy.heal();

        await until(
          () => /catalog view resynced from a snapshot/.test(cut.output()),
          45_000,
          "cut agent resynced",
        );
        assertNotBackwards(
          before,
          await readIndexes(cut.url),
          "after a resync from a compacted etcd",
        );
      } finally {
        await killAll();
        await proxy.close();
      }
    },
  );
});
