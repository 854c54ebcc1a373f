/**
 * A script handler's next process, started ahead of its delivery: a `/bin/sh` that waits on stdin
 * for the delivery's variables, exports them and `exec`s the handler's command, which then reads
 * the payload from the same stdin. Why: starting a process from the agent means `fork()` of the
 * whole agent (its heap, tens to hundreds of MB of page tables) plus `exec`, about 8 ms on these
 * machines, all of it between the change and the script. Forking while nothing waits moves that
 * cost off the path; a delivery then only writes a few lines to a pipe.
 *
 * What the command sees is what a direct spawn gives it: the same argv (`exec "$@"`), the same
 * process (its pid leads its own process group, so a timeout still kills the group), the same
 * environment (dash sets `PWD`, `IFS`, `OPTIND` and `PPID` and drops variables whose names are
 * not shell names: the script puts the first four back as the agent had them, and a standby is
 * not used at all when the agent's environment has a name dash would drop), and stdin holding
 * only the payload (`read` takes a pipe one byte at a time, so it never reads past its line).
 *
 * A command that is itself `/bin/sh -c <script>` (every Consul `handler` string) runs in place:
 * the waiting dash runs the script after its reads instead of `exec`ing a second dash. Started
 * with the command's own argv0, `$0` and arguments, it is the shell a direct spawn would start,
 * with the same environment; only its `/proc/<pid>/cmdline` shows the reads ahead of the script.
 *
 * States: `starting ──spawned──▶ idle ──take──▶ taken`; `idle ──retire / exit / error──▶ gone`.
 * An idle standby ends when its stdin closes (retire, close, or the agent dying): `read` sees EOF
 * and the shell exits 0.
 *
 * @module
 */
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { accessSync, constants, realpathSync } from "node:fs";
import { basename, join } from "node:path";
import { SCRIPT_ENV, type DeliveryRequest } from "./handler.js";

/** Names dash keeps in the environment; any other name would be dropped on the way to the command. */
const SHELL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Variables dash sets itself when present in its environment (or, for PWD, always). */
const SHELL_SET_VARS = ["IFS", "OPTIND", "PPID", "PWD"] as const;
/** The shell's own scratch variable (the fencing token line). */
const SCRATCH = "_augur_fencing_line";
/**
 * Whether `/bin/sh` is dash (Debian, Ubuntu), the shell whose effect on the environment the
 * program below undoes. bash as `sh` also sets `SHLVL` and `_` for what it runs, which nothing
 * can undo before `exec`: on such systems every delivery starts its process directly.
 */
let shIsDash: boolean | undefined;
function binShIsDash(): boolean {
  if (shIsDash === undefined) {
    try {
      shIsDash = basename(realpathSync("/bin/sh")) === "dash";
    } catch {
      shIsDash = false;
    }
  }
  return shIsDash;
}

/** argv[0] of a waiting shell: what `ps` shows for it. */
export const STANDBY_ARGV0 = "augur-handler-standby";

/** Per-delivery variables, in the order the header carries them (the fencing token last). */
const HEADER_VARS = [
  "CONSUL_INDEX",
  SCRIPT_ENV.eventId,
  SCRIPT_ENV.deliveryId,
  SCRIPT_ENV.watchId,
  SCRIPT_ENV.attempt,
] as const;

const quote = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;

/**
 * The shell program that waits for a delivery, or `undefined` when a standby cannot reproduce a
 * direct spawn's environment exactly (a variable name dash would drop, or one of our own).
 */
export function standbyProgram(env: NodeJS.ProcessEnv, inPlaceScript?: string): string | undefined {
  if (!binShIsDash()) return undefined;
  for (const name of Object.keys(env)) {
    if (!SHELL_NAME.test(name) || name === SCRATCH) return undefined;
  }
  const reads = [...HEADER_VARS, SCRATCH].map((v) => `IFS= read -r ${v}`).join(" && ");
  const setUp = [
    `${reads} || exit 0`,
    `export ${HEADER_VARS.join(" ")}`,
    `case $${SCRATCH} in =*) ${SCRIPT_ENV.fencingToken}=\${${SCRATCH}#=}; export ${SCRIPT_ENV.fencingToken};; esac`,
    `unset ${SCRATCH}`,
  ];
  // The waiting shell is the command's own `sh -c`: nothing of dash's to undo (it started with
  // the same environment a direct spawn's shell starts with). One line before the script, so
  // the script's line numbers in dash's messages are its own.
  if (inPlaceScript !== undefined) return `${setUp.join("; ")};${inPlaceScript}`;
  const restore = SHELL_SET_VARS.map((v) => {
    const value = env[v];
    if (value !== undefined) return `${v}=${quote(value)}; export ${v}`;
    // Unset ones are not exported by dash, except PWD, which it always sets.
    return v === "PWD" ? "unset PWD" : "";
  }).filter(Boolean);
  return [...setUp, ...restore, `exec "$@"`].join("\n");
}

/**
 * The script of a command that is `/bin/sh -c <script> [$0 args...]` (Consul's `handler` string
 * form, `$SHELL -c`, when that shell is /bin/sh): the waiting shell can run it itself instead of
 * `exec`ing a second dash, which costs about 2.5 ms on these machines, on the path to the script.
 */
export function inPlaceScript(
  command: readonly [string, readonly string[]],
  env: NodeJS.ProcessEnv,
): string | undefined {
  const [cmd, args] = command;
  if (args[0] !== "-c" || args.length < 2 || !resolvesToBinSh(cmd, env)) return undefined;
  return args[1];
}

/** Whether `cmd`, looked up as a spawn looks it up (the child's PATH), is the file /bin/sh is. */
function resolvesToBinSh(cmd: string, env: NodeJS.ProcessEnv): boolean {
  const candidates = cmd.includes("/")
    ? [cmd]
    : (env["PATH"] ?? "").split(":").map((dir) => join(dir === "" ? "." : dir, cmd));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return realpathSync(candidate) === realpathSync("/bin/sh");
    } catch {
      // Not there or not executable: the lookup goes on, as execvp's does.
    }
  }
  return false;
}

/** The lines a standby reads before the payload, or `undefined` if a value has a line break. */
export function standbyHeader(request: DeliveryRequest): string | undefined {
  const values = [
    request.index,
    request.eventId,
    request.deliveryId,
    request.watchId,
    String(request.attempt),
    request.fencingToken === undefined ? "" : `=${request.fencingToken}`,
  ];
  if (values.some((v) => v.includes("\n") || v.includes("\r") || v.includes("\0")))
    return undefined;
  return `${values.join("\n")}\n`;
}

/** One waiting shell. */
export class StandbyShell {
  #state: "idle" | "taken" | "gone" = "idle";
  readonly #child: ChildProcess;
  /** Which environment it was started with (the handler's hidden set can change on reload). */
  readonly envKey: string;
  #idleTimer: NodeJS.Timeout | undefined;

  private constructor(child: ChildProcess, envKey: string, idleMs: number) {
    this.#child = child;
    this.envKey = envKey;
    child.once("error", this.#onGone);
    child.once("exit", this.#onGone);
    child.stdin?.on("error", () => undefined);
    // Waiting must not keep the agent's event loop alive, nor outlive the agent's interest.
    this.#unref();
    this.#idleTimer = setTimeout(() => this.retire(), idleMs);
    this.#idleTimer.unref();
  }

  /** Starts a shell for `command`; `undefined` if it could not be started (the direct path then). */
  static start(
    command: readonly [string, readonly string[]],
    env: NodeJS.ProcessEnv,
    envKey: string,
    idleMs: number,
  ): StandbyShell | undefined {
    const script = inPlaceScript(command, env);
    const program = standbyProgram(env, script);
    if (program === undefined) return undefined;
    const [cmd, args] = command;
    const options: SpawnOptions = { env, detached: true, stdio: ["pipe", "pipe", "pipe"] };
    try {
      // In place: argv as the direct spawn's (`sh -c`, then its own $0 and arguments if any)
      // with the set-up ahead of the script; otherwise a marked shell that `exec`s the command.
      const child =
        script !== undefined
          ? spawn("/bin/sh", ["-c", program, ...args.slice(2)], { ...options, argv0: cmd })
          : spawn("/bin/sh", ["-c", program, STANDBY_ARGV0, cmd, ...args], options);
      if (child.pid === undefined) {
        child.on("error", () => undefined);
        return undefined;
      }
      return new StandbyShell(child, envKey, idleMs);
    } catch {
      return undefined;
    }
  }

  get pid(): number | undefined {
    return this.#state === "idle" ? this.#child.pid : undefined;
  }

  /** Hands the process over to a delivery (which writes the header and payload); `undefined` if it is gone. */
  take(): ChildProcess | undefined {
    if (this.#state !== "idle" || this.#child.exitCode !== null || this.#child.signalCode !== null)
      return undefined;
    this.#state = "taken";
    clearTimeout(this.#idleTimer);
    this.#child.off("error", this.#onGone).off("exit", this.#onGone);
    this.#ref();
    return this.#child;
  }

  /** Ends a waiting shell: its stdin closes, `read` sees EOF, it exits 0. */
  retire(): void {
    if (this.#state !== "idle") return;
    this.#gone();
    this.#child.stdin?.end();
    this.#child.stdout?.destroy();
    this.#child.stderr?.destroy();
  }

  readonly #onGone = (): void => this.#gone();

  #gone(): void {
    if (this.#state === "idle") this.#state = "gone";
    clearTimeout(this.#idleTimer);
  }

  #unref(): void {
    this.#child.unref();
    for (const s of [this.#child.stdin, this.#child.stdout, this.#child.stderr])
      (s as unknown as { unref?: () => void } | null)?.unref?.();
  }

  #ref(): void {
    this.#child.ref();
    for (const s of [this.#child.stdin, this.#child.stdout, this.#child.stderr])
      (s as unknown as { ref?: () => void } | null)?.ref?.();
  }

  get state(): "idle" | "taken" | "gone" {
    return this.#state;
  }
}
