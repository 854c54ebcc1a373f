/**
 * `augur services register|deregister FILE...`: services come from agent config files (JSON or
 * HCL, `service` or `services`), read as `augur agent -dev` would read them — Consul's
 * `services.ServicesFromFiles` — and go back over the API as registration bodies.
 *
 * @module
 */
import type { CheckDefinition, ServiceDefinition } from "../catalog/types.js";
import type { AgentServiceCheck, AgentServiceRegistration } from "../client/types.js";
import type { AgentFlags } from "../config/index.js";
import { formatGoDuration } from "../lib/duration.js";
import { DEFAULT_OUTPUT_MAX_SIZE } from "../catalog/types.js";

/**
 * Flags for loading config files without touching the disk beyond reading them: dev mode (no
 * data_dir needed) and a fixed node id (no `<data_dir>/node-id` written).
 */
export function readOnlyFlags(dev: boolean): AgentFlags {
  return {
    dev,
    configFiles: [],
    configDirs: [],
    join: [],
    retryJoin: [],
    nodeMeta: [],
    recursor: [],
    ignored: [],
    nodeId: "00000000-0000-0000-0000-000000000000",
  };
}

/** The service definitions in `files` (files or directories). Throws CONFIG_INVALID. */
export async function servicesFromFiles(
  files: readonly string[],
): Promise<readonly ServiceDefinition[]> {
  // Loaded lazily: only these commands need the config parser.
  const { loadConfig } = await import("../config/index.js");
  const { config } = await loadConfig({ flags: readOnlyFlags(true), files, dirs: [] });
  return config.services;
}

const duration = (ms: number | undefined): string | undefined =>
  ms ? formatGoDuration(ms) : undefined;

function dropUndefined<T extends object>(obj: T): T {
  for (const k of Object.keys(obj) as (keyof T)[]) if (obj[k] === undefined) delete obj[k];
  return obj;
}

/** A validated check back into the API's AgentServiceCheck shape. */
export function checkRegistration(def: CheckDefinition): AgentServiceCheck {
  return dropUndefined<AgentServiceCheck>({
    CheckID: def.id,
    Name: def.name,
    Notes: def.notes || undefined,
    Status: def.status,
    Args: def.args ? [...def.args] : undefined,
    Interval: duration(def.intervalMs),
    Timeout: duration(def.timeoutMs),
    TTL: duration(def.ttlMs),
    HTTP: def.http,
    Header: def.header,
    Method: def.method,
    Body: def.body,
    DisableRedirects: def.disableRedirects,
    TLSServerName: def.tlsServerName,
    TLSSkipVerify: def.tlsSkipVerify,
    TCP: def.tcp,
    TCPUseTLS: def.tcpUseTls,
    AliasNode: def.aliasNode,
    AliasService: def.aliasService,
    SuccessBeforePassing: def.successBeforePassing || undefined,
    FailuresBeforeWarning: def.failuresBeforeWarning || undefined,
    FailuresBeforeCritical: def.failuresBeforeCritical || undefined,
    DeregisterCriticalServiceAfter: duration(def.deregisterCriticalServiceAfterMs),
    OutputMaxSize: def.outputMaxSize !== DEFAULT_OUTPUT_MAX_SIZE ? def.outputMaxSize : undefined,
  });
}

/** A validated service back into the API's AgentServiceRegistration shape. */
export function serviceRegistration(def: ServiceDefinition): AgentServiceRegistration {
  return dropUndefined<AgentServiceRegistration>({
    ID: def.id,
    Name: def.name,
    Kind: def.kind,
    Tags: def.tags.length > 0 ? [...def.tags] : undefined,
    Address: def.address || undefined,
    Port: def.port || undefined,
    TaggedAddresses: def.taggedAddresses,
    Meta: Object.keys(def.meta).length > 0 ? { ...def.meta } : undefined,
    Weights: { ...def.weights },
    EnableTagOverride: def.enableTagOverride || undefined,
    Checks: def.checks.length > 0 ? def.checks.map(checkRegistration) : undefined,
  });
}
