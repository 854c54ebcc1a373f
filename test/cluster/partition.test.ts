/**
 * A partition between an agent and etcd (a TCP proxy in between): while cut off, writes fail
 * with "No cluster leader"; changes made by another agent meanwhile reach the partitioned agent's
 * view after the heal — neither lost nor invented — and a blocking query on it sees them. Once
 * the cut lasts longer than the liveness TTL the agent answers with `X-Consul-KnownLeader: false`,
 * releases parked blocking queries, and its watches report `source_unreachable`, then
 * `source_recovered` after the heal.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";
import { startEtcdCluster, type EtcdCluster } from "../helpers/etcd-cluster.js";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.js";
import { httpReceiver, type HttpReceiver } from "../watch/receivers.js";
import { until } from "../watch/manager-helpers.js";

describe("cluster partition", () => {
  let etcd: EtcdCluster;
  let proxy: TcpProxy;
  let cut: AgentProcess;
  let other: AgentProcess;
  let dir = "";
  let source: HttpReceiver;
  before(async () => {
    etcd = await startEtcdCluster(1);
    const url = new URL(etcd.clientUrls[0] as string);
    proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port) });
    dir = await mkdtemp(join(tmpdir(), "augur-partition-"));
    source = await httpReceiver();
    const conf = join(dir, "watch.json");
    await writeFile(
      conf,
      JSON.stringify({
        watches: [
          {
            type: "keyprefix",
            prefix: "part/",
            on_start: "never",
            payload: "changes",
            source_unreachable_after: "1s",
            handler_type: "http",
            http_handler_config: { path: source.url },
          },
        ],
      }),
    );
    const common = ["-etcd-prefix", `p${process.pid}/`, "-bind", "127.0.0.1"];
    cut = await startAgentProcess({
      args: [
        `-etcd=${proxy.url}`,
        "-node",
        "cut",
        "-data-dir",
        join(dir, "cut"),
        "-config-file",
        conf,
        ...common,
      ],
    });
    other = await startAgentProcess({
      args: [
        `-etcd=${etcd.clientUrls.join(",")}`,
        "-node",
        "other",
        "-data-dir",
        join(dir, "other"),
        ...common,
      ],
    });
  });
  after(async () => {
    await cut.stop();
    await other.stop();
    await proxy.close();
    await source.close();
    await etcd.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("partition - writes fail while cut off; the view catches up with every change after the heal", async () => {
    await fetch(`${other.url}/v1/kv/part/before`, { method: "PUT", body: "1" });
    const index = Number(
      (await fetch(`${cut.url}/v1/kv/part/?recurse`)).headers.get("x-consul-index"),
    );
    proxy.partition();
    const failed = await fetch(`${cut.url}/v1/kv/part/mine`, { method: "PUT", body: "x" });
    assert.equal(failed.status, 500);
    assert.equal(await failed.text(), "No cluster leader");
    for (let i = 0; i < 5; i++)
      await fetch(`${other.url}/v1/kv/part/during-${i}`, { method: "PUT", body: String(i) });
    await fetch(`${other.url}/v1/kv/part/before`, { method: "DELETE" });
    // Past the 4 s liveness TTL the cut agent says it knows no leader, and its watch reports it.
    const kinds = (): string[] =>
      source.requests.flatMap((r) =>
        (JSON.parse(r.body.toString()) as { changes: { kind: string }[] }).changes.map(
          (c) => c.kind,
        ),
      );
    await until(
      async () =>
        (await fetch(`${cut.url}/v1/kv/part/?recurse`)).headers.get("x-consul-knownleader") ===
        "false",
      15_000,
      "KnownLeader false",
    );
    const stale = await fetch(`${cut.url}/v1/kv/part/?recurse`);
    assert.ok(
      Number(stale.headers.get("x-consul-lastcontact")) > 4000,
      `LastContact (past the 4 s TTL) ${stale.headers.get("x-consul-lastcontact")}`,
    );
    await until(
      () => kinds().includes("source_unreachable"),
      15_000,
      "the watch reported source_unreachable",
    );
    assert.match(cut.output(), /lost contact with the store/);
    proxy.heal();
    await until(
      () => kinds().includes("source_recovered"),
      30_000,
      "the watch reported source_recovered",
    );
    assert.equal(
      (await fetch(`${cut.url}/v1/kv/part/?recurse`)).headers.get("x-consul-knownleader"),
      "true",
    );
    const end = Date.now() + 45_000;
    let keys: string[] = [];
    while (Date.now() < end) {
      const res = await fetch(`${cut.url}/v1/kv/part/?recurse&index=${index}&wait=2s`);
      keys = res.status === 200 ? ((await res.json()) as { Key: string }[]).map((p) => p.Key) : [];
      if (keys.length === 5 && !keys.includes("part/before")) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.deepEqual(
      keys,
      [0, 1, 2, 3, 4].map((i) => `part/during-${i}`),
    );
    assert.equal(
      (await fetch(`${cut.url}/v1/kv/part/mine`)).status,
      404,
      "the failed write was not invented",
    );
  });
});
