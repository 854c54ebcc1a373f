import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";
import { until } from "../helpers/until.js";

const b64 = (s: string): string => Buffer.from(s).toString("base64");

describe("sessions, locks, txn, events", () => {
  let a: TestAgent;
  before(async () => (a = await startTestAgent()));
  after(async () => a.stop());

  it("session - create, info, list, node, renew, destroy", async () => {
    const { ID } = (await (
      await a.call("PUT", "/v1/session/create", { Name: "s1", TTL: "15s" })
    ).json()) as { ID: string };
    assert.match(ID, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const info = (await (await a.call("GET", `/v1/session/info/${ID}`)).json()) as {
      Name: string;
      TTL: string;
      Behavior: string;
      LockDelay: number;
      NodeChecks: string[];
      Node: string;
    }[];
    assert.equal(info[0]?.Name, "s1");
    assert.equal(info[0]?.TTL, "15s");
    assert.equal(info[0]?.Behavior, "release");
    assert.equal(info[0]?.LockDelay, 15e9);
    assert.deepEqual(info[0]?.NodeChecks, ["serfHealth"]);
    assert.equal(info[0]?.Node, "node1");
    assert.equal(((await (await a.call("GET", "/v1/session/list")).json()) as unknown[]).length, 1);
    assert.equal(
      ((await (await a.call("GET", "/v1/session/node/node1")).json()) as unknown[]).length,
      1,
    );
    assert.equal(
      ((await (await a.call("PUT", `/v1/session/renew/${ID}`)).json()) as unknown[]).length,
      1,
    );
    assert.equal(await (await a.call("PUT", `/v1/session/destroy/${ID}`)).text(), "true");
    assert.deepEqual(await (await a.call("GET", `/v1/session/info/${ID}`)).json(), []);
    const renew = await a.call("PUT", `/v1/session/renew/${ID}`);
    assert.equal(renew.status, 404);
    assert.equal(await renew.text(), `Session id '${ID}' not found`);
    const bad = await a.call("PUT", "/v1/session/create", { Behavior: "explode" });
    assert.equal(bad.status, 500);
    assert.equal(await bad.text(), "Invalid Behavior setting 'explode'");
  });

  it("session - an empty info or node argument is a 400 with Consul's text for each", async () => {
    const info = await a.call("GET", "/v1/session/info/");
    assert.deepEqual([info.status, await info.text()], [400, "Missing session"]);
    const node = await a.call("GET", "/v1/session/node/");
    assert.deepEqual([node.status, await node.text()], [400, "Missing node name"]);
  });

  it("lock - acquire, contention, release; destroy releases with lock-delay", async () => {
    const s1 = (
      (await (await a.call("PUT", "/v1/session/create", { LockDelay: "1s" })).json()) as {
        ID: string;
      }
    ).ID;
    const s2 = ((await (await a.call("PUT", "/v1/session/create", {})).json()) as { ID: string })
      .ID;
    assert.equal(await (await a.call("PUT", `/v1/kv/lock/l?acquire=${s1}`, "me")).text(), "true");
    assert.equal(await (await a.call("PUT", `/v1/kv/lock/l?acquire=${s2}`, "you")).text(), "false");
    let [pair] = (await (await a.call("GET", "/v1/kv/lock/l")).json()) as {
      Session?: string;
      LockIndex: number;
    }[];
    assert.equal(pair?.Session, s1);
    assert.equal(pair?.LockIndex, 1);
    assert.equal(await (await a.call("PUT", `/v1/kv/lock/l?release=${s2}`)).text(), "false");
    assert.equal(await (await a.call("PUT", `/v1/kv/lock/l?release=${s1}`)).text(), "true");
    [pair] = (await (await a.call("GET", "/v1/kv/lock/l")).json()) as {
      Session?: string;
      LockIndex: number;
    }[];
    assert.equal(pair?.Session, undefined);
    assert.equal(await (await a.call("PUT", `/v1/kv/lock/l?acquire=${s1}`)).text(), "true");
    await a.call("PUT", `/v1/session/destroy/${s1}`);
    [pair] = (await (await a.call("GET", "/v1/kv/lock/l")).json()) as {
      Session?: string;
      LockIndex: number;
    }[];
    assert.equal(pair?.Session, undefined, "destroy released the lock");
    assert.equal(
      await (await a.call("PUT", `/v1/kv/lock/l?acquire=${s2}`)).text(),
      "false",
      "lock-delay blocks re-acquire",
    );
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal(await (await a.call("PUT", `/v1/kv/lock/l?acquire=${s2}`)).text(), "true");
    const invalid = await a.call(
      "PUT",
      "/v1/kv/lock/m?acquire=00000000-0000-0000-0000-000000000000",
    );
    assert.equal(invalid.status, 500);
  });

  it("lock - a delete-behaviour session deletes its locked keys when destroyed", async () => {
    const s = (
      (await (await a.call("PUT", "/v1/session/create", { Behavior: "delete" })).json()) as {
        ID: string;
      }
    ).ID;
    assert.equal(
      await (await a.call("PUT", `/v1/kv/eph/k?acquire=${s}`, "x")).text(),
      "true",
      "the session took the lock",
    );
    assert.equal((await a.call("PUT", `/v1/session/destroy/${s}`)).status, 200);
    assert.equal((await a.call("GET", "/v1/kv/eph/k")).status, 404);
  });

  it("txn - all ops apply together and results come back", async () => {
    const res = await a.call("PUT", "/v1/txn", [
      { KV: { Verb: "set", Key: "t/a", Value: b64("1") } },
      { KV: { Verb: "set", Key: "t/b", Value: b64("2"), Flags: 7 } },
      { KV: { Verb: "get", Key: "t/a" } },
    ]);
    assert.equal(res.status, 200);
    const body = (await res.json()) as {
      Results: { KV: { Key: string; Value: string | null; Flags: number } }[];
      Errors: null;
    };
    assert.equal(body.Errors, null);
    assert.deepEqual(
      body.Results.map((r) => r.KV.Key),
      ["t/a", "t/b", "t/a"],
    );
    assert.equal(body.Results[0]?.KV.Value, null);
    assert.equal(body.Results[2]?.KV.Value, b64("1"));
  });

  it("txn - a failing op rolls everything back with 409", async () => {
    const res = await a.call("PUT", "/v1/txn", [
      { KV: { Verb: "set", Key: "t/c", Value: b64("3") } },
      { KV: { Verb: "cas", Key: "t/a", Value: b64("x"), Index: 1 } },
    ]);
    assert.equal(res.status, 409);
    const body = (await res.json()) as {
      Results: null;
      Errors: { OpIndex: number; What: string }[];
    };
    assert.equal(body.Results, null);
    assert.equal(body.Errors[0]?.OpIndex, 1);
    assert.equal((await a.call("GET", "/v1/kv/t/c")).status, 404);
  });

  it("txn - check-index and delete-cas see a write made earlier in the same txn as Consul's state store does", async () => {
    await a.call("PUT", "/v1/kv/t/ci", "v1");
    const [pair] = (await (await a.call("GET", "/v1/kv/t/ci")).json()) as {
      ModifyIndex: number;
    }[];
    const old = pair?.ModifyIndex ?? 0;
    type TxnAnswer = { Errors: { OpIndex: number; What: string }[] | null };
    // The set gave the key this txn's index: the index read before no longer matches.
    const checked = await a.call("PUT", "/v1/txn", [
      { KV: { Verb: "set", Key: "t/ci", Value: b64("v2") } },
      { KV: { Verb: "check-index", Key: "t/ci", Index: old } },
    ]);
    assert.equal(checked.status, 409);
    const why = ((await checked.json()) as TxnAnswer).Errors?.[0];
    assert.equal(why?.OpIndex, 1);
    assert.match(why?.What ?? "", /^failed index check for key "t\/ci", current modify index/);
    const deleted = await a.call("PUT", "/v1/txn", [
      { KV: { Verb: "set", Key: "t/ci", Value: b64("v2") } },
      { KV: { Verb: "delete-cas", Key: "t/ci", Index: old } },
    ]);
    assert.equal(deleted.status, 409);
    assert.equal(
      ((await deleted.json()) as TxnAnswer).Errors?.[0]?.What,
      'failed to delete key "t/ci", index is stale',
    );
    // Neither applied anything.
    assert.equal(await (await a.call("GET", "/v1/kv/t/ci?raw")).text(), "v1");
    // Without the earlier write the same checks pass.
    const plain = await a.call("PUT", "/v1/txn", [
      { KV: { Verb: "check-index", Key: "t/ci", Index: old } },
      { KV: { Verb: "delete-cas", Key: "t/ci", Index: old } },
    ]);
    assert.equal(plain.status, 200);
    assert.equal((await a.call("GET", "/v1/kv/t/ci")).status, 404);
  });

  it("kv - a cas delete of a missing key is true whatever the index (Consul's kvsDeleteCASTxn)", async () => {
    assert.equal(await (await a.call("DELETE", "/v1/kv/t/never?cas=7")).text(), "true");
    const res = await a.call("PUT", "/v1/txn", [
      { KV: { Verb: "delete-cas", Key: "t/never", Index: 7 } },
    ]);
    assert.equal(res.status, 200);
  });

  it("txn - more than 128 ops is a 413 and a bad body a 400", async () => {
    const ops = Array.from({ length: 129 }, (_, i) => ({
      KV: { Verb: "set", Key: `t/${i}`, Value: b64("v") },
    }));
    const big = await a.call("PUT", "/v1/txn", ops);
    assert.equal(big.status, 413);
    assert.equal(await big.text(), "Transaction contains too many operations (129 > 128)");
    const bad = await a.call("PUT", "/v1/txn", "{");
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /^Failed to parse body: /);
  });

  it("event - fire returns the event; list keeps order and the folded index", async () => {
    const fired = (await (await a.call("PUT", "/v1/event/fire/deploy", "v1.2")).json()) as {
      ID: string;
      Name: string;
      Payload: string;
      LTime: number;
      Version: number;
    };
    assert.equal(fired.Name, "deploy");
    assert.equal(fired.Payload, b64("v1.2"));
    assert.equal(fired.LTime, 0);
    await a.call("PUT", "/v1/event/fire/other");
    const res = await a.call("GET", "/v1/event/list?name=deploy");
    const list = (await res.json()) as { ID: string }[];
    assert.deepEqual(
      list.map((e) => e.ID),
      [fired.ID],
    );
    const index = res.headers.get("x-consul-index");
    assert.ok(index && index !== "0");
    const parked = a.call("GET", `/v1/event/list?index=${index}&wait=10s`);
    await until(() => a.parked() === 1, "the event list query to park");
    assert.equal((await a.call("PUT", "/v1/event/fire/third")).status, 200);
    const after = await parked;
    assert.notEqual(after.headers.get("x-consul-index"), index);
    const missing = await a.call("PUT", "/v1/event/fire/");
    assert.equal(missing.status, 400);
    assert.equal(await missing.text(), "Missing name");
  });

  it("event - a payload past serf's 512-byte user event is refused as Consul refuses it, and nothing is kept", async () => {
    const before = ((await (await a.call("GET", "/v1/event/list")).json()) as unknown[]).length;
    // `deploy`: 344 bytes of payload fit (see checkUserEventSize), one more does not.
    assert.equal((await a.call("PUT", "/v1/event/fire/deploy", "x".repeat(344))).status, 200);
    for (const [size, when] of [
      [345, "after encoding"],
      [375, "before encoding"],
      [8 * 1024 * 1024, "before encoding"],
    ] as const) {
      const res = await a.call("PUT", "/v1/event/fire/deploy", "x".repeat(size));
      assert.equal(res.status, 500);
      assert.equal(await res.text(), `user event exceeds configured limit of 512 bytes ${when}`);
    }
    // Filters and a longer name count too.
    const filtered = await a.call(
      "PUT",
      `/v1/event/fire/${"n".repeat(100)}?node=${"a".repeat(100)}&service=web`,
      "x".repeat(150),
    );
    assert.equal(filtered.status, 500);
    const after = ((await (await a.call("GET", "/v1/event/list")).json()) as unknown[]).length;
    assert.equal(after, before + 1, "only the event that fit was kept");
  });
});
