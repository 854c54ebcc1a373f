/**
 * Benchmark (issue #2, 10c): a check flip's wake latency for the watcher of that service, in a
 * 10,000-service / 30,000-check catalog versus a 100-service / 300-check one (goal ≤ 2×).
 * Latency = from sending the flip until the parked `health/service` query has its answer.
 *
 * Run: `npm run build && node dist/bench/catalog-scale.js`
 */
import { startAgentProcess, type AgentProcess } from "../test/helpers/agent-process.js";
import { fmt, percentile, writeSection } from "./lib/report.js";
import { registerAll } from "./lib/register.js";

const FLIPS = Number(process.env["BENCH_FLIPS"] ?? 50);
const SERVICES_PER_NODE = 10;

function* registrations(services: number): Generator<object> {
  const nodes = Math.ceil(services / SERVICES_PER_NODE);
  for (let n = 0; n < nodes; n++) {
    for (let s = 0; s < SERVICES_PER_NODE && n * SERVICES_PER_NODE + s < services; s++) {
      const name = `svc-${n * SERVICES_PER_NODE + s}`;
      yield {
        Node: `node-${n}`,
        Address: `10.0.${n >> 8}.${n & 255}`,
        Service: { Service: name, Port: 8000 + s },
        Checks: [0, 1, 2].map((i) => ({
          CheckID: `${name}-c${i}`,
          Name: `check ${i}`,
          Status: "passing",
          ServiceID: name,
        })),
      };
    }
  }
}

async function flipLatencies(agent: AgentProcess): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < FLIPS; i++) {
    const index = (await fetch(`${agent.url}/v1/health/service/svc-0`)).headers.get(
      "x-consul-index",
    );
    const parked = fetch(`${agent.url}/v1/health/service/svc-0?index=${index}&wait=30s`).then(
      async (r) => {
        await r.text();
        return performance.now();
      },
    );
    await new Promise((r) => setTimeout(r, 20));
    const start = performance.now();
    await fetch(`${agent.url}/v1/catalog/register`, {
      method: "PUT",
      body: JSON.stringify({
        Node: "node-0",
        Address: "10.0.0.0",
        Check: {
          CheckID: "svc-0-c0",
          Name: "check 0",
          ServiceID: "svc-0",
          Status: i % 2 === 0 ? "critical" : "passing",
        },
      }),
    });
    out.push((await parked) - start);
  }
  return out.sort((a, b) => a - b);
}

async function measure(services: number): Promise<{ p50: number; p99: number; fillS: number }> {
  const agent = await startAgentProcess({ startTimeoutMs: 30_000 });
  const t0 = performance.now();
  await registerAll(agent.url, registrations(services));
  const fillS = (performance.now() - t0) / 1000;
  await flipLatencies(agent); // warm-up
  const lat = await flipLatencies(agent);
  await agent.stop();
  return { p50: percentile(lat, 50), p99: percentile(lat, 99), fillS };
}

async function main(): Promise<void> {
  const small = await measure(100);
  const large = await measure(10_000);
  const ratio = large.p50 / small.p50;
  await writeSection(
    "catalog-scale",
    `## Check flip → watcher wake, by catalog size (issue #2, 10c)

${FLIPS} flips of one check of \`svc-0\` (via \`catalog/register\`), each with one parked
\`GET /v1/health/service/svc-0?index=…\`; latency from sending the flip to the watcher's answer.

| catalog | wake p50 | wake p99 | time to register it |
| --- | ---: | ---: | ---: |
| 100 services / 300 checks | ${fmt(small.p50, 2)} ms | ${fmt(small.p99, 2)} ms | ${fmt(small.fillS, 1)} s |
| 10,000 services / 30,000 checks | ${fmt(large.p50, 2)} ms | ${fmt(large.p99, 2)} ms | ${fmt(large.fillS, 1)} s |

Ratio large / small (p50): **${fmt(ratio, 2)}×** (goal ≤ 2×: ${ratio <= 2 ? "met" : "not met"}); p99 ratio ${fmt(large.p99 / small.p99, 2)}×.`,
  );
}

await main();
