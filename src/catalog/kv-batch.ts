/**
 * Group commit for plain KV writes (`PUT /v1/kv/<key>` without cas/acquire/release): while one
 * transaction is in flight, later writes queue, and the next transaction carries all of them
 * (distinct keys, up to {@link MAX_BATCH}). An idle agent sends each write at once; a busy one
 * pays one etcd round trip and one Raft entry per batch instead of per write.
 *
 * Semantics stay Consul's for each write: a batch is one `runKvOps` call, which compares every
 * key it read (from the view, then the store on a conflict) and retries as a whole on a
 * concurrent change; a plain set cannot fail on its own, so the only failures are the store's
 * (no leader, closed), which every write in the batch shares. Writes in one batch share their
 * ModifyIndex, as ops of one `/v1/txn` do.
 *
 * @module
 */
import type { Store } from "../store/store.js";
import { AugurError } from "../lib/errors.js";
import { runKvOps, type KvOp, type LocalKv } from "./kv.js";

/** etcd's default `--max-txn-ops`. */
export const MAX_BATCH = 128;

interface Pending {
  readonly op: KvOp;
  readonly resolve: (revision: number) => void;
  readonly reject: (err: unknown) => void;
}

export class KvSetBatcher {
  #queue: Pending[] = [];
  #inFlight = false;

  constructor(
    private readonly store: Store,
    private readonly view: LocalKv,
  ) {}

  /** Writes one plain `set`; resolves with the store revision that holds it. */
  set(op: KvOp & { readonly verb: "set" }): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ op, resolve, reject });
      this.#drain();
    });
  }

  #drain(): void {
    if (this.#inFlight || this.#queue.length === 0) return;
    const batch: Pending[] = [];
    const keys = new Set<string>();
    const rest: Pending[] = [];
    for (const p of this.#queue) {
      // One key twice in a transaction is refused by etcd; the second write waits for the next.
      if (batch.length < MAX_BATCH && !keys.has(p.op.key)) {
        batch.push(p);
        keys.add(p.op.key);
      } else rest.push(p);
    }
    this.#queue = rest;
    this.#inFlight = true;
    runKvOps(
      this.store,
      batch.map((p) => p.op),
      { view: this.view },
    )
      .then(
        (result) => {
          // A plain set has no condition to fail; an error here is a bug, reported to every writer.
          const failed = result.errors[0]
            ? new AugurError("INTERNAL", `KV write failed: ${result.errors[0].What}`)
            : undefined;
          for (const p of batch) {
            if (failed) p.reject(failed);
            else p.resolve(result.revision);
          }
        },
        (err: unknown) => {
          for (const p of batch) p.reject(err);
        },
      )
      .finally(() => {
        this.#inFlight = false;
        this.#drain();
      });
  }
}
