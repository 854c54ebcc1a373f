/**
 * Child process for group-commit.test.ts: opens the lmdb outbox in `argv[2]` and runs
 * `argv[3]` watches, each committing its next event the moment the previous commit resolved
 * (as a watch does). After each commit resolves it prints `ack <watch> <n> <seq>` with a
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

async function watch(w: number): Promise<void> {
  for (let n = 1; ; n++) {
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
}

await Promise.all(Array.from({ length: watches }, (_, w) => watch(w)));
