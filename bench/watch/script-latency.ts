/**
 * Benchmark (issue #3, item 7; issue #10, item 2): change → script handler start, augur versus
 * Debian's `etcdctl watch <key> -- <command>` against a local single-member etcd, in the same run,
 * rounds interleaved (one etcd change, one augur change, ...) so both see the same machine load.
 * Both handlers are the same `sh -c 'date +%s%N >> file'`; the latency is from just before the
 * write is sent (augur: `PUT /v1/kv/<key>`; etcd: its JSON gateway `POST /v3/kv/put`) to the
 * timestamp the command wrote. No quiet period; augur's outbox is durable (lmdb).
 *
 * Run: `npm run build && node dist/bench/watch/script-latency.js`
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { freePort } from "../../test/helpers/free-port.js";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAgentProcess } from "../../test/helpers/agent-process.js";
import { fmt, percentile, writeSection } from "../lib/report.js";

// 500 rather than 200: the p99 of 200 samples is the second-worst one, and moved by 10 %
// between runs of the same code.
const N = Number(process.env["BENCH_CHANGES"] ?? 500);

async function waitLines(file: string, n: number): Promise<bigint[]> {
  const end = Date.now() + 10_000;
  for (;;) {
    const lines = (await readFile(file, "utf8").catch(() => "")).trim().split("\n").filter(Boolean);
    if (lines.length >= n || Date.now() > end) return lines.map((l) => BigInt(l));
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** One watcher under test: how to make change `i`, and the file its handler appends to. */
interface Watcher {
  readonly file: string;
  readonly write: (i: number) => Promise<void>;
  /** Lines the handler wrote before the first measured change. */
  seen: number;
  readonly out: number[];
  readonly stop: () => Promise<void>;
}

/** Sends 2 × N writes one at a time, alternating between the two watchers (interleaved rounds). */
async function measure(watchers: readonly Watcher[]): Promise<void> {
  for (let i = 0; i < N * watchers.length; i++) {
    const w = watchers[i % watchers.length] as Watcher;
    const sent = BigInt(Date.now()) * 1_000_000n;
    await w.write(i);
    const lines = await waitLines(w.file, w.seen + 1);
    const started = lines[w.seen];
    w.seen = lines.length;
    if (started !== undefined) w.out.push(Number(started - sent) / 1e6);
    await new Promise((r) => setTimeout(r, 30));
  }
  for (const w of watchers) w.out.sort((a, b) => a - b);
}

async function etcdPeer(dir: string): Promise<Watcher> {
  const client = await freePort();
  const peer = await freePort();
  const etcd = spawn(
    "/usr/bin/etcd",
    [
      "--data-dir",
      join(dir, "etcd"),
      "--listen-client-urls",
      `http://127.0.0.1:${client}`,
      "--advertise-client-urls",
      `http://127.0.0.1:${client}`,
      "--listen-peer-urls",
      `http://127.0.0.1:${peer}`,
      "--initial-advertise-peer-urls",
      `http://127.0.0.1:${peer}`,
      "--initial-cluster",
      `default=http://127.0.0.1:${peer}`,
      "--log-level",
      "error",
    ],
    { stdio: "ignore" },
  );
  const url = `http://127.0.0.1:${client}`;
  for (let i = 0; i < 100; i++) {
    if (
      await fetch(`${url}/health`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const file = join(dir, "etcd.log");
  const watcher = spawn(
    "/usr/bin/etcdctl",
    [`--endpoints=${url}`, "watch", "bench-key", "--", "sh", "-c", `date +%s%N >> ${file}`],
    { stdio: "ignore", env: { ...process.env, ETCDCTL_API: "3" } },
  );
  await new Promise((r) => setTimeout(r, 500));
  const key = Buffer.from("bench-key").toString("base64");
  return {
    file,
    seen: 0,
    out: [],
    write: async (i) => {
      await fetch(`${url}/v3/kv/put`, {
        method: "POST",
        body: JSON.stringify({ key, value: Buffer.from(String(i)).toString("base64") }),
      });
    },
    stop: async () => {
      watcher.kill();
      etcd.kill();
    },
  };
}

/**
 * One augur agent (-data-dir: the KV store and the outbox on disk) with two watches: `bench-key`
 * with a durable handler (the default: the event is flushed to the outbox before the script
 * starts) and `bench-key-volatile` with `durable = false` (no outbox flush: like etcdctl, nothing
 * survives a crash between the change and the handler).
 */
async function augurScripts(dir: string): Promise<[Watcher, Watcher]> {
  const file = join(dir, "augur.log");
  const volatileFile = join(dir, "augur-volatile.log");
  const config = join(dir, "augur.json");
  await writeFile(
    config,
    JSON.stringify({
      watches: [
        { type: "key", key: "bench-key", args: ["sh", "-c", `date +%s%N >> ${file}`] },
        {
          type: "key",
          key: "bench-key-volatile",
          durable: false,
          args: ["sh", "-c", `date +%s%N >> ${volatileFile}`],
        },
      ],
    }),
  );
  const agent = await startAgentProcess({
    args: ["-data-dir", join(dir, "augur-data"), "-config-file", config],
  });
  // Consul fires once at start (key missing → null).
  const watcher = async (key: string, log: string): Promise<Watcher> => ({
    file: log,
    seen: (await waitLines(log, 1)).length,
    out: [],
    write: async (i) => {
      await fetch(`${agent.url}/v1/kv/${key}`, { method: "PUT", body: String(i) });
    },
    stop: () => Promise.resolve(),
  });
  const durable = await watcher("bench-key", file);
  const volatile = await watcher("bench-key-volatile", volatileFile);
  return [{ ...durable, stop: () => agent.stop() }, volatile];
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "augur-bench-"));
  try {
    const peer = await etcdPeer(dir);
    const [own, ownVolatile] = await augurScripts(dir);
    try {
      await measure([peer, own, ownVolatile]);
    } finally {
      await own.stop();
      await peer.stop();
    }
    const [etcd, augur, volatile] = [peer.out, own.out, ownVolatile.out];
    const row = (name: string, l: number[]): string =>
      `| ${name} | ${l.length} | ${fmt(percentile(l, 50), 1)} ms | ${fmt(percentile(l, 99), 1)} ms |`;
    await writeSection(
      "watch-script-latency",
      `## Change → script handler start (issue #3, item 7)

${N} single-key changes each, one at a time, rotating between the three (interleaved rounds); the
handler is \`sh -c 'date +%s%N >> file'\` in all. augur's watches are the agent's own, read
in-process, in one agent with \`-data-dir\` (KV writes flushed to disk, as etcd's). The durable row
is the goal's: the event is flushed to the outbox before the script starts. The \`durable = false\`
row is what etcdctl offers (no outbox: a crash between change and handler loses the event). Each
augur handler's next \`sh\` is started ahead, after the previous delivery ends (docs/watches.md),
so no \`fork()\` of the agent sits between a change and its script; the command being
\`sh -c\`, that \`sh\` runs the script itself (etcdctl starts \`sh\`, which starts \`date\`).

| watcher | changes seen | p50 | p99 |
| --- | ---: | ---: | ---: |
${row("etcdctl watch bench-key -- cmd (etcd 3.4, one member)", etcd)}
${row("augur \`key\` watch, script handler, durable outbox (-data-dir)", augur)}
${row("augur \`key\` watch, script handler, \`durable = false\`", volatile)}

Ratio augur / etcdctl p99: **${fmt(percentile(augur, 99) / percentile(etcd, 99), 2)}×** durable (goal ≤ 1.0×: ${percentile(augur, 99) <= percentile(etcd, 99) ? "met" : "not met"}); ${fmt(percentile(volatile, 99) / percentile(etcd, 99), 2)}× with \`durable = false\`. p50: ${fmt(percentile(augur, 50) / percentile(etcd, 50), 2)}× and ${fmt(percentile(volatile, 50) / percentile(etcd, 50), 2)}×.`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
