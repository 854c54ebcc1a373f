import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DiskStore } from "../../src/store/disk/disk-store.js";
import { storeContract } from "./contract.js";

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "augur-disk-"));
  dirs.push(d);
  return d;
}
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

storeContract(
  "DiskStore",
  async () => {
    const store = await DiskStore.open({ path: await tempDir() });
    return { store, cleanup: () => store.close().catch(() => undefined) };
  },
  { fakeTime: true },
);

describe("DiskStore durability", () => {
  it("disk - keys, revision and watch history survive close and reopen", async () => {
    const path = await tempDir();
    const s1 = await DiskStore.open({ path });
    const first = await s1.put("a", new TextEncoder().encode("1"));
    await s1.put("b", new TextEncoder().encode("2"));
    await s1.delete("a");
    const rev = await s1.revision();
    await s1.close();
    const s2 = await DiskStore.open({ path });
    assert.equal(await s2.revision(), rev);
    assert.equal(await s2.get("a"), undefined);
    assert.equal(new TextDecoder().decode((await s2.get("b"))?.value), "2");
    const ac = new AbortController();
    const seen: number[] = [];
    for await (const b of s2.watch("", { fromRevision: first.revision, signal: ac.signal })) {
      seen.push(b.revision);
      if (seen.length === 3) ac.abort();
    }
    assert.deepEqual(seen, [first.revision, first.revision + 1, first.revision + 2]);
    await s2.close();
  });

  it("disk - the on-disk change log is bounded by bytes as the history is, also across reopen", async () => {
    const path = await tempDir();
    const history = { maxBytes: 1024 * 1024 };
    const s1 = await DiskStore.open({ path, history });
    const value = new Uint8Array(64 * 1024);
    for (let i = 0; i < 200; i++) await s1.put("big", value);
    const before = s1.historySize();
    await s1.close();
    // Unbounded, the log would hold 200 × (value + previous value) ≈ 25 MiB of pages.
    const { size } = await stat(join(path, "data.mdb"));
    assert.ok(size < 4 * 1024 * 1024, `data.mdb is ${size} bytes`);
    const s2 = await DiskStore.open({ path, history });
    const after = s2.historySize();
    assert.ok(after.bytes <= history.maxBytes, `reopened history holds ${after.bytes} bytes`);
    assert.ok(
      after.oldest >= before.oldest - 1,
      `the log kept no more than the history did (oldest ${after.oldest}, was ${before.oldest})`,
    );
    const old = s2.watch("", { fromRevision: 2 })[Symbol.asyncIterator]();
    await assert.rejects(
      async () => old.next(),
      (err: unknown) => (err as { code?: string }).code === "STORE_COMPACTED",
    );
    await s2.close();
    // Reopening with smaller bounds cuts the loaded history to them.
    const s3 = await DiskStore.open({ path, history: { maxRevisions: 2 } });
    assert.equal(s3.historySize().revisions, 2);
    await s3.close();
  });

  it("disk - every write acknowledged before kill -9 is there after reopening", async () => {
    const path = await tempDir();
    const writer = fileURLToPath(new URL("./fixtures/disk-writer.js", import.meta.url));
    const child = spawn(process.execPath, [writer, path], { stdio: ["ignore", "pipe", "inherit"] });
    const acked: string[] = [];
    let buf = "";
    await new Promise<void>((resolve) => {
      child.stdout.setEncoding("utf8").on("data", (d: string) => {
        buf += d;
        const lines = buf.split("\n");
        buf = lines.pop() ?? "";
        acked.push(...lines.filter(Boolean));
        if (acked.length >= 300 && child.exitCode === null) {
          child.kill("SIGKILL");
          resolve();
        }
      });
      child.once("exit", () => resolve());
    });
    await new Promise((r) =>
      child.exitCode === null && child.signalCode === null ? child.once("exit", r) : r(null),
    );
    assert.ok(acked.length >= 300, `writer acknowledged only ${acked.length}`);
    const store = await DiskStore.open({ path });
    for (const key of acked) assert.ok(await store.get(key), `acknowledged ${key} lost`);
    await store.close();
  });
});
