/**
 * Synthetic events about a watch's source: `source_unreachable` once its queries have failed
 * for `source_unreachable_after`, `source_recovered` when one succeeds again, `index_reset` when
 * the index goes backwards. They reach handlers with `payload = "changes"` (or "both") through
 * the outbox; Consul-payload handlers get nothing, as Consul has no such events.
 *
 * The unreachable source is a real agent behind a TCP proxy that is cut; the index going
 * backwards (Consul after a snapshot restore) is a scripted server, since no real agent here can
 * be made to do it.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ConsulClient } from "../../src/client/consul-client.js";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.js";
import { defs, manager, until } from "./manager-helpers.js";
import { httpReceiver, type HttpReceiver } from "./receivers.js";
import { scriptedConsul } from "./scripted-consul.js";

interface Doc {
  changes: {
    entity: string;
    kind: string;
    transition: string | null;
    old: unknown;
    new: unknown;
  }[];
}

describe("source events", () => {
  let agent: TestAgent;
  let proxy: TcpProxy;
  let changes: HttpReceiver;
  let consul: HttpReceiver;
  before(async () => {
    agent = await startTestAgent();
    const u = new URL(agent.url);
    proxy = await startTcpProxy({ host: u.hostname, port: Number(u.port) });
    changes = await httpReceiver();
    consul = await httpReceiver();
  });
  after(async () => {
    await changes.close();
    await consul.close();
    await proxy.close();
    await agent.stop();
  });
  const kinds = (r: HttpReceiver): string[] =>
    r.requests.flatMap((q) =>
      (JSON.parse(q.body.toString()) as Doc).changes.map((c) => `${c.kind} ${c.entity}`),
    );

  it("source - unreachable for source_unreachable_after, then recovered: one event each; Consul handlers get neither", async () => {
    const { m } = manager(agent, {
      client: new ConsulClient({ address: proxy.url }),
      planRetryBaseMs: 20,
      planWaitMs: 2000,
    });
    await m.start(
      defs({
        type: "key",
        key: "src/a",
        id: "src",
        on_start: "never",
        source_unreachable_after: "300ms",
        handlers: [
          { handler_type: "http", http_handler_config: { path: changes.url }, payload: "changes" },
          { handler_type: "http", http_handler_config: { path: consul.url } },
        ],
      }),
    );
    try {
      await until(() => m.watches()[0]?.index !== undefined, 5000, "watch running");
      proxy.partition();
      await until(
        () => kinds(changes).includes("source_unreachable source"),
        10_000,
        "unreachable reported",
      );
      const down = JSON.parse(changes.requests[0]?.body.toString() ?? "{}") as Doc;
      assert.equal(down.changes[0]?.transition, "reachable→unreachable");
      assert.match(JSON.stringify(down.changes[0]?.new), /"error":".+","since":"\d{4}-/);
      await new Promise((r) => setTimeout(r, 500));
      assert.deepEqual(
        kinds(changes),
        ["source_unreachable source"],
        "reported once per outage, not per failed query",
      );
      proxy.heal();
      await until(
        () => kinds(changes).includes("source_recovered source"),
        10_000,
        "recovery reported",
      );
      assert.equal(
        (JSON.parse(changes.requests[1]?.body.toString() ?? "{}") as Doc).changes[0]?.transition,
        "unreachable→reachable",
      );
      // The watch goes on: a real change still arrives, after the source events, to both handlers.
      await agent.call("PUT", "/v1/kv/src/a", "v");
      await until(
        () => consul.requests.length === 1 && kinds(changes).includes("added src/a"),
        10_000,
        "the change delivered",
      );
      assert.deepEqual(kinds(changes), [
        "source_unreachable source",
        "source_recovered source",
        "added src/a",
      ]);
      assert.equal(
        consul.requests.length,
        1,
        "the Consul-payload handler got only the real change",
      );
    } finally {
      await m.stop();
    }
  });

  it("source - an index going backwards is reported as index_reset and the loop starts over", async () => {
    const s = await scriptedConsul();
    const r = await httpReceiver();
    const { m } = manager(agent, {
      client: new ConsulClient({ address: s.url }),
      planRetryBaseMs: 20,
    });
    const pair = (v: string, index: number): unknown => [
      {
        Key: "k",
        Value: Buffer.from(v).toString("base64"),
        CreateIndex: 1,
        ModifyIndex: index,
        LockIndex: 0,
        Flags: 0,
      },
    ];
    s.push(
      { index: 100, body: pair("a", 100) },
      { index: 120, body: pair("b", 120) },
      { index: 7, body: pair("c", 7) },
      { index: 7, body: pair("c", 7) },
    );
    await m.start(
      defs({
        type: "key",
        key: "k",
        id: "reset",
        on_start: "never",
        handler_type: "http",
        http_handler_config: { path: r.url },
        payload: "changes",
      }),
    );
    try {
      await until(
        () =>
          kinds(r).includes("changed k") &&
          kinds(r).includes("index_reset source") &&
          kinds(r).filter((k) => k === "changed k").length === 2,
        10_000,
        "changes and the reset",
      );
      const reset = r.requests
        .map((q) => JSON.parse(q.body.toString()) as Doc)
        .find((d) => d.changes[0]?.kind === "index_reset");
      assert.deepEqual(
        [reset?.changes[0]?.old, reset?.changes[0]?.new],
        [{ index: "120" }, { index: "7" }],
      );
      assert.deepEqual(
        kinds(r),
        ["changed k", "index_reset source", "changed k"],
        "in the order they happened",
      );
      await s.waitForRequests(4);
      assert.deepEqual(
        s.queries.slice(0, 4).map((q) => q.get("index")),
        [null, "100", "120", null],
        "after the reset the next query is non-blocking, from 0, as Consul",
      );
    } finally {
      await m.stop();
      await r.close();
      await s.close();
    }
  });
});
