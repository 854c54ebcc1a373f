/**
 * Consul's script handler (agent/watch_handler.go makeWatchHandler): `args` exec'd without a
 * shell, or the deprecated `handler` string through `$SHELL -c` (falling back to /bin/sh); the
 * payload on stdin as compact JSON plus a newline; `CONSUL_INDEX` in the environment; stdout and
 * stderr captured (last 4 KB by default).
 *
 * augur adds: a timeout after which the whole process group gets SIGTERM, then SIGKILL; exit 75
 * (EX_TEMPFAIL) means "retry"; any other non-zero exit is permanent, and so is a command that
 * cannot be started, unless the system is out of file descriptors, processes or memory (EMFILE,
 * ENFILE, EAGAIN, ENOMEM), which is retried; the event id and attempt in the environment for
 * deduplication.
 *
 * One run: `spawned ──exit──▶ done`, `spawned ──timeout/abort──▶ terminating (SIGTERM)
 * ──grace──▶ killing (SIGKILL) ──exit──▶ done`.
 *
 * @module
 */
import { spawn, type ChildProcess } from "node:child_process";
import { OutputBuffer } from "../output-buffer.js";
import type { DeliveryOutcome } from "../retry.js";
import { withoutEnv } from "../signing.js";
import type { ScriptHandlerDefinition } from "../types.js";
import { SCRIPT_ENV, type DeliveryRequest, type Handler } from "./handler.js";
import { StandbyShell, standbyHeader } from "./standby-shell.js";

/** sysexits.h EX_TEMPFAIL: "temporary failure, the user is invited to retry". */
export const EXIT_TEMPFAIL = 75;

export interface ScriptHandlerOptions {
  /** The agent's environment (default `process.env`); `CONSUL_INDEX` etc. are added. */
  readonly env?: NodeJS.ProcessEnv;
  /**
   * Variables of `env` never passed to the script: the signing secrets of HTTP handlers. A live
   * set (the manager adds to it on reload), read at every delivery.
   */
  readonly hiddenEnv?: ReadonlySet<string>;
  /** Time between SIGTERM and SIGKILL (default 3 s). */
  readonly killGraceMs?: number;
  /**
   * How long a shell started ahead for the next delivery waits before it ends (default 5 min;
   * 0: none, every delivery starts its process itself). See {@link StandbyShell}.
   */
  readonly standbyIdleMs?: number;
}

/** A handler without deliveries for this long stops keeping a shell waiting. */
export const STANDBY_IDLE_MS = 5 * 60_000;

/** How long to wait for stdout/stderr to close once the process has exited (a grandchild may hold them). */
const DRAIN_MS = 200;

export class ScriptHandler implements Handler {
  readonly kind = "script" as const;
  readonly target: string;
  readonly #def: ScriptHandlerDefinition;
  readonly #env: NodeJS.ProcessEnv;
  readonly #hiddenEnv: ReadonlySet<string>;
  readonly #killGraceMs: number;
  readonly #standbyIdleMs: number;
  #standby: StandbyShell | undefined;
  #closed = false;

  constructor(def: ScriptHandlerDefinition, options: ScriptHandlerOptions = {}) {
    this.#def = def;
    this.#env = options.env ?? process.env;
    this.#hiddenEnv = options.hiddenEnv ?? new Set();
    this.#killGraceMs = options.killGraceMs ?? 3000;
    this.#standbyIdleMs = options.standbyIdleMs ?? STANDBY_IDLE_MS;
    this.target = def.args ? def.args.join(" ") : (def.shellCommand ?? "");
  }

  /** The command: `args` directly, or `$SHELL -c <handler>` as Consul's exec.Script does. */
  #command(): [string, string[]] {
    if (this.#def.args) return [this.#def.args[0] as string, this.#def.args.slice(1)];
    const shell = this.#env["SHELL"] || "/bin/sh";
    return [shell, ["-c", this.#def.shellCommand ?? ""]];
  }

  deliver(request: DeliveryRequest, signal: AbortSignal): Promise<DeliveryOutcome> {
    const header = standbyHeader(request);
    const standby = header !== undefined ? this.#takeStandby() : undefined;
    return new Promise((resolve) => {
      let child: ChildProcess | undefined = standby;
      if (child === undefined) {
        try {
          child = this.#spawn(request);
        } catch (err) {
          resolve(spawnFailure(err as NodeJS.ErrnoException));
          return;
        }
      }
      const started = child.pid !== undefined;
      const finished = (outcome: DeliveryOutcome): void => {
        // This handler's next delivery cannot start before this one ends (deliveries are in
        // order): its process is started now, between them, instead of after the next change.
        // Only after a command that could be started: one that cannot is reported by spawn.
        if (started && !signal.aborted) this.#prepareStandby();
        resolve(outcome);
      };
      const input = `${standby ? header : ""}${request.body}\n`;
      new ScriptRun(child, this.#def, this.#killGraceMs, signal, finished).begin(input);
    });
  }

  #spawn(request: DeliveryRequest): ChildProcess {
    const [cmd, args] = this.#command();
    const env = {
      ...withoutEnv(this.#env, this.#hiddenEnv),
      CONSUL_INDEX: request.index,
      [SCRIPT_ENV.eventId]: request.eventId,
      [SCRIPT_ENV.deliveryId]: request.deliveryId,
      [SCRIPT_ENV.watchId]: request.watchId,
      [SCRIPT_ENV.attempt]: String(request.attempt),
      ...(request.fencingToken !== undefined
        ? { [SCRIPT_ENV.fencingToken]: request.fencingToken }
        : {}),
    };
    // detached: the script leads its own process group, so a timeout can kill its children too.
    return spawn(cmd, args, { env, detached: true, stdio: ["pipe", "pipe", "pipe"] });
  }

  /** The pid of the shell waiting for the next delivery, if one is (for tests and `ps`). */
  get standbyPid(): number | undefined {
    return this.#standby?.pid;
  }

  /** Ends the waiting shell; later deliveries start their process directly. */
  close(): void {
    this.#closed = true;
    this.#standby?.retire();
    this.#standby = undefined;
  }

  #hiddenKey(): string {
    return [...this.#hiddenEnv].sort().join("\0");
  }

  #takeStandby(): ChildProcess | undefined {
    const standby = this.#standby;
    this.#standby = undefined;
    if (standby === undefined) return undefined;
    // A reload may have hidden another secret since it started: its environment is stale.
    if (standby.envKey !== this.#hiddenKey()) {
      standby.retire();
      return undefined;
    }
    return standby.take();
  }

  #prepareStandby(): void {
    if (this.#closed || this.#standbyIdleMs <= 0) return;
    if (this.#standby?.state === "idle") return;
    this.#standby = StandbyShell.start(
      this.#command(),
      withoutEnv(this.#env, this.#hiddenEnv),
      this.#hiddenKey(),
      this.#standbyIdleMs,
    );
  }
}

/** One execution of the script. */
class ScriptRun {
  readonly #output: OutputBuffer;
  #state: "running" | "terminating" | "killing" | "done" = "running";
  #why: "timeout" | "abort" | undefined;
  #timers: NodeJS.Timeout[] = [];
  #spawnError: Error | undefined;

  constructor(
    private readonly child: ChildProcess,
    private readonly def: ScriptHandlerDefinition,
    private readonly killGraceMs: number,
    private readonly signal: AbortSignal,
    private readonly resolve: (o: DeliveryOutcome) => void,
  ) {
    this.#output = new OutputBuffer(def.outputMaxSize);
  }

  begin(input: string): void {
    const { child } = this;
    child.stdout?.on("data", (d: Buffer) => this.#output.write(d));
    child.stderr?.on("data", (d: Buffer) => this.#output.write(d));
    // A handler that does not read stdin must not fail the delivery (Consul ignores EPIPE too).
    child.stdin?.on("error", () => undefined);
    child.stdin?.end(input);
    child.once("error", (err) => {
      this.#spawnError = err;
      if (child.pid === undefined) this.#finish(null, null);
    });
    child.once("exit", (code, sig) => this.#onExit(code, sig));
    if (this.def.timeoutMs > 0)
      this.#timers.push(setTimeout(() => this.#terminate("timeout"), this.def.timeoutMs));
    if (this.signal.aborted) this.#terminate("abort");
    else this.signal.addEventListener("abort", this.#onAbort, { once: true });
  }

  readonly #onAbort = (): void => this.#terminate("abort");

  #terminate(why: "timeout" | "abort"): void {
    if (this.#state !== "running") return;
    this.#why = why;
    this.#state = "terminating";
    this.#killGroup("SIGTERM");
    this.#timers.push(
      setTimeout(() => {
        if (this.#state !== "terminating") return;
        this.#state = "killing";
        this.#killGroup("SIGKILL");
      }, this.killGraceMs),
    );
  }

  #killGroup(sig: NodeJS.Signals): void {
    const pid = this.child.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, sig);
    } catch {
      // Already gone.
    }
  }

  #onExit(code: number | null, sig: NodeJS.Signals | null): void {
    // Wait briefly for the pipes so the captured output is complete, but do not hang on a
    // grandchild that keeps them open.
    const streams = [this.child.stdout, this.child.stderr].filter((s) => s !== null && !s.closed);
    if (streams.length === 0) return this.#finish(code, sig);
    let open = streams.length;
    const timer = setTimeout(() => {
      for (const s of streams) s?.destroy();
      this.#finish(code, sig);
    }, DRAIN_MS);
    for (const s of streams)
      s?.once("close", () => {
        if (--open === 0) {
          clearTimeout(timer);
          this.#finish(code, sig);
        }
      });
  }

  #finish(code: number | null, sig: NodeJS.Signals | null): void {
    if (this.#state === "done") return;
    this.#state = "done";
    for (const t of this.#timers) clearTimeout(t);
    this.signal.removeEventListener("abort", this.#onAbort);
    this.resolve({
      ...classify(code, sig, this.#why, this.def.timeoutMs, this.#spawnError),
      output: this.#output.toString(),
    });
  }
}

/**
 * Spawn errors that say "not now" rather than "never": the agent (or the machine) is out of file
 * descriptors, processes or memory. The handler is fine and a later attempt can run it, so these
 * are retried with backoff instead of dead-lettering every event that arrives meanwhile.
 */
const TRANSIENT_SPAWN_ERRORS = new Set(["EMFILE", "ENFILE", "EAGAIN", "ENOMEM"]);

function spawnFailure(err: NodeJS.ErrnoException): DeliveryOutcome {
  if (err.code !== undefined && TRANSIENT_SPAWN_ERRORS.has(err.code)) {
    return {
      kind: "retry",
      error: `Failed to run watch handler: ${err.message} (out of ${err.code === "EMFILE" || err.code === "ENFILE" ? "file descriptors" : "processes or memory"}; will retry)`,
    };
  }
  return { kind: "permanent", error: `Failed to run watch handler: ${err.message}` };
}

function classify(
  code: number | null,
  sig: NodeJS.Signals | null,
  why: "timeout" | "abort" | undefined,
  timeoutMs: number,
  spawnError: Error | undefined,
): DeliveryOutcome {
  if (spawnError && code === null && sig === null) return spawnFailure(spawnError);
  if (why === "timeout")
    return { kind: "retry", error: `handler timed out after ${timeoutMs}ms; process group killed` };
  if (why === "abort") return { kind: "retry", error: "delivery aborted (agent stopping)" };
  if (code === 0) return { kind: "delivered" };
  if (code === EXIT_TEMPFAIL)
    return { kind: "retry", error: `exit status ${EXIT_TEMPFAIL} (EX_TEMPFAIL)` };
  if (code !== null) return { kind: "permanent", error: `exit status ${code}` };
  return { kind: "permanent", error: `signal: ${sig ?? "unknown"}` };
}
