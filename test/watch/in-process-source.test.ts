/**
 * The agent's own watches read its catalog in-process (api/in-process-source.ts). What a watch
 * sees must be what it saw over HTTP: the same answers byte for byte, the same handler payloads
 * for every watch type, and no socket per watch (so no 429 from the agent's connection limit).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ConsulClient } from "../../src/client/consul-client.js";
import { InProcessSource } from "../../src/api/in-process-source.js";
import { catalogRoutes } from "../../src/api/routes/catalog.js";
import { eventRoutes } from "../../src/api/routes/events.js";
import { healthRoutes } from "../../src/api/routes/health.js";
import { kvRoutes } from "../../src/api/routes/kv.js";
import { agentRoutes, type AgentControl } from "../../src/api/routes/agent.js";
import { runQuery, type WatchSource } from "../../src/watch/query.js";
import type { WatchDefinition } from "../../src/watch/types.js";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";
import { defs, manager, until } from "./manager-helpers.js";
import { httpReceiver, type HttpReceiver } from "./receivers.js";

/** One watch of each type, over data with the awkward corners: uint64 flags, `<>&`, U+2028, long digit runs. */
const WATCHES = {
  key: { type: "key", key: "pay/a" },
  keyprefix: { type: "keyprefix", prefix: "pay/" },
  services: { type: "services" },
  nodes: { type: "nodes" },
  service: { type: "service", service: "web", tag: "v1" },
  checks: { type: "checks", state: "any" },
  event: { type: "event", name: "deploy" },
  agent_service: { type: "agent_service", service_id: "web-1" },
} as const;
const TYPES = Object.keys(WATCHES).length;

/** A source that remembers each answer it passed on (status, the headers a watch reads, body text). */
function recording(source: WatchSource): { source: WatchSource; answers: string[] } {
  const answers: string[] = [];
  return {
    answers,
    source: {
      async request(method, path, options) {
        const res = await source.request(method, path, options);
        const h = (name: string): string => `${name}=${res.headers.get(name)}`;
        answers.push(
          [
            res.status,
            h("x-consul-index"),
            h("x-consul-knownleader"),
            h("content-type"),
            h("allow"),
            res.text(),
          ].join(" | "),
        );
        return res;
      },
    },
  };
}

void describe("in-process watch source", () => {
  let a: TestAgent;
  let inProcess: InProcessSource;
  before(async () => {
    a = await startTestAgent();
    const catalog = a.running.catalog;
    inProcess = new InProcessSource({
      routes: [
        ...kvRoutes(catalog),
        ...catalogRoutes(catalog),
        ...healthRoutes(catalog),
        ...eventRoutes(catalog, { nodeName: () => "node1", services: () => [] }),
        // agent/service/:id only; the rest of the control is never called here.
        ...agentRoutes(a.running.agent, catalog, {} as AgentControl),
      ],
    });
    const ok = async (res: Promise<Response>): Promise<void> =>
      assert.equal((await res).status, 200, "setup request");
    await ok(a.call("PUT", "/v1/kv/pay/a?flags=18446744073709551615", "<b>&\u2028"));
    await ok(a.call("PUT", "/v1/kv/pay/b", Buffer.from([0, 255, 10])));
    await ok(
      a.call("PUT", "/v1/agent/service/register", {
        Name: "web",
        ID: "web-1",
        Tags: ["v1", "<x>"],
        Port: 80,
        Meta: { a: "&" },
        Check: { TTL: "300s" },
      }),
    );
    await ok(
      a.call("PUT", "/v1/agent/check/fail/service:web-1?note=id%201234567890123456%20%3Cerr%3E"),
    );
    await ok(
      a.call("PUT", "/v1/catalog/register", {
        Node: "n2",
        Address: "10.0.0.2",
        NodeMeta: { rack: "r<1>" },
        Service: { Service: "db", Port: 5432, Tags: ["primary"] },
      }),
    );
    await ok(a.call("PUT", "/v1/event/fire/deploy", "payload<&>"));
  });
  after(async () => a.stop());

  void it("in-process - every watch type's answer is byte-identical to the HTTP one, blocking and not", async () => {
    const http = recording(new ConsulClient({ address: a.url }));
    const local = recording(inProcess);
    for (const raw of Object.values(WATCHES)) {
      const q = (defs({ ...raw, args: ["true"] })[0] as WatchDefinition).query;
      const viaHttp = await runQuery(http.source, q, { index: 0n, waitMs: 50 });
      const viaLocal = await runQuery(local.source, q, { index: 0n, waitMs: 50 });
      assert.deepEqual(viaLocal, viaHttp, q.type);
      // A blocking query that times out answers the same index and body both ways.
      // (agent_service blocks on the ContentHash, which runQuery hands back as `hash`.)
      const again = {
        index: viaHttp.index,
        waitMs: 50,
        ...(viaHttp.hash ? { hash: viaHttp.hash } : {}),
      };
      await runQuery(http.source, q, again);
      await runQuery(local.source, q, again);
    }
    assert.equal(local.answers.length, 2 * TYPES);
    assert.deepEqual(local.answers, http.answers);
    // Errors as the server answers them: a missing key (404 → null), a wrong method, an unknown path.
    for (const [method, path] of [
      ["GET", "/v1/kv/pay/missing"],
      ["PUT", "/v1/catalog/services"],
      ["GET", "/v1/nope"],
    ] as const) {
      await http.source.request(method, path);
      await local.source.request(method, path);
    }
    assert.deepEqual(local.answers.slice(2 * TYPES), http.answers.slice(2 * TYPES));
    assert.match(local.answers[2 * TYPES + 1] ?? "", /^405 .*allow=OPTIONS,GET/);
  });

  void it("in-process - a parked query lets go on abort, timeout and releaseParked, as over HTTP", async () => {
    const scopes = a.running.catalog;
    const idle = scopes.parked();
    const index = String((await inProcess.request("GET", "/v1/kv/pay/b")).index);
    const park = (
      options: { signal?: AbortSignal; timeoutMs?: number } = {},
    ): Promise<{ status: number; index: number | undefined }> =>
      inProcess.request("GET", "/v1/kv/pay/b", { query: { index, wait: "60s" }, ...options });
    // The watch stops: the query throws as the HTTP client's does, and its waiter is gone.
    const stop = new AbortController();
    const stopped = park({ signal: stop.signal });
    await until(() => scopes.parked() === idle + 1, 8000, "parked");
    stop.abort();
    await assert.rejects(stopped, /^AugurError: Get "\/v1\/kv\/pay\/b": request aborted$/);
    assert.equal(scopes.parked(), idle);
    const timedOut = park({ timeoutMs: 100 });
    await assert.rejects(timedOut, /timed out after 100ms/);
    assert.equal(scopes.parked(), idle);
    // The agent lost (or regained) its store: parked queries answer now, with the current data.
    const released = park();
    await until(() => scopes.parked() === idle + 1, 8000, "parked");
    inProcess.releaseParked();
    const res = await released;
    assert.deepEqual([res.status, String(res.index)], [200, index]);
    assert.equal(scopes.parked(), idle);
  });

  void it("in-process - a handler gets byte-identical payloads for every watch type", async () => {
    const receivers: HttpReceiver[] = [await httpReceiver(), await httpReceiver()];
    const [viaHttp, viaLocal] = receivers as [HttpReceiver, HttpReceiver];
    const watchDefs = (r: HttpReceiver): WatchDefinition[] =>
      defs(
        ...Object.entries(WATCHES).map(([type, raw]) => ({
          ...raw,
          id: `pay-${type}`,
          handler_type: "http",
          http_handler_config: { path: `${r.url}?${type}` },
        })),
      );
    const managers = [
      manager(a, { client: new ConsulClient({ address: a.url }) }).m,
      manager(a, { client: inProcess }).m,
    ];
    const bodies = (r: HttpReceiver, type: string): string[] =>
      r.requests.filter((q) => q.url.endsWith(`?${type}`)).map((q) => q.body.toString("utf8"));
    try {
      await managers[0]?.start(watchDefs(viaHttp));
      await managers[1]?.start(watchDefs(viaLocal));
      await Promise.all(receivers.map((r) => r.waitFor(TYPES)));
      for (const type of Object.keys(WATCHES))
        assert.deepEqual(bodies(viaLocal, type), bodies(viaHttp, type), type);
      assert.match(
        bodies(viaLocal, "key")[0] ?? "",
        /"Flags":18446744073709551615,"Value":"PGI\+JuKAqA==",/,
      );
      // A change wakes both the same way.
      await a.call("PUT", "/v1/kv/pay/a", "second");
      await until(
        () =>
          receivers.every(
            (r) => bodies(r, "key").length === 2 && bodies(r, "keyprefix").length === 2,
          ),
        8000,
        "second fire",
      );
      for (const type of ["key", "keyprefix"])
        assert.deepEqual(bodies(viaLocal, type), bodies(viaHttp, type), type);
    } finally {
      await Promise.all(managers.map((m) => m?.stop()));
      await Promise.all(receivers.map((r) => r.close()));
    }
  });
});

void describe("an agent's own watches", () => {
  void it("in-process - 300 watches, more than http_max_conns_per_client (200), all deliver without 429s", async () => {
    const r = await httpReceiver();
    const COUNT = 300;
    const watches = defs(
      ...Array.from({ length: COUNT }, (_, i) => ({
        type: "key",
        key: "many/k",
        id: `many-${i}`,
        handler_type: "http",
        http_handler_config: { path: r.url },
      })),
    );
    const agent = await startTestAgent({ watches, http: { maxConnsPerClient: 200 } });
    try {
      await r.waitFor(COUNT, 30_000); // the first fire of each: the key is missing
      // Every watch is parked on its blocking query now; a change must reach all of them.
      await until(
        async () =>
          (await watchList(agent)).every((w) => w.State === "querying" && w.Index !== null),
        30_000,
        "all parked",
      );
      assert.equal((await agent.call("PUT", "/v1/kv/many/k", "v")).status, 200);
      await r.waitFor(2 * COUNT, 30_000);
      const list = await watchList(agent);
      assert.equal(list.length, COUNT);
      assert.deepEqual(
        list.filter((w) => w.Failures !== 0 || w.Events !== 2),
        [],
      );
      assert.equal(r.requests.filter((q) => q.body.toString() !== "null\n").length, COUNT);
      assert.doesNotMatch(agent.logs.join(""), /429|Watch errored/);
    } finally {
      await agent.stop();
      await r.close();
    }
  });
});

async function watchList(
  agent: TestAgent,
): Promise<
  { ID: string; State: string; Index: string | null; Failures: number; Events: number }[]
> {
  return (await (await agent.call("GET", "/v1/agent/watches")).json()) as {
    ID: string;
    State: string;
    Index: string | null;
    Failures: number;
    Events: number;
  }[];
}
