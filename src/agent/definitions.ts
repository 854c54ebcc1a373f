/**
 * From a validated definition to the records the agent keeps and syncs: NodeService and
 * HealthCheck in Consul's shapes (agent/structs: ServiceDefinition.NodeService, CheckType).
 *
 * @module
 */
import { isIP } from "node:net";
import { formatGoDuration } from "../lib/duration.js";
import type {
  CheckDefinition,
  HealthCheck,
  HealthCheckDefinitionJson,
  NodeService,
  ServiceDefinition,
} from "../catalog/types.js";

export function nodeServiceFrom(def: ServiceDefinition): NodeService {
  const svc: NodeService = {
    ID: def.id,
    Service: def.name,
    Tags: [...def.tags],
    Address: def.address,
    Meta: { ...def.meta },
    Port: def.port,
    Weights: { ...def.weights },
    EnableTagOverride: def.enableTagOverride,
    Proxy: {},
    Connect: {},
    CreateIndex: 0,
    ModifyIndex: 0,
  };
  if (def.kind) svc.Kind = def.kind;
  const tagged = { ...(def.taggedAddresses ?? {}) };
  // Consul adds lan/wan IPv4 (or IPv6) tagged addresses for a literal IP service address.
  const family = isIP(def.address);
  if (family) {
    const suffix = family === 4 ? "ipv4" : "ipv6";
    tagged[`lan_${suffix}`] ??= { Address: def.address, Port: def.port };
    tagged[`wan_${suffix}`] ??= { Address: def.address, Port: def.port };
  }
  if (Object.keys(tagged).length > 0) svc.TaggedAddresses = tagged;
  return svc;
}

function probeDefinition(def: CheckDefinition): HealthCheckDefinitionJson {
  const d: HealthCheckDefinitionJson = {};
  if (def.http)
    Object.assign(d, {
      HTTP: def.http,
      Method: def.method,
      Header: def.header,
      Body: def.body,
      TLSServerName: def.tlsServerName,
      TLSSkipVerify: def.tlsSkipVerify,
    });
  if (def.tcp) Object.assign(d, { TCP: def.tcp, TCPUseTLS: def.tcpUseTls });
  // Consul omits these when empty or false (omitempty).
  if (def.udp) d.UDP = def.udp;
  if (def.h2ping) d.H2PING = def.h2ping;
  if (def.h2ping && def.h2pingUseTls) d.H2PingUseTLS = true;
  if (!def.http && (def.grpc || def.h2ping)) {
    if (def.tlsServerName) d.TLSServerName = def.tlsServerName;
    if (def.tlsSkipVerify) d.TLSSkipVerify = true;
  }
  if (def.args) d.ScriptArgs = [...def.args];
  if (def.grpc) d.GRPC = def.grpc;
  if (def.grpc && def.grpcUseTls) d.GRPCUseTLS = true;
  if (def.aliasNode) d.AliasNode = def.aliasNode;
  if (def.aliasService) d.AliasService = def.aliasService;
  if (def.ttlMs) d.TTL = formatGoDuration(def.ttlMs);
  if (def.intervalMs) d.Interval = formatGoDuration(def.intervalMs);
  if (def.timeoutMs) d.Timeout = formatGoDuration(def.timeoutMs);
  if (def.deregisterCriticalServiceAfterMs)
    d.DeregisterCriticalServiceAfter = formatGoDuration(def.deregisterCriticalServiceAfterMs);
  d.OutputMaxSize = def.outputMaxSize;
  for (const k of Object.keys(d) as (keyof HealthCheckDefinitionJson)[])
    if (d[k] === undefined) delete d[k];
  return d;
}

export function healthCheckFrom(
  def: CheckDefinition,
  node: string,
  service: NodeService | undefined,
): HealthCheck {
  return {
    Node: node,
    CheckID: def.id,
    Name: def.name,
    Status: def.status,
    Notes: def.notes,
    Output: "",
    ServiceID: service?.ID ?? "",
    ServiceName: service?.Service ?? "",
    ServiceTags: service ? [...service.Tags] : [],
    Type: def.type,
    Interval: def.intervalMs ? formatGoDuration(def.intervalMs) : "",
    Timeout: def.timeoutMs && def.type !== "ttl" ? formatGoDuration(def.timeoutMs) : "",
    ExposedPort: 0,
    Definition: probeDefinition(def),
    CreateIndex: 0,
    ModifyIndex: 0,
  };
}
