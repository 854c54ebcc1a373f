/**
 * ACL tokens, policies and roles (Consul's ACL system, agent/structs/acl.go), stored under `acl/`
 * in the store, so every agent on one etcd shares them, and read from the catalog's view.
 *
 * Resolving a request's token is a map lookup: the secret index and each token's compiled
 * authorizer are kept until the `acl` table's index moves (any token, policy or role write), so
 * a request never reads the store and never parses rules (policies store their rules parsed).
 *
 * Bounds: at most {@link MAX_ACL_OBJECTS} of each kind, {@link MAX_LINKS} policies or roles per
 * token or role, rule text as lib/acl-rules.ts allows.
 *
 * @module
 */
import { createHash, randomUUID } from "node:crypto";
import type { Compare, Store, TxnOp } from "../store/store.js";
import { AugurError, badRequest } from "../lib/errors.js";
import { parseGoDuration } from "../lib/duration.js";
import {
  fromStoredRules,
  mergeRules,
  parsePolicyRules,
  toStoredRules,
  type ParsedRules,
  type StoredRules,
} from "../lib/acl-rules.js";
import { ANONYMOUS_ACCESSOR_ID, Authorizer, type Fallback } from "../lib/acl-authorizer.js";
import { encodeRecord, PREFIX } from "./records.js";
import type { CatalogView, Stored } from "./view.js";

export const GLOBAL_MANAGEMENT_POLICY_ID = "00000000-0000-0000-0000-000000000001";
export { ANONYMOUS_ACCESSOR_ID };
export const MAX_ACL_OBJECTS = 10_000;
export const MAX_LINKS = 64;
/** A description past this is refused: every agent's view holds every ACL object. */
export const MAX_DESCRIPTION_BYTES = 8 * 1024;

const GLOBAL_MANAGEMENT_RULES = `acl = "write"
agent_prefix "" {
  policy = "write"
}
event_prefix "" {
  policy = "write"
}
key_prefix "" {
  policy = "write"
}
keyring = "write"
node_prefix "" {
  policy = "write"
}
operator = "write"
mesh = "write"
peering = "write"
query_prefix "" {
  policy = "write"
}
service_prefix "" {
  policy = "write"
  intentions = "write"
}
session_prefix "" {
  policy = "write"
}`;

export interface Link {
  ID: string;
  Name: string;
}

export interface AclTokenRecord {
  AccessorID: string;
  SecretID: string;
  Description: string;
  /** Links by ID; names are filled in from the policies when read. */
  Policies: string[];
  Roles: string[];
  Local: boolean;
  ExpirationTime?: string;
  CreateTime: string;
}

export interface AclPolicyRecord {
  ID: string;
  Name: string;
  Description: string;
  Rules: string;
  Datacenters?: string[];
  /** The rules parsed when written (never shown). */
  Parsed: StoredRules;
}

export interface AclRoleRecord {
  ID: string;
  Name: string;
  Description: string;
  Policies: string[];
}

const key = {
  token: (id: string): string => `${PREFIX.acl}token/${id}`,
  policy: (id: string): string => `${PREFIX.acl}policy/${id}`,
  role: (id: string): string => `${PREFIX.acl}role/${id}`,
};
/** Kept outside PREFIX: the view does not read it, bootstrap compares it. */
const BOOTSTRAP_KEY = "acl-bootstrap";
/**
 * Every policy and role write compares and bumps it (outside PREFIX too): a name is checked on a
 * view at least as new as the last such write on any agent, and two agents creating the same
 * name at once cannot both commit — the second re-checks and finds the first's.
 */
const NAMES_KEY = "acl-names-serial";
/** Attempts of a policy or role write that lost a race with another agent's. */
const NAMED_WRITE_ATTEMPTS = 5;

const rpcError = (message: string): AugurError => new AugurError("INVALID_STATE", message);

function checkDescription(description: string | undefined): void {
  if (description !== undefined && Buffer.byteLength(description) > MAX_DESCRIPTION_BYTES)
    throw rpcError(`Description is longer than ${MAX_DESCRIPTION_BYTES} bytes`);
}
const notFound = (): AugurError => new AugurError("PERMISSION_DENIED", "ACL not found");
const POLICY_NAME = /^[A-Za-z0-9\-_]{1,128}$/;
const UUID = /^[\da-f]{8}-[\da-f]{4}-[\da-f]{4}-[\da-f]{4}-[\da-f]{12}$/i;

/** The indexes of one state of the `acl` table. */
interface AclIndex {
  readonly revision: number;
  readonly bySecret: Map<string, Stored<AclTokenRecord>>;
  readonly tokens: Map<string, Stored<AclTokenRecord>>;
  readonly policies: Map<string, Stored<AclPolicyRecord>>;
  readonly policiesByName: Map<string, Stored<AclPolicyRecord>>;
  readonly roles: Map<string, Stored<AclRoleRecord>>;
  readonly rolesByName: Map<string, Stored<AclRoleRecord>>;
  readonly authorizers: Record<"allow" | "deny", Map<string, Authorizer>>;
  readonly parsed: Map<string, ParsedRules>;
}

export interface AclResolveOptions {
  /** `acl.default_policy`. */
  readonly defaultPolicy: "allow" | "deny";
  /** `acl.tokens.default`: the secret used for requests that carry none (else anonymous). */
  readonly defaultToken?: string;
}

export class AclStore {
  #index: AclIndex | undefined;

  constructor(
    private readonly store: Store,
    private readonly view: CatalogView,
    private readonly now: () => number = Date.now,
  ) {}

  /** The `acl` table's index, for X-Consul-Index. */
  get tableIndex(): number {
    return this.view.tableIndex("acl");
  }

  #current(): AclIndex {
    const revision = this.view.tableIndex("acl");
    if (this.#index?.revision === revision) return this.#index;
    const index: AclIndex = {
      revision,
      bySecret: new Map(),
      tokens: new Map(),
      policies: new Map(),
      policiesByName: new Map(),
      roles: new Map(),
      rolesByName: new Map(),
      authorizers: { allow: new Map(), deny: new Map() },
      parsed: new Map(),
    };
    for (const [k, s] of this.view.acl) {
      const rest = k.slice(PREFIX.acl.length);
      if (rest.startsWith("token/")) {
        const t = s as Stored<AclTokenRecord>;
        index.tokens.set(t.value.AccessorID, t);
        index.bySecret.set(t.value.SecretID, t);
      } else if (rest.startsWith("policy/")) {
        const p = s as Stored<AclPolicyRecord>;
        index.policies.set(p.value.ID, p);
        index.policiesByName.set(p.value.Name, p);
      } else if (rest.startsWith("role/")) {
        const r = s as Stored<AclRoleRecord>;
        index.roles.set(r.value.ID, r);
        index.rolesByName.set(r.value.Name, r);
      }
    }
    this.#index = index;
    return index;
  }

  // ---- resolution -------------------------------------------------------------------------

  /**
   * The authorizer for a request's secret: `undefined`/"" is the default token (or anonymous);
   * an unknown or expired secret is Consul's 403 `ACL not found`.
   */
  resolve(secret: string | undefined, options: AclResolveOptions): Authorizer {
    const index = this.#current();
    const wanted = secret === undefined || secret === "" ? options.defaultToken : secret;
    // Keyed by the secret alone (no string built per request): one map per default policy.
    const cache = index.authorizers[options.defaultPolicy];
    const cacheKey = wanted ?? "";
    const hit = cache.get(cacheKey);
    if (hit && !this.#expired(hit.accessorId, index)) return hit;
    let token: Stored<AclTokenRecord> | undefined;
    if (wanted === undefined || wanted === "" || wanted === "anonymous")
      token = index.tokens.get(ANONYMOUS_ACCESSOR_ID);
    else {
      token = index.bySecret.get(wanted);
      if (token === undefined) throw notFound();
    }
    if (token && this.#expired(token.value.AccessorID, index)) throw notFound();
    const authz = this.#compile(token?.value, options.defaultPolicy, index);
    // Only known secrets are cached, so a flood of made-up secrets cannot grow the map.
    if (cache.size < 2 * MAX_ACL_OBJECTS) cache.set(cacheKey, authz);
    return authz;
  }

  #expired(accessorId: string, index: AclIndex): boolean {
    const exp = index.tokens.get(accessorId)?.value.ExpirationTime;
    return exp !== undefined && Date.parse(exp) <= this.now();
  }

  #compile(
    token: AclTokenRecord | undefined,
    defaultPolicy: "allow" | "deny",
    index: AclIndex,
  ): Authorizer {
    const accessor = token?.AccessorID ?? ANONYMOUS_ACCESSOR_ID;
    const policyIds = new Set(token?.Policies ?? []);
    for (const roleId of token?.Roles ?? [])
      for (const p of index.roles.get(roleId)?.value.Policies ?? []) policyIds.add(p);
    let fallback: Fallback = defaultPolicy;
    const rules: ParsedRules[] = [];
    for (const id of policyIds) {
      if (id === GLOBAL_MANAGEMENT_POLICY_ID) fallback = "manage";
      const policy = index.policies.get(id);
      if (!policy) continue; // a deleted policy's link grants nothing, as in Consul
      let parsed = index.parsed.get(id);
      if (!parsed) index.parsed.set(id, (parsed = fromStoredRules(policy.value.Parsed)));
      rules.push(parsed);
    }
    return new Authorizer(mergeRules(rules), fallback, accessor);
  }

  // ---- reads ------------------------------------------------------------------------------

  tokenBySecret(secret: string): Stored<AclTokenRecord> | undefined {
    return this.#current().bySecret.get(secret);
  }

  token(accessorId: string): Stored<AclTokenRecord> | undefined {
    return this.#current().tokens.get(accessorId);
  }

  tokens(): Stored<AclTokenRecord>[] {
    return sortBy([...this.#current().tokens.values()], (t) => t.value.AccessorID);
  }

  policy(id: string): Stored<AclPolicyRecord> | undefined {
    return this.#current().policies.get(id);
  }

  policyByName(name: string): Stored<AclPolicyRecord> | undefined {
    return this.#current().policiesByName.get(name);
  }

  policies(): Stored<AclPolicyRecord>[] {
    return sortBy([...this.#current().policies.values()], (p) => p.value.ID);
  }

  role(id: string): Stored<AclRoleRecord> | undefined {
    return this.#current().roles.get(id);
  }

  roleByName(name: string): Stored<AclRoleRecord> | undefined {
    return this.#current().rolesByName.get(name);
  }

  roles(): Stored<AclRoleRecord>[] {
    return sortBy([...this.#current().roles.values()], (r) => r.value.ID);
  }

  /** `{ID, Name}` links for stored policy IDs (a deleted policy drops out). */
  policyLinks(ids: readonly string[]): Link[] {
    const index = this.#current();
    return ids.flatMap((id) => {
      const p = index.policies.get(id);
      return p ? [{ ID: id, Name: p.value.Name }] : [];
    });
  }

  roleLinks(ids: readonly string[]): Link[] {
    const index = this.#current();
    return ids.flatMap((id) => {
      const r = index.roles.get(id);
      return r ? [{ ID: id, Name: r.value.Name }] : [];
    });
  }

  // ---- writes -----------------------------------------------------------------------------

  /** Creates the built-in global-management policy and anonymous token when missing. */
  async ensureBuiltins(): Promise<void> {
    if (!this.policy(GLOBAL_MANAGEMENT_POLICY_ID))
      await this.#create(key.policy(GLOBAL_MANAGEMENT_POLICY_ID), {
        ID: GLOBAL_MANAGEMENT_POLICY_ID,
        Name: "global-management",
        Description: "Builtin Policy that grants unlimited access",
        Rules: GLOBAL_MANAGEMENT_RULES,
        Parsed: toStoredRules(await parsePolicyRules(GLOBAL_MANAGEMENT_RULES)),
      } satisfies AclPolicyRecord);
    if (!this.token(ANONYMOUS_ACCESSOR_ID))
      await this.#create(key.token(ANONYMOUS_ACCESSOR_ID), {
        AccessorID: ANONYMOUS_ACCESSOR_ID,
        SecretID: "anonymous",
        Description: "Anonymous Token",
        Policies: [],
        Roles: [],
        Local: false,
        CreateTime: new Date(this.now()).toISOString(),
      } satisfies AclTokenRecord);
  }

  /** `acl.tokens.initial_management`: a management token with that secret, made when missing. */
  async ensureManagementToken(secret: string): Promise<void> {
    if (this.tokenBySecret(secret)) return;
    // Derived from the secret, not random: agents of one cluster starting together all write the
    // same key, so the create-if-absent leaves one token, not one per agent.
    const hex = createHash("sha256").update(`initial-management:${secret}`).digest("hex");
    const accessor = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
    await this.#create(key.token(accessor), {
      AccessorID: accessor,
      SecretID: secret,
      Description: "Initial Management Token",
      Policies: [GLOBAL_MANAGEMENT_POLICY_ID],
      Roles: [],
      Local: false,
      CreateTime: new Date(this.now()).toISOString(),
    } satisfies AclTokenRecord);
  }

  /** `PUT /v1/acl/bootstrap`: once per cluster; afterwards Consul's refusal with the reset index. */
  async bootstrap(): Promise<Stored<AclTokenRecord>> {
    const accessor = randomUUID();
    const record: AclTokenRecord = {
      AccessorID: accessor,
      SecretID: randomUUID(),
      Description: "Bootstrap Token (Global Management)",
      Policies: [GLOBAL_MANAGEMENT_POLICY_ID],
      Roles: [],
      Local: false,
      CreateTime: new Date(this.now()).toISOString(),
    };
    const res = await this.store.txn({
      compare: [{ key: BOOTSTRAP_KEY, target: "exists", exists: false }],
      success: [
        { type: "put", key: BOOTSTRAP_KEY, value: encodeRecord({ AccessorID: accessor }) },
        { type: "put", key: key.token(accessor), value: encodeRecord(record) },
      ],
      failure: [{ type: "get", key: BOOTSTRAP_KEY }],
    });
    if (!res.succeeded) {
      const got = res.results[0];
      const at = got?.type === "get" ? (got.kv?.modRevision ?? 0) : 0;
      throw new AugurError(
        "PERMISSION_DENIED",
        `Permission denied: ACL bootstrap no longer allowed (reset index: ${at})`,
      );
    }
    await this.view.waitFor(res.revision);
    return this.token(accessor) as Stored<AclTokenRecord>;
  }

  async upsertToken(input: TokenInput, existingId?: string): Promise<Stored<AclTokenRecord>> {
    // A secret the client chose must be unique cluster-wide, and it is not in the token's key:
    // such creates are serialized with the other writes whose checks span agents (NAMES_KEY),
    // as two agents creating the same secret at once would otherwise both succeed.
    if (existingId === undefined && input.SecretID !== undefined)
      return this.#named((serial) => this.#upsertTokenOnce(input, undefined, serial));
    return this.#upsertTokenOnce(input, existingId) as Promise<Stored<AclTokenRecord>>;
  }

  /** The token once written; undefined when another agent's serialized write came first. */
  async #upsertTokenOnce(
    input: TokenInput,
    existingId: string | undefined,
    serial?: number,
  ): Promise<Stored<AclTokenRecord> | undefined> {
    const index = this.#current();
    const existing = existingId === undefined ? undefined : index.tokens.get(existingId);
    if (existingId !== undefined && !existing)
      throw rpcError(`Cannot find token ${JSON.stringify(existingId)}`);
    if (!existing && index.tokens.size >= MAX_ACL_OBJECTS)
      throw rpcError(`Cannot create more than ${MAX_ACL_OBJECTS} ACL tokens`);
    checkDescription(input.Description);
    const accessor = existing?.value.AccessorID ?? input.AccessorID ?? randomUUID();
    const secret = existing?.value.SecretID ?? input.SecretID ?? randomUUID();
    if (!existing) {
      if (input.AccessorID !== undefined && !UUID.test(input.AccessorID))
        throw rpcError("Invalid Token: AccessorID must be a valid UUID");
      if (index.tokens.has(accessor)) throw rpcError("Invalid Token: AccessorID is already in use");
      if (index.bySecret.has(secret)) throw rpcError("Invalid Token: SecretID is already in use");
    } else if (input.SecretID !== undefined && input.SecretID !== existing.value.SecretID)
      throw rpcError("Changing a tokens SecretID is not permitted");
    const record: AclTokenRecord = {
      AccessorID: accessor,
      SecretID: secret,
      Description: input.Description ?? "",
      Policies: this.#policyIds(input.Policies ?? []),
      Roles: this.#roleIds(input.Roles ?? []),
      Local: existing?.value.Local ?? input.Local ?? false,
      CreateTime: existing?.value.CreateTime ?? new Date(this.now()).toISOString(),
    };
    const expiration = existing?.value.ExpirationTime ?? this.#expiration(input);
    if (expiration !== undefined) record.ExpirationTime = expiration;
    if (!(await this.#put(key.token(accessor), record, existing, serial))) return undefined;
    return this.token(accessor) as Stored<AclTokenRecord>;
  }

  async cloneToken(accessorId: string, description?: string): Promise<Stored<AclTokenRecord>> {
    const source = this.token(accessorId);
    if (!source) throw notFound();
    if (accessorId === ANONYMOUS_ACCESSOR_ID) throw rpcError("Cannot clone the anonymous token");
    return this.upsertToken({
      Description: description ?? source.value.Description,
      Policies: source.value.Policies.map((ID) => ({ ID })),
      Roles: source.value.Roles.map((ID) => ({ ID })),
      Local: source.value.Local,
    });
  }

  async deleteToken(accessorId: string): Promise<void> {
    if (accessorId === ANONYMOUS_ACCESSOR_ID)
      throw rpcError("Delete operation not permitted on the anonymous token");
    const existing = this.token(accessorId);
    if (existing) await this.#delete(existing);
  }

  async upsertPolicy(input: PolicyInput, existingId?: string): Promise<Stored<AclPolicyRecord>> {
    return this.#named(async (serial) => {
      const id = await this.#upsertPolicyOnce(input, existingId, serial);
      return id === undefined ? undefined : (this.policy(id) as Stored<AclPolicyRecord>);
    });
  }

  /** The policy's id once written, undefined when another agent's policy or role write came first. */
  async #upsertPolicyOnce(
    input: PolicyInput,
    existingId: string | undefined,
    serial: number,
  ): Promise<string | undefined> {
    const index = this.#current();
    const existing = existingId === undefined ? undefined : index.policies.get(existingId);
    if (existingId !== undefined && !existing)
      throw rpcError(`Cannot find policy ${JSON.stringify(existingId)}`);
    checkDescription(input.Description);
    if ((input.Datacenters?.length ?? 0) > MAX_LINKS)
      throw rpcError(`A policy may name at most ${MAX_LINKS} datacenters`);
    const name = input.Name ?? "";
    if (name === "") throw rpcError("Invalid Policy: no Name is set");
    if (!POLICY_NAME.test(name))
      throw rpcError(
        "Invalid Policy: invalid Name. Only alphanumeric characters, '-' and '_' are allowed",
      );
    const clash = index.policiesByName.get(name);
    if (clash && clash.value.ID !== existing?.value.ID)
      throw rpcError(`Invalid Policy: A Policy with Name ${JSON.stringify(name)} already exists`);
    if (!existing && index.policies.size >= MAX_ACL_OBJECTS)
      throw rpcError(`Cannot create more than ${MAX_ACL_OBJECTS} ACL policies`);
    const rules = input.Rules ?? "";
    if (existing?.value.ID === GLOBAL_MANAGEMENT_POLICY_ID) {
      if (rules !== existing.value.Rules)
        throw rpcError(
          "Changing the Rules for the builtin global-management policy is not permitted",
        );
      if (name !== existing.value.Name)
        throw rpcError(
          "Changing the Name for the builtin global-management policy is not permitted",
        );
    }
    const parsed = await parsePolicyRules(rules);
    const id = existing?.value.ID ?? randomUUID();
    const record: AclPolicyRecord = {
      ID: id,
      Name: name,
      Description: input.Description ?? "",
      Rules: rules,
      ...(input.Datacenters && input.Datacenters.length > 0
        ? { Datacenters: input.Datacenters }
        : {}),
      Parsed: toStoredRules(parsed),
    };
    return (await this.#put(key.policy(id), record, existing, serial)) ? id : undefined;
  }

  async deletePolicy(id: string): Promise<void> {
    if (id === GLOBAL_MANAGEMENT_POLICY_ID)
      throw rpcError("Delete operation not permitted on the builtin global-management policy");
    const existing = this.policy(id);
    if (existing) await this.#delete(existing);
  }

  async upsertRole(input: RoleInput, existingId?: string): Promise<Stored<AclRoleRecord>> {
    return this.#named(async (serial) => {
      const id = await this.#upsertRoleOnce(input, existingId, serial);
      return id === undefined ? undefined : (this.role(id) as Stored<AclRoleRecord>);
    });
  }

  /** The role's id once written, undefined when another agent's policy or role write came first. */
  async #upsertRoleOnce(
    input: RoleInput,
    existingId: string | undefined,
    serial: number,
  ): Promise<string | undefined> {
    const index = this.#current();
    const existing = existingId === undefined ? undefined : index.roles.get(existingId);
    if (existingId !== undefined && !existing)
      throw rpcError(`Cannot find role ${JSON.stringify(existingId)}`);
    checkDescription(input.Description);
    const name = input.Name ?? "";
    if (name === "") throw rpcError("Role name is missing");
    if (!/^[A-Za-z0-9\-_]{1,256}$/.test(name))
      throw rpcError("Role name invalid. Only alphanumeric characters, '-' and '_' are allowed");
    const clash = index.rolesByName.get(name);
    if (clash && clash.value.ID !== existing?.value.ID)
      throw rpcError(`Invalid Role: A Role with Name ${JSON.stringify(name)} already exists`);
    if (!existing && index.roles.size >= MAX_ACL_OBJECTS)
      throw rpcError(`Cannot create more than ${MAX_ACL_OBJECTS} ACL roles`);
    const id = existing?.value.ID ?? randomUUID();
    const record: AclRoleRecord = {
      ID: id,
      Name: name,
      Description: input.Description ?? "",
      Policies: this.#policyIds(input.Policies ?? []),
    };
    return (await this.#put(key.role(id), record, existing, serial)) ? id : undefined;
  }

  async deleteRole(id: string): Promise<void> {
    const existing = this.role(id);
    if (existing) await this.#delete(existing);
  }

  #policyIds(links: readonly LinkInput[]): string[] {
    if (links.length > MAX_LINKS)
      throw rpcError(`A token or role may link at most ${MAX_LINKS} policies`);
    const index = this.#current();
    const ids = new Set<string>();
    for (const link of links) {
      const p =
        link.ID !== undefined && link.ID !== ""
          ? index.policies.get(link.ID)
          : index.policiesByName.get(link.Name ?? "");
      if (!p)
        throw rpcError(
          link.ID
            ? `No such ACL policy with ID ${JSON.stringify(link.ID)}`
            : `No such ACL policy with name ${JSON.stringify(link.Name ?? "")}`,
        );
      ids.add(p.value.ID);
    }
    return [...ids];
  }

  #roleIds(links: readonly LinkInput[]): string[] {
    if (links.length > MAX_LINKS) throw rpcError(`A token may link at most ${MAX_LINKS} roles`);
    const index = this.#current();
    const ids = new Set<string>();
    for (const link of links) {
      const r =
        link.ID !== undefined && link.ID !== ""
          ? index.roles.get(link.ID)
          : index.rolesByName.get(link.Name ?? "");
      if (!r)
        throw rpcError(
          link.ID
            ? `No such ACL role with ID ${JSON.stringify(link.ID)}`
            : `No such ACL role with name ${JSON.stringify(link.Name ?? "")}`,
        );
      ids.add(r.value.ID);
    }
    return [...ids];
  }

  /** Consul's token TTL bounds: at least a minute, at most a day. */
  #expiration(input: TokenInput): string | undefined {
    if (input.ExpirationTTL !== undefined && input.ExpirationTTL !== "") {
      const ms = parseGoDuration(input.ExpirationTTL);
      if (ms === undefined) throw badRequest(`Invalid ExpirationTTL: ${input.ExpirationTTL}`);
      if (ms < 0)
        throw rpcError("Token Expiration TTL '" + input.ExpirationTTL + "' should be > 0");
      if (ms > 0 && ms < 60_000) throw rpcError("Token Expiration TTL cannot be less than 1m0s");
      if (ms > 24 * 3600_000) throw rpcError("Token Expiration TTL cannot be more than 24h0m0s");
      if (ms > 0) return new Date(this.now() + ms).toISOString();
    }
    if (input.ExpirationTime !== undefined && input.ExpirationTime !== null) {
      const at = Date.parse(input.ExpirationTime);
      if (Number.isNaN(at)) throw badRequest(`Invalid ExpirationTime: ${input.ExpirationTime}`);
      if (at <= this.now()) throw rpcError("ExpirationTime cannot be in the past");
      return new Date(at).toISOString();
    }
    return undefined;
  }

  async #create(k: string, value: unknown): Promise<void> {
    const res = await this.store.txn({
      compare: [{ key: k, target: "exists", exists: false }],
      success: [{ type: "put", key: k, value: encodeRecord(value) }],
    });
    await this.view.waitFor(res.revision);
  }

  /**
   * Writes one ACL object if it is still as read. With `serial` (policy and role writes, see
   * NAMES_KEY) also only if no other policy or role write came since: then false when one did.
   */
  async #put(
    k: string,
    value: unknown,
    existing: Stored<unknown> | undefined,
    serial?: number,
  ): Promise<boolean> {
    const compare: Compare[] = existing
      ? [{ key: k, target: "modRevision", op: "=", value: existing.modRevision }]
      : [{ key: k, target: "exists", exists: false }];
    const success: TxnOp[] = [{ type: "put", key: k, value: encodeRecord(value) }];
    if (serial !== undefined) {
      compare.push(
        serial === 0
          ? { key: NAMES_KEY, target: "exists", exists: false }
          : { key: NAMES_KEY, target: "modRevision", op: "=", value: serial },
      );
      success.push({ type: "put", key: NAMES_KEY, value: new Uint8Array() });
    }
    const res = await this.store.txn({ compare, success });
    if (!res.succeeded) {
      if (serial !== undefined) return false;
      throw rpcError("The ACL object was changed concurrently; retry");
    }
    await this.view.waitFor(res.revision);
    return true;
  }

  /**
   * Runs a policy or role write on a view that has seen every earlier such write (NAMES_KEY),
   * again when another agent's came first, so its name checks hold cluster-wide.
   */
  async #named<T>(write: (serial: number) => Promise<T | undefined>): Promise<T> {
    for (let attempt = 0; attempt < NAMED_WRITE_ATTEMPTS; attempt++) {
      const serial = (await this.store.get(NAMES_KEY))?.modRevision ?? 0;
      if (serial > 0) await this.view.waitFor(serial);
      const done = await write(serial);
      if (done !== undefined) return done;
    }
    throw new AugurError(
      "CONTENDED",
      "ACL policies, roles and tokens kept changing concurrently; retry",
    );
  }

  async #delete(existing: Stored<unknown>): Promise<void> {
    const res = await this.store.txn({
      compare: [],
      success: [{ type: "delete", key: existing.key }],
    });
    await this.view.waitFor(res.revision);
  }
}

export interface LinkInput {
  ID?: string;
  Name?: string;
}

export interface TokenInput {
  AccessorID?: string;
  SecretID?: string;
  Description?: string;
  Policies?: LinkInput[];
  Roles?: LinkInput[];
  Local?: boolean;
  ExpirationTTL?: string;
  ExpirationTime?: string | null;
}

export interface PolicyInput {
  Name?: string;
  Description?: string;
  Rules?: string;
  Datacenters?: string[];
}

export interface RoleInput {
  Name?: string;
  Description?: string;
  Policies?: LinkInput[];
}

/** Consul's `Hash`: a digest of what the object grants, base64. */
export function aclHash(value: unknown): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("base64");
}

function sortBy<T>(items: T[], by: (t: T) => string): T[] {
  return items.sort((a, b) => (by(a) < by(b) ? -1 : by(a) > by(b) ? 1 : 0));
}
