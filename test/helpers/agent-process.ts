/**
 * Starts a real `augur agent` child process for tests, on a free port, and stops it.
 * The agent prints `HTTP API listening on <host:port>` once per listener; we wait for the first.
 *
 * @module
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { once } from "node:events";

/** The repo's `bin/augur.js`, resolved from dist/test/helpers/. */
export const AUGUR_BIN = fileURLToPath(new URL("../../../bin/augur.js", import.meta.url));

export interface AgentProcess {
  /** `127.0.0.1:<port>` */
  readonly httpAddr: string;
  readonly url: string;
  readonly proc: ChildProcess;
  /** Everything the agent printed so far (stdout and stderr). */
  output(): string;
  /** SIGTERM, then SIGKILL after 5 s; resolves when the process has exited. */
  stop(): Promise<void>;
  /** SIGKILL at once. */
  kill(): Promise<void>;
}

export interface AgentProcessOptions {
  /** Extra arguments after `agent`. Defaults to `-dev`. */
  readonly args?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** How long to wait for the listen line. */
  readonly startTimeoutMs?: number;
  /** Hears the output so far on every chunk, from the first one (before the agent listens). */
  readonly onOutput?: (out: string) => void;
  /** The line that says the agent is up, its address in group 1 (default: the HTTP listener's). */
  readonly listenLine?: RegExp;
}

export async function startAgentProcess(options: AgentProcessOptions = {}): Promise<AgentProcess> {
  const args = options.args ?? ["-dev"];
  const proc = spawn(
    process.execPath,
    [AUGUR_BIN, "agent", "-http-port", "0", "-dns-port", "0", ...args],
    {
      env: { ...process.env, ...options.env },
      cwd: options.cwd,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  const take = (d: string): void => {
    out += d;
    options.onOutput?.(out);
  };
  proc.stdout?.setEncoding("utf8").on("data", take);
  proc.stderr?.setEncoding("utf8").on("data", take);
  const httpAddr = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      // Not left running: an agent the test never got hold of would keep the test process alive.
      proc.kill("SIGKILL");
      reject(new Error(`agent did not start in time; output:\n${out}`));
    }, options.startTimeoutMs ?? 15_000);
    const onData = (): void => {
      const m = (options.listenLine ?? /HTTP API listening on (\S+)/).exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    proc.stdout?.on("data", onData);
    proc.stderr?.on("data", onData);
    proc.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`agent exited with ${code} before listening; output:\n${out}`));
    });
  });
  const exited = once(proc, "exit");
  const stopWith = async (signal: NodeJS.Signals): Promise<void> => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill(signal);
    const force = setTimeout(() => proc.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(force);
  };
  return {
    httpAddr,
    url: `http://${httpAddr}`,
    proc,
    output: () => out,
    stop: () => stopWith("SIGTERM"),
    kill: () => stopWith("SIGKILL"),
  };
}
