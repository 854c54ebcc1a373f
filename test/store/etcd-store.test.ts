/** The store contract against a real single-member etcd (Debian's etcd-server). */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { EtcdStore } from "../../src/store/etcd/etcd-store.js";
import { startEtcdCluster, type EtcdCluster } from "../helpers/etcd-cluster.js";
import { storeContract } from "./contract.js";
import { isAugurError } from "../../src/lib/errors.js";

let cluster: EtcdCluster | undefined;
let n = 0;
before(async () => (cluster = await startEtcdCluster(1)));
after(async () => cluster?.stop());

storeContract(
  "EtcdStore",
  async () => {
    const store = await EtcdStore.open({ endpoints: cluster?.clientUrls ?? [], prefix: `test-${process.pid}-${n++}/` });
    return { store, cleanup: () => store.close() };
  },
  { skip: { "a fresh store is at revision 1": "etcd's revision is shared by every prefix on the cluster; relative revisions are checked by the other cases" } },
);

describe("EtcdStore errors", () => {
  it("etcd - an unreachable cluster is NO_LEADER with Consul's wording, not a crash", async () => {
    await assert.rejects(EtcdStore.open({ endpoints: ["http://127.0.0.1:1"], callTimeoutMs: 1000 }), (err) => isAugurError(err, "NO_LEADER") && err.message === "No cluster leader");
  });
});
