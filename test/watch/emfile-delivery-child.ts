/**
 * Run by script-handler-emfile.test.ts in a child process started under `ulimit -n`: uses up
 * every file descriptor this process may open, lets a delivery worker try a script handler (so
 * spawn fails with a real EMFILE), then gives the descriptors back and lets the retry through.
 * Prints one JSON line with what happened.
 *
 * @module
 */
import { closeSync, openSync, readFileSync } from "node:fs";
import { systemClock } from "../../src/watch/clock.js";
import { DeliveryWorker } from "../../src/watch/delivery-worker.js";
import { ScriptHandler } from "../../src/watch/handlers/script-handler.js";
import { silentLogger } from "../../src/watch/logger.js";
import { MemoryWatchStore } from "../../src/watch/memory-store.js";
import type { OutboxRecord } from "../../src/watch/outbox.js";

const arg = process.argv[2];
// `node --test dist/test/` also runs this file, without arguments: then it must do nothing (it
// used to write a file named "undefined" in the working directory).
if (arg === undefined) process.exit(0);
const out = arg;
const errors: string[] = [];
let delivered = 0;
let dead = 0;
let retried = 0;

const handler = new ScriptHandler(
  {
    kind: "script",
    key: "h1",
    payload: "consul",
    durable: true,
    timeoutMs: 5000,
    outputMaxSize: 4096,
    args: ["/bin/sh", "-c", 'cat > "$1"', "sh", out],
    retry: { initialIntervalMs: 50, maxIntervalMs: 100, maxAttempts: 50, maxAgeMs: 0 },
  },
  { killGraceMs: 200 },
);
const store = new MemoryWatchStore();
const worker = new DeliveryWorker({
  handler,
  retry: { initialIntervalMs: 50, maxIntervalMs: 100, maxAttempts: 50, maxAgeMs: 0 },
  store,
  clock: systemClock(),
  logger: silentLogger,
  observer: {
    delivered: () => void delivered++,
    failed: () => undefined,
    retried: (r: OutboxRecord) => {
      retried++;
      if (r.lastError) errors.push(r.lastError);
    },
    deadLettered: (r: OutboxRecord) => {
      dead++;
      if (r.lastError) errors.push(r.lastError);
    },
  },
});

const held: number[] = [];
for (;;) {
  try {
    held.push(openSync("/dev/null", "r"));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EMFILE") throw err;
    break;
  }
}

const until = async (cond: () => boolean, ms: number): Promise<boolean> => {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  return cond();
};

worker.enqueue(
  await store.commit("w1", { version: 1, index: "7", reported: {}, updatedAt: 0 }, [
    {
      eventId: "e1",
      watchId: "w1",
      handlerKey: "h1",
      index: "7",
      createdAt: Date.now(),
      body: '{"n":1}',
    },
  ]),
);
worker.start();
await until(() => retried >= 2 || dead > 0, 10_000);
const failedWhileExhausted = retried;
for (const fd of held) closeSync(fd);
await until(() => delivered > 0 || dead > 0, 10_000);
await worker.stop();
let written = "";
try {
  written = readFileSync(out, "utf8");
} catch {
  // not delivered
}
const deadLetters = (await store.dead()).length;
process.stdout.write(
  `${JSON.stringify({ heldFds: held.length, failedWhileExhausted, retried, delivered, dead, deadLetters, errors, written })}\n`,
);
