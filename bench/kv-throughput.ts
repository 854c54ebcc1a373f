/**
 * Benchmark (issue #2, 10a): `GET /v1/kv/<key>` throughput on an `augur agent -dev` against a
 * bare node:http hello world, both as separate processes, both loaded by the same `wrk`
 * settings in the same run. Goal: augur ≥ 0.8× the bare server (issue #10, item 1).
 *
 * Run: `npm run build && node dist/bench/kv-throughput.js`
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { startAgentProcess } from "../test/helpers/agent-process.js";
import { fmt, writeSection } from "./lib/report.js";
import { wrk, type WrkResult } from "./lib/wrk.js";

const DURATION = process.env["BENCH_DURATION"] ?? "4s";
/** Rounds alternate between the two servers; each one's median round is reported (this machine drifts). */
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 5);
const CONNECTIONS = Number(process.env["BENCH_CONNECTIONS"] ?? 50);
const load = { connections: CONNECTIONS, seconds: DURATION };

async function bareServer(): Promise<{ url: string; stop: () => void }> {
  const code = `require("node:http").createServer((q, s) => s.end("hello world")).listen(0, "127.0.0.1", function () { console.log(this.address().port); });`;
  const proc = spawn(process.execPath, ["-e", code], { stdio: ["ignore", "pipe", "inherit"] });
  const [chunk] = (await once(proc.stdout, "data")) as [Buffer];
  return { url: `http://127.0.0.1:${chunk.toString().trim()}/`, stop: () => proc.kill() };
}

async function main(): Promise<void> {
  const bare = await bareServer();
  const agent = await startAgentProcess();
  await fetch(`${agent.url}/v1/kv/bench/key`, { method: "PUT", body: "a small value" });
  // Warm both up so the JIT has settled before measuring.
  await wrk(bare.url, { connections: 10, seconds: 2 });
  await wrk(`${agent.url}/v1/kv/bench/key`, { connections: 10, seconds: 2 });
  const bases: WrkResult[] = [];
  const kvs: WrkResult[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    bases.push(await wrk(bare.url, load));
    kvs.push(await wrk(`${agent.url}/v1/kv/bench/key`, load));
  }
  const median = (list: WrkResult[]): WrkResult =>
    [...list].sort((a, b) => a.rps - b.rps)[Math.floor(list.length / 2)] as WrkResult;
  const base = median(bases);
  const kv = median(kvs);
  const ratios = kvs.map((k, i) => k.rps / (bases[i]?.rps ?? NaN));
  bare.stop();
  await agent.stop();
  const ratio = kv.rps / base.rps;
  await writeSection(
    "kv-throughput",
    `## KV read throughput (issue #2, 10a; issue #10, item 1)

\`wrk -t1 -c${CONNECTIONS} -d${DURATION}\` against each server, ${ROUNDS} rounds alternating between them, each server's
median round shown. Per-round ratios augur / bare: ${ratios.map((r) => fmt(r, 2)).join(", ")}.

| server | requests/s | p99 latency |
| --- | ---: | ---: |
| bare node:http hello world | ${fmt(base.rps, 0)} | ${fmt(base.p99ms, 2)} ms |
| augur \`GET /v1/kv/bench/key\` (-dev) | ${fmt(kv.rps, 0)} | ${fmt(kv.p99ms, 2)} ms |

Ratio augur / bare: **${fmt(ratio, 2)}×** (goal ≥ 0.8×: ${ratio >= 0.8 ? "met" : "not met"}).`,
  );
}

await main();
