/**
 * Script checks (Consul CheckMonitor): `args` run without a shell, in their own process group so
 * a timeout kills the script and everything it started. Exit 0 passing, 1 warning, anything else
 * critical; stdout and stderr together are the output, cut to output_max_size.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { formatGoDuration } from "../lib/duration.js";
import { probeTimeoutMs, type ProbeResult } from "./runner.js";

export interface ScriptProbeOptions {
  readonly args: readonly string[];
  readonly timeoutMs: number;
  readonly outputMaxSize: number;
}

/** Kills a detached child's whole process group; it may already be gone. */
function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // Already exited.
  }
}

export function scriptProbe(
  options: ScriptProbeOptions,
): (signal: AbortSignal) => Promise<ProbeResult> {
  return (signal) =>
    new Promise((resolve) => {
      const [cmd, ...rest] = options.args;
      if (!cmd) {
        resolve({ status: "critical", output: "no command to run" });
        return;
      }
      const child = spawn(cmd, rest, { detached: true, stdio: ["ignore", "pipe", "pipe"] });
      const chunks: Buffer[] = [];
      // Keep only a bit more than we will report, however much the script prints.
      let kept = 0;
      let total = 0;
      const collect = (c: Buffer): void => {
        total += c.length;
        chunks.push(c);
        kept += c.length;
        while (kept - (chunks[0]?.length ?? 0) >= options.outputMaxSize && chunks.length > 1)
          kept -= (chunks.shift() as Buffer).length;
      };
      child.stdout.on("data", collect);
      child.stderr.on("data", collect);
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        killGroup(child.pid);
      }, probeTimeoutMs(options.timeoutMs));
      const onAbort = (): void => killGroup(child.pid);
      signal.addEventListener("abort", onAbort, { once: true });
      const output = (): string => {
        const buf = Buffer.concat(chunks);
        if (total <= options.outputMaxSize) return buf.toString("utf8");
        return `Captured ${options.outputMaxSize} of ${total} bytes\n...\n${buf.subarray(buf.length - options.outputMaxSize).toString("utf8")}`;
      };
      child.once("error", (err) => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        resolve({ status: "critical", output: `Check failed to start: ${err.message}` });
      });
      child.once("close", (code) => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        if (timedOut) {
          resolve({
            status: "critical",
            output: `Timed out (${formatGoDuration(options.timeoutMs)}) running check`,
          });
          return;
        }
        resolve({
          status: code === 0 ? "passing" : code === 1 ? "warning" : "critical",
          output: output(),
        });
      });
    });
}
