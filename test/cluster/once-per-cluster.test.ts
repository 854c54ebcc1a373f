/**
 * `once_per_cluster` watches on a real etcd with three agent processes, each defining the same
 * watch: one agent at a time delivers (lock on `_augur/watch-leader/<id>`), the others stand by
 * and finish their records as delivered by the leader; kill -9 of the leader moves delivery to
 * another agent, which delivers every change the dead one had not — with a higher fencing token.
 * An unmarked watch on the same agents runs on each of them, as in Consul.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";
import { startEtcdCluster, type EtcdCluster } from "../helpers/etcd-cluster.js";
import { httpReceiver, type HttpReceiver } from "../watch/receivers.js";
import { until } from "../watch/manager-helpers.js";

interface WatchInfo {
  ID: string;
  Index: string | null;
  Leadership?: { State: string; Leader: string };
}

describe("once_per_cluster watches", () => {
  let etcd: EtcdCluster;
  let dir = "";
  let once: HttpReceiver;
  let each: HttpReceiver;
  const agents = new Map<string, AgentProcess>();
  const names = ["n1", "n2", "n3"];

  const watches = async (a: AgentProcess): Promise<WatchInfo[]> =>
    (await (await fetch(`${a.url}/v1/agent/watches`)).json()) as WatchInfo[];
  const roles = async (): Promise<Map<string, WatchInfo["Leadership"]>> => {
    const out = new Map<string, WatchInfo["Leadership"]>();
    for (const [name, a] of agents)
      out.set(name, (await watches(a)).find((w) => w.ID === "alert")?.Leadership);
    return out;
  };
  /** Waits for exactly one leader that every live agent agrees on; returns its name. */
  const leader = async (): Promise<string> => {
    let found = "";
    await until(
      async () => {
        const r = await roles();
        const leaders = [...r].filter(([, l]) => l?.State === "leader").map(([n]) => n);
        found = leaders[0] ?? "";
        return (
          leaders.length === 1 &&
          [...r].every(([n, l]) => n === found || (l?.State === "follower" && l.Leader === found))
        );
      },
      30_000,
      "one agreed leader",
    );
    return found;
  };
  /** A change to the key, seen by every live agent's watch before the next one. */
  const change = async (value: string): Promise<void> => {
    const a = [...agents.values()][0] as AgentProcess;
    await fetch(`${a.url}/v1/kv/alert/x`, { method: "PUT", body: value });
    const index = Number((await fetch(`${a.url}/v1/kv/alert/x`)).headers.get("x-consul-index"));
    for (const b of agents.values())
      await until(
        async () => (await watches(b)).every((w) => Number(w.Index) >= index),
        10_000,
        `${value} seen`,
      );
  };
  const values = (r: HttpReceiver): string[] =>
    r.requests.map((q) =>
      Buffer.from((JSON.parse(q.body.toString()) as { Value: string }).Value, "base64").toString(),
    );

  before(async () => {
    etcd = await startEtcdCluster(1);
    dir = await mkdtemp(join(tmpdir(), "augur-once-"));
    once = await httpReceiver();
    each = await httpReceiver();
    const conf = join(dir, "watches.json");
    await writeFile(
      conf,
      JSON.stringify({
        watches: [
          {
            type: "key",
            key: "alert/x",
            id: "alert",
            once_per_cluster: true,
            on_start: "never",
            handler_type: "http",
            http_handler_config: { path: once.url },
          },
          {
            type: "key",
            key: "alert/x",
            id: "everywhere",
            on_start: "never",
            handler_type: "http",
            http_handler_config: { path: each.url },
          },
        ],
      }),
    );
    for (const name of names) {
      agents.set(
        name,
        await startAgentProcess({
          args: [
            `-etcd=${etcd.clientUrls.join(",")}`,
            "-etcd-prefix",
            `o${process.pid}/`,
            "-node",
            name,
            "-data-dir",
            join(dir, name),
            "-bind",
            "127.0.0.1",
            "-config-file",
            conf,
          ],
        }),
      );
    }
  });
  after(async () => {
    for (const a of agents.values()) await a.stop();
    await once.close();
    await each.close();
    await etcd.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("once - one agent delivers each change once; the others stand by; unmarked watches run everywhere", async () => {
    const first = await leader();
    for (let i = 1; i <= 10; i++) await change(`v${i}`);
    await until(() => once.requests.length >= 10, 10_000, "10 deliveries");
    await new Promise((r) => setTimeout(r, 500)); // room for a duplicate, if there were one
    assert.deepEqual(
      values(once),
      Array.from({ length: 10 }, (_, i) => `v${i + 1}`),
      "each change once, in order",
    );
    const tokens = new Set(once.requests.map((q) => q.headers["x-augur-fencing-token"]));
    assert.equal(tokens.size, 1, "one leader, one fencing token");
    await until(
      () => each.requests.length === 30,
      10_000,
      "the unmarked watch delivers on all three agents",
    );

    // The followers finished their records as delivered by the leader; nothing is left pending.
    for (const name of names.filter((n) => n !== first)) {
      const a = agents.get(name) as AgentProcess;
      await until(
        async () =>
          (
            (await (await fetch(`${a.url}/v1/agent/watch/deliveries?watch=alert`)).json()) as {
              Pending: unknown[];
            }
          ).Pending.length === 0,
        10_000,
        `${name} standby records settled`,
      );
      const report = (await (
        await fetch(`${a.url}/v1/agent/watch/deliveries?watch=alert&limit=100`)
      ).json()) as { Recent: { LastError: string }[] };
      assert.ok(
        report.Recent.length > 0 &&
          report.Recent.every((r) => r.LastError === `delivered by ${first}, the cluster leader`),
        JSON.stringify(report.Recent.slice(0, 2)),
      );
    }
  });

  it("once - kill -9 of the leader: another agent takes over and delivers every change the dead one had not", async () => {
    const old = await leader();
    const oldToken = Number(once.requests.at(-1)?.headers["x-augur-fencing-token"]);
    const before = once.requests.length;
    await (agents.get(old) as AgentProcess).kill();
    agents.delete(old);
    for (let i = 11; i <= 15; i++) await change(`v${i}`); // during the failover
    const next = await leader();
    assert.notEqual(next, old);
    await until(
      () => new Set(values(once)).size === 15,
      30_000,
      "changes made during the failover delivered",
    );
    const after = once.requests.slice(before);
    const byKey = new Map<string, string>();
    for (const q of after) {
      const key = String(q.headers["idempotency-key"]);
      const v = Buffer.from(
        (JSON.parse(q.body.toString()) as { Value: string }).Value,
        "base64",
      ).toString();
      if (byKey.has(key))
        assert.equal(byKey.get(key), v, "a duplicate carries the same Idempotency-Key");
      byKey.set(key, v);
    }
    assert.deepEqual(
      [...byKey.values()],
      ["v11", "v12", "v13", "v14", "v15"],
      "in order, none lost",
    );
    for (const q of after)
      assert.ok(
        Number(q.headers["x-augur-fencing-token"]) > oldToken,
        "the new leader's fencing token is higher",
      );

    // Steady state again: exactly once.
    const settled = once.requests.length;
    for (let i = 16; i <= 20; i++) await change(`v${i}`);
    await until(() => once.requests.length >= settled + 5, 10_000, "5 more deliveries");
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(values(once).slice(settled), ["v16", "v17", "v18", "v19", "v20"]);
  });

  it("once - a client's DELETE /v1/kv/?recurse of 300 keys on etcd removes them all and keeps the leader's key", async () => {
    const a = [...agents.values()][0] as AgentProcess;
    const put = (i: number): Promise<Response> =>
      fetch(`${a.url}/v1/kv/bulk/${i}`, { method: "PUT", body: "x" });
    for (let i = 0; i < 300; i += 50)
      await Promise.all(Array.from({ length: 50 }, (_, j) => put(i + j)));
    type Pair = { Key: string; CreateIndex: number; Session: string };
    // What a delete and re-acquire would change (the leader rewrites its record's value itself).
    const internal = async (): Promise<string[]> =>
      ((await (await fetch(`${a.url}/v1/kv/_augur/?recurse&consistent`)).json()) as Pair[]).map(
        (p) => `${p.Key} ${p.CreateIndex} ${p.Session}`,
      );
    const held = await internal();
    assert.ok(held.length > 0, "the leader's key is there to keep");
    // More keys than etcd takes operations in one transaction, and a prefix ("") enclosing
    // `_augur/`: one range delete on each side of it.
    const settled = once.requests.length;
    const del = await fetch(`${a.url}/v1/kv/?recurse`, { method: "DELETE" });
    assert.equal(del.status, 200, await del.clone().text());
    assert.equal(await del.text(), "true");
    const left = (await (await fetch(`${a.url}/v1/kv/?keys&consistent`)).json()) as string[];
    assert.ok(left.length > 0 && left.every((k) => k.startsWith("_augur/")), left.join(","));
    assert.deepEqual(await internal(), held, "the leader's key never deleted (same CreateIndex)");

    // The watched key went with the rest: its watch delivers that (Consul's payload: null),
    // then the next value, from the same leader.
    await until(() => once.requests.length > settled, 10_000, "the deletion delivered");
    await change("v21");
    await until(() => once.requests.length > settled + 1, 10_000, "the watch still delivers");
    const after = once.requests.slice(settled);
    assert.equal(after[0]?.body.toString().trim(), "null");
    assert.deepEqual(values({ ...once, requests: after.slice(1) }), ["v21"]);
  });
});
