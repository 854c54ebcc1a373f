/**
 * Benchmark: a recursive read of a large KV prefix — `GET /v1/kv/big/?recurse` and
 * `?keys` over 100,000 keys of 100-byte values (~23 MB and ~1.3 MB of JSON), as `consul kv
 * export`, consul-template or a keyprefix watch makes — and what it does to every other request:
 * the longest a `/v1/status/leader` request, sent every 2 ms by another process, waits while the
 * read runs. Each round first writes one key under the prefix, so the read is after a change.
 *
 * Peer, in the same run with rounds interleaved: a bare node:http server sending the very same
 * bytes (captured from augur's answer) with the same pinging.
 *
 * Run: `npm run build && node dist/bench/kv-recurse-large.js`
 */
import { writeFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAgentProcess } from "../test/helpers/agent-process.js";
import { fmt, percentile, writeSection } from "./lib/report.js";
import { bareServer, measured, Pinger } from "./lib/stall.js";

const KEYS = Number(process.env["BENCH_KEYS"] ?? 100_000);
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 8);
/** Keys per transaction while filling (Consul's limit is 128 operations). */
const FILL_BATCH = 125;

type Sample = { readMs: number; pingMs: number };

async function fill(url: string): Promise<void> {
  const value = Buffer.alloc(100, "x").toString("base64");
  for (let at = 0; at < KEYS; at += FILL_BATCH) {
    const ops = [];
    for (let i = at; i < Math.min(KEYS, at + FILL_BATCH); i++)
      ops.push({ KV: { Verb: "set", Key: `big/k${i}`, Value: value } });
    const res = await fetch(`${url}/v1/txn`, { method: "PUT", body: JSON.stringify(ops) });
    if (res.status !== 200) throw new Error(`fill: ${res.status} ${await res.text()}`);
  }
}

async function main(): Promise<void> {
  const agent = await startAgentProcess({ startTimeoutMs: 30_000 });
  const dir = await mkdtemp(join(tmpdir(), "augur-bench-kv-"));
  try {
    await fill(agent.url);
    const pinger = await Pinger.start(`${agent.url}/v1/status/leader`);
    const reads = { recurse: "/v1/kv/big/?recurse", keys: "/v1/kv/big/?keys" } as const;
    // Each bare server gets its own pinger: the one pinged is the one sending.
    const bares: Record<string, { url: string; stop: () => void; bytes: number; pinger: Pinger }> =
      {};
    for (const [name, path] of Object.entries(reads)) {
      const body = Buffer.from(await (await fetch(`${agent.url}${path}`)).arrayBuffer());
      await writeFile(join(dir, `${name}.json`), body);
      const server = await bareServer(join(dir, `${name}.json`));
      const peerPinger = await Pinger.start(`${server.url}/ping`);
      bares[name] = {
        url: server.url,
        bytes: body.length,
        pinger: peerPinger,
        stop: () => {
          peerPinger.stop();
          server.proc.kill();
        },
      };
    }
    const augur: Record<string, Sample[]> = { recurse: [], keys: [] };
    const bare: Record<string, Sample[]> = { recurse: [], keys: [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, path] of Object.entries(reads)) {
        await fetch(`${agent.url}/v1/kv/big/k${round}`, { method: "PUT", body: `r${round}` });
        augur[name]?.push(await measured(`${agent.url}${path}`, pinger));
        const peer = bares[name];
        if (peer) bare[name]?.push(await measured(`${peer.url}/`, peer.pinger));
      }
    }
    pinger.stop();
    for (const b of Object.values(bares)) b.stop();
    const med = (xs: Sample[], k: keyof Sample): number =>
      percentile(
        xs.map((x) => x[k]).sort((p, q) => p - q),
        50,
      );
    const worst = (xs: Sample[], k: keyof Sample): number => Math.max(...xs.map((x) => x[k]));
    const row = (label: string, xs: Sample[]): string =>
      `| ${label} | ${fmt(med(xs, "readMs"), 0)} ms (${fmt(worst(xs, "readMs"), 0)}) | ${fmt(med(xs, "pingMs"), 0)} ms (${fmt(worst(xs, "pingMs"), 0)}) |`;
    const ratio = (name: string): string =>
      fmt(med(augur[name] ?? [], "pingMs") / med(bare[name] ?? [], "pingMs"), 2);
    await writeSection(
      "kv-recurse-large",
      `## One large KV read, and what it does to other requests

\`GET /v1/kv/big/?recurse\` (${fmt((bares["recurse"]?.bytes ?? 0) / 1e6, 1)} MB of JSON) and \`?keys\`
(${fmt((bares["keys"]?.bytes ?? 0) / 1e6, 1)} MB) over ${fmt(KEYS, 0)} keys of 100-byte values, each round after
one key under the prefix was written. "Other requests wait" is the longest a \`/v1/status/leader\`
request, sent every 2 ms by another process, took while the read ran. Peer: a bare node:http
server sending the same bytes. ${ROUNDS} rounds, interleaved; median (worst).

| server | read | other requests wait |
| --- | ---: | ---: |
${row("augur, `?recurse`", augur["recurse"] ?? [])}
${row("bare node:http, same bytes", bare["recurse"] ?? [])}
${row("augur, `?keys`", augur["keys"] ?? [])}
${row("bare node:http, same bytes", bare["keys"] ?? [])}

Ratio augur / bare, other requests' wait (median): **${ratio("recurse")}×** for \`?recurse\`, **${ratio("keys")}×** for \`?keys\`.`,
    );
  } finally {
    await agent.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
