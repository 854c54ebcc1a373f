/**
 * `augur lock [options] prefix child...` — Consul's command/lock: hold a lock (`-n 1`, api.Lock
 * on `<prefix>/.lock`) or a semaphore slot (`-n N`, api.Semaphore under `<prefix>/`) while a
 * child runs. The child is stopped (SIGTERM, SIGKILL after 5 s) when the lock is lost or augur
 * gets SIGINT/SIGTERM (forwarded to the child as well); then the lock is released, the session
 * destroyed, and the lock key removed if no one else holds it.
 *
 * Exit codes are Consul's — 1 when the lock cannot be set up or acquired (or `-timeout` runs
 * out), 2 with `-child-exit-code` when the child failed, else 0 — but for one deliberate
 * difference: a lost lock exits 1 (Consul exits 0), so a script can tell its child was cut short.
 *
 * @module
 */
import type { ConsulClient } from "../../client/consul-client.js";
import { LockStateError } from "../../client/lock-common.js";
import { Lock, type Held } from "../../client/lock.js";
import { DEFAULT_SEMAPHORE_KEY, Semaphore } from "../../client/semaphore.js";
import { parseGoDuration } from "../../lib/duration.js";
import { goPathJoin } from "../../lib/go-path.js";
import type { FlagSpec } from "../../lib/go-flags.js";
import { errorText, type CommandContext, type CommandSpec } from "../command.js";
import { killChild, LOCK_KILL_GRACE_MS, startChild, type LockChild } from "../lock-child.js";

/** Consul's defaultMonitorRetry and defaultMonitorRetryTime. */
const DEFAULT_MONITOR_RETRY = 3;
const MONITOR_RETRY_MS = 1_000;

/** What the command needs of a lock or a semaphore (Consul's LockUnlock). */
interface LockUnlock {
  lock(stop: AbortSignal): Promise<Held | undefined>;
  unlock(): Promise<void>;
  cleanup(): Promise<void>;
}

interface LockSettings {
  readonly limit: number;
  readonly prefix: string;
  readonly name: string;
  /** 0: wait forever. */
  readonly timeoutMs: number;
  readonly monitorRetry: number;
}

/** The flags, checked in Consul's order; a string is the error to print. */
function readSettings(ctx: CommandContext): LockSettings | string {
  const { flags } = ctx;
  // Go's flag package reads -timeout (and -try, its deprecated name for the same variable; here
  // -timeout wins when both are given) while parsing, before any other check.
  let timeoutMs = 0;
  for (const name of ["try", "timeout"]) {
    if (!flags.has(name)) continue;
    const text = flags.string(name);
    const ms = parseGoDuration(text);
    if (ms === undefined)
      return `invalid value ${JSON.stringify(text)} for flag -${name}: parse error\n\n${ctx.help()}`;
    timeoutMs = ms;
  }
  const limit = flags.has("n") ? Number(flags.string("n")) : 1;
  if (limit <= 0) return "Lock holder limit must be positive";
  if (ctx.args.length < 2) return "Key prefix and child command must be specified";
  const prefix = (ctx.args[0] as string).replace(/^\//, "");
  if (timeoutMs < 0) return "Timeout must be positive";
  const name =
    flags.string("name") || `Consul lock for '${ctx.args.slice(1).join(" ")}' at '${prefix}'`;
  const monitorRetry = flags.has("monitor-retry")
    ? Number(flags.string("monitor-retry"))
    : DEFAULT_MONITOR_RETRY;
  if (monitorRetry < 0) return "Number for 'monitor-retry' must be >= 0";
  return { limit, prefix, name, timeoutMs, monitorRetry };
}

function setup(
  client: ConsulClient,
  s: LockSettings,
  log: (line: string) => void,
): LockUnlock | string {
  const common = {
    sessionName: s.name,
    monitorRetries: s.monitorRetry,
    monitorRetryMs: MONITOR_RETRY_MS,
    tryOnce: s.timeoutMs > 0,
  };
  const wait = s.timeoutMs > 0 ? s.timeoutMs : undefined;
  try {
    if (s.limit === 1) {
      // The semaphore's key, so a lock and a semaphore on one prefix conflict visibly.
      const key = goPathJoin(s.prefix, DEFAULT_SEMAPHORE_KEY);
      log(`Setting up lock at path: ${key}`);
      const l = new Lock(client, { key, ...common, ...(wait ? { lockWaitMs: wait } : {}) });
      return { lock: (stop) => l.lock(stop), unlock: () => l.unlock(), cleanup: () => l.destroy() };
    }
    log(`Setting up semaphore (limit ${s.limit}) at prefix: ${s.prefix}`);
    const sem = new Semaphore(client, {
      prefix: s.prefix,
      limit: s.limit,
      ...common,
      ...(wait ? { waitMs: wait } : {}),
    });
    return {
      lock: (stop) => sem.acquire(stop),
      unlock: () => sem.release(),
      cleanup: () => sem.destroy(),
    };
  } catch (err) {
    return `Lock setup failed: ${errorText(err)}`;
  }
}

type First = "shutdown" | "lost" | { exit: string | undefined };

/** Which came first: a shutdown signal, the lock lost, or the child's exit (Consul's select). */
async function firstOf(
  shutdown: AbortSignal,
  lost: AbortSignal,
  exited: Promise<string | undefined>,
): Promise<First> {
  const detach: (() => void)[] = [];
  const on = (signal: AbortSignal, what: First): Promise<First> =>
    new Promise((resolve) => {
      if (signal.aborted) return resolve(what);
      const listener = (): void => resolve(what);
      signal.addEventListener("abort", listener, { once: true });
      detach.push(() => signal.removeEventListener("abort", listener));
    });
  try {
    return await Promise.race([
      on(shutdown, "shutdown"),
      on(lost, "lost"),
      exited.then((exit) => ({ exit })),
    ]);
  } finally {
    for (const d of detach) d();
  }
}

async function run(ctx: CommandContext): Promise<number> {
  const settings = readSettings(ctx);
  if (typeof settings === "string") return ctx.fail(settings);
  // Every request of the lock goes to -datacenter, as Consul's client built from the flags.
  const client = await ctx.connect({ datacenter: ctx.flags.string("datacenter") });
  if (!client) return 1;
  try {
    await client.agentSelf();
  } catch (err) {
    return ctx.fail(`Error querying Consul agent: ${errorText(err)}`);
  }
  const verbose = ctx.flags.bool("verbose");
  const log = (line: string): void => {
    if (verbose) ctx.ui.info(line);
  };
  const shutdown = new AbortController();
  let child: LockChild | undefined;
  // Consul's ShutdownCh, and agent.ForwardSignals while the child runs.
  const onSignal = (signal: NodeJS.Signals): void => {
    if (child && child.proc.exitCode === null && child.proc.signalCode === null)
      child.proc.kill(signal);
    shutdown.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const lu = setup(client, settings, log);
    if (typeof lu === "string") return ctx.fail(lu);
    return await holdAndRun(ctx, lu, shutdown.signal, log, (c) => (child = c));
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

async function holdAndRun(
  ctx: CommandContext,
  lu: LockUnlock,
  shutdown: AbortSignal,
  log: (line: string) => void,
  started: (child: LockChild) => void,
): Promise<number> {
  log("Attempting lock acquisition");
  let held: Held | undefined;
  try {
    held = await lu.lock(shutdown);
  } catch (err) {
    return ctx.fail(`Lock acquisition failed: ${errorText(err)}`);
  }
  if (!held) return ctx.fail("Shutdown triggered or timeout during lock acquisition");
  let outcome: ChildOutcome = { childCode: 0, lost: false };
  if (shutdown.aborted) ctx.ui.error("Shutdown triggered during lock acquisition");
  else outcome = await superviseChild(ctx, held, shutdown, log, started);
  try {
    await lu.unlock();
  } catch (err) {
    return ctx.fail(`Lock release failed: ${errorText(err)}`);
  }
  try {
    await lu.cleanup();
    log("Cleanup succeeded");
  } catch (err) {
    if (!(err instanceof LockStateError && err.refusal === "in-use"))
      return ctx.fail(`Lock cleanup failed: ${errorText(err)}`);
    log("Cleanup aborted, lock in use");
  }
  if (outcome.lost) return 1;
  return ctx.flags.bool("child-exit-code") ? outcome.childCode : 0;
}

/** How the child's run ended: Consul's childCode (2 when it failed), and whether the lock was lost. */
interface ChildOutcome {
  readonly childCode: number;
  readonly lost: boolean;
}

/** Runs the child until it exits, the lock is lost, or a signal comes; stops it in the last two. */
async function superviseChild(
  ctx: CommandContext,
  held: Held,
  shutdown: AbortSignal,
  log: (line: string) => void,
  started: (child: LockChild) => void,
): Promise<ChildOutcome> {
  const passStdin = ctx.flags.bool("pass-stdin");
  log("Starting handler");
  if (passStdin) log("Stdin passed to handler process");
  const child = await startChild({
    words: ctx.args.slice(1),
    shell: ctx.flags.bool("shell", true),
    passStdin,
    io: ctx.io,
  });
  if (typeof child === "string") {
    ctx.ui.error(`Error starting handler: ${child}`);
    log("Child terminated, releasing lock");
    return { childCode: 2, lost: false };
  }
  started(child);
  void child.exited.then((err) => {
    if (err !== undefined) ctx.ui.error(`Error running handler: ${err}`);
  });
  const first = await firstOf(shutdown, held.lost, child.exited);
  if (typeof first === "object") {
    log("Child terminated, releasing lock");
    return { childCode: first.exit === undefined ? 0 : 2, lost: false };
  }
  log(first === "shutdown" ? "Shutdown triggered, killing child" : "Lock lost, killing child");
  await killChild(child, LOCK_KILL_GRACE_MS, log);
  return { childCode: 0, lost: first === "lost" };
}

const flag = (
  name: string,
  kind: FlagSpec["kind"],
  help: string,
  extra: Partial<FlagSpec> = {},
): FlagSpec => ({ name, kind, help, ...extra });

export const lockCommand: CommandSpec = {
  name: "lock",
  synopsis: "Execute a command holding a lock",
  http: "server",
  // The child's own flags (and its `-h`) must reach it untouched.
  passthrough: true,
  flags: [
    flag(
      "child-exit-code",
      "bool",
      "Exit 2 if the child process exited with an error if this is true, otherwise this doesn't propagate an error from the child. The default value is false.",
    ),
    flag(
      "monitor-retry",
      "int",
      "Number of times to retry if Consul returns a 500 error while monitoring the lock. This allows riding out brief periods of unavailability without causing leader elections, but increases the amount of time required to detect a lost lock in some cases. The default value is 3, with a 1s wait between retries. Set this value to 0 to disable retires.",
    ),
    flag(
      "n",
      "int",
      "Optional limit on the number of concurrent lock holders. The underlying implementation switches from a lock to a semaphore when the value is greater than 1. The default value is 1.",
    ),
    flag(
      "name",
      "string",
      "Optional name to associate with the lock session. It not provided, one is generated based on the provided child command.",
    ),
    flag("pass-stdin", "bool", "Pass stdin to the child process."),
    flag(
      "shell",
      "bool",
      "Use a shell to run the command (can set a custom shell via the SHELL environment variable).",
    ),
    flag(
      "timeout",
      "string",
      'Maximum amount of time to wait to acquire the lock, specified as a duration like "1s" or "3h". The default value is 0.',
      { placeholder: "duration" },
    ),
    flag("try", "string", "DEPRECATED. Use -timeout instead.", { hidden: true }),
    flag("verbose", "bool", "Enable verbose (debugging) output."),
  ],
  help: `
Usage: augur lock [options] prefix child...

  Acquires a lock or semaphore at a given path, and invokes a child process
  when successful. The child process can assume the lock is held while it
  executes. If the lock is lost or communication is disrupted the child
  process will be sent a SIGTERM signal and given time to gracefully exit.
  After the grace period expires the process will be hard terminated.

  When -n=1, only a single lock holder or leader exists providing mutual
  exclusion. Setting a higher value switches to a semaphore allowing multiple
  holders to coordinate.

  The prefix provided must have write privileges.
`,
  run,
};
