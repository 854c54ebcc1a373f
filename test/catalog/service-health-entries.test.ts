/**
 * health/service entries are kept per instance (catalog/health.ts, ServiceHealthCache) until the
 * instance's node changes in any way; catalog/service's ServiceNodes until the instance's or its
 * node's record changes. These tests drive a real agent over HTTP and, after each
 * kind of change that feeds an entry, compare the kept entries with a cache that starts empty,
 * and check that only the entries of the node that changed were built again (the others come
 * back as the very same objects).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { inspectView } from "../../src/catalog/catalog.js";
import { hasTags, ServiceHealthCache, type ServiceHealthEntry } from "../../src/catalog/health.js";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";
import { until } from "../helpers/until.js";

describe("health/service entries kept per instance", () => {
  let a: TestAgent;
  const put = async (path: string, body: object): Promise<void> => {
    const res = await a.call("PUT", path, body);
    assert.equal(res.status, 200, `${path}: ${await res.text()}`);
  };
  const read = (service = "web"): ServiceHealthEntry[] =>
    a.running.catalog.serviceHealth(service).value;
  const fresh = (service = "web"): ServiceHealthEntry[] =>
    new ServiceHealthCache().read(inspectView(a.running.catalog), service, () => {
      throw new Error("no node record expected in these tests");
    });
  const key = (e: ServiceHealthEntry): string => `${e.Node.Node}/${e.Service.ID}`;
  /** Reads, checks the answer against a fresh build, and tells which entries were built again. */
  const rebuilt = (earlier: ServiceHealthEntry[]): string[] => {
    const now = read();
    assert.deepEqual(now, fresh());
    const old = new Map(earlier.map((e) => [key(e), e]));
    return now.filter((e) => old.get(key(e)) !== e).map(key);
  };
  const register = (node: string, i: number, status = "passing", tags = ["t"]) =>
    put("/v1/catalog/register", {
      Node: node,
      Address: "10.0.0.1",
      Service: { ID: `web-${i}`, Service: "web", Tags: tags, Port: 80 + i },
      Check: { CheckID: `web-${i}-c`, Status: status, ServiceID: `web-${i}` },
    });

  before(async () => {
    a = await startTestAgent();
    // Two instances per node, registered out of order: entries come back by node, then ID.
    for (const [node, i] of [
      ["n3", 5],
      ["n1", 1],
      ["n2", 3],
      ["n1", 0],
      ["n3", 4],
      ["n2", 2],
    ] as const)
      await register(node, i);
    await put("/v1/catalog/register", {
      Node: "n2",
      Address: "10.0.0.1",
      Service: { ID: "db-0", Service: "db" },
    });
  });
  after(async () => a?.stop());

  it("entries - in Consul's order, frozen, and the same objects while nothing changed", () => {
    const first = read();
    assert.deepEqual(first.map(key), [
      "n1/web-0",
      "n1/web-1",
      "n2/web-2",
      "n2/web-3",
      "n3/web-4",
      "n3/web-5",
    ]);
    assert.ok(first.every((e) => Object.isFrozen(e) && Object.isFrozen(e.Checks)));
    assert.ok(first.every((e) => Object.isFrozen(e.Node) && Object.isFrozen(e.Service)));
    assert.deepEqual(rebuilt(first), []);
    // Each entry holds its node's checks and its own, not its neighbour's.
    assert.deepEqual(
      first.find((e) => e.Service.ID === "web-2")?.Checks.map((c) => c.CheckID),
      ["web-2-c"],
    );
  });

  it("entries - a service check flip rebuilds the entries of that node only", async () => {
    const previous = read();
    await register("n2", 3, "critical");
    assert.deepEqual(rebuilt(previous), ["n2/web-2", "n2/web-3"]);
    assert.equal(read().find((e) => e.Service.ID === "web-3")?.Checks[0]?.Status, "critical");
  });

  it("entries - a node-level check reaches every instance on its node", async () => {
    const previous = read();
    await put("/v1/catalog/register", {
      Node: "n1",
      Address: "10.0.0.1",
      Check: { CheckID: "disk", Name: "disk", Status: "warning" },
    });
    assert.deepEqual(rebuilt(previous), ["n1/web-0", "n1/web-1"]);
    for (const e of read().filter((x) => x.Node.Node === "n1"))
      assert.deepEqual(
        e.Checks.map((c) => [c.CheckID, c.Status]),
        [
          ["disk", "warning"],
          [`${e.Service.ID}-c`, "passing"],
        ],
      );
  });

  it("entries - a node's new address, another service on the node, and a service's new tags", async () => {
    let previous = read();
    await put("/v1/catalog/register", { Node: "n3", Address: "10.9.9.9" });
    assert.deepEqual(rebuilt(previous), ["n3/web-4", "n3/web-5"]);
    assert.equal(read().find((e) => e.Node.Node === "n3")?.Node.Address, "10.9.9.9");

    previous = read();
    await put("/v1/catalog/register", {
      Node: "n2",
      Address: "10.0.0.1",
      Service: { ID: "db-0", Service: "db", Tags: ["primary"] },
    });
    assert.deepEqual(rebuilt(previous), ["n2/web-2", "n2/web-3"]);

    previous = read();
    await register("n1", 1, "passing", ["t", "canary"]);
    assert.deepEqual(rebuilt(previous), ["n1/web-0", "n1/web-1"]);
    assert.deepEqual(read().find((e) => e.Service.ID === "web-1")?.Service.Tags, ["t", "canary"]);
  });

  it("entries - instances that come and go keep the order", async () => {
    let previous = read();
    await register("n0", 9);
    assert.deepEqual(rebuilt(previous), ["n0/web-9"]);
    assert.equal(read()[0]?.Service.ID, "web-9");

    previous = read();
    await put("/v1/catalog/deregister", { Node: "n2", ServiceID: "web-2" });
    assert.deepEqual(rebuilt(previous), ["n2/web-3"]);
    assert.deepEqual(read().map(key), [
      "n0/web-9",
      "n1/web-0",
      "n1/web-1",
      "n2/web-3",
      "n3/web-4",
      "n3/web-5",
    ]);

    previous = read();
    await put("/v1/catalog/deregister", { Node: "n3" });
    assert.deepEqual(rebuilt(previous), []);
    assert.deepEqual(read().map(key), ["n0/web-9", "n1/web-0", "n1/web-1", "n2/web-3"]);
    assert.deepEqual(read("WEB"), read(), "service names match case-insensitively");
  });

  it("entries - the agent's own node: its serfHealth follows its liveness", async () => {
    const node = "node1"; // the test agent's own node (test/helpers/in-process-agent.ts)
    await put("/v1/catalog/register", {
      Node: node,
      Address: "127.0.0.1",
      Service: { ID: "web-self", Service: "web" },
    });
    const serf = (): string | undefined =>
      read()
        .find((e) => e.Node.Node === node)
        ?.Checks.find((c) => c.CheckID === "serfHealth")?.Status;
    assert.equal(serf(), "passing");
    const previous = read();
    // The agent's liveness record goes (as when its lease expires): no check record changes.
    await a.running.catalog.store.delete(`alive/${node}`);
    await until(() => serf() === "critical", "serfHealth to turn critical");
    assert.deepEqual(rebuilt(previous), [`${node}/web-self`]);
  });
});

describe("health/service and catalog/service tag filter", () => {
  it("hasTags - every wanted tag must be on the instance, in either case", () => {
    assert.equal(hasTags(["a", "B"], []), true);
    assert.equal(hasTags(["a", "B"], ["b"]), true);
    assert.equal(hasTags(["a", "B"], ["A", "b"]), true);
    assert.equal(hasTags(["a", "B"], ["a", "c"]), false);
    assert.equal(hasTags([], ["a"]), false);
    assert.equal(hasTags(["Ǆ"], ["ǆ"]), true, "non-ASCII letters too (Consul: strings.EqualFold)");
  });
});

describe("catalog/service entries kept per instance", () => {
  let a: TestAgent;
  before(async () => {
    a = await startTestAgent();
  });
  after(async () => a?.stop());

  it("service nodes - the same objects while the instance and its node are unchanged; new ones after either changes", async () => {
    const register = async (node: string, address: string, id: string, tags: string[]) => {
      const res = await a.call("PUT", "/v1/catalog/register", {
        Node: node,
        Address: address,
        Service: { ID: id, Service: "api", Tags: tags },
      });
      assert.equal(res.status, 200);
    };
    await register("n1", "10.0.0.1", "api-1", ["a"]);
    await register("n2", "10.0.0.2", "api-2", ["a"]);
    const read = () => a.running.catalog.serviceNodes("api").value;
    const first = read();
    assert.ok(first.every((s) => Object.isFrozen(s)));
    assert.deepEqual(read(), first);
    assert.ok(read().every((s, i) => s === first[i]));
    await register("n1", "10.9.9.9", "api-1", ["a"]); // the node's address
    const second = read();
    assert.equal(second[0]?.Address, "10.9.9.9");
    assert.notEqual(second[0], first[0]);
    assert.equal(second[1], first[1], "the other node's instance is kept");
    await register("n2", "10.0.0.2", "api-2", ["b"]); // the instance's tags
    const third = read();
    assert.deepEqual(third[1]?.ServiceTags, ["b"]);
    assert.equal(third[0], second[0]);
    const http = (await (await a.call("GET", "/v1/catalog/service/api")).json()) as unknown[];
    assert.deepEqual(http, JSON.parse(JSON.stringify(third)));
  });
});
