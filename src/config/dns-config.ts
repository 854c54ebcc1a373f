/**
 * Consul's DNS settings: `ports.dns` / `-dns-port` (8600, -1 disables), `addresses.dns` (else
 * `client_addr` / `-client`), `domain` / `-domain`, `alt_domain`, `recursors` / `-recursor`, and
 * the `dns_config` block. Defaults are Consul's (agent/config/default.go).
 *
 * @module
 */
import { isIP } from "node:net";
import { configFail, listenAddresses, listenHosts } from "./listeners.js";
import { parseGoDuration } from "../lib/duration.js";
import { AugurError } from "../lib/errors.js";

/** The DNS interface's settings; `addresses` empty means no DNS listener. */
export interface DnsConfig {
  readonly addresses: readonly { host: string; port: number }[];
  /** Lower case, ending in a dot (`consul.`). */
  readonly domain: string;
  /** Lower case, ending in a dot; absent when not set. */
  readonly altDomain?: string;
  /** `host:port` of each recursor, tried in order. */
  readonly recursors: readonly { host: string; port: number }[];
  readonly recursorTimeoutMs: number;
  readonly allowStale: boolean;
  readonly maxStaleMs: number;
  readonly nodeTtlSeconds: number;
  /** `service_ttl`: exact names, and prefixes (a key ending in `*`, `*` itself for every service). */
  readonly serviceTtlSeconds: Readonly<Record<string, number>>;
  readonly udpAnswerLimit: number;
  readonly aRecordLimit: number;
  readonly enableTruncate: boolean;
  readonly onlyPassing: boolean;
  /** `enable_additional_node_meta_txt`: node meta as TXT in the additional section (default true). */
  readonly nodeMetaTxt: boolean;
  readonly soa: {
    readonly refresh: number;
    readonly retry: number;
    readonly expire: number;
    readonly minTtl: number;
  };
}

/** The part of the merged configuration this module reads (load.ts's Merged). */
export interface DnsConfigSource {
  readonly notices: string[];
  get<T>(
    key: string,
    kind: "string" | "boolean" | "number" | "object" | "strings",
  ): { value: T; file: string } | undefined;
}

export interface DnsFlags {
  readonly dnsPort?: number;
  readonly domain?: string;
  readonly recursor: readonly string[];
  readonly client?: string;
}

type Raw = Record<string, unknown>;

const DNS_CONFIG_KEYS = new Set([
  "allow_stale",
  "max_stale",
  "node_ttl",
  "service_ttl",
  "udp_answer_limit",
  "a_record_limit",
  "enable_truncate",
  "only_passing",
  "recursor_timeout",
  "enable_additional_node_meta_txt",
  "soa",
]);

const fail = configFail;

function fqdn(name: string): string {
  const lower = name.toLowerCase().replace(/^\.+/, "");
  return lower.endsWith(".") ? lower : `${lower}.`;
}

/** Consul's recursorAddr: port 53 when none is given; IPv6 with a port in brackets. */
export function recursorAddress(raw: string): { host: string; port: number } {
  const bad = (): AugurError =>
    new AugurError("CONFIG_INVALID", `Invalid recursor address: ${JSON.stringify(raw)}`);
  if (isIP(raw)) return { host: raw, port: 53 };
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(raw) ?? /^([^:]+):(\d+)$/.exec(raw);
  if (m && m[1] !== undefined && m[2] !== undefined) {
    const port = Number(m[2]);
    if (!isIP(m[1]) || port < 1 || port > 65535) throw bad();
    return { host: m[1], port };
  }
  throw bad();
}

/** The DNS settings from the merged files and flags (see the module comment). */
export function dnsConfig(m: DnsConfigSource, flags: DnsFlags): DnsConfig {
  const ports = m.get<Raw>("ports", "object");
  const portRaw = ports?.value["dns"];
  if (portRaw !== undefined && (typeof portRaw !== "number" || !Number.isInteger(portRaw)))
    throw fail(ports?.file ?? "", "ports.dns", "a number", portRaw);
  const port = flags.dnsPort ?? (portRaw as number | undefined) ?? 8600;
  const hosts = listenHosts(m, "dns", flags.client);
  const block = m.get<Raw>("dns_config", "object");
  const file = block?.file ?? "";
  const raw = block?.value ?? {};
  for (const k of Object.keys(raw))
    if (!DNS_CONFIG_KEYS.has(k))
      m.notices.push(`${file}: "dns_config.${k}" is a Consul feature augur does not have; ignored`);
  const bool = (key: string, def: boolean): boolean => {
    const v = raw[key];
    if (v === undefined) return def;
    if (typeof v !== "boolean") throw fail(file, `dns_config.${key}`, "a boolean", v);
    return v;
  };
  const int = (key: string, def: number): number => {
    const v = raw[key];
    if (v === undefined) return def;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0)
      throw fail(file, `dns_config.${key}`, "a non-negative integer", v);
    return v;
  };
  const durationMs = (v: unknown, path: string): number => {
    const ms = typeof v === "string" ? parseGoDuration(v) : undefined;
    if (ms === undefined || ms < 0) throw fail(file, path, 'a duration such as "10s"', v);
    return ms;
  };
  const duration = (key: string, defMs: number): number =>
    raw[key] === undefined ? defMs : durationMs(raw[key], `dns_config.${key}`);
  const serviceTtl: Record<string, number> = {};
  const ttlRaw = raw["service_ttl"];
  if (ttlRaw !== undefined) {
    if (typeof ttlRaw !== "object" || ttlRaw === null || Array.isArray(ttlRaw))
      throw fail(file, "dns_config.service_ttl", "an object of service names to durations", ttlRaw);
    for (const [name, v] of Object.entries(ttlRaw as Raw))
      serviceTtl[name] = Math.floor(durationMs(v, `dns_config.service_ttl.${name}`) / 1000);
  }
  const soaRaw = raw["soa"];
  if (soaRaw !== undefined && (typeof soaRaw !== "object" || soaRaw === null))
    throw fail(file, "dns_config.soa", "an object", soaRaw);
  const soaInt = (key: string, def: number): number => {
    const v = (soaRaw as Raw | undefined)?.[key];
    if (v === undefined) return def;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 0xffffffff)
      throw fail(file, `dns_config.soa.${key}`, "a non-negative integer", v);
    return v;
  };
  const recursors = [
    ...(m.get<string[]>("recursors", "strings")?.value ?? []),
    ...flags.recursor,
  ].map(recursorAddress);
  const domain = flags.domain ?? m.get<string>("domain", "string")?.value ?? "consul.";
  const alt = m.get<string>("alt_domain", "string")?.value;
  return {
    addresses: port < 0 ? [] : listenAddresses(hosts, port),
    domain: fqdn(domain),
    ...(alt ? { altDomain: fqdn(alt) } : {}),
    recursors,
    recursorTimeoutMs: duration("recursor_timeout", 2000),
    allowStale: bool("allow_stale", true),
    maxStaleMs: duration("max_stale", 10 * 365 * 24 * 3600 * 1000),
    nodeTtlSeconds: Math.floor(duration("node_ttl", 0) / 1000),
    serviceTtlSeconds: serviceTtl,
    udpAnswerLimit: int("udp_answer_limit", 3),
    aRecordLimit: int("a_record_limit", 0),
    enableTruncate: bool("enable_truncate", false),
    onlyPassing: bool("only_passing", false),
    nodeMetaTxt: bool("enable_additional_node_meta_txt", true),
    soa: {
      refresh: soaInt("refresh", 3600),
      retry: soaInt("retry", 600),
      expire: soaInt("expire", 86400),
      minTtl: soaInt("min_ttl", 0),
    },
  };
}
