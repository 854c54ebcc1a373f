/**
 * Consul's ACL rule language (acl/policy.go): HCL or JSON text naming resources by exact name
 * (`key "a/b"`) or by prefix (`key_prefix "a/"`), each with `read`, `write` or `deny` (and `list`
 * for keys), plus the single-valued `acl`, `operator`, `keyring`, `mesh` and `peering`. Parsing
 * validates as Consul does and answers its error texts.
 *
 * Bounds: rule text is at most {@link MAX_RULES_LENGTH} bytes. The HCL parser (HashiCorp's own,
 * compiled to JavaScript) is slow, about 0.4 ms per rule, and recursive, so rules are parsed once,
 * when a policy is written (by a caller with `acl = "write"`), on a worker thread, and stored
 * parsed ({@link toStoredRules}); resolving a token never parses. JSON rules take JSON.parse.
 * Names are matched by prefix only, never as patterns.
 *
 * @module
 */
import { AugurError } from "./errors.js";
import { HclSyntaxError, parseHclOffThread } from "./hcl.js";

export type Access = "read" | "write" | "deny" | "list";

/** Resources whose rules name things (`key`/`key_prefix`, ...). */
export const NAMED_RESOURCES = [
  "agent",
  "key",
  "node",
  "service",
  "session",
  "event",
  "query",
] as const;
export type NamedResource = (typeof NAMED_RESOURCES)[number];

/** Resources with one level for everything (`operator = "read"`). */
export const GLOBAL_RESOURCES = ["acl", "operator", "keyring", "mesh", "peering"] as const;
export type GlobalResource = (typeof GLOBAL_RESOURCES)[number];

/** One resource's rules: exact names and prefixes, each with its access. */
export interface NamedRules {
  readonly exact: ReadonlyMap<string, Access>;
  readonly prefix: ReadonlyMap<string, Access>;
}

/** A parsed policy: per-resource rules. Absent resources have no rule. */
export interface ParsedRules {
  readonly named: Readonly<Partial<Record<NamedResource, NamedRules>>>;
  readonly global: Readonly<Partial<Record<GlobalResource, Access>>>;
}

/** Rule text past this is refused: parsing stays cheap, and the store's records small. */
export const MAX_RULES_LENGTH = 32 * 1024;

const bad = (message: string): AugurError => new AugurError("BAD_REQUEST", message);

const isBasic = (p: unknown): p is "read" | "write" | "deny" =>
  p === "read" || p === "write" || p === "deny";

/** Go's `%#v` of the rule struct, as Consul's validation messages print it. */
function goStruct(resource: NamedResource, name: string, policy: unknown): string {
  const type = {
    agent: "AgentRule",
    key: "KeyRule",
    node: "NodeRule",
    service: "ServiceRule",
    session: "SessionRule",
    event: "EventRule",
    query: "PreparedQueryRule",
  }[resource];
  const field = { agent: "Node", key: "Prefix", session: "Node", event: "Event", query: "Prefix" }[
    resource as string
  ];
  return `&acl.${type}{${field ?? "Name"}:${JSON.stringify(name)}, Policy:${JSON.stringify(String(policy ?? ""))}}`;
}

/**
 * Parses and validates policy rules, HCL or JSON (HCL is a superset of JSON, as in Consul). HCL
 * is parsed on a worker thread (lib/hcl.ts): its time, and a stack overflow on rules nested
 * thousands deep, are not the event loop's.
 */
export async function parsePolicyRules(text: string): Promise<ParsedRules> {
  const raw = rulesText(text) ?? (await parseHclOffThread(text).catch(syntaxError));
  return validated(raw);
}

/** What needs no HCL parser: the length check, empty text, JSON; else undefined. */
function rulesText(text: string): Record<string, unknown> | undefined {
  if (Buffer.byteLength(text) > MAX_RULES_LENGTH)
    throw bad(`Failed to parse ACL rules: rules are longer than ${MAX_RULES_LENGTH} bytes`);
  if (text.trim() === "") return {};
  return text.trimStart().startsWith("{") ? rawRules(() => jsonRules(text)) : undefined;
}

/** Runs a parse, its syntax errors in Consul's words. */
function rawRules(parse: () => Record<string, unknown>): Record<string, unknown> {
  try {
    return parse();
  } catch (err) {
    return syntaxError(err);
  }
}

function syntaxError(err: unknown): never {
  if (err instanceof HclSyntaxError)
    throw new AugurError("BAD_REQUEST", `Failed to parse ACL rules: ${err.message}`, {
      cause: err,
    });
  throw err;
}

function validated(raw: Record<string, unknown>): ParsedRules {
  const named: Partial<Record<NamedResource, NamedRules>> = {};
  const global: Partial<Record<GlobalResource, Access>> = {};
  for (const [key, value] of Object.entries(raw)) {
    const resource = (key.endsWith("_prefix") ? key.slice(0, -7) : key) as NamedResource;
    if ((GLOBAL_RESOURCES as readonly string[]).includes(key)) {
      if (typeof value !== "string" || (value !== "" && !isBasic(value)))
        throw bad(`Invalid ${key} policy: ${JSON.stringify(String(value))}`);
      if (value !== "") global[key as GlobalResource] = value;
      continue;
    }
    if (!(NAMED_RESOURCES as readonly string[]).includes(resource)) {
      // Consul's HCL decoder ignores keys it has no field for; so does augur.
      continue;
    }
    const rules = (named[resource] ??= { exact: new Map(), prefix: new Map() }) as {
      exact: Map<string, Access>;
      prefix: Map<string, Access>;
    };
    const into = key.endsWith("_prefix") ? rules.prefix : rules.exact;
    for (const [name, body] of blocks(value)) {
      const policy = body["policy"];
      const ok = isBasic(policy) || (resource === "key" && policy === "list");
      if (!ok) throw bad(`Invalid ${key} policy: ${goStruct(resource, name, policy)}`);
      const intentions = body["intentions"];
      if (
        resource === "service" &&
        intentions !== undefined &&
        intentions !== "" &&
        !isBasic(intentions)
      )
        throw bad(`Invalid ${key} intentions policy: ${goStruct(resource, name, policy)}`);
      // Two rules for one name in one policy merge as rules across policies do.
      const prev = into.get(name);
      into.set(name, prev === undefined ? policy : stronger(prev, policy));
    }
  }
  return { named, global };
}

/**
 * The `name → { policy }` entries of one rule key. HCL gives one block as an object and several
 * as a list of objects; JSON gives an object of names.
 */
function blocks(value: unknown): [string, Record<string, unknown>][] {
  const out: [string, Record<string, unknown>][] = [];
  const items = Array.isArray(value) ? value : [value];
  for (const item of items) {
    if (typeof item !== "object" || item === null || Array.isArray(item))
      throw bad(`Failed to parse ACL rules: unexpected ${JSON.stringify(item)}`);
    for (const [name, body] of Object.entries(item as Record<string, unknown>)) {
      for (const one of Array.isArray(body) ? body : [body]) {
        if (typeof one !== "object" || one === null)
          throw bad(
            `Failed to parse ACL rules: unexpected ${JSON.stringify(one)} for ${JSON.stringify(name)}`,
          );
        out.push([name, one as Record<string, unknown>]);
      }
    }
  }
  return out;
}

/**
 * Consul's takesPrecedenceOver: when two policies name the same thing, deny beats write beats
 * list beats read.
 */
export function stronger(a: Access, b: Access): Access {
  const rank: Record<Access, number> = { deny: 4, write: 3, list: 2, read: 1 };
  return rank[a] >= rank[b] ? a : b;
}

/** Merges several policies' rules into one (MergePolicies). */
export function mergeRules(all: readonly ParsedRules[]): ParsedRules {
  const named: Partial<
    Record<NamedResource, { exact: Map<string, Access>; prefix: Map<string, Access> }>
  > = {};
  const global: Partial<Record<GlobalResource, Access>> = {};
  for (const rules of all) {
    for (const [resource, r] of Object.entries(rules.named) as [NamedResource, NamedRules][]) {
      const into = (named[resource] ??= { exact: new Map(), prefix: new Map() });
      for (const [kind, map] of [
        ["exact", r.exact],
        ["prefix", r.prefix],
      ] as const) {
        for (const [name, access] of map) {
          const prev = into[kind].get(name);
          into[kind].set(name, prev === undefined ? access : stronger(prev, access));
        }
      }
    }
    for (const [resource, access] of Object.entries(rules.global) as [GlobalResource, Access][]) {
      const prev = global[resource];
      global[resource] = prev === undefined ? access : stronger(prev, access);
    }
  }
  return { named, global };
}

/** JSON rules without the HCL parser; a syntax error is worded as the HCL parser's would be. */
function jsonRules(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new HclSyntaxError((err as Error).message);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new HclSyntaxError("the rules are not a JSON object");
  return value as Record<string, unknown>;
}

/** Parsed rules as plain JSON, for the policy's stored record. */
export interface StoredRules {
  readonly named: Partial<
    Record<NamedResource, { exact: [string, Access][]; prefix: [string, Access][] }>
  >;
  readonly global: Partial<Record<GlobalResource, Access>>;
}

export function toStoredRules(rules: ParsedRules): StoredRules {
  const named: StoredRules["named"] = {};
  for (const [resource, r] of Object.entries(rules.named) as [NamedResource, NamedRules][])
    named[resource] = { exact: [...r.exact], prefix: [...r.prefix] };
  return { named, global: { ...rules.global } };
}

export function fromStoredRules(stored: StoredRules): ParsedRules {
  const named: Partial<Record<NamedResource, NamedRules>> = {};
  for (const [resource, r] of Object.entries(stored.named) as [
    NamedResource,
    { exact: [string, Access][]; prefix: [string, Access][] },
  ][])
    named[resource] = { exact: new Map(r.exact), prefix: new Map(r.prefix) };
  return { named, global: stored.global };
}
