import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";
import { inspectView } from "../../src/catalog/catalog.js";
import { until } from "../helpers/until.js";

const svc = (name: string, port: number): object => ({
  Name: name,
  Port: port,
  Check: { TTL: "30s" },
});

describe("blocking queries", () => {
  let a: TestAgent;
  before(async () => (a = await startTestAgent()));
  after(async () => a.stop());

  it("blocking - a KV write releases a query parked on that key with the new index", async () => {
    await a.call("PUT", "/v1/kv/b/key", "1");
    const first = await a.call("GET", "/v1/kv/b/key");
    const index = Number(first.headers.get("x-consul-index"));
    const parked = a.call("GET", `/v1/kv/b/key?index=${index}&wait=10s`);
    await until(() => a.parked() === 1, "the query to park");
    assert.equal((await a.call("PUT", "/v1/kv/b/key", "2")).status, 200);
    const res = await parked;
    assert.ok(Number(res.headers.get("x-consul-index")) > index);
    const [pair] = (await res.json()) as { Value: string }[];
    assert.equal(Buffer.from(pair?.Value ?? "", "base64").toString(), "2");
  });

  it("blocking - a wait that times out returns the same index", async () => {
    const first = await a.call("GET", "/v1/kv/b/key");
    const index = first.headers.get("x-consul-index");
    const started = performance.now();
    const res = await a.call("GET", `/v1/kv/b/key?index=${index}&wait=200ms`);
    const waited = performance.now() - started;
    assert.equal(res.headers.get("x-consul-index"), index);
    // It parked for the whole wait (plus up to wait/16 of jitter), not answered at once.
    assert.ok(waited >= 195, `answered after ${waited.toFixed(0)} ms, before ?wait=200ms ran out`);
  });

  it("blocking - a change to service B wakes no watcher of service A; a KV write wakes no health watcher", async () => {
    assert.equal((await a.call("PUT", "/v1/agent/service/register", svc("svc-a", 1))).status, 200);
    assert.equal((await a.call("PUT", "/v1/agent/service/register", svc("svc-b", 2))).status, 200);
    const idx = (await a.call("GET", "/v1/health/service/svc-a")).headers.get("x-consul-index");
    const scopes = inspectView(a.running.catalog).scopes;
    const parked = a.call("GET", `/v1/health/service/svc-a?index=${idx}&wait=10s`);
    await until(() => scopes.parked() === 1, "the query to park");
    const wokenBefore = scopes.woken();
    assert.equal((await a.call("PUT", "/v1/agent/check/fail/service:svc-b")).status, 200);
    assert.equal((await a.call("PUT", "/v1/kv/unrelated", "x")).status, 200);
    assert.equal((await a.call("PUT", "/v1/agent/service/register", svc("svc-c", 3))).status, 200);
    assert.equal(scopes.woken(), wokenBefore, "unrelated changes woke a parked query");
    assert.equal(scopes.parked(), 1);
    assert.equal((await a.call("PUT", "/v1/agent/check/pass/service:svc-a")).status, 200);
    const res = await parked;
    assert.ok(Number(res.headers.get("x-consul-index")) > Number(idx));
    const entries = (await res.json()) as { Checks: { CheckID: string; Status: string }[] }[];
    assert.equal(entries[0]?.Checks.find((c) => c.CheckID === "service:svc-a")?.Status, "passing");
  });

  it("blocking - a prefix query wakes on a delete under the prefix and its index includes the deletion", async () => {
    await a.call("PUT", "/v1/kv/pre/a", "1");
    await a.call("PUT", "/v1/kv/pre/b", "1");
    const idx = Number((await a.call("GET", "/v1/kv/pre/?recurse")).headers.get("x-consul-index"));
    const parked = a.call("GET", `/v1/kv/pre/?recurse&index=${idx}&wait=10s`);
    await until(() => a.parked() === 1, "the query to park");
    assert.equal((await a.call("DELETE", "/v1/kv/pre/a")).status, 200);
    const res = await parked;
    assert.ok(Number(res.headers.get("x-consul-index")) > idx);
    assert.deepEqual(
      ((await res.json()) as { Key: string }[]).map((p) => p.Key),
      ["pre/b"],
    );
  });

  it("blocking - catalog/services blocks until a service is added", async () => {
    const idx = Number((await a.call("GET", "/v1/catalog/services")).headers.get("x-consul-index"));
    const parked = a.call("GET", `/v1/catalog/services?index=${idx}&wait=10s`);
    await until(() => a.parked() === 1, "the query to park");
    assert.equal(
      (await a.call("PUT", "/v1/agent/service/register", { Name: "late", Tags: ["x", "y"] }))
        .status,
      200,
    );
    const body = (await (await parked).json()) as Record<string, string[]>;
    assert.deepEqual(body["late"], ["x", "y"]);
  });
});

describe("blocking queries and liveness", () => {
  it("blocking - health/state wakes with a new index when a node's serfHealth flips, checks registered or not", async () => {
    const a = await startTestAgent();
    try {
      // With a check registered, the checks table's index no longer moves with liveness: the
      // answer's index must come from what the query watches (checks and liveness) all the same.
      assert.equal(
        (await a.call("PUT", "/v1/agent/check/register", { Name: "t", TTL: "60s" })).status,
        200,
      );
      await until(
        async () =>
          ((await (await a.call("GET", "/v1/health/state/any")).json()) as unknown[]).length === 2,
        "the check in the catalog",
      );
      const first = await a.call("GET", "/v1/health/state/any");
      const index = Number(first.headers.get("x-consul-index"));
      const parked = a.call("GET", `/v1/health/state/any?index=${index}&wait=30s`);
      await until(() => a.parked() === 1, "the query to park");
      // The agent's liveness record goes (as when its lease expires): serfHealth turns critical.
      await a.running.catalog.store.delete("alive/node1");
      const res = await parked;
      assert.ok(Number(res.headers.get("x-consul-index")) > index, "a new index, not a timeout");
      const checks = (await res.json()) as { CheckID: string; Status: string }[];
      assert.equal(checks.find((c) => c.CheckID === "serfHealth")?.Status, "critical");
    } finally {
      await a.stop();
    }
  });
});
