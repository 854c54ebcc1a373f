import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ApiServer } from "../../src/api/server.js";
import { watchRoutes } from "../../src/api/routes/watches.js";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";
import { defs, manager, until } from "./manager-helpers.js";
import { httpReceiver, type HttpReceiver } from "./receivers.js";
import type { WatchManager } from "../../src/watch/manager.js";

void describe("watch API routes", () => {
  let a: TestAgent;
  let r: HttpReceiver;
  let m: WatchManager;
  let server: ApiServer;
  let base: string;
  before(async () => {
    a = await startTestAgent();
    r = await httpReceiver(() => ({ status: 422 }));
    m = manager(a).m;
    await m.start(
      defs({
        type: "key",
        key: "routes/k",
        id: "rk",
        handler_type: "http",
        http_handler_config: { path: r.url },
      }),
    );
    server = new ApiServer({ routes: watchRoutes(m) });
    const [addr] = await server.listen([{ host: "127.0.0.1", port: 0 }]);
    base = `http://127.0.0.1:${addr?.port ?? 0}`;
    await until(async () => (await m.deliveries()).dead.length === 1);
  });
  after(async () => {
    await server.close();
    await m.stop();
    await r.close();
    await a.stop();
  });

  void it("routes - GET /v1/agent/watch/deliveries lists dead letters with Consul-style fields", async () => {
    const res = await fetch(`${base}/v1/agent/watch/deliveries?watch=rk&body`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as {
      Store: string;
      Dead: Record<string, unknown>[];
      Pending: unknown[];
    };
    assert.equal(body.Store, "memory");
    assert.equal(body.Dead.length, 1);
    assert.equal(body.Dead[0]?.["Watch"], "rk");
    assert.equal(body.Dead[0]?.["Status"], "dead");
    assert.equal(body.Dead[0]?.["Body"], "null");
    assert.match(String(body.Dead[0]?.["LastError"]), /422/);
    const bad = await fetch(`${base}/v1/agent/watch/deliveries?limit=x`);
    assert.equal(bad.status, 400);
  });

  void it("routes - GET /v1/agent/watches shows each watch and its handlers", async () => {
    const list = (await (await fetch(`${base}/v1/agent/watches`)).json()) as {
      ID: string;
      Type: string;
      Events: number;
      Handlers: { Kind: string; Depth: number }[];
    }[];
    assert.deepEqual(
      list.map((w) => [w.ID, w.Type, w.Handlers[0]?.Kind, w.Handlers[0]?.Depth]),
      [["rk", "key", "http", 0]],
    );
  });

  void it("routes - PUT replay/<id>, ?all-dead, and the errors", async () => {
    const [dead] = (await m.deliveries()).dead;
    assert.ok(dead);
    r.respond = () => ({ status: 200 });
    const one = await fetch(`${base}/v1/agent/watch/replay/${dead.id}`, { method: "PUT" });
    assert.equal(one.status, 200);
    assert.deepEqual(
      ((await one.json()) as { Replayed: { ID: string }[] }).Replayed.map((x) => x.ID),
      [dead.id],
    );
    await until(async () => (await m.deliveries()).recent.length === 1);
    const none = await fetch(`${base}/v1/agent/watch/replay?all-dead`, { method: "PUT" });
    assert.deepEqual(await none.json(), { Replayed: [] });
    const missing = await fetch(`${base}/v1/agent/watch/replay/424242`, { method: "PUT" });
    assert.equal(missing.status, 404);
    assert.equal(await missing.text(), 'No dead letter with ID "424242"');
    assert.equal((await fetch(`${base}/v1/agent/watch/replay`, { method: "PUT" })).status, 400);
    assert.equal((await fetch(`${base}/v1/agent/watch/replay/1`, { method: "GET" })).status, 405);
  });
});
