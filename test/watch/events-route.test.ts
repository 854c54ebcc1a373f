/**
 * `GET /v1/agent/watch/events`: what each watch detected, whatever its handlers' payloads (the
 * web UI's timeline and per-entity transitions read it), bounded per watch.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ApiServer } from "../../src/api/server.js";
import { watchRoutes } from "../../src/api/routes/watches.js";
import { RECENT_CHANGES_MAX, RECENT_EVENTS_MAX } from "../../src/watch/watch-runner.js";
import type { WatchManager } from "../../src/watch/manager.js";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";
import { defs, manager, until } from "./manager-helpers.js";
import { httpReceiver, type HttpReceiver } from "./receivers.js";

interface EventJson {
  Watch: string;
  EventID: string;
  Index: string;
  DetectedAt: string;
  Changes: { Entity: string; Kind: string; Transition: string | null }[];
  ChangesOmitted: number;
}

describe("watch events route", () => {
  let a: TestAgent;
  let r: HttpReceiver;
  let m: WatchManager;
  let server: ApiServer;
  let base: string;
  const events = async (query = ""): Promise<EventJson[]> =>
    (await (await fetch(`${base}/v1/agent/watch/events${query}`)).json()) as EventJson[];

  before(async () => {
    a = await startTestAgent();
    r = await httpReceiver(() => ({ status: 200 }));
    m = manager(a).m;
    await m.start(
      defs(
        {
          // Consul's payload: the handler never sees the transitions; the events route does.
          type: "checks",
          state: "any",
          id: "health",
          on_start: "never",
          handler_type: "http",
          http_handler_config: { path: r.url },
        },
        {
          type: "keyprefix",
          prefix: "bulk/",
          id: "bulk",
          on_start: "never",
          handler_type: "http",
          http_handler_config: { path: r.url },
        },
      ),
    );
    server = new ApiServer({ routes: watchRoutes(m) });
    const [addr] = await server.listen([{ host: "127.0.0.1", port: 0 }]);
    base = `http://127.0.0.1:${addr?.port ?? 0}`;
  });
  after(async () => {
    await server.close();
    await m.stop();
    await r.close();
    await a.stop();
  });

  it("events - a check's passing → critical shows as its entity's transition, for a Consul-payload watch", async () => {
    const register = (status: string) =>
      a.call("PUT", "/v1/catalog/register", {
        Node: "n1",
        Address: "10.0.0.1",
        Check: { CheckID: "disk", Name: "disk", Status: status },
      });
    assert.equal((await register("passing")).status, 200);
    await until(async () => (await events("?watch=health")).length === 1, 8000, "the added event");
    assert.equal((await register("critical")).status, 200);
    await until(async () => (await events("?watch=health")).length === 2, 8000, "the change");
    const [latest, first] = await events("?watch=health");
    assert.deepEqual(latest?.Changes, [
      { Entity: "n1/disk", Kind: "changed", Transition: "passing→critical" },
    ]);
    assert.equal(first?.Changes[0]?.Kind, "added");
    assert.ok(Number(latest?.Index) > Number(first?.Index));
    assert.ok(Date.parse(latest?.DetectedAt ?? "") >= Date.parse(first?.DetectedAt ?? ""));
    // The handler got Consul's payload, not a change document.
    await r.waitFor(2);
    assert.ok(r.requests.every((q) => !q.body.toString().includes("event_id")));
    assert.deepEqual(await events("?watch=nope"), []);
  });

  it(`events - one event keeps ${RECENT_CHANGES_MAX} changes and counts the rest; a watch keeps its last ${RECENT_EVENTS_MAX} events`, async () => {
    const ops = Array.from({ length: RECENT_CHANGES_MAX + 8 }, (_, i) => ({
      KV: { Verb: "set", Key: `bulk/${"k".repeat(300)}${i}`, Value: "" },
    }));
    assert.equal((await a.call("PUT", "/v1/txn", ops.slice(0, 64))).status, 200);
    await until(async () => (await events("?watch=bulk")).length === 1, 8000, "the bulk event");
    const [bulk] = await events("?watch=bulk");
    assert.equal(bulk?.Changes.length, RECENT_CHANGES_MAX);
    assert.equal(bulk?.ChangesOmitted, 8);
    // A long entity (a KV key) is cut to 256 characters.
    assert.ok(bulk?.Changes.every((c) => c.Entity.length <= 256 && c.Entity.endsWith("…")));
    for (let i = 0; i < RECENT_EVENTS_MAX + 3; i++) {
      assert.equal((await a.call("PUT", "/v1/kv/bulk/one", String(i))).status, 200);
      await until(
        async () => (await m.watches()).find((w) => w.id === "bulk")?.events === i + 2,
        8000,
        `event ${i}`,
      );
    }
    const kept = await events("?watch=bulk");
    assert.equal(kept.length, RECENT_EVENTS_MAX);
    assert.ok(kept.every((e) => e.Changes.length === 1));
    // Without ?watch: every watch's events, newest first.
    const all = await events();
    assert.ok(all.some((e) => e.Watch === "health") && all.some((e) => e.Watch === "bulk"));
    const times = all.map((e) => Date.parse(e.DetectedAt));
    assert.deepEqual(
      times,
      [...times].sort((x, y) => y - x),
    );
  });
});
