/**
 * The Go types Consul evaluates `?filter=` against, as go-bexpr 0.1.2 sees them through
 * reflection (Consul 1.10's agent/structs and api packages, the last Consul line pinned to
 * go-bexpr 0.1.2). Fields tagged `bexpr:"-"` are left out: RaftIndex (CreateIndex,
 * ModifyIndex), EnterpriseMeta, HealthCheck.Definition, ConnectProxyConfig.Config,
 * ServiceConnect.SidecarService, and AgentService's ContentHash/Namespace/Datacenter.
 *
 * test/fixtures/bexpr-oracle/main.go declares the same structs in Go; the differential test
 * keeps the two in step.
 *
 * @module
 */
import { AugurError } from "../../lib/errors.js";

/** A Go type, reduced to what go-bexpr distinguishes. */
export type GoType =
  | { readonly kind: "string" | "bool" | "int" | "uint" }
  | { readonly kind: "slice"; readonly elem: GoType }
  | { readonly kind: "map"; readonly value: GoType }
  | {
      readonly kind: "struct";
      readonly name: string;
      readonly fields: Readonly<Record<string, GoType>>;
      readonly pointer?: boolean;
    };

const string: GoType = { kind: "string" };
const bool: GoType = { kind: "bool" };
const int: GoType = { kind: "int" };
const strings: GoType = { kind: "slice", elem: string };
const stringMap: GoType = { kind: "map", value: string };

function struct(name: string, fields: Record<string, GoType>): GoType {
  return { kind: "struct", name, fields };
}

function pointer(t: GoType): GoType {
  if (t.kind !== "struct")
    throw new AugurError("INTERNAL", "filter schema: only struct pointers are modelled");
  return { ...t, pointer: true };
}

const ServiceAddress = struct("ServiceAddress", { Address: string, Port: int });
const Weights = struct("Weights", { Passing: int, Warning: int });
const MeshGatewayConfig = struct("MeshGatewayConfig", { Mode: string });
const Upstream = struct("Upstream", {
  DestinationType: string,
  DestinationNamespace: string,
  DestinationName: string,
  Datacenter: string,
  LocalBindAddress: string,
  LocalBindPort: int,
  LocalBindSocketPath: string,
  LocalBindSocketMode: string,
  MeshGateway: MeshGatewayConfig,
});
const ExposePath = struct("ExposePath", {
  ListenerPort: int,
  Path: string,
  LocalPathPort: int,
  Protocol: string,
  ParsedFromCheck: bool,
});
const ExposeConfig = struct("ExposeConfig", {
  Checks: bool,
  Paths: { kind: "slice", elem: ExposePath },
});
const TransparentProxyConfig = struct("TransparentProxyConfig", {
  OutboundListenerPort: int,
  DialedDirectly: bool,
});
const proxyFields = {
  DestinationServiceName: string,
  DestinationServiceID: string,
  LocalServiceAddress: string,
  LocalServicePort: int,
  LocalServiceSocketPath: string,
  Mode: string,
  Upstreams: { kind: "slice", elem: Upstream } as GoType,
  MeshGateway: MeshGatewayConfig,
  Expose: ExposeConfig,
};
const ConnectProxyConfig = struct("ConnectProxyConfig", {
  ...proxyFields,
  TransparentProxy: TransparentProxyConfig,
});
const ServiceConnect = struct("ServiceConnect", { Native: bool });
const serviceAddresses: GoType = { kind: "map", value: ServiceAddress };

/** structs.Node */
export const NODE = struct("Node", {
  ID: string,
  Node: string,
  Address: string,
  Datacenter: string,
  TaggedAddresses: stringMap,
  Meta: stringMap,
});

/** structs.ServiceNode (catalog/service, catalog/services) */
export const SERVICE_NODE = struct("ServiceNode", {
  ID: string,
  Node: string,
  Address: string,
  Datacenter: string,
  TaggedAddresses: stringMap,
  NodeMeta: stringMap,
  ServiceKind: string,
  ServiceID: string,
  ServiceName: string,
  ServiceTags: strings,
  ServiceAddress: string,
  ServiceTaggedAddresses: serviceAddresses,
  ServiceWeights: Weights,
  ServiceMeta: stringMap,
  ServicePort: int,
  ServiceSocketPath: string,
  ServiceEnableTagOverride: bool,
  ServiceProxy: ConnectProxyConfig,
  ServiceConnect: ServiceConnect,
});

/** structs.NodeService (catalog/node Services, health/service Service) */
export const NODE_SERVICE = struct("NodeService", {
  Kind: string,
  ID: string,
  Service: string,
  Tags: strings,
  Address: string,
  TaggedAddresses: serviceAddresses,
  Meta: stringMap,
  Port: int,
  SocketPath: string,
  Weights: pointer(Weights),
  EnableTagOverride: bool,
  Proxy: ConnectProxyConfig,
  Connect: ServiceConnect,
});

/** structs.HealthCheck (health/node, health/checks, health/state, agent/checks) */
export const HEALTH_CHECK = struct("HealthCheck", {
  Node: string,
  CheckID: string,
  Name: string,
  Status: string,
  Notes: string,
  Output: string,
  ServiceID: string,
  ServiceName: string,
  ServiceTags: strings,
  Type: string,
  ExposedPort: int,
});

/** structs.CheckServiceNode (health/service) */
export const CHECK_SERVICE_NODE = struct("CheckServiceNode", {
  Node: pointer(NODE),
  Service: pointer(NODE_SERVICE),
  Checks: { kind: "slice", elem: pointer(HEALTH_CHECK) },
});

/** api.AgentService (agent/services). Proxy and Connect are nil for a typical service. */
export const AGENT_SERVICE = struct("AgentService", {
  Kind: string,
  ID: string,
  Service: string,
  Tags: strings,
  Meta: stringMap,
  Port: int,
  Address: string,
  SocketPath: string,
  TaggedAddresses: serviceAddresses,
  Weights: struct("AgentWeights", { Passing: int, Warning: int }),
  EnableTagOverride: bool,
  Proxy: pointer(
    struct("AgentServiceConnectProxyConfig", {
      ...proxyFields,
      TransparentProxy: pointer(TransparentProxyConfig),
    }),
  ),
  Connect: pointer(struct("AgentServiceConnect", { Native: bool })),
});

export type FilterTarget =
  "Node" | "ServiceNode" | "NodeService" | "HealthCheck" | "ServiceHealth" | "AgentService";

export const TARGETS: Readonly<Record<FilterTarget, GoType>> = {
  Node: NODE,
  ServiceNode: SERVICE_NODE,
  NodeService: NODE_SERVICE,
  HealthCheck: HEALTH_CHECK,
  ServiceHealth: CHECK_SERVICE_NODE,
  AgentService: AGENT_SERVICE,
};
