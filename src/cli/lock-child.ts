/**
 * The child `augur lock` runs while it holds the lock, as Consul's command/lock runs it: through
 * `$SHELL -c` (or /bin/sh) with the words joined, or directly with `-shell=false`;
 * `CONSUL_LOCK_HELD=true` in its environment; stdin only with `-pass-stdin`; stdout and stderr
 * shared. It is stopped with SIGTERM, then SIGKILL after a grace period.
 *
 * @module
 */
import { spawn, type ChildProcess, type StdioOptions } from "node:child_process";
import { constants } from "node:os";
import type { CliIo } from "./command.js";

/** Consul's lockKillGracePeriod: between SIGTERM and SIGKILL (a third of the lock-delay). */
export const LOCK_KILL_GRACE_MS = 5_000;

/** Go's names for the signals a child is most often ended by (os.ProcessState.String). */
const GO_SIGNAL_NAMES: Partial<Record<NodeJS.Signals, string>> = {
  SIGTERM: "terminated",
  SIGKILL: "killed",
  SIGINT: "interrupt",
  SIGHUP: "hangup",
  SIGQUIT: "quit",
  SIGABRT: "aborted",
  SIGSEGV: "segmentation fault",
  SIGPIPE: "broken pipe",
};

export interface ChildOptions {
  readonly words: readonly string[];
  readonly shell: boolean;
  readonly passStdin: boolean;
  readonly io: CliIo;
}

/** A started child. `exited` resolves undefined on exit 0, else Go's wording (`exit status 2`). */
export interface LockChild {
  readonly proc: ChildProcess;
  readonly exited: Promise<string | undefined>;
}

/**
 * Starts the child; resolves the error text Consul prints after "Error starting handler: " when
 * it cannot start (`exec: "x": executable file not found in $PATH`).
 */
export async function startChild(options: ChildOptions): Promise<LockChild | string> {
  const { words, shell, passStdin, io } = options;
  const env: NodeJS.ProcessEnv = { ...io.env, CONSUL_LOCK_HELD: "true" };
  const [cmd, args] = shell
    ? [env["SHELL"] || "/bin/sh", ["-c", words.join(" ")]]
    : [words[0] ?? "", words.slice(1)];
  // The process's own streams are handed over as they are (a terminal stays a terminal);
  // captured streams (in-process callers) are piped through.
  const own = io.stdout === process.stdout && io.stderr === process.stderr;
  const stdio: StdioOptions = [
    passStdin && io.stdin === process.stdin ? "inherit" : passStdin ? "pipe" : "ignore",
    own ? "inherit" : "pipe",
    own ? "inherit" : "pipe",
  ];
  const proc = spawn(cmd, args, { env, stdio });
  const started = await new Promise<string | undefined>((resolve) => {
    proc.once("spawn", () => resolve(undefined));
    proc.once("error", (err: NodeJS.ErrnoException) =>
      resolve(
        err.code === "ENOENT" && !cmd.includes("/")
          ? `exec: ${JSON.stringify(cmd)}: executable file not found in $PATH`
          : `fork/exec ${cmd}: ${err.message}`,
      ),
    );
  });
  if (started !== undefined) return started;
  proc.stdout?.on("data", (d: Buffer) => io.stdout.write(d));
  proc.stderr?.on("data", (d: Buffer) => io.stderr.write(d));
  if (proc.stdin) {
    proc.stdin.on("error", () => undefined);
    void pipeStdin(io.stdin, proc.stdin);
  }
  const exited = new Promise<string | undefined>((resolve) => {
    proc.once("exit", (code, signal) => {
      if (code === 0) resolve(undefined);
      else if (code !== null) resolve(`exit status ${code}`);
      else
        resolve(
          `signal: ${(signal && GO_SIGNAL_NAMES[signal]) ?? `signal ${signal ? constants.signals[signal] : "?"}`}`,
        );
    });
  });
  return { proc, exited };
}

async function pipeStdin(
  from: AsyncIterable<string | Buffer>,
  to: NodeJS.WritableStream,
): Promise<void> {
  try {
    for await (const chunk of from) to.write(chunk);
  } catch {
    // The child closed its stdin; what it did not read is dropped, as Go's io.Copy would stop.
  }
  to.end();
}

/**
 * Consul's killChild: SIGTERM, then SIGKILL if the child has not exited after the grace period.
 * `log` hears Consul's verbose lines. Resolves once the child has exited.
 */
export async function killChild(
  child: LockChild,
  graceMs: number,
  log: (line: string) => void,
): Promise<void> {
  const pid = child.proc.pid ?? 0;
  log(`Terminating child pid ${pid}`);
  if (child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill("SIGTERM");
  let timer: NodeJS.Timeout | undefined;
  const graceOver = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), graceMs);
  });
  const graceExpired = await Promise.race([child.exited.then(() => false), graceOver]);
  clearTimeout(timer);
  if (!graceExpired) {
    log("Child terminated");
    return;
  }
  log(`Child did not exit after grace period of ${graceMs / 1000}s`);
  log(`Killing child pid ${pid}`);
  child.proc.kill("SIGKILL");
  await child.exited;
}
