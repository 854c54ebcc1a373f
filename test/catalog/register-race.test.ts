/**
 * A deregistration that commits between a register's plan (made from the catalog's view) and its
 * transaction: the register must not leave a service on a node that is gone, or a check on a
 * service that is gone. Its compares fail, the view catches up, and the plan is made again (the
 * node comes back with what the register carried, as a register of a new node would). The store
 * is a real MemoryStore; the subclass only makes the race happen at a known point.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MemoryStore } from "../../src/store/memory/memory-store.js";
import type { TxnRequest, TxnResponse } from "../../src/store/store.js";
import { Catalog } from "../../src/catalog/catalog.js";
import { keys, type NodeRecord } from "../../src/catalog/records.js";

class RacingStore extends MemoryStore {
  race: (() => Promise<void>) | undefined;
  guarded = 0;

  override async txn(request: TxnRequest): Promise<TxnResponse> {
    if (request.compare.length > 0) this.guarded++;
    const race = this.race;
    this.race = undefined;
    if (race) await race();
    return super.txn(request);
  }
}

const node: NodeRecord = {
  ID: "",
  Node: "n1",
  Address: "10.0.0.1",
  Datacenter: "dc1",
  TaggedAddresses: {},
  Meta: {},
};
const web = {
  ID: "web-1",
  Service: "web",
  Tags: [],
  Address: "",
  Meta: {},
  Port: 80,
  Weights: { Passing: 1, Warning: 1 },
  EnableTagOverride: false,
  Proxy: {},
  Connect: {},
};

describe("catalog register racing a deregister", () => {
  it("register - a node deregistered meanwhile comes back whole, never as an orphaned service", async () => {
    const store = new RacingStore();
    const catalog = new Catalog(store, { datacenter: "dc1" });
    await catalog.start();
    try {
      await catalog.register({ node });
      // The node's record is unchanged by the next register, so the plan writes only the
      // service; a deregister of the node lands just before it commits.
      store.race = async () => {
        await store.delete(keys.node("n1"));
      };
      await catalog.register({ node, service: web });
      // The first plan compared the node it did not write; the second, made after the delete,
      // writes the node itself.
      assert.equal(store.guarded, 1);
      const entries = catalog.nodeEntries("n1");
      assert.ok(entries.node, "the node is back with its service, not missing under it");
      assert.equal(entries.services.size, 1);
    } finally {
      await catalog.stop();
      await store.close();
    }
  });

  it("register - a check on a service deregistered meanwhile is refused, not orphaned", async () => {
    const store = new RacingStore();
    const catalog = new Catalog(store, { datacenter: "dc1" });
    await catalog.start();
    try {
      await catalog.register({ node, service: web });
      store.race = async () => {
        await store.delete(keys.service("n1", "web-1"));
      };
      await assert.rejects(
        catalog.register({
          node,
          checks: [
            {
              Node: "n1",
              CheckID: "c1",
              Name: "c1",
              Status: "passing",
              Notes: "",
              Output: "",
              ServiceID: "web-1",
              ServiceName: "",
              ServiceTags: [],
              Type: "",
              Definition: {},
              Interval: "",
              Timeout: "",
            } as never,
          ],
        }),
        /Unknown service ID 'web-1' for check ID 'c1'/,
      );
      assert.equal(catalog.nodeEntries("n1").checks.size, 0);
    } finally {
      await catalog.stop();
      await store.close();
    }
  });
});
