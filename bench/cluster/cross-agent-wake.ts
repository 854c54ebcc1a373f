/**
 * Benchmark (issue #4, item 9): blocking-query wake latency across agents. Two agents share a
 * 3-member etcd on loopback; a blocking `GET /v1/kv/<key>?index=N` parks on agent B, the key is
 * written through agent A, and we time from just before the write is sent to B's answer. The
 * peer in the same run is etcd itself: a watch opened with the etcd3 client (what augur's store
 * adapter uses) on the same cluster, timed from the same kind of write sent straight to etcd.
 *
 * Run: `npm run build && node dist/bench/cluster/cross-agent-wake.js`
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Etcd3 } from "etcd3";
import { startAgentProcess } from "../../test/helpers/agent-process.js";
import { startEtcdCluster } from "../../test/helpers/etcd-cluster.js";
import { fmt, percentile, writeSection } from "../lib/report.js";

const N = Number(process.env["BENCH_SAMPLES"] ?? 300);

async function augurSamples(a: string, b: string): Promise<number[]> {
  const out: number[] = [];
  await fetch(`${a}/v1/kv/wake`, { method: "PUT", body: "0" });
  let index = Number((await fetch(`${b}/v1/kv/wake?consistent`)).headers.get("x-consul-index"));
  for (let i = 1; i <= N; i++) {
    const parked = fetch(`${b}/v1/kv/wake?index=${index}&wait=30s`);
    await new Promise((r) => setTimeout(r, 5)); // let it park
    const sent = performance.now();
    await fetch(`${a}/v1/kv/wake`, { method: "PUT", body: String(i) });
    const res = await parked;
    out.push(performance.now() - sent);
    index = Number(res.headers.get("x-consul-index"));
    await res.arrayBuffer();
  }
  return out.sort((x, y) => x - y);
}

async function etcdSamples(endpoints: string[]): Promise<number[]> {
  const writer = new Etcd3({ hosts: endpoints[0] as string });
  const reader = new Etcd3({ hosts: endpoints[1] ?? (endpoints[0] as string) });
  const out: number[] = [];
  const watcher = await reader.watch().key("peer-wake").create();
  let resolveNext: (() => void) | undefined;
  watcher.on("put", () => resolveNext?.());
  for (let i = 1; i <= N; i++) {
    const seen = new Promise<void>((r) => (resolveNext = r));
    const sent = performance.now();
    await writer.put("peer-wake").value(String(i));
    await seen;
    out.push(performance.now() - sent);
    await new Promise((r) => setTimeout(r, 5));
  }
  await watcher.cancel();
  writer.close();
  reader.close();
  return out.sort((x, y) => x - y);
}

async function main(): Promise<void> {
  const etcd = await startEtcdCluster(3);
  const dir = await mkdtemp(join(tmpdir(), "augur-bench-wake-"));
  const args = (node: string, endpoint: string): string[] => [
    `-etcd=${endpoint}`,
    "-etcd-prefix",
    "wake/",
    "-node",
    node,
    "-data-dir",
    join(dir, node),
    "-bind",
    "127.0.0.1",
  ];
  // Each agent on a different etcd member, as on different machines.
  const a = await startAgentProcess({ args: args("a", etcd.clientUrls[0] as string) });
  const b = await startAgentProcess({ args: args("b", etcd.clientUrls[1] as string) });
  try {
    const augur = await augurSamples(a.url, b.url);
    const peer = await etcdSamples(etcd.clientUrls);
    const row = (name: string, s: number[]): string =>
      `| ${name} | ${s.length} | ${fmt(percentile(s, 50))} ms | ${fmt(percentile(s, 99))} ms |`;
    await writeSection(
      "cluster-wake",
      `## Blocking-query wake across agents (issue #4, item 9)

3-member etcd on loopback; a write through agent A, a blocking query parked on agent B (each
agent on a different member). Peer: an etcd watch (etcd3 client) on member 2 woken by a put to
member 1.

| path | samples | p50 | p99 |
| --- | ---: | ---: | ---: |
${row("PUT on agent A → blocking GET on agent B returns", augur)}
${row("etcd put on member 1 → etcd watch on member 2 fires", peer)}

Goal p99 ≤ 250 ms: **${percentile(augur, 99) <= 250 ? "met" : "not met"}** (${fmt(percentile(augur, 99))} ms; ${fmt(percentile(augur, 99) / percentile(peer, 99))}× etcd's own p99).`,
    );
  } finally {
    await a.stop();
    await b.stop();
    await etcd.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
