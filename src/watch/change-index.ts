/**
 * The watch engine's "something changed" signal: one counter that moves on every change the
 * watch API shows (a detected event, a delivery outcome, a dead letter, a replay, a watch started
 * or stopped, a query error), and waiters parked on it. The API layer turns it into Consul's
 * blocking semantics (`X-Consul-Index`, `?index=&wait=`) for `/v1/agent/watch*`; the watch layer
 * only signals.
 *
 * It reuses the catalog's {@link ScopeIndex} with one scope, so a parked request costs what a
 * parked catalog query costs (one Set entry, no timer).
 *
 * @module
 */
import { ScopeIndex, type WaitSignal } from "../catalog/scopes.js";

const SCOPE = "watches";

export class WatchChangeIndex {
  readonly #scopes = new ScopeIndex();
  // Starts at 1: Consul never answers index 0, and a client sending index=0 does not block.
  #index = 1;

  /** The current index: increases by one on every change. */
  get index(): number {
    return this.#index;
  }

  /** Records one change and wakes every request parked on an older index. */
  bump(): void {
    this.#index++;
    this.#scopes.bump([SCOPE], this.#index);
  }

  /** Resolves once the index passes `after`, or when `signal` aborts. */
  wait(after: number, signal: WaitSignal): Promise<void> {
    if (this.#index > after) return Promise.resolve();
    return this.#scopes.wait(SCOPE, after, signal);
  }

  /** Requests parked right now (for tests). */
  parked(): number {
    return this.#scopes.parked();
  }
}
