import { test } from "node:test";
import assert from "node:assert/strict";
import { check, harness } from "./detector-helpers.js";

const web = (status: string, output = ""): Record<string, unknown>[] => [
  check("n1", "web", status, { Output: output }),
];

void test("noise - quiet period: a burst collapses into one delivery of the latest state", async () => {
  const h = harness({ noise: { quietPeriodMs: 1000, quietPeriodMaxMs: 10_000 } });
  await h.feed(1, web("passing"));
  assert.equal(h.events.length, 1); // the start fires at once (Consul)
  for (let i = 0; i < 10; i++) {
    await h.feed(2 + i, web(i % 2 === 0 ? "critical" : "warning", `o${i}`));
    await h.clock.advance(200);
  }
  assert.equal(h.events.length, 1, "nothing during the burst");
  await h.clock.advance(1000);
  assert.equal(h.events.length, 2);
  assert.deepEqual(
    h.events[1]?.changes.map((c) => c.transition),
    ["passing→warning"],
  );
  assert.equal((h.events[1]?.consul as { Output: string }[])[0]?.Output, "o9");
});

void test("noise - quiet period: delivered when it ends even if the wall clock was stepped back meanwhile", async () => {
  const h = harness({ noise: { quietPeriodMs: 1000, quietPeriodMaxMs: 10_000 } });
  await h.feed(1, web("passing"));
  await h.feed(2, web("critical"));
  assert.equal(h.events.length, 1);
  h.clock.step(-3_600_000);
  await h.clock.advance(1000);
  assert.equal(h.events.length, 2, "delivered after the quiet second, not an hour later");
});

void test("noise - quiet period maximum: a change stream is still delivered every max", async () => {
  const h = harness({ noise: { quietPeriodMs: 1000, quietPeriodMaxMs: 3000 } });
  await h.feed(1, web("passing"));
  for (let i = 0; i < 14; i++) {
    await h.feed(2 + i, web(i % 2 === 0 ? "critical" : "passing", `o${i}`));
    await h.clock.advance(500);
  }
  // 7 s of changes every 0.5 s: flushed at 3 s and 6 s, never waiting for a quiet second.
  assert.equal(h.events.length, 3);
});

void test("noise - a burst that ends where it began is not delivered", async () => {
  const h = harness({ noise: { quietPeriodMs: 1000, quietPeriodMaxMs: 5000 } });
  await h.feed(1, web("passing"));
  await h.feed(2, web("critical"));
  await h.feed(3, web("passing"));
  await h.clock.advance(2000);
  assert.equal(h.events.length, 1);
});

void test("noise - hold: a state must last the hold time; a blip is never reported", async () => {
  const h = harness({ noise: { holdMs: 30_000 } });
  await h.feed(1, web("passing"));
  await h.feed(2, web("critical"));
  await h.clock.advance(10_000);
  await h.feed(3, web("passing"));
  await h.clock.advance(60_000);
  assert.equal(h.events.length, 1, "the 10 s blip was held back");
  await h.feed(4, web("critical"));
  await h.clock.advance(29_000);
  assert.equal(h.events.length, 1);
  await h.clock.advance(1_000);
  assert.equal(h.events.length, 2, "reported when the hold matured, without a new result");
  assert.deepEqual(
    h.events[1]?.changes.map((c) => c.transition),
    ["passing→critical"],
  );
});

void test("noise - hold does not delay non-state changes of a held entity's output", async () => {
  const h = harness({ noise: { holdMs: 30_000, stateChangesOnly: true } });
  await h.feed(1, web("passing", "a"));
  await h.feed(2, web("passing", "b"));
  await h.clock.advance(40_000);
  assert.equal(h.events.length, 1);
});

void test("noise - flapping is reported once, then stable once (hysteresis)", async () => {
  const h = harness({ noise: { flap: { windowMs: 60_000, startThreshold: 4, stopThreshold: 1 } } });
  await h.feed(1, web("passing"));
  const states = ["critical", "passing", "critical", "passing", "critical", "passing", "critical"];
  for (const [i, s] of states.entries()) {
    await h.feed(2 + i, web(s));
    await h.clock.advance(2_000);
  }
  const kinds = h.events.slice(1).map((e) => e.changes.map((c) => c.kind).join(","));
  // Three plain transitions, then one `flapping`; the flaps after it are not reported.
  assert.deepEqual(kinds, ["changed", "changed", "changed", "flapping"]);
  assert.equal(h.events.at(-1)?.changes[0]?.transition, "critical→flapping");
  await h.clock.advance(120_000);
  const last = h.events.at(-1)?.changes[0];
  assert.equal(last?.kind, "stable");
  assert.equal(last?.transition, "flapping→critical");
  assert.equal(h.events.length, 6);
  await h.clock.advance(120_000);
  assert.equal(h.events.length, 6, "stable is reported once");
});

void test("noise - a restart keeps a running hold: it matures on time, not a whole hold after the restart", async () => {
  const before = harness({ onStart: "changes", noise: { holdMs: 30_000 } });
  await before.feed(1, web("passing"));
  await before.feed(2, web("critical"));
  await before.clock.advance(20_000);
  const state = before.states.at(-1);
  assert.equal(
    before.events.length,
    0,
    "first run with on_start=changes is silent; critical is still held",
  );
  assert.ok(state?.noise?.length, "the pending hold is in the persisted state");
  before.detector.stop();

  const after = harness({
    onStart: "changes",
    noise: { holdMs: 30_000 },
    initial: state,
    clock: before.clock,
  });
  await after.feed(3, web("critical"));
  assert.equal(after.events.length, 0, "20 s of 30 s held: not yet");
  await after.clock.advance(9_000);
  assert.equal(after.events.length, 0);
  await after.clock.advance(1_000);
  assert.deepEqual(
    after.events.map((e) => e.changes.map((c) => c.transition)),
    [["passing→critical"]],
    "matured 30 s after it was first seen",
  );

  const blip = harness({
    onStart: "changes",
    noise: { holdMs: 30_000 },
    initial: state,
    clock: before.clock,
  });
  await blip.feed(3, web("passing"));
  await blip.clock.advance(60_000);
  assert.equal(
    blip.events.length,
    0,
    "back to passing after the restart: the blip is never reported",
  );
});

void test("noise - a restart remembers flapping: no second `flapping`, and `stable` once when it settles", async () => {
  const flap = { windowMs: 60_000, startThreshold: 4, stopThreshold: 1 };
  const before = harness({ noise: { flap } });
  await before.feed(1, web("passing"));
  const states = ["critical", "passing", "critical", "passing", "critical"];
  for (const [i, s] of states.entries()) {
    await before.feed(2 + i, web(s));
    await before.clock.advance(2_000);
  }
  assert.equal(before.events.at(-1)?.changes[0]?.kind, "flapping");
  const state = before.states.at(-1);
  before.detector.stop();

  const after = harness({
    onStart: "changes",
    noise: { flap },
    initial: state,
    clock: before.clock,
  });
  await after.feed(10, web("passing"));
  await after.feed(11, web("critical"));
  assert.equal(
    after.events.length,
    0,
    "still flapping after the restart: frozen, not reported again",
  );
  await after.clock.advance(120_000);
  assert.deepEqual(
    after.events.map((e) => e.changes.map((c) => `${c.kind} ${c.transition}`)),
    [["stable flapping→critical"]],
  );
});
