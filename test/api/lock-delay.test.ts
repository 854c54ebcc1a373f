/**
 * A session's lock-delay is held to Consul's maximum (`structs.MaxLockDelay`, 60 s) when it is
 * applied: a session keeps the `LockDelay` it was created with, but once it is gone its keys can
 * be locked again after at most 60 s. Only `Date` is faked (the lock-delay deadline is wall-clock
 * time, shared by every agent of a cluster); timers are real.
 */
import { after, afterEach, before, describe, it, mock } from "node:test";
import assert from "node:assert/strict";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";

describe("lock-delay", () => {
  let a: TestAgent;
  before(async () => (a = await startTestAgent()));
  after(async () => a.stop());
  afterEach(() => mock.timers.reset());

  const session = async (body: object): Promise<string> =>
    ((await (await a.call("PUT", "/v1/session/create", body)).json()) as { ID: string }).ID;
  const acquire = async (key: string, id: string): Promise<string> =>
    (await a.call("PUT", `/v1/kv/${key}?acquire=${id}`, "v")).text();

  it("a LockDelay past 60 s is kept on the session but holds a lock back 60 s at most", async () => {
    const year = await session({ LockDelay: "8760h" });
    const other = await session({});
    const [info] = (await (await a.call("GET", `/v1/session/info/${year}`)).json()) as {
      LockDelay: number;
    }[];
    assert.equal(info?.LockDelay, 8760 * 3600 * 1e9, "the session shows what it was given");
    mock.timers.enable({ apis: ["Date"], now: Date.now() });
    assert.equal(await acquire("ld/k", year), "true");
    assert.equal((await a.call("PUT", `/v1/session/destroy/${year}`)).status, 200);
    assert.equal(await acquire("ld/k", other), "false", "lock-delay in effect");
    mock.timers.setTime(Date.now() + 59_000);
    assert.equal(await acquire("ld/k", other), "false", "still within 60 s");
    mock.timers.setTime(Date.now() + 1_500);
    assert.equal(await acquire("ld/k", other), "true", "60 s after the session ended");
  });

  it("a LockDelay under 60 s is applied as given", async () => {
    const short = await session({ LockDelay: "30s" });
    const other = await session({});
    mock.timers.enable({ apis: ["Date"], now: Date.now() });
    assert.equal(await acquire("ld/s", short), "true");
    await a.call("PUT", `/v1/session/destroy/${short}`);
    mock.timers.setTime(Date.now() + 29_000);
    assert.equal(await acquire("ld/s", other), "false");
    mock.timers.setTime(Date.now() + 1_500);
    assert.equal(await acquire("ld/s", other), "true");
  });
});
