/**
 * The one table of commands `main.ts` dispatches through: lookup by the longest registered
 * prefix of the words after `augur` (mitchellh/cli's nested-command rule, so `augur kv get k`
 * is `kv get` with `k`, and `augur kv nope` is the `kv` group), children for help, and the
 * top-level list for `augur --help`.
 *
 * @module
 */
import { AugurError } from "../lib/errors.js";
import type { CommandSpec } from "./command.js";

export class CommandRegistry {
  readonly #byName = new Map<string, CommandSpec>();

  /** Throws on a duplicate name or a nested command whose parent is not registered. */
  constructor(specs: readonly CommandSpec[]) {
    for (const spec of specs) {
      if (this.#byName.has(spec.name))
        throw new AugurError("INTERNAL", `command registered twice: ${spec.name}`);
      this.#byName.set(spec.name, spec);
    }
    for (const name of this.#byName.keys()) {
      const parent = name.split(" ").slice(0, -1).join(" ");
      if (parent && !this.#byName.has(parent))
        throw new AugurError("INTERNAL", `command ${name} has no parent ${parent} registered`);
    }
  }

  get(name: string): CommandSpec | undefined {
    return this.#byName.get(name);
  }

  /** Every spec, in registration order. */
  all(): CommandSpec[] {
    return [...this.#byName.values()];
  }

  /**
   * The command named by the longest prefix of `words`, and how many words that took; undefined
   * when not even the first word names one.
   */
  resolve(words: readonly string[]): { spec: CommandSpec; length: number } | undefined {
    for (let n = words.length; n > 0; n--) {
      const spec = this.#byName.get(words.slice(0, n).join(" "));
      if (spec) return { spec, length: n };
    }
    return undefined;
  }

  /** The commands one level below `name`. */
  children(name: string): CommandSpec[] {
    const depth = name.split(" ").length + 1;
    return this.all().filter(
      (s) => s.name.startsWith(`${name} `) && s.name.split(" ").length === depth,
    );
  }

  /** The commands `augur --help` lists: every one-word name. */
  topLevel(): CommandSpec[] {
    return this.all().filter((s) => !s.name.includes(" "));
  }
}
