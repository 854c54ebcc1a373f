/**
 * `augur agent` flags, Go style as Consul's: `-flag value`, `-flag=value`, `--flag` too;
 * `-config-file` and `-config-dir` repeat. Parsed with commander after turning single-dash long
 * flags into double-dash ones.
 *
 * @module
 */
import { Command, CommanderError } from "commander";
import { AugurError } from "../lib/errors.js";

export interface AgentFlags {
  readonly dev: boolean;
  readonly configFiles: string[];
  readonly configDirs: string[];
  readonly node?: string;
  readonly nodeId?: string;
  readonly datacenter?: string;
  readonly dataDir?: string;
  readonly client?: string;
  readonly bind?: string;
  readonly advertise?: string;
  readonly httpPort?: number;
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
  /** Consul flags augur accepts and ignores (with a notice). */
  readonly ignored: string[];
}

/** `-http-addr=x` → `--http-addr=x`; leaves `--x`, `-` and plain arguments alone. */
export function goStyleArgs(argv: readonly string[]): string[] {
  return argv.map((a) => (/^-[A-Za-z][\w-]*(=.*)?$/s.test(a) && a.length > 2 ? `-${a}` : a));
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

function nonNegativeInt(raw: string, flag: string): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n)) throw new AugurError("CONFIG_INVALID", `invalid value "${raw}" for flag -${flag}: parse error`);
  return n;
}
const IGNORED_FLAGS = ["server", "bootstrap", "ui", "bootstrap-expect", "encrypt", "domain", "grpc-port", "dns-port", "serf-lan-port", "serf-wan-port", "server-port", "recursor", "ui-dir"];

export function parseAgentFlags(argv: readonly string[]): AgentFlags {
  const cmd = new Command("agent")
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, writeOut: () => undefined })
    .allowExcessArguments(false)
    .option("--dev", "development mode: in-memory store, 127.0.0.1")
    .option("--config-file <path>", "a JSON or HCL config file (repeatable)", collect, [])
    .option("--config-dir <dir>", "a directory of .json/.hcl files (repeatable)", collect, [])
    .option("--node <name>")
    .option("--node-id <uuid>")
    .option("--datacenter <dc>")
    .option("--data-dir <dir>")
    .option("--client <addrs>")
    .option("--bind <addr>")
    .option("--advertise <addr>")
    .option("--http-port <port>")
    .option("--enable-script-checks [bool]")
    .option("--enable-local-script-checks [bool]")
    .option("--log-level <level>")
    .option("--log-json [bool]")
    .option("--etcd <endpoints>", "etcd endpoints, comma separated (cluster mode)")
    .option("--etcd-prefix <prefix>")
    .option("--join <addr>", "", collect, [])
    .option("--retry-join <addr>", "", collect, [])
    .option("--retry-interval <duration>")
    .option("--retry-max <n>");
  for (const f of IGNORED_FLAGS) cmd.option(`--${f} [value]`);
  try {
    cmd.parse(goStyleArgs(argv), { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) throw new AugurError("CONFIG_INVALID", err.message.replace(/^error: /, ""));
    throw err;
  }
  const o = cmd.opts<Record<string, unknown>>();
  const bool = (v: unknown): boolean | undefined => (v === undefined ? undefined : v === true || v === "true" || v === "1");
  const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
  let httpPort: number | undefined;
  if (o["httpPort"] !== undefined) {
    httpPort = Number(o["httpPort"]);
    if (!Number.isInteger(httpPort) || httpPort < -1 || httpPort > 65535) throw new AugurError("CONFIG_INVALID", `invalid value "${String(o["httpPort"])}" for flag -http-port: parse error`);
  }
  const flags: Record<string, unknown> = {
    dev: o["dev"] === true,
    configFiles: o["configFile"] as string[],
    configDirs: o["configDir"] as string[],
    node: str(o["node"]),
    nodeId: str(o["nodeId"]),
    datacenter: str(o["datacenter"]),
    dataDir: str(o["dataDir"]),
    client: str(o["client"]),
    bind: str(o["bind"]),
    advertise: str(o["advertise"]),
    httpPort,
    enableScriptChecks: bool(o["enableScriptChecks"]),
    enableLocalScriptChecks: bool(o["enableLocalScriptChecks"]),
    logLevel: str(o["logLevel"]),
    logJson: bool(o["logJson"]),
    etcd: str(o["etcd"])?.split(",").map((s) => s.trim()).filter(Boolean),
    etcdPrefix: str(o["etcdPrefix"]),
    join: o["join"] as string[],
    retryJoin: o["retryJoin"] as string[],
    retryInterval: str(o["retryInterval"]),
    retryMax: o["retryMax"] === undefined ? undefined : nonNegativeInt(String(o["retryMax"]), "retry-max"),
    ignored: IGNORED_FLAGS.filter((f) => o[f.replace(/-(\w)/g, (_m, c: string) => c.toUpperCase())] !== undefined),
  };
  for (const k of Object.keys(flags)) if (flags[k] === undefined) delete flags[k];
  return flags as unknown as AgentFlags;
}
