/**
 * `GET /v1/snapshot` and `PUT /v1/snapshot` against a real in-process agent, on the memory and
 * the disk store: a save/restore round trip brings back KV, catalog, sessions and their locks
 * (sessions on live leases), indexes keep growing and blocking queries wake; a corrupt, foreign
 * (Consul) or oversized archive is refused with nothing changed; a gzip bomb is cut off at the
 * documented limit.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { createHash } from "node:crypto";
import { gunzipSync, gzipSync } from "node:zlib";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";
import { until } from "../helpers/until.js";
import { assertNotBackwards, readIndexes, writeThenDelete } from "../helpers/index-probe.js";
import { readTar, writeTar, type TarEntry } from "../../src/lib/tar.js";
import { SNAPSHOT_MAX_BYTES } from "../../src/catalog/snapshot-archive.js";
import { SNAPSHOT_MAX_KEYS } from "../../src/catalog/snapshot-state.js";

interface Pair {
  Key: string;
  Value: string | null;
  Session?: string;
}

async function save(agent: TestAgent, query = ""): Promise<{ archive: Buffer; index: number }> {
  const res = await agent.call("GET", `/v1/snapshot${query}`);
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(res.headers.get("content-type"), "application/x-gzip");
  return {
    archive: Buffer.from(await res.arrayBuffer()),
    index: Number(res.headers.get("x-consul-index")),
  };
}

async function restore(
  agent: TestAgent,
  archive: Buffer,
): Promise<{ status: number; body: string }> {
  const res = await agent.call("PUT", "/v1/snapshot", archive);
  return { status: res.status, body: await res.text() };
}

/** Every KV pair without its indexes, and the listing's X-Consul-Index. */
async function kv(agent: TestAgent): Promise<{ pairs: Pair[]; index: number }> {
  const res = await agent.call("GET", "/v1/kv/?recurse");
  const pairs = res.status === 404 ? [] : ((await res.json()) as Pair[]);
  return {
    pairs: pairs.map(({ Key, Value, Session }) => ({
      Key,
      Value,
      ...(Session ? { Session } : {}),
    })),
    index: Number(res.headers.get("x-consul-index")),
  };
}

async function json<T>(agent: TestAgent, method: string, path: string, body?: object): Promise<T> {
  const res = await agent.call(method, path, body);
  assert.equal(res.status, 200, `${method} ${path}: ${await res.clone().text()}`);
  return (await res.json()) as T;
}

const sessionIds = async (agent: TestAgent): Promise<string[]> =>
  (await json<{ ID: string }[]>(agent, "GET", "/v1/session/list")).map((s) => s.ID).sort();

const serviceNodes = async (agent: TestAgent, service: string): Promise<string[]> =>
  (await json<{ Node: string }[]>(agent, "GET", `/v1/catalog/service/${service}`)).map(
    (s) => s.Node,
  );

/** Every key the store holds on a lease is on a lease the store still has. */
async function assertLeasesLive(agent: TestAgent): Promise<number> {
  const store = agent.running.catalog.store;
  const leased = (await store.range("")).kvs.filter((kv) => kv.lease !== undefined);
  for (const kv of leased)
    await assert.doesNotReject(store.keepAlive(kv.lease as string), `lease of ${kv.key}`);
  return leased.length;
}

/** A snapshot archive as our save writes it, from its parts (to tamper with one). */
function archiveOf(entries: TarEntry[]): Buffer {
  return gzipSync(writeTar(entries, { mtimeSeconds: 0 }));
}

const sha = (data: Uint8Array | string): string => createHash("sha256").update(data).digest("hex");

function sums(meta: Uint8Array, state: Uint8Array): Buffer {
  return Buffer.from(`${sha(meta)}  meta.json\n${sha(state)}  state.bin\n`);
}

/** A valid archive around `state` (a good meta.json and SHA256SUMS). */
function wrap(state: Buffer): Buffer {
  const meta = Buffer.from(
    `${JSON.stringify({ Version: 1, ID: "2-9-1", Index: 9, Term: 2, Peers: null, Configuration: { Servers: [] }, ConfigurationIndex: 1, Size: state.length })}\n`,
  );
  return archiveOf([
    { name: "meta.json", data: meta },
    { name: "state.bin", data: state },
    { name: "SHA256SUMS", data: sums(meta, state) },
  ]);
}

/** The entries of an archive our agent wrote. */
const entriesOf = (archive: Buffer): TarEntry[] => readTar(gunzipSync(archive));

/** A round trip through one kind of store; `restart` brings the agent back on the same data. */
function roundTrip(name: string, open: () => Promise<TestAgent>, reopen?: boolean): void {
  describe(`snapshot - round trip on the ${name} store`, () => {
    let agent: TestAgent;
    before(async () => (agent = await open()));
    after(async () => agent.stop());

    it("snapshot - restore brings back KV, catalog, sessions and locks; the rest goes", async () => {
      await json(agent, "PUT", "/v1/kv/app/a", { v: 1 });
      await agent.call("PUT", "/v1/kv/app/b", "two");
      const s1 = (await json<{ ID: string }>(agent, "PUT", "/v1/session/create", { TTL: "30s" }))
        .ID;
      assert.equal(await json(agent, "PUT", `/v1/kv/lock?acquire=${s1}`, {}), true);
      await json(agent, "PUT", "/v1/catalog/register", {
        Node: "ext",
        Address: "10.0.0.1",
        Service: { Service: "web", Port: 80 },
      });
      const q1 = (
        await json<{ ID: string }>(agent, "POST", "/v1/query", {
          Name: "q1",
          Service: { Service: "web" },
        })
      ).ID;
      const before = { kv: await kv(agent), sessions: await sessionIds(agent) };
      const saved = await save(agent);
      assert.ok(saved.index >= before.kv.index, "the archive's index is the store's");

      // Everything changes after the save.
      await agent.call("DELETE", "/v1/kv/app/a");
      await agent.call("PUT", "/v1/kv/app/b", "changed");
      await agent.call("PUT", "/v1/kv/app/c", "new");
      await json(agent, "PUT", `/v1/session/destroy/${s1}`);
      const s2 = (await json<{ ID: string }>(agent, "PUT", "/v1/session/create", { TTL: "30s" }))
        .ID;
      assert.equal(await json(agent, "PUT", `/v1/kv/other-lock?acquire=${s2}`, {}), true);
      await json(agent, "PUT", "/v1/catalog/deregister", { Node: "ext" });
      await agent.call("DELETE", `/v1/query/${q1}`);
      await json(agent, "POST", "/v1/query", { Name: "q2", Service: { Service: "db" } });
      await json(agent, "PUT", "/v1/catalog/register", {
        Node: "later",
        Address: "10.0.0.2",
        Service: { Service: "db", Port: 5432 },
      });
      const changed = await kv(agent);

      const res = await restore(agent, saved.archive);
      assert.deepEqual(res, { status: 200, body: "" });

      const now = await kv(agent);
      assert.deepEqual(now.pairs, before.kv.pairs);
      assert.ok(now.index > changed.index, `index ${now.index} moved past ${changed.index}`);
      assert.deepEqual(await sessionIds(agent), before.sessions);
      assert.deepEqual(await serviceNodes(agent, "web"), ["ext"]);
      assert.deepEqual(await serviceNodes(agent, "db"), []);
      // Prepared queries come back with their name claims: q1 is taken again, q2's is free.
      const queries = await json<{ ID: string; Name: string }[]>(agent, "GET", "/v1/query");
      assert.deepEqual(
        queries.map((q) => [q.ID, q.Name]),
        [[q1, "q1"]],
      );
      assert.equal(
        (await agent.call("POST", "/v1/query", { Name: "q1", Service: { Service: "x" } })).status,
        500,
        "q1's name claim is restored",
      );
      await json(agent, "POST", "/v1/query", { Name: "q2", Service: { Service: "db" } });
      // The restored session is on a live lease: it renews, and nothing rides on a dead lease.
      await json(agent, "PUT", `/v1/session/renew/${s1}`);
      assert.ok((await assertLeasesLive(agent)) >= 1);
      // The session that the restore removed no longer holds anything.
      assert.equal((await agent.call("GET", `/v1/session/info/${s2}`)).status, 200);
      assert.deepEqual(await json(agent, "GET", `/v1/session/info/${s2}`), []);

      if (reopen) {
        await agent.stop();
        agent = await open();
        assert.deepEqual((await kv(agent)).pairs, before.kv.pairs, "the restore is durable");
        assert.deepEqual(await serviceNodes(agent, "web"), ["ext"]);
        assert.deepEqual(await sessionIds(agent), before.sessions);
        await assertLeasesLive(agent);
      }
    });
  });
}

roundTrip("memory", () => startTestAgent());
let diskDir = "";
roundTrip(
  "disk",
  async () => {
    diskDir ||= await mkdtemp(join(tmpdir(), "augur-snapshot-disk-"));
    return startTestAgent({ dev: false, dataDir: diskDir });
  },
  true,
);
after(async () => {
  if (diskDir) await rm(diskDir, { recursive: true, force: true });
});

describe("snapshot - what is refused, and what wakes", () => {
  let agent: TestAgent;
  let dir = "";
  before(async () => {
    agent = await startTestAgent();
    dir = await mkdtemp(join(tmpdir(), "augur-snapshot-"));
  });
  after(async () => {
    await agent.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("snapshot - the archive is a gzip'd tar of meta.json, state.bin and SHA256SUMS that tar and sha256sum accept", async () => {
    await agent.call("PUT", "/v1/kv/x", "y");
    const { archive, index } = await save(agent);
    const names = entriesOf(archive).map((e) => e.name);
    assert.deepEqual(names, ["meta.json", "state.bin", "SHA256SUMS"]);
    const file = join(dir, "s.snap");
    await writeFile(file, archive);
    const run = promisify(execFile);
    const listed = (await run("tar", ["-tzf", file])).stdout.trim().split("\n");
    assert.deepEqual(listed, names);
    await run("tar", ["-xzf", file, "-C", dir]);
    await run("sha256sum", ["-c", "SHA256SUMS"], { cwd: dir });
    const meta = JSON.parse(Buffer.from(entriesOf(archive)[0]?.data ?? "").toString()) as {
      Index: number;
      Term: number;
      ID: string;
    };
    assert.equal(meta.Index, index);
    assert.match(meta.ID, new RegExp(`^1-${index}-\\d+$`));
  });

  it("snapshot - ?stale is accepted, another ?dc is refused, other methods are 405", async () => {
    await save(agent, "?stale");
    const dc = await agent.call("GET", "/v1/snapshot?dc=elsewhere");
    assert.equal(dc.status, 500);
    assert.equal(await dc.text(), "No path to datacenter");
    const del = await agent.call("DELETE", "/v1/snapshot");
    assert.equal(del.status, 405);
  });

  it("snapshot - corrupt, foreign and Consul archives are refused with 500 and nothing changes", async () => {
    await agent.call("PUT", "/v1/kv/keep", "me");
    const good = entriesOf((await save(agent)).archive);
    const [meta, state] = [good[0]?.data ?? Buffer.alloc(0), good[1]?.data ?? Buffer.alloc(0)];
    const tampered = Buffer.from(state);
    tampered.writeUInt8(tampered.readUInt8(tampered.length - 3) ^ 1, tampered.length - 3);
    // Consul's state.bin: a msgpack SnapshotHeader {LastIndex}, then typed msgpack records.
    const consulState = Buffer.concat([
      Buffer.from([0x81, 0xa9]),
      Buffer.from("LastIndex"),
      Buffer.from([0x09, 0x00, 0x81, 0xa4]),
      Buffer.from("Node"),
      Buffer.from([0xa3]),
      Buffer.from("web"),
    ]);
    const line = (o: object): string => `${JSON.stringify(o)}\n`;
    const augurState = (header: object, ...lines: object[]): Buffer =>
      Buffer.from(line(header) + lines.map(line).join(""));
    const h = (keys: number): object => ({
      Format: "augur-state",
      Version: 1,
      Revision: 3,
      Keys: keys,
    });
    const cases: [string, Buffer, RegExp][] = [
      [
        "not gzip",
        Buffer.from("hello, world"),
        /^failed to decompress snapshot: gzip: invalid header$/,
      ],
      [
        "truncated gzip",
        gzipSync(Buffer.alloc(4096, 7)).subarray(0, 30),
        /^failed to decompress snapshot: unexpected EOF$/,
      ],
      [
        "gzip, not tar",
        gzipSync(Buffer.alloc(1024, 65)),
        /^failed to read snapshot file: failed reading snapshot: archive\/tar: invalid header$/,
      ],
      [
        "an unexpected file",
        archiveOf([...good, { name: "evil.sh", data: Buffer.from("rm -rf /") }]),
        /^failed to read snapshot file: unexpected file "evil.sh" in snapshot$/,
      ],
      [
        "a meta.json over 64 KiB",
        archiveOf([{ name: "meta.json", data: Buffer.alloc(65537, 32) }, good[1] as TarEntry]),
        /^failed to read snapshot file: meta.json is larger than 65536 bytes$/,
      ],
      [
        "a thousand entries",
        archiveOf(Array<TarEntry>(1000).fill({ name: "meta.json", data: meta })),
        /^failed to read snapshot file: failed reading snapshot: archive\/tar: more than 16 entries$/,
      ],
      [
        "state.bin changed after the sums",
        archiveOf([
          good[0] as TarEntry,
          { name: "state.bin", data: tampered },
          good[2] as TarEntry,
        ]),
        /^failed to read snapshot file: failed checking integrity of snapshot: hash check failed for "state.bin"$/,
      ],
      [
        "no SHA256SUMS",
        archiveOf([good[0] as TarEntry, good[1] as TarEntry]),
        /^failed to read snapshot file: failed checking integrity of snapshot: file missing for "(meta.json|state.bin)"$/,
      ],
      [
        "a sum for a file that is not there",
        archiveOf([
          good[0] as TarEntry,
          good[1] as TarEntry,
          {
            name: "SHA256SUMS",
            data: Buffer.concat([sums(meta, state), Buffer.from(`${sha("x")}  other\n`)]),
          },
        ]),
        /^failed to read snapshot file: failed checking integrity of snapshot: list missing hash for "other"$/,
      ],
      [
        "a Consul snapshot",
        wrap(consulState),
        /a Consul snapshot, or another program's, cannot be restored into augur/,
      ],
      [
        "a newer augur state",
        wrap(augurState({ ...h(0), Version: 2 })),
        /unsupported augur state version 2/,
      ],
      [
        "a line that is not JSON",
        wrap(Buffer.from(`${line(h(1))}{"Key":`)),
        /corrupt augur state: line 2: not a JSON object/,
      ],
      [
        "a key twice",
        wrap(augurState(h(2), { Key: "kv/a", Value: "" }, { Key: "kv/a", Value: "" })),
        /line 3: key "kv\/a" is out of order or repeated/,
      ],
      [
        "bad base64",
        wrap(augurState(h(1), { Key: "kv/a", Value: "!!!!" })),
        /line 2: the value of "kv\/a" is not base64/,
      ],
      [
        "a membership key",
        wrap(augurState(h(1), { Key: "alive/n1", Value: "" })),
        /line 2: key "alive\/n1" is cluster membership/,
      ],
      [
        "a lease without a TTL",
        wrap(augurState(h(1), { Key: "sessions/x", Value: "", Lease: "5" })),
        /line 2: bad LeaseTTL/,
      ],
      [
        "more keys than the header",
        wrap(augurState(h(1), { Key: "kv/a", Value: "" }, { Key: "kv/b", Value: "" })),
        /the header says 1 keys, the state holds more/,
      ],
      [
        "more keys than a snapshot may hold",
        wrap(augurState(h(SNAPSHOT_MAX_KEYS + 1))),
        new RegExp(`more than the ${SNAPSHOT_MAX_KEYS} a snapshot may hold`),
      ],
      [
        "a lease on a KV key",
        wrap(augurState(h(1), { Key: "kv/a", Value: "", Lease: "5", LeaseTTL: 10 })),
        /line 2: "kv\/a" is not a session but names a lease/,
      ],
      [
        "a line over 4 MiB",
        wrap(augurState(h(1), { Key: "kv/a", Value: "A".repeat(4 * 1024 * 1024) })),
        /line 2 is longer than 4194304 bytes/,
      ],
      [
        "fewer keys than the header",
        wrap(augurState(h(3), { Key: "kv/a", Value: "" })),
        /the header says 3 keys, the state holds 1/,
      ],
    ];
    const revision = await agent.running.catalog.store.revision();
    const kvBefore = await kv(agent);
    for (const [what, body, text] of cases) {
      const res = await restore(agent, body);
      assert.equal(res.status, 500, `${what}: ${res.body}`);
      assert.match(res.body, text, what);
    }
    assert.equal(await agent.running.catalog.store.revision(), revision, "nothing was written");
    assert.deepEqual(await kv(agent), kvBefore);
  });

  it("snapshot - a gzip bomb is cut off at the limit without holding the whole inflation", async () => {
    // A tar whose state.bin inflates to 4x the limit: gzip members back to back (gzip and Go's
    // reader take them as one stream), one of 16 MiB of zeros repeated, so this test never holds it.
    const inflated = 4 * SNAPSHOT_MAX_BYTES;
    const header = writeTar([{ name: "state.bin", data: new Uint8Array(0) }], { mtimeSeconds: 0 });
    const tarHeader = Buffer.from(header.subarray(0, 512));
    tarHeader.write(`${inflated.toString(8).padStart(11, "0")}\0`, 124, "latin1");
    tarHeader.write("        ", 148, "latin1");
    let sum = 0;
    for (const b of tarHeader) sum += b;
    tarHeader.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
    const zeros = gzipSync(Buffer.alloc(16 * 1024 * 1024), { level: 9 });
    const out = [gzipSync(tarHeader), ...Array<Buffer>(inflated / (16 * 1024 * 1024)).fill(zeros)];
    const bomb = Buffer.concat(out);
    assert.ok(bomb.length < 16 * 1024 * 1024, `the bomb fits in a request (${bomb.length} bytes)`);

    await agent.call("PUT", "/v1/kv/keep", "me");
    const revision = await agent.running.catalog.store.revision();
    let peak = process.memoryUsage().rss;
    const start = peak;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    const res = await restore(agent, bomb).finally(() => clearInterval(sampler));
    assert.equal(res.status, 500);
    assert.equal(
      res.body,
      `failed to decompress snapshot: the archive inflates to more than ${SNAPSHOT_MAX_BYTES} bytes`,
    );
    // Inflating it all would take 1 GiB; the cap keeps the agent near the limit's 256 MiB.
    assert.ok(
      peak - start < inflated / 2,
      `rss grew by ${Math.round((peak - start) / 2 ** 20)} MiB while refusing the bomb`,
    );
    assert.equal(await agent.running.catalog.store.revision(), revision);
    assert.equal((await agent.call("GET", "/v1/kv/keep")).status, 200, "the agent still answers");
  });

  it("snapshot - a body over the API's 1 MiB is read (an archive can be that large) and judged as an archive", async () => {
    const res = await restore(agent, Buffer.alloc(16 * 1024 * 1024 + 1));
    assert.equal(res.status, 500);
    assert.match(res.body, /failed to decompress snapshot/);
  });

  it("snapshot - a restore wakes a blocking query, with an index past the one it waited on", async () => {
    await agent.call("PUT", "/v1/kv/watched", "old");
    const { archive } = await save(agent);
    await agent.call("PUT", "/v1/kv/watched", "new");
    const first = await agent.call("GET", "/v1/kv/watched");
    const index = Number(first.headers.get("x-consul-index"));
    const parkedBefore = agent.parked();
    const blocked = agent.call("GET", `/v1/kv/watched?index=${index}&wait=60s`);
    await until(() => agent.parked() > parkedBefore, "the query to park");
    assert.equal((await restore(agent, archive)).status, 200);
    const woken = await blocked;
    assert.equal(woken.status, 200);
    assert.ok(Number(woken.headers.get("x-consul-index")) > index);
    const [pair] = (await woken.json()) as { Value: string }[];
    assert.equal(Buffer.from(pair?.Value ?? "", "base64").toString(), "old");
  });

  it("snapshot - restoring an archive identical to the store changes no key", async () => {
    await agent.call("PUT", "/v1/kv/same", "1");
    const { archive } = await save(agent);
    const before = await kv(agent);
    assert.equal((await restore(agent, archive)).status, 200);
    assert.deepEqual(await kv(agent), before, "pairs and their index are as they were");
  });
});

describe("snapshot - indexes across a restore", () => {
  it("snapshot - no endpoint's X-Consul-Index goes backwards when an older snapshot is restored; the event list's changes", async () => {
    const agent = await startTestAgent();
    try {
      const early = await save(agent);
      await writeThenDelete(agent.url);
      const before = await readIndexes(agent.url);
      assert.equal((await restore(agent, early.archive)).status, 200);
      const after = await readIndexes(agent.url);
      // The event list's index is a hash of its last event's ID, not an order: the restore took
      // the event away, so it changes (which is what wakes an event watch); only the rest is ordered.
      assert.notEqual(after.eventIndex, before.eventIndex);
      assertNotBackwards(before, { ...after, eventIndex: before.eventIndex }, "after a restore");
    } finally {
      await agent.stop();
    }
  });
});
