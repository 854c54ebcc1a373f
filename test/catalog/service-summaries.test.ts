/**
 * `internal/ui/services` is kept per service name (catalog/service-summaries.ts): a change
 * recomputes only the names it touched. These tests drive a real agent over HTTP and compare the
 * kept summaries with a cache that starts empty (a full recount) after each kind of change that
 * feeds a summary; unchanged services must come back as the very same objects.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { inspectView } from "../../src/catalog/catalog.js";
import { ServiceSummaryCache } from "../../src/catalog/service-summaries.js";
import type { ServiceSummary } from "../../src/catalog/types.js";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";

describe("service summaries kept per name", () => {
  let a: TestAgent;
  const put = async (path: string, body: object): Promise<void> => {
    const res = await a.call("PUT", path, body);
    assert.equal(res.status, 200, `${path}: ${await res.text()}`);
  };
  const read = (): ServiceSummary[] => a.running.catalog.serviceSummaries().value;
  const fresh = (): ServiceSummary[] => {
    const { index } = a.running.catalog.serviceSummaries();
    const view = inspectView(a.running.catalog);
    return new ServiceSummaryCache().read(view, "dc1", index);
  };
  const byName = (list: ServiceSummary[]): Map<string, ServiceSummary> =>
    new Map(list.map((s) => [s.Name, s]));
  const register = (node: string, service: string, status = "passing") =>
    put("/v1/catalog/register", {
      Node: node,
      Address: "10.0.0.1",
      Service: { ID: `${service}-${node}`, Service: service, Tags: [node] },
      Check: { CheckID: `${service}-${node}-c`, Status: status, ServiceID: `${service}-${node}` },
    });

  before(async () => {
    a = await startTestAgent();
    for (const node of ["n1", "n2", "n3"])
      for (const service of ["api", "web", "db"]) await register(node, service);
    await register("n3", "Web"); // differs from "web" by case only: the two share a scope
  });
  after(async () => a?.stop());

  it("summaries - a service check flip recounts that service only; the others are the same objects", async () => {
    const before = byName(read());
    await register("n2", "api", "critical");
    const after = byName(read());
    assert.deepEqual(read(), fresh());
    assert.equal(after.get("api")?.ChecksCritical, 1);
    assert.notEqual(after.get("api"), before.get("api"));
    for (const name of ["web", "Web", "db", "consul"].filter((n) => before.has(n)))
      assert.equal(after.get(name), before.get(name), `${name} was recomputed`);
  });

  it("summaries - a node check counts for every service on that node, and only those", async () => {
    const before = byName(read());
    await put("/v1/catalog/register", {
      Node: "n3",
      Address: "10.0.0.1",
      Check: { CheckID: "disk", Name: "disk", Status: "warning" },
    });
    const after = byName(read());
    assert.deepEqual(read(), fresh());
    for (const name of ["api", "web", "db", "Web"])
      assert.equal(after.get(name)?.ChecksWarning, 1, name);
    if (before.has("consul")) assert.equal(after.get("consul"), before.get("consul"));
  });

  it("summaries - same index, same array: parked readers woken together share one answer", () => {
    assert.equal(read(), read());
  });

  it("summaries - deregistering an instance, a whole node and a name keep them equal to a recount", async () => {
    await put("/v1/catalog/deregister", { Node: "n1", ServiceID: "db-n1" });
    assert.deepEqual(read(), fresh());
    await put("/v1/catalog/deregister", { Node: "n2" });
    assert.deepEqual(read(), fresh());
    assert.deepEqual(byName(read()).get("api")?.Nodes, ["n1", "n3"]);
    await put("/v1/catalog/deregister", { Node: "n3", ServiceID: "Web-n3" });
    const names = read().map((s) => s.Name);
    assert.deepEqual(read(), fresh());
    assert.ok(!names.includes("Web") && names.includes("web"));
  });
});
