/**
 * Consul's policy authorizer (acl/policy_authorizer.go) over merged rules: for a name, an exact
 * rule wins over prefixes, otherwise the longest matching prefix; a rule found decides (`write`
 * grants read, list and write; `list` grants read and list; `read` grants read; `deny` grants
 * nothing); a name no rule covers falls to the default (`allow`, `deny`, or management: all).
 * Under the `allow` default, ACL management itself is still refused, as Consul's allowAll does.
 *
 * Matching is by prefix only: a lookup probes one map per distinct prefix length, so its cost is
 * bounded by the policy's size, never by the text of a name.
 *
 * @module
 */
import { AugurError } from "./errors.js";
import type {
  Access,
  GlobalResource,
  NamedResource,
  NamedRules,
  ParsedRules,
} from "./acl-rules.js";

export type Level = "read" | "list" | "write";
export type Fallback = "allow" | "deny" | "manage";

/** The AccessorID of the anonymous token (Consul's fixed one). */
export const ANONYMOUS_ACCESSOR_ID = "00000000-0000-0000-0000-000000000002";

/** Whether a rule's access grants `level`. */
function grants(access: Access, level: Level): boolean {
  switch (access) {
    case "write":
      return true;
    case "list":
      return level !== "write";
    case "read":
      return level === "read";
    case "deny":
      return false;
  }
}

/** One resource's rules, with the distinct prefix lengths, longest first. */
class CompiledRules {
  readonly #exact: ReadonlyMap<string, Access>;
  readonly #prefix: ReadonlyMap<string, Access>;
  readonly #lengths: number[];

  constructor(rules: NamedRules) {
    this.#exact = rules.exact;
    this.#prefix = rules.prefix;
    this.#lengths = [...new Set([...rules.prefix.keys()].map((p) => p.length))].sort(
      (a, b) => b - a,
    );
  }

  /** The rule governing `name`: exact, else the longest prefix; undefined when none does. */
  lookup(name: string): Access | undefined {
    const exact = this.#exact.get(name);
    if (exact !== undefined) return exact;
    for (const length of this.#lengths) {
      if (length > name.length) continue;
      const access = this.#prefix.get(length === name.length ? name : name.slice(0, length));
      if (access !== undefined) return access;
    }
    return undefined;
  }

  /** The longest prefix rule covering `name` (exact rules are not prefixes). */
  lookupPrefix(name: string): Access | undefined {
    for (const length of this.#lengths) {
      if (length > name.length) continue;
      const access = this.#prefix.get(name.slice(0, length));
      if (access !== undefined) return access;
    }
    return undefined;
  }

  /** True when some rule at or under `prefix` does not grant write. */
  somethingUnderIsNotWrite(prefix: string): boolean {
    for (const map of [this.#exact, this.#prefix])
      for (const [name, access] of map)
        if (name.startsWith(prefix) && access !== "write") return true;
    return false;
  }
}

export class Authorizer {
  readonly #named = new Map<NamedResource, CompiledRules>();
  readonly #global: Readonly<Partial<Record<GlobalResource, Access>>>;

  constructor(
    rules: ParsedRules,
    readonly fallback: Fallback,
    /** Named in denials; the anonymous token's id makes them say "anonymous token". */
    readonly accessorId: string,
  ) {
    for (const [resource, r] of Object.entries(rules.named) as [NamedResource, NamedRules][])
      this.#named.set(resource, new CompiledRules(r));
    this.#global = rules.global;
  }

  /** True for a management token (global-management, or the initial management token). */
  get isManagement(): boolean {
    return this.fallback === "manage";
  }

  /** Whether the token may `level` the resource named `name`. */
  allows(resource: NamedResource, name: string, level: Level): boolean {
    if (this.fallback === "manage") return true;
    const access = this.#named.get(resource)?.lookup(name);
    return access === undefined ? this.fallback === "allow" : grants(access, level);
  }

  /** Whether the token may `level` a one-level resource (`acl`, `operator`, `keyring`, ...). */
  allowsGlobal(resource: GlobalResource, level: Level): boolean {
    if (this.fallback === "manage") return true;
    const access = this.#global[resource];
    // allowAll grants everything but ACL management (staticAuthorizer's allowManage).
    if (access === undefined) return this.fallback === "allow" && resource !== "acl";
    return grants(access, level);
  }

  /**
   * KeyWritePrefix: a recursive delete of `prefix` needs write from the rule covering the prefix
   * and from every rule at or under it.
   */
  allowsKeyWritePrefix(prefix: string): boolean {
    if (this.fallback === "manage") return true;
    const rules = this.#named.get("key");
    if (rules === undefined) return this.fallback === "allow";
    if (rules.somethingUnderIsNotWrite(prefix)) return false;
    const covering = rules.lookupPrefix(prefix);
    return covering === undefined ? this.fallback === "allow" : covering === "write";
  }

  /** Throws Consul's PermissionDeniedError unless {@link allows}. */
  require(resource: NamedResource, name: string, level: Level): void {
    if (!this.allows(resource, name, level)) throw this.denied(resource, level, name);
  }

  /** Throws Consul's PermissionDeniedError unless {@link allowsGlobal}. */
  requireGlobal(resource: GlobalResource, level: Level): void {
    if (!this.allowsGlobal(resource, level)) throw this.denied(resource, level);
  }

  /** Consul's PermissionDeniedError text (acl/errors.go), as a 403. */
  denied(resource: string, level: Level, name?: string): AugurError {
    return new AugurError(
      "PERMISSION_DENIED",
      permissionDeniedText(this.accessorId, resource, level, name),
    );
  }
}

export function permissionDeniedText(
  accessorId: string,
  resource: string,
  level: Level,
  name?: string,
): string {
  const anonymous = accessorId === ANONYMOUS_ACCESSOR_ID;
  let text = anonymous
    ? "Permission denied: anonymous token"
    : `Permission denied: token with AccessorID '${accessorId}'`;
  text += ` lacks permission '${resource}:${level}'`;
  if (name !== undefined && name !== "") text += ` on "${name}"`;
  if (anonymous)
    text += ". The anonymous token is used implicitly when a request does not specify a token.";
  return text;
}

/** The authorizer used when ACLs are off: everything allowed, nothing to look up. */
export const ALLOW_ALL = new Authorizer({ named: {}, global: {} }, "manage", "");
