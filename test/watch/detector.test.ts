import { test } from "node:test";
import assert from "node:assert/strict";
import { check, harness, userEvent } from "./detector-helpers.js";

void test("detector - fire: the first result fires with Consul's payload; changes carry transitions", async () => {
  const h = harness();
  const first = [check("n1", "web", "passing"), check("n1", "db", "passing")];
  await h.feed(10, first);
  assert.equal(h.events.length, 1);
  assert.deepEqual(h.events[0]?.consul, first);
  assert.deepEqual(
    h.events[0]?.changes.map((c) => [c.entity, c.kind, c.transition]),
    [
      ["n1/web", "added", "absent→passing"],
      ["n1/db", "added", "absent→passing"],
    ],
  );
  await h.feed(11, [
    check("n1", "web", "critical", { Output: "down" }),
    check("n1", "db", "passing"),
  ]);
  const c = h.events[1]?.changes;
  assert.equal(c?.length, 1);
  assert.equal(c?.[0]?.kind, "changed");
  assert.equal(c?.[0]?.transition, "passing→critical");
  assert.equal(c?.[0]?.old_state, "passing");
  assert.equal((c?.[0]?.new as { Output: string }).Output, "down");
  assert.equal(h.events[1]?.index, "11");
  // Consul fires on any difference, output included; the change has no transition.
  await h.feed(12, [
    check("n1", "web", "critical", { Output: "still down" }),
    check("n1", "db", "passing"),
  ]);
  assert.equal(h.events.length, 3);
  assert.equal(h.events[2]?.changes[0]?.transition, null);
  // A removed check.
  await h.feed(13, [check("n1", "web", "critical", { Output: "still down" })]);
  assert.deepEqual(
    h.events[3]?.changes.map((x) => [x.entity, x.kind, x.transition]),
    [["n1/db", "removed", "passing→absent"]],
  );
});

void test("detector - state_changes_only: output churn is not an event", async () => {
  const h = harness({ noise: { stateChangesOnly: true } });
  await h.feed(1, [check("n1", "web", "passing", { Output: "a" })]);
  await h.feed(2, [check("n1", "web", "passing", { Output: "b" })]);
  await h.feed(3, [check("n1", "web", "warning", { Output: "c" })]);
  assert.deepEqual(
    h.events.map((e) => e.changes.map((c) => c.transition)),
    [["absent→passing"], ["passing→warning"]],
  );
});

void test("detector - ids are stable: the same change at the same index gets the same ids", async () => {
  const a = harness();
  const b = harness();
  for (const h of [a, b]) {
    await h.feed(5, [check("n1", "web", "passing")]);
    await h.feed(6, [check("n1", "web", "critical")]);
  }
  assert.deepEqual(
    a.events.map((e) => e.id),
    b.events.map((e) => e.id),
  );
  assert.deepEqual(
    a.events[1]?.changes.map((c) => c.id),
    b.events[1]?.changes.map((c) => c.id),
  );
  assert.notEqual(a.events[0]?.id, a.events[1]?.id);
  assert.match(
    a.events[0]?.id ?? "",
    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
  );
});

void test("detector - on_start=changes: only what changed while down; silent when nothing did or on a first run", async () => {
  const before = harness();
  await before.feed(1, [check("n1", "web", "passing"), check("n1", "db", "passing")]);
  const state = before.states.at(-1);
  assert.ok(state);

  const same = harness({ onStart: "changes", initial: state });
  await same.feed(7, [check("n1", "web", "passing"), check("n1", "db", "passing")]);
  assert.equal(same.events.length, 0);

  const changed = harness({ onStart: "changes", initial: state });
  await changed.feed(9, [check("n1", "web", "critical"), check("n1", "db", "passing")]);
  assert.deepEqual(
    changed.events.map((e) => e.changes.map((c) => c.transition)),
    [["passing→critical"]],
  );

  const fresh = harness({ onStart: "changes" });
  await fresh.feed(1, [check("n1", "web", "passing")]);
  assert.equal(fresh.events.length, 0);
  await fresh.feed(2, [check("n1", "web", "critical")]);
  assert.equal(fresh.events.length, 1);
});

void test("detector - on_start=never adopts silently, then reports later changes", async () => {
  const h = harness({ onStart: "never" });
  await h.feed(1, [check("n1", "web", "passing")]);
  assert.equal(h.events.length, 0);
  assert.equal(h.states.length, 1);
  await h.feed(2, [check("n1", "web", "critical")]);
  assert.equal(h.events.length, 1);
});

void test("detector - maintenance checks are reported as maintenance, not critical", async () => {
  const h = harness();
  await h.feed(1, [check("n1", "web", "passing", { ServiceID: "web" })]);
  await h.feed(2, [
    check("n1", "web", "critical", { ServiceID: "web" }),
    check("n1", "_service_maintenance:web", "critical", { ServiceID: "web" }),
  ]);
  assert.deepEqual(
    h.events[1]?.changes.map((c) => [c.entity, c.transition]),
    [
      ["n1/web", "passing→maintenance"],
      ["n1/_service_maintenance:web", "absent→maintenance"],
    ],
  );
  const plain = harness({ noise: { maintenanceAware: false } });
  await plain.feed(1, [check("n1", "_node_maintenance", "critical")]);
  assert.equal(plain.events[0]?.changes[0]?.new_state, "critical");
});

void test("detector - service watch: an instance's state is its worst check", async () => {
  const entry = (status: string): Record<string, unknown> => ({
    Node: { Node: "n1" },
    Service: { ID: "web-1", Service: "web" },
    Checks: [check("n1", "serfHealth", "passing"), check("n1", "service:web-1", status)],
  });
  const h = harness({ type: "service" });
  await h.feed(1, [entry("passing")]);
  await h.feed(2, [entry("warning")]);
  assert.deepEqual(
    h.events.map((e) => e.changes.map((c) => [c.entity, c.transition])),
    [[["n1/web-1", "absent→passing"]], [["n1/web-1", "passing→warning"]]],
  );
});

void test("detector - event watch: first run delivers the buffer (Consul), then only unseen events", async () => {
  const e1 = userEvent("00000000-0000-0000-0000-000000000001");
  const e2 = userEvent("00000000-0000-0000-0000-000000000002");
  const e3 = userEvent("00000000-0000-0000-0000-000000000003");
  const h = harness({ type: "event" });
  await h.feed(100, [e1, e2]);
  assert.deepEqual(h.events[0]?.consul, [e1, e2]);
  await h.feed(200, [e1, e2, e3]);
  assert.deepEqual(h.events[1]?.consul, [e3]);
  assert.deepEqual(
    h.events[1]?.changes.map((c) => c.kind),
    ["added"],
  );
  // A restart with on_start=changes delivers only events it has not handled, not the buffer.
  const again = harness({ type: "event", onStart: "changes", initial: h.states.at(-1) });
  const e4 = userEvent("00000000-0000-0000-0000-000000000004");
  await again.feed(300, [e1, e2, e3, e4]);
  assert.deepEqual(
    again.events.map((e) => e.consul),
    [[e4]],
  );
});
