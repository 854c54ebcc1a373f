/**
 * `?consistent` on etcd: an agent's view trails etcd by a watch round trip, so right after a
 * write through agent A, agent B's view may not have it yet. A consistent read on B waits for
 * its view to reach etcd's current revision, so it sees the write and never answers an index
 * below the one A answered. B's view is slowed down by 300 ms per batch here, so the lag is
 * certain instead of a matter of luck on a fast machine.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { startEtcdCluster, type EtcdCluster } from "../helpers/etcd-cluster.js";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";
import { inspectView } from "../../src/catalog/catalog.js";

const LAG_MS = 300;

describe("consistent reads across agents on etcd", () => {
  let etcd: EtcdCluster;
  let a: TestAgent;
  let b: TestAgent;
  before(async () => {
    etcd = await startEtcdCluster(1);
    const prefix = `cr${process.pid}/`;
    a = await startTestAgent({
      nodeName: "a",
      nodeId: randomUUID(),
      dev: false,
      etcd: { endpoints: etcd.clientUrls, prefix },
    });
    b = await startTestAgent({
      nodeName: "b",
      nodeId: randomUUID(),
      dev: false,
      etcd: { endpoints: etcd.clientUrls, prefix },
    });
    const view = inspectView(b.running.catalog);
    const apply = view.apply.bind(view);
    view.apply = (batch) => void setTimeout(() => apply(batch), LAG_MS);
  });
  after(async () => {
    await a.stop();
    await b.stop();
    await etcd.stop();
  });

  it("indexes - a ?consistent read on another agent sees a write acknowledged by the first, at an index no lower", async () => {
    for (let i = 0; i < 10; i++) {
      assert.equal(await (await a.call("PUT", "/v1/kv/consistent/k", String(i))).text(), "true");
      const seen = Number(
        (await a.call("GET", "/v1/kv/consistent/k")).headers.get("x-consul-index"),
      );
      const res = await b.call("GET", "/v1/kv/consistent/?recurse&consistent");
      const index = Number(res.headers.get("x-consul-index"));
      assert.equal(res.status, 200, `round ${i}`);
      assert.ok(index >= seen, `round ${i}: b answered ${index} after a answered ${seen}`);
      const [pair] = (await res.json()) as { Value: string }[];
      assert.equal(
        Buffer.from(pair?.Value ?? "", "base64").toString(),
        String(i),
        `round ${i}: b sees the write`,
      );
    }
    // Without ?consistent, b answers from its lagging view at once (Consul's default mode is not linearizable either).
    await a.call("PUT", "/v1/kv/consistent/k", "last");
    const quick = await b.call("GET", "/v1/kv/consistent/k?raw");
    assert.notEqual(await quick.text(), "last", "the default read does not wait for the store");
  });
});
