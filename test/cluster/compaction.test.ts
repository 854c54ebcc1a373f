/**
 * etcd compacts away the history an agent needed: the agent is cut off from etcd (a TCP proxy
 * in between) while another agent writes, etcd is compacted past everything the cut agent saw,
 * and the link heals. The agent's watch cannot resume from its revision, so its view resyncs
 * from a snapshot; its KV reads and a `keyprefix` watch on it then show exactly what changed —
 * nothing lost, nothing invented.
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

interface Change {
  entity: string;
  kind: string;
}

describe("resync after an etcd compaction", () => {
  let etcd: EtcdCluster;
  let proxy: TcpProxy;
  let cut: AgentProcess;
  let other: AgentProcess;
  let receiver: HttpReceiver;
  let dir = "";
  before(async () => {
    etcd = await startEtcdCluster(1);
    const url = new URL(etcd.clientUrls[0] as string);
    proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port) });
    dir = await mkdtemp(join(tmpdir(), "augur-compaction-"));
    receiver = await httpReceiver();
    const conf = join(dir, "watch.json");
    await writeFile(
      conf,
      JSON.stringify({
        watches: [
          {
            type: "keyprefix",
            prefix: "comp/",
            id: "comp",
            payload: "changes",
            on_start: "never",
            handler_type: "http",
            http_handler_config: { path: receiver.url },
          },
        ],
      }),
    );
    const common = ["-etcd-prefix", `k${process.pid}/`, "-bind", "127.0.0.1"];
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
    await receiver.close();
    await proxy.close();
    await etcd.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const etcdRevision = async (): Promise<number> => {
    const res = await fetch(`${etcd.clientUrls[0]}/v3/kv/range`, {
      method: "POST",
      body: JSON.stringify({ key: Buffer.from("x").toString("base64") }),
    });
    return Number(((await res.json()) as { header: { revision: string } }).header.revision);
  };

  it("compaction - a view that missed compacted history resyncs; its watch reports exactly the net changes", async () => {
    for (const k of ["stays", "goes", "edited"])
      await fetch(`${other.url}/v1/kv/comp/${k}`, { method: "PUT", body: "v1" });
    await until(
      async () => (await fetch(`${cut.url}/v1/kv/comp/edited`)).status === 200,
      5000,
      "cut agent sees the first keys",
    );
    const seenIndex = Number(
      (await fetch(`${cut.url}/v1/kv/comp/?recurse`)).headers.get("x-consul-index"),
    );

    const summaryOf = (reqs: typeof receiver.requests): string[] =>
      reqs
        .flatMap((r) => (JSON.parse(r.body.toString()) as { changes: Change[] }).changes)
        .map((c) => `${c.kind} ${c.entity}`)
        .sort();
    await until(
      () => summaryOf(receiver.requests).length === 3,
      5000,
      "the first writes delivered",
    );
    assert.deepEqual(summaryOf(receiver.requests), [
      "added comp/edited",
      "added comp/goes",
      "added comp/stays",
    ]);
    const beforeCut = receiver.requests.length;

    proxy.partition();
    await fetch(`${other.url}/v1/kv/comp/goes`, { method: "DELETE" });
    await fetch(`${other.url}/v1/kv/comp/edited`, { method: "PUT", body: "v2" });
    for (let i = 0; i < 3; i++)
      await fetch(`${other.url}/v1/kv/comp/new-${i}`, { method: "PUT", body: String(i) });
    // A key that comes and goes entirely inside the compacted history must not be invented.
    await fetch(`${other.url}/v1/kv/comp/ephemeral`, { method: "PUT", body: "x" });
    await fetch(`${other.url}/v1/kv/comp/ephemeral`, { method: "DELETE" });
    const compactTo = await etcdRevision();
    const compacted = await fetch(`${etcd.clientUrls[0]}/v3/kv/compaction`, {
      method: "POST",
      body: JSON.stringify({ revision: String(compactTo), physical: true }),
    });
    assert.equal(compacted.status, 200, await compacted.text());
    assert.ok(compactTo > seenIndex + 1, "the history the cut agent needs is gone");
    proxy.heal();

    const want = ["comp/edited", "comp/new-0", "comp/new-1", "comp/new-2", "comp/stays"];
    await until(
      async () => {
        const res = await fetch(`${cut.url}/v1/kv/comp/?recurse&index=${seenIndex}&wait=2s`);
        return (
          res.status === 200 &&
          JSON.stringify(((await res.json()) as { Key: string }[]).map((p) => p.Key)) ===
            JSON.stringify(want)
        );
      },
      45_000,
      "cut agent's view resynced",
    );
    assert.match(
      cut.output(),
      /catalog view resynced from a snapshot: the store compacted the history after revision \d+/,
      "the resync path ran",
    );
    const edited = await (await fetch(`${cut.url}/v1/kv/comp/edited?raw`)).text();
    assert.equal(edited, "v2");

    // The watch: every change it reported, net of order, is exactly what happened.
    await until(() => receiver.requests.length > beforeCut, 10_000, "watch delivered");
    await new Promise((r) => setTimeout(r, 1000)); // anything else it was going to send
    assert.deepEqual(summaryOf(receiver.requests.slice(beforeCut)), [
      "added comp/new-0",
      "added comp/new-1",
      "added comp/new-2",
      "changed comp/edited",
      "removed comp/goes",
    ]);
  });
});
