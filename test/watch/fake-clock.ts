/**
 * A hand-driven clock for watch tests: timers fire only when `advance` passes their time.
 *
 * @module
 */
import type { Clock, TimerHandle } from "../../src/watch/clock.js";

export class FakeClock implements Clock {
  #now: number;
  #next = 1;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();

  constructor(start = 1_700_000_000_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimer(fn: () => void, ms: number): TimerHandle {
    const id = this.#next++;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), fn });
    return { id };
  }

  clearTimer(handle: TimerHandle): void {
    this.#timers.delete(handle.id);
  }

  get pending(): number {
    return this.#timers.size;
  }

  /**
   * Steps the wall clock (NTP, a resumed VM) without moving the timers, which, like Node's, run
   * on the monotonic clock: each still fires after the rest of its own delay.
   */
  step(ms: number): void {
    this.#now += ms;
    for (const t of this.#timers.values()) t.at += ms;
  }

  /** Moves time forward, firing due timers in time order and letting promise chains settle between them. */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    for (;;) {
      await settle();
      const due = [...this.#timers.entries()]
        .filter(([, t]) => t.at <= end)
        .sort((a, b) => a[1].at - b[1].at)[0];
      if (due === undefined) break;
      this.#timers.delete(due[0]);
      this.#now = Math.max(this.#now, due[1].at);
      due[1].fn();
    }
    this.#now = end;
    await settle();
  }
}

/** Lets pending promise callbacks (and one macrotask turn) run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}
