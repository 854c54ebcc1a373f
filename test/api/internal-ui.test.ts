/**
 * `GET /v1/internal/ui/services` (Consul's UI endpoint, read by augur's UI): per-service tags,
 * nodes, instance and check counts, and blocking queries that wake on a check or a service.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";

interface Summary {
  Name: string;
  Tags: string[] | null;
  Nodes: string[];
  InstanceCount: number;
  ChecksPassing: number;
  ChecksWarning: number;
  ChecksCritical: number;
}

describe("internal/ui/services", () => {
  let a: TestAgent;
  before(async () => {
    a = await startTestAgent();
    for (const [node, id, status] of [
      ["n1", "web-1", "passing"],
      ["n1", "web-2", "critical"],
      ["n2", "web-3", "warning"],
    ] as const) {
      const res = await a.call("PUT", "/v1/catalog/register", {
        Node: node,
        Address: "10.0.0.1",
        Service: { Service: "web", ID: id, Tags: ["v1", id] },
        Checks: [
          { CheckID: `${id}-c`, Name: "svc", Status: status, ServiceID: id },
          // A node check: counted once per service on that node, not once per instance.
          { CheckID: "disk", Name: "disk", Status: "passing" },
        ],
      });
      assert.equal(res.status, 200);
    }
  });
  after(() => a.stop());

  const read = async (query = ""): Promise<{ index: number; list: Summary[] }> => {
    const res = await a.call("GET", `/v1/internal/ui/services${query}`);
    assert.equal(res.status, 200);
    return {
      index: Number(res.headers.get("x-consul-index")),
      list: (await res.json()) as Summary[],
    };
  };

  it("internal-ui - one summary per service: tags, nodes, instances, check counts (node checks once per node)", async () => {
    const { list, index } = await read();
    assert.ok(index > 0);
    const web = list.find((s) => s.Name === "web");
    assert.deepEqual(
      web && {
        Tags: [...(web.Tags ?? [])].sort(),
        Nodes: web.Nodes,
        InstanceCount: web.InstanceCount,
        counts: [web.ChecksPassing, web.ChecksWarning, web.ChecksCritical],
      },
      {
        Tags: ["v1", "web-1", "web-2", "web-3"],
        Nodes: ["n1", "n2"],
        InstanceCount: 3,
        // service checks: 1 passing, 1 warning, 1 critical; node "disk" checks: n1 and n2.
        counts: [3, 1, 1],
      },
    );
    assert.deepEqual(Object.keys(list[0] ?? {}).slice(0, 10), [
      "Name",
      "Datacenter",
      "Tags",
      "Nodes",
      "ExternalSources",
      "InstanceCount",
      "ChecksPassing",
      "ChecksWarning",
      "ChecksCritical",
      "GatewayConfig",
    ]);
    const other = await a.call("GET", "/v1/internal/ui/services?dc=dc9");
    assert.deepEqual([other.status, await other.text()], [500, "No path to datacenter"]);
  });

  it("internal-ui - a blocking query wakes on a check's status change, and on a new service", async () => {
    const { index } = await read();
    const parked = read(`?index=${index}&wait=30s`);
    const flip = await a.call("PUT", "/v1/catalog/register", {
      Node: "n1",
      Address: "10.0.0.1",
      Check: { CheckID: "web-2-c", Name: "svc", Status: "passing", ServiceID: "web-2" },
    });
    assert.equal(flip.status, 200);
    const woke = await parked;
    assert.ok(woke.index > index);
    assert.equal(woke.list.find((s) => s.Name === "web")?.ChecksCritical, 0);
    const again = read(`?index=${woke.index}&wait=30s`);
    await a.call("PUT", "/v1/catalog/register", {
      Node: "n3",
      Address: "10.0.0.3",
      Service: { Service: "db" },
    });
    const withDb = await again;
    assert.equal(withDb.list.find((s) => s.Name === "db")?.InstanceCount, 1);
  });
});
