/**
 * The agent: this node's services and checks (from config files and the agent API), their check
 * runners, anti-entropy into the catalog, the node's liveness lease, maintenance mode, reload
 * and leave. It knows check runners only through {@link StartCheck}, so main.ts picks them.
 *
 * @module
 */
import type { Catalog } from "../catalog/catalog.js";
import type { AgentRecord, NodeRecord } from "../catalog/records.js";
import type {
  CheckDefinition,
  CheckStatus,
  HealthCheck,
  NodeService,
  ServiceDefinition,
} from "../catalog/types.js";
import { DEFAULT_OUTPUT_MAX_SIZE } from "../catalog/types.js";
import { AugurError, notFound } from "../lib/errors.js";
import { healthCheckFrom, nodeServiceFrom } from "./definitions.js";
import { LocalState, type DefinitionSource } from "./local-state.js";
import type { LocalStatePersistence } from "./persistence.js";
import { LocalStateJournal } from "./journal.js";
import { AntiEntropy } from "./sync.js";
import { validateCheck, validateDefinitions } from "./validate.js";
import { Liveness } from "./liveness.js";
import { CONSUL_SERVICE_ID, SERF_LAN_PORT, consulService, serverTags } from "./server-identity.js";
import {
  DEFAULT_NODE_MAINTENANCE_REASON,
  DEFAULT_SERVICE_MAINTENANCE_REASON,
  NODE_MAINTENANCE_CHECK_ID,
  serviceMaintenanceCheckId,
} from "./maintenance.js";

/** A running check; TTL checks also take updates from the API. */
export interface CheckHandle {
  stop(): void;
  /** Present for TTL checks: records a status and restarts the TTL clock. */
  ttlUpdate?(status: CheckStatus, output: string): void;
}

/** `restoredOutput`: a TTL check's output from before a restart (see LocalStatePersistence). */
export type StartCheck = (
  def: CheckDefinition,
  report: (status: CheckStatus, output: string) => void,
  restoredOutput?: string,
) => CheckHandle;

export interface AgentIdentity {
  readonly nodeName: string;
  readonly nodeId: string;
  readonly datacenter: string;
  readonly advertiseAddr: string;
  readonly nodeMeta?: Record<string, string>;
  /** `tagged_addresses`: added to (and overriding) the lan/wan addresses Consul tags a node with. */
  readonly taggedAddresses?: Record<string, string>;
  readonly version: string;
  /** Presents as a Consul server: `role=consul`, and the `consul` service on this node. */
  readonly server?: boolean;
}

export interface AgentOptions {
  readonly identity: AgentIdentity;
  readonly catalog: Catalog;
  readonly startCheck: StartCheck;
  readonly enableScriptChecks: boolean;
  readonly enableLocalScriptChecks: boolean;
  readonly checkUpdateIntervalMs: number;
  /**
   * `discard_check_output`: checks' output is dropped before it is stored, so checks whose output
   * changes every run (timestamps, PIDs) write to the catalog only when their status changes.
   */
  readonly discardCheckOutput?: boolean;
  /**
   * `check_output_max_size`: the output a check keeps when it sets no `OutputMaxSize`, and the
   * most one may set (Consul's default 4096 bytes).
   */
  readonly checkOutputMaxSize?: number;
  /** Liveness lease TTL (seconds): how soon other agents see this one as failed. */
  readonly livenessTtlSeconds: number;
  readonly fullSyncIntervalMs?: number;
  /** Consul's `reconnect_timeout`: a member failed this long is removed with its node (default 72h). */
  readonly reconnectTimeoutMs?: number;
  /** How often this agent looks for members to mark failed or reap (default 15 s, Serf's reap interval). */
  readonly reapIntervalMs?: number;
  /** Wall clock for failure marks (tests fake it). */
  readonly now?: () => number;
  readonly onError: (err: unknown, what: string) => void;
  /**
   * Where API-registered services and checks, maintenance and TTL statuses are kept across
   * restarts (a data dir); absent in `-dev`, where everything is forgotten as in Consul.
   */
  readonly persistence?: LocalStatePersistence;
  /**
   * Refuses a check this agent cannot run (throws an AugurError). Called for every check before
   * anything of its registration is kept, so a refused check leaves nothing behind.
   */
  readonly validateCheck?: (def: CheckDefinition) => void;
  /** Told about each member this agent reaped. */
  readonly onReaped?: (node: string) => void;
  /** Told when the store stops answering for longer than the liveness TTL, and when it is back. */
  readonly onStoreContact?: (known: boolean) => void;
}

/** Serf's tombstone timeout: members that left are forgotten after a day. */
export const TOMBSTONE_TIMEOUT_MS = 24 * 3600_000;
export const DEFAULT_RECONNECT_TIMEOUT_MS = 72 * 3600_000;

interface RunningCheck {
  readonly def: CheckDefinition;
  readonly handle: CheckHandle;
  criticalSince?: number;
}

export class Agent {
  readonly local: LocalState;
  readonly #options: AgentOptions;
  readonly #sync: AntiEntropy;
  readonly #liveness: Liveness;
  readonly #running = new Map<string, RunningCheck>();
  readonly #reaper: NodeJS.Timeout;
  readonly #memberReaper: NodeJS.Timeout;
  #reaping: Promise<string[]> | undefined;
  readonly #journal: LocalStateJournal;

  constructor(options: AgentOptions) {
    this.#options = options;
    this.#journal = new LocalStateJournal(options.persistence, () => this.#now());
    this.local = new LocalState({
      checkUpdateIntervalMs: options.checkUpdateIntervalMs,
      onChange: () => this.#sync.trigger(false),
    });
    this.#sync = new AntiEntropy({
      catalog: options.catalog,
      local: this.local,
      node: () => this.nodeRecord(),
      fullSyncIntervalMs: options.fullSyncIntervalMs ?? 60_000,
      onError: (err) => options.onError(err, "anti-entropy sync"),
    });
    this.#liveness = new Liveness(
      options.catalog,
      () => this.agentRecord(),
      options.livenessTtlSeconds,
      (err) => options.onError(err, "liveness"),
      (known) => options.onStoreContact?.(known),
    );
    this.#reaper = setInterval(() => this.#reapCritical(), 1000);
    this.#reaper.unref();
    this.#memberReaper = setInterval(
      () =>
        void this.reapFailedMembers().catch((err: unknown) =>
          options.onError(err, "reaping failed members"),
        ),
      options.reapIntervalMs ?? 15_000,
    );
    this.#memberReaper.unref();
  }

  /**
   * One reaping pass over the members (runs on a timer; exposed for tests). Marks newly failed
   * members, removes those failed longer than `reconnect_timeout`, forgets long-left ones.
   */
  reapFailedMembers(): Promise<string[]> {
    this.#reaping ??= (async () => {
      try {
        const o = this.#options;
        const reaped = await o.catalog.reapFailedMembers(
          (o.now ?? Date.now)(),
          o.reconnectTimeoutMs ?? DEFAULT_RECONNECT_TIMEOUT_MS,
          TOMBSTONE_TIMEOUT_MS,
        );
        for (const node of reaped) o.onReaped?.(node);
        return reaped;
      } finally {
        this.#reaping = undefined;
      }
    })();
    return this.#reaping;
  }

  get identity(): AgentIdentity {
    return this.#options.identity;
  }

  nodeRecord(): NodeRecord {
    const id = this.#options.identity;
    return {
      ID: id.nodeId,
      Node: id.nodeName,
      Address: id.advertiseAddr,
      Datacenter: id.datacenter,
      TaggedAddresses: {
        lan: id.advertiseAddr,
        lan_ipv4: id.advertiseAddr,
        wan: id.advertiseAddr,
        wan_ipv4: id.advertiseAddr,
        ...(id.taggedAddresses ?? {}),
      },
      Meta: { "consul-network-segment": "", ...(id.nodeMeta ?? {}) },
    };
  }

  agentRecord(): AgentRecord {
    const id = this.#options.identity;
    const clientTags = {
      role: "node",
      dc: id.datacenter,
      id: id.nodeId,
      build: `${id.version}:augur`,
      vsn: "2",
      vsn_min: "2",
      vsn_max: "3",
      segment: "",
    };
    // A Consul server carries no segment tag (it is in all of them).
    const { segment: _segment, ...common } = clientTags;
    return {
      Node: id.nodeName,
      ID: id.nodeId,
      Addr: id.advertiseAddr,
      Port: SERF_LAN_PORT,
      Datacenter: id.datacenter,
      Tags: id.server ? { ...common, ...serverTags() } : clientTags,
    };
  }

  /**
   * Reads what the last run persisted (Consul loadServices/loadChecks). Call before the
   * config-file definitions are applied, so their TTL checks get their statuses back; start()
   * then registers the persisted services and checks — before the first anti-entropy pass, which
   * would otherwise remove them from the catalog as strays.
   */
  async loadPersisted(): Promise<void> {
    await this.#journal.load();
  }

  async start(): Promise<void> {
    await this.#restorePersisted();
    await this.#options.catalog.register({ node: this.nodeRecord() });
    await this.#presentServerRole();
    await this.#liveness.start();
    this.#sync.start();
  }

  /**
   * A server registers the `consul` service on its node, as Consul's leader does for each alive
   * server; anti-entropy leaves it alone (it is not local state). A node that was a server and
   * restarts as a client takes its stale `consul` service away, as Consul's leader reconciles.
   */
  async #presentServerRole(): Promise<void> {
    const { catalog, identity } = this.#options;
    const node = this.nodeRecord();
    if (identity.server)
      await catalog.register({
        node,
        skipNodeUpdate: true,
        service: consulService(identity.version),
      });
    else if (catalog.nodeEntries(node.Node).services.size > 0) {
      const stale = [...catalog.nodeEntries(node.Node).services.values()].some(
        (s) => s.value.ID === CONSUL_SERVICE_ID,
      );
      if (stale) await catalog.deregister({ node: node.Node, serviceId: CONSUL_SERVICE_ID });
    }
  }

  /** Whether the store (etcd in cluster mode) answered recently: Consul's KnownLeader / LastContact. */
  storeContact(): { knownLeader: boolean; lastContactMs: number } {
    return this.#liveness.contact();
  }

  /** Waits until local changes made so far are in the catalog. */
  async flush(): Promise<void> {
    await this.#sync.flush();
  }

  async stop(): Promise<void> {
    clearInterval(this.#reaper);
    clearInterval(this.#memberReaper);
    for (const r of this.#running.values()) r.handle.stop();
    this.#running.clear();
    await this.#sync.stop();
    await this.#liveness.stop();
  }

  /** `augur leave`: deregister this node and mark the member left. */
  async leave(): Promise<void> {
    await this.stop();
    await this.#options.catalog.leaveAgent(this.agentRecord());
  }

  // ---- services and checks ------------------------------------------------------------------

  /**
   * Throws what registering these definitions would throw (script checks not allowed, check types
   * this agent does not run), without registering anything: start and reload check every
   * config-file definition first, and `augur validate` runs the same test.
   */
  validateDefinitions(
    services: readonly ServiceDefinition[],
    checks: readonly CheckDefinition[],
    source: DefinitionSource,
  ): void {
    validateDefinitions(services, checks, source, this.#options);
  }

  /** Registers (or replaces) a service and its checks; script checks need permission. */
  async registerService(
    def: ServiceDefinition,
    source: DefinitionSource,
    replaceExistingChecks = false,
  ): Promise<void> {
    // All checks are vetted first: a refused check refuses the whole registration.
    for (const c of def.checks) this.#validateCheck(c, source);
    const service = nodeServiceFrom(def);
    const previous = this.local.service(def.id);
    this.local.addService(service, source);
    const keep = new Set(def.checks.map((c) => c.id));
    const removed: string[] = [];
    if (previous && replaceExistingChecks) {
      for (const [id, e] of this.local.checks()) {
        if (e.check.ServiceID === def.id && !keep.has(id) && !id.startsWith("_")) {
          this.#removeCheck(id);
          removed.push(id);
        }
      }
    }
    for (const c of def.checks) this.#addCheck({ ...c, serviceId: def.id }, source, service);
    await this.#journal.serviceRegistered(service, source);
    for (const c of def.checks) await this.#journalCheck({ ...c, serviceId: def.id }, source);
    for (const id of removed) await this.#journal.checkRemoved(id);
    await this.flush();
  }

  async deregisterService(id: string): Promise<void> {
    if (!this.local.service(id))
      throw notFound(
        `Unknown service ID "${id}". Ensure that the service ID is passed, not the service name.`,
      );
    for (const [checkId, e] of this.local.checks())
      if (e.check.ServiceID === id) this.#stopRunner(checkId);
    const removedChecks = this.local.removeService(id);
    await this.#journal.serviceRemoved(id);
    for (const checkId of removedChecks) await this.#journal.checkRemoved(checkId);
    await this.flush();
  }

  async registerCheck(def: CheckDefinition, source: DefinitionSource): Promise<void> {
    this.#validateCheck(def, source);
    let service: NodeService | undefined;
    if (def.serviceId) {
      service = this.local.service(def.serviceId)?.service;
      if (!service) throw notFound(`ServiceID "${def.serviceId}" does not exist`);
    }
    this.#addCheck(def, source, service);
    await this.#journalCheck(def, source);
    await this.flush();
  }

  async deregisterCheck(id: string): Promise<void> {
    if (!this.local.check(id))
      throw notFound(
        `Unknown check ID "${id}". Ensure that the check ID is passed, not the check name.`,
      );
    this.#removeCheck(id);
    await this.#journal.checkRemoved(id);
    await this.flush();
  }

  /** check/pass|warn|fail and check/update for TTL checks. */
  async updateTtlCheck(id: string, status: CheckStatus, output: string): Promise<void> {
    const running = this.#running.get(id);
    if (!this.local.check(id))
      throw notFound(
        `Unknown check ID "${id}". Ensure that the check ID is passed, not the check name.`,
      );
    if (!running?.handle.ttlUpdate)
      throw new AugurError("INVALID_STATE", `CheckID "${id}" does not have associated TTL`);
    running.handle.ttlUpdate(status, output);
    await this.#journal.ttlReported(id, status, output, running.def.ttlMs ?? 0);
    await this.flush();
  }

  services(): Record<string, NodeService> {
    const out: Record<string, NodeService> = {};
    for (const [id, e] of this.local.services()) out[id] = e.service;
    return out;
  }

  checks(): Record<string, HealthCheck> {
    const out: Record<string, HealthCheck> = {};
    for (const [id, e] of this.local.checks()) out[id] = e.check;
    return out;
  }

  // ---- maintenance ----------------------------------------------------------------------------

  async setNodeMaintenance(enable: boolean, reason: string | undefined): Promise<void> {
    await this.#setMaintenance(
      NODE_MAINTENANCE_CHECK_ID,
      "Node Maintenance Mode",
      reason || DEFAULT_NODE_MAINTENANCE_REASON,
      enable,
      undefined,
    );
  }

  async setServiceMaintenance(
    serviceId: string,
    enable: boolean,
    reason: string | undefined,
  ): Promise<void> {
    const service = this.local.service(serviceId)?.service;
    if (!service) throw notFound(`No service registered with ID "${serviceId}"`);
    await this.#setMaintenance(
      serviceMaintenanceCheckId(serviceId),
      "Service Maintenance Mode",
      reason || DEFAULT_SERVICE_MAINTENANCE_REASON,
      enable,
      service,
    );
  }

  async #setMaintenance(
    id: string,
    name: string,
    notes: string,
    enable: boolean,
    service: NodeService | undefined,
  ): Promise<void> {
    if (!enable) {
      if (this.local.check(id)) this.local.removeCheck(id);
      await this.#journal.checkRemoved(id);
      await this.flush();
      return;
    }
    if (this.local.check(id)) return;
    const check = healthCheckFrom(
      {
        id,
        name,
        notes,
        type: "ttl",
        ttlMs: 0,
        status: "critical",
        successBeforePassing: 0,
        failuresBeforeWarning: 0,
        failuresBeforeCritical: 0,
        outputMaxSize: DEFAULT_OUTPUT_MAX_SIZE,
        ...(service ? { serviceId: service.ID } : {}),
      },
      this.#options.identity.nodeName,
      service,
    );
    const maintenance: HealthCheck = { ...check, Type: "", Definition: {} };
    this.local.addCheck(maintenance, "maintenance");
    await this.#journal.maintenanceStarted(maintenance);
    await this.flush();
  }

  // ---- internals ---------------------------------------------------------------------------

  #now(): number {
    return (this.#options.now ?? Date.now)();
  }

  #validateCheck(def: CheckDefinition, source: DefinitionSource): void {
    validateCheck(def, source, this.#options);
  }

  async #journalCheck(def: CheckDefinition, source: DefinitionSource): Promise<void> {
    const check = this.local.check(def.id)?.check;
    if (check) await this.#journal.checkRegistered(def, check, source);
  }

  /**
   * Registers what loadPersisted() read. Config-file definitions were applied first and win over
   * a persisted entry with the same id (its file is dropped); an entry that cannot be restored
   * (its service is gone, its check type is no longer allowed) is dropped with a warning, as
   * Consul purges it.
   */
  async #restorePersisted(): Promise<void> {
    const persisted = this.#journal.takeLoaded();
    if (!persisted) return;
    for (const { service } of persisted.services) {
      if (this.local.service(service.ID)?.source === "config")
        await this.#journal.serviceRemoved(service.ID);
      else this.local.addService(service, "api");
    }
    for (const entry of persisted.checks) {
      const id = entry.check.CheckID;
      if (this.local.check(id)?.source === "config") {
        // The config file defines it now; its TTL status (already applied) stays.
        await this.#journal.checkDefinitionDropped(id);
        continue;
      }
      try {
        const sid = entry.check.ServiceID;
        const service = sid ? this.local.service(sid)?.service : undefined;
        if (sid && !service)
          throw new AugurError(
            "INVALID_STATE",
            `its service ${JSON.stringify(sid)} is not registered`,
          );
        if (entry.source === "maintenance" || !entry.definition) {
          // The node may have been renamed since: the check belongs to this node now.
          this.local.addCheck(
            { ...entry.check, Node: this.#options.identity.nodeName },
            "maintenance",
          );
        } else {
          this.#validateCheck(entry.definition, "api");
          this.#addCheck(entry.definition, "api", service);
        }
      } catch (err) {
        this.#options.onError(err, `not restoring persisted check ${JSON.stringify(id)}`);
        await this.#journal.checkRemoved(id);
      }
    }
    await this.#journal.restored((id) => this.local.check(id) !== undefined);
  }

  /** check_output_max_size: the size for a check that sets none, and a cap for one that does. */
  #outputLimited(def: CheckDefinition): CheckDefinition {
    const max = this.#options.checkOutputMaxSize ?? DEFAULT_OUTPUT_MAX_SIZE;
    const size = def.outputMaxSize > 0 ? Math.min(def.outputMaxSize, max) : max;
    return size === def.outputMaxSize ? def : { ...def, outputMaxSize: size };
  }

  #addCheck(
    given: CheckDefinition,
    source: DefinitionSource,
    service: NodeService | undefined,
  ): void {
    const def = this.#outputLimited(given);
    this.#stopRunner(def.id);
    const existing = this.local.check(def.id)?.check;
    const check = healthCheckFrom(def, this.#options.identity.nodeName, service);
    // Re-registering keeps the current status and output, as Consul does for an unchanged check.
    if (existing && existing.Type === check.Type)
      Object.assign(check, { Status: existing.Status, Output: existing.Output });
    const restored = def.type === "ttl" ? this.#journal.restoredTtl(def.id) : undefined;
    if (restored && !existing)
      Object.assign(check, { Status: restored.status, Output: restored.output });
    this.local.addCheck(check, source);
    const running: RunningCheck = { def, handle: { stop: () => undefined } };
    this.#running.set(def.id, running);
    const handle = this.#options.startCheck(
      def,
      (status, output) => this.#report(def.id, status, output),
      restored && !existing ? restored.output : undefined,
    );
    this.#running.set(def.id, { ...running, handle });
  }

  #report(id: string, status: CheckStatus, output: string): void {
    const running = this.#running.get(id);
    if (running) {
      // Monotonic: a step of the wall clock must not reap a service early (or keep it for hours).
      if (status === "critical") running.criticalSince ??= performance.now();
      else delete running.criticalSince;
    }
    this.local.updateCheck(id, status, this.#options.discardCheckOutput ? "" : output);
  }

  #removeCheck(id: string): void {
    this.#stopRunner(id);
    this.local.removeCheck(id);
  }

  #stopRunner(id: string): void {
    this.#running.get(id)?.handle.stop();
    this.#running.delete(id);
  }

  /** deregister_critical_service_after: a service whose check stayed critical that long goes. */
  #reapCritical(): void {
    const now = performance.now();
    for (const r of this.#running.values()) {
      const after = r.def.deregisterCriticalServiceAfterMs;
      const sid = r.def.serviceId;
      if (!after || !sid || r.criticalSince === undefined || now - r.criticalSince < after)
        continue;
      if (!this.local.service(sid)) continue;
      this.deregisterService(sid).catch((err: unknown) =>
        this.#options.onError(err, `reaping critical service ${sid}`),
      );
    }
  }
}
