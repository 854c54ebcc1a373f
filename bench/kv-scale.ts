/**
 * Benchmark: what the number of KV keys costs a write and a range, augur (`agent -dev`, the
 * embedded store) beside a one-member etcd, in the same run, each loaded with the same keys.
 *
 * - **A range of an empty prefix**: `DELETE /v1/kv/<absent>/?recurse` against etcd's
 *   `POST /v3/kv/deleterange` of the same prefix, one at a time. Its cost should be the prefix's,
 *   not the store's (a range that scanned every key held the agent's event loop for all of them).
 * - **New keys**: PUTs of keys not in the store, spread between the loaded ones (random names, as
 *   Vault's storage on Consul writes them), `wrk` with the same connections against augur's
 *   `PUT /v1/kv/<key>` and etcd's JSON gateway `POST /v3/kv/put`, rounds interleaved.
 *
 * Both are measured with an empty store and after loading `BENCH_KEYS` keys (default 1,000,000),
 * written in key order through 128-operation transactions.
 *
 * Run: `npm run build && node dist/bench/kv-scale.js`
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAgentProcess } from "../test/helpers/agent-process.js";
import { startEtcdCluster } from "../test/helpers/etcd-cluster.js";
import { fmt, percentile, writeSection } from "./lib/report.js";
import { wrk } from "./lib/wrk.js";

const KEYS = Number(process.env["BENCH_KEYS"] ?? 1_000_000);
const CLIENTS = 16;
const SECONDS = 4;
const ROUNDS = 3;
const RANGES = 40;
const BATCH = 128;

const b64 = (s: string): string => Buffer.from(s).toString("base64");
/** The loaded keys, in key order: `scale/00000000` ... */
const loadedKey = (i: number): string => `scale/${String(i).padStart(8, "0")}`;

interface Side {
  readonly name: string;
  /** Writes keys [from, to) in transactions of {@link BATCH}. */
  load(from: number, to: number): Promise<void>;
  /** One range delete of a prefix that holds nothing; resolves when answered. */
  emptyRange(): Promise<void>;
  readonly url: string;
  readonly lua: string;
}

async function post(url: string, method: string, body: string): Promise<void> {
  const res = await fetch(url, { method, body });
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`);
  await res.arrayBuffer();
}

async function loadInBatches(
  from: number,
  to: number,
  send: (keys: string[]) => Promise<void>,
): Promise<void> {
  const inFlight: Promise<void>[] = [];
  for (let i = from; i < to; i += BATCH) {
    const keys = Array.from({ length: Math.min(BATCH, to - i) }, (_, j) => loadedKey(i + j));
    inFlight.push(send(keys));
    if (inFlight.length >= 8) await inFlight.shift();
  }
  await Promise.all(inFlight);
}

/** A Lua script for wrk: each request a key not loaded, between the loaded ones. */
function luaScript(kind: "augur" | "etcd"): string {
  const base64 = `local b='ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
local function enc(data)
  return ((data:gsub('.', function(x)
    local r, byte = '', x:byte()
    for i = 8, 1, -1 do r = r .. (byte % 2 ^ i - byte % 2 ^ (i - 1) > 0 and '1' or '0') end
    return r
  end) .. '0000'):gsub('%d%d%d?%d?%d?%d?', function(x)
    if #x < 6 then return '' end
    local c = 0
    for i = 1, 6 do c = c + (x:sub(i, i) == '1' and 2 ^ (6 - i) or 0) end
    return b:sub(c + 1, c + 1)
  end) .. ({ '', '==', '=' })[#data % 3 + 1])
end
`;
  const key = `string.format("scale/%08d/%d", math.random(0, ${Math.max(KEYS - 1, 0)}), math.random(0, 2147483647))`;
  return kind === "augur"
    ? `math.randomseed(os.time())\nwrk.method = "PUT"\nwrk.body = "value"\nrequest = function()\n  return wrk.format(nil, "/v1/kv/" .. ${key})\nend\n`
    : `math.randomseed(os.time())\n${base64}wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nrequest = function()\n  return wrk.format(nil, "/v3/kv/put", nil, '{"key":"' .. enc(${key}) .. '","value":"dmFsdWU="}')\nend\n`;
}

interface Figures {
  rangeMs: number;
  putsPerSecond: number;
}

async function measure(sides: readonly Side[]): Promise<Figures[]> {
  const ranges = sides.map(() => [] as number[]);
  for (let r = 0; r < RANGES; r++)
    for (const [i, side] of sides.entries()) {
      const t = performance.now();
      await side.emptyRange();
      ranges[i]?.push(performance.now() - t);
    }
  const puts = sides.map(() => [] as number[]);
  for (let r = 0; r < ROUNDS; r++)
    for (const [i, side] of sides.entries())
      puts[i]?.push(
        (await wrk(side.url, { connections: CLIENTS, seconds: SECONDS, script: side.lua })).rps,
      );
  return sides.map((_, i) => ({
    rangeMs: percentile(
      [...(ranges[i] ?? [])].sort((a, b) => a - b),
      50,
    ),
    putsPerSecond: [...(puts[i] ?? [])].sort((a, b) => a - b)[Math.floor(ROUNDS / 2)] as number,
  }));
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "augur-bench-scale-"));
  const etcd = await startEtcdCluster(1);
  const agent = await startAgentProcess();
  const endpoint = etcd.clientUrls[0] as string;
  try {
    const augurLua = join(dir, "augur.lua");
    const etcdLua = join(dir, "etcd.lua");
    await writeFile(augurLua, luaScript("augur"));
    await writeFile(etcdLua, luaScript("etcd"));
    const augur: Side = {
      name: "augur",
      url: agent.url,
      lua: augurLua,
      load: (from, to) =>
        loadInBatches(from, to, (keys) =>
          post(
            `${agent.url}/v1/txn`,
            "PUT",
            JSON.stringify(keys.map((k) => ({ KV: { Verb: "set", Key: k, Value: b64("v") } }))),
          ),
        ),
      emptyRange: () => post(`${agent.url}/v1/kv/absent/?recurse`, "DELETE", ""),
    };
    const peer: Side = {
      name: "etcd",
      url: endpoint,
      lua: etcdLua,
      load: (from, to) =>
        loadInBatches(from, to, (keys) =>
          post(
            `${endpoint}/v3/kv/txn`,
            "POST",
            JSON.stringify({
              success: keys.map((k) => ({ requestPut: { key: b64(k), value: b64("v") } })),
            }),
          ),
        ),
      emptyRange: () =>
        post(
          `${endpoint}/v3/kv/deleterange`,
          "POST",
          JSON.stringify({ key: b64("absent/"), range_end: b64("absent0") }),
        ),
    };
    const sides = [augur, peer];
    const empty = await measure(sides);
    for (const side of sides) await side.load(0, KEYS);
    const full = await measure(sides);
    const row = (what: string, i: number): string => {
      const e = empty[i] as Figures;
      const f = full[i] as Figures;
      return `| ${what} | ${fmt(e.rangeMs, 2)} ms | ${fmt(f.rangeMs, 2)} ms | ${fmt(e.putsPerSecond, 0)} | ${fmt(f.putsPerSecond, 0)} |`;
    };
    const [a0, a1, e1] = [empty[0], full[0], full[1]] as [Figures, Figures, Figures];
    await writeSection(
      "kv-scale",
      `## What the number of KV keys costs a write and a range

One \`augur agent -dev\` and a one-member etcd 3.4 on loopback, measured empty and after loading
${KEYS.toLocaleString("en-US")} keys into each (in key order, 128 per transaction). Range: the
median of ${RANGES} one-at-a-time range deletes of a prefix that holds nothing (\`DELETE
/v1/kv/absent/?recurse\`; etcd \`POST /v3/kv/deleterange\`), alternating between the two. New
keys: \`wrk -c${CLIENTS}\` PUTs of random keys between the loaded ones (\`PUT /v1/kv/<key>\`; etcd's
JSON gateway \`POST /v3/kv/put\`, which fsyncs each write; augur -dev keeps them in memory), ${ROUNDS}
rounds of ${SECONDS} s interleaved, the median round shown.

| server | empty-prefix range, empty store | the same, ${KEYS.toLocaleString("en-US")} keys | new-key PUTs/s, empty store | the same, ${KEYS.toLocaleString("en-US")} keys |
| --- | ---: | ---: | ---: | ---: |
${row("augur (-dev)", 0)}
${row("etcd (JSON gateway)", 1)}

With ${KEYS.toLocaleString("en-US")} keys, augur's range takes ${fmt(a1.rangeMs / e1.rangeMs, 2)}× etcd's and its new-key PUTs run at ${fmt(a1.putsPerSecond / a0.putsPerSecond, 2)}× its own empty-store rate.`,
    );
  } finally {
    await agent.stop();
    await etcd.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
