import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { cpus, hostname, totalmem } from "node:os";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";
import { until } from "../helpers/until.js";

interface Check {
  CheckID: string;
  Status: string;
  Output: string;
  ServiceID: string;
  ServiceName: string;
  Name: string;
  Notes: string;
}

describe("agent and catalog", () => {
  let a: TestAgent;
  before(async () => (a = await startTestAgent()));
  after(async () => a.stop());

  it("agent - the node is in the catalog with a passing serfHealth check", async () => {
    const nodes = (await (await a.call("GET", "/v1/catalog/nodes")).json()) as {
      Node: string;
      Address: string;
      Datacenter: string;
    }[];
    assert.deepEqual(
      nodes.map((n) => [n.Node, n.Address, n.Datacenter]),
      [["node1", "127.0.0.1", "dc1"]],
    );
    const checks = (await (await a.call("GET", "/v1/health/node/node1")).json()) as Check[];
    const serf = checks.find((c) => c.CheckID === "serfHealth");
    assert.equal(serf?.Status, "passing");
    assert.equal(serf?.Output, "Agent alive and reachable");
    assert.equal(serf?.Name, "Serf Health Status");
  });

  it("agent - service register with a TTL check: critical first, pass/fail move it, health reflects it", async () => {
    const reg = await a.call("PUT", "/v1/agent/service/register", {
      Name: "web",
      ID: "web1",
      Port: 8080,
      Tags: ["v1"],
      Check: { TTL: "10s" },
    });
    assert.equal(reg.status, 200);
    const svcs = (await (await a.call("GET", "/v1/agent/services")).json()) as Record<
      string,
      { Service: string; Port: number; Tags: string[] }
    >;
    assert.equal(svcs["web1"]?.Service, "web");
    const entry = async (): Promise<Check | undefined> => {
      const h = (await (await a.call("GET", "/v1/health/service/web")).json()) as {
        Checks: Check[];
      }[];
      return h[0]?.Checks.find((c) => c.CheckID === "service:web1");
    };
    assert.equal((await entry())?.Status, "critical");
    assert.equal(
      (await a.call("PUT", "/v1/agent/check/pass/service:web1?note=all%20good")).status,
      200,
    );
    const passing = await entry();
    assert.equal(passing?.Status, "passing");
    assert.equal(passing?.Output, "all good");
    assert.equal(passing?.ServiceName, "web");
    const onlyPassing = (await (
      await a.call("GET", "/v1/health/service/web?passing")
    ).json()) as unknown[];
    assert.equal(onlyPassing.length, 1);
    await a.call("PUT", "/v1/agent/check/fail/service:web1");
    assert.equal((await entry())?.Status, "critical");
    assert.deepEqual(await (await a.call("GET", "/v1/health/service/web?passing=1")).json(), []);
    const bad = await a.call("GET", "/v1/health/service/web?passing=maybe");
    assert.equal(bad.status, 400);
    assert.equal(await bad.text(), "Invalid value for ?passing");
  });

  it("agent - check/update validates the status; non-TTL checks refuse pass", async () => {
    const res = await a.call("PUT", "/v1/agent/check/update/service:web1", { Status: "meh" });
    assert.equal(res.status, 400);
    assert.equal(await res.text(), "Invalid check status: 'meh'");
    const unknown = await a.call("PUT", "/v1/agent/check/pass/nope");
    assert.equal(unknown.status, 404);
  });

  it("agent - maintenance mode adds and removes the critical maintenance checks", async () => {
    assert.equal(
      (await a.call("PUT", "/v1/agent/service/maintenance/web1?enable=true&reason=deploy")).status,
      200,
    );
    let checks = (await (await a.call("GET", "/v1/health/checks/web")).json()) as Check[];
    const m = checks.find((c) => c.CheckID === "_service_maintenance:web1");
    assert.equal(m?.Status, "critical");
    assert.equal(m?.Notes, "deploy");
    await a.call("PUT", "/v1/agent/service/maintenance/web1?enable=false");
    checks = (await (await a.call("GET", "/v1/health/checks/web")).json()) as Check[];
    assert.equal(
      checks.find((c) => c.CheckID.startsWith("_service_maintenance")),
      undefined,
    );
    await a.call("PUT", "/v1/agent/maintenance?enable=true");
    const node = (await (await a.call("GET", "/v1/health/node/node1")).json()) as Check[];
    assert.equal(
      node.find((c) => c.CheckID === "_node_maintenance")?.Name,
      "Node Maintenance Mode",
    );
    await a.call("PUT", "/v1/agent/maintenance?enable=false");
    const missing = await a.call("PUT", "/v1/agent/maintenance");
    assert.equal(missing.status, 400);
    assert.equal(await missing.text(), "Missing value for enable");
  });

  it("agent - registration errors use Consul's texts", async () => {
    const noName = await a.call("PUT", "/v1/agent/service/register", { Port: 1 });
    assert.equal(noName.status, 400);
    assert.equal(await noName.text(), "Missing service name");
    const badJson = await a.call("PUT", "/v1/agent/service/register", "{nope");
    assert.equal(badJson.status, 400);
    assert.match(await badJson.text(), /^Request decode failed: /);
    const script = await a.call("PUT", "/v1/agent/check/register", {
      Name: "s",
      Args: ["/bin/true"],
      Interval: "10s",
    });
    assert.equal(script.status, 400);
    assert.match(await script.text(), /Scripts are disabled on this agent/);
    const dereg = await a.call("PUT", "/v1/agent/service/deregister/ghost");
    assert.equal(dereg.status, 404);
    assert.equal(
      await dereg.text(),
      'Unknown service ID "ghost". Ensure that the service ID is passed, not the service name.',
    );
  });

  it("catalog - register and deregister an external node with a service", async () => {
    const reg = await a.call("PUT", "/v1/catalog/register", {
      Node: "ext1",
      Address: "10.0.0.5",
      NodeMeta: { rack: "r1" },
      Service: { Service: "db", Port: 5432, Tags: ["primary"] },
      Check: { CheckID: "db-alive", Name: "db alive", Status: "passing", ServiceID: "db" },
    });
    assert.equal(await reg.text(), "true");
    const db = (await (await a.call("GET", "/v1/catalog/service/db?tag=PRIMARY")).json()) as {
      Node: string;
      ServiceAddress: string;
      ServicePort: number;
      NodeMeta: Record<string, string>;
    }[];
    assert.equal(db[0]?.Node, "ext1");
    assert.equal(db[0]?.ServicePort, 5432);
    assert.equal(db[0]?.NodeMeta["rack"], "r1");
    const meta = (await (await a.call("GET", "/v1/catalog/nodes?node-meta=rack:r1")).json()) as {
      Node: string;
    }[];
    assert.deepEqual(
      meta.map((n) => n.Node),
      ["ext1"],
    );
    const node = (await (await a.call("GET", "/v1/catalog/node/ext1")).json()) as {
      Services: Record<string, { Service: string }>;
    };
    assert.equal(node.Services["db"]?.Service, "db");
    assert.equal(await (await a.call("GET", "/v1/catalog/node/ghost")).text(), "null");
    const noNode = await a.call("PUT", "/v1/catalog/register", { Address: "1.2.3.4" });
    assert.equal(noNode.status, 500);
    assert.equal(await noNode.text(), "Must provide node");
    assert.equal(
      await (await a.call("PUT", "/v1/catalog/deregister", { Node: "ext1" })).text(),
      "true",
    );
    assert.deepEqual(await (await a.call("GET", "/v1/catalog/service/db")).json(), []);
  });

  it("catalog - datacenters, services with tags, health/state", async () => {
    assert.deepEqual(await (await a.call("GET", "/v1/catalog/datacenters")).json(), ["dc1"]);
    const services = (await (await a.call("GET", "/v1/catalog/services")).json()) as Record<
      string,
      string[]
    >;
    assert.deepEqual(services["web"], ["v1"]);
    const critical = (await (await a.call("GET", "/v1/health/state/critical")).json()) as Check[];
    assert.ok(critical.some((c) => c.CheckID === "service:web1"));
    const missing = await a.call("GET", "/v1/health/state/");
    assert.equal(missing.status, 400);
    assert.equal(await missing.text(), "Missing check state");
  });

  it("agent - deregistering a service removes it and its checks from the catalog", async () => {
    assert.equal((await a.call("PUT", "/v1/agent/service/deregister/web1")).status, 200);
    assert.deepEqual(await (await a.call("GET", "/v1/health/service/web")).json(), []);
    assert.deepEqual(await (await a.call("GET", "/v1/health/checks/web")).json(), []);
  });

  it("agent - self and members describe this agent", async () => {
    const self = (await (await a.call("GET", "/v1/agent/self")).json()) as {
      Config: { Datacenter: string; NodeName: string; Version: string };
      Member: { Status: number };
    };
    assert.equal(self.Config.Datacenter, "dc1");
    // The version is package.json's, not a constant kept beside it.
    const pkg = JSON.parse(
      await readFile(new URL("../../../package.json", import.meta.url), "utf8"),
    ) as { version: string };
    assert.equal(self.Config.Version, pkg.version);
    assert.equal(self.Config.NodeName, "node1");
    assert.equal(self.Member.Status, 1);
    const members = (await (await a.call("GET", "/v1/agent/members")).json()) as {
      Name: string;
      Status: number;
    }[];
    assert.deepEqual(
      members.map((m) => [m.Name, m.Status]),
      [["node1", 1]],
    );
  });

  it("http - unknown paths, wrong methods and OPTIONS answer as Consul does", async () => {
    const unknown = await a.call("GET", "/v1/nope");
    assert.equal(unknown.status, 404);
    assert.equal(await unknown.text(), "Invalid URL path: not a recognized HTTP API endpoint\n");
    const method = await a.call("DELETE", "/v1/catalog/nodes");
    assert.equal(method.status, 405);
    assert.equal(await method.text(), "method DELETE not allowed");
    assert.equal(method.headers.get("allow"), "OPTIONS,GET");
    const options = await a.call("OPTIONS", "/v1/kv/x");
    assert.equal(options.status, 200);
    assert.equal(options.headers.get("allow"), "OPTIONS,GET,PUT,DELETE");
    assert.equal(await (await a.call("GET", "/v1/status/leader")).text(), '"127.0.0.1:8300"');
  });

  it("agent - GET agent/service/:id?hash= blocks until the service changes, then answers the new hash", async () => {
    assert.equal(
      (
        await a.call("PUT", "/v1/agent/service/register", {
          Name: "hashed",
          ID: "hashed1",
          Port: 1,
        })
      ).status,
      200,
    );
    const first = await a.call("GET", "/v1/agent/service/hashed1");
    const hash = first.headers.get("x-consul-contenthash");
    assert.ok(hash);
    // Unchanged: a short wait runs out and answers the same hash.
    const same = await a.call("GET", `/v1/agent/service/hashed1?hash=${hash}&wait=100ms`);
    assert.equal(same.headers.get("x-consul-contenthash"), hash);
    const parked = a.call("GET", `/v1/agent/service/hashed1?hash=${hash}&wait=10s`);
    await until(() => a.parked() === 1, "the hash query to park");
    assert.equal(
      (
        await a.call("PUT", "/v1/agent/service/register", {
          Name: "hashed",
          ID: "hashed1",
          Port: 2,
        })
      ).status,
      200,
    );
    const changed = await parked;
    assert.notEqual(changed.headers.get("x-consul-contenthash"), hash);
    assert.equal(((await changed.json()) as { Port: number }).Port, 2);
  });

  it("http - GET / with the UI off answers Consul's agent index: 200 `Consul Agent`; other paths outside /v1/ stay 404 (test/api/ui.test.ts: UI on)", async () => {
    const root = await a.call("GET", "/");
    assert.equal(root.status, 200);
    assert.equal(await root.text(), "Consul Agent");
    assert.equal((await a.call("GET", "/?x=1")).status, 200);
    const other = await a.call("GET", "/nope");
    assert.deepEqual([other.status, await other.text()], [404, "404 page not found\n"]);
  });

  it("catalog - register and deregister naming another datacenter answer 500 `No path to datacenter` and change nothing here", async () => {
    const reg = await a.call("PUT", "/v1/catalog/register", {
      Datacenter: "dc2",
      Node: "far",
      Address: "10.0.0.9",
      Service: { Service: "far-svc" },
    });
    assert.deepEqual([reg.status, await reg.text()], [500, "No path to datacenter"]);
    assert.deepEqual(await (await a.call("GET", "/v1/catalog/service/far-svc")).json(), []);
    // Even a body that would fail validation is forwarded (and refused) first, as in Consul.
    const bad = await a.call("PUT", "/v1/catalog/register", { Datacenter: "dc2" });
    assert.deepEqual([bad.status, await bad.text()], [500, "No path to datacenter"]);
    const dereg = await a.call("PUT", "/v1/catalog/deregister", {
      Datacenter: "dc2",
      Node: "node1",
    });
    assert.deepEqual([dereg.status, await dereg.text()], [500, "No path to datacenter"]);
    const nodes = (await (await a.call("GET", "/v1/catalog/nodes")).json()) as { Node: string }[];
    assert.ok(
      nodes.some((n) => n.Node === "node1"),
      "the local node is still registered",
    );
    // The local datacenter, named, is this one.
    const here = await a.call("PUT", "/v1/catalog/register", {
      Datacenter: "dc1",
      Node: "near",
      Address: "10.0.0.8",
    });
    assert.equal(here.status, 200);
  });

  it("acl - with ACLs off every /v1/acl/ endpoint answers 401 `ACL support disabled`", async () => {
    for (const [method, path] of [
      ["GET", "/v1/acl/tokens"],
      ["PUT", "/v1/acl/bootstrap"],
      ["GET", "/v1/acl/token/self"],
      ["DELETE", "/v1/acl/policy/x"],
      ["GET", "/v1/acl/list"],
    ] as const) {
      const res = await a.call(method, path);
      assert.deepEqual(
        [res.status, await res.text()],
        [401, "ACL support disabled"],
        `${method} ${path}`,
      );
    }
  });

  it("agent - GET agent/version answers api.AgentVersion with package.json's version", async () => {
    const pkg = JSON.parse(
      await readFile(new URL("../../../package.json", import.meta.url), "utf8"),
    ) as { version: string };
    const v = (await (await a.call("GET", "/v1/agent/version")).json()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(v), ["SHA", "BuildDate", "HumanVersion", "FIPS"]);
    assert.equal(v["HumanVersion"], pkg.version);
  });

  it("catalog - node-services/:node lists the node's services in ID order, filters them, and answers Go's zero value for an unknown node", async () => {
    assert.equal(
      (
        await a.call("PUT", "/v1/catalog/register", {
          Node: "ns-node",
          Address: "10.0.0.7",
          Service: { ID: "b2", Service: "bee", Tags: ["x"] },
        })
      ).status,
      200,
    );
    assert.equal(
      (
        await a.call("PUT", "/v1/catalog/register", {
          Node: "ns-node",
          Address: "10.0.0.7",
          Service: { ID: "a1", Service: "ant" },
        })
      ).status,
      200,
    );
    const res = await a.call("GET", "/v1/catalog/node-services/ns-node");
    assert.equal(res.status, 200);
    assert.ok(Number(res.headers.get("x-consul-index")) > 0);
    const body = (await res.json()) as {
      Node: { Node: string; Address: string };
      Services: { ID: string; Tags: string[] }[];
    };
    assert.equal(body.Node.Node, "ns-node");
    assert.deepEqual(
      body.Services.map((s) => s.ID),
      ["a1", "b2"],
    );
    assert.deepEqual(body.Services[0]?.Tags, []);
    const filtered = (await (
      await a.call(
        "GET",
        `/v1/catalog/node-services/ns-node?filter=${encodeURIComponent('"x" in Tags')}`,
      )
    ).json()) as { Services: { ID: string }[] };
    assert.deepEqual(
      filtered.Services.map((s) => s.ID),
      ["b2"],
    );
    assert.deepEqual(await (await a.call("GET", "/v1/catalog/node-services/nobody")).json(), {
      Node: null,
      Services: null,
    });
    assert.equal((await a.call("GET", "/v1/catalog/node-services/")).status, 400);
  });

  it("coordinate - no coordinates without gossip: the datacenter with none, no nodes, a 404 per node, updates accepted and dropped", async () => {
    assert.deepEqual(await (await a.call("GET", "/v1/coordinate/datacenters")).json(), [
      { Datacenter: "dc1", AreaID: "wan", Coordinates: [] },
    ]);
    const nodes = await a.call("GET", "/v1/coordinate/nodes");
    assert.deepEqual([nodes.status, await nodes.json()], [200, []]);
    assert.ok(Number(nodes.headers.get("x-consul-index")) > 0);
    assert.equal((await a.call("GET", "/v1/coordinate/node/node1")).status, 404);
    const update = await a.call("PUT", "/v1/coordinate/update", {
      Node: "node1",
      Coord: { Vec: [0, 0], Error: 1.5, Adjustment: 0, Height: 0.00001 },
    });
    assert.equal(update.status, 200);
    assert.equal((await a.call("PUT", "/v1/coordinate/update", "{not json")).status, 400);
    assert.equal(
      (await a.call("GET", "/v1/coordinate/node/node1")).status,
      404,
      "an update is not kept",
    );
  });

  it("agent - health/service/id and /name answer the local verdict in the status code (200/429/503), JSON or text", async () => {
    const reg = (id: string) =>
      a.call("PUT", "/v1/agent/service/register", {
        Name: "lb",
        ID: id,
        Port: 80,
        Check: { TTL: "30s", CheckID: `ttl-${id}` },
      });
    assert.equal((await reg("lb1")).status, 200);
    assert.equal((await reg("lb2")).status, 200);
    const byId = async (id: string, query = "") => {
      const res = await a.call("GET", `/v1/agent/health/service/id/${id}${query}`);
      return { status: res.status, type: res.headers.get("content-type"), body: await res.text() };
    };
    assert.equal((await a.call("PUT", "/v1/agent/check/pass/ttl-lb1")).status, 200);
    const ok = await byId("lb1");
    assert.equal(ok.status, 200);
    const info = JSON.parse(ok.body) as {
      AggregatedStatus: string;
      Service: { ID: string };
      Checks: { CheckID: string }[];
    };
    assert.deepEqual(Object.keys(info), ["AggregatedStatus", "Service", "Checks"]);
    assert.equal(info.AggregatedStatus, "passing");
    assert.equal(info.Service.ID, "lb1");
    assert.deepEqual(
      info.Checks.map((c) => c.CheckID),
      ["ttl-lb1"],
    );
    assert.deepEqual(await byId("lb1", "?format=text"), {
      status: 200,
      type: "text/plain",
      body: "passing",
    });
    assert.equal((await a.call("PUT", "/v1/agent/check/warn/ttl-lb1")).status, 200);
    assert.deepEqual(await byId("lb1", "?format=text"), {
      status: 429,
      type: "text/plain",
      body: "warning",
    });
    // lb2 was never passed: critical. By name, the worst instance decides.
    const name = await a.call("GET", "/v1/agent/health/service/name/lb");
    assert.equal(name.status, 503);
    const all = (await name.json()) as { AggregatedStatus: string; Service: { ID: string } }[];
    assert.deepEqual(all.map((e) => [e.Service.ID, e.AggregatedStatus]).sort(), [
      ["lb1", "warning"],
      ["lb2", "critical"],
    ]);
    const nameText = await a.call("GET", "/v1/agent/health/service/name/lb", undefined, {
      Accept: "text/plain",
    });
    assert.deepEqual([nameText.status, await nameText.text()], [503, "critical"]);
    // Maintenance outranks every status.
    assert.equal((await a.call("PUT", "/v1/agent/check/pass/ttl-lb1")).status, 200);
    assert.equal(
      (await a.call("PUT", "/v1/agent/service/maintenance/lb1?enable=true&reason=x")).status,
      200,
    );
    assert.deepEqual(await byId("lb1", "?format=text"), {
      status: 503,
      type: "text/plain",
      body: "maintenance",
    });
    assert.equal(
      (await a.call("PUT", "/v1/agent/service/maintenance/lb1?enable=false")).status,
      200,
    );
    // Unknown: 404, JSON with a critical verdict and nulls, or the reason as text.
    const missing = await byId("nope");
    assert.equal(missing.status, 404);
    assert.deepEqual(JSON.parse(missing.body), {
      AggregatedStatus: "critical",
      Service: null,
      Checks: null,
    });
    assert.deepEqual(await byId("nope", "?format=text"), {
      status: 404,
      type: "text/plain",
      body: "ServiceId nope not found",
    });
    const noName = await a.call("GET", "/v1/agent/health/service/name/nobody?format=text");
    assert.deepEqual([noName.status, await noName.text()], [404, "ServiceName nobody Not Found"]);
    assert.deepEqual(
      await (await a.call("GET", "/v1/agent/health/service/name/nobody")).json(),
      [],
    );
    for (const id of ["lb1", "lb2"])
      assert.equal((await a.call("PUT", `/v1/agent/service/deregister/${id}`)).status, 200);
  });

  it("agent - GET agent/host reports memory, CPUs, host and disk in debug.HostInfo's shape", async () => {
    const host = (await (await a.call("GET", "/v1/agent/host")).json()) as {
      Memory: { total: number; available: number; used: number };
      CPU: { modelName: string }[];
      Host: { hostname: string; os: string; kernelVersion: string; uptime: number };
      Disk: { path: string; total: number };
      CollectionTime: number;
      Errors: unknown;
    };
    assert.deepEqual(Object.keys(host), [
      "Memory",
      "CPU",
      "Host",
      "Disk",
      "CollectionTime",
      "Errors",
    ]);
    assert.equal(host.Memory.total, totalmem());
    assert.ok(host.Memory.available > 0 && host.Memory.used > 0);
    assert.equal(host.CPU.length, cpus().length);
    assert.equal(host.Host.hostname, hostname());
    assert.equal(host.Host.os, "linux");
    assert.ok(host.Disk.total > 0, "the disk of / (a -dev agent has no data dir)");
    assert.ok(
      Math.abs(host.CollectionTime / 1e6 - Date.now()) < 60_000,
      "nanoseconds since the epoch",
    );
  });

  it("operator - raft/configuration on the embedded store: this agent, the one voter and leader", async () => {
    const res = await a.call("GET", "/v1/operator/raft/configuration");
    assert.equal(res.status, 200);
    const body = (await res.json()) as { Servers: Record<string, unknown>[]; Index: number };
    assert.deepEqual(Object.keys(body), ["Servers", "Index"]);
    assert.equal(body.Servers.length, 1);
    assert.deepEqual(Object.keys(body.Servers[0] ?? {}), [
      "ID",
      "Node",
      "Address",
      "Leader",
      "ProtocolVersion",
      "Voter",
    ]);
    assert.equal(body.Servers[0]?.["Node"], "node1");
    assert.equal(body.Servers[0]?.["Address"], "127.0.0.1:8300");
    assert.equal(body.Servers[0]?.["Leader"], true);
    assert.ok(body.Index > 0);
    assert.equal((await a.call("GET", "/v1/operator/raft/configuration?dc=dc9")).status, 500);
  });
});
