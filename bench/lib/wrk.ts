/**
 * One `wrk` run (one thread) against a URL: requests per second and the p99 latency it reports.
 * A run with any non-2xx answer throws: a benchmark must not count refusals as throughput.
 *
 * @module
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface WrkResult {
  readonly rps: number;
  readonly p99ms: number;
}

export async function wrk(
  url: string,
  options: { connections: number; seconds: number | string; script?: string },
): Promise<WrkResult> {
  const duration = typeof options.seconds === "number" ? `${options.seconds}s` : options.seconds;
  const { stdout } = await run(
    "wrk",
    [
      "-t1",
      `-c${options.connections}`,
      `-d${duration}`,
      "--latency",
      ...(options.script ? ["-s", options.script] : []),
      url,
    ],
    { maxBuffer: 1 << 20 },
  );
  if (/Non-2xx/.test(stdout)) throw new Error(`non-2xx answers:\n${stdout}`);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]);
  const p99 = /99%\s+([\d.]+)(us|ms|s)/.exec(stdout);
  const unit = p99?.[2] === "us" ? 0.001 : p99?.[2] === "s" ? 1000 : 1;
  return { rps, p99ms: Number(p99?.[1]) * unit };
}
