/**
 * TTL checks (Consul CheckTTL): the application reports its own health with
 * `check/pass|warn|fail|update`; each report restarts the clock, and silence for a whole TTL
 * turns the check critical with output `TTL expired (last output before timeout follows): ...`.
 *
 * @module
 */
import type { CheckStatus } from "../catalog/types.js";
import { realClock, type CheckClock, type CheckRunner, type CheckSink } from "./runner.js";

type TtlState = { kind: "idle" } | { kind: "running"; timer: unknown } | { kind: "stopped" };

export class TtlCheckRunner implements CheckRunner {
  #state: TtlState = { kind: "idle" };
  #lastOutput = "";

  constructor(
    private readonly ttlMs: number,
    private readonly sink: CheckSink,
    private readonly clock: CheckClock = realClock,
  ) {}

  get state(): TtlState["kind"] {
    return this.#state.kind;
  }

  start(): void {
    if (this.#state.kind === "idle") this.#arm();
  }

  stop(): void {
    if (this.#state.kind === "running") this.clock.clearTimeout(this.#state.timer);
    this.#state = { kind: "stopped" };
  }

  /** The output restored from before a restart: quoted if the TTL lapses before the next report. */
  restoreOutput(output: string): void {
    this.#lastOutput = output;
  }

  /** Records a status from the API and restarts the TTL clock. */
  update(status: CheckStatus, output: string): void {
    if (this.#state.kind === "stopped") return;
    this.#lastOutput = output;
    this.sink(status, output);
    this.#arm();
  }

  #arm(): void {
    if (this.#state.kind === "running") this.clock.clearTimeout(this.#state.timer);
    this.#state = {
      kind: "running",
      timer: this.clock.setTimeout(() => this.#expire(), this.ttlMs),
    };
  }

  #expire(): void {
    if (this.#state.kind !== "running") return;
    this.#state = { kind: "idle" };
    this.sink("critical", `TTL expired (last output before timeout follows): ${this.#lastOutput}`);
  }
}
