/**
 * The check-runner contract and the periodic probe loop every interval check shares.
 *
 * A runner is a small state machine: `idle` → `running` (waiting for the next probe) ⇄
 * `probing` (a probe in flight) → `stopped`. A probe never overlaps the previous one: when the
 * interval fires while a probe is still running, that tick is skipped (Consul: "runs never
 * overlap"). Results pass through the status thresholds before they reach the sink.
 *
 * @module
 */
import type { CheckStatus } from "../catalog/types.js";
import { AugurError } from "../lib/errors.js";

/** Where results go: the agent's local state. */
export type CheckSink = (status: CheckStatus, output: string) => void;

/** Timers, injectable so tests can fake time. */
export interface CheckClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * Node's timers hold at most 2^31-1 ms (about 24.8 days); a longer delay fires after 1 ms with a
 * TimeoutOverflowWarning. Consul accepts any Go duration for a TTL or interval, so long delays
 * are waited out in steps of at most this much.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A timer that may be longer than Node allows: waited out in steps, counting what each step
 * waited (timers run on the monotonic clock), so a step of the wall clock neither delays it nor
 * fires it early.
 */
class LongTimer {
  #timer: NodeJS.Timeout | undefined;

  constructor(fn: () => void, ms: number) {
    const arm = (left: number): void => {
      const step = Math.min(Math.max(0, left), MAX_TIMER_MS);
      this.#timer = setTimeout(() => (left - step > 0 ? arm(left - step) : fn()), step);
      this.#timer.unref();
    };
    arm(ms);
  }

  clear(): void {
    clearTimeout(this.#timer);
  }
}

/** Intervals are measured on the monotonic clock: a wall-clock step must not stall a check. */
export const realClock: CheckClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => new LongTimer(fn, ms),
  clearTimeout: (h) => (h as LongTimer).clear(),
};

/** A probe timeout Node can arm: a timeout over 24.8 days is, for a probe, no timeout at all. */
export function probeTimeoutMs(ms: number): number {
  return Math.min(ms, MAX_TIMER_MS);
}

export interface CheckRunner {
  start(): void;
  stop(): void;
  readonly state: RunnerState["kind"];
}

export type RunnerState =
  | { kind: "idle" }
  | { kind: "running"; timer: unknown }
  | { kind: "probing" }
  | { kind: "stopped" };

/** The outcome of one probe, before thresholds. */
export interface ProbeResult {
  readonly status: CheckStatus;
  readonly output: string;
}

export type Probe = (signal: AbortSignal) => Promise<ProbeResult>;

/** Consul's RandomStagger: the first probe waits a random part of the interval. */
export function randomStagger(intervalMs: number): number {
  return Math.floor(Math.random() * intervalMs);
}

/** Runs `probe` every `intervalMs` with no overlap; stop() aborts a probe in flight. */
export class IntervalRunner implements CheckRunner {
  #state: RunnerState = { kind: "idle" };
  #abort: AbortController | undefined;

  constructor(
    private readonly probe: Probe,
    private readonly intervalMs: number,
    private readonly sink: CheckSink,
    private readonly clock: CheckClock = realClock,
    private readonly firstDelayMs: number = randomStagger(intervalMs),
  ) {}

  get state(): RunnerState["kind"] {
    return this.#state.kind;
  }

  start(): void {
    if (this.#state.kind !== "idle") return;
    this.#schedule(this.firstDelayMs);
  }

  stop(): void {
    if (this.#state.kind === "running") this.clock.clearTimeout(this.#state.timer);
    this.#abort?.abort();
    this.#state = { kind: "stopped" };
  }

  #schedule(ms: number): void {
    this.#state = { kind: "running", timer: this.clock.setTimeout(() => this.#tick(), ms) };
  }

  #tick(): void {
    if (this.#state.kind !== "running")
      throw new AugurError("INTERNAL", `check runner ticked in state ${this.#state.kind}`);
    this.#state = { kind: "probing" };
    const abort = new AbortController();
    this.#abort = abort;
    const started = this.clock.now();
    this.probe(abort.signal)
      .catch((err: unknown): ProbeResult => ({
        status: "critical",
        output: err instanceof Error ? err.message : String(err),
      }))
      .then((result) => {
        if (this.#state.kind === "stopped") return;
        this.sink(result.status, result.output);
        // The next probe starts one interval after this one started, or at once if it overran.
        this.#schedule(Math.max(0, this.intervalMs - (this.clock.now() - started)));
      })
      .catch(() => undefined);
  }
}

/** Consul's StatusHandler: success_before_passing, failures_before_warning/critical. */
export class StatusThresholds {
  #successes = 0;
  #failures = 0;

  constructor(
    private readonly successBeforePassing: number,
    private readonly failuresBeforeWarning: number,
    private readonly failuresBeforeCritical: number,
    private readonly sink: CheckSink,
  ) {}

  report: CheckSink = (status, output) => {
    if (status === "passing" || status === "warning") {
      this.#successes++;
      this.#failures = 0;
      if (this.#successes >= this.successBeforePassing) this.sink(status, output);
      return;
    }
    this.#failures++;
    this.#successes = 0;
    if (this.#failures >= this.failuresBeforeCritical) this.sink("critical", output);
    else if (this.#failures >= this.failuresBeforeWarning) this.sink("warning", output);
  };
}
