/**
 * Prepared queries (Consul agent/consul/prepared_query_endpoint.go Apply, state/prepared_query.go):
 * stored under `queries/<id>`, read from the view, resolved by ID, exact name, then the longest
 * template name prefix, as Consul's state store does.
 *
 * Names are unique case-insensitively across agents: each named query (and the one template with
 * an empty name) also holds a claim key outside PREFIX, `query-names/<lowercased name>`, and a
 * write compares that claim, so two agents creating the same name at once cannot both succeed.
 *
 * Bounds (docs/api.md): at most {@link MAX_QUERIES} queries, names of at most
 * {@link MAX_NAME_LENGTH} characters and regexps of at most {@link MAX_REGEXP_LENGTH}, so a
 * lookup costs at most a few hundred short map probes and no write can grow the view without end.
 *
 * @module
 */
import { randomUUID } from "node:crypto";
import type { Compare, Store, TxnOp } from "../store/store.js";
import { AugurError } from "../lib/errors.js";
import { parseGoDuration } from "../lib/duration.js";
import type { Indexed } from "./types.js";
import { encodeRecord, keys, type QueryRecord } from "./records.js";
import type { AppliedChange, CatalogView, Stored } from "./view.js";
import type { PreparedQuery, PreparedQueryDefinition } from "./prepared-query-types.js";
import { CompiledTemplate, TemplateError } from "./prepared-query-template.js";

export const MAX_QUERIES = 5000;
export const MAX_NAME_LENGTH = 512;
export const MAX_REGEXP_LENGTH = 2048;
/** Consul's ValidateNodeMetadata limits. */
const META_MAX_PAIRS = 64;
const META_KEY_MAX = 128;
const META_VALUE_MAX = 512;
/** Attempts before a write that keeps meeting concurrent writes gives up. */
const MAX_ATTEMPTS = 20;
/** Name claims, kept outside PREFIX so the view does not read them. */
const CLAIM_PREFIX = "query-names/";
/** The claim of the template with an empty name: a space is never left unescaped by enc. */
const EMPTY_TEMPLATE_CLAIM = `${CLAIM_PREFIX} empty-template`;
const UUID = /^[\da-f]{8}-[\da-f]{4}-[\da-f]{4}-[\da-f]{4}-[\da-f]{12}$/i;

export function isUuid(s: string): boolean {
  return s.length === 36 && UUID.test(s);
}

const rpcError = (message: string): AugurError => new AugurError("INVALID_STATE", message);

export function toPreparedQuery(s: Stored<QueryRecord>): PreparedQuery {
  return { ...s.value, CreateIndex: s.createRevision, ModifyIndex: s.modRevision };
}

function claimKey(q: PreparedQueryDefinition): string | undefined {
  if (q.Name !== "") return `${CLAIM_PREFIX}${encodeURIComponent(q.Name.toLowerCase())}`;
  return q.Template.Type !== "" ? EMPTY_TEMPLATE_CLAIM : undefined;
}

/** The lookup structures of one state of the queries table, rebuilt when the table changes. */
interface Lookup {
  readonly index: number;
  readonly byName: Map<string, Stored<QueryRecord>>;
  /** Templates by lowercased name, and the distinct name lengths, longest first. */
  readonly templates: Map<string, Stored<QueryRecord>>;
  readonly templateLengths: number[];
}

export class PreparedQueries {
  #lookup: Lookup | undefined;
  /** Compiled templates by stored record: a record is replaced, never changed, on every write. */
  readonly #compiled = new WeakMap<Stored<QueryRecord>, CompiledTemplate>();

  constructor(
    private readonly store: Store,
    private readonly view: CatalogView,
    /** The most queries that may exist ({@link MAX_QUERIES} unless a test lowers it). */
    private readonly maxQueries: number = MAX_QUERIES,
  ) {}

  /** Every query, in ID order (Consul's id index), with the table's index. */
  list(): Indexed<PreparedQuery[]> {
    const all = [...this.view.queries.values()].map(toPreparedQuery);
    all.sort((a, b) => (a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0));
    return { index: this.view.tableIndex("queries"), value: all };
  }

  /** One query by ID, or null, with the table's index. */
  get(id: string): Indexed<PreparedQuery | null> {
    const s = this.view.queries.get(id.toLowerCase());
    return { index: this.view.tableIndex("queries"), value: s ? toPreparedQuery(s) : null };
  }

  async create(def: PreparedQueryDefinition): Promise<string> {
    if (def.ID !== "") throw rpcError("ID must be empty when creating a new prepared query");
    const query = { ...def, ID: randomUUID() };
    validate(query);
    if (this.view.queries.size >= this.maxQueries)
      throw rpcError(`Too many prepared queries: at most ${this.maxQueries} may exist`);
    await this.#write(query, () => undefined);
    return query.ID;
  }

  async update(id: string, def: PreparedQueryDefinition): Promise<void> {
    // IDs match in any case (memdb's UUID index decodes hex): keep the stored spelling, so an
    // update by an upper-case ID replaces the record instead of writing a second one.
    const query = { ...def, ID: this.#existing(id).value.ID };
    validate(query);
    await this.#write(query, () => this.#existing(id));
  }

  async delete(id: string): Promise<void> {
    this.#existing(id);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      if (attempt > 0) await this.view.waitFor(await this.store.revision());
      const existing = this.view.queries.get(id.toLowerCase());
      if (!existing) return;
      const res = await this.store.txn({
        compare: [unchanged(existing)],
        success: removal(existing),
      });
      if (!res.succeeded) continue;
      await this.view.waitFor(res.revision);
      return;
    }
    throw contended(id);
  }

  /**
   * Consul's PreparedQueryResolve: by ID (a template only by name), then by exact name, then by
   * the longest template name prefix; a template is rendered for the name asked. Undefined when
   * nothing matches.
   */
  resolve(idOrName: string, agentSegment: string): Indexed<PreparedQuery | undefined> {
    const lookup = this.#lookupNow();
    const index = lookup.index;
    if (idOrName === "") throw rpcError("Missing query ID");
    if (isUuid(idOrName)) {
      const s = this.view.queries.get(idOrName.toLowerCase());
      if (s) {
        if (s.value.Template.Type !== "")
          throw rpcError("prepared query templates can only be resolved up by name, not by ID");
        return { index, value: toPreparedQuery(s) };
      }
    }
    const lower = idOrName.toLowerCase();
    const found = lookup.byName.get(lower) ?? this.#longestTemplate(lookup, lower);
    if (!found) return { index, value: undefined };
    if (found.value.Template.Type === "") return { index, value: toPreparedQuery(found) };
    try {
      const rendered = this.#compiledOf(found).render(idOrName, agentSegment);
      return { index, value: toPreparedQuery({ ...found, value: rendered }) };
    } catch (err) {
      if (err instanceof TemplateError) throw rpcError(err.message);
      throw err;
    }
  }

  /**
   * Consul deletes a session's prepared queries with the session. Called with the sessions that
   * went (or every query's session, at start, to repair what a crash left); each delete compares
   * the query's revision, so agents racing do it once.
   */
  async dropOrphans(sessions?: ReadonlySet<string>): Promise<void> {
    const victims = [...this.view.queries.values()].filter(
      (q) =>
        q.value.Session !== "" &&
        (!sessions || sessions.has(q.value.Session)) &&
        !this.view.sessions.has(q.value.Session),
    );
    let last = 0;
    for (const q of victims) {
      const res = await this.store.txn({ compare: [unchanged(q)], success: removal(q) });
      if (res.succeeded) last = Math.max(last, res.revision);
    }
    if (last > 0) await this.view.waitFor(last);
  }

  /** The sessions an applied batch removed, for {@link dropOrphans}. */
  static sessionsGone(changes: readonly AppliedChange[]): Set<string> {
    const gone = new Set<string>();
    for (const c of changes)
      if (c.kind === "sessions" && c.prev && !c.next) gone.add(c.key.slice(c.key.indexOf("/") + 1));
    return gone;
  }

  #existing(id: string): Stored<QueryRecord> {
    const s = this.view.queries.get(id.toLowerCase());
    if (!s) throw rpcError(`Cannot modify non-existent prepared query: '${id}'`);
    return s;
  }

  /** The state store's checks (names, session, template), then one compared transaction. */
  async #write(
    query: PreparedQueryDefinition,
    existingNow: () => Stored<QueryRecord> | undefined,
  ): Promise<void> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      if (attempt > 0) await this.view.waitFor(await this.store.revision());
      const existing = existingNow();
      this.#checkIntegrity(query, existing);
      const claim = claimKey(query);
      const oldClaim = existing ? claimKey(existing.value) : undefined;
      const compare: Compare[] = [
        existing
          ? unchanged(existing)
          : { key: keys.query(query.ID), target: "exists", exists: false },
      ];
      const success: TxnOp[] = [
        { type: "put", key: keys.query(query.ID), value: encodeRecord(query) },
      ];
      if (claim !== oldClaim) {
        if (oldClaim) success.push({ type: "delete", key: oldClaim });
        if (claim) {
          compare.push({ key: claim, target: "exists", exists: false });
          success.push({ type: "put", key: claim, value: encodeRecord(query.ID) });
        }
      }
      if (query.Session)
        compare.push({ key: keys.session(query.Session), target: "exists", exists: true });
      const res = await this.store.txn({ compare, success });
      if (!res.succeeded) continue;
      await this.view.waitFor(res.revision);
      return;
    }
    throw contended(query.ID);
  }

  #checkIntegrity(query: PreparedQueryDefinition, existing: Stored<QueryRecord> | undefined): void {
    const fail = (m: string): AugurError => rpcError(`raft apply failed: ${m}`);
    const lookup = this.#lookupNow();
    if (query.Name !== "") {
      const other = lookup.byName.get(query.Name.toLowerCase());
      if (other && other.value.ID !== existing?.value.ID)
        throw fail(`name '${query.Name}' aliases an existing query name`);
    } else if (query.Template.Type !== "") {
      const other = lookup.templates.get("");
      if (other && other.value.ID !== existing?.value.ID)
        throw fail("a query template with an empty name already exists");
    }
    if (isUuid(query.Name) && this.view.queries.has(query.Name.toLowerCase()))
      throw fail(`name '${query.Name}' aliases an existing query ID`);
    if (query.Session !== "" && !this.view.sessions.has(query.Session))
      throw fail(`invalid session ${JSON.stringify(query.Session)}`);
    if (query.Template.Type !== "") {
      try {
        CompiledTemplate.compile(query);
      } catch (err) {
        if (err instanceof TemplateError) throw fail(`failed compiling template: ${err.message}`);
        throw err;
      }
    }
  }

  #compiledOf(s: Stored<QueryRecord>): CompiledTemplate {
    let ct = this.#compiled.get(s);
    if (!ct) this.#compiled.set(s, (ct = CompiledTemplate.compile(s.value)));
    return ct;
  }

  #lookupNow(): Lookup {
    const index = this.view.tableIndex("queries");
    if (this.#lookup?.index === index) return this.#lookup;
    const byName = new Map<string, Stored<QueryRecord>>();
    const templates = new Map<string, Stored<QueryRecord>>();
    for (const s of this.view.queries.values()) {
      const lower = s.value.Name.toLowerCase();
      if (lower !== "") byName.set(lower, s);
      if (s.value.Template.Type !== "") templates.set(lower, s);
    }
    const templateLengths = [...new Set([...templates.keys()].map((k) => k.length))].sort(
      (a, b) => b - a,
    );
    return (this.#lookup = { index, byName, templates, templateLengths });
  }

  /** The template whose name is the longest prefix of `lower` (names are bounded, so this is cheap). */
  #longestTemplate(lookup: Lookup, lower: string): Stored<QueryRecord> | undefined {
    for (const len of lookup.templateLengths) {
      if (len > lower.length) continue;
      const hit = lookup.templates.get(lower.slice(0, len));
      if (hit) return hit;
    }
    return undefined;
  }
}

function unchanged(s: Stored<unknown>): Compare {
  return { key: s.key, target: "modRevision", op: "=", value: s.modRevision };
}

function removal(s: Stored<QueryRecord>): TxnOp[] {
  const ops: TxnOp[] = [{ type: "delete", key: s.key }];
  const claim = claimKey(s.value);
  if (claim) ops.push({ type: "delete", key: claim });
  return ops;
}

function contended(id: string): AugurError {
  return new AugurError(
    "CONTENDED",
    `Writing prepared query '${id}' kept conflicting with concurrent writes; try again`,
  );
}

/** Consul's parseQuery (with its "Invalid prepared query: " prefix), plus augur's bounds. */
export function validate(q: PreparedQueryDefinition): void {
  const reason = invalidReason(q);
  if (reason !== undefined) throw rpcError(`Invalid prepared query: ${reason}`);
}

function invalidReason(q: PreparedQueryDefinition): string | undefined {
  if (q.Name === "" && q.Template.Type === "" && q.Session === "")
    return "Must be bound to a session";
  if (q.Token === "<hidden>")
    return `Bad Token '${q.Token}', it looks like a query definition with a redacted token was submitted`;
  const svc = q.Service;
  if (svc.Service === "") return "Must provide a Service name to query";
  if (svc.Failover.NearestN < 0) return `Bad NearestN '${svc.Failover.NearestN}', must be >= 0`;
  if (
    (svc.Failover.NearestN !== 0 || (svc.Failover.Datacenters ?? []).length !== 0) &&
    (svc.Failover.Targets ?? []).length !== 0
  )
    return "Targets cannot be populated with NearestN or Datacenters";
  const meta = metaReason(svc.NodeMeta ?? {});
  if (meta !== undefined) return meta;
  if (q.DNS.TTL !== "") {
    const ms = parseGoDuration(q.DNS.TTL);
    if (ms === undefined)
      return `Bad DNS TTL '${q.DNS.TTL}': time: invalid duration ${JSON.stringify(q.DNS.TTL)}`;
    if (ms < 0) return `DNS TTL '${Math.round(ms * 1e6)}', must be >=0`;
  }
  if (q.Name.length > MAX_NAME_LENGTH)
    return `Name is too long (limit: ${MAX_NAME_LENGTH} characters)`;
  if (q.Template.Regexp.length > MAX_REGEXP_LENGTH)
    return `Template.Regexp is too long (limit: ${MAX_REGEXP_LENGTH} characters)`;
  return undefined;
}

/** Consul's ValidateNodeMetadata with allowConsulPrefix = true. */
function metaReason(meta: Record<string, string>): string | undefined {
  const entries = Object.entries(meta);
  if (entries.length > META_MAX_PAIRS)
    return `Node metadata cannot contain more than ${META_MAX_PAIRS} key/value pairs`;
  for (const [k, v] of entries) {
    const pair = pairReason(k, v);
    if (pair !== undefined) return `Couldn't load metadata pair ('${k}', '${v}'): ${pair}`;
  }
  return undefined;
}

function pairReason(k: string, v: string): string | undefined {
  if (k === "") return "Key cannot be blank";
  if (!/^[a-zA-Z0-9_-]+$/.test(k)) return "Key contains invalid characters";
  if (k.length > META_KEY_MAX) return `Key is too long (limit: ${META_KEY_MAX} characters)`;
  if (v.length > META_VALUE_MAX) return `Value is too long (limit: ${META_VALUE_MAX} characters)`;
  return undefined;
}
