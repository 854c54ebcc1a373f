/**
 * Sessions are atomic on the embedded disk store: a session's removal and the release (or
 * deletion) of its locks are one transaction, and what a crash can still leave behind — locks
 * naming a session whose record is gone — is repaired at start. A real agent process holding a
 * session with 2,000 locks is `kill -9`ed while it destroys the session; after a restart on the
 * same data dir no key ever names a missing session, and a session is either wholly there (with
 * every lock) or wholly gone (with every lock released).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";
import {
  createSession,
  keyHolders,
  lockKeys,
  orphanedLocks,
  sessionIds,
  sleep,
} from "../helpers/session-locks.js";
import { DiskStore } from "../../src/store/disk/disk-store.js";

const LOCKS = 2000;
/** Kill delays after the destroy is sent: early ones land before it commits, later ones during or after. */
const DELAYS_MS = [0, 5, 15, 30, 60, 120];

describe("sessions - atomic across kill -9 (disk store)", () => {
  let dir = "";
  let agent: AgentProcess | undefined;
  const args = (data = "data"): string[] => [
    "-data-dir",
    join(dir, data),
    "-bind",
    "127.0.0.1",
    "-node",
    "atomic",
  ];
  before(async () => (dir = await mkdtemp(join(tmpdir(), "augur-session-atomic-"))));
  after(async () => {
    await agent?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it(
    "sessions - kill -9 during a destroy of a session with 2,000 locks leaves it wholly there or wholly gone",
    { timeout: 180_000 },
    async () => {
      agent = await startAgentProcess({ args: args() });
      const outcomes: string[] = [];
      for (const [i, delay] of DELAYS_MS.entries()) {
        const behavior = i % 2 === 0 ? "release" : "delete";
        const prefix = `atomic/${i}/`;
        const id = await createSession(agent.url, {
          Name: `s${i}`,
          Behavior: behavior,
          LockDelay: "0s",
        });
        await lockKeys(agent.url, prefix, id, LOCKS);
        const destroy = fetch(`${agent.url}/v1/session/destroy/${id}`, { method: "PUT" }).then(
          (r) => r.status,
          () => 0,
        );
        await sleep(delay);
        await agent.kill();
        const status = await destroy;
        agent = await startAgentProcess({ args: args() });

        const holders = await keyHolders(agent.url, prefix);
        const held = [...holders.values()].filter((s) => s === id).length;
        if ((await sessionIds(agent.url)).has(id)) {
          assert.notEqual(status, 200, "an acknowledged destroy is durable");
          assert.equal(
            held,
            LOCKS,
            `kill at ${delay} ms: the session survived, so every one of its locks must have too`,
          );
          outcomes.push(`${delay}ms: before`);
          assert.equal(
            (await fetch(`${agent.url}/v1/session/destroy/${id}`, { method: "PUT" })).status,
            200,
          );
        } else {
          assert.equal(
            held,
            0,
            `kill at ${delay} ms: the session is gone, so none of its locks may remain`,
          );
          outcomes.push(`${delay}ms: after`);
        }
        assert.deepEqual(
          await orphanedLocks(agent.url, "atomic/"),
          [],
          "no key names a missing session",
        );
        const after = await keyHolders(agent.url, prefix);
        if (behavior === "delete")
          assert.equal(after.size, 0, "a delete session's keys are deleted");
        else
          assert.deepEqual(
            [...after.values()].filter((s) => s !== undefined),
            [],
            "a release session's keys are all free",
          );
      }
      assert.deepEqual(await sessionIds(agent.url), new Set());
      // Which side of the commit each kill landed on, for the record (timing varies by machine).
      console.log(`kill outcomes: ${outcomes.join(", ")}`);
    },
  );

  it(
    "sessions - locks naming a session whose record is gone are freed (or deleted) at start",
    { timeout: 60_000 },
    async () => {
      await agent?.stop();
      agent = await startAgentProcess({ args: args("orphans") });
      const release = await createSession(agent.url, { Behavior: "release", LockDelay: "0s" });
      const remove = await createSession(agent.url, { Behavior: "delete" });
      await lockKeys(agent.url, "orphan/release/", release, 200);
      await lockKeys(agent.url, "orphan/delete/", remove, 200);
      await agent.kill();
      // What a crash between a record's removal and its locks' release (or a lease expiring while
      // nothing ran) leaves: the records are gone, the keys still name them.
      const store = await DiskStore.open({ path: join(dir, "orphans", "catalog") });
      await store.delete(`sessions/${release}`);
      await store.delete(`sessions/${remove}`);
      await store.close();

      agent = await startAgentProcess({ args: args("orphans") });
      assert.deepEqual(await orphanedLocks(agent.url, "orphan/"), []);
      const released = await keyHolders(agent.url, "orphan/release/");
      assert.equal(released.size, 200, "a release session's keys stay, unlocked");
      assert.deepEqual(
        [...released.values()].filter((s) => s !== undefined),
        [],
      );
      assert.equal(
        (await keyHolders(agent.url, "orphan/delete/")).size,
        0,
        "a delete session's keys are deleted",
      );
    },
  );

  it(
    "sessions - a session whose node was deregistered, or whose check turned critical, while nothing ran is destroyed at start, its locks freed",
    { timeout: 60_000 },
    async () => {
      await agent?.stop();
      agent = await startAgentProcess({ args: args("deregistered") });
      await fetch(`${agent.url}/v1/catalog/register`, {
        method: "PUT",
        body: JSON.stringify({ Node: "ext", Address: "10.0.0.9" }),
      });
      const checked = { Node: "ext2", CheckID: "disk", Name: "disk", Status: "passing" };
      await fetch(`${agent.url}/v1/catalog/register`, {
        method: "PUT",
        body: JSON.stringify({ Node: "ext2", Address: "10.0.0.10", Checks: [checked] }),
      });
      const id = await createSession(agent.url, { Node: "ext", NodeChecks: [], LockDelay: "0s" });
      const onCheck = await createSession(agent.url, {
        Node: "ext2",
        NodeChecks: ["disk"],
        LockDelay: "0s",
      });
      await lockKeys(agent.url, "dereg/", id, 100);
      await lockKeys(agent.url, "critical/", onCheck, 100);
      await agent.kill();
      // A crash after the node's removal (or the check's change) committed and before its sessions were invalidated.
      const store = await DiskStore.open({ path: join(dir, "deregistered", "catalog") });
      await store.delete("nodes/ext");
      const check = await store.get("checks/ext2/disk");
      assert.ok(check);
      const record = {
        ...(JSON.parse(Buffer.from(check.value).toString("utf8")) as Record<string, unknown>),
        Status: "critical",
      };
      await store.put("checks/ext2/disk", Buffer.from(JSON.stringify(record)));
      await store.close();

      agent = await startAgentProcess({ args: args("deregistered") });
      assert.equal(
        (await sessionIds(agent.url)).has(id),
        false,
        "the session of a deregistered node is gone",
      );
      const holders = await keyHolders(agent.url, "dereg/");
      assert.equal(holders.size, 100);
      assert.deepEqual(
        [...holders.values()].filter((s) => s !== undefined),
        [],
        "and its locks are free",
      );
      assert.equal(
        (await sessionIds(agent.url)).has(onCheck),
        false,
        "the session of a critical check is gone",
      );
      assert.deepEqual(
        [...(await keyHolders(agent.url, "critical/")).values()].filter((s) => s !== undefined),
        [],
        "and its locks are free",
      );
    },
  );
});
