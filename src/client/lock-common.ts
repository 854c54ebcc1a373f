/**
 * What {@link Lock} and {@link Semaphore} share, as Consul's api package has it: the states a
 * lock can refuse an operation in, the periodic session renewal (`Session.RenewPeriodic`), the
 * test for errors a monitor may ride out (`IsRetryableError`), and an abortable sleep.
 *
 * @module
 */
import { parseGoDuration } from "../lib/duration.js";
import { AugurError, isAugurError } from "../lib/errors.js";
import type { ConsulClient } from "./consul-client.js";

/** How long ending a lock waits for the session destroy before leaving it to its TTL. */
const DESTROY_TIMEOUT_MS = 10_000;

/** Why a lock or semaphore refused an operation (api.ErrLockHeld, ErrSemaphoreInUse, ...). */
export type LockRefusal = "held" | "not-held" | "in-use" | "conflict";

/** A lock or semaphore operation refused in its current state, in Consul's words. */
export class LockStateError extends AugurError {
  readonly refusal: LockRefusal;

  constructor(refusal: LockRefusal, message: string) {
    super("INVALID_STATE", message);
    this.refusal = refusal;
  }
}

/** `<what>: <err>`, as Go's fmt.Errorf("...: %v", err), keeping the cause's code. */
export function wrapError(what: string, err: unknown): AugurError {
  const message = err instanceof Error ? err.message : String(err);
  return new AugurError(isAugurError(err) ? err.code : "INTERNAL", `${what}: ${message}`, {
    cause: err,
  });
}

/** api.IsRetryableError: a transport failure or a 500 answer. */
export function isRetryableError(err: unknown): boolean {
  if (isAugurError(err, "UNREACHABLE")) return true;
  return err instanceof Error && err.message.includes("Unexpected response code: 500");
}

/** Resolves after `ms`, or early (true) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(false);
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * api.Session.RenewPeriodic: renews `id` every TTL/2 (the TTL the agent answers with), retrying
 * a failed renewal every second until a whole TTL has passed without one; gives up when the agent
 * no longer knows the session. `stop()` ends it and destroys the session (awaited, where the Go
 * client fires and forgets: a command that exits right after would leave the session to expire).
 */
export class SessionRenewer {
  readonly #client: ConsulClient;
  readonly #id: string;
  readonly #done = new AbortController();
  readonly #loop: Promise<void>;

  constructor(client: ConsulClient, id: string, initialTtl: string) {
    this.#client = client;
    this.#id = id;
    this.#loop = this.#run(parseGoDuration(initialTtl) ?? 15_000);
  }

  async #run(initialTtlMs: number): Promise<void> {
    let ttl = initialTtlMs;
    let wait = ttl / 2;
    // Monotonic, as Go's time.Since: a step of the wall clock must not end (or stretch) the
    // whole-TTL grace for failed renewals.
    let lastRenew = performance.now();
    const signal = this.#done.signal;
    while (performance.now() - lastRenew <= ttl) {
      if (await sleep(wait, signal)) return;
      try {
        const entry = await this.#client.sessionRenew(this.#id, { signal });
        if (!entry) return;
        ttl = parseGoDuration(entry.TTL) ?? ttl;
        wait = ttl / 2;
        lastRenew = performance.now();
      } catch {
        if (signal.aborted) return;
        wait = 1000;
      }
    }
  }

  /** Stops renewing and destroys the session; a failed destroy is left to the TTL, as Consul. */
  async stop(): Promise<void> {
    this.#done.abort();
    await this.#loop;
    // Bounded: an agent that accepts the connection and never answers must not hold us here.
    await this.#client
      .sessionDestroy(this.#id, { signal: AbortSignal.timeout(DESTROY_TIMEOUT_MS) })
      .catch(() => undefined);
  }
}

/**
 * Starts watching a lock or semaphore slot just acquired: `stop` ends the watch (unlock, release),
 * and `lost` aborts once it has ended for any reason, as api.Lock's and api.Semaphore's lockCh.
 */
export function watchHeld(monitor: (signal: AbortSignal) => Promise<unknown>): {
  stop: AbortController;
  lost: AbortSignal;
} {
  const stop = new AbortController();
  const lost = new AbortController();
  void monitor(stop.signal).finally(() => lost.abort());
  return { stop, lost: lost.signal };
}
