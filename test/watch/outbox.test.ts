import { after } from "node:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemoryWatchStore } from "../../src/watch/memory-store.js";
import { LmdbWatchStore } from "../../src/watch/lmdb-store.js";
import { outboxContract } from "./outbox-contract.js";

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

outboxContract("memory store", { open: async () => new MemoryWatchStore() });

const dirOf = new WeakMap<object, string>();
outboxContract("lmdb store", {
  async open() {
    const dir = await mkdtemp(join(tmpdir(), "augur-outbox-"));
    dirs.push(dir);
    const s = await LmdbWatchStore.open(join(dir, "watches"));
    dirOf.set(s, dir);
    return s;
  },
  async reopen(store) {
    const dir = dirOf.get(store) as string;
    await store.close();
    const s = await LmdbWatchStore.open(join(dir, "watches"));
    dirOf.set(s, dir);
    return s;
  },
});
