/**
 * Go `time.Duration` strings, as Consul reads and writes them ("10s", "1m30s", "120000ms",
 * "1.5h", "-3s", "0"). Durations are held as milliseconds (fractional allowed) inside augur.
 *
 * @module
 */
import { badRequest, type AugurError } from "./errors.js";

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const PART = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;

/** Parses a Go duration string into milliseconds, or returns undefined when it is not one. */
export function parseGoDuration(text: string): number | undefined {
  let rest = text.trim();
  if (rest === "") return undefined;
  let sign = 1;
  if (rest[0] === "-" || rest[0] === "+") {
    sign = rest[0] === "-" ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === "0") return 0;
  if (rest === "") return undefined;
  let total = 0;
  while (rest.length > 0) {
    const m = PART.exec(rest);
    if (!m) return undefined;
    total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
    rest = rest.slice(m[0].length);
  }
  return sign * total;
}

/**
 * Reads a duration from a JSON value the way Consul's decoder does: a Go duration string, or
 * an integer number of nanoseconds. Throws a 400 naming the field otherwise.
 */
export function durationFromJson(value: unknown, field: string): number {
  if (typeof value === "number" && Number.isFinite(value)) return value / 1e6;
  if (typeof value === "string") {
    const ms = parseGoDuration(value);
    if (ms !== undefined) return ms;
    throw badDuration(field, value);
  }
  throw badDuration(field, value);
}

function badDuration(field: string, value: unknown): AugurError {
  return badRequest(
    `Request decode failed: ${field}: time: invalid duration ${JSON.stringify(value)}`,
  );
}

/** Formats milliseconds as Go's `Duration.String()` does: "10s", "1m30s", "1h0m0s", "500ms", "0s". */
export function formatGoDuration(ms: number): string {
  if (ms === 0) return "0s";
  const neg = ms < 0;
  let rest = Math.abs(ms);
  let out: string;
  if (rest < 1000) {
    if (rest >= 1) out = `${trimFloat(rest)}ms`;
    else if (rest >= 1e-3) out = `${trimFloat(rest * 1e3)}µs`;
    else out = `${trimFloat(rest * 1e6)}ns`;
  } else {
    const h = Math.floor(rest / 3_600_000);
    rest -= h * 3_600_000;
    const m = Math.floor(rest / 60_000);
    rest -= m * 60_000;
    const s = `${trimFloat(rest / 1000)}s`;
    out = h > 0 ? `${h}h${m}m${s}` : m > 0 ? `${m}m${s}` : s;
  }
  return neg ? `-${out}` : out;
}

function trimFloat(n: number): string {
  return String(Number(n.toFixed(9)));
}
