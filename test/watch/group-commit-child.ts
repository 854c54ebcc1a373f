/**
 * Child process for group-commit.test.ts: opens the lmdb outbox in `argv[2]` and runs
 * `argv[3]` watches, each committing its next event the moment the previous commit resolved,
 * or with `argv[4]` = `pipelined`, without waiting: up to 16 commits of each watch in flight,
 * as a watch's detector makes them. After each commit resolves it prints `ack <watch> <n> <seq>` with a
 * synchronous write, so every line the parent reads was acknowledged before the parent
 * `kill -9`s it. It never stops by itself.
 *
 * @module
 */
import { writeSync } from "node:fs";
import { LmdbWatchStore } from "../../src/watch/lmdb-store.js";

// `node --test dist/test/` runs every file under test/ by itself: without arguments, do nothing.
if (process.argv[2] === undefined) process.exit(0);
const store = await LmdbWatchStore.open(process.argv[2]);
const watches = Number(process.argv[3]);
let acks = 0;

const inFlight = process.argv[4] === "pipelined" ? 16 : 1;

async function watch(w: number): Promise<void> {
  const waiting: Promise<void>[] = [];
  for (let n = 1; ; n++) {
    if (waiting.length >= inFlight) await waiting.shift();
    waiting.push(commitOne(w, n));
  }
}

async function commitOne(w: number, n: number): Promise<void> {
  const [rec] = await store.commit(
    `w${w}`,
    { version: 1, index: String(n), reported: {}, updatedAt: Date.now() },
    [
      {
        eventId: `e${w}-${n}`,
        watchId: `w${w}`,
        handlerKey: "h",
        index: String(n),
        createdAt: Date.now(),
        body: `{"n":${n}}`,
      },
    ],
  );
  writeSync(1, `ack w${w} ${n} ${rec?.seq}\n`);
  // Now and then, how many flushes the commits so far took.
  if (++acks % 100 === 0) writeSync(1, `stats ${acks} ${JSON.stringify(store.stats())}\n`);
}

await Promise.all(Array.from({ length: watches }, (_, w) => watch(w)));
