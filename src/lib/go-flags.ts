/**
 * Go's `flag` package, as Consul's CLI uses it: `-flag`, `--flag`, `-flag=value`,
 * `-flag value`; a boolean takes a value only as `-flag=false`; parsing stops at the first
 * non-flag argument (`-` alone is one) or after `--`, so `augur kv put key -x` stores "-x" as
 * Consul does. Errors carry Go's wording. Every augur command parses through {@link parseFlags},
 * `augur agent` included, which is why this lives below both `cli/` and `config/`.
 *
 * @example
 * const { flags, args } = parseFlags(["-recurse", "-separator=/", "key"], specs);
 * flags.bool("recurse"); // true
 * args; // ["key"]
 *
 * @module
 */
import { AugurError } from "./errors.js";

/** How a flag takes its value (the Go flag types Consul's commands use). */
export type FlagKind = "bool" | "string" | "int" | "uint" | "list" | "map";

export interface FlagSpec {
  /** Without dashes: `http-addr`. */
  readonly name: string;
  readonly kind: FlagKind;
  /** Placeholder in help (`-name=<placeholder>`); Go's default is `value`. */
  readonly placeholder?: string;
  readonly help: string;
  /** Accepted but left out of help (Consul flags augur takes and ignores). */
  readonly hidden?: boolean;
}

/**
 * A command-line mistake: an unknown flag, a missing or bad value, a missing argument. The
 * message is Go's (or Consul's) wording; the CLI prints it with the command's usage and exits 1.
 */
export class UsageError extends AugurError {
  constructor(message: string) {
    super("CONFIG_INVALID", message);
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

/** Flag values after parsing, read by the flag's Go name (`modify-index`). */
export class ParsedFlags {
  readonly #values: ReadonlyMap<string, boolean | string | readonly string[]>;

  constructor(values: ReadonlyMap<string, boolean | string | readonly string[]>) {
    this.#values = values;
  }

  /** A boolean flag's value; `fallback` (Go's default, false unless the spec says) when not given. */
  bool(name: string, fallback = false): boolean {
    const v = this.#values.get(name);
    return typeof v === "boolean" ? v : fallback;
  }

  /** A string or integer flag's value (integers as decimal strings); "" when not given (Go's zero value). */
  string(name: string): string {
    const v = this.#values.get(name);
    return typeof v === "string" ? v : "";
  }

  /** Whether the flag was given at all (`-flag=` counts). */
  has(name: string): boolean {
    return this.#values.has(name);
  }

  /** Every value of a repeatable flag, in order. */
  list(name: string): string[] {
    const v = this.#values.get(name);
    return Array.isArray(v) ? [...(v as readonly string[])] : [];
  }

  /** A `key=value` map flag (later keys win), or undefined when never given. */
  map(name: string): Record<string, string> | undefined {
    const items = this.list(name);
    if (items.length === 0) return undefined;
    const out: Record<string, string> = {};
    for (const item of items) {
      const eq = item.indexOf("=");
      out[item.slice(0, eq)] = item.slice(eq + 1);
    }
    return out;
  }
}

export interface ParseResult {
  readonly flags: ParsedFlags;
  /** The positional arguments: everything from the first non-flag (or after `--`) on. */
  readonly args: string[];
  /**
   * `-h` or `-help` appeared among the flags and no spec defines it. Go's flag package stops
   * there with ErrHelp; so does this parser.
   */
  readonly help: boolean;
}

/**
 * Parses Go-style flags against `specs`. Throws {@link UsageError} with Go's wording for an
 * unknown flag, a missing value, a bad value or bad syntax.
 */
export function parseFlags(args: readonly string[], specs: readonly FlagSpec[]): ParseResult {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const values = new Map<string, boolean | string | string[]>();
  const result = (i: number, help = false): ParseResult => ({
    flags: new ParsedFlags(values),
    args: args.slice(i),
    help,
  });
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    if (arg.length < 2 || !arg.startsWith("-")) return result(i);
    if (arg === "--") return result(i + 1);
    const body = arg.slice(arg.startsWith("--") ? 2 : 1);
    if (body === "" || body.startsWith("-") || body.startsWith("="))
      throw new UsageError(`bad flag syntax: ${arg}`);
    const eq = body.indexOf("=");
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const spec = byName.get(name);
    if (!spec && (name === "h" || name === "help")) return result(i, true);
    if (!spec) throw new UsageError(`flag provided but not defined: -${name}`);
    if (spec.kind === "bool") {
      const raw = eq >= 0 ? body.slice(eq + 1) : "true";
      const value = parseGoBool(raw);
      if (value === undefined)
        throw new UsageError(
          `invalid boolean value ${JSON.stringify(raw)} for -${name}: parse error`,
        );
      values.set(name, value);
      continue;
    }
    let raw: string;
    if (eq >= 0) raw = body.slice(eq + 1);
    else if (i + 1 < args.length) raw = args[++i] ?? "";
    else throw new UsageError(`flag needs an argument: -${name}`);
    const value = checkValue(spec, raw);
    const previous = values.get(name);
    if (spec.kind === "list" || spec.kind === "map")
      values.set(name, [...(Array.isArray(previous) ? previous : []), value]);
    else values.set(name, value);
  }
  return result(args.length);
}
