/**
 * Benchmark (issue #4, item 9): how long from `kill -9` of an agent until a handler runs on
 * another one, augur versus Debian's `serf`, same node count, same run, same handler
 * (`date +%s%N >> file`).
 *
 * - augur: N agents on a 3-member etcd (default 4 s liveness lease); agent 0 has a `checks`
 *   watch with `state = "critical"` whose script is the handler. Killing an agent turns its
 *   `serfHealth` critical once its lease lapses; the watch fires.
 * - serf: N `serf agent`s (default LAN profile) joined on loopback; agent 0 runs the handler on
 *   `member-failed`.
 *
 * Each trial kills a node other than 0, waits for the handler, restarts the node and waits until
 * it is back before the next trial.
 *
 * Run: `npm run build && node dist/bench/cluster/failure-detection.js`
 */
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, rm, writeFile, chmod } from "node:fs/promises";
import { freePort } from "../../test/helpers/free-port.js";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { startAgentProcess, type AgentProcess } from "../../test/helpers/agent-process.js";
import { startEtcdCluster } from "../../test/helpers/etcd-cluster.js";
import { fmt, percentile, writeSection } from "../lib/report.js";

const run = promisify(execFile);
const NODES = Number(process.env["BENCH_NODES"] ?? 3);
const TRIALS = Number(process.env["BENCH_TRIALS"] ?? 6);

const nowNs = (): bigint => BigInt(Date.now()) * 1_000_000n;

async function lines(file: string): Promise<bigint[]> {
  return (await readFile(file, "utf8").catch(() => ""))
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => BigInt(l));
}

async function waitFor(cond: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function augurTrials(dir: string): Promise<number[]> {
  const etcd = await startEtcdCluster(3);
  const file = join(dir, "augur-fired");
  const conf = join(dir, "watch.json");
  await writeFile(
    conf,
    JSON.stringify({
      watches: [
        {
          type: "checks",
          state: "critical",
          on_start: "never",
          args: ["/bin/sh", "-c", `date +%s%N >> ${file}`],
        },
      ],
    }),
  );
  const args = (i: number): string[] => [
    `-etcd=${etcd.clientUrls.join(",")}`,
    "-etcd-prefix",
    "fd/",
    "-node",
    `a${i}`,
    "-data-dir",
    join(dir, `a${i}`),
    "-bind",
    "127.0.0.1",
    ...(i === 0 ? ["-config-file", conf] : []),
  ];
  const agents: AgentProcess[] = [];
  for (let i = 0; i < NODES; i++) agents.push(await startAgentProcess({ args: args(i) }));
  const observer = agents[0] as AgentProcess;
  const passing = async (): Promise<boolean> =>
    ((await (await fetch(`${observer.url}/v1/health/state/critical`)).json()) as unknown[])
      .length === 0;
  const out: number[] = [];
  try {
    await waitFor(passing, 15_000, "all passing");
    await new Promise((r) => setTimeout(r, 500));
    for (let t = 0; t < TRIALS; t++) {
      const k = 1 + (t % (NODES - 1));
      const before = (await lines(file)).length;
      const killedAt = nowNs();
      await (agents[k] as AgentProcess).kill();
      await waitFor(async () => (await lines(file)).length > before, 30_000, "augur handler");
      out.push(Number(((await lines(file))[before] as bigint) - killedAt) / 1e6);
      agents[k] = await startAgentProcess({ args: args(k) });
      await waitFor(passing, 15_000, "back to passing");
      await waitFor(
        async () => (await lines(file)).length > before + 1,
        10_000,
        "recovery seen by the watch",
      );
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    for (const a of agents) await a.stop();
    await etcd.stop();
  }
  return out.sort((a, b) => a - b);
}

async function serfTrials(dir: string): Promise<number[]> {
  const file = join(dir, "serf-fired");
  const handler = join(dir, "handler.sh");
  await writeFile(handler, `#!/bin/sh\ndate +%s%N >> ${file}\n`);
  await chmod(handler, 0o755);
  const ports = await Promise.all(
    Array.from({ length: NODES }, async () => ({ bind: await freePort(), rpc: await freePort() })),
  );
  const rpc = (i: number): string => `-rpc-addr=127.0.0.1:${ports[i]?.rpc}`;
  const startSerf = async (i: number): Promise<ChildProcess> => {
    const p = ports[i] as { bind: number; rpc: number };
    const extra =
      i === 0 ? [`-event-handler=member-failed=${handler}`] : [`-join=127.0.0.1:${ports[0]?.bind}`];
    const proc = spawn(
      "serf",
      ["agent", `-node=s${i}`, `-bind=127.0.0.1:${p.bind}`, rpc(i), "-log-level=warn", ...extra],
      { stdio: "ignore" },
    );
    await waitFor(
      async () =>
        run("serf", ["members", rpc(i)]).then(
          () => true,
          () => false,
        ),
      10_000,
      `serf s${i} up`,
    );
    return proc;
  };
  const aliveCount = async (): Promise<number> =>
    (await run("serf", ["members", rpc(0), "-status=alive"])).stdout
      .trim()
      .split("\n")
      .filter(Boolean).length;
  const procs: ChildProcess[] = [];
  for (let i = 0; i < NODES; i++) procs.push(await startSerf(i));
  const out: number[] = [];
  try {
    await waitFor(async () => (await aliveCount()) === NODES, 15_000, "serf members alive");
    for (let t = 0; t < TRIALS; t++) {
      const k = 1 + (t % (NODES - 1));
      const before = (await lines(file)).length;
      const killedAt = nowNs();
      (procs[k] as ChildProcess).kill("SIGKILL");
      await once(procs[k] as ChildProcess, "exit");
      await waitFor(
        async () => (await lines(file)).length > before,
        60_000,
        "serf member-failed handler",
      );
      out.push(Number(((await lines(file))[before] as bigint) - killedAt) / 1e6);
      procs[k] = await startSerf(k);
      await waitFor(async () => (await aliveCount()) === NODES, 30_000, "serf member back");
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    for (const p of procs) p.kill("SIGKILL");
  }
  return out.sort((a, b) => a - b);
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "augur-bench-fd-"));
  try {
    const serf = await serfTrials(dir);
    const augur = await augurTrials(dir);
    const row = (name: string, s: number[]): string =>
      `| ${name} | ${s.length} | ${fmt(percentile(s, 50) / 1000, 2)} s | ${fmt(Math.max(...s) / 1000, 2)} s | ${fmt(Math.min(...s) / 1000, 2)} s |`;
    const ratio = percentile(augur, 50) / percentile(serf, 50);
    await writeSection(
      "cluster-failure-detection",
      `## Agent killed → handler on another agent (issue #4, item 9)

${NODES} nodes on loopback, \`kill -9\` of one (not the observer), ${TRIALS} trials each; the handler is
\`date +%s%N >> file\` in both. augur: 3-member etcd, default 4 s liveness lease, a \`checks\` watch
with \`state = "critical"\`. serf: \`serf agent\` (Debian, default LAN profile) with a
\`member-failed\` event handler.

| system | trials | median | worst | best |
| --- | ---: | ---: | ---: | ---: |
${row("augur: kill → serfHealth critical → watch script", augur)}
${row("serf: kill → member-failed handler", serf)}

Ratio augur / serf (median): **${fmt(ratio, 2)}×** (goal ≤ 1.0×: ${ratio <= 1 ? "met" : "not met"}; aim 0.6×).
augur's time is the lease: the agent renews every TTL/3, so a kill is noticed between 2/3 and all of
the 4 s TTL after it, plus etcd's lease-expiry sweep; the watch itself adds milliseconds.`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
