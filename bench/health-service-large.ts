/**
 * Benchmark: one read of a large service — `GET /v1/health/service/web` with 10,000 instances on
 * 1,000 nodes (2 checks each, ~9 MB of JSON) — and what it does to every other request: the
 * longest a trivial request (`/v1/status/leader`, sent every 2 ms by a separate process) waits
 * while the read runs. Each round first flips one check, so the read is after a change (one
 * node's entries are new), as for a watcher of the service.
 *
 * Peer, in the same run with rounds interleaved: a bare node:http server sending the very same
 * bytes (captured from augur's answer) with the same pinging — the floor for a node server
 * sending that body.
 *
 * Run: `npm run build && node dist/bench/health-service-large.js`
 */
import { writeFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAgentProcess } from "../test/helpers/agent-process.js";
import { fmt, percentile, writeSection } from "./lib/report.js";
import { registerAll } from "./lib/register.js";
import { bareServer, measured, Pinger } from "./lib/stall.js";

const INSTANCES = Number(process.env["BENCH_INSTANCES"] ?? 10_000);
const NODES = 1_000;
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 10);

function* registrations(): Generator<object> {
  for (let i = 0; i < INSTANCES; i++) {
    const n = i % NODES;
    yield {
      Node: `node-${n}`,
      Address: `10.0.${n >> 8}.${n & 255}`,
      Service: { ID: `web-${i}`, Service: "web", Port: 8000 + (i % 100), Tags: ["a", "b"] },
      Checks: [0, 1].map((c) => ({
        CheckID: `web-${i}-c${c}`,
        Name: `check ${c}`,
        Status: "passing",
        ServiceID: `web-${i}`,
      })),
    };
  }
}

async function main(): Promise<void> {
  const agent = await startAgentProcess({ startTimeoutMs: 30_000 });
  const dir = await mkdtemp(join(tmpdir(), "augur-bench-health-"));
  try {
    await registerAll(agent.url, registrations());
    const augurPinger = await Pinger.start(`${agent.url}/v1/status/leader`);
    const serviceUrl = `${agent.url}/v1/health/service/web`;
    const first = await measured(serviceUrl, augurPinger);
    const body = Buffer.from(await (await fetch(serviceUrl)).arrayBuffer());
    await writeFile(join(dir, "body.json"), body);
    const bare = await bareServer(join(dir, "body.json"));
    const barePinger = await Pinger.start(`${bare.url}/ping`);
    const a: { readMs: number; pingMs: number }[] = [];
    const b: { readMs: number; pingMs: number }[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      await fetch(`${agent.url}/v1/catalog/register`, {
        method: "PUT",
        body: JSON.stringify({
          Node: "node-1",
          Address: "10.0.0.1",
          Check: {
            CheckID: "web-1-c0",
            Name: "check 0",
            ServiceID: "web-1",
            Status: round % 2 === 0 ? "warning" : "passing",
          },
        }),
      });
      a.push(await measured(serviceUrl, augurPinger));
      b.push(await measured(`${bare.url}/`, barePinger));
    }
    augurPinger.stop();
    barePinger.stop();
    bare.proc.kill();
    const med = (xs: { readMs: number; pingMs: number }[], k: "readMs" | "pingMs"): number =>
      percentile(
        xs.map((x) => x[k]).sort((p, q) => p - q),
        50,
      );
    const worst = (xs: { readMs: number; pingMs: number }[], k: "readMs" | "pingMs"): number =>
      Math.max(...xs.map((x) => x[k]));
    await writeSection(
      "health-service-large",
      `## One large service read, and what it does to other requests

\`GET /v1/health/service/web\` with ${fmt(INSTANCES, 0)} instances on ${fmt(NODES, 0)} nodes (2 checks
each; ${fmt(body.length / 1e6, 1)} MB of JSON), each round after one check flip. "Other requests
wait" is the longest a \`/v1/status/leader\` request, sent every 2 ms by another process, took
while the read ran. Peer: a bare node:http server sending the same bytes. ${ROUNDS} rounds,
interleaved; median (worst).

| server | read | other requests wait |
| --- | ---: | ---: |
| augur, after a check flip | ${fmt(med(a, "readMs"), 0)} ms (${fmt(worst(a, "readMs"), 0)}) | ${fmt(med(a, "pingMs"), 0)} ms (${fmt(worst(a, "pingMs"), 0)}) |
| bare node:http, same bytes | ${fmt(med(b, "readMs"), 0)} ms (${fmt(worst(b, "readMs"), 0)}) | ${fmt(med(b, "pingMs"), 0)} ms (${fmt(worst(b, "pingMs"), 0)}) |
| augur, the first read after the catalog was filled (once) | ${fmt(first.readMs, 0)} ms | ${fmt(first.pingMs, 0)} ms |

Ratio augur / bare, other requests' wait (median): **${fmt(med(a, "pingMs") / med(b, "pingMs"), 2)}×**.`,
    );
  } finally {
    await agent.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
