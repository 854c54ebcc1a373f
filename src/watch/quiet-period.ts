/**
 * Quiet period with a maximum (consul-template's `wait {min, max}`): after a change, wait until
 * no further change has come for `quietMs`, but never longer than `maxMs` after the first change
 * of the burst, then deliver once with the latest state.
 *
 * `idle ──touch──▶ waiting ──due──▶ idle` (the caller flushes when due).
 *
 * @module
 */

export class QuietPeriod {
  readonly #quietMs: number;
  readonly #maxMs: number;
  #first: number | undefined;
  #last: number | undefined;

  constructor(quietMs: number, maxMs: number) {
    this.#quietMs = quietMs;
    this.#maxMs = Math.max(maxMs, quietMs);
  }

  get waiting(): boolean {
    return this.#first !== undefined;
  }

  /** A change arrived at `now`. */
  touch(now: number): void {
    this.#first ??= now;
    this.#last = now;
  }

  /** When the burst should be delivered, or undefined when idle. */
  dueAt(): number | undefined {
    if (this.#first === undefined || this.#last === undefined) return undefined;
    return Math.min(this.#last + this.#quietMs, this.#first + this.#maxMs);
  }

  /** The burst was delivered. */
  reset(): void {
    this.#first = undefined;
    this.#last = undefined;
  }
}
