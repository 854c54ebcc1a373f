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

  it("LockDelay is read as Consul's FixupLockDelay reads it and shown as whole nanoseconds", async () => {
    const cases: [unknown, number][] = [
      [1000001, 1000001], // through milliseconds this came back as 1000000.9999999999
      ["1.000001s", 1000001000],
      [15, 15e9], // below 1000 ns: seconds
      ["3ns", 3e9],
      [1.5, 1e9], // Go truncates a float64 to a Duration
      [0.001, 0],
      ["8760h", 8760 * 3600e9],
    ];
    for (const [given, ns] of cases) {
      const id = await session({ LockDelay: given });
      // The raw text: a client decoding it into Go's time.Duration needs an integer.
      const raw = await (await a.call("GET", `/v1/session/info/${id}`)).text();
      assert.match(raw, new RegExp(`"LockDelay":${ns}[,}]`), `${JSON.stringify(given)}: ${raw}`);
    }
    for (const body of ['{"LockDelay":1e300}', '{"LockDelay":1e400}', '{"LockDelay":"3000000h"}']) {
      const res = await a.call("PUT", "/v1/session/create", body);
      assert.equal(res.status, 400, body);
      assert.match(await res.text(), /^Request decode failed: LockDelay .* out of range/);
    }
  });

  it("a refused TTL is named in whole nanoseconds, as Consul names it", async () => {
    const res = await a.call("PUT", "/v1/session/create", { TTL: "1.0000001s" });
    assert.deepEqual(
      [res.status, await res.text()],
      [500, "Invalid Session TTL '1000000100', must be between [10s=24h0m0s]"],
    );
  });

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
