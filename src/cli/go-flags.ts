/**
 * Go `flag`-package semantics in front of commander, so `augur` parses arguments the way
 * `consul` does: `-flag`, `--flag`, `-flag=value`, `-flag value`; booleans take only
 * `-flag=false`; parsing stops at the first non-flag argument or after `--` (so
 * `augur kv put key -x` stores "-x", as Consul does). Values are checked here with Go's wording;
 * the result is argv commander can read without ambiguity: `--name=value ... -- <positionals>`.
 *
 * @module
 */
import { AugurError } from "../lib/errors.js";

/** How a flag takes its value (mirrors the Go flag types Consul's commands use). */
export type FlagKind = "bool" | "string" | "int" | "uint" | "list" | "map";

export interface FlagSpec {
  /** Without dashes: `http-addr`. */
  readonly name: string;
  readonly kind: FlagKind;
  /** Placeholder in help (`-name=<placeholder>`); Go's default is `value`. */
  readonly placeholder?: string;
  readonly help: string;
}

/** A command-line mistake; the message is Go's flag-package wording and exits 1 with usage. */
export class UsageError extends AugurError {
  constructor(message: string) {
    super("BAD_REQUEST", message);
  }
}

const HELP_FLAGS = new Set(["-h", "-help", "--help"]);

/** mitchellh/cli shows help when `-h`, `-help` or `--help` appears anywhere before `--`. */
export function wantsHelp(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === "--") return false;
    if (HELP_FLAGS.has(a)) return true;
  }
  return false;
}

/** Go's strconv.ParseBool. */
export function parseGoBool(text: string): boolean | undefined {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(text)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(text)) return false;
  return undefined;
}

/**
 * strconv.ParseInt/ParseUint with base 0, as Go's flag package calls them: decimal, `0x` hex,
 * `0o` or a leading `0` octal, `0b` binary. The result is a decimal string (uint64 does not fit a
 * JS number).
 */
function checkInteger(name: string, value: string, unsigned: boolean): string {
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9]\d*)$/.exec(value);
  const bad = (why: string): UsageError =>
    new UsageError(`invalid value ${JSON.stringify(value)} for flag -${name}: ${why}`);
  if (!m || (unsigned && m[1] !== "")) throw bad("parse error");
  const digits = m[2] ?? "0";
  const literal = /^0[0-7]+$/.test(digits) ? `0o${digits.slice(1)}` : digits;
  const n = BigInt(literal) * (m[1] === "-" ? -1n : 1n);
  const [min, max] = unsigned ? [0n, 2n ** 64n - 1n] : [-(2n ** 63n), 2n ** 63n - 1n];
  if (n < min || n > max) throw bad("value out of range");
  return n.toString();
}

function checkValue(spec: FlagSpec, value: string): string {
  switch (spec.kind) {
    case "int":
      return checkInteger(spec.name, value, false);
    case "uint":
      return checkInteger(spec.name, value, true);
    case "map":
      // Consul's FlagMapValue: key=value, split at the first "=".
      if (!value.includes("="))
        throw new UsageError(
          `invalid value ${JSON.stringify(value)} for flag -${spec.name}: Missing "=" value in argument: ${value}`,
        );
      return value;
    default:
      return value;
  }
}

/**
 * Parses Go-style flags against `specs` and returns commander-ready argv. Throws
 * {@link UsageError} for an unknown flag, a missing value or a bad value.
 */
export function toCommanderArgs(args: readonly string[], specs: readonly FlagSpec[]): string[] {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const bools = new Map<string, boolean>();
  const out: string[] = [];
  let i = 0;
  for (; i < args.length; i++) {
    const arg = args[i] ?? "";
    if (arg.length < 2 || !arg.startsWith("-")) break;
    if (arg === "--") {
      i++;
      break;
    }
    const body = arg.slice(arg.startsWith("--") ? 2 : 1);
    if (body === "" || body.startsWith("-") || body.startsWith("="))
      throw new UsageError(`bad flag syntax: ${arg}`);
    const eq = body.indexOf("=");
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const spec = byName.get(name);
    if (!spec) throw new UsageError(`flag provided but not defined: -${name}`);
    if (spec.kind === "bool") {
      const raw = eq >= 0 ? body.slice(eq + 1) : "true";
      const value = parseGoBool(raw);
      if (value === undefined)
        throw new UsageError(
          `invalid boolean value ${JSON.stringify(raw)} for -${name}: parse error`,
        );
      bools.set(name, value);
      continue;
    }
    let value: string;
    if (eq >= 0) value = body.slice(eq + 1);
    else if (i + 1 < args.length) value = args[++i] ?? "";
    else throw new UsageError(`flag needs an argument: -${name}`);
    out.push(`--${name}=${checkValue(spec, value)}`);
  }
  for (const [name, on] of bools) if (on) out.push(`--${name}`);
  return [...out, "--", ...args.slice(i)];
}

/**
 * For commands registered by other modules (no {@link FlagSpec}s): single-dash long flags become
 * double-dash, everything else is left for commander.
 */
export function doubleDashLongFlags(args: readonly string[]): string[] {
  const out: string[] = [];
  for (const [i, a] of args.entries()) {
    if (a === "--") return [...out, ...args.slice(i)];
    out.push(/^-[A-Za-z][\w-]+(=.*)?$/s.test(a) ? `-${a}` : a);
  }
  return out;
}
