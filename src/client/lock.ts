/**
 * A mutual-exclusion lock on one KV key, as Consul's api.Lock: a session (TTL 15s, the agent's
 * lock-delay and `release` behaviour) renewed in the background, the key acquired with the magic
 * flags {@link LOCK_FLAG_VALUE} so any Consul client sees it as a lock, and a monitor (a
 * consistent blocking read) that reports when the key no longer names our session.
 *
 * @module
 */
import { AugurError } from "../lib/errors.js";
import type { ConsulClient } from "./consul-client.js";
import {
  isRetryableError,
  LockStateError,
  SessionRenewer,
  sleep,
  wrapError,
  watchHeld,
} from "./lock-common.js";

/** api.LockFlagValue: marks a key used as a lock (a semaphore's `.lock` has another). */
export const LOCK_FLAG_VALUE = 0x2ddccbc058a50c18n;
export const DEFAULT_LOCK_SESSION_NAME = "Consul API Lock";
export const DEFAULT_LOCK_SESSION_TTL = "15s";
/** How long one blocking read waits for the key to free (and so how often a wait is re-checked). */
export const DEFAULT_LOCK_WAIT_MS = 15_000;
/** The pause after a refused acquisition while lock-delay is in effect, so we do not spin. */
export const DEFAULT_LOCK_RETRY_MS = 5_000;
export const DEFAULT_MONITOR_RETRY_MS = 2_000;

export interface LockOptions {
  /** The key; required. */
  readonly key: string;
  /** Written with the lock; empty by default. */
  readonly value?: Uint8Array;
  readonly sessionName?: string;
  /** A Go duration; 15s by default. */
  readonly sessionTtl?: string;
  /** How many retryable errors (transport, 500) the monitor rides out; 0 by default. */
  readonly monitorRetries?: number;
  readonly monitorRetryMs?: number;
  /** One blocking read's wait; with `tryOnce`, the whole time to keep trying. */
  readonly lockWaitMs?: number;
  /** Give up once `lockWaitMs` has passed instead of waiting forever. */
  readonly tryOnce?: boolean;
}

/** A held lock: `lost` aborts when the monitor sees the key taken from us, or fails. */
export interface Held {
  readonly lost: AbortSignal;
}

export class Lock {
  readonly #client: ConsulClient;
  readonly #opts: Required<Omit<LockOptions, "value">> & { value: Uint8Array };
  #held = false;
  #session = "";
  #renewer: SessionRenewer | undefined;
  #monitorStop: AbortController | undefined;

  /** api.LockOpts; throws for a missing key or a bad TTL. */
  constructor(client: ConsulClient, options: LockOptions) {
    if (options.key === "") throw new AugurError("BAD_REQUEST", "missing key");
    this.#client = client;
    this.#opts = {
      key: options.key,
      value: options.value ?? new Uint8Array(0),
      sessionName: options.sessionName || DEFAULT_LOCK_SESSION_NAME,
      sessionTtl: options.sessionTtl || DEFAULT_LOCK_SESSION_TTL,
      monitorRetries: options.monitorRetries ?? 0,
      monitorRetryMs: options.monitorRetryMs || DEFAULT_MONITOR_RETRY_MS,
      lockWaitMs: options.lockWaitMs || DEFAULT_LOCK_WAIT_MS,
      tryOnce: options.tryOnce ?? false,
    };
  }

  /**
   * api.Lock.Lock: waits for the key to be free and acquires it. Resolves undefined when `stop`
   * aborts or, with `tryOnce`, the wait runs out; throws when the key is not a lock or the agent
   * fails. Unlike the Go client, `stop` also cuts short a blocking read in flight.
   */
  async lock(stop?: AbortSignal): Promise<Held | undefined> {
    if (this.#held) throw new LockStateError("held", "Lock already held");
    let session: string;
    try {
      session = await this.#client.sessionCreate({
        name: this.#opts.sessionName,
        ttl: this.#opts.sessionTtl,
      });
    } catch (err) {
      throw wrapError("failed to create session", err);
    }
    this.#session = session;
    this.#renewer = new SessionRenewer(this.#client, session, this.#opts.sessionTtl);
    try {
      const acquired = await this.#acquire(session, stop);
      if (!acquired) return undefined;
      this.#held = true;
      const { stop: monitorStop, lost } = watchHeld((signal) => this.#monitor(session, signal));
      this.#monitorStop = monitorStop;
      return { lost };
    } catch (err) {
      if (stop?.aborted) return undefined;
      throw err;
    } finally {
      // Not acquired: end the session we made for it.
      if (!this.#held) await this.#renewer.stop();
    }
  }

  async #acquire(session: string, stop: AbortSignal | undefined): Promise<boolean> {
    const { key, lockWaitMs, tryOnce } = this.#opts;
    const start = performance.now(); // monotonic, as Go's time.Since
    let waitMs = lockWaitMs;
    let waitIndex = 0;
    for (let attempts = 0; ; attempts++) {
      if (stop?.aborted) return false;
      if (tryOnce && attempts > 0) {
        const elapsed = performance.now() - start;
        if (elapsed >= lockWaitMs) return false;
        waitMs = lockWaitMs - elapsed;
      }
      let read;
      try {
        read = await this.#client.kvGetIndexed(key, { waitIndex, waitMs, signal: stop });
      } catch (err) {
        throw wrapError("failed to read lock", err);
      }
      const pair = read.value;
      if (pair && BigInt(pair.Flags) !== LOCK_FLAG_VALUE)
        throw new LockStateError("conflict", "Existing key does not match lock use");
      if (pair?.Session === session) return true;
      if (pair?.Session) {
        waitIndex = read.lastIndex;
        continue;
      }
      let locked: boolean;
      try {
        locked = await this.#client.kvPut(key, this.#opts.value, {
          acquire: session,
          flags: LOCK_FLAG_VALUE,
          ...(stop ? { signal: stop } : {}),
        });
      } catch (err) {
        throw wrapError("failed to acquire lock", err);
      }
      if (locked) return true;
      // Refused: held by another (wait on it), or free under lock-delay (wait a while).
      const again = await this.#client.kvGetIndexed(key, { waitMs, signal: stop });
      if (again.value?.Session) {
        waitIndex = again.lastIndex;
        continue;
      }
      waitIndex = 0;
      if (await sleep(DEFAULT_LOCK_RETRY_MS, stop)) return false;
    }
  }

  /** api.Lock.monitorLock: returns once the key no longer names `session` (or reads keep failing). */
  async #monitor(session: string, stop: AbortSignal): Promise<void> {
    let waitIndex = 0;
    let retries = this.#opts.monitorRetries;
    while (!stop.aborted) {
      let read;
      try {
        read = await this.#client.kvGetIndexed(this.#opts.key, {
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
      if (read.value?.Session !== session) return;
      retries = this.#opts.monitorRetries;
      waitIndex = read.lastIndex;
    }
  }

  /** api.Lock.Unlock: releases the key and ends the session. */
  async unlock(): Promise<void> {
    if (!this.#held) throw new LockStateError("not-held", "Lock not held");
    this.#held = false;
    this.#monitorStop?.abort();
    const session = this.#session;
    this.#session = "";
    try {
      await this.#client.kvPut(this.#opts.key, this.#opts.value, {
        release: session,
        flags: LOCK_FLAG_VALUE,
      });
    } catch (err) {
      throw wrapError("failed to release lock", err);
    } finally {
      await this.#renewer?.stop();
    }
  }

  /** api.Lock.Destroy: deletes the key when no one holds it; refuses while it is in use. */
  async destroy(): Promise<void> {
    if (this.#held) throw new LockStateError("held", "Lock already held");
    let pair;
    try {
      pair = await this.#client.kvGet(this.#opts.key);
    } catch (err) {
      throw wrapError("failed to read lock", err);
    }
    if (!pair) return;
    if (BigInt(pair.Flags) !== LOCK_FLAG_VALUE)
      throw new LockStateError("conflict", "Existing key does not match lock use");
    if (pair.Session) throw new LockStateError("in-use", "Lock in use");
    let removed: boolean;
    try {
      removed = await this.#client.kvDelete(this.#opts.key, { cas: pair.ModifyIndex });
    } catch (err) {
      throw wrapError("failed to remove lock", err);
    }
    if (!removed) throw new LockStateError("in-use", "Lock in use");
  }
}
