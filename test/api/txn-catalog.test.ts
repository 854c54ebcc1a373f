/**
 * `PUT /v1/txn` with Node, Service, Check and Session ops next to KV ops, against a real agent:
 * each verb, Consul's error texts, CAS indexes, all-or-nothing across KV and catalog ops, the
 * catalog's invariants (a node takes its services and checks, a service its checks), sessions
 * invalidated with their node, blocking queries woken, and the limits.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";
import { until } from "../helpers/until.js";
import { startEtcdCluster, type EtcdCluster } from "../helpers/etcd-cluster.js";

const b64 = (s: string): string => Buffer.from(s).toString("base64");

interface TxnAnswer {
  status: number;
  headers: Headers;
  Results: Record<string, Record<string, unknown>>[] | null;
  Errors: { OpIndex: number; What: string }[] | null;
}

describe("txn - catalog operations", () => {
  let a: TestAgent;
  before(async () => {
    a = await startTestAgent();
  });
  after(async () => {
    await a.stop();
  });

  async function txn(ops: unknown[], query = ""): Promise<TxnAnswer> {
    const res = await a.call("PUT", `/v1/txn${query}`, ops);
    const text = await res.text();
    assert.ok(res.status === 200 || res.status === 409, `status ${res.status}: ${text}`);
    const body = JSON.parse(text) as Omit<TxnAnswer, "status" | "headers">;
    return { status: res.status, headers: res.headers, ...body };
  }

  const errorsOf = (r: TxnAnswer): [number, string][] =>
    (r.Errors ?? []).map((e) => [e.OpIndex, e.What]);

  async function getJson(path: string): Promise<unknown> {
    return (await a.call("GET", path)).json();
  }

  const nodeSet = (name: string, extra: Record<string, unknown> = {}): unknown => ({
    Node: { Verb: "set", Node: { Node: name, Address: "10.0.0.1", ...extra } },
  });
  const serviceSet = (node: string, id: string, extra: Record<string, unknown> = {}): unknown => ({
    Service: { Verb: "set", Node: node, Service: { ID: id, Service: id, Port: 80, ...extra } },
  });

  it("node - set, get, cas and delete-cas with Consul's results and error texts", async () => {
    const set = await txn([nodeSet("tn1", { Meta: { rack: "r1" } })]);
    assert.equal(set.status, 200);
    assert.equal(set.Errors, null);
    const node = set.Results?.[0]?.["Node"] as Record<string, unknown>;
    assert.deepEqual(Object.keys(node), [
      "ID",
      "Node",
      "Address",
      "Datacenter",
      "TaggedAddresses",
      "Meta",
      "CreateIndex",
      "ModifyIndex",
    ]);
    assert.equal(node["Datacenter"], "dc1", "an op without Datacenter gets the agent's");
    const index = node["ModifyIndex"] as number;
    assert.ok(index > 0);
    assert.equal(node["CreateIndex"], index);
    const seen = (await getJson("/v1/catalog/node/tn1")) as { Node: { Meta: unknown } };
    assert.deepEqual(seen.Node.Meta, { rack: "r1" });

    const get = await txn([{ Node: { Verb: "get", Node: { Node: "TN1" } } }]);
    assert.equal((get.Results?.[0]?.["Node"] as Record<string, unknown>)["ModifyIndex"], index);

    const stale = await txn([
      { Node: { Verb: "cas", Node: { Node: "tn1", Address: "10.0.0.2", ModifyIndex: index + 1 } } },
      { Node: { Verb: "cas", Node: { Node: "tn1", Address: "10.0.0.2" } } },
      { Node: { Verb: "delete-cas", Node: { Node: "tn1", ModifyIndex: 1 } } },
      { Node: { Verb: "get", Node: { Node: "nope" } } },
      { Node: { Verb: "frob", Node: { Node: "tn1" } } },
    ]);
    assert.equal(stale.status, 409);
    assert.equal(stale.Results, null);
    assert.deepEqual(errorsOf(stale), [
      [0, 'failed to set node "tn1", index is stale'],
      [1, 'failed to set node "tn1", index is stale'],
      [2, 'failed to delete node "tn1", index is stale'],
      [3, 'node "nope" doesn\'t exist'],
      [4, 'unknown Node verb "frob"'],
    ]);

    const cas = await txn([
      { Node: { Verb: "cas", Node: { Node: "tn1", Address: "10.0.0.2", ModifyIndex: index } } },
    ]);
    const casNode = cas.Results?.[0]?.["Node"] as Record<string, unknown>;
    assert.ok((casNode["ModifyIndex"] as number) > index);
    assert.equal(casNode["CreateIndex"], index, "an update keeps CreateIndex");
    assert.equal(casNode["Address"], "10.0.0.2");

    const del = await txn([
      { Node: { Verb: "delete-cas", Node: { Node: "tn1", ModifyIndex: casNode["ModifyIndex"] } } },
    ]);
    assert.deepEqual([del.status, del.Results], [200, []]);
    assert.equal(await getJson("/v1/catalog/node/tn1"), null);
  });

  it("node - get by ID finds the node whatever its name", async () => {
    const id = "3f5e6c1a-1111-2222-3333-444455556666";
    await txn([nodeSet("tn-id", { ID: id })]);
    const get = await txn([{ Node: { Verb: "get", Node: { ID: id } } }]);
    assert.equal((get.Results?.[0]?.["Node"] as Record<string, unknown>)["Node"], "tn-id");
  });

  it("service - set needs the node; get, cas, delete-cas; Consul's texts", async () => {
    const orphan = await txn([serviceSet("no-such-node", "web")]);
    assert.deepEqual(errorsOf(orphan), [[0, "Missing node registration"]]);

    const set = await txn([nodeSet("tn2"), serviceSet("tn2", "web1", { Tags: ["a"] })]);
    assert.equal(set.status, 200);
    const svc = set.Results?.[1]?.["Service"] as Record<string, unknown>;
    assert.equal(svc["ID"], "web1");
    assert.deepEqual(svc["Tags"], ["a"]);
    assert.deepEqual(svc["Weights"], { Passing: 0, Warning: 0 }, "weights as sent, as Consul");
    const index = svc["ModifyIndex"] as number;
    const listed = (await getJson("/v1/catalog/service/web1")) as { Node: string }[];
    assert.deepEqual(
      listed.map((s) => s.Node),
      ["tn2"],
    );

    const stale = await txn([
      { Service: { Verb: "cas", Node: "tn2", Service: { ID: "web1", ModifyIndex: index + 1 } } },
      { Service: { Verb: "delete-cas", Node: "tn2", Service: { ID: "web1", ModifyIndex: 2 } } },
      { Service: { Verb: "get", Node: "tn2", Service: { ID: "nope" } } },
      { Service: { Verb: "cas", Node: "tn2", Service: { ID: "web1", Service: "web1" } } },
    ]);
    assert.deepEqual(errorsOf(stale), [
      [0, 'failed to set service "web1" on node "tn2", index is stale'],
      [1, 'failed to delete service "web1" on node "tn2", index is stale'],
      [2, 'service "nope" on node "tn2" doesn\'t exist'],
      [3, 'failed to set service "web1" on node "tn2", index is stale'],
    ]);

    const cas = await txn([
      {
        Service: {
          Verb: "cas",
          Node: "tn2",
          Service: { ID: "web1", Service: "web1", Port: 81, ModifyIndex: index },
        },
      },
      { Service: { Verb: "get", Node: "tn2", Service: { ID: "web1" } } },
    ]);
    const after = cas.Results?.[1]?.["Service"] as Record<string, unknown>;
    assert.equal(after["Port"], 81, "a later op sees the earlier one's write");
    assert.ok((after["ModifyIndex"] as number) > index);

    const del = await txn([
      {
        Service: {
          Verb: "delete-cas",
          Node: "tn2",
          Service: { ID: "web1", ModifyIndex: after["ModifyIndex"] },
        },
      },
    ]);
    assert.equal(del.status, 200);
    assert.deepEqual(await getJson("/v1/catalog/service/web1"), []);
  });

  it("check - set copies the service's name and tags; needs node and service; cas and delete", async () => {
    await txn([nodeSet("tn3"), serviceSet("tn3", "db", { Tags: ["primary"] })]);
    const missing = await txn([
      { Check: { Verb: "set", Check: { Node: "tn3", CheckID: "c0", ServiceID: "nope" } } },
      { Check: { Verb: "set", Check: { Node: "ghost", CheckID: "c0" } } },
      { Check: { Verb: "set", Check: { Node: "tn3", CheckID: "c0", Status: "bogus" } } },
      { Check: { Verb: "get", Check: { Node: "tn3", CheckID: "c9" } } },
    ]);
    assert.deepEqual(errorsOf(missing), [
      [0, "Missing service registration"],
      [1, "Missing node registration"],
      [2, "Invalid check status: 'bogus'"],
      [3, 'check "c9" on node "tn3" doesn\'t exist'],
    ]);

    const set = await txn([
      {
        Check: {
          Verb: "set",
          Check: {
            Node: "tn3",
            Name: "db alive",
            ServiceID: "db",
            Status: "passing",
            Definition: { TCP: "127.0.0.1:1", Interval: "10000ms", Timeout: 2e9 },
          },
        },
      },
    ]);
    const check = set.Results?.[0]?.["Check"] as Record<string, unknown>;
    assert.equal(check["CheckID"], "db alive", "a check without an ID is named by its Name");
    assert.equal(check["ServiceName"], "db");
    assert.deepEqual(check["ServiceTags"], ["primary"]);
    assert.deepEqual(
      check["Definition"],
      { TCP: "127.0.0.1:1", Interval: "10s", Timeout: "2s" },
      "durations as Go prints them, from text or nanoseconds",
    );
    const health = (await getJson("/v1/health/checks/db")) as { CheckID: string }[];
    assert.deepEqual(
      health.map((c) => c.CheckID),
      ["db alive"],
    );
    const index = check["ModifyIndex"] as number;
    const stale = await txn([
      { Check: { Verb: "cas", Check: { Node: "tn3", CheckID: "db alive", ModifyIndex: 1 } } },
      { Check: { Verb: "delete-cas", Check: { Node: "tn3", CheckID: "db alive" } } },
    ]);
    assert.deepEqual(errorsOf(stale), [
      [0, 'failed to set check "db alive" on node "tn3", index is stale'],
      [1, 'failed to delete check "db alive" on node "tn3", index is stale'],
    ]);
    const del = await txn([
      {
        Check: {
          Verb: "delete-cas",
          Check: { Node: "tn3", CheckID: "db alive", ModifyIndex: index },
        },
      },
    ]);
    assert.equal(del.status, 200);
    assert.deepEqual(await getJson("/v1/health/checks/db"), []);
  });

  it("catalog invariants - a node delete takes its services and checks, a service delete its checks", async () => {
    await txn([
      nodeSet("tn4"),
      serviceSet("tn4", "api"),
      serviceSet("tn4", "cache"),
      { Check: { Verb: "set", Check: { Node: "tn4", CheckID: "api-c", ServiceID: "api" } } },
      { Check: { Verb: "set", Check: { Node: "tn4", CheckID: "cache-c", ServiceID: "cache" } } },
      { Check: { Verb: "set", Check: { Node: "tn4", CheckID: "node-c" } } },
    ]);
    await txn([{ Service: { Verb: "delete", Node: "tn4", Service: { ID: "api" } } }]);
    const left = (await getJson("/v1/health/node/tn4")) as { CheckID: string }[];
    assert.deepEqual(left.map((c) => c.CheckID).sort(), ["cache-c", "node-c"]);

    const gone = await txn([
      { Node: { Verb: "delete", Node: { Node: "TN4" } } },
      { Service: { Verb: "get", Node: "tn4", Service: { ID: "cache" } } },
    ]);
    assert.deepEqual(
      errorsOf(gone),
      [[1, 'service "cache" on node "tn4" doesn\'t exist']],
      "a later op sees the node's services gone with it",
    );
    await txn([{ Node: { Verb: "delete", Node: { Node: "TN4" } } }]);
    assert.equal(await getJson("/v1/catalog/node/tn4"), null);
    assert.deepEqual(await getJson("/v1/health/node/tn4"), []);
    assert.deepEqual(await getJson("/v1/catalog/service/cache"), []);
  });

  it("atomicity - one failing op among KV and catalog ops leaves nothing written", async () => {
    const res = await txn([
      { KV: { Verb: "set", Key: "atomic/k", Value: b64("v") } },
      nodeSet("tn5"),
      serviceSet("tn5", "svc5"),
      { Check: { Verb: "get", Check: { Node: "tn5", CheckID: "absent" } } },
    ]);
    assert.deepEqual(errorsOf(res), [[3, 'check "absent" on node "tn5" doesn\'t exist']]);
    assert.equal((await a.call("GET", "/v1/kv/atomic/k")).status, 404);
    assert.equal(await getJson("/v1/catalog/node/tn5"), null);
    assert.deepEqual(await getJson("/v1/catalog/service/svc5"), []);

    const kvFails = await txn([
      nodeSet("tn5"),
      { KV: { Verb: "cas", Key: "atomic/k", Value: b64("v"), Index: 99 } },
    ]);
    assert.deepEqual(errorsOf(kvFails), [[1, 'failed to set key "atomic/k", index is stale']]);
    assert.equal(await getJson("/v1/catalog/node/tn5"), null);
  });

  it("atomicity - KV and catalog writes of one txn share one index", async () => {
    const res = await txn([
      { KV: { Verb: "set", Key: "one/k", Value: b64("v") } },
      nodeSet("tn6"),
      serviceSet("tn6", "svc6"),
      { KV: { Verb: "get", Key: "one/k" } },
    ]);
    assert.equal(res.status, 200);
    const indexes = (res.Results ?? []).map((r) => Object.values(r)[0]?.["ModifyIndex"]);
    assert.equal(indexes.length, 4);
    assert.equal(new Set(indexes).size, 1, `one revision: ${JSON.stringify(indexes)}`);
    assert.equal((res.Results?.[3]?.["KV"] as Record<string, unknown>)["Value"], b64("v"));
  });

  it("kv - a get after a write in the same txn reports the txn's index, KV-only or mixed", async () => {
    for (const extra of [[], [nodeSet("tn6b")]]) {
      const res = await txn([
        { KV: { Verb: "set", Key: "again/k", Value: b64("v") } },
        { KV: { Verb: "get", Key: "again/k" } },
        ...extra,
      ]);
      const [set, get] = (res.Results ?? []).map((r) => r["KV"] as Record<string, unknown>);
      assert.ok((set?.["ModifyIndex"] as number) > 0);
      assert.equal(get?.["ModifyIndex"], set?.["ModifyIndex"]);
      assert.equal(get?.["CreateIndex"], set?.["CreateIndex"]);
    }
  });

  it("blocking - a txn wakes queries parked on the service and node it touched", async () => {
    await txn([nodeSet("tn7")]);
    const first = await a.call("GET", "/v1/catalog/service/blocky");
    const index = Number(first.headers.get("X-Consul-Index"));
    await first.text();
    const parkedBefore = a.parked();
    const waiting = a.call("GET", `/v1/catalog/service/blocky?index=${index}&wait=30s`);
    await until(() => a.parked() > parkedBefore, "the query to park");
    await txn([serviceSet("tn7", "blocky")]);
    const woke = await waiting;
    assert.ok(Number(woke.headers.get("X-Consul-Index")) > index);
    assert.deepEqual(
      ((await woke.json()) as { ServiceID: string }[]).map((s) => s.ServiceID),
      ["blocky"],
    );
  });

  it("sessions - delete releases the session's locks in the same txn; missing and unknown verbs fail as Consul", async () => {
    const created = await a.call("PUT", "/v1/session/create", { Name: "s1" });
    const id = ((await created.json()) as { ID: string }).ID;
    assert.equal(await (await a.call("PUT", `/v1/kv/locked/k?acquire=${id}`, "x")).text(), "true");
    const res = await txn([
      { Session: { Verb: "delete", Session: { ID: id } } },
      { KV: { Verb: "check-session", Key: "locked/k", Session: "" } },
      { Node: { Verb: "get", Node: { Node: "node1" } } },
    ]);
    assert.equal(res.status, 200, JSON.stringify(res.Errors));
    assert.deepEqual(await getJson(`/v1/session/info/${id}`), []);
    const pair = ((await getJson("/v1/kv/locked/k")) as Record<string, unknown>[])[0];
    assert.equal(pair?.["Session"], undefined, "the lock went with the session");

    const bad = await txn([
      { Session: { Verb: "delete", Session: { ID: id } } },
      { Session: { Verb: "renew", Session: { ID: id } } },
    ]);
    assert.deepEqual(errorsOf(bad), [
      [0, "failed to delete session: failed deleting session: not found"],
      [1, 'failed to delete session: unknown Session verb "renew"'],
    ]);
  });

  it("sessions - a session is invalidated when a txn deletes its node", async () => {
    await txn([nodeSet("tn8")]);
    const created = await a.call("PUT", "/v1/session/create", { Node: "tn8", NodeChecks: [] });
    assert.equal(created.status, 200);
    const id = ((await created.json()) as { ID: string }).ID;
    await txn([{ Node: { Verb: "delete", Node: { Node: "tn8" } } }]);
    await until(
      async () => ((await getJson(`/v1/session/info/${id}`)) as unknown[]).length === 0,
      "the session of the deleted node to be invalidated",
    );
  });

  it("sessions - a session is invalidated when a txn turns its check critical", async () => {
    await txn([
      nodeSet("tn8c"),
      { Check: { Verb: "set", Check: { Node: "tn8c", CheckID: "guard", Status: "passing" } } },
    ]);
    const created = await a.call("PUT", "/v1/session/create", {
      Node: "tn8c",
      NodeChecks: ["guard"],
    });
    assert.equal(created.status, 200);
    const id = ((await created.json()) as { ID: string }).ID;
    await txn([
      { Check: { Verb: "set", Check: { Node: "tn8c", CheckID: "guard", Status: "critical" } } },
    ]);
    await until(
      async () => ((await getJson(`/v1/session/info/${id}`)) as unknown[]).length === 0,
      "the session of the critical check to be invalidated",
    );
  });

  it("read-only - gets answer with the leader headers and no index; ?stale with ?consistent is a 400", async () => {
    await txn([nodeSet("tn9")]);
    const read = await txn([{ Node: { Verb: "get", Node: { Node: "tn9" } } }], "?consistent");
    assert.equal(read.status, 200);
    assert.equal(read.headers.get("X-Consul-KnownLeader"), "true");
    assert.equal(read.headers.get("X-Consul-LastContact"), "0");
    assert.equal(read.headers.get("X-Consul-Index"), null);
    const write = await txn([nodeSet("tn9")]);
    assert.equal(write.headers.get("X-Consul-KnownLeader"), null, "a write is not a read");
    const both = await a.call("PUT", "/v1/txn?stale&consistent", [
      { Node: { Verb: "get", Node: { Node: "tn9" } } },
    ]);
    assert.equal(both.status, 400);
    assert.equal(
      await both.text(),
      "Cannot specify ?stale with ?consistent, conflicting semantics.",
    );
  });

  it("input - an op with no operation is a 409; a wrong type is Go's decoder error", async () => {
    const none = await txn([nodeSet("tn10"), { Nothing: {} }]);
    assert.deepEqual(errorsOf(none), [[1, "no operation specified"]]);
    assert.equal(await getJson("/v1/catalog/node/tn10"), null);
    const bad = await a.call("PUT", "/v1/txn", [
      { Service: { Verb: "set", Node: "tn10", Service: { ID: "x", Port: "80" } } },
    ]);
    assert.equal(bad.status, 400);
    assert.equal(
      await bad.text(),
      "Failed to parse body: json: cannot unmarshal string into Go struct field AgentService.Service.Service.Port of type int",
    );
    const badDuration = await a.call("PUT", "/v1/txn", [
      {
        Check: {
          Verb: "set",
          Check: { Node: "tn10", CheckID: "c", Definition: { Interval: "soon" } },
        },
      },
    ]);
    assert.equal(badDuration.status, 400);
    assert.equal(await badDuration.text(), 'Failed to parse body: time: invalid duration "soon"');
  });

  it("limits - get-tree results past 1,000 entries are a 413, all trees together; 1,000 are answered", async () => {
    const value = Buffer.from("v").toString("base64");
    for (let at = 0; at < 1000; at += 125)
      assert.equal(
        (
          await a.call(
            "PUT",
            "/v1/txn",
            Array.from({ length: 125 }, (_, i) => ({
              KV: { Verb: "set", Key: `tree/k${String(at + i).padStart(4, "0")}`, Value: value },
            })),
          )
        ).status,
        200,
      );
    const tree = (n: number): object[] =>
      Array.from({ length: n }, () => ({ KV: { Verb: "get-tree", Key: "tree/" } }));
    const one = await a.call("PUT", "/v1/txn", tree(1));
    assert.equal(one.status, 200);
    assert.equal(((await one.json()) as { Results: unknown[] }).Results.length, 1000);
    const message =
      "Transaction results would hold more than 1000 entries; read a large tree with GET /v1/kv/<prefix>?recurse";
    const two = await a.call("PUT", "/v1/txn", tree(2));
    assert.deepEqual([two.status, await two.text()], [413, message]);
    await a.call("PUT", "/v1/kv/tree/k1000", "v");
    const over = await a.call("PUT", "/v1/txn", tree(1));
    assert.deepEqual([over.status, await over.text()], [413, message]);
    // 128 of them (over a 20,000-key tree, this ended the agent before the bound).
    const many = await a.call("PUT", "/v1/txn", tree(128));
    assert.equal(many.status, 413);
    assert.equal((await a.call("GET", "/v1/kv/tree/k1000")).status, 200, "the agent is up");
  });

  it("limits - 129 ops of any kind are a 413; a body over txn_max_req_len is a 413 in Consul's words", async () => {
    const ops = Array.from({ length: 129 }, (_, i) => nodeSet(`many-${i}`));
    const many = await a.call("PUT", "/v1/txn", ops);
    assert.equal(many.status, 413);
    assert.equal(await many.text(), "Transaction contains too many operations (129 > 128)");
    assert.equal(await getJson("/v1/catalog/node/many-0"), null);

    // 128 ops whose Meta make the body just over 512 KiB.
    const meta = { blob: "x".repeat(4100) };
    const big = Array.from({ length: 128 }, (_, i) => nodeSet(`big-${i}`, { Meta: meta }));
    const body = JSON.stringify(big);
    assert.ok(body.length > 512 * 1024);
    const announced = await a.call("PUT", "/v1/txn", body);
    assert.equal(announced.status, 413);
    assert.equal(
      await announced.text(),
      `Request body(${body.length} bytes) too large, max size: 524288 bytes. See https://www.consul.io/docs/agent/config/config-files#txn_max_req_len.`,
    );
    // Past the server's 1 MiB read limit, refused from its Content-Length in the same words.
    const huge = await a.call("PUT", "/v1/txn", JSON.stringify([...big, ...big, ...big]));
    assert.equal(huge.status, 413);
    assert.match(
      await huge.text(),
      /^Request body\(\d{7} bytes\) too large, max size: 524288 bytes\. See /,
    );
    const streamed = await chunkedPut(new URL(a.url), "/v1/txn", body);
    assert.deepEqual(streamed, [
      413,
      "Request body too large, max size: 524288 bytes. See https://www.consul.io/docs/agent/config/config-files#txn_max_req_len.",
    ]);
    assert.equal(await getJson("/v1/catalog/node/big-0"), null);
  });

  it("kv get-or-empty - a missing key answers the op's own entry without a value, as Consul", async () => {
    const res = await txn([
      { KV: { Verb: "get-or-empty", Key: "nothing/here", Flags: 7 } },
      { KV: { Verb: "set", Key: "present", Value: b64("v") } },
      { KV: { Verb: "get-or-empty", Key: "present" } },
    ]);
    assert.equal(res.status, 200);
    assert.deepEqual(res.Results?.[0]?.["KV"], {
      LockIndex: 0,
      Key: "nothing/here",
      Flags: 7,
      Value: null,
      CreateIndex: 0,
      ModifyIndex: 0,
    });
    assert.equal(res.Results?.[2]?.["KV"]?.["Value"], b64("v"));
  });

  it("limits - 128 deletes of nodes with many services take every service with them", async () => {
    for (let n = 0; n < 4; n++) {
      const ops = [nodeSet(`wide-${n}`)];
      for (let s = 0; s < 120; s++) ops.push(serviceSet(`wide-${n}`, `w${n}-${s}`));
      assert.equal((await txn(ops)).status, 200);
    }
    const deletes = Array.from({ length: 128 }, (_, i) => ({
      Node: { Verb: "delete", Node: { Node: `wide-${i % 4}` } },
    }));
    const res = await txn(deletes);
    assert.equal(res.status, 200);
    for (let n = 0; n < 4; n++) assert.equal(await getJson(`/v1/catalog/node/wide-${n}`), null);
    assert.deepEqual(await getJson("/v1/catalog/service/w0-0"), []);
  });
});

describe("txn - catalog operations on etcd", () => {
  let etcd: EtcdCluster;
  let a: TestAgent;
  before(async () => {
    etcd = await startEtcdCluster(1);
    a = await startTestAgent({
      dev: false,
      etcd: { endpoints: etcd.clientUrls, prefix: `txn${process.pid}/` },
    });
  });
  after(async () => {
    await a.stop();
    await etcd.stop();
  });

  const put = async (ops: unknown[]): Promise<[number, string]> => {
    const res = await a.call("PUT", "/v1/txn", ops);
    return [res.status, await res.text()];
  };

  it("etcd - a node deleted and written around in one txn: range deletes and puts in one transaction", async () => {
    const services = Array.from({ length: 20 }, (_, i) => ({
      Service: { Verb: "set", Node: "e1", Service: { ID: `s${i}`, Service: "es" } },
    }));
    const setup = await put([
      { Node: { Verb: "set", Node: { Node: "e1", Address: "10.1.0.1" } } },
      ...services,
      { Check: { Verb: "set", Check: { Node: "e1", CheckID: "c", ServiceID: "s0" } } },
    ]);
    assert.equal(setup[0], 200, setup[1]);
    const [status, text] = await put([
      { Node: { Verb: "delete", Node: { Node: "e1" } } },
      { Node: { Verb: "set", Node: { Node: "e2", Address: "10.1.0.2" } } },
      { Service: { Verb: "set", Node: "e2", Service: { ID: "s0", Service: "es" } } },
      { KV: { Verb: "set", Key: "etcd/k", Value: b64("v") } },
    ]);
    assert.equal(status, 200, text);
    const listed = (await (await a.call("GET", "/v1/catalog/service/es")).json()) as {
      Node: string;
    }[];
    assert.deepEqual(
      listed.map((s) => s.Node),
      ["e2"],
    );
    assert.deepEqual(await (await a.call("GET", "/v1/health/node/e1")).json(), []);
    const failed = await put([
      { KV: { Verb: "set", Key: "etcd/k2", Value: b64("v") } },
      { Node: { Verb: "delete-cas", Node: { Node: "e2", ModifyIndex: 1 } } },
    ]);
    assert.equal(failed[0], 409);
    assert.equal((await a.call("GET", "/v1/kv/etcd/k2")).status, 404);
    assert.notEqual(await (await a.call("GET", "/v1/catalog/node/e2")).json(), null);
  });
});

/** A PUT without Content-Length (chunked), so the size is only known once read. */
function chunkedPut(url: URL, path: string, body: string): Promise<[number, string]> {
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method: "PUT" }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      res.on("end", () => resolve([res.statusCode ?? 0, text]));
    });
    req.on("error", reject);
    for (let i = 0; i < body.length; i += 65536) req.write(body.slice(i, i + 65536));
    req.end();
  });
}
