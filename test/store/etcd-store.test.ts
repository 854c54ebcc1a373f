/** The store contract against a real single-member etcd (Debian's etcd-server). */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  ClientClosedError,
  EtcdLeaseInvalidError,
  GRPCDeadlineExceededError,
  GRPCOutOfRangeError,
  GRPCUnavailableError,
  castGrpcErrorMessage,
} from "etcd3";
import { BrokenCircuitError, TaskCancelledError } from "cockatiel";
import { EtcdStore, fromEtcdError } from "../../src/store/etcd/etcd-store.js";
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
    const store = await EtcdStore.open({
      endpoints: cluster?.clientUrls ?? [],
      prefix: `test-${process.pid}-${n++}/`,
    });
    return { store, cleanup: () => store.close() };
  },
  {
    skip: {
      "a fresh store is at revision 1":
        "etcd's revision is shared by every prefix on the cluster; relative revisions are checked by the other cases",
    },
  },
);

describe("EtcdStore errors", () => {
  it("etcd - an unreachable cluster is NO_LEADER with Consul's wording, not a crash", async () => {
    await assert.rejects(
      EtcdStore.open({ endpoints: ["http://127.0.0.1:1"], callTimeoutMs: 1000 }),
      (err) => isAugurError(err, "NO_LEADER") && err.message === "No cluster leader",
    );
  });

  it("etcd - errors are converted by etcd3's and cockatiel's classes, not by their message texts", () => {
    const code = (err: unknown): string => fromEtcdError(err).code;
    // What etcd3 makes of etcd's answers: the lease message becomes EtcdLeaseInvalidError, gRPC
    // codes become classes (etcdserver: no leader / leader changed / request timed out are all
    // UNAVAILABLE; a compacted revision is OUT_OF_RANGE).
    assert.equal(code(castGrpcErrorMessage("etcdserver: requested lease not found")), "NOT_FOUND");
    assert.equal(code(new EtcdLeaseInvalidError("123")), "NOT_FOUND");
    assert.equal(
      code(new GRPCOutOfRangeError("etcdserver: mvcc: required revision has been compacted")),
      "STORE_COMPACTED",
    );
    assert.equal(code(new GRPCUnavailableError("etcdserver: no leader")), "NO_LEADER");
    assert.equal(code(new GRPCDeadlineExceededError("deadline")), "NO_LEADER");
    assert.equal(code(new BrokenCircuitError()), "NO_LEADER");
    assert.equal(code(new TaskCancelledError()), "NO_LEADER");
    assert.equal(code(new ClientClosedError("kv")), "STORE_CLOSED");
    // An uncast gRPC error is read by its status code, not its text.
    const uncast = Object.assign(new Error("14 UNAVAILABLE: No connection established"), {
      code: 14,
    });
    assert.equal(code(uncast), "NO_LEADER");
    // A plain error whose text merely mentions a connection or a timeout is not an outage.
    assert.equal(code(new Error("failed to connect: timed out, no leader")), "STORE_IO");
  });
});
