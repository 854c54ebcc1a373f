/**
 * A step of the wall clock (NTP correcting a drifted host, a VM resumed from a snapshot) while
 * the agent runs. Consul and etcd measure TTLs and intervals on the monotonic clock, and so must
 * augur: only `Date` is faked here (node:test's mock timers), real timers and the monotonic clock
 * run on. Before, a step forward made every embedded-store lease look expired to a keep-alive
 * (a session renew answering 404), reaped services before their `deregister_critical_service_after`
 * and told clients the agent had lost its store; a step back delayed every check interval and TTL
 * by the size of the step.
 */
import { afterEach, describe, it, mock } from "node:test";
import assert from "node:assert/strict";
import { IntervalRunner, realClock } from "../../src/checks/runner.js";
import { TtlCheckRunner } from "../../src/checks/ttl-check.js";
import type { CheckStatus } from "../../src/catalog/types.js";
import { isAugurError } from "../../src/lib/errors.js";
import { MemoryStore } from "../../src/store/memory/memory-store.js";
import { SessionRenewer } from "../../src/client/lock-common.js";
import { ConsulClient } from "../../src/client/index.js";
import { Lock } from "../../src/client/lock.js";
import { Semaphore } from "../../src/client/semaphore.js";
import { startTestAgent } from "../helpers/in-process-agent.js";

const HOUR = 3_600_000;
/** Fakes `Date` only, starting at the real time, so it can be stepped. */
const fakeWallClock = (): void => mock.timers.enable({ apis: ["Date"], now: Date.now() });
const step = (ms: number): void => mock.timers.setTime(Date.now() + ms);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** test/helpers/until.ts, on the monotonic clock: a faked `Date` never reaches a deadline. */
async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

describe("a step of the wall clock", () => {
  afterEach(() => mock.timers.reset());

  it("clock step - a lease neither expires on a step forward nor outlives its TTL after a step back", async () => {
    const store = new MemoryStore();
    try {
      fakeWallClock();
      const lease = await store.grant(1);
      await store.put("lock", new Uint8Array([1]), { lease });
      step(HOUR);
      assert.equal(await store.keepAlive(lease), 1, "renewed after the clock jumped an hour");
      step(-2 * HOUR);
      await sleep(1_300);
      await assert.rejects(store.keepAlive(lease), (err) => isAugurError(err, "NOT_FOUND"));
      assert.equal(await store.get("lock"), undefined, "expired on time");
    } finally {
      await store.close();
    }
  });

  it("clock step - a check's interval and a TTL run on after a step back", async () => {
    fakeWallClock();
    let runs = 0;
    const runner = new IntervalRunner(
      async () => ({ status: "passing" as CheckStatus, output: String(++runs) }),
      100,
      () => undefined,
      realClock,
      0,
    );
    const statuses: CheckStatus[] = [];
    const ttl = new TtlCheckRunner(300, (status) => statuses.push(status), realClock);
    runner.start();
    ttl.start();
    try {
      await until(() => runs >= 1, "the first run");
      step(-HOUR);
      const after = runs;
      await until(() => runs >= after + 3, "three more runs after the step", 2_000);
      ttl.update("passing", "ok");
      step(-HOUR);
      await until(() => statuses.at(-1) === "critical", "the TTL to expire", 2_000);
    } finally {
      runner.stop();
      ttl.stop();
    }
  });

  it("clock step - `augur lock`'s renewer keeps retrying a failed renewal for a whole TTL after a step forward", async () => {
    fakeWallClock();
    let renewals = 0;
    // The agent is unreachable: every renewal fails, and the renewer retries every second until
    // a whole TTL (here 10 s) has passed without one.
    const unreachable = {
      sessionRenew: async (): Promise<never> => {
        renewals++;
        throw new Error("connect ECONNREFUSED");
      },
      sessionDestroy: async (): Promise<void> => undefined,
    } as unknown as ConsulClient;
    const renewer = new SessionRenewer(unreachable, "s", "10s");
    await until(() => renewals === 1, "the first renewal", 7_000);
    step(HOUR);
    // The try after the step is made before the renewer looks at the clock; the one after it
    // only if it did not take the step for ten seconds gone by.
    await until(() => renewals === 3, "two more tries, a second apart", 4_000);
    await renewer.stop();
  });

  it("clock step - `augur lock -timeout` and a semaphore's give up on time after a step back", async () => {
    const a = await startTestAgent();
    const client = new ConsulClient({ address: a.url, env: {} });
    const lockHolder = new Lock(client, { key: "busy/.lock" });
    const slotHolder = new Semaphore(client, { prefix: "slots", limit: 1 });
    try {
      assert.ok(await lockHolder.lock());
      assert.ok(await slotHolder.acquire());
      fakeWallClock();
      const started = performance.now();
      const lock = new Lock(client, { key: "busy/.lock", tryOnce: true, lockWaitMs: 1_000 });
      const slot = new Semaphore(client, {
        prefix: "slots",
        limit: 1,
        tryOnce: true,
        waitMs: 1_000,
      });
      const outcomes = Promise.all([lock.lock(), slot.acquire()]);
      await sleep(300);
      step(-HOUR);
      const result = await Promise.race([outcomes, sleep(5_000).then(() => "still waiting")]);
      assert.deepEqual(result, [undefined, undefined], "both gave up, without the lock or a slot");
      assert.ok(performance.now() - started < 4_000);
    } finally {
      mock.timers.reset();
      await lockHolder.unlock().catch(() => undefined);
      await slotHolder.release().catch(() => undefined);
      await a.stop();
    }
  });

  it("clock step - a step forward neither reaps a critical service early nor loses the store's contact", async () => {
    const a = await startTestAgent();
    try {
      await a.call("PUT", "/v1/agent/service/register", {
        Name: "kept",
        Check: { TTL: "30s", DeregisterCriticalServiceAfter: "30s" },
      });
      await a.call("PUT", "/v1/agent/check/fail/service:kept");
      fakeWallClock();
      step(HOUR);
      // Right after the step: the store answered moments ago, not an hour ago (status/leader
      // answers "" once the store has not answered for the liveness TTL).
      const leader = async (): Promise<string> =>
        (await (await a.call("GET", "/v1/status/leader")).json()) as string;
      assert.notEqual(await leader(), "");
      // The reaper runs every second, the store-contact watchdog every 500 ms.
      await sleep(2_500);
      const services = (await (await a.call("GET", "/v1/agent/services")).json()) as Record<
        string,
        unknown
      >;
      assert.ok("kept" in services, "not reaped: it has been critical for seconds, not an hour");
      assert.notEqual(await leader(), "");
    } finally {
      mock.timers.reset();
      await a.stop();
    }
  });
});
