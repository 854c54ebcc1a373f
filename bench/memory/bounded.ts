/**
 * Benchmark (issue #9, item 7): memory stays bounded by bytes under write patterns that used to
 * grow it without limit.
 * - 1,500 PUTs of 512 KiB to one key: the store's change history keeps every value (and its
 *   previous value) unless it is bounded by bytes.
 * - 1,000,000 unique keys created and then deleted (through /v1/txn, 64 ops per request): every
 *   deleted key used to leave a tombstone and a scope index entry behind in the catalog view.
 * For each, the V8 heap used after a full GC, and the process RSS, before, in the middle and
 * after. The agent runs in this process (re-executed with --expose-gc), so garbage not yet
 * collected does not count as retained; the client side of the requests is in the same heap and
 * is garbage by the time of each sample. Runs against an agent with a data dir (the disk store)
 * and one with `-dev` (the memory store).
 *
 * Run: `npm run build && node dist/bench/memory/bounded.js`
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startTestAgent, type TestAgent } from "../../test/helpers/in-process-agent.js";
import { fmt, writeSection } from "../lib/report.js";

const gc = (globalThis as { gc?: () => void }).gc;
/** Each store runs in a fresh process, so nothing the other left behind is counted. */
const CHILD_MODE = process.env["BENCH_MEMORY_MODE"] as "disk" | "memory" | undefined;

const UNIQUE_KEYS = Number(process.env["BENCH_UNIQUE_KEYS"] ?? 1_000_000);
const BIG_PUTS = Number(process.env["BENCH_BIG_PUTS"] ?? 1_500);
const OPS_PER_TXN = 64;
const MiB = 1024 * 1024;

interface Sample {
  readonly label: string;
  readonly rss: number;
  readonly heap: number;
  /** ArrayBuffer memory outside the V8 heap: where stored values live. */
  readonly buffers: number;
}

async function sample(label: string): Promise<Sample> {
  // Let in-flight work settle (group commits, the view applying the last revisions), then collect.
  await new Promise((r) => setTimeout(r, 500));
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return { label, heap: m.heapUsed, buffers: m.arrayBuffers, rss: m.rss };
}

async function bigPuts(agent: TestAgent, samples: Sample[]): Promise<void> {
  const value = Buffer.alloc(512 * 1024, 7);
  for (let i = 1; i <= BIG_PUTS; i++) {
    const res = await fetch(`${agent.url}/v1/kv/big`, { method: "PUT", body: value });
    if (res.status !== 200) throw new Error(`PUT ${i}: ${res.status} ${await res.text()}`);
    if (i === Math.floor(BIG_PUTS / 2))
      samples.push(await sample(`after ${fmt(i, 0)} PUTs of 512 KiB`));
  }
  samples.push(await sample(`after ${fmt(BIG_PUTS, 0)} PUTs of 512 KiB`));
}

async function txn(agent: TestAgent, ops: unknown[]): Promise<void> {
  const res = await fetch(`${agent.url}/v1/txn`, { method: "PUT", body: JSON.stringify(ops) });
  if (res.status !== 200) throw new Error(`txn: ${res.status} ${await res.text()}`);
}

async function uniqueKeys(agent: TestAgent, samples: Sample[]): Promise<void> {
  const value = Buffer.from("v").toString("base64");
  // Create a batch, delete it, move on: every key is new and ends deleted.
  for (let base = 0; base < UNIQUE_KEYS; base += OPS_PER_TXN) {
    const keys = Array.from(
      { length: Math.min(OPS_PER_TXN, UNIQUE_KEYS - base) },
      (_, i) => `u/${(base + i).toString(36)}`,
    );
    await txn(
      agent,
      keys.map((Key) => ({ KV: { Verb: "set", Key, Value: value } })),
    );
    await txn(
      agent,
      keys.map((Key) => ({ KV: { Verb: "delete", Key } })),
    );
    const done = base + keys.length;
    if (done % 250_000 < OPS_PER_TXN && done >= 250_000 && done < UNIQUE_KEYS)
      samples.push(await sample(`after ${fmt(done - (done % 1000), 0)} keys created and deleted`));
  }
  samples.push(await sample(`after ${fmt(UNIQUE_KEYS, 0)} keys created and deleted`));
}

async function run(mode: "disk" | "memory"): Promise<Sample[]> {
  const dir = await mkdtemp(join(tmpdir(), "augur-bench-mem-"));
  const agent = await startTestAgent(
    mode === "memory" ? {} : { dev: false, dataDir: join(dir, "data") },
  );
  try {
    const samples: Sample[] = [await sample("idle, after start")];
    await bigPuts(agent, samples);
    await uniqueKeys(agent, samples);
    return samples;
  } finally {
    await agent.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

const table = (mode: string, samples: Sample[]): string =>
  [
    `| ${mode} store | RSS (MiB) | heap used (MiB) | array buffers (MiB) |`,
    "| --- | --- | --- | --- |",
    ...samples.map(
      (s) =>
        `| ${s.label} | ${fmt(s.rss / MiB)} | ${fmt(s.heap / MiB)} | ${fmt(s.buffers / MiB)} |`,
    ),
  ].join("\n");

function inChild(mode: "disk" | "memory"): Sample[] {
  const res = spawnSync(process.execPath, ["--expose-gc", fileURLToPath(import.meta.url)], {
    env: { ...process.env, BENCH_MEMORY_MODE: mode },
    stdio: ["ignore", "pipe", "inherit"],
    encoding: "utf8",
    maxBuffer: 16 * 1024 * 1024,
  });
  if (res.status !== 0) throw new Error(`${mode} run failed (exit ${res.status})`);
  return JSON.parse(res.stdout) as Sample[];
}

if (CHILD_MODE) {
  if (!gc) throw new Error("run with --expose-gc");
  process.stdout.write(JSON.stringify(await run(CHILD_MODE)));
  process.exit(0);
}
const disk = inChild("disk");
const memory = inChild("memory");
const worst = (s: Sample[]): number => Math.max(...s.map((x) => x.heap + x.buffers));
await writeSection(
  "memory-bounded",
  `## Memory bounded by bytes (issue #9, item 7)

${fmt(BIG_PUTS, 0)} PUTs of 512 KiB to one key, then ${fmt(UNIQUE_KEYS, 0)} unique keys created and deleted
(through \`/v1/txn\`, ${OPS_PER_TXN} ops a request), against one agent per store, each in a fresh process. The change history
is bounded by \`store.history_max_bytes\` (64 MiB by default) as well as by revisions, and the
catalog view keeps at most 10,000 KV tombstones (reaping older ones with the deleted keys' scope
indexes), so neither workload grows the agent without bound.
Heap is V8's used heap after a full GC; RSS is the whole process's (agent and load generator;
for the disk store it includes lmdb's mapped pages).

${table("disk", disk)}

${table("memory", memory)}

Largest heap + array buffers seen: ${fmt(worst(disk) / MiB)} MiB (disk), ${fmt(worst(memory) / MiB)} MiB (memory).
${process.env["BENCH_MEMORY_BEFORE"] ?? ""}`,
);
