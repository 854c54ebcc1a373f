/**
 * A full disk under the data dir: a small tmpfs mounted for the test, filled with a file. Writes
 * fail with a clear STORE_IO (500 over HTTP) naming the cause, the agent stays up and keeps
 * serving reads, nothing a failed write did is left behind, writes resume once there is room,
 * and every acknowledged write is there after a restart. Before: lmdb-js rejected promises of its
 * own that nobody can await, and the agent died of an unhandled rejection on the first failed
 * commit (src/lib/lmdb-commit.ts).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DiskStore } from "../../src/store/disk/disk-store.js";
import { isAugurError } from "../../src/lib/errors.js";
import { startAgentProcess } from "../helpers/agent-process.js";
import { until } from "../helpers/until.js";

const mountPoint = mkdtempSync(join(tmpdir(), "augur-disk-full-"));
/** Mounting needs CAP_SYS_ADMIN (root, as the network namespace tests): skipped without it. */
const skip = ((): string | false => {
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=8m", "tmpfs", mountPoint], {
      stdio: "ignore",
    });
    return false;
  } catch {
    return "cannot mount a tmpfs here (needs root): no small file system to fill";
  }
})();

after(() => {
  if (!skip) execFileSync("umount", ["-l", mountPoint], { stdio: "ignore" });
  rmSync(mountPoint, { recursive: true, force: true });
});

const filler = join(mountPoint, "filler");
/** Fills the file system up to `leave` bytes. */
const fill = (leave: number): void => {
  const st = statfsSync(mountPoint);
  writeFileSync(filler, Buffer.alloc(Math.max(0, Number(st.bavail) * Number(st.bsize) - leave)));
};
const makeRoom = (): void => rmSync(filler, { force: true });
const value = Buffer.alloc(60_000, 7);

describe("a full disk under the data dir", { skip }, () => {
  before(() => makeRoom());

  it("disk full - the store: writes fail with the cause, are undone, and resume once there is room", async () => {
    const path = join(mountPoint, "store");
    const store = await DiskStore.open({ path });
    try {
      await store.put("kept", new Uint8Array([1]));
      fill(200_000);
      const failures: unknown[] = [];
      for (let i = 0; i < 6; i++) {
        await store.put(`big/${i}`, value).catch((err: unknown) => failures.push(err));
      }
      assert.ok(failures.length >= 3, `${failures.length} writes failed`);
      for (const err of failures) {
        assert.ok(isAugurError(err, "STORE_IO"), String(err));
        // The cause lmdb gives, not its "see commitError" placeholder.
        assert.match(
          (err as Error).message,
          /^data dir store: commit failed: (No space left on device|Input\/output error)/,
        );
      }
      const acknowledged = (await store.range("big/")).kvs.map((kv) => kv.key);
      makeRoom();
      // A create-only write of a key whose write failed: nothing of it is left in memory.
      const failedKey = `big/5`;
      if (!acknowledged.includes(failedKey)) {
        const created = await store.txn({
          compare: [{ key: failedKey, target: "exists", exists: false }],
          success: [{ type: "put", key: failedKey, value: new Uint8Array([2]) }],
        });
        assert.equal(created.succeeded, true);
        acknowledged.push(failedKey);
      }
      await store.close();
      const reopened = await DiskStore.open({ path });
      assert.deepEqual(
        (await reopened.range("big/")).kvs.map((kv) => kv.key).sort(),
        acknowledged.sort(),
      );
      assert.ok((await reopened.get("kept")) !== undefined);
      await reopened.close();
    } finally {
      makeRoom();
      await store.close().catch(() => undefined);
    }
  });

  it("disk full - the agent answers 500 with the cause, stays up, its watch resumes, and every acknowledged write survives a restart", async () => {
    const dataDir = join(mountPoint, "agent");
    // Outside the full file system: the watch's handler writes what it is given here.
    const outside = mkdtempSync(join(tmpdir(), "augur-disk-full-watch-"));
    after(() => rmSync(outside, { recursive: true, force: true }));
    const seen = join(outside, "seen");
    const config = join(outside, "watch.json");
    writeFileSync(
      config,
      JSON.stringify({
        watches: [
          {
            type: "keyprefix",
            prefix: "big/",
            args: ["sh", "-c", `cat >> ${seen}; echo >> ${seen}`],
          },
        ],
      }),
    );
    const args = ["-data-dir", dataDir, "-bind", "127.0.0.1", "-config-file", config];
    let agent = await startAgentProcess({ args });
    const acknowledged: string[] = [];
    try {
      fill(300_000);
      const answers: { status: number; body: string }[] = [];
      for (let i = 0; i < 8; i++) {
        const res = await fetch(`${agent.url}/v1/kv/big/${i}`, { method: "PUT", body: value });
        const body = await res.text();
        answers.push({ status: res.status, body });
        if (res.status === 200) acknowledged.push(`big/${i}`);
      }
      const failed = answers.filter((a) => a.status !== 200);
      assert.ok(failed.length >= 3, JSON.stringify(answers.map((a) => a.status)));
      for (const a of failed) {
        assert.equal(a.status, 500);
        assert.match(a.body, /^data dir store: commit failed: /);
      }
      // Still up, still serving reads, and reads show only what was acknowledged.
      const keys = (await (await fetch(`${agent.url}/v1/kv/big/?keys`)).json()) as string[];
      assert.deepEqual(keys, acknowledged);
      assert.equal(agent.proc.exitCode, null, agent.output());
      assert.doesNotMatch(agent.output(), /Unhandled|unhandled/);

      makeRoom();
      // A key whose write failed can be created with cas=0: the failed write left nothing.
      const missing = `big/${answers.findIndex((a) => a.status !== 200)}`;
      const cas = await fetch(`${agent.url}/v1/kv/${missing}?cas=0`, {
        method: "PUT",
        body: "after",
      });
      assert.equal(await cas.text(), "true");
      acknowledged.push(missing);
      // The watch's outbox failed on the full disk too; it resumes and reports the new key.
      await until(
        () => readFileSync(seen, "utf8").includes(`"Key":"${missing}"`),
        `the watch to report ${missing}`,
        15_000,
      );
    } finally {
      await agent.stop();
      makeRoom();
    }
    agent = await startAgentProcess({ args });
    try {
      const keys = (await (await fetch(`${agent.url}/v1/kv/big/?keys`)).json()) as string[];
      assert.deepEqual(keys, [...acknowledged].sort());
    } finally {
      await agent.stop();
    }
  });
});
