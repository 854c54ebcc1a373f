/**
 * Reads watch parameters the way Consul's api/watch does (`assignValue`, `assignValueBool`,
 * `assignValueStringSlice`): each read consumes the key, and whatever is left at the end is
 * reported as `Invalid parameters: [...]`. Error texts are Consul's.
 *
 * @module
 */
import { parseGoDuration } from "../lib/duration.js";
import { AugurError } from "../lib/errors.js";

export const bad = (message: string): AugurError => new AugurError("BAD_REQUEST", message);

/** A consumable copy of a watch's raw parameters. */
export class Params {
  readonly #left: Map<string, unknown>;

  constructor(raw: Readonly<Record<string, unknown>>) {
    this.#left = new Map(Object.entries(raw).filter(([, v]) => v !== undefined));
  }

  has(name: string): boolean {
    return this.#left.has(name);
  }

  /** Removes and returns the raw value. */
  take(name: string): unknown {
    const v = this.#left.get(name);
    this.#left.delete(name);
    return v;
  }

  /** Consul's assignValue: `Expecting <name> to be a string`. */
  string(name: string): string | undefined {
    if (!this.#left.has(name)) return undefined;
    const v = this.take(name);
    if (typeof v !== "string") throw bad(`Expecting ${name} to be a string`);
    return v;
  }

  /** Consul's assignValueBool: `Expecting <name> to be a boolean`. */
  bool(name: string): boolean | undefined {
    if (!this.#left.has(name)) return undefined;
    const v = this.take(name);
    if (typeof v !== "boolean") throw bad(`Expecting ${name} to be a boolean`);
    return v;
  }

  /** Consul's assignValueStringSlice: a string or a list of strings. */
  stringSlice(name: string): string[] | undefined {
    if (!this.#left.has(name)) return undefined;
    const v = this.take(name);
    if (typeof v === "string") return [v];
    if (!Array.isArray(v)) throw bad(`Expecting ${name} to be a string or []string`);
    return v.map((item: unknown, i) => {
      if (typeof item !== "string") throw bad(`Index ${i} of ${name} expected to be string`);
      return item;
    });
  }

  /** An augur duration key: a Go duration string (`"30s"`, `"1m30s"`), never negative. */
  duration(name: string): number | undefined {
    if (!this.#left.has(name)) return undefined;
    const v = this.take(name);
    const ms = typeof v === "string" ? parseGoDuration(v) : undefined;
    if (ms === undefined || ms < 0)
      throw bad(`Failed to parse ${name}: time: invalid duration ${JSON.stringify(String(v))}`);
    return ms;
  }

  /** An augur count key: a non-negative integer. */
  count(name: string): number | undefined {
    if (!this.#left.has(name)) return undefined;
    const v = this.take(name);
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0)
      throw bad(`Expecting ${name} to be a non-negative integer`);
    return v;
  }

  /** An augur enum key. */
  oneOf<T extends string>(name: string, allowed: readonly T[]): T | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    if (!(allowed as readonly string[]).includes(v))
      throw bad(`Invalid ${name} '${v}': expected one of ${allowed.join(", ")}`);
    return v as T;
  }

  /** Consul: `Invalid parameters: [a b]` (Go's %v of a []string) when keys are left over. */
  assertConsumed(): void {
    if (this.#left.size > 0) throw bad(`Invalid parameters: [${[...this.#left.keys()].join(" ")}]`);
  }
}

/** HCL turns a block into a one-element list of objects; accept both, as Consul's decoder does. */
export function asObjectOrBlock(value: unknown): Record<string, unknown> | undefined {
  const v = Array.isArray(value) && value.length === 1 ? (value[0] as unknown) : value;
  if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
  return v as Record<string, unknown>;
}
