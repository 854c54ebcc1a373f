/**
 * Time, injectable: every timer in the watch engine (backoff, quiet period, hold, flap window,
 * retry) goes through a {@link Clock} so tests can drive time by hand.
 *
 * @module
 */

export type TimerHandle = { readonly id: number };

export interface Clock {
  now(): number;
  setTimer(fn: () => void, ms: number): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

let nextId = 1;

/** The real clock: `Date.now` and unref'd timers (a pending retry must not keep a CLI alive). */
export function systemClock(now: () => number = Date.now): Clock {
  const timers = new Map<number, NodeJS.Timeout>();
  return {
    now,
    setTimer(fn, ms) {
      const id = nextId++;
      const t = setTimeout(
        () => {
          timers.delete(id);
          fn();
        },
        Math.max(0, ms),
      );
      t.unref();
      timers.set(id, t);
      return { id };
    },
    clearTimer(handle) {
      const t = timers.get(handle.id);
      if (t !== undefined) clearTimeout(t);
      timers.delete(handle.id);
    },
  };
}

/** Resolves after `ms` on `clock`, or at once (without throwing) when `signal` aborts. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clock.clearTimer(handle);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const handle = clock.setTimer(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
