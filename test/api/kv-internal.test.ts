/**
 * augur's own records under `_augur/` (once_per_cluster leadership and watermarks) are out of
 * clients' reach: no PUT, acquire, DELETE or txn write touches them, a recursive delete of the
 * root skips them, and a watch keeps delivering whatever a client tries.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseWatchDefinition } from "../../src/watch/definition.js";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";
import { httpReceiver, type HttpReceiver } from "../watch/receivers.js";
import { until } from "../watch/manager-helpers.js";

const LEADER_KEY = "_augur/watch-leader/alert";

describe("kv - augur's internal keys", () => {
  let a: TestAgent;
  let hook: HttpReceiver;
  before(async () => {
    hook = await httpReceiver();
    a = await startTestAgent({
      watches: [
        parseWatchDefinition({
          type: "key",
          key: "alert/x",
          id: "alert",
          once_per_cluster: true,
          on_start: "never",
          handler_type: "http",
          http_handler_config: { path: hook.url },
        }),
      ],
    });
    await until(
      async () => {
        const res = await a.call("GET", `/v1/kv/${LEADER_KEY}`);
        return (
          res.status === 200 && Boolean(((await res.json()) as { Session?: string }[])[0]?.Session)
        );
      },
      10_000,
      "the watch holds its leader lock",
    );
  });
  after(async () => {
    await a.stop();
    await hook.close();
  });

  const denied = async (res: Response, what: string): Promise<void> => {
    assert.equal(res.status, 403, what);
    assert.match(await res.text(), /^Permission denied/, what);
  };

  it("kv internal - reads are open", async () => {
    const res = await a.call("GET", `/v1/kv/${LEADER_KEY}`);
    assert.equal(res.status, 200);
    const keys = (await (await a.call("GET", "/v1/kv/?keys")).json()) as string[];
    assert.ok(keys.includes(LEADER_KEY));
  });

  it("kv internal - PUT, cas, acquire, release, DELETE and a recursive DELETE inside _augur/ are 403 Permission denied", async () => {
    const [held] = (await (await a.call("GET", `/v1/kv/${LEADER_KEY}`)).json()) as {
      ModifyIndex: number;
      Session: string;
      Value: string;
    }[];
    assert.ok(held);
    const session = (
      (await (await a.call("PUT", "/v1/session/create", {})).json()) as { ID: string }
    ).ID;
    await denied(
      await a.call("PUT", `/v1/kv/${LEADER_KEY}`, '{"Node":"x","Delivered":{}}'),
      "plain PUT (a forged watermark)",
    );
    await denied(await a.call("PUT", `/v1/kv/${LEADER_KEY}?cas=${held.ModifyIndex}`, "x"), "cas");
    await denied(await a.call("PUT", `/v1/kv/${LEADER_KEY}?acquire=${session}`, "x"), "acquire");
    await denied(
      await a.call("PUT", `/v1/kv/${LEADER_KEY}?release=${held.Session}`, "x"),
      "release with the leader's own session id",
    );
    await denied(await a.call("PUT", "/v1/kv/_augur/new-key", "x"), "a new key under the prefix");
    await denied(await a.call("DELETE", `/v1/kv/${LEADER_KEY}`), "DELETE");
    await denied(
      await a.call("DELETE", `/v1/kv/${LEADER_KEY}?cas=${held.ModifyIndex}`),
      "DELETE ?cas",
    );
    await denied(
      await a.call("DELETE", "/v1/kv/_augur/?recurse"),
      "recursive DELETE of the prefix",
    );
    const [after] = (await (await a.call("GET", `/v1/kv/${LEADER_KEY}`)).json()) as {
      ModifyIndex: number;
      Session: string;
      Value: string;
    }[];
    assert.deepEqual(
      [after?.Session, after?.Value],
      [held.Session, held.Value],
      "the lock and its watermark are untouched",
    );
  });

  it("kv internal - txn writes are refused per op with 409 and nothing of the txn is applied", async () => {
    const b64 = (s: string): string => Buffer.from(s).toString("base64");
    const res = await a.call("PUT", "/v1/txn", [
      { KV: { Verb: "set", Key: "plain/ok", Value: b64("v") } },
      { KV: { Verb: "delete", Key: LEADER_KEY } },
      { KV: { Verb: "delete-tree", Key: "_augur/" } },
    ]);
    assert.equal(res.status, 409);
    const body = (await res.json()) as { Errors: { OpIndex: number; What: string }[] };
    assert.deepEqual(
      body.Errors.map((e) => e.OpIndex),
      [1, 2],
    );
    assert.ok(body.Errors.every((e) => e.What.startsWith("Permission denied")));
    assert.equal(
      (await a.call("GET", "/v1/kv/plain/ok")).status,
      404,
      "the allowed op did not run either",
    );
    assert.equal((await a.call("GET", `/v1/kv/${LEADER_KEY}`)).status, 200);
  });

  it("kv internal - DELETE /v1/kv/?recurse removes every client key but keeps _augur/", async () => {
    const createIndex = async (): Promise<number | undefined> =>
      ((await (await a.call("GET", `/v1/kv/${LEADER_KEY}`)).json()) as { CreateIndex: number }[])[0]
        ?.CreateIndex;
    const created = await createIndex();
    await a.call("PUT", "/v1/kv/some/key", "1");
    await a.call("PUT", "/v1/kv/_aug", "2");
    const res = await a.call("DELETE", "/v1/kv/?recurse");
    assert.equal(res.status, 200);
    assert.equal((await a.call("GET", "/v1/kv/some/key")).status, 404);
    assert.equal((await a.call("GET", "/v1/kv/_aug")).status, 404);
    assert.equal(
      (await a.call("GET", `/v1/kv/${LEADER_KEY}`)).status,
      200,
      "the leader lock survives",
    );
    const txn = await a.call("PUT", "/v1/txn", [{ KV: { Verb: "delete-tree", Key: "_" } }]);
    assert.equal(
      txn.status,
      200,
      "a txn delete-tree of an enclosing prefix is allowed and skips them",
    );
    assert.equal(
      await createIndex(),
      created,
      "never deleted (a re-acquired lock would have a new CreateIndex)",
    );
  });

  it("kv internal - after every attempt the watch still delivers", async () => {
    const before = hook.requests.length;
    await a.call("PUT", "/v1/kv/alert/x", "fire");
    await until(() => hook.requests.length > before, 10_000, "a delivery after the attacks");
    const last = JSON.parse((hook.requests.at(-1)?.body ?? Buffer.from("{}")).toString()) as {
      Value: string;
    };
    assert.equal(Buffer.from(last.Value, "base64").toString(), "fire");
  });
});
