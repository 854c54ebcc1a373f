/**
 * `/v1/txn` with catalog operations (Consul agent/consul/state/txn.go): KV, Node, Service, Check
 * and Session ops applied in order to one working copy, then committed as ONE store transaction
 * guarded by the mod revision of every record read, so the whole is all or nothing on every store.
 * KV ops run through the KV engine's own working copy and verbs (kv.ts), so a KV op means the same
 * here as in a KV-only txn.
 *
 * What the store writes is what catalog/register and catalog/deregister write: a node delete
 * takes the node's services and checks with it (a range delete, as deregister does), a service
 * delete takes its checks, and sessions of a deleted node or of a check gone critical or away are
 * invalidated by the same watcher that handles deregistration (Sessions.invalidateAffected).
 *
 * @module
 */
import type { Compare, Store, TxnOp } from "../store/store.js";
import { AugurError } from "../lib/errors.js";
import {
  CHECK_STATUSES,
  type HealthCheck,
  type KVPair,
  type Node,
  type NodeService,
} from "./types.js";
import {
  PREFIX,
  encodeRecord,
  keys,
  sameRecord,
  type CheckRecord,
  type KvRecord,
  type NodeRecord,
  type ServiceRecord,
  type SessionRecord,
} from "./records.js";
import type { CatalogView, Stored } from "./view.js";
import { applyOp, readInputs, viewReader, type Inputs, type KvOp } from "./kv.js";
import { releasedLock } from "./sessions.js";
import { toNodeService } from "./health.js";

/** A service as a txn op gives it; the op names its node apart. */
export type ServiceFields = Omit<ServiceRecord, "Node">;

/** One op of a txn, decoded (api/txn.go TxnOp: exactly one of KV, Node, Service, Check, Session). */
export type CatalogTxnOp =
  | { readonly kind: "kv"; readonly op: KvOp }
  | {
      readonly kind: "node";
      readonly verb: string;
      readonly node: NodeRecord;
      /** ModifyIndex, for cas and delete-cas. */
      readonly index: number;
    }
  | {
      readonly kind: "service";
      readonly verb: string;
      readonly node: string;
      readonly service: ServiceFields;
      readonly index: number;
    }
  | {
      readonly kind: "check";
      readonly verb: string;
      readonly check: CheckRecord;
      readonly index: number;
    }
  | { readonly kind: "session"; readonly verb: string; readonly id: string };

export type TxnResult =
  { KV: KVPair } | { Node: Node } | { Service: NodeService } | { Check: HealthCheck };

export interface TxnOpError {
  OpIndex: number;
  What: string;
}

export interface CatalogTxnResult {
  /** One entry per op that returns something, in op order (Consul's TxnResults). */
  readonly results: TxnResult[];
  /** Per-op failures; when non-empty nothing was written. */
  readonly errors: TxnOpError[];
  /** The revision written; 0 when the txn wrote nothing. */
  readonly revision: number;
  /** The sessions the txn deleted. */
  readonly deletedSessions: SessionRecord[];
}

export interface CatalogTxnOptions {
  /** The agent's own caller, whose KV `delete-tree` may take `_augur/` keys too. */
  readonly internal?: boolean;
  readonly now?: () => number;
}

const MAX_ATTEMPTS = 20;

/**
 * Runs the ops atomically. An attempt reads what it needs from the view and compares all of it in
 * its store transaction; a compare that fails, or an outcome the view alone decided to refuse, is
 * decided again once the view has caught up with the store.
 */
export async function runCatalogTxn(
  store: Store,
  view: CatalogView,
  ops: readonly CatalogTxnOp[],
  options: CatalogTxnOptions = {},
): Promise<CatalogTxnResult> {
  const kvOps = ops.flatMap((o) => (o.kind === "kv" ? [o.op] : []));
  let caughtUp = false;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const inputs = await readInputs(store, viewReader(view), kvOps);
    const work = new WorkingCopy(view, inputs, (options.now ?? Date.now)(), options);
    work.apply(ops);
    if (work.errors.length > 0 && caughtUp)
      return { results: [], errors: work.errors, revision: 0, deletedSessions: [] };
    if (work.errors.length === 0) {
      const writes = work.writes();
      if (writes.length === 0)
        return { results: work.results(0), errors: [], revision: 0, deletedSessions: [] };
      const res = await store.txn({ compare: work.compare, success: writes });
      if (res.succeeded)
        return {
          results: work.results(res.revision),
          errors: [],
          revision: res.revision,
          deletedSessions: work.deletedSessions(),
        };
    }
    await view.waitFor(await store.revision());
    caughtUp = true;
  }
  throw new AugurError(
    "CONTENDED",
    "Transaction kept conflicting with concurrent writes; try again",
  );
}

/** A catalog record in the working copy: as read, then as the ops so far left it. */
interface RecordSlot {
  rec: unknown;
  /** The create revision a result reports: 0 once the record was deleted in this txn. */
  createRevision: number;
  readonly storedModRevision: number;
  readonly existed: boolean;
  dirty: boolean;
  /** Whether the transaction compares this key yet (see WorkingCopy.#slot). */
  compared: boolean;
}

type Pending = (revision: number) => TxnResult;
type Outcome = { error: string } | { results: Pending[] };

const q = (s: string): string => JSON.stringify(s);
const fail = (error: string): Outcome => ({ error });
const NOTHING: Outcome = { results: [] };

class WorkingCopy {
  readonly errors: TxnOpError[] = [];
  readonly compare: Compare[];
  readonly #slots = new Map<string, RecordSlot>();
  /** Each node touched, by lowercased name: the name its keys use (the case it was registered in). */
  readonly #nodeNames = new Map<string, string>();
  readonly #pending: Pending[] = [];
  readonly #deletedSessions = new Map<string, SessionRecord>();
  /** The service and check keys of each node touched (loaded or written), by the node's keyed name. */
  readonly #onNode = new Map<
    string,
    { services: Set<string>; checks: Set<string>; loaded: boolean }
  >();
  #namesById: Map<string, string> | undefined;

  constructor(
    private readonly view: CatalogView,
    private readonly kv: Inputs,
    private readonly now: number,
    private readonly options: CatalogTxnOptions,
  ) {
    this.compare = kv.compare;
  }

  apply(ops: readonly CatalogTxnOp[]): void {
    ops.forEach((op, i) => {
      const outcome = this.#apply(op);
      if ("error" in outcome) this.errors.push({ OpIndex: i, What: outcome.error });
      else this.#pending.push(...outcome.results);
    });
  }

  results(revision: number): TxnResult[] {
    return this.#pending.map((r) => r(revision));
  }

  deletedSessions(): SessionRecord[] {
    return [...this.#deletedSessions.values()];
  }

  /** The store writes: every changed record, KV key and deleted session. */
  writes(): TxnOp[] {
    const out: TxnOp[] = [];
    // A node that goes takes everything under it by range, as catalog/deregister does: also what
    // was registered on it since this txn read it.
    const covered = new Set<string>();
    for (const name of this.#nodeNames.values()) {
      const s = this.#slots.get(keys.node(name));
      if (!s?.existed || s.rec !== null) continue;
      out.push(
        { type: "deleteRange", prefix: keys.servicesOf(name) },
        { type: "deleteRange", prefix: keys.checksOf(name) },
      );
      const on = this.#onNode.get(name);
      for (const key of [...(on?.services ?? []), ...(on?.checks ?? [])]) covered.add(key);
    }
    for (const [key, s] of this.#slots) {
      if (!s.dirty) continue;
      if (s.rec !== null) out.push({ type: "put", key, value: encodeRecord(s.rec) });
      else if (s.existed && !covered.has(key)) out.push({ type: "delete", key });
    }
    for (const [key, s] of this.kv.slots) {
      if (!s.dirty) continue;
      out.push(
        s.rec
          ? { type: "put", key: keys.kv(key), value: encodeRecord(s.rec) }
          : { type: "delete", key: keys.kv(key) },
      );
    }
    for (const id of this.#deletedSessions.keys())
      out.push({ type: "delete", key: keys.session(id) });
    return out;
  }

  #apply(op: CatalogTxnOp): Outcome {
    switch (op.kind) {
      case "kv":
        return this.#kvOp(op.op);
      case "node":
        return this.#nodeOp(op.verb, op.node, op.index);
      case "service":
        return this.#serviceOp(op.verb, op.node, op.service, op.index);
      case "check":
        return this.#checkOp(op.verb, op.check, op.index);
      case "session":
        return this.#sessionOp(op.verb, op.id);
    }
  }

  // ---- the working copy --------------------------------------------------------------------

  /**
   * The slot of `key`, read from the view the first time. `compare` adds the key's guard to the
   * transaction; a node's services and checks are loaded unguarded (so that deleting the node
   * removes them from what later ops see) and guarded only once an op uses them.
   */
  #slot(key: string, stored: Stored<unknown> | undefined, compare = true): RecordSlot {
    let s = this.#slots.get(key);
    if (!s) {
      s = {
        rec: stored?.value ?? null,
        createRevision: stored?.createRevision ?? 0,
        storedModRevision: stored?.modRevision ?? 0,
        existed: stored !== undefined,
        dirty: false,
        compared: false,
      };
      this.#slots.set(key, s);
    }
    if (compare && !s.compared) {
      s.compared = true;
      this.compare.push(
        s.existed
          ? { key, target: "modRevision", op: "=", value: s.storedModRevision }
          : { key, target: "exists", exists: false },
      );
    }
    return s;
  }

  #write(s: RecordSlot, rec: unknown): void {
    s.rec = rec;
    s.dirty = true;
    if (rec === null) s.createRevision = 0;
  }

  /** A CAS op's guard: index 0 means "only if absent"; otherwise the stored ModifyIndex, unchanged in this txn. */
  #casHolds(s: RecordSlot, index: number): boolean {
    return index === 0
      ? s.rec === null
      : s.rec !== null && !s.dirty && s.storedModRevision === index;
  }

  #deleteCasHolds(s: RecordSlot, index: number): boolean {
    return s.rec !== null && !s.dirty && s.storedModRevision === index;
  }

  /** What a result reports for a record: its indexes as stored, or the txn's revision once written. */
  #stored<T>(key: string, s: RecordSlot): (revision: number) => Stored<T> {
    const value = s.rec as T;
    const dirty = s.dirty;
    const { createRevision, storedModRevision } = s;
    return (revision) => ({
      key,
      value,
      createRevision: createRevision || revision,
      modRevision: dirty ? revision : storedModRevision,
    });
  }

  /** A node by name in any case, as Consul matches node names. */
  #node(name: string): { name: string; slot: RecordSlot } {
    const lower = name.toLowerCase();
    let keyed = this.#nodeNames.get(lower);
    const stored = this.view.nodes.get(lower);
    if (keyed === undefined) {
      keyed = stored ? decodeURIComponent(stored.key.slice(PREFIX.nodes.length)) : name;
      this.#nodeNames.set(lower, keyed);
      this.#onNode.set(keyed, { services: new Set(), checks: new Set(), loaded: false });
    }
    return { name: keyed, slot: this.#slot(keys.node(keyed), stored) };
  }

  /**
   * Consul looks a node up by ID when the op gives one. The view has no index by ID: one is built
   * on the first such lookup, so 128 of them cost one pass over the nodes, not 128.
   */
  #nodeById(id: string): { name: string; slot: RecordSlot } | undefined {
    for (const name of this.#nodeNames.values()) {
      const s = this.#slots.get(keys.node(name));
      if ((s?.rec as NodeRecord | null)?.ID === id) return { name, slot: s as RecordSlot };
    }
    if (!this.#namesById) {
      this.#namesById = new Map();
      for (const s of this.view.nodes.values())
        if (s.value.ID) this.#namesById.set(s.value.ID, s.value.Node);
    }
    const name = this.#namesById.get(id);
    if (name === undefined) return undefined;
    const found = this.#node(name);
    return (found.slot.rec as NodeRecord | null)?.ID === id ? found : undefined;
  }

  #service(node: string, id: string): { key: string; slot: RecordSlot } {
    const { name } = this.#node(node);
    const key = keys.service(name, id);
    this.#onNode.get(name)?.services.add(key);
    return { key, slot: this.#slot(key, this.view.services.get(key)) };
  }

  #check(node: string, id: string): { key: string; slot: RecordSlot } {
    const { name } = this.#node(node);
    const key = keys.check(name, id);
    this.#onNode.get(name)?.checks.add(key);
    return { key, slot: this.#slot(key, this.view.checks.get(key)) };
  }

  /**
   * The node's services or checks that still exist in the working copy. The first call for a node
   * loads all of them from the view, unguarded (see #slot): only a delete of the node or of a
   * service needs them, so a `set` on a node with thousands of services loads none.
   */
  *#liveOn(node: string, table: "services" | "checks"): Iterable<RecordSlot> {
    const on = this.#onNode.get(node);
    if (!on) return;
    if (!on.loaded) {
      on.loaded = true;
      const lower = node.toLowerCase();
      for (const s of this.view.servicesByNode.get(lower)?.values() ?? []) {
        this.#slot(s.key, s, false);
        on.services.add(s.key);
      }
      for (const c of this.view.checksByNode.get(lower)?.values() ?? []) {
        this.#slot(c.key, c, false);
        on.checks.add(c.key);
      }
    }
    for (const key of on[table]) {
      const s = this.#slots.get(key);
      if (s && s.rec !== null) yield s;
    }
  }

  // ---- KV ------------------------------------------------------------------------------------

  #kvOp(op: KvOp): Outcome {
    const outcome = applyOp(op, this.kv.slots, this.kv.sessions, this.now, this.options);
    if (outcome.error) return fail(outcome.error);
    const slots = this.kv.slots;
    return {
      results: outcome.results.map((r): Pending => {
        if (!r.written) return () => ({ KV: r.pair });
        return (revision) => {
          const created = slots.get(r.key)?.createRevision ?? 0;
          return {
            KV: { ...r.pair, CreateIndex: created > 0 ? created : revision, ModifyIndex: revision },
          };
        };
      }),
    };
  }

  // ---- nodes ---------------------------------------------------------------------------------

  #nodeOp(verb: string, node: NodeRecord, index: number): Outcome {
    switch (verb) {
      case "get": {
        const found = node.ID ? this.#nodeById(node.ID) : this.#node(node.Node);
        if (!found || found.slot.rec === null) return fail(`node ${q(node.Node)} doesn't exist`);
        return this.#nodeResult(found.name, found.slot);
      }
      case "set":
        return this.#setNode(node);
      case "cas":
        if (!this.#casHolds(this.#node(node.Node).slot, index))
          return fail(`failed to set node ${q(node.Node)}, index is stale`);
        return this.#setNode(node);
      case "delete":
        this.#deleteNode(node.Node);
        return NOTHING;
      case "delete-cas":
        if (!this.#deleteCasHolds(this.#node(node.Node).slot, index))
          return fail(`failed to delete node ${q(node.Node)}, index is stale`);
        this.#deleteNode(node.Node);
        return NOTHING;
      default:
        return fail(`unknown Node verb ${q(verb)}`);
    }
  }

  #nodeResult(name: string, s: RecordSlot): Outcome {
    const stored = this.#stored<NodeRecord>(keys.node(name), s);
    return {
      results: [
        (revision) => {
          const n = stored(revision);
          return {
            Node: { ...n.value, CreateIndex: n.createRevision, ModifyIndex: n.modRevision },
          };
        },
      ],
    };
  }

  #setNode(node: NodeRecord): Outcome {
    // Consul's state store refuses a record without the field its index is built from.
    if (!node.Node) return fail("failed inserting node: missing value for index");
    const { name, slot } = this.#node(node.Node);
    // As catalog/register: an existing node keeps the case it was registered in.
    const record: NodeRecord = { ...node, Node: name };
    if (slot.rec === null || !sameRecord(slot.rec, record)) this.#write(slot, record);
    return this.#nodeResult(name, slot);
  }

  #deleteNode(nodeName: string): void {
    const { name, slot } = this.#node(nodeName);
    if (slot.rec === null) return;
    this.#write(slot, null);
    for (const s of this.#liveOn(name, "services")) this.#write(s, null);
    for (const s of this.#liveOn(name, "checks")) this.#write(s, null);
  }

  // ---- services ------------------------------------------------------------------------------

  #serviceOp(verb: string, node: string, service: ServiceFields, index: number): Outcome {
    const id = service.ID;
    switch (verb) {
      case "get": {
        const { key, slot } = this.#service(node, id);
        if (slot.rec === null) return fail(`service ${q(id)} on node ${q(node)} doesn't exist`);
        return this.#serviceResult(key, slot);
      }
      case "set":
        return this.#setService(node, service);
      case "cas":
        if (!this.#casHolds(this.#service(node, id).slot, index))
          return fail(`failed to set service ${q(id)} on node ${q(node)}, index is stale`);
        return this.#setService(node, service);
      case "delete":
        this.#deleteService(node, id);
        return NOTHING;
      case "delete-cas":
        if (!this.#deleteCasHolds(this.#service(node, id).slot, index))
          return fail(`failed to delete service ${q(id)} on node ${q(node)}, index is stale`);
        this.#deleteService(node, id);
        return NOTHING;
      default:
        return fail(`unknown Service verb ${q(verb)}`);
    }
  }

  #serviceResult(key: string, s: RecordSlot): Outcome {
    const stored = this.#stored<ServiceRecord>(key, s);
    return { results: [(revision) => ({ Service: toNodeService(stored(revision)) })] };
  }

  #setService(nodeName: string, service: ServiceFields): Outcome {
    const node = this.#node(nodeName);
    if (node.slot.rec === null) return fail("Missing node registration");
    if (!service.ID) return fail("failed inserting service: missing value for index");
    const { key, slot } = this.#service(node.name, service.ID);
    const record: ServiceRecord = { ...service, Node: node.name };
    if (slot.rec === null || !sameRecord(slot.rec, record)) this.#write(slot, record);
    return this.#serviceResult(key, slot);
  }

  /** A service goes with its checks, as in Consul's deleteServiceTxn. */
  #deleteService(nodeName: string, id: string): void {
    const { slot } = this.#service(nodeName, id);
    if (slot.rec === null) return;
    this.#write(slot, null);
    for (const s of this.#liveOn(this.#node(nodeName).name, "checks"))
      if ((s.rec as CheckRecord).ServiceID === id) this.#write(s, null);
  }

  // ---- checks --------------------------------------------------------------------------------

  #checkOp(verb: string, given: CheckRecord, index: number): Outcome {
    // Consul's checkPreApply: a check without an ID is named by its Name.
    const check = given.CheckID || !given.Name ? given : { ...given, CheckID: given.Name };
    const { Node: node, CheckID: id } = check;
    switch (verb) {
      case "get": {
        const { key, slot } = this.#check(node, id);
        if (slot.rec === null) return fail(`check ${q(id)} on node ${q(node)} doesn't exist`);
        return this.#checkResult(key, slot);
      }
      case "set":
        return this.#setCheck(check);
      case "cas":
        if (!this.#casHolds(this.#check(node, id).slot, index))
          return fail(`failed to set check ${q(id)} on node ${q(node)}, index is stale`);
        return this.#setCheck(check);
      case "delete":
        this.#deleteCheck(node, id);
        return NOTHING;
      case "delete-cas":
        if (!this.#deleteCasHolds(this.#check(node, id).slot, index))
          return fail(`failed to delete check ${q(id)} on node ${q(node)}, index is stale`);
        this.#deleteCheck(node, id);
        return NOTHING;
      default:
        return fail(`unknown Check verb ${q(verb)}`);
    }
  }

  #checkResult(key: string, s: RecordSlot): Outcome {
    const stored = this.#stored<CheckRecord>(key, s);
    return {
      results: [
        (revision) => {
          const c = stored(revision);
          return {
            Check: { ...c.value, CreateIndex: c.createRevision, ModifyIndex: c.modRevision },
          };
        },
      ],
    };
  }

  /** Consul's ensureCheckTxn: the node (and the service, if named) must exist; the service's name and tags are copied in. */
  #setCheck(check: CheckRecord): Outcome {
    // Consul stores any status a txn gives; augur's catalog holds only the three it knows.
    if (!CHECK_STATUSES.includes(check.Status))
      return fail(`Invalid check status: '${String(check.Status)}'`);
    const node = this.#node(check.Node);
    if (node.slot.rec === null) return fail("Missing node registration");
    let service: ServiceRecord | null = null;
    if (check.ServiceID) {
      service = this.#service(node.name, check.ServiceID).slot.rec as ServiceRecord | null;
      if (!service) return fail("Missing service registration");
    }
    if (!check.CheckID) return fail("failed inserting check: missing value for index");
    const { key, slot } = this.#check(node.name, check.CheckID);
    const record: CheckRecord = {
      ...check,
      Node: node.name,
      ServiceName: service?.Service ?? "",
      ServiceTags: service ? [...service.Tags] : [],
    };
    if (slot.rec === null || !sameRecord(slot.rec, record)) this.#write(slot, record);
    return this.#checkResult(key, slot);
  }

  #deleteCheck(node: string, id: string): void {
    const { slot } = this.#check(node, id);
    if (slot.rec !== null) this.#write(slot, null);
  }

  // ---- sessions ------------------------------------------------------------------------------

  /**
   * Consul supports only `delete` for sessions in a txn. The session's locks are released (or
   * deleted, for a `delete` session) in the same transaction, as session/destroy does, so no key
   * is left naming a session that does not exist; later ops see them free.
   */
  #sessionOp(verb: string, id: string): Outcome {
    if (verb !== "delete") return fail(`failed to delete session: unknown Session verb ${q(verb)}`);
    const sessions = this.kv.sessions;
    if (!sessions.has(id)) {
      const stored = this.view.sessions.get(id);
      sessions.set(id, stored?.value ?? null);
      this.compare.push(
        stored
          ? { key: stored.key, target: "modRevision", op: "=", value: stored.modRevision }
          : { key: keys.session(id), target: "exists", exists: false },
      );
    }
    const record = sessions.get(id);
    if (!record) return fail("failed to delete session: failed deleting session: not found");
    sessions.set(id, null);
    this.#deletedSessions.set(id, record);
    for (const locked of this.view.locksOf(id)) this.#loadKv(locked);
    for (const s of this.kv.slots.values()) {
      if (s.rec?.Session !== id) continue;
      s.rec = releasedLock(s.rec, record, this.now);
      s.dirty = true;
      if (!s.rec) s.createRevision = 0;
    }
    return NOTHING;
  }

  /** A KV key into the KV working copy, guarded like the keys the KV engine reads itself. */
  #loadKv(stored: Stored<KvRecord>): void {
    const key = stored.key.slice(PREFIX.kv.length);
    if (this.kv.slots.has(key)) return;
    this.kv.slots.set(key, {
      rec: stored.value,
      createRevision: stored.createRevision,
      modRevision: stored.modRevision,
      dirty: false,
    });
    this.compare.push({
      key: stored.key,
      target: "modRevision",
      op: "=",
      value: stored.modRevision,
    });
  }
}
