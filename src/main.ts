/**
 * The one wiring file: picks the store (memory for `-dev`, lmdb on disk with a data dir, etcd in
 * cluster mode), the check runners and the watch engine, and assembles catalog, agent and HTTP
 * API. Nothing else imports concrete adapters.
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Store } from "./store/store.js";
import type { HistoryLimits } from "./store/watch-hub.js";
import { MemoryStore } from "./store/memory/memory-store.js";
import { DiskStore } from "./store/disk/disk-store.js";
import { EtcdStore } from "./store/etcd/etcd-store.js";
import type { EtcdConfig } from "./config/index.js";
import { Catalog } from "./catalog/catalog.js";
import type { CheckDefinition, ServiceDefinition } from "./catalog/types.js";
import { Agent } from "./agent/agent.js";
import { assertRunnable, createCheckRunner, TtlCheckRunner } from "./checks/index.js";
import { FileLocalStatePersistence } from "./agent/file-persistence.js";
import type { StartCheck } from "./agent/agent.js";
import { ApiServer, type HttpLimits, type ListenAddress } from "./api/server.js";
import { ApiMetrics } from "./api/metrics.js";
import { statusRoutes } from "./api/routes/status.js";
import { kvRoutes } from "./api/routes/kv.js";
import { txnRoutes } from "./api/routes/txn.js";
import { catalogRoutes } from "./api/routes/catalog.js";
import { healthRoutes } from "./api/routes/health.js";
import { sessionRoutes } from "./api/routes/sessions.js";
import { eventRoutes } from "./api/routes/events.js";
import { agentRoutes, type AgentControl } from "./api/routes/agent.js";
import type { Logger } from "./lib/logger.js";
import { ConsulClient } from "./client/consul-client.js";
import { LmdbWatchStore } from "./watch/lmdb-store.js";
import { WatchManager } from "./watch/manager.js";
import type { WatchDefinition } from "./watch/types.js";
import { watchRoutes } from "./api/routes/watches.js";
import { toAugurError } from "./lib/errors.js";

export const VERSION = "0.1.0";

/** Everything the agent needs from its configuration (config/ builds it from files and flags). */
export interface AgentSettings {
  readonly nodeName: string;
  readonly nodeId: string;
  readonly datacenter: string;
  readonly dev: boolean;
  readonly dataDir?: string;
  /** The embedded store's change history bounds (`store { ... }`); defaults 10,000 revisions, 64 MiB. */
  readonly storeHistory?: HistoryLimits;
  readonly httpAddresses: readonly ListenAddress[];
  readonly advertiseAddr: string;
  readonly enableScriptChecks: boolean;
  readonly enableLocalScriptChecks: boolean;
  readonly checkUpdateIntervalMs: number;
  readonly services: readonly ServiceDefinition[];
  readonly checks: readonly CheckDefinition[];
  readonly watches: readonly WatchDefinition[];
  /** Cluster mode: the catalog lives in this etcd cluster. */
  readonly etcd?: EtcdConfig;
  /** Anti-entropy full sync period (Consul: about a minute). */
  readonly fullSyncIntervalMs?: number;
  /** Liveness lease TTL in seconds. */
  readonly livenessTtlSeconds?: number;
  /** Consul's `reconnect_timeout` (default 72h). */
  readonly reconnectTimeoutMs?: number;
  /** `limits.http_max_conns_per_client`, `http_config.read_timeout` / `read_header_timeout`. */
  readonly httpLimits?: HttpLimits;
}

export interface RunningAgent {
  readonly addresses: readonly ListenAddress[];
  readonly agent: Agent;
  readonly catalog: Catalog;
  /** Resolves when the agent has stopped (after `stop()`, a leave, or a fatal error). */
  readonly stopped: Promise<void>;
  reload(): Promise<void>;
  stop(): Promise<void>;
}

export interface StartAgentOptions {
  readonly logger: Logger;
  /** Re-reads configuration for `reload` (SIGHUP, `augur reload`, `PUT /v1/agent/reload`). */
  readonly reloadSettings: () => Promise<AgentSettings>;
}

/** The watch engine's client, pointed at this agent once its listen address is known. */
class AddressableClient {
  #client: ConsulClient;

  /** `token`: the agent's internal token, which lets the watch engine write its `_augur/` records. */
  constructor(private readonly token: string) {
    this.#client = new ConsulClient({ address: "127.0.0.1:8500", token });
  }

  setAddress(address: string): void {
    this.#client = new ConsulClient({ address, token: this.token });
  }

  request(...args: Parameters<ConsulClient["request"]>): ReturnType<ConsulClient["request"]> {
    return this.#client.request(...args);
  }
}

/** Check runners for the agent: TTL runners also take the API's pass/warn/fail updates. */
const startCheckRunner: StartCheck = (def, report, restoredOutput) => {
  const runner = createCheckRunner(def, report);
  if (restoredOutput !== undefined && runner instanceof TtlCheckRunner) runner.restoreOutput(restoredOutput);
  runner.start();
  return {
    stop: () => runner.stop(),
    ...(runner instanceof TtlCheckRunner ? { ttlUpdate: (status, output) => runner.update(status, output) } : {}),
  };
};

async function openStore(settings: AgentSettings): Promise<Store> {
  if (settings.etcd) return EtcdStore.open({ endpoints: settings.etcd.endpoints, prefix: settings.etcd.prefix, ...(settings.etcd.tls ? { tls: settings.etcd.tls } : {}) });
  const history = settings.storeHistory ? { history: settings.storeHistory } : {};
  if (settings.dev || !settings.dataDir) return new MemoryStore(history);
  const path = join(settings.dataDir, "catalog");
  await mkdir(path, { recursive: true });
  return DiskStore.open({ path, ...history });
}

/**
 * Opens and starts everything an agent runs. A start that fails part way — a port in use, a bad
 * data dir, a watch whose signing secret is missing — closes what it had opened, newest first,
 * and rethrows: no store handle, lease, timer or listener is left behind.
 */
export async function startAgent(settings: AgentSettings, options: StartAgentOptions): Promise<RunningAgent> {
  const opened: (() => Promise<unknown>)[] = [];
  try {
    return await openAndStart(settings, options, opened);
  } catch (err) {
    for (const close of opened.reverse()) await close().catch(() => undefined);
    throw err;
  }
}

/** startAgent's steps; each pushes onto `opened` how to close what it opened. */
async function openAndStart(settings: AgentSettings, options: StartAgentOptions, opened: (() => Promise<unknown>)[]): Promise<RunningAgent> {
  const log = options.logger;
  const store = await openStore(settings);
  opened.push(() => store.close());
  // etcd refuses a transaction of more than --max-txn-ops (128 by default) operations.
  const catalog = new Catalog(store, { datacenter: settings.datacenter, ...(settings.etcd ? { maxTxnOps: 128 } : {}) });
  opened.push(() => catalog.stop());
  await catalog.start(
    (err) => log.error({ err: toAugurError(err).message }, "catalog view"),
    (reason) => log.warn(`catalog view resynced from a snapshot: ${reason}`),
  );
  const metrics = new ApiMetrics(catalog.view.scopes);
  // Set once the HTTP server exists: a lost store releases parked blocking queries.
  let releaseParked = (): void => undefined;
  const agent = new Agent({
    identity: { nodeName: settings.nodeName, nodeId: settings.nodeId, datacenter: settings.datacenter, advertiseAddr: settings.advertiseAddr, version: VERSION },
    catalog,
    startCheck: startCheckRunner,
    validateCheck: assertRunnable,
    // Consul keeps API registrations in its data dir; a -dev agent forgets them.
    ...(settings.dev || !settings.dataDir ? {} : { persistence: new FileLocalStatePersistence(settings.dataDir) }),
    enableScriptChecks: settings.enableScriptChecks,
    enableLocalScriptChecks: settings.enableLocalScriptChecks,
    checkUpdateIntervalMs: settings.checkUpdateIntervalMs,
    // Cluster mode: a dead agent's serfHealth turns critical within this many seconds.
    // 4 s: with renewals every TTL/3 and etcd's lease-expiry sweep, a kill shows within 5 s.
    livenessTtlSeconds: settings.livenessTtlSeconds ?? settings.etcd?.livenessTtlSeconds ?? (settings.etcd ? 4 : 10),
    ...(settings.fullSyncIntervalMs ? { fullSyncIntervalMs: settings.fullSyncIntervalMs } : {}),
    ...(settings.reconnectTimeoutMs ? { reconnectTimeoutMs: settings.reconnectTimeoutMs } : {}),
    onError: (err, what) => log.warn({ err: toAugurError(err).message }, what),
    onReaped: (node) => log.info(`EventMemberReap: ${node} (failed longer than reconnect_timeout)`),
    onStoreContact: (known) => {
      if (known) log.info("store reachable again: reads are current");
      else log.warn("lost contact with the store for longer than the liveness TTL: reads come from this agent's last view (X-Consul-KnownLeader: false)");
      releaseParked();
    },
  });
  // Consul's order: persisted state is read, config definitions are added, persisted services
  // and checks are added, and only then does anti-entropy run — so it never sees them as strays.
  let current = settings;
  opened.push(() => agent.stop());
  await agent.loadPersisted();
  await applyDefinitions(agent, [], [], settings);
  await agent.start();

  // Never leaves this process: it marks the watch engine's own requests (kv-internal.ts).
  const internalToken = randomBytes(32).toString("hex");
  const watchClient = new AddressableClient(internalToken);
  const watchLog = (level: "info" | "warn" | "error") => (msg: string, fields?: object): void => log[level](fields ?? {}, msg);
  const watchManager = new WatchManager({
    client: watchClient,
    ...(settings.dev || !settings.dataDir ? {} : { openDurableStore: () => LmdbWatchStore.open(join(settings.dataDir as string, "watches")) }),
    registry: metrics.registry,
    logger: { info: watchLog("info"), warn: watchLog("warn"), error: watchLog("error") },
  });
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => (resolveStopped = r));
  let stopping: Promise<void> | undefined;
  const stop = (leave = false): Promise<void> =>
    (stopping ??= (async () => {
      await watchManager.stop();
      await server.close();
      if (leave) await agent.leave();
      else await agent.stop();
      await catalog.stop();
      await store.close();
      resolveStopped();
    })());

  const reload = async (): Promise<void> => {
    const next = await options.reloadSettings();
    await applyDefinitions(agent, current.services, current.checks, next);
    await watchManager.reload(own ? next.watches : []);
    current = next;
    log.info("reloaded configuration");
  };
  const control: AgentControl = {
    reload,
    leave: async () => {
      // Answer first, then leave: Consul's client expects the 200 before the agent goes away.
      setTimeout(() => void stop(true), 50);
    },
    prometheus: async () => ({ contentType: metrics.registry.contentType, body: await metrics.registry.metrics() }),
    cluster: () => (settings.etcd ? { Store: "etcd", Etcd: { Endpoints: settings.etcd.endpoints, Prefix: settings.etcd.prefix } } : { Store: settings.dev || !settings.dataDir ? "memory" : "disk" }),
    metricsJson: async () => ({ Timestamp: new Date().toISOString(), Gauges: [], Points: [], Counters: [], Samples: [], Metrics: await metrics.registry.getMetricsAsJSON() }),
  };
  const server = new ApiServer({
    routes: [
      // Consul answers "" while it knows no Raft leader; in cluster mode that is while etcd has not
      // answered within the liveness TTL (Agent.storeContact, the source of X-Consul-KnownLeader).
      ...statusRoutes({ leader: () => (agent.storeContact().knownLeader ? `${settings.advertiseAddr}:8300` : ""), peers: () => [`${settings.advertiseAddr}:8300`] }),
      ...agentRoutes(agent, catalog, control),
      ...catalogRoutes(catalog),
      ...healthRoutes(catalog),
      ...kvRoutes(catalog, { internalToken }),
      ...txnRoutes(catalog, { internalToken }),
      ...sessionRoutes(catalog, settings.nodeName),
      ...eventRoutes(catalog),
      ...watchRoutes(watchManager),
    ],
    onResponse: (method, route, status, seconds) => metrics.observeRequest(method, route, status, seconds),
    onServerError: (err, method, url) => log.warn({ err: toAugurError(err).message }, `${method} ${url}`),
    ...(settings.httpLimits ? { limits: settings.httpLimits } : {}),
    // Only etcd can be out of reach; a local store is always "the leader", as a Consul dev agent.
    ...(settings.etcd ? { storeContact: () => agent.storeContact() } : {}),
  });
  releaseParked = () => server.releaseParked();
  opened.push(() => server.close());
  const addresses = await server.listen(settings.httpAddresses);
  for (const a of addresses) log.info(`HTTP API listening on ${a.host}:${a.port}`);
  // Watches reach the API through the HTTP client, exactly as `augur watch` against any agent.
  const own = addresses[0];
  opened.push(() => watchManager.stop());
  if (own) {
    watchClient.setAddress(`${own.host === "0.0.0.0" ? "127.0.0.1" : own.host === "::" ? "[::1]" : own.host}:${own.port}`);
    await watchManager.start(settings.watches);
  } else {
    if (settings.watches.length > 0) log.warn("watches need the HTTP API, which is disabled (ports.http = -1); they will not run");
    // Started with no watches so the outbox (and its dead letters) can still be read and replayed.
    await watchManager.start([]);
  }
  return { addresses, agent, catalog, stopped, reload, stop: () => stop(false) };
}

/** Config-file services and checks: removed ones go, new or changed ones are (re)registered. */
async function applyDefinitions(agent: Agent, oldServices: readonly ServiceDefinition[], oldChecks: readonly CheckDefinition[], next: AgentSettings): Promise<void> {
  // All or nothing: a definition the agent would refuse fails the start or reload before any change.
  agent.validateDefinitions(next.services, next.checks, "config");
  const nextServiceIds = new Set(next.services.map((s) => s.id));
  const nextCheckIds = new Set(next.checks.map((c) => c.id));
  for (const s of oldServices) if (!nextServiceIds.has(s.id) && agent.local.service(s.id)?.source === "config") await agent.deregisterService(s.id);
  for (const c of oldChecks) if (!nextCheckIds.has(c.id) && agent.local.check(c.id)?.source === "config") await agent.deregisterCheck(c.id);
  const unchanged = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
  for (const s of next.services) {
    const old = oldServices.find((o) => o.id === s.id);
    if (!old || !unchanged(old, s) || !agent.local.service(s.id)) await agent.registerService(s, "config", true);
  }
  for (const c of next.checks) {
    const old = oldChecks.find((o) => o.id === c.id);
    if (!old || !unchanged(old, c) || !agent.local.check(c.id)) await agent.registerCheck(c, "config");
  }
}
