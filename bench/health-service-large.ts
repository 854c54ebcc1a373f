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
import { spawn, type ChildProcess } from "node:child_process";
import { writeFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAgentProcess } from "../test/helpers/agent-process.js";
import { fmt, percentile, writeSection } from "./lib/report.js";
import { registerAll } from "./lib/register.js";

const INSTANCES = Number(process.env["BENCH_INSTANCES"] ?? 10_000);
const NODES = 1_000;
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 10);

/** A child process that GETs `url` every 2 ms; SIGUSR2 makes it print and reset its worst wait. */
const PINGER = `
let worst = 0;
process.on("SIGUSR2", () => { process.stdout.write(worst.toFixed(2) + "\\n"); worst = 0; });
process.stdout.write("ready\\n");
(async () => { for (;;) { const s = performance.now(); try { await fetch(process.argv[1]).then((r) => r.text()); } catch {} worst = Math.max(worst, performance.now() - s); await new Promise((r) => setTimeout(r, 2)); } })();`;

class Pinger {
  readonly #proc: ChildProcess;
  private constructor(proc: ChildProcess) {
    this.#proc = proc;
  }
  /** Started once it says so: a SIGUSR2 before its handler is in place would end it. */
  static async start(url: string): Promise<Pinger> {
    const proc = spawn(process.execPath, ["-e", PINGER, url], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    await new Promise((resolve) => proc.stdout?.once("data", resolve));
    return new Pinger(proc);
  }
  /** The worst wait since the last call. */
  async worst(): Promise<number> {
    const line = new Promise<string>((resolve) =>
      this.#proc.stdout?.once("data", (d: Buffer) => resolve(d.toString())),
    );
    this.#proc.kill("SIGUSR2");
    return Number(await line);
  }
  stop(): void {
    this.#proc.kill();
  }
}

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

/** A bare node:http server answering every request with the bytes in `file`. */
async function bareServer(file: string): Promise<{ url: string; proc: ChildProcess }> {
  const code = `const body = require("node:fs").readFileSync(process.argv[1]);
require("node:http").createServer((q, s) => {
  if (q.url === "/ping") return s.end("ok");
  s.writeHead(200, { "Content-Type": "application/json", "Content-Length": body.length });
  s.end(body);
}).listen(0, "127.0.0.1", function () { console.log(this.address().port); });`;
  const proc = spawn(process.execPath, ["-e", code, file], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<string>((resolve) =>
    proc.stdout?.once("data", (d: Buffer) => resolve(d.toString().trim())),
  );
  return { url: `http://127.0.0.1:${port}`, proc };
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One read of `url` while `pinger` pings: the read's time and the pings' worst wait. */
async function measured(url: string, pinger: Pinger): Promise<{ readMs: number; pingMs: number }> {
  await pause(100);
  await pinger.worst(); // reset
  const start = performance.now();
  await (await fetch(url)).arrayBuffer();
  const readMs = performance.now() - start;
  await pause(50);
  return { readMs, pingMs: await pinger.worst() };
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
