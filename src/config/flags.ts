/**
 * `augur agent` flags: the specs (`augur agent -h` lists them, the CLI parses with them) and
 * their conversion into {@link AgentFlags}. Parsed Go style by `lib/go-flags.ts`, as Consul's
 * agent flags are: `-flag value`, `-flag=value`, `--flag`; `-config-file`, `-config-dir`, `-join`
 * and `-retry-join` repeat.
 *
 * @module
 */
import { AugurError } from "../lib/errors.js";
import { parseFlags, type FlagSpec, type ParsedFlags } from "../lib/go-flags.js";

export interface AgentFlags {
  readonly dev: boolean;
  /** `-server`: present as a Consul server (`-dev` always does). */
  readonly server?: boolean;
  readonly configFiles: string[];
  readonly configDirs: string[];
  readonly node?: string;
  readonly nodeId?: string;
  readonly datacenter?: string;
  readonly dataDir?: string;
  readonly pidFile?: string;
  /** `-node-meta key:value`, repeatable, in order. */
  readonly nodeMeta: string[];
  readonly client?: string;
  readonly bind?: string;
  readonly advertise?: string;
  readonly httpPort?: number;
  /** `-https-port`: the HTTPS API port (off unless given; needs tls cert_file and key_file). */
  readonly httpsPort?: number;
  /** `-dns-port`: the DNS port; -1 disables it; 0 picks a free one. */
  readonly dnsPort?: number;
  /** `-domain`: the DNS domain (default `consul.`). */
  readonly domain?: string;
  /** `-recursor`, repeatable: upstream DNS servers for names outside the domain. */
  readonly recursor: string[];
  readonly enableScriptChecks?: boolean;
  readonly enableLocalScriptChecks?: boolean;
  readonly logLevel?: string;
  readonly logJson?: boolean;
  readonly etcd?: string[];
  readonly etcdPrefix?: string;
  /** `-join` (Consul's start_join): agents to learn the etcd endpoints from, tried once. */
  readonly join: string[];
  readonly retryJoin: string[];
  readonly retryInterval?: string;
  readonly retryMax?: number;
  /** `-ui`, `-ui-dir`, `-ui-content-path`: the web UI (`ui_config`). */
  readonly ui?: boolean;
  readonly uiDir?: string;
  readonly uiContentPath?: string;
  /** Consul flags augur accepts and ignores (with a notice). */
  readonly ignored: string[];
}

const str = (name: string, placeholder: string, help: string): FlagSpec => ({
  name,
  kind: "string",
  placeholder,
  help,
});
const list = (name: string, placeholder: string, help: string): FlagSpec => ({
  name,
  kind: "list",
  placeholder,
  help,
});
const bool = (name: string, help: string): FlagSpec => ({ name, kind: "bool", help });

/**
 * Consul agent flags augur accepts and ignores with a notice: etcd's members are augur's
 * servers, and augur has no gossip or RPC ports. Valued ones are taken as strings,
 * whatever their Go type, since augur never reads them.
 */
const IGNORED_BOOL = ["bootstrap"];
const IGNORED_VALUED = [
  "bootstrap-expect",
  "encrypt",
  "grpc-port",
  "serf-lan-port",
  "serf-wan-port",
  "server-port",
];

/** Every flag `augur agent` takes, in the order `augur agent -h` lists them. */
export const AGENT_FLAGS: readonly FlagSpec[] = [
  str(
    "advertise",
    "addr",
    "The address this node gives other nodes and the catalog (the node's Address).",
  ),
  str(
    "bind",
    "addr",
    "The address to bind to; also the advertise address unless -advertise is given.",
  ),
  str("client", "addrs", "Space-separated addresses the HTTP API listens on. Default 127.0.0.1."),
  list(
    "config-dir",
    "dir",
    "A directory of .json/.hcl config files, loaded in name order. Can be given multiple times.",
  ),
  list(
    "config-file",
    "path",
    "A JSON or HCL config file (or a directory). Can be given multiple times.",
  ),
  str(
    "data-dir",
    "dir",
    "Where the catalog, API-registered services and checks, and the watch outbox are kept. Required unless -dev.",
  ),
  {
    name: "dns-port",
    kind: "int",
    placeholder: "port",
    help: "The DNS port (UDP and TCP); -1 disables it. Default 8600.",
  },
  str("domain", "domain", "The DNS domain augur answers for. Default consul."),
  str("datacenter", "dc", "The datacenter this agent answers for. Default dc1."),
  list(
    "node-meta",
    "key:value",
    "Metadata for this node, as key:value. Can be given multiple times.",
  ),
  str("pid-file", "path", "Write the agent's PID to this file at start; it is removed at stop."),
  bool("dev", "Development mode: an in-memory store on 127.0.0.1; nothing is persisted."),
  bool(
    "server",
    "Present as a Consul server: Config.Server, the consul service, Stats.consul, the WAN member list. -dev implies it.",
  ),
  bool("enable-local-script-checks", "Allow script checks from config files only."),
  bool("enable-script-checks", "Allow script checks from any source, the HTTP API included."),
  str(
    "etcd",
    "endpoints",
    "Cluster mode: comma-separated etcd endpoints that hold the shared catalog.",
  ),
  str("etcd-prefix", "prefix", "The key prefix in etcd. Default augur/."),
  {
    name: "http-port",
    kind: "int",
    placeholder: "port",
    help: "The HTTP API port; -1 disables it. Default 8500.",
  },
  {
    name: "https-port",
    kind: "int",
    placeholder: "port",
    help: "The HTTPS API port; -1 (the default) disables it. Needs cert_file and key_file.",
  },
  list(
    "join",
    "addr",
    "An agent to learn the etcd endpoints from at start. Can be given multiple times.",
  ),
  bool("log-json", "Log JSON lines instead of text."),
  str("log-level", "level", "trace, debug, info, warn or error. Default info."),
  str("node", "name", "This node's name. Default the host name."),
  list(
    "recursor",
    "addr",
    "An upstream DNS server for names outside the domain. Can be given multiple times.",
  ),
  str("node-id", "uuid", "This node's UUID. Default random, kept in the data dir."),
  str("retry-interval", "duration", "The pause between -retry-join rounds. Default 30s."),
  list(
    "retry-join",
    "addr",
    "Like -join, retried until an agent answers. Can be given multiple times.",
  ),
  {
    name: "retry-max",
    kind: "int",
    placeholder: "n",
    help: "Give up -retry-join after this many rounds; 0 retries forever.",
  },
  bool("ui", "Serve the web UI at /ui/ (on with -dev)."),
  str("ui-content-path", "path", "The URL path the web UI is served under. Default /ui/."),
  str("ui-dir", "dir", "Serve the web UI from this directory instead of the built-in one."),
  ...IGNORED_BOOL.map((name): FlagSpec => ({ name, kind: "bool", help: "", hidden: true })),
  ...IGNORED_VALUED.map((name): FlagSpec => ({ name, kind: "string", help: "", hidden: true })),
];

/** An integer flag already checked by the parser, held to `[min, max]`. */
function intIn(flags: ParsedFlags, name: string, min: number, max: number): number | undefined {
  if (!flags.has(name)) return undefined;
  const raw = flags.string(name);
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw new AugurError("CONFIG_INVALID", `invalid value "${raw}" for flag -${name}: parse error`);
  return n;
}

/**
 * The agent's settings from its parsed flags. Throws CONFIG_INVALID for a port out of range, a
 * negative `-retry-max`, or arguments left after the flags (Consul's wording).
 */
export function agentFlagsFrom(flags: ParsedFlags, args: readonly string[]): AgentFlags {
  if (args.length > 0)
    throw new AugurError("CONFIG_INVALID", `config: Unknown extra arguments: [${args.join(" ")}]`);
  const text = (name: string): string | undefined =>
    flags.has(name) ? flags.string(name) : undefined;
  const flag = (name: string): boolean | undefined =>
    flags.has(name) ? flags.bool(name) : undefined;
  const out: Record<string, unknown> = {
    dev: flags.bool("dev"),
    server: flag("server"),
    configFiles: flags.list("config-file"),
    configDirs: flags.list("config-dir"),
    node: text("node"),
    nodeId: text("node-id"),
    datacenter: text("datacenter"),
    dataDir: text("data-dir"),
    pidFile: text("pid-file"),
    nodeMeta: flags.list("node-meta"),
    client: text("client"),
    bind: text("bind"),
    advertise: text("advertise"),
    httpPort: intIn(flags, "http-port", -1, 65535),
    httpsPort: intIn(flags, "https-port", -1, 65535),
    dnsPort: intIn(flags, "dns-port", -1, 65535),
    domain: text("domain"),
    recursor: flags.list("recursor"),
    enableScriptChecks: flag("enable-script-checks"),
    enableLocalScriptChecks: flag("enable-local-script-checks"),
    logLevel: text("log-level"),
    logJson: flag("log-json"),
    etcd: text("etcd")
      ?.split(",")
      .map((s) => s.trim())
      .filter(Boolean),
    etcdPrefix: text("etcd-prefix"),
    join: flags.list("join"),
    retryJoin: flags.list("retry-join"),
    retryInterval: text("retry-interval"),
    retryMax: intIn(flags, "retry-max", 0, Number.MAX_SAFE_INTEGER),
    ui: flag("ui"),
    uiDir: text("ui-dir"),
    uiContentPath: text("ui-content-path"),
    ignored: [...IGNORED_BOOL, ...IGNORED_VALUED].filter((f) => flags.has(f)),
  };
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out as unknown as AgentFlags;
}

/** Parses `augur agent`'s arguments; throws CONFIG_INVALID with Go's flag-package wording. */
export function parseAgentFlags(argv: readonly string[]): AgentFlags {
  const { flags, args } = parseFlags(argv, AGENT_FLAGS);
  return agentFlagsFrom(flags, args);
}
