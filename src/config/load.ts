/**
 * Consul agent configuration: files (JSON or HCL) in order, then `-config-dir` files sorted by
 * name, then flags; lists (`services`, `checks`, `watches`) append, everything else overrides.
 * Keys of Consul features augur does not have load with a one-line notice so an existing file
 * works; a malformed file or a wrong type fails with the file, the key path and the expectation.
 *
 * @module
 */
import { configFail, listenAddresses, listenHosts, type ListenAddress } from "./listeners.js";
import { randomUUID } from "node:crypto";
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { hostname, networkInterfaces } from "node:os";
import { extname, join } from "node:path";
import { parseGoDuration } from "../lib/duration.js";
import { AugurError } from "../lib/errors.js";
import type { CheckDefinition, ServiceDefinition } from "../catalog/types.js";
import { dnsConfig, type DnsConfig } from "./dns-config.js";
import { httpsConfig, TLS_TOP_LEVEL_KEYS, type HttpsConfig } from "./tls-config.js";
import { decodeCheckDefinition, decodeServiceDefinition } from "./definitions.js";
import type { AgentFlags } from "./flags.js";
import { HclSyntaxError, parseHcl } from "./hcl.js";
import { parseWatchDefinition, withUniqueIds } from "../watch/definition.js";
import type { WatchDefinition } from "../watch/types.js";

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error";

export interface EtcdConfig {
  readonly endpoints: readonly string[];
  readonly prefix: string;
  /** `etcd.liveness_ttl`: this agent's lease; a dead agent is seen failed within it (default 4 s). */
  readonly livenessTtlSeconds?: number;
  readonly tls?: {
    readonly caFile?: string;
    readonly certFile?: string;
    readonly keyFile?: string;
  };
}

/** The agent's configuration after merging every source. */
export interface RuntimeConfig {
  readonly nodeName: string;
  readonly nodeId: string;
  readonly datacenter: string;
  readonly dev: boolean;
  readonly dataDir?: string;
  /** `default_query_time` / `max_query_time` in ms: a blocking query's wait without `?wait`, and its cap. */
  readonly queryTimes?: { readonly defaultMs: number; readonly maxMs: number };
  /** `node_meta` / `-node-meta`: this node's metadata in the catalog (`NodeMeta`). */
  readonly nodeMeta?: Readonly<Record<string, string>>;
  /** `check_output_max_size`: checks' output size when they set none, and the most they may set. */
  readonly checkOutputMaxSize?: number;
  /** `discard_check_output`: checks' output is not stored. */
  readonly discardCheckOutput?: boolean;
  /** `tagged_addresses`: extra (or overriding) tagged addresses of this node. */
  readonly taggedAddresses?: Readonly<Record<string, string>>;
  /** `disable_coordinates`: the coordinate endpoints answer `Coordinate support disabled`. */
  readonly disableCoordinates?: boolean;
  /** `session_ttl_min` in ms: the shortest session TTL accepted (Consul's default 10 s). */
  readonly sessionTtlMinMs?: number;
  /** `pid_file` / `-pid-file`: the agent's PID is written here at start and removed at stop. */
  readonly pidFile?: string;
  readonly httpAddresses: readonly { host: string; port: number }[];
  /** `ports.https` with `tls { defaults https }`: the HTTPS API; absent while it is off. */
  readonly https?: HttpsConfig;
  readonly bindAddr: string;
  readonly advertiseAddr: string;
  readonly enableScriptChecks: boolean;
  readonly enableLocalScriptChecks: boolean;
  readonly logLevel: LogLevel;
  readonly logJson: boolean;
  readonly services: readonly ServiceDefinition[];
  readonly checks: readonly CheckDefinition[];
  /** Validated watch definitions, run by the watch engine. */
  readonly watches: readonly WatchDefinition[];
  readonly etcd?: EtcdConfig;
  readonly checkUpdateIntervalMs: number;
  readonly reconnectTimeoutMs: number;
  readonly leaveOnTerminate: boolean;
  /**
   * `server` / `-server`, and always with `-dev`: the agent presents as a Consul server
   * (`Config.Server`, the `consul` service, `Stats.consul`, the WAN members). The data still lives
   * in the store: etcd's members, not the agents, are what Raft is to Consul.
   */
  readonly server: boolean;
  /** Consul's cluster keys. `bootstrap`, `bootstrap_expect` have no effect (etcd is the server). */
  readonly cluster: {
    readonly bootstrap: boolean;
    readonly bootstrapExpect?: number;
  } & JoinConfig;
  /** `etcd.tls`, also used for etcd endpoints learned by joining. */
  readonly etcdTls?: EtcdConfig["tls"];
  /** `etcd.liveness_ttl`, likewise. */
  readonly etcdLivenessTtlSeconds?: number;
  /** `store { history_max_revisions, history_max_bytes }`: the embedded store's change history. */
  readonly storeHistory?: { readonly maxRevisions?: number; readonly maxBytes?: number };
  /** `limits.http_max_conns_per_client` and `http_config.read_timeout` / `read_header_timeout`. */
  readonly http: HttpLimitsConfig;
  /** The DNS interface (`ports.dns`, `addresses.dns`, `domain`, `recursors`, `dns_config`). */
  readonly dns: DnsConfig;
  /** `ui_config` / `-ui`, `-ui-dir`, `-ui-content-path` (on with `-dev`): the web UI at `contentPath`. */
  readonly ui?: UiConfig;
  /** `acl { ... }` and the older `acl_*` keys; absent while ACLs are off. */
  readonly acl?: AclConfig;
}

/** Consul's `acl` block (agent/config/config.go ACL), as augur enforces it. */
export interface AclConfig {
  readonly enabled: boolean;
  readonly defaultPolicy: "allow" | "deny";
  /** Accepted for Consul's sake: augur's ACL data lives in the store, never "down" apart from it. */
  readonly downPolicy: string;
  readonly enableTokenPersistence: boolean;
  /** `tokens.initial_management` (or `master`, `acl_master_token`): created at start if missing. */
  readonly initialManagement?: string;
  /** `tokens.agent` (`acl_agent_token`): the agent's own requests. */
  readonly agentToken?: string;
  /** `tokens.default` (`acl_token`): requests that carry no token. */
  readonly defaultToken?: string;
}

/** Where and whether the agent serves its web UI. */
export interface UiConfig {
  readonly enabled: boolean;
  /** The URL path the UI is served under, `/ui/` by default; always starts and ends with `/`. */
  readonly contentPath: string;
  /** `ui_config.dir` / `-ui-dir`: the UI's files come from here instead of the built-in build. */
  readonly dir?: string;
}

/** What one HTTP client may hold; absent fields take the server's defaults. */
export interface HttpLimitsConfig {
  /** `limits.http_max_conns_per_client` (Consul's default 200; 0: no limit). */
  readonly maxConnsPerClient?: number;
  /** `http_config.read_header_timeout` (0: none). */
  readonly readHeaderTimeoutMs?: number;
  /** `http_config.response_headers`: sent on every HTTP API answer (a handler's own win). */
  readonly responseHeaders?: Readonly<Record<string, string>>;
  /** `http_config.read_timeout`: the whole request, body included (0: none). */
  readonly readTimeoutMs?: number;
}

/**
 * Joining: without etcd endpoints of its own, an agent learns them (and the key prefix) from
 * another agent's HTTP API. `start_join` / `-join` are tried once at start; `retry_join` /
 * `-retry-join` every `retry_interval` until one answers or `retry_max` attempts (0: forever).
 */
export interface JoinConfig {
  readonly startJoin: readonly string[];
  readonly retryJoin: readonly string[];
  readonly retryIntervalMs: number;
  readonly retryMax: number;
}

export interface LoadedConfig {
  readonly config: RuntimeConfig;
  readonly notices: string[];
}

type Raw = Record<string, unknown>;

/** Consul's Raft bootstrap keys: accepted, and pointless, since etcd holds the catalog. */
const SERVER_KEYS = new Set(["bootstrap", "bootstrap_expect"]);

/** Consul keys augur accepts and does not act on (one notice each). */
const UNSUPPORTED = new Set([
  "connect",
  "encrypt",
  "encrypt_verify_incoming",
  "encrypt_verify_outgoing",
  "telemetry",
  "performance",
  "auto_encrypt",
  "auto_config",
  "primary_datacenter",
  "segments",
  "segment",
  "autopilot",
  "raft_protocol",
  "rejoin_after_leave",
  "disable_update_check",
  "disable_remote_exec",
  "enable_central_service_config",
  "serf_lan",
  "serf_wan",
  "advertise_addr_wan",
  "translate_wan_addrs",
  "config_entries",
  "license_path",
  "enable_debug",
  "log_file",
  "log_rotate_max_files",
  "syslog_facility",
  "enable_syslog",
  "skip_leave_on_interrupt",
]);
const LIST_KEYS = ["services", "service", "checks", "check", "watches"] as const;

const fail = configFail;

async function parseFile(file: string): Promise<Raw> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new AugurError(
      "CONFIG_INVALID",
      `${file}: cannot read config file: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      { cause: err },
    );
  }
  try {
    const parsed: unknown = extname(file) === ".hcl" ? parseHcl(text) : JSON.parse(text);
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
      throw fail(file, "(top level)", "an object", parsed);
    return parsed as Raw;
  } catch (err) {
    if (err instanceof AugurError) throw err;
    const why =
      err instanceof HclSyntaxError || err instanceof SyntaxError ? err.message : String(err);
    throw new AugurError(
      "CONFIG_INVALID",
      `${file}: malformed ${extname(file) === ".hcl" ? "HCL" : "JSON"}: ${why}`,
      { cause: err },
    );
  }
}

async function dirFiles(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw new AugurError(
      "CONFIG_INVALID",
      `${dir}: cannot read config dir: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      { cause: err },
    );
  }
  return names
    .filter((n) => n.endsWith(".json") || n.endsWith(".hcl"))
    .sort()
    .map((n) => join(dir, n));
}

/** Reads and merges the sources; every value is checked where it is used, naming its file. */
export async function loadConfig(args: {
  flags: AgentFlags;
  files: readonly string[];
  dirs: readonly string[];
}): Promise<LoadedConfig> {
  const sources: { file: string; raw: Raw }[] = [];
  for (const f of args.files) {
    const isDir = await stat(f).then(
      (s) => s.isDirectory(),
      () => false,
    );
    for (const file of isDir ? await dirFiles(f) : [f])
      sources.push({ file, raw: await parseFile(file) });
  }
  for (const d of args.dirs)
    for (const file of await dirFiles(d)) sources.push({ file, raw: await parseFile(file) });
  return build(sources, args.flags);
}

class Merged {
  readonly values = new Map<string, { file: string; value: unknown }>();
  readonly lists: Record<
    (typeof LIST_KEYS)[number],
    { file: string; value: unknown; index: number }[]
  > = { services: [], service: [], checks: [], check: [], watches: [] };
  readonly notices: string[] = [];

  add(file: string, raw: Raw): void {
    for (const [key, value] of Object.entries(raw)) {
      if ((LIST_KEYS as readonly string[]).includes(key)) {
        const items = Array.isArray(value) ? value : [value];
        items.forEach((v, i) =>
          this.lists[key as (typeof LIST_KEYS)[number]].push({
            file,
            value: v,
            index: Array.isArray(value) ? i : -1,
          }),
        );
      } else if (SERVER_KEYS.has(key)) {
        this.notices.push(
          `${file}: "${key}" has no effect: in augur the etcd members are the servers (see "Running a cluster")`,
        );
        this.values.set(key, { file, value });
      } else if (UNSUPPORTED.has(key)) {
        this.notices.push(`${file}: "${key}" is a Consul feature augur does not have; ignored`);
        this.values.set(key, { file, value });
      } else this.values.set(key, { file, value });
    }
  }

  get<T>(
    key: string,
    kind: "string" | "boolean" | "number" | "object" | "strings",
    path = key,
  ): { value: T; file: string } | undefined {
    const entry = this.values.get(key);
    if (!entry || entry.value === undefined || entry.value === null) return undefined;
    const v = entry.value;
    const ok =
      kind === "strings"
        ? Array.isArray(v) && v.every((x) => typeof x === "string")
        : kind === "object"
          ? typeof v === "object" && !Array.isArray(v)
          : typeof v === kind;
    if (!ok)
      throw fail(
        entry.file,
        path,
        kind === "strings" ? "a list of strings" : kind === "object" ? "an object" : `a ${kind}`,
        v,
      );
    return { value: v as T, file: entry.file };
  }
}

const KNOWN = new Set([
  "acl",
  "acl_datacenter",
  "acl_default_policy",
  "acl_down_policy",
  "acl_master_token",
  "acl_token",
  "acl_agent_token",
  "server",
  "dns_config",
  "recursors",
  "domain",
  "alt_domain",
  "check_output_max_size",
  "discard_check_output",
  "tagged_addresses",
  "disable_coordinates",
  "session_ttl_min",
  "pid_file",
  "node_meta",
  "default_query_time",
  "max_query_time",
  "node_name",
  "node_id",
  "datacenter",
  "data_dir",
  "client_addr",
  "addresses",
  "ports",
  "bind_addr",
  "advertise_addr",
  "enable_script_checks",
  "enable_local_script_checks",
  "log_level",
  "log_json",
  "etcd",
  "check_update_interval",
  "reconnect_timeout",
  "leave_on_terminate",
  "start_join",
  "retry_join",
  "retry_interval",
  "retry_max",
  "node_meta",
  "store",
  "limits",
  "http_config",
  "ui_config",
  "ui",
  "ui_dir",
  "ui_content_path",
  ...TLS_TOP_LEVEL_KEYS,
]);

async function build(
  sources: { file: string; raw: Raw }[],
  flags: AgentFlags,
): Promise<LoadedConfig> {
  const m = new Merged();
  for (const s of sources) m.add(s.file, s.raw);
  for (const [key, entry] of m.values)
    if (!KNOWN.has(key) && !UNSUPPORTED.has(key) && !SERVER_KEYS.has(key))
      m.notices.push(`${entry.file}: unknown config key "${key}" ignored`);
  for (const f of flags.ignored)
    m.notices.push(`flag -${f} is a Consul feature augur does not have; ignored`);
  const str = (key: string): string | undefined => m.get<string>(key, "string")?.value;
  const bool = (key: string): boolean | undefined => m.get<boolean>(key, "boolean")?.value;
  const duration = (key: string, dflt: number): number => {
    const e = m.values.get(key);
    if (!e) return dflt;
    const ms = typeof e.value === "string" ? parseGoDuration(e.value) : undefined;
    if (ms === undefined) throw fail(e.file, key, 'a duration such as "30s"', e.value);
    return ms;
  };
  // Consul refuses a shorter reconnect_timeout: reaping a member that is only partitioned is worse
  // than keeping a dead one listed as failed.
  const reconnectTimeout = (): number => {
    const ms = duration("reconnect_timeout", 0) || 72 * 3600_000;
    if (ms < 8 * 3600_000)
      throw new AugurError(
        "CONFIG_INVALID",
        `${m.values.get("reconnect_timeout")?.file ?? "config"}: reconnect_timeout must be >= 8h0m0s`,
      );
    return ms;
  };
  const retryMax = (): number => {
    const e = m.values.get("retry_max");
    if (!e) return 0;
    if (typeof e.value !== "number" || !Number.isInteger(e.value) || e.value < 0)
      throw fail(e.file, "retry_max", "a non-negative integer", e.value);
    return e.value;
  };
  const etcdTls = etcdTlsConfig(m);
  const etcdLivenessTtlSeconds = etcdLivenessTtl(m);
  const history = storeHistory(m);
  const dev = flags.dev;
  const dataDir = flags.dataDir ?? str("data_dir");
  if (!dev && !dataDir && !flags.etcd?.length)
    throw new AugurError("CONFIG_INVALID", "data_dir cannot be empty");
  const bindAddr = flags.bind ?? str("bind_addr") ?? (dev ? "127.0.0.1" : "0.0.0.0");
  const advertiseAddr =
    flags.advertise ??
    str("advertise_addr") ??
    (bindAddr === "0.0.0.0" ? privateAddress() : bindAddr);
  const nodeName = flags.node ?? str("node_name") ?? hostname();
  const nodeId =
    flags.nodeId ?? str("node_id") ?? (await persistentNodeId(dev ? undefined : dataDir));
  const logLevel = (flags.logLevel ?? str("log_level") ?? "info").toLowerCase();
  if (!["trace", "debug", "info", "warn", "error"].includes(logLevel))
    throw new AugurError(
      "CONFIG_INVALID",
      `log_level: expected one of trace, debug, info, warn, error, got "${logLevel}"`,
    );
  const services = [...m.lists.service, ...m.lists.services].map((e) =>
    decodeServiceDefinition(e.value, {
      config: true,
      path: `${e.file}: services${e.index >= 0 ? `[${e.index}]` : ""}.`,
    }),
  );
  const checks = [...m.lists.check, ...m.lists.checks].map((e) =>
    decodeCheckDefinition(e.value, {
      config: true,
      path: `${e.file}: checks${e.index >= 0 ? `[${e.index}]` : ""}.`,
    }),
  );
  const watches = withUniqueIds(
    m.lists.watches.map((e) =>
      parseWatch(e.value, `${e.file}: watches${e.index >= 0 ? `[${e.index}]` : ""}`),
    ),
  );
  const etcd = etcdConfig(m, flags);
  const ui = uiConfig(m, flags);
  const acl = aclConfig(m);
  const config: RuntimeConfig = {
    ...(ui ? { ui } : {}),
    ...(acl ? { acl } : {}),
    nodeName,
    nodeId,
    datacenter: flags.datacenter ?? str("datacenter") ?? "dc1",
    dev,
    // Consul: -dev is always a server; otherwise -server, then the config key.
    server: dev || (flags.server ?? bool("server") ?? false),
    ...queryTimes(m),
    ...sessionTtlMin(m),
    ...taggedAddresses(m),
    ...(m.get<boolean>("discard_check_output", "boolean")?.value
      ? { discardCheckOutput: true }
      : {}),
    ...checkOutputMaxSize(m),
    ...(m.get<boolean>("disable_coordinates", "boolean")?.value
      ? { disableCoordinates: true }
      : {}),
    ...nodeMeta(m, flags.nodeMeta),
    ...((flags.pidFile ?? str("pid_file"))
      ? { pidFile: (flags.pidFile ?? str("pid_file")) as string }
      : {}),
    ...(dataDir && !dev ? { dataDir } : {}),
    httpAddresses: httpAddresses(m, flags),
    ...httpsListener(m, flags),
    bindAddr,
    advertiseAddr,
    enableScriptChecks: flags.enableScriptChecks ?? bool("enable_script_checks") ?? false,
    enableLocalScriptChecks:
      flags.enableLocalScriptChecks ?? bool("enable_local_script_checks") ?? false,
    logLevel: logLevel as LogLevel,
    logJson: flags.logJson ?? bool("log_json") ?? false,
    services,
    checks,
    watches,
    ...(etcd ? { etcd } : {}),
    checkUpdateIntervalMs: duration("check_update_interval", 5 * 60_000),
    reconnectTimeoutMs: reconnectTimeout(),
    leaveOnTerminate: bool("leave_on_terminate") ?? false,
    cluster: {
      bootstrap: m.values.get("bootstrap")?.value === true,
      ...(typeof m.values.get("bootstrap_expect")?.value === "number"
        ? { bootstrapExpect: m.values.get("bootstrap_expect")?.value as number }
        : {}),
      startJoin: joinAddresses("start_join", [
        ...(m.get<string[]>("start_join", "strings")?.value ?? []),
        ...flags.join,
      ]),
      retryJoin: joinAddresses("retry_join", [
        ...(m.get<string[]>("retry_join", "strings")?.value ?? []),
        ...flags.retryJoin,
      ]),
      retryIntervalMs:
        flags.retryInterval !== undefined
          ? flagDuration("retry-interval", flags.retryInterval)
          : duration("retry_interval", 30_000),
      retryMax: flags.retryMax ?? retryMax(),
    },
    ...(etcdTls ? { etcdTls } : {}),
    ...(etcdLivenessTtlSeconds !== undefined ? { etcdLivenessTtlSeconds } : {}),
    ...(history ? { storeHistory: history } : {}),
    http: httpLimits(m),
    dns: dnsConfig(m, {
      recursor: flags.recursor,
      ...(flags.dnsPort !== undefined ? { dnsPort: flags.dnsPort } : {}),
      ...(flags.domain !== undefined ? { domain: flags.domain } : {}),
      ...(flags.client !== undefined ? { client: flags.client } : {}),
    }),
  };
  return { config: Object.freeze(config), notices: m.notices };
}

function parseWatch(raw: unknown, where: string): WatchDefinition {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    throw new AugurError("CONFIG_INVALID", `${where}: Failed to parse watch: expected an object`);
  try {
    return parseWatchDefinition(raw as Record<string, unknown>);
  } catch (err) {
    throw new AugurError(
      "CONFIG_INVALID",
      `${where}: Failed to parse watch: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
}

function httpAddresses(m: Merged, flags: AgentFlags): ListenAddress[] {
  const ports = m.get<Raw>("ports", "object");
  const portRaw = ports?.value["http"];
  if (portRaw !== undefined && typeof portRaw !== "number")
    throw fail(ports?.file ?? "", "ports.http", "a number", portRaw);
  // Listeners augur does not open (yet): said once, not silently ignored.
  for (const key of Object.keys(ports?.value ?? {})) {
    if (key === "http" || key === "https" || key === "dns") continue;
    const why = PORT_NOTES[key] ?? "augur has no such listener";
    m.notices.push(`${ports?.file ?? ""}: "ports.${key}" is not used: ${why}`);
  }
  const port = flags.httpPort ?? (portRaw as number | undefined) ?? 8500;
  if (port < 0) return [];
  return listenAddresses(listenHosts(m, "http", flags.client), port);
}

/** `ports.https` / `-https-port` on `addresses.https`, else the client address (Consul's fallback). */
function httpsListener(m: Merged, flags: AgentFlags): { https?: HttpsConfig } {
  const hosts = listenHosts(m, "https", flags.client);
  const ports = m.get<Raw>("ports", "object");
  const portRaw = ports?.value["https"];
  if (portRaw !== undefined && typeof portRaw !== "number")
    throw fail(ports?.file ?? "", "ports.https", "a number", portRaw);
  const https = httpsConfig(m, flags.httpsPort ?? (portRaw as number | undefined), hosts);
  return https ? { https } : {};
}

/** Why a Consul listener's port has no effect in augur. */
const PORT_NOTES: Record<string, string> = {
  grpc: "augur has no gRPC API (Consul's is for Envoy and the mesh)",
  grpc_tls: "augur has no gRPC API (Consul's is for Envoy and the mesh)",
  serf_lan: "augur has no gossip: agents share their catalog through etcd",
  serf_wan: "augur has no gossip: agents share their catalog through etcd",
  server: "augur has no server RPC: etcd's members are the servers",
  sidecar_min_port: "augur has no service mesh",
  sidecar_max_port: "augur has no service mesh",
  expose_min_port: "augur has no service mesh",
  expose_max_port: "augur has no service mesh",
};

const LIMITS_KEYS = new Set(["http_max_conns_per_client"]);
const HTTP_CONFIG_KEYS = new Set(["read_timeout", "read_header_timeout", "response_headers"]);

/**
 * `limits { http_max_conns_per_client }` and `http_config { read_timeout read_header_timeout }`
 * (Consul's keys); the other keys of both blocks are Consul features augur does not have.
 */
function httpLimits(m: Merged): HttpLimitsConfig {
  const limits = m.get<Raw>("limits", "object");
  const httpConfig = m.get<Raw>("http_config", "object");
  for (const [block, known, name] of [
    [limits, LIMITS_KEYS, "limits"],
    [httpConfig, HTTP_CONFIG_KEYS, "http_config"],
  ] as const) {
    for (const k of Object.keys(block?.value ?? {}))
      if (!known.has(k))
        m.notices.push(
          `${block?.file ?? ""}: "${name}.${k}" is a Consul feature augur does not have; ignored`,
        );
  }
  const out: { -readonly [K in keyof HttpLimitsConfig]: HttpLimitsConfig[K] } = {};
  const conns = limits?.value["http_max_conns_per_client"];
  if (conns !== undefined) {
    if (typeof conns !== "number" || !Number.isInteger(conns) || conns < 0)
      throw fail(
        limits?.file ?? "",
        "limits.http_max_conns_per_client",
        "a non-negative integer",
        conns,
      );
    out.maxConnsPerClient = conns;
  }
  const timeout = (key: string): number | undefined => {
    const v = httpConfig?.value[key];
    if (v === undefined) return undefined;
    const ms = typeof v === "string" ? parseGoDuration(v) : undefined;
    if (ms === undefined || ms < 0)
      throw fail(httpConfig?.file ?? "", `http_config.${key}`, 'a duration such as "30s"', v);
    return ms;
  };
  const readTimeoutMs = timeout("read_timeout");
  const readHeaderTimeoutMs = timeout("read_header_timeout");
  if (readTimeoutMs !== undefined) out.readTimeoutMs = readTimeoutMs;
  if (readHeaderTimeoutMs !== undefined) out.readHeaderTimeoutMs = readHeaderTimeoutMs;
  const headers = httpConfig?.value["response_headers"];
  if (headers !== undefined) {
    const file = httpConfig?.file ?? "";
    if (typeof headers !== "object" || headers === null || Array.isArray(headers))
      throw fail(
        file,
        "http_config.response_headers",
        "an object of header names to values",
        headers,
      );
    const out_: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers as Raw)) {
      // Checked here: node would refuse a bad name or value on every response, at run time.
      if (!HEADER_NAME.test(name))
        throw fail(file, `http_config.response_headers`, "valid HTTP header names", name);
      if (typeof value !== "string" || /[\r\n\0]/.test(value))
        throw fail(
          file,
          `http_config.response_headers.${name}`,
          "a string without line breaks",
          value,
        );
      out_[name] = value;
    }
    out.responseHeaders = out_;
  }
  return out;
}

/**
 * `default_query_time` (Consul: 300s) and `max_query_time` (600s): how long a blocking query
 * waits without `?wait`, and the most it may ask for. Positive durations.
 */
function queryTimes(m: Merged): { queryTimes?: { defaultMs: number; maxMs: number } } {
  const read = (key: string, fallback: number): number => {
    const entry = m.get<string>(key, "string");
    if (entry === undefined) return fallback;
    const ms = parseGoDuration(entry.value);
    if (ms === undefined || ms <= 0)
      throw fail(entry.file, key, 'a positive duration such as "300s"', entry.value);
    return ms;
  };
  const defaultMs = read("default_query_time", 300_000);
  const maxMs = read("max_query_time", 600_000);
  if (defaultMs === 300_000 && maxMs === 600_000) return {};
  return { queryTimes: { defaultMs, maxMs } };
}

/**
 * `node_meta { key = "value" }` and `-node-meta key:value` (the flags win), checked as Consul's
 * structs.ValidateMetadata checks them: at most 64 pairs, keys of letters, digits, `_` and `-`
 * up to 128 characters and not starting with `consul-`, values up to 512 characters.
 */
function nodeMeta(m: Merged, flagPairs: readonly string[]): { nodeMeta?: Record<string, string> } {
  const entry = m.get<Raw>("node_meta", "object");
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(entry?.value ?? {})) {
    if (typeof v !== "string") throw fail(entry?.file ?? "", `node_meta.${k}`, "a string", v);
    out[k] = v;
  }
  for (const pair of flagPairs) {
    const colon = pair.indexOf(":");
    // Consul's parseMetaPair: "key:value", or "key" alone for an empty value.
    if (colon < 0) out[pair] = "";
    else out[pair.slice(0, colon)] = pair.slice(colon + 1);
  }
  const keys = Object.keys(out);
  if (keys.length === 0) return {};
  const bad = (why: string): AugurError =>
    new AugurError("CONFIG_INVALID", `Failed to parse node metadata: ${why}`);
  if (keys.length > 64) throw bad("Node metadata cannot contain more than 64 key/value pairs");
  for (const k of keys) {
    if (k === "") throw bad("Key cannot be blank");
    if (!/^[a-zA-Z0-9_-]+$/.test(k))
      throw bad(`Key contains invalid characters: ${JSON.stringify(k)}`);
    if (k.length > 128) throw bad(`Key is too long (limit: 128 characters): ${JSON.stringify(k)}`);
    if (k.startsWith("consul-"))
      throw bad(`Key prefix 'consul-' is reserved for internal use: ${JSON.stringify(k)}`);
    if ((out[k] as string).length > 512)
      throw bad(`Value is too long (limit: 512 characters) for key ${JSON.stringify(k)}`);
  }
  return { nodeMeta: out };
}

/** `check_output_max_size`: a positive number of bytes. */
function checkOutputMaxSize(m: Merged): { checkOutputMaxSize?: number } {
  const entry = m.get<number>("check_output_max_size", "number");
  if (entry === undefined) return {};
  if (!Number.isInteger(entry.value) || entry.value < 1)
    throw fail(entry.file, "check_output_max_size", "a positive integer", entry.value);
  return { checkOutputMaxSize: entry.value };
}

/** `tagged_addresses { name = "address" }`: strings only. */
function taggedAddresses(m: Merged): { taggedAddresses?: Record<string, string> } {
  const entry = m.get<Raw>("tagged_addresses", "object");
  if (!entry) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(entry.value)) {
    if (typeof v !== "string") throw fail(entry.file, `tagged_addresses.${k}`, "a string", v);
    out[k] = v;
  }
  return { taggedAddresses: out };
}

/** `session_ttl_min`: a positive duration, no longer than the 24 h maximum TTL. */
function sessionTtlMin(m: Merged): { sessionTtlMinMs?: number } {
  const entry = m.get<string>("session_ttl_min", "string");
  if (entry === undefined) return {};
  const ms = parseGoDuration(entry.value);
  if (ms === undefined || ms <= 0 || ms > 24 * 3600_000)
    throw fail(
      entry.file,
      "session_ttl_min",
      'a duration between 0s and 24h such as "10s"',
      entry.value,
    );
  return { sessionTtlMinMs: ms };
}

/** An HTTP header name: an RFC 9110 token. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function flagDuration(flag: string, raw: string): number {
  const ms = parseGoDuration(raw);
  if (ms === undefined)
    throw new AugurError("CONFIG_INVALID", `invalid value "${raw}" for flag -${flag}: parse error`);
  return ms;
}

/** Join addresses are other agents' HTTP API addresses; Consul's cloud auto-join is not available. */
function joinAddresses(key: string, list: string[]): string[] {
  for (const a of list)
    if (/(^|\s)provider=/.test(a))
      throw new AugurError(
        "CONFIG_INVALID",
        `${key}: cloud auto-join ("${a}") is not supported; give another augur agent's HTTP address`,
      );
  return list;
}

function etcdTlsConfig(m: Merged): EtcdConfig["tls"] | undefined {
  const block = m.get<Raw>("etcd", "object");
  const tls = block?.value["tls"];
  if (tls === undefined) return undefined;
  if (typeof tls !== "object" || tls === null)
    throw fail(block?.file ?? "", "etcd.tls", "an object", tls);
  const t = tls as Raw;
  for (const k of ["ca_file", "cert_file", "key_file"])
    if (t[k] !== undefined && typeof t[k] !== "string")
      throw fail(block?.file ?? "", `etcd.tls.${k}`, "a string", t[k]);
  const out = {
    ...(t["ca_file"] ? { caFile: t["ca_file"] as string } : {}),
    ...(t["cert_file"] ? { certFile: t["cert_file"] as string } : {}),
    ...(t["key_file"] ? { keyFile: t["key_file"] as string } : {}),
  };
  return Object.keys(out).length > 0 ? out : undefined;
}

const BYTE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

/** A size: a number of bytes, or a string such as "64MiB" or "100MB". */
export function parseByteSize(raw: unknown): number | undefined {
  if (typeof raw === "number") return Number.isSafeInteger(raw) && raw >= 0 ? raw : undefined;
  if (typeof raw !== "string") return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(raw);
  const unit = m ? BYTE_UNITS[(m[2] ?? "").toLowerCase()] : undefined;
  return m && unit !== undefined ? Math.round(Number(m[1]) * unit) : undefined;
}

/**
 * `store { history_max_revisions = 10000, history_max_bytes = "64MiB" }`: how much change history
 * the embedded store keeps for watches to resume from (augur's own block; etcd keeps its own).
 */
function storeHistory(m: Merged): RuntimeConfig["storeHistory"] {
  const block = m.get<Raw>("store", "object");
  if (!block) return undefined;
  const file = block.file;
  const revisions = block.value["history_max_revisions"];
  const bytes = block.value["history_max_bytes"];
  for (const k of Object.keys(block.value))
    if (k !== "history_max_revisions" && k !== "history_max_bytes")
      m.notices.push(`${file}: unknown config key "store.${k}" ignored`);
  if (
    revisions !== undefined &&
    (typeof revisions !== "number" || !Number.isInteger(revisions) || revisions < 1)
  )
    throw fail(file, "store.history_max_revisions", "a positive integer", revisions);
  const maxBytes = bytes === undefined ? undefined : parseByteSize(bytes);
  if (bytes !== undefined && (maxBytes === undefined || maxBytes < 1024 * 1024))
    throw fail(file, "store.history_max_bytes", 'a size of at least 1MiB such as "64MiB"', bytes);
  return {
    ...(typeof revisions === "number" ? { maxRevisions: revisions } : {}),
    ...(maxBytes !== undefined ? { maxBytes } : {}),
  };
}

/**
 * `ui_config { enabled, dir, content_path }` (and Consul's older top-level `ui`, `ui_dir`,
 * `ui_content_path`), with `-ui`, `-ui-dir` and `-ui-content-path` winning. `-dev` turns the UI on,
 * as Consul's dev defaults do. A content path is trimmed of slashes and wrapped in one on each side
 * (Consul's UIPathBuilder); one under `/v1/` would hide the API, so it is refused.
 */
function uiConfig(m: Merged, flags: AgentFlags): UiConfig | undefined {
  const block = m.get<Raw>("ui_config", "object");
  const file = block?.file ?? "config";
  const inBlock = <T>(key: string, kind: "string" | "boolean"): T | undefined => {
    const v = block?.value[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== kind) throw fail(file, `ui_config.${key}`, `a ${kind}`, v);
    return v as T;
  };
  for (const k of Object.keys(block?.value ?? {}))
    if (!["enabled", "dir", "content_path"].includes(k))
      m.notices.push(`${file}: "ui_config.${k}" is a Consul feature augur does not have; ignored`);
  const dir =
    flags.uiDir ?? inBlock<string>("dir", "string") ?? m.get<string>("ui_dir", "string")?.value;
  const enabledSetting =
    flags.ui ?? inBlock<boolean>("enabled", "boolean") ?? m.get<boolean>("ui", "boolean")?.value;
  if (dir && enabledSetting === true)
    throw new AugurError(
      "CONFIG_INVALID",
      "Both the ui_config.enabled and ui_config.dir (or -ui and -ui-dir) were specified, please provide only one.\n" +
        "If trying to use your own web UI resources, use ui_config.dir or the -ui-dir flag.\n" +
        "The web UI is included in the binary so use ui_config.enabled or the -ui flag to enable it",
    );
  const enabled = Boolean(dir) || (enabledSetting ?? flags.dev);
  const rawPath =
    flags.uiContentPath ??
    inBlock<string>("content_path", "string") ??
    m.get<string>("ui_content_path", "string")?.value ??
    "";
  const trimmed = rawPath.replace(/^\/+|\/+$/g, "");
  const contentPath = trimmed === "" ? "/ui/" : `/${trimmed}/`;
  // The path becomes a route: `:` and `*` would be the router's parameter syntax.
  if (!/^[A-Za-z0-9._~\/-]+$/.test(contentPath))
    throw new AugurError(
      "CONFIG_INVALID",
      `${file}: ui_config.content_path: ${JSON.stringify(rawPath)} may only hold letters, digits, ".", "_", "~", "-" and "/"`,
    );
  if (contentPath === "/v1/" || contentPath.startsWith("/v1/"))
    throw new AugurError(
      "CONFIG_INVALID",
      `${file}: ui_config.content_path: ${contentPath} would hide the HTTP API under /v1/`,
    );
  if (!enabled && contentPath === "/ui/" && !dir) return undefined;
  return { enabled, contentPath, ...(dir ? { dir } : {}) };
}

/** `etcd.liveness_ttl` in whole seconds (also used with endpoints learned by joining). */
function etcdLivenessTtl(m: Merged): number | undefined {
  const block = m.get<Raw>("etcd", "object");
  const ttl = block?.value["liveness_ttl"];
  if (ttl === undefined) return undefined;
  const file = block?.file ?? "";
  const ms = typeof ttl === "string" ? parseGoDuration(ttl) : undefined;
  if (ms === undefined) throw fail(file, "etcd.liveness_ttl", 'a duration such as "4s"', ttl);
  // etcd leases count whole seconds and refuse very short ones (about 1.5 election timeouts).
  if (ms < 2000 || ms > 3600_000)
    throw new AugurError(
      "CONFIG_INVALID",
      `${file}: etcd.liveness_ttl must be between 2s and 1h, got "${ttl}"`,
    );
  return Math.ceil(ms / 1000);
}

function etcdConfig(m: Merged, flags: AgentFlags): EtcdConfig | undefined {
  const block = m.get<Raw>("etcd", "object");
  const raw = block?.value ?? {};
  const file = block?.file ?? "";
  const endpoints = raw["endpoints"];
  if (
    endpoints !== undefined &&
    (!Array.isArray(endpoints) || endpoints.some((e) => typeof e !== "string"))
  )
    throw fail(file, "etcd.endpoints", "a list of URLs", endpoints);
  const list = flags.etcd ?? (endpoints as string[] | undefined) ?? [];
  if (list.length === 0) return undefined;
  const prefix = flags.etcdPrefix ?? raw["prefix"] ?? "augur/";
  if (typeof prefix !== "string") throw fail(file, "etcd.prefix", "a string", prefix);
  const tls = etcdTlsConfig(m);
  const livenessTtlSeconds = etcdLivenessTtl(m);
  return {
    endpoints: list,
    prefix,
    ...(tls ? { tls } : {}),
    ...(livenessTtlSeconds !== undefined ? { livenessTtlSeconds } : {}),
  };
}

/** The first private IPv4 address, as Consul picks its advertise address; loopback if none. */
function privateAddress(): string {
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  return "127.0.0.1";
}

/** Consul keeps the node id in `<data_dir>/node-id` so it survives restarts. */
async function persistentNodeId(dataDir: string | undefined): Promise<string> {
  if (!dataDir) return randomUUID();
  const file = join(dataDir, "node-id");
  try {
    const id = (await readFile(file, "utf8")).trim();
    if (/^[0-9a-f-]{36}$/.test(id)) return id;
  } catch {
    // first start
  }
  const id = randomUUID();
  await mkdir(dataDir, { recursive: true });
  await writeFile(file, id);
  return id;
}

/**
 * `acl { enabled, default_policy, down_policy, enable_token_persistence, tokens { ... } }`, and the
 * pre-1.4 top-level spellings existing files carry (`acl_datacenter` turned ACLs on then;
 * `acl_master_token`, `acl_token`, `acl_agent_token`, `acl_default_policy`, `acl_down_policy`).
 * The block wins over the old keys.
 */
function aclConfig(m: Merged): AclConfig | undefined {
  const block = m.get<Record<string, unknown>>("acl", "object");
  const raw = block?.value ?? {};
  const file = block?.file ?? "config";
  const old = (k: string): unknown => m.values.get(k)?.value;
  const text = (value: unknown, path: string): string | undefined => {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "string") throw fail(file, path, "a string", value);
    return value;
  };
  const tokens = (raw["tokens"] ?? {}) as Record<string, unknown>;
  if (typeof tokens !== "object" || Array.isArray(tokens))
    throw fail(file, "acl.tokens", "an object", tokens);
  const enabledRaw = raw["enabled"];
  if (enabledRaw !== undefined && typeof enabledRaw !== "boolean")
    throw fail(file, "acl.enabled", "a boolean", enabledRaw);
  const enabled =
    enabledRaw ?? (typeof old("acl_datacenter") === "string" && old("acl_datacenter") !== "");
  if (!enabled) return undefined;
  const policy =
    text(raw["default_policy"], "acl.default_policy") ??
    text(old("acl_default_policy"), "acl_default_policy") ??
    "allow";
  if (policy !== "allow" && policy !== "deny")
    throw new AugurError(
      "CONFIG_INVALID",
      `${file}: acl.default_policy must be "allow" or "deny", got ${JSON.stringify(policy)}`,
    );
  const down =
    text(raw["down_policy"], "acl.down_policy") ??
    text(old("acl_down_policy"), "acl_down_policy") ??
    "extend-cache";
  if (!["allow", "deny", "extend-cache", "async-cache"].includes(down))
    throw new AugurError(
      "CONFIG_INVALID",
      `${file}: acl.down_policy must be one of allow, deny, extend-cache, async-cache, got ${JSON.stringify(down)}`,
    );
  const persistence = raw["enable_token_persistence"];
  if (persistence !== undefined && typeof persistence !== "boolean")
    throw fail(file, "acl.enable_token_persistence", "a boolean", persistence);
  const management =
    text(tokens["initial_management"], "acl.tokens.initial_management") ??
    text(tokens["master"], "acl.tokens.master") ??
    text(old("acl_master_token"), "acl_master_token");
  const agent =
    text(tokens["agent"], "acl.tokens.agent") ?? text(old("acl_agent_token"), "acl_agent_token");
  const dflt = text(tokens["default"], "acl.tokens.default") ?? text(old("acl_token"), "acl_token");
  return {
    enabled: true,
    defaultPolicy: policy,
    downPolicy: down,
    enableTokenPersistence: persistence === true,
    ...(management ? { initialManagement: management } : {}),
    ...(agent ? { agentToken: agent } : {}),
    ...(dflt ? { defaultToken: dflt } : {}),
  };
}
