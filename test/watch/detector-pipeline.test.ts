/**
 * The detector does not wait for the disk between results (issue #10, item 3): its commits are
 * handed to the outbox in order while earlier ones are still being flushed, and a failed commit
 * sends it back to its last durable state, so the lost events' changes are reported again.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  ChangeDetector,
  COMMITS_IN_FLIGHT_MAX,
  COMMIT_BYTES_IN_FLIGHT_MAX,
  type DetectedEvent,
  type PersistedWatchState,
} from "../../src/watch/detector.js";
import { AugurError } from "../../src/lib/errors.js";
import { check, NO_NOISE } from "./detector-helpers.js";
import { FakeClock, settle } from "./fake-clock.js";

/** One commit the test settles by hand, as the outbox's flush would. */
interface PendingCommit {
  readonly state: PersistedWatchState | null;
  readonly event: DetectedEvent | undefined;
  /** Resolved or rejected. */
  done: boolean;
  resolve(): void;
  reject(err: Error): void;
}

function pipelined(inFlightBytes?: (commits: PendingCommit[]) => number): {
  clock: FakeClock;
  detector: ChangeDetector;
  commits: PendingCommit[];
  resumes: number[];
  errors: string[];
} {
  const clock = new FakeClock();
  const commits: PendingCommit[] = [];
  const resumes: number[] = [];
  const errors: string[] = [];
  const detector = new ChangeDetector({
    watchId: "w1",
    type: "checks",
    onStart: "fire",
    noise: NO_NOISE,
    clock,
    commit: (state, event) =>
      new Promise<void>((resolve, reject) => {
        const c: PendingCommit = {
          state,
          event,
          done: false,
          resolve: () => ((c.done = true), resolve()),
          reject: (err) => ((c.done = true), reject(err)),
        };
        commits.push(c);
      }),
    resume: () => resumes.push(commits.length),
    onError: (err) => errors.push(err.message),
    ...(inFlightBytes ? { inFlightBytes: () => inFlightBytes(commits) } : {}),
  });
  return { clock, detector, commits, resumes, errors };
}

const feed = (d: ChangeDetector, index: number, result: unknown): Promise<void> =>
  d.handle({ index: BigInt(index), result });

void test("detector - results are handled while earlier commits are still being flushed, in order", async () => {
  const { detector, commits } = pipelined();
  // Each handle() resolves although no commit has become durable yet.
  await feed(detector, 1, [check("n1", "web", "passing")]);
  await feed(detector, 2, [check("n1", "web", "critical")]);
  await feed(detector, 3, [check("n1", "web", "passing")]);
  assert.equal(commits.length, 3);
  assert.deepEqual(
    commits.map((c) => c.event?.changes.map((x) => x.transition)),
    [["absent→passing"], ["passing→critical"], ["critical→passing"]],
  );
  assert.deepEqual(
    commits.map((c) => c.state?.index),
    ["1", "2", "3"],
  );
  for (const c of commits) c.resolve();
  await detector.settled();
});

void test(`detector - at most ${COMMITS_IN_FLIGHT_MAX} commits wait for the disk; the next result waits for the oldest`, async () => {
  const { detector, commits } = pipelined();
  for (let i = 1; i <= COMMITS_IN_FLIGHT_MAX; i++)
    await feed(detector, i, [check("n1", "web", i % 2 ? "passing" : "critical")]);
  assert.equal(commits.length, COMMITS_IN_FLIGHT_MAX);
  let handled = false;
  const next = feed(detector, COMMITS_IN_FLIGHT_MAX + 1, [check("n1", "web", "warning")]).then(
    () => (handled = true),
  );
  await settle();
  assert.equal(handled, false, "the result past the bound waits");
  assert.equal(commits.length, COMMITS_IN_FLIGHT_MAX);
  commits[0]?.resolve();
  await next;
  assert.equal(commits.length, COMMITS_IN_FLIGHT_MAX + 1);
  for (const c of commits) c.resolve();
  await detector.settled();
});

void test(`detector - commits holding ${COMMIT_BYTES_IN_FLIGHT_MAX / 1024 / 1024} MiB of payload wait for the disk before another is made`, async () => {
  // Each commit not yet durable holds 6 MiB (a large catalog's payload, say).
  const { detector, commits } = pipelined(
    (all) => all.filter((c) => !c.done).length * 6 * 1024 * 1024,
  );
  for (let i = 1; i <= 3; i++)
    await feed(detector, i, [check("n1", "web", i % 2 ? "passing" : "critical")]);
  assert.equal(commits.length, 3, "18 MiB in flight after the third");
  let handled = false;
  const next = feed(detector, 4, [check("n1", "web", "warning")]).then(() => (handled = true));
  await settle();
  assert.equal(handled, false, "the fourth waits: the bytes bound, long before the count's");
  assert.equal(commits.length, 3);
  commits[0]?.resolve();
  await next;
  assert.equal(commits.length, 4);
  for (const c of commits) c.resolve();
  await detector.settled();
});

void test("detector - a failed commit: back to the last durable state, and the lost changes are reported again", async () => {
  const { clock, detector, commits, resumes, errors } = pipelined();
  await feed(detector, 1, [check("n1", "web", "passing"), check("n1", "db", "passing")]);
  commits[0]?.resolve(); // durable: web and db passing
  await feed(detector, 2, [check("n1", "web", "critical"), check("n1", "db", "passing")]);
  await feed(detector, 3, [check("n1", "web", "critical"), check("n1", "db", "critical")]);
  assert.equal(commits.length, 3);
  // The outbox fails the second commit, and with it the third (computed on top of it).
  commits[1]?.reject(new AugurError("STORE_IO", "watch outbox: disk full"));
  commits[2]?.reject(new AugurError("STORE_IO", 'an earlier write of watch "w1" failed'));
  await settle();
  assert.deepEqual(errors, ["watch outbox: disk full"], "one failure is reported once");
  assert.deepEqual(resumes, [3], "the store is told the detector went back");
  assert.equal(commits.length, 3, "nothing is reported before the retry");
  await clock.advance(1000);
  // Reported again from the durable state: both transitions, in one event at the latest index.
  assert.equal(commits.length, 4);
  const retry = commits[3];
  assert.equal(retry?.state?.index, "3");
  assert.deepEqual(retry?.event?.changes.map((c) => [c.entity, c.transition]).sort(), [
    ["n1/db", "passing→critical"],
    ["n1/web", "passing→critical"],
  ]);
  retry?.resolve();
  // The next result is diffed against what was just reported.
  await feed(detector, 4, [check("n1", "web", "passing"), check("n1", "db", "critical")]);
  assert.deepEqual(
    commits[4]?.event?.changes.map((c) => [c.entity, c.transition]),
    [["n1/web", "critical→passing"]],
  );
  commits[4]?.resolve();
  await detector.settled();
});

void test("detector - a failed commit while a newer result arrives before the retry: that result reports from the durable state", async () => {
  const { detector, commits } = pipelined();
  await feed(detector, 1, [check("n1", "web", "passing")]);
  commits[0]?.resolve();
  await feed(detector, 2, [check("n1", "web", "critical")]);
  commits[1]?.reject(new AugurError("STORE_IO", "watch outbox: disk full"));
  await settle();
  await feed(detector, 3, [check("n1", "web", "critical"), check("n1", "db", "passing")]);
  assert.deepEqual(commits[2]?.event?.changes.map((c) => [c.entity, c.transition]).sort(), [
    ["n1/db", "absent→passing"],
    ["n1/web", "passing→critical"],
  ]);
  commits[2]?.resolve();
  await detector.settled();
  detector.stop();
});
