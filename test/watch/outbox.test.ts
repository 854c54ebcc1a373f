import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { open } from "lmdb";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemoryWatchStore } from "../../src/watch/memory-store.js";
import { LmdbWatchStore } from "../../src/watch/lmdb-store.js";
import { outboxContract } from "./outbox-contract.js";

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

outboxContract("memory store", { open: async () => new MemoryWatchStore() });

const dirOf = new WeakMap<object, string>();
outboxContract("lmdb store", {
  async open() {
    const dir = await mkdtemp(join(tmpdir(), "augur-outbox-"));
    dirs.push(dir);
    const s = await LmdbWatchStore.open(join(dir, "watches"));
    dirOf.set(s, dir);
    return s;
  },
  async reopen(store) {
    const dir = dirOf.get(store) as string;
    await store.close();
    const s = await LmdbWatchStore.open(join(dir, "watches"));
    dirOf.set(s, dir);
    return s;
  },
});

void test("lmdb store - a store written before the by-handler and by-watch indexes is indexed at open", async () => {
  const dir = await mkdtemp(join(tmpdir(), "augur-outbox-old-"));
  dirs.push(dir);
  const path = join(dir, "watches");
  await mkdir(path, { recursive: true });
  // The layout as earlier versions wrote it: pending records under ["q", seq], no index.
  const old = open<unknown, (string | number)[]>({ path: join(path, "outbox.mdb") });
  const record = (seq: number, handlerKey: string) => ({
    id: String(seq),
    seq,
    eventId: `e${seq}`,
    watchId: "w1",
    handlerKey,
    index: "7",
    createdAt: 1000,
    body: "{}",
    status: "pending",
    attempts: 0,
    nextAttemptAt: 0,
  });
  await old.transaction(() => {
    for (const [seq, h] of [
      [1, "h1"],
      [2, "h2"],
      [3, "h1"],
    ] as const)
      void old.put(["q", seq], record(seq, h));
    void old.put(["meta", "seq"], 3);
    void old.put(["hist", 1], { ...record(10, "h1"), status: "delivered", finishedAt: 5 });
    void old.put(["dead", 2], {
      ...record(11, "h1"),
      watchId: "w2",
      status: "dead",
      finishedAt: 6,
    });
    void old.put(["meta", "fin"], 2);
  });
  await old.close();

  let s = await LmdbWatchStore.open(path);
  try {
    assert.deepEqual(await s.pendingSummary("w1", "h1"), { count: 2, lastSeq: 3 });
    assert.deepEqual(
      (await s.pending({ watchId: "w1", handlerKey: "h1" })).map((r) => r.eventId),
      ["e1", "e3"],
    );
    const [next] = await s.commit("w1", null, [
      { eventId: "e4", watchId: "w1", handlerKey: "h1", index: "8", createdAt: 1, body: "{}" },
    ]);
    assert.equal(next?.seq, 4, "the sequence goes on from the old store's");
    assert.deepEqual(
      (await s.recent(10, "w1")).map((r) => r.eventId),
      ["e10"],
    );
    assert.deepEqual(
      (await s.dead(10, "w2")).map((r) => r.eventId),
      ["e11"],
    );
    assert.deepEqual(await s.dead(10, "w1"), []);
    await s.close();
    s = await LmdbWatchStore.open(path); // indexed once: reopening finds it as left
    assert.deepEqual(await s.pendingSummary("w1", "h1"), { count: 3, lastSeq: 4 });
    assert.deepEqual(await s.pendingSummary("w1", "h2"), { count: 1, lastSeq: 2 });
  } finally {
    await s.close();
  }
});
