/**
 * The one wiring file: picks the store (memory for `-dev`, lmdb on disk with a data dir, etcd in
 * cluster mode), the check runners and the watch engine, and assembles catalog, agent and HTTP
 * API. Nothing else imports concrete adapters.
 *
 * @module
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Store } from "./store/store.js";
import { MemoryStore } from "./store/memory/memory-store.js";
import { DiskStore } from "./store/disk/disk-store.js";
import { EtcdStore } from "./store/etcd/etcd-store.js";
import type { RuntimeConfig } from "./config/index.js";
import { Catalog } from "./catalog/catalog.js";
import type { CheckDefinition, ServiceDefinition } from "./catalog/types.js";
import { Agent } from "./agent/agent.js";
import { assertRunnable, createCheckRunner, TtlCheckRunner } from "./checks/index.js";
import { FileLocalStatePersistence } from "./agent/file-persistence.js";
import type { StartCheck } from "./agent/agent.js";
import { ApiServer, type ListenAddress } from "./api/server.js";
import { SERVER_RPC_PORT } from "./agent/server-identity.js";
import { InProcessSource } from "./api/in-process-source.js";
import { ApiMetrics } from "./api/metrics.js";
import { statusRoutes } from "./api/routes/status.js";
import { webUiRoutes } from "./api/routes/ui.js";
import { internalUiRoutes } from "./api/routes/internal-ui.js";
import { aclRoutes } from "./api/routes/acl.js";
import type { TokenResolver } from "./api/request.js";
import { ALLOW_ALL } from "./lib/acl-authorizer.js";
import { coordinateRoutes } from "./api/routes/coordinate.js";
import { agentHealthRoutes } from "./api/routes/agent-health.js";
import { operatorRoutes, type RaftServer } from "./api/routes/operator.js";
import { kvRoutes } from "./api/routes/kv.js";
import { txnRoutes } from "./api/routes/txn.js";
import { catalogRoutes } from "./api/routes/catalog.js";
import { healthRoutes } from "./api/routes/health.js";
import { sessionRoutes } from "./api/routes/sessions.js";
import { queryRoutes } from "./api/routes/query.js";
import { eventRoutes } from "./api/routes/events.js";
import { agentRoutes, type AgentControl } from "./api/routes/agent.js";
import { agentMonitorRoutes } from "./api/routes/agent-monitor.js";
import { DnsResolver } from "./dns/resolve.js";
import { DnsServer } from "./dns/server.js";
import { logTapOf, type Logger } from "./lib/logger.js";
import { ConsulClient, type ConsulClientOptions } from "./client/consul-client.js";
import { httpsServerOptions } from "./api/tls.js";
import { verifyJoin } from "./client/join.js";
import type { ClusterInfo } from "./api/routes/members.js";
import { LmdbWatchStore } from "./watch/lmdb-store.js";
import { WatchManager } from "./watch/manager.js";
import { watchRoutes } from "./api/routes/watches.js";
import { snapshotRoutes } from "./api/routes/snapshot.js";
import { fileURLToPath } from "node:url";
import { AugurError, toAugurError } from "./lib/errors.js";
import { VERSION } from "./lib/version.js";
import { collectHostInfo } from "./lib/host-info.js";
import type { WatchDefinition } from "./watch/types.js";

/**
 * What the agent reads of its configuration: the config loader's {@link RuntimeConfig} itself
 * (the CLI passes it straight through), less what only the CLI uses (logging, joining, signals).
 * Embedders and tests may leave out what has a default.
 */
export type AgentSettings = Pick<
  RuntimeConfig,
  | "nodeName"
  | "nodeId"
  | "datacenter"
  | "dev"
  | "httpAddresses"
  | "advertiseAddr"
  | "enableScriptChecks"
  | "enableLocalScriptChecks"
  | "checkUpdateIntervalMs"
  | "services"
  | "checks"
  | "watches"
> &
  Partial<
    Pick<
      RuntimeConfig,
      | "dataDir"
      | "storeHistory"
      | "etcd"
      | "reconnectTimeoutMs"
      | "http"
      | "queryTimes"
      | "nodeMeta"
      | "sessionTtlMinMs"
      | "taggedAddresses"
      | "disableCoordinates"
      | "discardCheckOutput"
      | "checkOutputMaxSize"
      | "server"
      | "dns"
      | "ui"
      | "https"
      | "acl"
    >
  > &
  AgentTimings;

/** Timings no config key sets; tests shorten them. */
export interface AgentTimings {
  /** Anti-entropy full sync period (Consul: about a minute). */
  readonly fullSyncIntervalMs?: number;
  /** Liveness lease TTL in seconds (default: `etcd.liveness_ttl`, else 4 s with etcd, 10 s alone). */
  readonly livenessTtlSeconds?: number;
}

export interface RunningAgent {
  readonly addresses: readonly ListenAddress[];
  /** The HTTPS API's addresses; empty unless `ports.https` is set. */
  readonly httpsAddresses: readonly ListenAddress[];
  /** The DNS interface's addresses (UDP and TCP share each port); empty without DNS. */
  readonly dnsAddresses: readonly ListenAddress[];
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
    this.#client = new ConsulClient({ address: "http://127.0.0.1:8500", token, env: {} });
  }

  /**
   * `address` with its scheme. The agent's environment is not read: CONSUL_HTTP_SSL or
   * CONSUL_CACERT meant for the CLI must not redirect the agent's calls to itself.
   */
  setAddress(address: string, tls?: ConsulClientOptions["tls"]): void {
    this.#client = new ConsulClient({
      address,
      token: this.token,
      env: {},
      ...(tls ? { tls } : {}),
    });
  }

  request(...args: Parameters<ConsulClient["request"]>): ReturnType<ConsulClient["request"]> {
    return this.#client.request(...args);
  }
}

/** Where `npm ci` (vite build) puts the web UI: dist/ui/, next to this module's dist/src/. */
const BUILT_UI_DIR = fileURLToPath(new URL("../ui/", import.meta.url));

/**
 * Check runners for the agent: TTL runners also take the API's pass/warn/fail updates. Alias
 * checks read the catalog, and default to this agent's own node.
 */
const checkStarter =
  (catalog: Catalog, nodeName: string): StartCheck =>
  (def, report, restoredOutput) => {
    const runner = createCheckRunner(def, report, { catalog, nodeName });
    if (restoredOutput !== undefined && runner instanceof TtlCheckRunner)
      runner.restoreOutput(restoredOutput);
    runner.start();
    return {
      stop: () => runner.stop(),
      ...(runner instanceof TtlCheckRunner
        ? { ttlUpdate: (status, output) => runner.update(status, output) }
        : {}),
    };
  };

async function openStore(settings: AgentSettings): Promise<Store> {
  if (settings.etcd)
    return EtcdStore.open({
      endpoints: settings.etcd.endpoints,
      prefix: settings.etcd.prefix,
      ...(settings.etcd.tls ? { tls: settings.etcd.tls } : {}),
    });
  const history = settings.storeHistory ? { history: settings.storeHistory } : {};
  if (settings.dev || !settings.dataDir) return new MemoryStore(history);
  const path = join(settings.dataDir, "catalog");
  await mkdir(path, { recursive: true });
  return DiskStore.open({ path, ...history });
}

export type AgentRuntimeState =
  "built" | "starting" | "running" | "stopping" | "stopped" | "failed";

/**
 * One agent's life, as an explicit state machine:
 *
 * ```
 * built ──start()──▶ starting ──▶ running ──stop() / leave──▶ stopping ──▶ stopped
 *                        └──a step failed: what it opened is closed, newest first──▶ failed
 * ```
 * Building (the constructor) opens nothing. `start()` opens in dependency order (store, catalog
 * view, agent, HTTP listeners, watches) and each step registers how to close what it opened; a
 * start that fails part way (a port in use, a bad data dir, a watch whose signing secret is
 * missing) closes those, newest first, and rethrows, so no store handle, lease, timer or listener
 * is left behind. `stop()` runs the same closers, in the same order, from `running`.
 */
export class AgentRuntime {
  #state: AgentRuntimeState = "built";
  /** How to close what start() opened, in the order it was opened. */
  readonly #closers: (() => Promise<unknown>)[] = [];
  #leaving = false;
  #stopping: Promise<void> | undefined;
  readonly #stopped: Promise<void>;
  #resolveStopped!: () => void;

  constructor(
    private readonly settings: AgentSettings,
    private readonly options: StartAgentOptions,
  ) {
    this.#stopped = new Promise<void>((r) => (this.#resolveStopped = r));
  }

  get state(): AgentRuntimeState {
    return this.#state;
  }

  async start(): Promise<RunningAgent> {
    if (this.#state !== "built")
      throw new AugurError("INTERNAL", `AgentRuntime.start: illegal in state ${this.#state}`);
    this.#state = "starting";
    try {
      const running = await this.#open();
      this.#state = "running";
      return running;
    } catch (err) {
      await this.#closeAll();
      this.#state = "failed";
      throw err;
    }
  }

  /** Stops a running agent (once; later calls share the first). `leave`: leave the cluster first. */
  stop(leave = false): Promise<void> {
    this.#stopping ??= (async () => {
      this.#leaving = leave;
      this.#state = "stopping";
      try {
        await this.#closeAll();
      } finally {
        this.#state = "stopped";
        this.#resolveStopped();
      }
    })();
    return this.#stopping;
  }

  /** Newest first. A closer that fails does not keep the older ones from running. */
  async #closeAll(): Promise<void> {
    let first: unknown;
    for (const close of this.#closers.splice(0).reverse()) {
      try {
        await close();
      } catch (err) {
        first ??= err;
      }
    }
    if (first !== undefined && this.#state === "stopping") throw first;
  }

  /** start()'s steps; each registers how to close what it opened. */
  async #open(): Promise<RunningAgent> {
    const { settings, options } = this;
    const opened = this.#closers;
    const log = options.logger;
    const store = await openStore(settings);
    opened.push(() => store.close());
    // etcd refuses a transaction of more than --max-txn-ops (128 by default) operations.
    const catalog = new Catalog(store, {
      datacenter: settings.datacenter,
      ...(settings.etcd ? { maxTxnOps: 128 } : {}),
      ...(settings.sessionTtlMinMs ? { sessionTtlMinMs: settings.sessionTtlMinMs } : {}),
    });
    opened.push(() => catalog.stop());
    await catalog.start(
      (err) => log.error({ err: toAugurError(err).message }, "catalog view"),
      (reason) => log.warn(`catalog view resynced from a snapshot: ${reason}`),
    );
    const acl = settings.acl?.enabled ? settings.acl : undefined;
    if (acl) {
      await catalog.acl.ensureBuiltins();
      if (acl.initialManagement) await catalog.acl.ensureManagementToken(acl.initialManagement);
    }
    const metrics = new ApiMetrics(catalog);
    // Set once the HTTP server exists: a lost store releases parked blocking queries.
    let releaseParked = (): void => undefined;
    const agent = new Agent({
      identity: {
        nodeName: settings.nodeName,
        nodeId: settings.nodeId,
        datacenter: settings.datacenter,
        advertiseAddr: settings.advertiseAddr,
        ...(settings.nodeMeta ? { nodeMeta: { ...settings.nodeMeta } } : {}),
        ...(settings.taggedAddresses ? { taggedAddresses: { ...settings.taggedAddresses } } : {}),
        version: VERSION,
        ...(settings.server ? { server: true } : {}),
      },
      catalog,
      startCheck: checkStarter(catalog, settings.nodeName),
      validateCheck: assertRunnable,
      // Consul keeps API registrations in its data dir; a -dev agent forgets them.
      ...(settings.dev || !settings.dataDir
        ? {}
        : { persistence: new FileLocalStatePersistence(settings.dataDir) }),
      enableScriptChecks: settings.enableScriptChecks,
      enableLocalScriptChecks: settings.enableLocalScriptChecks,
      checkUpdateIntervalMs: settings.checkUpdateIntervalMs,
      ...(settings.discardCheckOutput ? { discardCheckOutput: true } : {}),
      ...(settings.checkOutputMaxSize ? { checkOutputMaxSize: settings.checkOutputMaxSize } : {}),
      // Cluster mode: a dead agent's serfHealth turns critical within this many seconds.
      // 4 s: with renewals every TTL/3 and etcd's lease-expiry sweep, a kill shows within 5 s.
      livenessTtlSeconds:
        settings.livenessTtlSeconds ??
        settings.etcd?.livenessTtlSeconds ??
        (settings.etcd ? 4 : 10),
      ...(settings.fullSyncIntervalMs ? { fullSyncIntervalMs: settings.fullSyncIntervalMs } : {}),
      ...(settings.reconnectTimeoutMs ? { reconnectTimeoutMs: settings.reconnectTimeoutMs } : {}),
      onError: (err, what) => log.warn({ err: toAugurError(err).message }, what),
      onReaped: (node) =>
        log.info(`EventMemberReap: ${node} (failed longer than reconnect_timeout)`),
      onStoreContact: (known) => {
        if (known) log.info("store reachable again: reads are current");
        else
          log.warn(
            "lost contact with the store for longer than the liveness TTL: reads come from this agent's last view (X-Consul-KnownLeader: false)",
          );
        releaseParked();
      },
    });
    // Consul's order: persisted state is read, config definitions are added, persisted services
    // and checks are added, and only then does anti-entropy run — so it never sees them as strays.
    let current = settings;
    opened.push(() => (this.#leaving ? agent.leave() : agent.stop()));
    await agent.loadPersisted();
    await applyDefinitions(agent, [], [], settings);
    await agent.start();

    // Never leaves this process: it marks the watch engine's own requests (kv-internal.ts).
    const internalToken = randomBytes(32).toString("hex");
    const watchClient = new AddressableClient(internalToken);
    // Set once the route table exists (it includes the watch routes, so it comes after the manager).
    let inProcess: InProcessSource | undefined = undefined;
    const watchLog =
      (level: "info" | "warn" | "error") =>
      (msg: string, fields?: object): void =>
        log[level](fields ?? {}, msg);
    const watchManager = new WatchManager({
      client: watchClient,
      // The agent's own catalog is read in-process, through the same route handlers and blocking
      // reads as over HTTP but without a socket per watch (which also counted against
      // limits.http_max_conns_per_client). A watch naming another datacenter keeps the HTTP client,
      // as a request that has to leave this agent.
      sourceFor: (def) =>
        inProcess !== undefined && isLocal(def, settings.datacenter) ? inProcess : watchClient,
      ...(settings.dev || !settings.dataDir
        ? {}
        : {
            openDurableStore: () =>
              LmdbWatchStore.open(join(settings.dataDir as string, "watches")),
          }),
      registry: metrics.registry,
      logger: { info: watchLog("info"), warn: watchLog("warn"), error: watchLog("error") },
    });
    const stop = (leave = false): Promise<void> => this.stop(leave);

    // Set once the DNS interface listens: a reload hands it the new dns_config, as Consul's.
    let reloadDns: ((next: AgentSettings) => void) | undefined;
    // Set once the HTTP server exists: a reload applies ui_config (enabled, dir, content_path).
    let reloadUi = (_next: AgentSettings): void => undefined;
    // Set once HTTPS listens: a reload re-reads the certificate, key and CA files.
    let reloadHttps: ((next: AgentSettings) => Promise<void>) | undefined;
    const reload = async (): Promise<void> => {
      const next = await options.reloadSettings();
      // First: unreadable certificate files fail the reload before anything else changed.
      await reloadHttps?.(next);
      reloadDns?.(next);
      reloadUi(next);
      await applyDefinitions(agent, current.services, current.checks, next);
      await watchManager.reload(own ? next.watches : []);
      current = next;
      log.info("reloaded configuration");
    };
    // Consul answers "" while it knows no Raft leader; in cluster mode that is while etcd has not
    // answered within the liveness TTL (Agent.storeContact, the source of X-Consul-KnownLeader).
    const leaderAddr = (): string =>
      agent.storeContact().knownLeader ? `${settings.advertiseAddr}:${SERVER_RPC_PORT}` : "";
    const cluster = (): ClusterInfo =>
      settings.etcd
        ? {
            Store: "etcd",
            Etcd: { Endpoints: settings.etcd.endpoints, Prefix: settings.etcd.prefix },
          }
        : { Store: settings.dev || !settings.dataDir ? "memory" : "disk" };
    const control: AgentControl = {
      leader: leaderAddr,
      reload,
      join: (address) =>
        verifyJoin(
          address,
          {
            info: cluster(),
            etcdMemberIds: async () => (await raftServers(store, settings)).map((s) => s.ID),
          },
          5000,
          agentTokens.agent,
        ),
      leave: async () => {
        // Answer first, then leave: Consul's client expects the 200 before the agent goes away.
        setTimeout(
          () =>
            void stop(true).catch((err: unknown) =>
              log.warn({ err: toAugurError(err).message }, "leave"),
            ),
          50,
        );
      },
      prometheus: async () => ({
        contentType: metrics.registry.contentType,
        body: await metrics.registry.metrics(),
      }),
      cluster,
      host: () => collectHostInfo(settings.dev ? undefined : settings.dataDir),
      metricsJson: async () => ({
        Timestamp: new Date().toISOString(),
        Gauges: [],
        Points: [],
        Counters: [],
        Samples: [],
        Metrics: await metrics.registry.getMetricsAsJSON(),
      }),
    };
    // `acl.enable_token_persistence`: tokens set through agent/token/* are kept in the data dir
    // and win over the config's at the next start, as Consul's acl-tokens.json.
    const tokenFile =
      acl?.enableTokenPersistence && settings.dataDir && !settings.dev
        ? join(settings.dataDir, "acl-tokens.json")
        : undefined;
    const agentTokens: { default?: string; agent?: string } = {
      ...(acl?.defaultToken ? { default: acl.defaultToken } : {}),
      ...(acl?.agentToken ? { agent: acl.agentToken } : {}),
      ...(tokenFile ? await readPersistedTokens(tokenFile) : {}),
    };
    const aclResolver: TokenResolver | undefined = acl
      ? aclTokenResolver(catalog, acl.defaultPolicy, internalToken, agentTokens)
      : undefined;
    const apiRoutes = [
      ...statusRoutes({
        leader: leaderAddr,
        peers: () => [`${settings.advertiseAddr}:${SERVER_RPC_PORT}`],
      }),
      ...aclRoutes(
        acl
          ? {
              catalog,
              nodeName: settings.nodeName,
              setAgentToken: async (kind, token) => {
                agentTokens[kind] = token;
                if (tokenFile)
                  await writeFile(tokenFile, JSON.stringify(agentTokens), { mode: 0o600 });
              },
            }
          : {},
      ),
      ...coordinateRoutes(catalog, { disabled: settings.disableCoordinates === true }),
      ...agentHealthRoutes(agent),
      ...operatorRoutes(catalog, () => raftServers(store, settings)),
      ...agentRoutes(agent, catalog, control),
      ...agentMonitorRoutes(logTapOf(log), log, settings.nodeName),
      ...catalogRoutes(catalog),
      ...healthRoutes(catalog),
      ...internalUiRoutes(catalog),
      ...kvRoutes(catalog, { internalToken }),
      ...txnRoutes(catalog, { internalToken }),
      ...sessionRoutes(catalog, settings.nodeName),
      ...queryRoutes(catalog, settings.nodeName),
      ...eventRoutes(catalog, {
        nodeName: () => settings.nodeName,
        services: () => Object.values(agent.services()),
      }),
      ...watchRoutes(watchManager, settings.nodeName),
      ...snapshotRoutes(catalog, async () => {
        // A snapshot from before ACLs were on has none of their records: without this a restore
        // would lock every client out until the agent restarts.
        if (!acl) return;
        await catalog.acl.ensureBuiltins();
        if (acl.initialManagement) await catalog.acl.ensureManagementToken(acl.initialManagement);
      }),
    ];
    const routes = [...apiRoutes, ...webUiRoutes(settings.ui, BUILT_UI_DIR)];
    // Only etcd can be out of reach; a local store is always "the leader", as a Consul dev agent.
    const storeContact = settings.etcd ? { storeContact: () => agent.storeContact() } : {};
    const onServerError = (err: unknown, method: string, url: string): void =>
      log.warn({ err: toAugurError(err).message }, `${method} ${url}`);
    const queryTimes = settings.queryTimes ? { queryTimes: settings.queryTimes } : {};
    const aclOptions = aclResolver
      ? { aclResolver, defaultAclPolicy: acl?.defaultPolicy ?? "allow" }
      : {};
    inProcess = new InProcessSource({
      routes,
      token: internalToken,
      ...aclOptions,
      onServerError,
      ...storeContact,
      ...queryTimes,
    });
    const server = new ApiServer({
      routes,
      onResponse: (method, route, status, seconds) => {
        metrics.observeRequest(method, route, status, seconds);
        // Consul's agent.http debug line; checked first so a request allocates nothing for it
        // unless someone (a debug monitor) listens.
        if (log.isLevelEnabled("debug"))
          log.debug(
            {
              name: "agent.http",
              method,
              url: route,
              status,
              latency: `${(seconds * 1000).toFixed(3)}ms`,
            },
            "Request finished",
          );
      },
      onServerError,
      ...aclOptions,
      ...queryTimes,
      ...(settings.http ? { limits: settings.http } : {}),
      ...storeContact,
    });
    let ui = settings.ui;
    reloadUi = (next) => {
      // Rebuilt on every reload, as Consul's UI handler re-reads its directory: new uiRoutes read
      // the build afresh (a UI rebuilt in place, or a new `dir`).
      server.setRoutes([...apiRoutes, ...webUiRoutes(next.ui, BUILT_UI_DIR)]);
      if (JSON.stringify(next.ui ?? null) !== JSON.stringify(ui ?? null))
        log.info(next.ui?.enabled ? `web UI at ${next.ui.contentPath}` : "web UI off");
      ui = next.ui;
    };
    releaseParked = () => {
      server.releaseParked();
      inProcess?.releaseParked();
    };
    opened.push(() => server.close());
    const addresses = await server.listen(settings.httpAddresses);
    for (const a of addresses) log.info(`HTTP API listening on ${a.host}:${a.port}`);
    const httpsAddresses: ListenAddress[] = [];
    if (settings.https) {
      const tls = await httpsServerOptions(settings.https.tls);
      for (const a of await server.listenHttps(settings.https.addresses, tls)) {
        httpsAddresses.push(a);
        log.info(`HTTPS API listening on ${a.host}:${a.port}`);
      }
      // Listeners are not opened or closed by a reload (as Consul's); their TLS files are re-read.
      reloadHttps = async (next) => {
        if (next.https) server.setSecureContext(await httpsServerOptions(next.https.tls));
      };
    }
    const dns = settings.dns;
    const dnsAddresses: ListenAddress[] = [];
    if (dns && dns.addresses.length > 0) {
      const resolver = new DnsResolver({
        ...(aclResolver ? { authorizer: () => aclResolver(undefined) } : {}),
        catalog,
        config: dns,
        datacenter: settings.datacenter,
        nodeName: settings.nodeName,
      });
      const dnsServer = new DnsServer({
        resolver,
        config: dns,
        onError: (err) => log.warn({ err: toAugurError(err).message }, "DNS query"),
      });
      opened.push(() => dnsServer.close());
      reloadDns = (next) => {
        if (!next.dns) return;
        resolver.setConfig(next.dns);
        dnsServer.setConfig(next.dns);
      };
      for (const a of await dnsServer.listen(dns.addresses)) {
        dnsAddresses.push(a);
        log.info(`DNS listening on ${a.host}:${a.port} (udp and tcp)`);
      }
    }
    // Watches of this agent's own catalog run in-process; those naming another datacenter reach
    // the API through the HTTP client, exactly as `augur watch` against any agent.
    const own = selfAddress(addresses, httpsAddresses, settings);
    opened.push(() => watchManager.stop());
    if (own) {
      watchClient.setAddress(own.address, own.tls);
      await watchManager.start(settings.watches);
    } else {
      // Kept from when every watch went through the HTTP API (and as Consul, whose watch plans
      // need an HTTP endpoint); in-process watches could now run without it.
      if (settings.watches.length > 0)
        log.warn(
          "watches need the HTTP or HTTPS API, and both are disabled (ports.http = -1); they will not run",
        );
      // Started with no watches so the outbox (and its dead letters) can still be read and replayed.
      await watchManager.start([]);
    }
    return {
      addresses,
      httpsAddresses,
      dnsAddresses,
      agent,
      catalog,
      stopped: this.#stopped,
      reload,
      stop: () => stop(false),
    };
  }
}

/** Builds an agent and starts it (see {@link AgentRuntime}). */
export async function startAgent(
  settings: AgentSettings,
  options: StartAgentOptions,
): Promise<RunningAgent> {
  return new AgentRuntime(settings, options).start();
}

/**
 * `operator/raft/configuration`'s servers: etcd's members in cluster mode (etcd is augur's
 * Raft), else this agent as the one voter, at Consul's server RPC port.
 */
async function raftServers(store: Store, settings: AgentSettings): Promise<RaftServer[]> {
  if (store instanceof EtcdStore) {
    return (await store.members()).map((m) => ({
      ID: m.id,
      Node: m.name,
      Address: m.peerUrl.replace(/^[a-z]+:\/\//, ""),
      Leader: m.leader,
      ProtocolVersion: "3",
      Voter: m.voter,
    }));
  }
  return [
    {
      ID: settings.nodeId,
      Node: settings.nodeName,
      Address: `${settings.advertiseAddr}:8300`,
      Leader: true,
      ProtocolVersion: "3",
      Voter: true,
    },
  ];
}

/** A listen address as this host reaches it (a wildcard becomes loopback). */
const reachable = (a: ListenAddress): string =>
  `${a.host === "0.0.0.0" ? "127.0.0.1" : a.host === "::" ? "[::1]" : a.host}:${a.port}`;

/**
 * Where the agent's own HTTP client (watches naming another datacenter) reaches this agent: the
 * first HTTP address, else the first HTTPS one. Over HTTPS it trusts the configured CA, presents
 * the agent's own certificate (needed under verify_incoming, as Consul's agent presents its own)
 * and skips the name check, which a certificate need not pass for a loopback address; with no CA
 * configured it cannot check its own certificate at all, and does not.
 */
function selfAddress(
  http: readonly ListenAddress[],
  https: readonly ListenAddress[],
  settings: AgentSettings,
): { address: string; tls?: ConsulClientOptions["tls"] } | undefined {
  const plain = http[0];
  if (plain) return { address: `http://${reachable(plain)}` };
  const secure = https[0];
  const tls = settings.https?.tls;
  if (!secure || !tls) return undefined;
  const hasCa = tls.caFile !== undefined || tls.caPath !== undefined;
  return {
    address: `https://${reachable(secure)}`,
    tls: {
      ...(tls.caFile ? { caFile: tls.caFile } : {}),
      ...(tls.caPath ? { caPath: tls.caPath } : {}),
      ...(tls.certFile ? { certFile: tls.certFile } : {}),
      ...(tls.keyFile ? { keyFile: tls.keyFile } : {}),
      ...(hasCa ? { skipHostnameCheck: true } : { insecureSkipVerify: true }),
    },
  };
}

/** A watch of this agent's own datacenter: served in-process. */
function isLocal(def: WatchDefinition, datacenter: string): boolean {
  return def.query.datacenter === undefined || def.query.datacenter === datacenter;
}

/** Config-file services and checks: removed ones go, new or changed ones are (re)registered. */
async function applyDefinitions(
  agent: Agent,
  oldServices: readonly ServiceDefinition[],
  oldChecks: readonly CheckDefinition[],
  next: AgentSettings,
): Promise<void> {
  // All or nothing: a definition the agent would refuse fails the start or reload before any change.
  agent.validateDefinitions(next.services, next.checks, "config");
  const nextServiceIds = new Set(next.services.map((s) => s.id));
  const nextCheckIds = new Set(next.checks.map((c) => c.id));
  for (const s of oldServices)
    if (!nextServiceIds.has(s.id) && agent.local.service(s.id)?.source === "config")
      await agent.deregisterService(s.id);
  for (const c of oldChecks)
    if (!nextCheckIds.has(c.id) && agent.local.check(c.id)?.source === "config")
      await agent.deregisterCheck(c.id);
  const unchanged = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
  for (const s of next.services) {
    const old = oldServices.find((o) => o.id === s.id);
    if (!old || !unchanged(old, s) || !agent.local.service(s.id))
      await agent.registerService(s, "config", true);
  }
  for (const c of next.checks) {
    const old = oldChecks.find((o) => o.id === c.id);
    if (!old || !unchanged(old, c) || !agent.local.check(c.id))
      await agent.registerCheck(c, "config");
  }
}

/**
 * Request tokens to authorizers while ACLs are on. The watch engine's internal token (it never
 * leaves this process) is the agent acting for itself, as Consul's agent uses its agent token;
 * a watch with its own `token` sends that as `?token=`, which wins and is checked as any other.
 * A request without a token takes `acl.tokens.default` (settable by `PUT /v1/agent/token/default`).
 */
function aclTokenResolver(
  catalog: Catalog,
  defaultPolicy: "allow" | "deny",
  internalToken: string,
  agentTokens: { default?: string },
): TokenResolver {
  const internal = Buffer.from(internalToken);
  return (token) => {
    if (token !== undefined && token.length === internalToken.length) {
      const given = Buffer.from(token);
      if (given.length === internal.length && timingSafeEqual(given, internal)) return ALLOW_ALL;
    }
    return catalog.acl.resolve(token, {
      defaultPolicy,
      ...(agentTokens.default ? { defaultToken: agentTokens.default } : {}),
    });
  };
}

/** The tokens `enable_token_persistence` kept; none when the file is missing or unreadable. */
async function readPersistedTokens(file: string): Promise<{ default?: string; agent?: string }> {
  try {
    const parsed = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
    const out: { default?: string; agent?: string } = {};
    if (typeof parsed["default"] === "string") out.default = parsed["default"];
    if (typeof parsed["agent"] === "string") out.agent = parsed["agent"];
    return out;
  } catch {
    return {};
  }
}
