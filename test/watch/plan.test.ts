import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ConsulClient } from "../../src/client/consul-client.js";
import { systemClock } from "../../src/watch/clock.js";
import { WatchPlan, type PlanResult } from "../../src/watch/plan.js";
import { runQuery } from "../../src/watch/query.js";
import type { WatchQuery } from "../../src/watch/types.js";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";
import { FakeClock, settle } from "./fake-clock.js";
import { scriptedConsul } from "./scripted-consul.js";

const q = (over: Partial<WatchQuery>): WatchQuery => ({
  type: "key",
  tags: [],
  passingOnly: false,
  stale: false,
  ...over,
});

void describe("plan against a real agent", () => {
  let a: TestAgent;
  let client: ConsulClient;
  before(async () => {
    a = await startTestAgent();
    client = new ConsulClient({ address: a.url });
  });
  after(async () => a.stop());

  void it("query - key: null when missing, then the KVPair in the Go client's field order", async () => {
    const missing = await runQuery(client, q({ key: "plan/k" }), { index: 0n, waitMs: 1000 });
    assert.equal(missing.result, null);
    assert.ok(missing.index > 0n);
    await a.call("PUT", "/v1/kv/plan/k", "v<1>");
    const found = await runQuery(client, q({ key: "plan/k" }), { index: 0n, waitMs: 1000 });
    assert.deepEqual(Object.keys(found.result as object), [
      "Key",
      "CreateIndex",
      "ModifyIndex",
      "LockIndex",
      "Flags",
      "Value",
      "Session",
    ]);
    assert.equal((found.result as { Value: string }).Value, Buffer.from("v<1>").toString("base64"));
  });

  void it("query - keyprefix null when empty; services, nodes, checks, service, event answer Consul's shapes", async () => {
    assert.equal(
      (
        await runQuery(client, q({ type: "keyprefix", prefix: "none/" }), {
          index: 0n,
          waitMs: 1000,
        })
      ).result,
      null,
    );
    assert.ok(
      typeof (await runQuery(client, q({ type: "services" }), { index: 0n, waitMs: 1000 }))
        .result === "object",
    );
    assert.ok(
      Array.isArray(
        (await runQuery(client, q({ type: "nodes" }), { index: 0n, waitMs: 1000 })).result,
      ),
    );
    assert.ok(
      Array.isArray(
        (await runQuery(client, q({ type: "checks", state: "any" }), { index: 0n, waitMs: 1000 }))
          .result,
      ),
    );
    assert.deepEqual(
      (await runQuery(client, q({ type: "service", service: "nope" }), { index: 0n, waitMs: 1000 }))
        .result,
      [],
    );
    await a.call("PUT", "/v1/event/fire/deploy", "x");
    const ev = await runQuery(client, q({ type: "event", name: "deploy" }), {
      index: 0n,
      waitMs: 1000,
    });
    assert.equal((ev.result as { Name: string }[])[0]?.Name, "deploy");
  });

  void it("plan - blocks on the index and fires once per real change", async () => {
    const seen: PlanResult[] = [];
    const plan = new WatchPlan({
      source: client,
      query: q({ key: "plan/blocking" }),
      clock: systemClock(),
      onResult: async (r) => void seen.push(r),
    });
    plan.start();
    try {
      await until(() => seen.length === 1);
      assert.equal(seen[0]?.result, null);
      await a.call("PUT", "/v1/kv/plan/blocking", "one");
      await until(() => seen.length === 2);
      await a.call("PUT", "/v1/kv/plan/other", "unrelated");
      await a.call("PUT", "/v1/kv/plan/blocking", "two");
      await until(() => seen.length === 3);
      assert.equal(
        Buffer.from((seen[2]?.result as { Value: string }).Value, "base64").toString(),
        "two",
      );
      assert.equal(plan.state, "querying");
    } finally {
      await plan.stop();
    }
    assert.equal(plan.state, "stopped");
  });
});

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((res) => setTimeout(res, 10));
  }
}

void describe("plan loop semantics (scripted server)", () => {
  void it("plan - same index: no fire; deep-equal result at a new index: no fire; different: fire", async () => {
    const s = await scriptedConsul();
    const seen: PlanResult[] = [];
    let indexMoves = 0;
    const plan = new WatchPlan({
      source: new ConsulClient({ address: s.url }),
      query: q({ type: "nodes" }),
      clock: systemClock(),
      onResult: async (r) => void seen.push(r),
      onIndex: () => void indexMoves++,
    });
    s.push(
      { index: 5, body: [{ Node: "a" }] },
      { index: 5, body: [{ Node: "a" }] },
      { index: 6, body: [{ Node: "a" }] },
      { index: 7, body: [{ Node: "b" }] },
    );
    plan.start();
    await s.waitForRequests(5);
    await plan.stop();
    await s.close();
    assert.deepEqual(
      seen.map((r) => r.index),
      [5n, 7n],
    );
    assert.deepEqual(
      s.queries.map((p) => p.get("index")),
      [null, "5", "5", "6", "7"],
    );
    assert.equal(s.queries[1]?.get("wait"), "300000ms");
    // The index moved to 6 with the same result: no event, but the watch's status shows it.
    assert.equal(indexMoves, 1);
  });

  void it("plan - an index going backwards resets to 0 (a non-blocking request)", async () => {
    const s = await scriptedConsul();
    const plan = new WatchPlan({
      source: new ConsulClient({ address: s.url }),
      query: q({ type: "nodes" }),
      clock: systemClock(),
      onResult: async () => undefined,
    });
    s.push(
      { index: 50, body: [] },
      { index: 40, body: [{ Node: "x" }] },
      { index: 41, body: [{ Node: "x" }] },
    );
    plan.start();
    await s.waitForRequests(4);
    await plan.stop();
    await s.close();
    assert.deepEqual(
      s.queries.map((p) => p.get("index")),
      [null, "50", null, "41"],
    );
  });

  void it("plan - errors back off 5 s × failures² and forget the index; an unchanged result is not re-fired", async () => {
    const s = await scriptedConsul();
    const clock = new FakeClock();
    const seen: PlanResult[] = [];
    const retries: number[] = [];
    const plan = new WatchPlan({
      source: new ConsulClient({ address: s.url }),
      query: q({ type: "nodes" }),
      clock,
      onResult: async (r) => void seen.push(r),
      onError: (_e, retry) => void retries.push(retry),
    });
    s.push(
      { index: 9, body: [{ Node: "a" }] },
      { error: true },
      { status: 500, index: 9, body: "rpc error" },
      { index: 9, body: [{ Node: "a" }] },
    );
    plan.start();
    await s.waitForRequests(2);
    await until(() => retries.length === 1);
    assert.equal(plan.state, "backoff");
    await clock.advance(5000);
    await until(() => retries.length === 2);
    assert.deepEqual(retries, [5000, 20000]);
    await clock.advance(19_999);
    await settle();
    assert.equal(s.queries.length, 3, "still backing off");
    await clock.advance(1);
    await s.waitForRequests(5);
    await plan.stop();
    await s.close();
    assert.deepEqual(
      s.queries.map((p) => p.get("index")),
      [null, "9", null, null, "9"],
    );
    assert.equal(seen.length, 1, "the same result after the errors is not fired again");
  });

  void it("plan - event indexes are random: a lower one is not a reset", async () => {
    const s = await scriptedConsul();
    const plan = new WatchPlan({
      source: new ConsulClient({ address: s.url }),
      query: q({ type: "event" }),
      clock: systemClock(),
      onResult: async () => undefined,
    });
    s.push(
      { index: "18446744073709551000", body: [{ ID: "1" }] },
      { index: "12", body: [{ ID: "1" }, { ID: "2" }] },
    );
    plan.start();
    await s.waitForRequests(3);
    await plan.stop();
    await s.close();
    assert.deepEqual(
      s.queries.map((p) => p.get("index")),
      [null, "18446744073709551000", "12"],
    );
  });
});
