/**
 * The npm `consul` client (node-consul 2.0.1), driven as a user drives it, against a real
 * `augur agent -dev` child process.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { createServer as createTcpServer, type Server as TcpServer } from "node:net";
import { once } from "node:events";
import Consul from "consul";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";

const until = async (
  what: string,
  fn: () => Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> => {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out waiting for ${what}`);
};

interface Entry {
  Service: { ID: string };
  Checks: { CheckID: string; Status: string }[];
}

describe("npm consul client", () => {
  let agent: AgentProcess;
  let consul: Consul;
  let http: Server;
  let tcp: TcpServer;
  let httpPort = 0;
  let tcpPort = 0;

  before(async () => {
    agent = await startAgentProcess();
    const [host, port] = agent.httpAddr.split(":");
    consul = new Consul({ host: host ?? "127.0.0.1", port: Number(port) });
    http = createServer((_req, res) => res.end("ok")).listen(0, "127.0.0.1");
    await once(http, "listening");
    httpPort = (http.address() as { port: number }).port;
    tcp = createTcpServer((s) => s.end()).listen(0, "127.0.0.1");
    await once(tcp, "listening");
    tcpPort = (tcp.address() as { port: number }).port;
  });
  after(async () => {
    consul.destroy();
    http.close();
    tcp.close();
    await agent.stop();
  });

  it("node-consul - registers services with http, tcp and ttl checks that become healthy", async () => {
    await consul.agent.service.register({
      name: "web",
      id: "web-1",
      port: httpPort,
      check: {
        name: "web http",
        http: `http://127.0.0.1:${httpPort}/health`,
        interval: "1s",
        timeout: "2s",
      },
    });
    await consul.agent.service.register({
      name: "db",
      id: "db-1",
      port: tcpPort,
      check: { name: "db tcp", tcp: `127.0.0.1:${tcpPort}`, interval: "1s", timeout: "2s" },
    });
    await consul.agent.service.register({
      name: "worker",
      id: "worker-1",
      check: { name: "worker ttl", ttl: "30s", timeout: "" },
    });
    const services = (await consul.agent.service.list()) as Record<string, { Service: string }>;
    assert.deepEqual(Object.keys(services).sort(), ["db-1", "web-1", "worker-1"]);
    await until("http and tcp checks pass", async () => {
      const web = (await consul.health.service("web")) as Entry[];
      const db = (await consul.health.service("db")) as Entry[];
      return (
        web[0]?.Checks.every((c) => c.Status === "passing") === true &&
        db[0]?.Checks.every((c) => c.Status === "passing") === true
      );
    });
  });

  it("node-consul - TTL pass and fail move the check", async () => {
    await consul.agent.check.pass({ id: "service:worker-1", note: "fine" });
    let checks = (await consul.health.checks("worker")) as { Status: string; Output: string }[];
    assert.equal(checks[0]?.Status, "passing");
    assert.equal(checks[0]?.Output, "fine");
    await consul.agent.check.fail("service:worker-1");
    checks = (await consul.health.checks("worker")) as { Status: string; Output: string }[];
    assert.equal(checks[0]?.Status, "critical");
    const passing = (await consul.health.service({
      service: "worker",
      passing: true,
    })) as unknown[];
    assert.equal(passing.length, 0);
  });

  it("node-consul - catalog queries", async () => {
    const services = (await consul.catalog.service.list()) as Record<string, string[]>;
    assert.ok("web" in services && "db" in services);
    const nodes = (await consul.catalog.node.list()) as { Node: string }[];
    assert.equal(nodes.length, 1);
    const web = (await consul.catalog.service.nodes("web")) as { ServicePort: number }[];
    assert.equal(web[0]?.ServicePort, httpPort);
    assert.deepEqual(await consul.catalog.datacenters(), ["dc1"]);
  });

  it("node-consul - KV with cas, recurse and keys; a missing key is undefined", async () => {
    assert.equal(await consul.kv.set("app/a", "1"), true);
    assert.equal(await consul.kv.set({ key: "app/b/c", value: "2", flags: 5 }), true);
    const a = (await consul.kv.get("app/a")) as { Value: string; ModifyIndex: number };
    assert.equal(a.Value, "1");
    // node-consul 2.0.1 turns a `false` body into undefined.
    assert.ok(!(await consul.kv.set({ key: "app/a", value: "x", cas: a.ModifyIndex + 1000 })));
    assert.equal(await consul.kv.set({ key: "app/a", value: "3", cas: a.ModifyIndex }), true);
    const tree = (await consul.kv.get({ key: "app/", recurse: true })) as { Key: string }[];
    assert.deepEqual(
      tree.map((p) => p.Key),
      ["app/a", "app/b/c"],
    );
    assert.deepEqual(await consul.kv.keys({ key: "app/", separator: "/" }), ["app/a", "app/b/"]);
    assert.equal(await consul.kv.get("app/missing"), undefined);
    await consul.kv.del({ key: "app/", recurse: true });
    assert.equal(await consul.kv.get("app/a"), undefined);
  });

  it("node-consul - a watch on a key sees a write (blocking query released by the write)", async () => {
    await consul.kv.set("watched", "v1");
    const watch = consul.watch({ method: consul.kv.get, options: { key: "watched" } });
    const seen: string[] = [];
    const done = new Promise<void>((resolve, reject) => {
      watch.on("change", (data: { Value: string } | undefined) => {
        if (data) seen.push(data.Value);
        if (seen.includes("v2")) resolve();
      });
      watch.on("error", reject);
    });
    await until("first change", async () => seen.length > 0);
    await consul.kv.set("watched", "v2");
    await done;
    watch.end();
    assert.deepEqual(seen, ["v1", "v2"]);
  });

  it("node-consul - session with a lock: acquire, contention, release, destroy", async () => {
    const s1 = ((await consul.session.create({ name: "one", lockdelay: "1s" })) as { ID: string })
      .ID;
    const s2 = ((await consul.session.create({ name: "two" })) as { ID: string }).ID;
    assert.equal(await consul.kv.set({ key: "locks/leader", value: "one", acquire: s1 }), true);
    assert.ok(!(await consul.kv.set({ key: "locks/leader", value: "two", acquire: s2 })));
    assert.equal(await consul.kv.set({ key: "locks/leader", value: "one", release: s1 }), true);
    assert.equal(await consul.kv.set({ key: "locks/leader", value: "two", acquire: s2 }), true);
    // node-consul's session.info returns the first session of Consul's one-element list.
    const info = (await consul.session.info(s2)) as unknown as { Name: string };
    assert.equal(info.Name, "two");
    await consul.session.destroy(s1);
    await consul.session.destroy(s2);
    assert.deepEqual(await consul.session.list(), []);
  });

  it("node-consul - event fire and list", async () => {
    const fired = (await consul.event.fire({ name: "deploy", payload: "v2" })) as {
      ID: string;
      Payload: string;
    };
    const list = (await consul.event.list({ name: "deploy" })) as { ID: string; Payload: string }[];
    assert.equal(list.at(-1)?.ID, fired.ID);
    assert.equal(list.at(-1)?.Payload, "v2");
  });

  it("node-consul - deregistration removes services and their checks", async () => {
    await consul.agent.service.deregister("web-1");
    await consul.agent.service.deregister({ id: "db-1" });
    assert.deepEqual(await consul.health.service("web"), []);
    const services = (await consul.agent.service.list()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(services), ["worker-1"]);
    // node-consul reports any 404 as "not found".
    await assert.rejects(consul.agent.service.deregister("ghost"), /not found/);
  });
});
