/**
 * Group commit in the lmdb outbox (issue #10, item 3), against a real child process that is
 * `kill -9`ed: many watches committing at once share transactions and flushes, and every commit
 * that was acknowledged — its record and its watch state — is there after the crash.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { LmdbWatchStore } from "../../src/watch/lmdb-store.js";
import { tempDir } from "./receivers.js";

const CHILD = fileURLToPath(new URL("./group-commit-child.js", import.meta.url));
const WATCHES = 32;
const ACKS_BEFORE_KILL = 2000;

void test(
  "outbox - 32 watches committing at once share flushes; kill -9: every acknowledged commit survives with its state",
  { timeout: 120_000 },
  () => crashRun("one at a time"),
);

void test(
  "outbox - 32 watches, each with 16 commits in flight (pipelined): kill -9 keeps every acknowledged commit, and each watch's commits landed in order",
  { timeout: 120_000 },
  () => crashRun("pipelined"),
);

async function crashRun(mode: "one at a time" | "pipelined"): Promise<void> {
  const dir = await tempDir("augur-group-commit-");
  const path = join(dir.path, "watches");
  try {
    const args = [CHILD, path, String(WATCHES), ...(mode === "pipelined" ? ["pipelined"] : [])];
    const child = spawn(process.execPath, args, {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const acked = new Map<string, { n: number; seq: number }[]>();
    let count = 0;
    let stats: { acks: number; writes: number; transactions: number; flushes: number } | undefined;
    let partial = "";
    const killed = new Promise<void>((resolve, reject) => {
      child.once("exit", () =>
        count >= ACKS_BEFORE_KILL
          ? resolve()
          : reject(new Error(`the child exited after ${count} acks: ${stderr}`)),
      );
      child.stdout.setEncoding("utf8").on("data", (d: string) => {
        const lines = (partial + d).split("\n");
        partial = lines.pop() ?? "";
        for (const line of lines) {
          const [kind, a, b, c] = line.split(" ");
          if (kind === "stats")
            stats = {
              acks: Number(a),
              ...(JSON.parse(b ?? "{}") as {
                writes: number;
                transactions: number;
                flushes: number;
              }),
            };
          if (kind !== "ack") continue;
          const list = acked.get(a as string) ?? [];
          list.push({ n: Number(b), seq: Number(c) });
          acked.set(a as string, list);
          if (++count === ACKS_BEFORE_KILL) child.kill("SIGKILL");
        }
      });
    });
    await killed;
    assert.ok(stats !== undefined, "the child reported its flush count");
    assert.ok(
      stats.flushes * 2 <= stats.acks,
      `${stats.acks} commits took ${stats.flushes} flushes (${stats.transactions} transactions): flushes are shared`,
    );

    const store = await LmdbWatchStore.open(path);
    try {
      const pending = new Map((await store.pending()).map((r) => [r.eventId, r]));
      for (const [w, list] of acked) {
        for (const { n, seq } of list) {
          const r = pending.get(`e${w.slice(1)}-${n}`);
          assert.ok(
            r !== undefined,
            `acknowledged commit ${w} #${n} is in the outbox after kill -9`,
          );
          assert.equal(r.seq, seq);
        }
        const last = list.at(-1)?.n ?? 0;
        const state = await store.loadState(w);
        assert.ok(
          Number(state?.index) >= last,
          `${w}'s state is at least at its last acknowledged commit (${state?.index} ≥ ${last})`,
        );
      }
      // Whatever landed of a watch's commits is a prefix of them, its state at the last one:
      // a commit never lands without the ones made before it.
      for (let w = 0; w < WATCHES; w++) {
        const ns = [...pending.values()]
          .filter((r) => r.watchId === `w${w}`)
          .map((r) => Number(r.index))
          .sort((a, b) => a - b);
        assert.deepEqual(
          ns,
          ns.map((_, i) => i + 1),
          `w${w}'s commits landed in order`,
        );
        assert.equal((await store.loadState(`w${w}`))?.index ?? "0", String(ns.length));
      }
      // New commits after the crash continue the sequence.
      const [next] = await store.commit("w0", null, [
        {
          eventId: "after",
          watchId: "w0",
          handlerKey: "h",
          index: "0",
          createdAt: 0,
          body: "{}",
        },
      ]);
      assert.ok(next && next.seq > Math.max(...[...pending.values()].map((r) => r.seq)));
    } finally {
      await store.close();
    }
  } finally {
    await dir.remove();
  }
}
