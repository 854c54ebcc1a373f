/**
 * Benchmark (issue #9, item 7): memory stays bounded by bytes under write patterns that used to
 * grow it without limit.
 * - 1,500 PUTs of 512 KiB to one key: the store's change history keeps every value (and its
 *   previous value) unless it is bounded by bytes.
 * - 1,000,000 unique keys created and then deleted (through /v1/txn, 64 ops per request): every
 *   deleted key used to leave a tombstone and a scope index entry behind in the catalog view.
 * For each, the agent's RSS and V8 heap (after a GC, from `/proc` and prom-client's
 * `augur_nodejs_heap_size_used_bytes`) before, in the middle and after. Runs against an agent
 * with a data dir (the disk store) and one with `-dev` (the memory store).
 *
 * Run: `npm run build && node dist/bench/memory/bounded.js`
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAgentProcess, type AgentProcess } from "../../test/helpers/agent-process.js";
import { fmt, writeSection } from "../lib/report.js";

const UNIQUE_KEYS = Number(process.env["BENCH_UNIQUE_KEYS"] ?? 1_000_000);
const BIG_PUTS = Number(process.env["BENCH_BIG_PUTS"] ?? 1_500);
const OPS_PER_TXN = 64;
const MiB = 1024 * 1024;

async function rss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]) * 1024;
}

async function heap(agent: AgentProcess): Promise<number> {
  // Let the agent's idle GC catch up: read the smallest of a few samples over two seconds.
  let min = Infinity;
  for (let i = 0; i < 8; i++) {
    const text = await (await fetch(`${agent.url}/v1/agent/metrics?format=prometheus`)).text();
    min = Math.min(min, Number(/^augur_nodejs_heap_size_used_bytes (\S+)$/m.exec(text)?.[1]));
    await new Promise((r) => setTimeout(r, 250));
  }
  return min;
}

interface Sample {
  readonly label: string;
  readonly rss: number;
  readonly heap: number;
}

async function sample(agent: AgentProcess, label: string): Promise<Sample> {
  return { label, heap: await heap(agent), rss: await rss(agent.proc.pid as number) };
}

async function bigPuts(agent: AgentProcess, samples: Sample[]): Promise<void> {
  const value = Buffer.alloc(512 * 1024, 7);
  for (let i = 1; i <= BIG_PUTS; i++) {
    const res = await fetch(`${agent.url}/v1/kv/big`, { method: "PUT", body: value });
    if (res.status !== 200) throw new Error(`PUT ${i}: ${res.status} ${await res.text()}`);
    if (i === Math.floor(BIG_PUTS / 2)) samples.push(await sample(agent, `after ${fmt(i, 0)} PUTs of 512 KiB`));
  }
  samples.push(await sample(agent, `after ${fmt(BIG_PUTS, 0)} PUTs of 512 KiB`));
}

async function txn(agent: AgentProcess, ops: unknown[]): Promise<void> {
  const res = await fetch(`${agent.url}/v1/txn`, { method: "PUT", body: JSON.stringify(ops) });
  if (res.status !== 200) throw new Error(`txn: ${res.status} ${await res.text()}`);
}

async function uniqueKeys(agent: AgentProcess, samples: Sample[]): Promise<void> {
  const value = Buffer.from("v").toString("base64");
  // Create a batch, delete it, move on: every key is new and ends deleted.
  for (let base = 0; base < UNIQUE_KEYS; base += OPS_PER_TXN) {
    const keys = Array.from({ length: Math.min(OPS_PER_TXN, UNIQUE_KEYS - base) }, (_, i) => `u/${(base + i).toString(36)}`);
    await txn(agent, keys.map((Key) => ({ KV: { Verb: "set", Key, Value: value } })));
    await txn(agent, keys.map((Key) => ({ KV: { Verb: "delete", Key } })));
    const done = base + keys.length;
    if (done % 250_000 < OPS_PER_TXN && done >= 250_000 && done < UNIQUE_KEYS) samples.push(await sample(agent, `after ${fmt(done - (done % 1000), 0)} keys created and deleted`));
  }
  samples.push(await sample(agent, `after ${fmt(UNIQUE_KEYS, 0)} keys created and deleted`));
}

async function run(mode: "disk" | "memory"): Promise<Sample[]> {
  const dir = await mkdtemp(join(tmpdir(), "augur-bench-mem-"));
  const agent = await startAgentProcess({ args: mode === "memory" ? ["-dev"] : ["-data-dir", join(dir, "data"), "-bind", "127.0.0.1"] });
  try {
    const samples: Sample[] = [await sample(agent, "idle, after start")];
    await bigPuts(agent, samples);
    await uniqueKeys(agent, samples);
    return samples;
  } finally {
    await agent.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

const table = (mode: string, samples: Sample[]): string =>
  [`| ${mode} store | RSS (MiB) | heap used (MiB) |`, "| --- | --- | --- |", ...samples.map((s) => `| ${s.label} | ${fmt(s.rss / MiB)} | ${fmt(s.heap / MiB)} |`)].join("\n");

const disk = await run("disk");
const memory = await run("memory");
const worst = (s: Sample[]): number => Math.max(...s.map((x) => x.heap));
await writeSection(
  "memory-bounded",
  `## Memory bounded by bytes (issue #9, item 7)

${fmt(BIG_PUTS, 0)} PUTs of 512 KiB to one key, then ${fmt(UNIQUE_KEYS, 0)} unique keys created and deleted
(through \`/v1/txn\`, ${OPS_PER_TXN} ops a request), against one agent process per store. The change history
is bounded by \`store.history_max_bytes\` (64 MiB by default) as well as by revisions, and the
catalog view keeps at most 10,000 KV tombstones (reaping older ones with the deleted keys' scope
indexes), so neither workload grows the agent without bound.
Heap is V8's used heap (the smallest of 8 samples over 2 s); RSS includes lmdb's mapped pages.

${table("disk", disk)}

${table("memory", memory)}

Largest heap seen: ${fmt(worst(disk) / MiB)} MiB (disk), ${fmt(worst(memory) / MiB)} MiB (memory).`,
);
