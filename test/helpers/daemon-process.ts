/**
 * A foreground daemon from Debian (dnsmasq, haproxy) as a child process for tests and benches:
 * started, waited for until it prints its ready line, and stopped with SIGTERM (SIGKILL after
 * 5 s).
 *
 * @module
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";

export interface DaemonProcess {
  readonly proc: ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** SIGTERM, then SIGKILL after 5 s; resolves when the process has exited. */
  stop(): Promise<void>;
}

export interface DaemonOptions {
  /** Seen in its output once it serves, or a probe that answers true once it serves. */
  readonly ready: RegExp | (() => Promise<boolean>);
  readonly startTimeoutMs?: number;
}

export async function startDaemon(
  command: string,
  args: readonly string[],
  options: DaemonOptions,
): Promise<DaemonProcess> {
  const proc = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const exited = once(proc, "exit");
  const stop = async (): Promise<void> => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill("SIGTERM");
    const force = setTimeout(() => proc.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(force);
  };
  await new Promise<void>((resolve, reject) => {
    let done = false;
    const finish = (err?: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => {
      void stop();
      finish(new Error(`${command} did not start in time; output:\n${out}`));
    }, options.startTimeoutMs ?? 10_000);
    const ready = options.ready;
    const take = (d: string): void => {
      out += d;
      if (ready instanceof RegExp && ready.test(out)) finish();
    };
    if (!(ready instanceof RegExp)) {
      const poll = async (): Promise<void> => {
        while (!done) {
          if (await ready().catch(() => false)) return finish();
          await new Promise((r) => setTimeout(r, 20));
        }
      };
      void poll();
    }
    proc.stdout?.setEncoding("utf8").on("data", take);
    proc.stderr?.setEncoding("utf8").on("data", take);
    proc.once("error", (err) => finish(err));
    proc.once("exit", (code, signal) =>
      finish(
        new Error(`${command} exited (${code ?? signal}) before it was ready; output:\n${out}`),
      ),
    );
  });
  return { proc, output: () => out, stop };
}
