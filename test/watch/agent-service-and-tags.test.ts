/**
 * #11 item 9: the `agent_service` watch (blocks on the agent's ContentHash, fires when the local
 * instance changes) and the `checks` watch's `tag`, end to end against a real agent through the
 * HTTP client, as `augur watch` or a watch on another agent runs them.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ConsulClient } from "../../src/client/consul-client.js";
import { runQuery } from "../../src/watch/query.js";
import type { WatchDefinition } from "../../src/watch/types.js";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";
import { defs, manager, until } from "./manager-helpers.js";
import { httpReceiver, type HttpReceiver } from "./receivers.js";

const register = async (a: TestAgent, body: object): Promise<void> => {
  const res = await a.call("PUT", "/v1/agent/service/register", body);
  assert.equal(res.status, 200, await res.text());
};

void describe("agent_service and checks tag watches", () => {
  let a: TestAgent;
  let r: HttpReceiver;
  before(async () => {
    a = await startTestAgent();
    r = await httpReceiver();
    await register(a, { ID: "web-1", Name: "web", Port: 80, Tags: ["v1"], Check: { TTL: "60s" } });
    await register(a, { ID: "db-1", Name: "db", Port: 5432, Tags: ["v2"], Check: { TTL: "60s" } });
  });
  after(async () => {
    await r.close();
    await a.stop();
  });

  void it("agent_service - blocks on ContentHash until the instance changes, then answers the new hash", async () => {
    const client = new ConsulClient({ address: a.url });
    const q = (
      defs({ type: "agent_service", service_id: "web-1", args: ["true"] })[0] as WatchDefinition
    ).query;
    const first = await runQuery(client, q, { index: 0n, waitMs: 1000 });
    assert.equal((first.result as { ID: string }).ID, "web-1");
    assert.match(first.hash ?? "", /^[0-9a-f]{16}$/);
    // Nothing changes: the request holds for the wait (a non-blocking answer would be immediate).
    const started = Date.now();
    const same = await runQuery(client, q, { index: first.index, hash: first.hash!, waitMs: 400 });
    assert.ok(Date.now() - started >= 350, `answered after ${Date.now() - started} ms`);
    assert.equal(same.hash, first.hash);
    // A change wakes the parked request with the new definition and hash.
    const parked = runQuery(client, q, { index: first.index, hash: first.hash!, waitMs: 30_000 });
    await until(() => a.parked() > 0, 8000, "parked");
    await register(a, { ID: "web-1", Name: "web", Port: 81, Tags: ["v1"], Check: { TTL: "60s" } });
    const changed = await parked;
    assert.equal((changed.result as { Port: number }).Port, 81);
    assert.notEqual(changed.hash, first.hash);
  });

  void it("agent_service - a watch's handler gets the AgentService on start and on each change", async () => {
    const { m } = manager(a);
    try {
      await m.start(
        defs({
          type: "agent_service",
          service_id: "db-1",
          id: "svc",
          handler_type: "http",
          http_handler_config: { path: `${r.url}?svc` },
        }),
      );
      const bodies = (): { Port: number; ID: string }[] =>
        r.requests
          .filter((q) => q.url.endsWith("?svc"))
          .map((q) => JSON.parse(q.body.toString("utf8")) as { Port: number; ID: string });
      await until(() => bodies().length === 1, 8000, "first fire");
      assert.deepEqual([bodies()[0]?.ID, bodies()[0]?.Port], ["db-1", 5432]);
      await register(a, {
        ID: "db-1",
        Name: "db",
        Port: 5433,
        Tags: ["v2"],
        Check: { TTL: "60s" },
      });
      await until(() => bodies().length === 2, 8000, "fire on change");
      assert.equal(bodies()[1]?.Port, 5433);
    } finally {
      await m.stop();
    }
  });

  void it("checks tag - with a state, only checks of instances carrying every tag are handed over", async () => {
    const { m } = manager(a);
    try {
      await m.start(
        defs({
          type: "checks",
          state: "critical",
          tag: "v1",
          id: "tagged",
          handler_type: "http",
          http_handler_config: { path: `${r.url}?tagged` },
        }),
      );
      const bodies = (): { ServiceID: string; Status: string }[][] =>
        r.requests
          .filter((q) => q.url.endsWith("?tagged"))
          .map(
            (q) => JSON.parse(q.body.toString("utf8")) as { ServiceID: string; Status: string }[],
          );
      // Both TTL checks start critical; only web-1 carries v1.
      await until(() => bodies().length >= 1, 8000, "first fire");
      assert.deepEqual(
        bodies()
          .at(-1)
          ?.map((c) => c.ServiceID),
        ["web-1"],
      );
      // db-1 (v2) passing and back changes nothing the tagged watch sees; web-1 passing empties it.
      assert.equal((await a.call("PUT", "/v1/agent/check/pass/service:web-1")).status, 200);
      await until(() => bodies().at(-1)?.length === 0, 8000, "web-1 no longer critical");
    } finally {
      await m.stop();
    }
  });
});
