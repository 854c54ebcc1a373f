/**
 * Benchmarks of the watch engine (issue #3, item 7), in-process against a real agent:
 *
 * 1. change → handler start: a KV PUT until the HTTP handler's request arrives (p50/p99), with
 *    the durable (lmdb) outbox in between.
 * 2. throughput through the durable outbox: events committed (flushed) and delivered per second
 *    by several watches' handlers to a local receiver. Goal ≥ 1,000 events/s.
 * 3. noise control: 100 changes in one second into a watch with `quiet_period = "1s"`
 *    (`quiet_period_max = "5s"`). Goal ≤ 10 deliveries.
 *
 * Run: `npm run build && node dist/bench/watch/watch-bench.js`; with `throughput` as argument,
 * only the throughput measure runs and is printed (BENCHMARKS.md is left alone).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConsulClient } from "../../src/client/consul-client.js";
import { parseWatchDefinition } from "../../src/watch/definition.js";
import { WatchManager } from "../../src/watch/manager.js";
import { LmdbWatchStore } from "../../src/watch/lmdb-store.js";
import { DeliveryWorker } from "../../src/watch/delivery-worker.js";
import { HttpHandler } from "../../src/watch/handlers/http-handler.js";
import { systemClock } from "../../src/watch/clock.js";
import { silentLogger } from "../../src/watch/logger.js";
import { startTestAgent, type TestAgent } from "../../test/helpers/in-process-agent.js";
import { httpReceiver } from "../../test/watch/receivers.js";
import { fmt, percentile, writeSection } from "../lib/report.js";

const SAMPLES = Number(process.env["BENCH_SAMPLES"] ?? 200);
const EVENTS = Number(process.env["BENCH_EVENTS"] ?? 5000);

async function latency(agent: TestAgent, dataDir: string): Promise<{ p50: number; p99: number }> {
  const r = await httpReceiver();
  const m = new WatchManager({ client: new ConsulClient({ address: agent.url }), openDurableStore: () => LmdbWatchStore.open(join(dataDir, "watches")) });
  await m.start([parseWatchDefinition({ type: "key", key: "bench/lat", handler_type: "http", http_handler_config: { path: r.url } })]);
  await r.waitFor(1);
  const samples: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const before = r.requests.length;
    const t0 = performance.now();
    await agent.call("PUT", "/v1/kv/bench/lat", `v${i}`);
    await r.waitFor(before + 1);
    samples.push(performance.now() - t0);
  }
  await m.stop();
  await r.close();
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p99: percentile(samples, 99) };
}

async function throughput(dataDir: string): Promise<{ perSecond: number; commitPerSecond: number }> {
  const r = await httpReceiver();
  const store = await LmdbWatchStore.open(join(dataDir, "tp"));
  const HANDLERS = 8;
  const workers = Array.from({ length: HANDLERS }, (_, i) => {
    const def = { kind: "http", key: `h${i}`, payload: "consul", durable: true, timeoutMs: 5000, url: r.url, method: "POST", header: {}, tlsSkipVerify: false, retry: { initialIntervalMs: 100, maxIntervalMs: 1000, maxAttempts: 5, maxAgeMs: 0 } } as const;
    const w = new DeliveryWorker({ handler: new HttpHandler(def), retry: def.retry, store, clock: systemClock(), logger: silentLogger });
    w.start();
    return w;
  });
  const t0 = performance.now();
  const per = EVENTS / HANDLERS;
  await Promise.all(
    workers.map(async (w, i) => {
      for (let n = 0; n < per; n++) {
        const recs = await store.commit(`w${i}`, { version: 1, index: String(n), reported: {}, updatedAt: Date.now() }, [{ eventId: `e${i}-${n}`, watchId: `w${i}`, handlerKey: `h${i}`, index: String(n), createdAt: Date.now(), body: '{"Key":"k","Value":"dg=="}' }]);
        w.enqueue(recs);
      }
    }),
  );
  const committed = performance.now() - t0;
  while (store.depth() > 0) await new Promise((res) => setTimeout(res, 5));
  const total = performance.now() - t0;
  await Promise.all(workers.map((w) => w.stop()));
  await store.close();
  await r.close();
  return { perSecond: (EVENTS / total) * 1000, commitPerSecond: (EVENTS / committed) * 1000 };
}

async function burst(agent: TestAgent): Promise<number> {
  const r = await httpReceiver();
  const m = new WatchManager({ client: new ConsulClient({ address: agent.url }) });
  await m.start([parseWatchDefinition({ type: "key", key: "bench/burst", on_start: "never", quiet_period: "1s", quiet_period_max: "5s", handler_type: "http", http_handler_config: { path: r.url } })]);
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

async function main(): Promise<void> {
  if (process.argv[2] === "throughput") {
    const dataDir = await mkdtemp(join(tmpdir(), "augur-watch-bench-"));
    try {
      const tp = await throughput(dataDir);
      process.stdout.write(`events through the durable outbox: ${fmt(tp.perSecond, 0)} /s; commits alone: ${fmt(tp.commitPerSecond, 0)} /s\n`);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
    return;
  }
  const agent = await startTestAgent();
  const dataDir = await mkdtemp(join(tmpdir(), "augur-watch-bench-"));
  try {
    const lat = await latency(agent, dataDir);
    const tp = await throughput(dataDir);
    const deliveries = await burst(agent);
    await writeSection(
      "watch",
      `## Watches (issue #3)

| measure | result | goal |
| --- | --- | --- |
| KV change → HTTP handler request, p50 (durable outbox, ${SAMPLES} samples) | ${fmt(lat.p50, 2)} ms | — |
| KV change → HTTP handler request, p99 | ${fmt(lat.p99, 2)} ms | — |
| events through the durable outbox (commit + flush + deliver, 8 handlers, ${EVENTS} events) | ${fmt(tp.perSecond, 0)} /s | ≥ 1,000 /s |
| outbox commits alone (flushed) | ${fmt(tp.commitPerSecond, 0)} /s | — |
| deliveries for 100 changes in 1 s with quiet_period 1s (max 5s) | ${deliveries} | ≤ 10 |`,
    );
  } finally {
    await agent.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
