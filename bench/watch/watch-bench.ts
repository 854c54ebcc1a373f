/**
 * Benchmarks of the watch engine (issue #3, item 7), in-process against a real agent:
 *
 * 1. change → handler start: a KV PUT until the HTTP handler's request arrives (p50/p99), with
 *    the durable (lmdb) outbox in between: the agent's own (in-process) watch and one through the
 *    HTTP client, interleaved.
 * 2. throughput through the durable outbox: events committed (flushed) and delivered per second
 *    by several watches' HTTP handlers to a local receiver (a process of its own), with 8 and
 *    with 64 watches committing at once. Goal ≥ 10,000 events/s (issue #10, item 3: group
 *    commit; one flush per write capped it near the disk's fsync rate, ~1,200/s).
 * 3. noise control: 100 changes in one second into a watch with `quiet_period = "1s"`
 *    (`quiet_period_max = "5s"`). Goal ≤ 10 deliveries.
 *
 * Run: `npm run build && node dist/bench/watch/watch-bench.js`; with `throughput` as argument,
 * only the throughput measures run and are printed (BENCHMARKS.md is left alone).
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConsulClient } from "../../src/client/consul-client.js";
import { parseWatchDefinition } from "../../src/watch/definition.js";
import { WatchManager } from "../../src/watch/manager.js";
import { LmdbWatchStore } from "../../src/watch/lmdb-store.js";
import { COMMITS_IN_FLIGHT_MAX } from "../../src/watch/detector.js";
import type { OutboxRecord } from "../../src/watch/outbox.js";
import { DeliveryWorker } from "../../src/watch/delivery-worker.js";
import { HttpHandler } from "../../src/watch/handlers/http-handler.js";
import { systemClock } from "../../src/watch/clock.js";
import { silentLogger } from "../../src/watch/logger.js";
import { startTestAgent, type TestAgent } from "../../test/helpers/in-process-agent.js";
import { httpReceiver } from "../../test/watch/receivers.js";
import { fmt, percentile, writeSection } from "../lib/report.js";

// 500 rather than 200: the p99 of 200 samples is the second-worst one (as in script-latency.ts).
const SAMPLES = Number(process.env["BENCH_SAMPLES"] ?? 500);
const EVENTS = Number(process.env["BENCH_EVENTS"] ?? 5000);

/**
 * Change → HTTP handler request, p50/p99, for the agent's own watch (in-process, wired by
 * main.ts from its config) and for the same watch through the HTTP client, interleaved: sample i
 * writes the in-process watch's key when i is even, the HTTP watch's key when odd.
 */
async function latency(
  dataDir: string,
): Promise<{ inProcess: { p50: number; p99: number }; http: { p50: number; p99: number } }> {
  const local = await httpReceiver();
  const remote = await httpReceiver();
  const agent = await startTestAgent({
    dev: false,
    dataDir: join(dataDir, "lat-agent"),
    watches: [
      parseWatchDefinition({
        type: "key",
        key: "bench/lat-local",
        handler_type: "http",
        http_handler_config: { path: local.url },
      }),
    ],
  });
  const m = new WatchManager({
    client: new ConsulClient({ address: agent.url }),
    openDurableStore: () => LmdbWatchStore.open(join(dataDir, "watches")),
  });
  await m.start([
    parseWatchDefinition({
      type: "key",
      key: "bench/lat-http",
      handler_type: "http",
      http_handler_config: { path: remote.url },
    }),
  ]);
  await Promise.all([local.waitFor(1), remote.waitFor(1)]);
  const samples = { inProcess: [] as number[], http: [] as number[] };
  for (let i = 0; i < 2 * SAMPLES; i++) {
    const [r, key, out] =
      i % 2 === 0
        ? [local, "bench/lat-local", samples.inProcess]
        : [remote, "bench/lat-http", samples.http];
    const before = r.requests.length;
    const t0 = performance.now();
    await agent.call("PUT", `/v1/kv/${key}`, `v${i}`);
    await r.waitFor(before + 1);
    out.push(performance.now() - t0);
  }
  await m.stop();
  await agent.stop();
  await Promise.all([local.close(), remote.close()]);
  const p = (l: number[]): { p50: number; p99: number } => (
    l.sort((a, b) => a - b),
    { p50: percentile(l, 50), p99: percentile(l, 99) }
  );
  return { inProcess: p(samples.inProcess), http: p(samples.http) };
}

/**
 * A webhook receiver in a process of its own, as a real one is: it answers 200 to everything,
 * and its CPU is not the agent's. Resolves with its URL and a stop function.
 */
async function receiverProcess(): Promise<{ url: string; stop(): void }> {
  const code = `const s = require("node:http").createServer((q, r) => { q.resume(); q.on("end", () => r.end()); });
s.keepAliveTimeout = 60000;
s.listen(0, "127.0.0.1", () => console.log(s.address().port));`;
  const child = spawn(process.execPath, ["-e", code], { stdio: ["ignore", "pipe", "inherit"] });
  const [line] = (await once(child.stdout.setEncoding("utf8"), "data")) as [string];
  return { url: `http://127.0.0.1:${line.trim()}/hook`, stop: () => void child.kill() };
}

interface Throughput {
  readonly perSecond: number;
  readonly commitPerSecond: number;
  /** Outbox writes (commits and delivery bookkeeping) per flush. */
  readonly writesPerFlush: number;
}

/**
 * `watches` watches, each with one HTTP handler (its own worker), all on one lmdb outbox, each
 * committing its events as a watch's detector does: without waiting for the previous one's flush
 * (at most COMMITS_IN_FLIGHT_MAX in flight), delivered once durable.
 */
async function throughput(
  dataDir: string,
  watches: number,
  receiverUrl: string,
): Promise<Throughput> {
  const store = await LmdbWatchStore.open(join(dataDir, `tp-${watches}`));
  const workers = Array.from({ length: watches }, (_, i) => {
    const def = {
      kind: "http",
      key: `h${i}`,
      payload: "consul",
      durable: true,
      timeoutMs: 5000,
      url: receiverUrl,
      method: "POST",
      header: {},
      tlsSkipVerify: false,
      retry: { initialIntervalMs: 100, maxIntervalMs: 1000, maxAttempts: 5, maxAgeMs: 0 },
    } as const;
    const w = new DeliveryWorker({
      handler: new HttpHandler(def),
      retry: def.retry,
      store,
      clock: systemClock(),
      logger: silentLogger,
    });
    w.start();
    return w;
  });
  const t0 = performance.now();
  const per = Math.ceil(EVENTS / watches);
  await Promise.all(
    workers.map(async (w, i) => {
      // As a watch's detector: the next commit without waiting for the disk, at most
      // COMMITS_IN_FLIGHT_MAX in flight, records handed to the worker once durable.
      const inFlight: Promise<void>[] = [];
      for (let n = 0; n < per; n++) {
        if (inFlight.length >= COMMITS_IN_FLIGHT_MAX) await inFlight.shift();
        inFlight.push(commitOne(i, n).then((recs) => w.enqueue(recs)));
      }
      await Promise.all(inFlight);
    }),
  );
  function commitOne(i: number, n: number): Promise<OutboxRecord[]> {
    return store.commit(
      `w${i}`,
      { version: 1, index: String(n), reported: {}, updatedAt: Date.now() },
      [
        {
          eventId: `e${i}-${n}`,
          watchId: `w${i}`,
          handlerKey: `h${i}`,
          index: String(n),
          createdAt: Date.now(),
          body: '{"Key":"k","Value":"dg=="}',
        },
      ],
    );
  }
  const committed = performance.now() - t0;
  while (store.depth() > 0) await new Promise((res) => setTimeout(res, 5));
  const total = performance.now() - t0;
  const stats = store.stats();
  await Promise.all(workers.map((w) => w.stop()));
  await store.close();
  const events = per * watches;
  return {
    perSecond: (events / total) * 1000,
    commitPerSecond: (events / committed) * 1000,
    writesPerFlush: stats.writes / Math.max(1, stats.flushes),
  };
}

async function burst(agent: TestAgent): Promise<number> {
  const r = await httpReceiver();
  const m = new WatchManager({ client: new ConsulClient({ address: agent.url }) });
  await m.start([
    parseWatchDefinition({
      type: "key",
      key: "bench/burst",
      on_start: "never",
      quiet_period: "1s",
      quiet_period_max: "5s",
      handler_type: "http",
      http_handler_config: { path: r.url },
    }),
  ]);
  await new Promise((res) => setTimeout(res, 300));
  const start = Date.now();
  for (let i = 0; i < 100; i++) {
    await agent.call("PUT", "/v1/kv/bench/burst", `v${i}`);
    const wait = start + (i + 1) * 10 - Date.now();
    if (wait > 0) await new Promise((res) => setTimeout(res, wait));
  }
  await new Promise((res) => setTimeout(res, 2500));
  await m.stop();
  await r.close();
  return r.requests.length;
}

const WATCH_COUNTS = [1, 8, 64] as const;

/** The throughput measures, one per watch count, against one receiver process. */
async function throughputs(dataDir: string): Promise<Throughput[]> {
  const receiver = await receiverProcess();
  try {
    const out: Throughput[] = [];
    for (const watches of WATCH_COUNTS) out.push(await throughput(dataDir, watches, receiver.url));
    return out;
  } finally {
    receiver.stop();
  }
}

function throughputRows(tps: readonly Throughput[]): string {
  return tps
    .map((tp, i) => {
      const w = WATCH_COUNTS[i] ?? 0;
      return `| durable events/s: outbox commits (each flushed before it counts), ${w} watch${w === 1 ? "" : "es"} committing at once, ${EVENTS} events; outbox writes per flush | ${fmt(tp.commitPerSecond, 0)} /s; ${fmt(tp.writesPerFlush, 1)} | ≥ 10,000 /s |
| the same events delivered too (commit + flush + an HTTP POST each to a receiver process, one handler per watch, in order) | ${fmt(tp.perSecond, 0)} /s | — (the HTTP round trips bound it) |`;
    })
    .join("\n");
}

async function main(): Promise<void> {
  if (process.argv[2] === "throughput") {
    const dataDir = await mkdtemp(join(tmpdir(), "augur-watch-bench-"));
    try {
      process.stdout.write(`${throughputRows(await throughputs(dataDir))}\n`);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
    return;
  }
  const agent = await startTestAgent();
  const dataDir = await mkdtemp(join(tmpdir(), "augur-watch-bench-"));
  try {
    const lat = await latency(dataDir);
    // `watch-bench.js latency`: only this, printed, BENCHMARKS.md untouched (for profiling).
    if (process.argv[2] === "latency") return void process.stdout.write(`${JSON.stringify(lat)}\n`);
    const tps = await throughputs(dataDir);
    const deliveries = await burst(agent);
    await writeSection(
      "watch",
      `## Watches (issue #3)

| measure | result | goal |
| --- | --- | --- |
| KV change → HTTP handler request, p50: the agent's own watch, in-process (durable outbox, ${SAMPLES} samples) | ${fmt(lat.inProcess.p50, 2)} ms | — |
| KV change → HTTP handler request, p99: the agent's own watch, in-process | ${fmt(lat.inProcess.p99, 2)} ms | ≤ 20 ms |
| the same through the HTTP client (as \`augur watch\` or a remote agent's watch), p50, interleaved | ${fmt(lat.http.p50, 2)} ms | — |
| the same through the HTTP client, p99 | ${fmt(lat.http.p99, 2)} ms | — |
${throughputRows(tps)}
| deliveries for 100 changes in 1 s with quiet_period 1s (max 5s) | ${deliveries} | ≤ 10 |`,
    );
  } finally {
    await agent.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
