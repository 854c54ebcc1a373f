/**
 * Benchmark (issue #2, 10b): 10,000 concurrent blocking queries on one agent.
 * - memory per parked query (agent RSS delta / N; goal ≤ 12 KB, issue #10 item 4; ≤ 20 KB before),
 * - time from one change until every parked query is answered (goal ≤ 1 s),
 * - how many are woken by a change to an unrelated service and a KV write (goal 0).
 * Peer in the same run: a bare node:http server holding the same number of long-polls and
 * releasing them all at once.
 *
 * Run: `npm run build && node dist/bench/blocking-queries.js`
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { Agent as HttpAgent, request } from "node:http";
import { startAgentProcess } from "../test/helpers/agent-process.js";
import { fmt, writeSection } from "./lib/report.js";

const N = Number(process.env["BENCH_QUERIES"] ?? 10_000);
const httpAgent = new HttpAgent({ keepAlive: false, maxSockets: Infinity });

function get(url: string): Promise<{ status: number; index: string | undefined; at: number }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: httpAgent }, (res) => {
      res.resume();
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          index: res.headers["x-consul-index"] as string | undefined,
          at: performance.now(),
        }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

function rssOf(pid: number): Promise<number> {
  return import("node:fs/promises").then(async (fs) => {
    const status = await fs.readFile(`/proc/${pid}/status`, "utf8");
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]) * 1024;
  });
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/v1/agent/metrics?format=prometheus`)).text();
  return Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1]);
}

async function until(fn: () => Promise<boolean>): Promise<void> {
  while (!(await fn())) await new Promise((r) => setTimeout(r, 100));
}

async function settle(pid: number): Promise<number> {
  // RSS moves for a moment after a burst of connections; take the reading once it is stable.
  let last = 0;
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 250));
    const now = await rssOf(pid);
    if (Math.abs(now - last) < 256 * 1024) return now;
    last = now;
  }
  return last;
}

async function benchAugur(): Promise<{
  perQuery: number;
  releaseMs: number;
  unrelatedWoken: number;
  answered: number;
}> {
  // 10,000 connections from one client IP: lift Consul's default limit of 200 per client, as
  // an operator running this many watchers from one host would.
  const { mkdtemp, writeFile } = await import("node:fs/promises");
  const config = `${await mkdtemp(`${(await import("node:os")).tmpdir()}/augur-bench-bq-`)}/limits.json`;
  await writeFile(config, JSON.stringify({ limits: { http_max_conns_per_client: 0 } }));
  const agent = await startAgentProcess({ args: ["-dev", "-config-file", config] });
  const pid = agent.proc.pid as number;
  const put = (path: string, body?: object): Promise<Response> =>
    fetch(`${agent.url}${path}`, {
      method: "PUT",
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
  await put("/v1/agent/service/register", { Name: "svc-a", Check: { TTL: "1h" } });
  await put("/v1/agent/service/register", { Name: "svc-b", Check: { TTL: "1h" } });
  const index = (await fetch(`${agent.url}/v1/health/service/svc-a`)).headers.get("x-consul-index");
  const before = await settle(pid);
  const url = `${agent.url}/v1/health/service/svc-a?index=${index}&wait=120s`;
  const responses: Promise<{ status: number; index: string | undefined; at: number }>[] = [];
  for (let i = 0; i < N; i++) responses.push(get(url));
  await until(async () => (await metric(agent.url, "augur_http_blocking_queries")) >= N);
  const parked = await settle(pid);
  const wokenBefore = await metric(agent.url, "augur_http_blocking_queries_woken");
  await put("/v1/agent/check/pass/service:svc-b");
  await put("/v1/kv/unrelated", { x: 1 });
  await put("/v1/agent/service/register", { Name: "svc-c" });
  await new Promise((r) => setTimeout(r, 500));
  const unrelatedWoken =
    (await metric(agent.url, "augur_http_blocking_queries_woken")) - wokenBefore;
  const start = performance.now();
  await put("/v1/agent/check/pass/service:svc-a");
  const done = await Promise.all(responses);
  const releaseMs = Math.max(...done.map((d) => d.at)) - start;
  await agent.stop();
  return {
    perQuery: (parked - before) / N,
    releaseMs,
    unrelatedWoken,
    answered: done.filter((d) => d.status === 200 && d.index !== index).length,
  };
}

async function benchBare(): Promise<{ perQuery: number; releaseMs: number }> {
  const code = `
    const held = [];
    require("node:http").createServer((q, s) => {
      if (q.url === "/release") { for (const r of held.splice(0)) r.end("[]"); s.end("ok"); return; }
      if (q.url === "/count") { s.end(String(held.length)); return; }
      held.push(s);
    }).listen(0, "127.0.0.1", function () { console.log(this.address().port); });`;
  const proc = spawn(process.execPath, ["-e", code], { stdio: ["ignore", "pipe", "inherit"] });
  const [chunk] = (await once(proc.stdout, "data")) as [Buffer];
  const base = `http://127.0.0.1:${chunk.toString().trim()}`;
  const before = await settle(proc.pid as number);
  const responses: Promise<{ at: number }>[] = [];
  for (let i = 0; i < N; i++) responses.push(get(`${base}/poll`));
  await until(async () => Number(await (await fetch(`${base}/count`)).text()) >= N);
  const parked = await settle(proc.pid as number);
  const start = performance.now();
  await fetch(`${base}/release`);
  const done = await Promise.all(responses);
  proc.kill();
  return { perQuery: (parked - before) / N, releaseMs: Math.max(...done.map((d) => d.at)) - start };
}

async function main(): Promise<void> {
  const bare = await benchBare();
  const augur = await benchAugur();
  await writeSection(
    "blocking-queries",
    `## ${N.toLocaleString("en-US")} concurrent blocking queries (issue #2, 10b)

All parked on \`GET /v1/health/service/svc-a?index=…&wait=120s\` from one client process; memory
is the server's RSS delta divided by the number of parked requests.

| | memory per parked query | all answered after one change | woken by unrelated changes |
| --- | ---: | ---: | ---: |
| bare node:http long-poll | ${fmt(bare.perQuery / 1024)} KB | ${fmt(bare.releaseMs, 0)} ms | — |
| augur | ${fmt(augur.perQuery / 1024)} KB | ${fmt(augur.releaseMs, 0)} ms | ${augur.unrelatedWoken} |

augur answered ${augur.answered.toLocaleString("en-US")} of ${N.toLocaleString("en-US")} with the new index.
Goals: ≤ 12 KB per query (${augur.perQuery / 1024 <= 12 ? "met" : "not met"}), ≤ 1 s to release all (${augur.releaseMs <= 1000 ? "met" : "not met"}),
0 woken by a check change on another service, a KV write and a new service (${augur.unrelatedWoken === 0 ? "met" : "not met"}).`,
  );
}

await main();
