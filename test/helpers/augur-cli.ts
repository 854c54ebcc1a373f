/**
 * Runs the `augur` CLI as a real child process (`bin/augur.js`), as a user would: to completion
 * with {@link runAugur}, or kept running with {@link spawnAugur} for commands that hold on
 * (`augur lock`), whose output and exit the test then watches.
 *
 * @module
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { AUGUR_BIN } from "./agent-process.js";

export interface AugurRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The environment minus anything that would point the CLI elsewhere, plus `extra`. */
export function cleanEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of [
    "AUGUR_HTTP_ADDR",
    "CONSUL_HTTP_ADDR",
    "AUGUR_HTTP_TOKEN",
    "CONSUL_HTTP_TOKEN",
    "CONSUL_HTTP_SSL",
    "CONSUL_HTTP_SSL_VERIFY",
    "CONSUL_CACERT",
    "CONSUL_CAPATH",
    "CONSUL_CLIENT_CERT",
    "CONSUL_CLIENT_KEY",
    "CONSUL_TLS_SERVER_NAME",
  ])
    delete env[k];
  return { ...env, ...extra };
}

/** A running `augur` process. */
export interface AugurProcess {
  readonly proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited and its output is read. */
  readonly done: Promise<AugurRun>;
}

export function spawnAugur(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  input?: string | Buffer,
): AugurProcess {
  const proc = spawn(process.execPath, [AUGUR_BIN, ...args], {
    env: cleanEnv(env),
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  proc.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  proc.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  proc.stdin.on("error", () => undefined);
  proc.stdin.end(input ?? "");
  const done = once(proc, "close").then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
    stdout,
    stderr,
  }));
  return { proc, stdout: () => stdout, stderr: () => stderr, done };
}

/** Runs `augur <args>` to completion. */
export function runAugur(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  input?: string | Buffer,
): Promise<AugurRun> {
  return spawnAugur(args, env, input).done;
}
