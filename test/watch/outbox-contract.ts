/**
 * The contract every watch store (outbox + watch state) passes: run against the memory store
 * and the lmdb store. `reopen` (disk only) checks durability across close and open.
 *
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { PersistedWatchState } from "../../src/watch/detector.js";
import {
  HISTORY_MAX as HISTORY_MAX_FOR_TEST,
  type NewRecord,
  type WatchStore,
} from "../../src/watch/outbox.js";
import { isAugurError } from "../../src/lib/errors.js";

export interface StoreFactory {
  open(): Promise<WatchStore>;
  /** Closes `store` and opens the same data again; absent for stores without durability. */
  reopen?(store: WatchStore): Promise<WatchStore>;
}

const state = (index: string): PersistedWatchState => ({
  version: 1,
  index,
  reported: { "n1/web": { s: "passing", v: { CheckID: "web" }, h: "abc" } },
  updatedAt: 1,
});
const rec = (eventId: string, handlerKey = "h1", watchId = "w1"): NewRecord => ({
  eventId,
  watchId,
  handlerKey,
  index: "7",
  createdAt: 1000,
  body: `{"e":"${eventId}"}`,
});

export function outboxContract(name: string, factory: StoreFactory): void {
  void test(`${name} - a failed commit fails the watch's later commits, queued or new, until it resumes`, async () => {
    const s = await factory.open();
    try {
      await s.commit("w1", state("1"), [rec("a")]);
      // A state the store cannot encode: its getter throws when it is written.
      const broken = {
        ...state("2"),
        get index(): string {
          throw new RangeError("cannot encode");
        },
      } as PersistedWatchState;
      // Three commits made without waiting, as a watch makes them: the second and third were
      // computed on top of the first, so neither may land once it failed.
      const results = await Promise.allSettled([
        s.commit("w1", broken, [rec("b")]),
        s.commit("w1", state("3"), [rec("c")]),
        s.commit("w2", state("9"), [rec("x", "h1", "w2")]),
      ]);
      assert.deepEqual(
        results.map((r) => r.status),
        ["rejected", "rejected", "fulfilled"],
      );
      for (const r of results.slice(0, 2)) {
        const reason = (r as PromiseRejectedResult).reason as unknown;
        assert.ok(isAugurError(reason) && reason.code === "STORE_IO", String(reason));
      }
      await assert.rejects(s.commit("w1", state("4"), []), /an earlier write of watch "w1"/);
      assert.equal((await s.loadState("w1"))?.index, "1");
      assert.deepEqual(
        (await s.pending({ watchId: "w1" })).map((r) => r.eventId),
        ["a"],
      );
      s.resume("w1");
      await s.commit("w1", state("5"), [rec("d")]);
      assert.equal((await s.loadState("w1"))?.index, "5");
      assert.deepEqual(
        (await s.pending({ watchId: "w1" })).map((r) => r.eventId),
        ["a", "d"],
      );
      assert.equal((await s.loadState("w2"))?.index, "9");
    } finally {
      await s.close();
    }
  });

  void test(`${name} - commit stores state and records atomically, in queue order`, async () => {
    const s = await factory.open();
    try {
      const created = await s.commit("w1", state("7"), [rec("e1"), rec("e1", "h2"), rec("e2")]);
      assert.deepEqual(
        created.map((r) => [r.eventId, r.handlerKey, r.status, r.attempts]),
        [
          ["e1", "h1", "pending", 0],
          ["e1", "h2", "pending", 0],
          ["e2", "h1", "pending", 0],
        ],
      );
      assert.equal(new Set(created.map((r) => r.id)).size, 3);
      assert.deepEqual(await s.loadState("w1"), state("7"));
      assert.equal(await s.loadState("other"), undefined);
      assert.deepEqual(
        (await s.pending({ watchId: "w1", handlerKey: "h1" })).map((r) => r.eventId),
        ["e1", "e2"],
      );
      assert.equal(s.depth(), 3);
      // A state-only commit (adopted silently) enqueues nothing.
      await s.commit("w1", state("8"), []);
      assert.equal((await s.loadState("w1"))?.index, "8");
      assert.equal(s.depth(), 3);
    } finally {
      await s.close();
    }
  });

  void test(`${name} - attempts, delivery and dead letters; replay goes to the tail with attempts reset`, async () => {
    const s = await factory.open();
    try {
      const [a, b, c] = await s.commit("w1", state("1"), [rec("a"), rec("b"), rec("c")]);
      assert.ok(a && b && c);
      await s.recordAttempt({ ...a, attempts: 1, nextAttemptAt: 5000, lastError: "503" });
      assert.deepEqual((await s.pending())[0], {
        ...a,
        attempts: 1,
        nextAttemptAt: 5000,
        lastError: "503",
      });
      await s.finish({ ...a, attempts: 2 }, "delivered", 6000);
      await s.finish({ ...b, attempts: 1 }, "dead", 6001, "400 Bad Request");
      assert.deepEqual(
        (await s.pending()).map((r) => r.eventId),
        ["c"],
      );
      assert.equal(s.depth(), 1);
      const recent = await s.recent();
      assert.deepEqual(
        recent.map((r) => [r.eventId, r.status, r.finishedAt]),
        [["a", "delivered", 6000]],
      );
      const dead = await s.dead();
      assert.deepEqual(
        dead.map((r) => [r.eventId, r.status, r.lastError]),
        [["b", "dead", "400 Bad Request"]],
      );
      const [replayed] = await s.requeue([b.id], 7000);
      assert.ok(replayed);
      assert.equal(replayed.id, b.id, "the delivery keeps its id");
      assert.equal(replayed.status, "pending");
      assert.equal(replayed.attempts, 0);
      assert.equal(replayed.replays, 1);
      assert.ok(replayed.seq > c.seq, "a replay goes to the tail");
      assert.deepEqual(
        (await s.pending()).map((r) => r.eventId),
        ["c", "b"],
      );
      assert.deepEqual(await s.dead(), []);
      assert.deepEqual(await s.requeue(["nope"], 7000), []);
    } finally {
      await s.close();
    }
  });

  void test(`${name} - requeue all-dead; newest first listings honour the limit`, async () => {
    const s = await factory.open();
    try {
      const created = await s.commit("w1", state("1"), [rec("a"), rec("b"), rec("c")]);
      let t = 100;
      for (const r of created) await s.finish(r, "dead", t++, "x");
      assert.deepEqual(
        (await s.dead(2)).map((r) => r.eventId),
        ["c", "b"],
      );
      const back = await s.requeue("all-dead", 200);
      assert.deepEqual(
        back.map((r) => r.eventId),
        ["a", "b", "c"],
      );
      assert.equal(s.depth(), 3);
    } finally {
      await s.close();
    }
  });

  void test(`${name} - pending pages through one handler's queue with afterSeq and limit`, async () => {
    const s = await factory.open();
    try {
      const created = await s.commit("w1", state("1"), [
        rec("a"),
        rec("x", "h2"),
        rec("b"),
        rec("c"),
        rec("d"),
      ]);
      const page1 = await s.pending({ watchId: "w1", handlerKey: "h1", limit: 2 });
      assert.deepEqual(
        page1.map((r) => r.eventId),
        ["a", "b"],
      );
      const page2 = await s.pending({
        watchId: "w1",
        handlerKey: "h1",
        afterSeq: page1[1]?.seq ?? 0,
        limit: 2,
      });
      assert.deepEqual(
        page2.map((r) => r.eventId),
        ["c", "d"],
      );
      assert.deepEqual(await s.pending({ handlerKey: "h1", afterSeq: created[4]?.seq ?? 0 }), []);
    } finally {
      await s.close();
    }
  });

  void test(`${name} - pendingSummary and pending by handler: each handler's own records only`, async () => {
    const s = await factory.open();
    try {
      // Handler keys and watch IDs that are prefixes of each other, records interleaved.
      const created = await s.commit("w1", state("1"), [
        rec("a", "h"),
        rec("b", "h1"),
        rec("c", "h10"),
        rec("d", "h1"),
        rec("e", "h1", "w10"),
        rec("f", "h"),
      ]);
      const seqOf = (id: string): number => created.find((r) => r.eventId === id)?.seq ?? -1;
      assert.deepEqual(await s.pendingSummary("w1", "h"), { count: 2, lastSeq: seqOf("f") });
      assert.deepEqual(await s.pendingSummary("w1", "h1"), { count: 2, lastSeq: seqOf("d") });
      assert.deepEqual(await s.pendingSummary("w1", "h10"), { count: 1, lastSeq: seqOf("c") });
      assert.deepEqual(await s.pendingSummary("w10", "h1"), { count: 1, lastSeq: seqOf("e") });
      assert.deepEqual(await s.pendingSummary("w1", "nobody"), { count: 0, lastSeq: 0 });
      const ids = async (watchId: string, handlerKey: string): Promise<string[]> =>
        (await s.pending({ watchId, handlerKey })).map((r) => r.eventId);
      assert.deepEqual(await ids("w1", "h"), ["a", "f"]);
      assert.deepEqual(await ids("w1", "h1"), ["b", "d"]);
      assert.deepEqual(await ids("w10", "h1"), ["e"]);
      // Finished records leave the summary; replayed ones come back at the tail.
      const d = created.find((r) => r.eventId === "d");
      assert.ok(d);
      await s.finish(d, "dead", 2000, "gave up");
      assert.deepEqual(await s.pendingSummary("w1", "h1"), { count: 1, lastSeq: seqOf("b") });
      const [replayed] = await s.requeue("all-dead", 3000);
      assert.deepEqual(await s.pendingSummary("w1", "h1"), {
        count: 2,
        lastSeq: replayed?.seq ?? -1,
      });
      assert.deepEqual(await ids("w1", "h1"), ["b", "d"]);
      const a = created.find((r) => r.eventId === "a");
      assert.ok(a);
      await s.finish(a, "delivered", 4000);
      assert.deepEqual(await s.pendingSummary("w1", "h"), { count: 1, lastSeq: seqOf("f") });
      assert.deepEqual(await ids("w1", "h"), ["f"]);
    } finally {
      await s.close();
    }
  });

  void test(`${name} - recent and dead of one watch: the same as the whole lists filtered, also past a trim and a replay`, async () => {
    const s = await factory.open();
    try {
      // More deliveries than the history keeps (1,000, trimmed in batches of 100), two watches
      // (one a prefix of the other's ID) interleaved unevenly.
      const watches = ["w1", "w10"];
      const created = await Promise.all(
        Array.from({ length: 1250 }, (_, i) =>
          s.commit(watches[i % 3 === 0 ? 0 : 1] as string, null, [
            rec(`e${i}`, "h1", watches[i % 3 === 0 ? 0 : 1]),
          ]),
        ),
      );
      const records = created.flat();
      await Promise.all(records.map((r, i) => s.finish(r, i % 50 === 0 ? "dead" : "delivered", i)));
      const ids = (list: { id: string }[]): string[] => list.map((r) => r.id);
      for (const w of watches) {
        // Everything still kept (a store may hold up to one trim batch over its bound).
        const all = await s.recent(HISTORY_MAX_FOR_TEST * 2);
        assert.ok(all.length >= HISTORY_MAX_FOR_TEST && all.length <= 1100, `${all.length} kept`);
        assert.deepEqual(
          ids(await s.recent(HISTORY_MAX_FOR_TEST * 2, w)),
          ids(all.filter((r) => r.watchId === w)),
          `recent of ${w}: the kept ones, none trimmed`,
        );
        for (const n of [7, 100])
          assert.deepEqual(
            ids(await s.recent(n, w)),
            ids(all.filter((r) => r.watchId === w).slice(0, n)),
          );
        const dead = await s.dead();
        assert.deepEqual(
          ids(await s.dead(undefined, w)),
          ids(dead.filter((r) => r.watchId === w)),
          `dead of ${w}`,
        );
      }
      const [first] = await s.dead(1, "w1");
      assert.ok(first);
      await s.requeue([first.id], 5000);
      assert.ok(!ids(await s.dead(undefined, "w1")).includes(first.id), "a replayed one leaves");
      assert.deepEqual(await s.recent(10, "nobody"), []);
    } finally {
      await s.close();
    }
  });

  void test(`${name} - a closed store refuses calls`, async () => {
    const s = await factory.open();
    await s.close();
    await assert.rejects(s.loadState("w1"), (err: unknown) => isAugurError(err, "STORE_CLOSED"));
  });

  if (factory.reopen) {
    const reopen = factory.reopen.bind(factory);
    void test(`${name} - state, pending records, attempts and dead letters survive close and reopen`, async () => {
      let s = await factory.open();
      const [a, b, c] = await s.commit("w1", state("42"), [rec("a"), rec("b"), rec("c")]);
      assert.ok(a && b && c);
      await s.recordAttempt({ ...a, attempts: 3, nextAttemptAt: 9000, lastError: "timeout" });
      await s.finish(b, "dead", 10, "exit status 2");
      s = await reopen(s);
      try {
        assert.equal((await s.loadState("w1"))?.index, "42");
        const pending = await s.pending();
        assert.deepEqual(
          pending.map((r) => [r.eventId, r.attempts]),
          [
            ["a", 3],
            ["c", 0],
          ],
        );
        assert.equal(s.depth(), 2);
        assert.deepEqual(
          (await s.dead()).map((r) => r.eventId),
          ["b"],
        );
        // Ids keep increasing after a reopen.
        const [d] = await s.commit("w1", state("43"), [rec("d")]);
        assert.ok(d && d.seq > c.seq && !pending.some((r) => r.id === d.id));
      } finally {
        await s.close();
      }
    });
  }
}
