/**
 * Snapshots in cluster mode, on a real etcd and two agents: a restore larger than etcd's
 * transaction limit (128 operations) is written in batches and converges to the snapshot on
 * every agent, with sessions back on live etcd leases and no key naming a missing session; a
 * small restore is one transaction; indexes only grow.
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
} from "../helpers/session-locks.js";
import { until } from "../helpers/until.js";
import { EtcdStore } from "../../src/store/etcd/etcd-store.js";

const LOCKED = 200;
const PLAIN = 100;

describe("snapshot on etcd", () => {
  let etcd: EtcdCluster;
  let dir = "";
  let a: AgentProcess | undefined;
  let b: AgentProcess | undefined;
  const prefix = `snap${process.pid}/`;
  const start = (node: string): Promise<AgentProcess> =>
    startAgentProcess({
      args: [
        `-etcd=${etcd.clientUrls.join(",")}`,
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
  before(async () => {
    etcd = await startEtcdCluster(1);
    dir = await mkdtemp(join(tmpdir(), "augur-snapshot-etcd-"));
    a = await start("a");
    b = await start("b");
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    await etcd.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const put = async (url: string, key: string, value: string): Promise<void> => {
    const res = await fetch(`${url}/v1/kv/${key}`, { method: "PUT", body: value });
    assert.equal(res.status, 200, await res.text());
  };
  /** Every pair under `data/` as key → [value, session]. */
  const contents = async (url: string): Promise<string> => {
    const res = await fetch(`${url}/v1/kv/data/?recurse`);
    if (res.status === 404) return "[]";
    const pairs = (await res.json()) as { Key: string; Value: string; Session?: string }[];
    return JSON.stringify(pairs.map((p) => [p.Key, p.Value, p.Session ?? null]));
  };
  const kvIndex = async (url: string): Promise<number> =>
    Number((await fetch(`${url}/v1/kv/data/?recurse`)).headers.get("x-consul-index"));
  /** Every key on a lease in etcd is on a lease etcd still has; how many there are. */
  const leasedKeysLive = async (): Promise<number> => {
    const store = await EtcdStore.open({ endpoints: etcd.clientUrls, prefix });
    try {
      const leased = (await store.range("")).kvs.filter((kv) => kv.lease !== undefined);
      for (const kv of leased)
        await assert.doesNotReject(store.keepAlive(kv.lease as string), `lease of ${kv.key}`);
      return leased.length;
    } finally {
      await store.close();
    }
  };

  it(
    "snapshot - a restore past etcd's transaction limit converges on every agent, sessions on live leases",
    { timeout: 120_000 },
    async () => {
      const [urlA, urlB] = [(a as AgentProcess).url, (b as AgentProcess).url];
      const session = await createSession(urlA, { TTL: "60s", LockDelay: "0s" });
      await lockKeys(urlA, "data/locked/", session, LOCKED);
      for (let i = 0; i < PLAIN; i++) await put(urlA, `data/plain/${i}`, `p${i}`);
      const saved = await fetch(`${urlA}/v1/snapshot`);
      assert.equal(saved.status, 200);
      const archive = Buffer.from(await saved.arrayBuffer());
      const expected = await contents(urlA);
      const leasedAtSave = await leasedKeysLive();

      // Change more than 128 keys: the session goes (its 200 locks are released), half the
      // plain keys go, 150 new keys come, another session locks one of them.
      assert.equal(
        (await fetch(`${urlA}/v1/session/destroy/${session}`, { method: "PUT" })).status,
        200,
      );
      for (let i = 0; i < PLAIN; i += 2)
        await fetch(`${urlA}/v1/kv/data/plain/${i}`, { method: "DELETE" });
      for (let i = 0; i < 150; i++) await put(urlA, `data/new/${i}`, `n${i}`);
      const other = await createSession(urlA, { TTL: "60s" });
      await lockKeys(urlA, "data/new/other/", other, 1);
      const indexBefore = await kvIndex(urlB);

      const res = await fetch(`${urlA}/v1/snapshot`, {
        method: "PUT",
        body: new Uint8Array(archive),
      });
      assert.equal(res.status, 200, await res.text());

      assert.equal(await contents(urlA), expected, "the restoring agent reads the snapshot back");
      await until(
        async () => (await contents(urlB)) === expected,
        "agent b to see the restored state",
        30_000,
      );
      assert.ok((await kvIndex(urlB)) > indexBefore, "the index moved forward");
      for (const url of [urlA, urlB]) {
        assert.deepEqual([...(await sessionIds(url))], [session]);
        assert.deepEqual(await orphanedLocks(url, "data/"), []);
        const holders = [...(await keyHolders(url, "data/locked/")).values()];
        assert.equal(holders.filter((s) => s === session).length, LOCKED);
      }
      assert.equal(await leasedKeysLive(), leasedAtSave, "the session is on a live lease again");
      const renew = await fetch(`${urlB}/v1/session/renew/${session}`, { method: "PUT" });
      assert.equal(renew.status, 200, "the restored session renews through any agent");
    },
  );

  it("snapshot - a small restore on etcd is one transaction and wakes a blocking query on another agent", async () => {
    const [urlA, urlB] = [(a as AgentProcess).url, (b as AgentProcess).url];
    await put(urlA, "small/x", "saved");
    const saved = Buffer.from(await (await fetch(`${urlA}/v1/snapshot?stale`)).arrayBuffer());
    await put(urlA, "small/x", "later");
    await until(async () => {
      const r = await fetch(`${urlB}/v1/kv/small/x?raw`);
      return (await r.text()) === "later";
    }, "agent b to see the later value");
    const index = Number((await fetch(`${urlB}/v1/kv/small/x`)).headers.get("x-consul-index"));
    const blocked = fetch(`${urlB}/v1/kv/small/x?index=${index}&wait=60s&raw`);
    const res = await fetch(`${urlA}/v1/snapshot`, { method: "PUT", body: new Uint8Array(saved) });
    assert.equal(res.status, 200, await res.text());
    const woken = await blocked;
    assert.equal(await woken.text(), "saved");
    assert.ok(Number(woken.headers.get("x-consul-index")) > index);
  });
});
