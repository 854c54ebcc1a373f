/**
 * A counting semaphore under one KV prefix, as Consul's api.Semaphore: each contender holds
 * `<prefix>/<session>` (its session has the `delete` behaviour), and `<prefix>/.lock` holds
 * `{"Limit":N,"Holders":{"<session>":true,...}}` with the magic flags
 * {@link SEMAPHORE_FLAG_VALUE}, changed only by check-and-set. Holders whose contender key is gone
 * are pruned by whoever next writes it, so a dead holder frees its slot.
 *
 * @module
 */
import { AugurError } from "../lib/errors.js";
import { goPathJoin } from "../lib/go-path.js";
import type { KVPair } from "../catalog/types.js";
import type { ConsulClient } from "./consul-client.js";
import type { Held } from "./lock.js";
import {
  isRetryableError,
  LockStateError,
  SessionRenewer,
  sleep,
  wrapError,
  watchHeld,
} from "./lock-common.js";

/** api.SemaphoreFlagValue: marks a semaphore's keys (a lock's key has another). */
export const SEMAPHORE_FLAG_VALUE = 0xe0f69a2baa414de0n;
/** api.DefaultSemaphoreKey: the coordination key inside the prefix (a lock uses it too). */
export const DEFAULT_SEMAPHORE_KEY = ".lock";
export const DEFAULT_SEMAPHORE_SESSION_NAME = "Consul API Semaphore";
export const DEFAULT_SEMAPHORE_SESSION_TTL = "15s";
export const DEFAULT_SEMAPHORE_WAIT_MS = 15_000;
const DEFAULT_MONITOR_RETRY_MS = 2_000;
/** The most holders a `.lock` value may name before we refuse to decode it (a hostile value). */
const MAX_HOLDERS = 100_000;

export interface SemaphoreOptions {
  readonly prefix: string;
  /** Slots; every contender must agree on it. */
  readonly limit: number;
  /** Written in our contender key; empty by default. */
  readonly value?: Uint8Array;
  readonly sessionName?: string;
  readonly sessionTtl?: string;
  readonly monitorRetries?: number;
  readonly monitorRetryMs?: number;
  readonly waitMs?: number;
  /** Give up once `waitMs` has passed instead of waiting forever. */
  readonly tryOnce?: boolean;
}

/** The `.lock` value (api.semaphoreLock). */
interface SemaphoreLock {
  Limit: number;
  Holders: Record<string, boolean>;
}

export class Semaphore {
  readonly #client: ConsulClient;
  readonly #opts: Required<Omit<SemaphoreOptions, "value">> & { value: Uint8Array };
  readonly #lockKey: string;
  #held = false;
  #session = "";
  #renewer: SessionRenewer | undefined;
  #monitorStop: AbortController | undefined;

  /** api.SemaphoreOpts; throws for a missing prefix or a limit below 1. */
  constructor(client: ConsulClient, options: SemaphoreOptions) {
    if (options.prefix === "") throw new AugurError("BAD_REQUEST", "missing prefix");
    if (!(options.limit > 0))
      throw new AugurError("BAD_REQUEST", "semaphore limit must be positive");
    this.#client = client;
    this.#opts = {
      prefix: options.prefix,
      limit: options.limit,
      value: options.value ?? new Uint8Array(0),
      sessionName: options.sessionName || DEFAULT_SEMAPHORE_SESSION_NAME,
      sessionTtl: options.sessionTtl || DEFAULT_SEMAPHORE_SESSION_TTL,
      monitorRetries: options.monitorRetries ?? 0,
      monitorRetryMs: options.monitorRetryMs || DEFAULT_MONITOR_RETRY_MS,
      waitMs: options.waitMs || DEFAULT_SEMAPHORE_WAIT_MS,
      tryOnce: options.tryOnce ?? false,
    };
    this.#lockKey = goPathJoin(this.#opts.prefix, DEFAULT_SEMAPHORE_KEY);
  }

  /**
   * api.Semaphore.Acquire: makes our contender key, then waits for a free slot and claims it in
   * `.lock` by check-and-set. Resolves undefined when `stop` aborts or, with `tryOnce`, the wait
   * runs out.
   */
  async acquire(stop?: AbortSignal): Promise<Held | undefined> {
    if (this.#held) throw new LockStateError("held", "Semaphore already held");
    let session: string;
    try {
      session = await this.#client.sessionCreate({
        name: this.#opts.sessionName,
        ttl: this.#opts.sessionTtl,
        behavior: "delete",
      });
    } catch (err) {
      throw wrapError("failed to create session", err);
    }
    this.#session = session;
    this.#renewer = new SessionRenewer(this.#client, session, this.#opts.sessionTtl);
    try {
      let made: boolean;
      try {
        made = await this.#client.kvPut(this.#contenderKey(session), this.#opts.value, {
          acquire: session,
          flags: SEMAPHORE_FLAG_VALUE,
        });
      } catch (err) {
        throw wrapError("failed to make contender entry", err);
      }
      // Go formats the nil error here: "failed to make contender entry: <nil>".
      if (!made) throw new AugurError("INVALID_STATE", "failed to make contender entry: <nil>");
      if (!(await this.#claimSlot(session, stop))) return undefined;
      this.#held = true;
      const { stop: monitorStop, lost } = watchHeld((signal) => this.#monitor(session, signal));
      this.#monitorStop = monitorStop;
      return { lost };
    } catch (err) {
      if (stop?.aborted) return undefined;
      throw err;
    } finally {
      // Not acquired: ending the session deletes our contender key (behaviour "delete").
      if (!this.#held) await this.#renewer.stop();
    }
  }

  async #claimSlot(session: string, stop: AbortSignal | undefined): Promise<boolean> {
    const { prefix, limit, tryOnce } = this.#opts;
    const start = performance.now(); // monotonic, as Go's time.Since
    let waitMs = this.#opts.waitMs;
    let waitIndex = 0;
    for (let attempts = 0; ; attempts++) {
      if (stop?.aborted) return false;
      if (tryOnce && attempts > 0) {
        // As api.Semaphore: the elapsed time comes off the remaining wait at every round.
        const elapsed = performance.now() - start;
        if (elapsed >= waitMs) return false;
        waitMs -= elapsed;
      }
      let read;
      try {
        read = await this.#client.kvListIndexed(prefix, { waitIndex, waitMs, signal: stop });
      } catch (err) {
        throw wrapError("failed to read prefix", err);
      }
      const lockPair = this.#findLock(read.value);
      if (BigInt(lockPair.Flags) !== SEMAPHORE_FLAG_VALUE)
        throw new LockStateError("conflict", "Existing key does not match semaphore use");
      const lock = this.#decodeLock(lockPair);
      if (lock.Limit !== limit)
        throw new AugurError(
          "INVALID_STATE",
          `semaphore limit conflict (lock: ${lock.Limit}, local: ${limit})`,
        );
      pruneDeadHolders(lock, read.value);
      if (Object.keys(lock.Holders).length >= lock.Limit) {
        waitIndex = read.lastIndex;
        continue;
      }
      lock.Holders[session] = true;
      let didSet: boolean;
      try {
        didSet = await this.#writeLock(lock, lockPair.ModifyIndex);
      } catch (err) {
        throw wrapError("failed to update lock", err);
      }
      // A lost race with another contender: read again.
      if (didSet) return true;
    }
  }

  /** api.Semaphore.monitorLock: returns once our session is no longer a live holder. */
  async #monitor(session: string, stop: AbortSignal): Promise<void> {
    let waitIndex = 0;
    let retries = this.#opts.monitorRetries;
    while (!stop.aborted) {
      let read;
      try {
        read = await this.#client.kvListIndexed(this.#opts.prefix, {
          consistent: true,
          waitIndex,
          signal: stop,
        });
      } catch (err) {
        if (stop.aborted || retries <= 0 || !isRetryableError(err)) return;
        retries--;
        waitIndex = 0;
        if (await sleep(this.#opts.monitorRetryMs, stop)) return;
        continue;
      }
      let lock: SemaphoreLock;
      try {
        lock = this.#decodeLock(this.#findLock(read.value));
      } catch {
        return;
      }
      pruneDeadHolders(lock, read.value);
      if (!lock.Holders[session]) return;
      retries = this.#opts.monitorRetries;
      waitIndex = read.lastIndex;
    }
  }

  /** api.Semaphore.Release: takes us out of `.lock`, deletes our contender key, ends the session. */
  async release(): Promise<void> {
    if (!this.#held) throw new LockStateError("not-held", "Semaphore not held");
    this.#held = false;
    this.#monitorStop?.abort();
    const session = this.#session;
    this.#session = "";
    try {
      for (;;) {
        const pair = await this.#client.kvGet(this.#lockKey);
        const lock = this.#decodeLock(pair ?? emptyPair(this.#lockKey));
        if (!(session in lock.Holders)) break;
        delete lock.Holders[session];
        let didSet: boolean;
        try {
          didSet = await this.#writeLock(lock, pair?.ModifyIndex ?? 0);
        } catch (err) {
          throw wrapError("failed to update lock", err);
        }
        if (didSet) break;
      }
      await this.#client.kvDelete(this.#contenderKey(session));
    } finally {
      await this.#renewer?.stop();
    }
  }

  /** api.Semaphore.Destroy: deletes `.lock` when no live holder is left in it. */
  async destroy(): Promise<void> {
    if (this.#held) throw new LockStateError("held", "Semaphore already held");
    let pairs: KVPair[];
    try {
      pairs = await this.#client.kvList(this.#opts.prefix);
    } catch (err) {
      throw wrapError("failed to read prefix", err);
    }
    const lockPair = this.#findLock(pairs);
    if (lockPair.ModifyIndex === 0) return;
    if (BigInt(lockPair.Flags) !== SEMAPHORE_FLAG_VALUE)
      throw new LockStateError("conflict", "Existing key does not match semaphore use");
    const lock = this.#decodeLock(lockPair);
    pruneDeadHolders(lock, pairs);
    if (Object.keys(lock.Holders).length > 0)
      throw new LockStateError("in-use", "Semaphore in use");
    let removed: boolean;
    try {
      removed = await this.#client.kvDelete(this.#lockKey, { cas: lockPair.ModifyIndex });
    } catch (err) {
      throw wrapError("failed to remove semaphore", err);
    }
    if (!removed) throw new LockStateError("in-use", "Semaphore in use");
  }

  #contenderKey(session: string): string {
    return goPathJoin(this.#opts.prefix, session);
  }

  /** The `.lock` pair, or an unwritten one (ModifyIndex 0, so a CAS creates it). */
  #findLock(pairs: readonly KVPair[]): KVPair {
    return pairs.find((p) => p.Key === this.#lockKey) ?? emptyPair(this.#lockKey);
  }

  /** api.decodeLock: no value is a fresh lock with our limit. */
  #decodeLock(pair: KVPair): SemaphoreLock {
    if (pair.Value === null || pair.Value === "") return { Limit: this.#opts.limit, Holders: {} };
    let raw: unknown;
    try {
      raw = JSON.parse(Buffer.from(pair.Value, "base64").toString("utf8"));
    } catch (err) {
      throw wrapError("lock decoding failed", err);
    }
    const o = (raw ?? {}) as Partial<SemaphoreLock>;
    const holders = o.Holders ?? {};
    if (
      typeof o !== "object" ||
      (o.Limit !== undefined && !Number.isInteger(o.Limit)) ||
      typeof holders !== "object" ||
      Array.isArray(holders) ||
      Object.keys(holders).length > MAX_HOLDERS
    )
      throw new AugurError("INVALID_STATE", "lock decoding failed: not a semaphore lock");
    return { Limit: o.Limit ?? 0, Holders: { ...holders } };
  }

  /** Writes `.lock` if it is still at `modifyIndex` (0: only if absent). */
  #writeLock(lock: SemaphoreLock, modifyIndex: number): Promise<boolean> {
    const holders = Object.fromEntries(
      Object.keys(lock.Holders)
        .sort()
        .map((h) => [h, true]),
    );
    const value = JSON.stringify({ Limit: lock.Limit, Holders: holders });
    return this.#client.kvPut(this.#lockKey, value, {
      cas: modifyIndex,
      flags: SEMAPHORE_FLAG_VALUE,
    });
  }
}

function emptyPair(key: string): KVPair {
  return {
    Key: key,
    Flags: SEMAPHORE_FLAG_VALUE,
    Value: null,
    LockIndex: 0,
    CreateIndex: 0,
    ModifyIndex: 0,
  };
}

/** Drops holders whose session no longer holds any key under the prefix. */
function pruneDeadHolders(lock: SemaphoreLock, pairs: readonly KVPair[]): void {
  const alive = new Set(pairs.flatMap((p) => (p.Session ? [p.Session] : [])));
  for (const holder of Object.keys(lock.Holders))
    if (!alive.has(holder)) delete lock.Holders[holder];
}
