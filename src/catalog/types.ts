/**
 * Consul's data model as it travels over the HTTP API (consul-api.md §2), plus the normalised
 * service and check *definitions* that config files and the agent API both produce. Field names
 * are Consul's, so these objects are what `goJson` writes.
 *
 * @module
 */

export type CheckStatus = "passing" | "warning" | "critical";
export const CHECK_STATUSES: readonly CheckStatus[] = ["passing", "warning", "critical"];

export type StringMap = Record<string, string>;

/** A read and the index it was read at: Consul's `X-Consul-Index` for that result. */
export interface Indexed<T> {
  readonly index: number;
  readonly value: T;
}

export interface TaggedAddress {
  Address: string;
  Port: number;
}

export interface ServiceWeights {
  Passing: number;
  Warning: number;
}

/** A node record (catalog/nodes). */
export interface Node {
  ID: string;
  Node: string;
  Address: string;
  Datacenter: string;
  TaggedAddresses: StringMap | null;
  Meta: StringMap | null;
  CreateIndex: number;
  ModifyIndex: number;
}

/** A service instance on a node (health `Service`, catalog/node `Services` values). */
export interface NodeService {
  Kind?: string;
  ID: string;
  Service: string;
  Tags: string[];
  Address: string;
  TaggedAddresses?: Record<string, TaggedAddress>;
  Meta: StringMap;
  Port?: number;
  Weights: ServiceWeights;
  EnableTagOverride: boolean;
  Proxy: Record<string, unknown>;
  Connect: Record<string, unknown>;
  CreateIndex: number;
  ModifyIndex: number;
}

/** HealthCheckDefinition: how the check probes, echoed back to clients. */
export interface HealthCheckDefinitionJson {
  HTTP?: string;
  Header?: Record<string, string[]>;
  Method?: string;
  Body?: string;
  TLSServerName?: string;
  TLSSkipVerify?: boolean;
  TCP?: string;
  TCPUseTLS?: boolean;
  UDP?: string;
  H2PING?: string;
  H2PingUseTLS?: boolean;
  ScriptArgs?: string[];
  GRPC?: string;
  GRPCUseTLS?: boolean;
  AliasNode?: string;
  AliasService?: string;
  TTL?: string;
  Interval?: string;
  Timeout?: string;
  DeregisterCriticalServiceAfter?: string;
  OutputMaxSize?: number;
}

export interface HealthCheck {
  Node: string;
  CheckID: string;
  Name: string;
  Status: CheckStatus;
  Notes: string;
  Output: string;
  ServiceID: string;
  ServiceName: string;
  ServiceTags: string[];
  Type: string;
  Interval: string;
  Timeout: string;
  ExposedPort: number;
  Definition: HealthCheckDefinitionJson;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface KVPair {
  LockIndex: number;
  Key: string;
  /** uint64; a bigint past 2^53, written as a bare JSON number. */
  Flags: number | bigint;
  /** Standard padded base64, or null for an empty value. */
  Value: string | null;
  Session?: string;
  CreateIndex: number;
  ModifyIndex: number;
}

export type SessionBehavior = "release" | "delete";

export interface Session {
  ID: string;
  Name: string;
  Node: string;
  /** Nanoseconds, as Consul's JSON carries time.Duration. */
  LockDelay: number;
  Behavior: SessionBehavior;
  TTL: string;
  NodeChecks: string[];
  ServiceChecks: { ID: string; Namespace: string }[] | null;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface UserEvent {
  ID: string;
  Name: string;
  Payload: string | null;
  NodeFilter: string;
  ServiceFilter: string;
  TagFilter: string;
  Version: number;
  LTime: number;
}

// ---------------------------------------------------------------------------------------------
// Definitions: what a user asks for (config file `services`/`checks`, agent/service/register,
// agent/check/register), after validation and with Consul's defaults applied.

/**
 * What each of Consul's check types needs beyond the common fields, as the decoder
 * (config/definitions.ts) guarantees it. The keys are the check types; which of them augur runs
 * is the check-runner registry's business (checks/registry.ts).
 */
interface CheckFieldsByType {
  ttl: { readonly ttlMs: number };
  http: { readonly http: string };
  tcp: { readonly tcp: string };
  script: { readonly args: readonly string[] };
  udp: { readonly udp: string };
  /** `host:port[/service]`. */
  grpc: { readonly grpc: string };
  h2ping: { readonly h2ping: string; readonly h2pingUseTls: boolean };
  /** AliasNode, AliasService or both. */
  alias: object;
  /** A script with a DockerContainerID: it runs in that container, never on the host. */
  docker: { readonly args: readonly string[] };
  os_service: object;
}

export type CheckType = keyof CheckFieldsByType;

/** The fields every check has, and the probe fields as the user gave them. */
interface CheckDefinitionBase {
  /** `CheckID`/`ID`; generated as `service:<sid>` (or `service:<sid>:<i>`) for a service's checks. */
  readonly id: string;
  readonly name: string;
  readonly serviceId?: string;
  readonly notes: string;
  /** The initial status; Consul's default is critical. */
  readonly status: CheckStatus;
  readonly intervalMs?: number;
  /** Consul's default timeout is 10 s for probes. */
  readonly timeoutMs?: number;
  readonly successBeforePassing: number;
  readonly failuresBeforeWarning: number;
  readonly failuresBeforeCritical: number;
  readonly deregisterCriticalServiceAfterMs?: number;
  /** Output is cut to this many bytes (Consul's default 4096). */
  readonly outputMaxSize: number;
  // Probe fields, kept whatever the type: Consul echoes every one given in the check's
  // `Definition` (an HTTP address on a script check included). A type's own are required on it.
  readonly ttlMs?: number;
  readonly http?: string;
  readonly method?: string;
  readonly header?: Record<string, string[]>;
  readonly body?: string;
  readonly disableRedirects?: boolean;
  readonly tlsServerName?: string;
  readonly tlsSkipVerify?: boolean;
  readonly tcp?: string;
  readonly tcpUseTls?: boolean;
  readonly udp?: string;
  readonly grpc?: string;
  readonly grpcUseTls?: boolean;
  readonly h2ping?: string;
  /** Consul's default is true whenever `h2ping` is set. */
  readonly h2pingUseTls?: boolean;
  readonly args?: readonly string[];
  readonly aliasNode?: string;
  readonly aliasService?: string;
}

/** A validated check definition of the given type(s): one union member per type. Durations are milliseconds. */
export type CheckDefinitionOf<T extends CheckType> = T extends CheckType
  ? CheckDefinitionBase & { readonly type: T } & CheckFieldsByType[T]
  : never;

/** A validated check definition, discriminated by `type`. Durations are milliseconds. */
export type CheckDefinition = CheckDefinitionOf<CheckType>;

/** A validated service definition with its checks. */
export interface ServiceDefinition {
  readonly id: string;
  readonly name: string;
  readonly kind?: string;
  readonly tags: readonly string[];
  readonly address: string;
  readonly taggedAddresses?: Record<string, TaggedAddress>;
  readonly meta: StringMap;
  readonly port: number;
  readonly weights: ServiceWeights;
  readonly enableTagOverride: boolean;
  readonly checks: readonly CheckDefinition[];
}

export const DEFAULT_OUTPUT_MAX_SIZE = 4096;
export const DEFAULT_CHECK_TIMEOUT_MS = 10_000;

/** catalog/service entries: the node's fields next to the service's, prefixed `Service`. */
export interface ServiceNode {
  ID: string;
  Node: string;
  Address: string;
  Datacenter: string;
  TaggedAddresses: Record<string, string> | null;
  NodeMeta: Record<string, string> | null;
  ServiceKind: string;
  ServiceID: string;
  ServiceName: string;
  ServiceTags: string[];
  ServiceAddress: string;
  ServiceTaggedAddresses?: NodeService["TaggedAddresses"];
  ServiceWeights: NodeService["Weights"];
  ServiceMeta: Record<string, string>;
  ServicePort: number;
  ServiceSocketPath: string;
  ServiceEnableTagOverride: boolean;
  ServiceProxy: Record<string, unknown>;
  ServiceConnect: Record<string, unknown>;
  CreateIndex: number;
  ModifyIndex: number;
}

/** `GET /v1/agent/members` element (api.AgentMember). Status: 0 none, 1 alive, 2 leaving, 3 left, 4 failed. */
export interface AgentMember {
  Name: string;
  Addr: string;
  Port: number;
  /** Never null from augur; a real Consul may send null. */
  Tags: StringMap | null;
  Status: number;
  ProtocolMin: number;
  ProtocolMax: number;
  ProtocolCur: number;
  DelegateMin: number;
  DelegateMax: number;
  DelegateCur: number;
}

/**
 * `GET /v1/internal/ui/services` element: Consul's ServiceListingSummary, in its field order
 * (`Kind` only when set); augur has no Connect, so the gateway and proxy fields are their zero values.
 */
export interface ServiceSummary {
  Kind?: string;
  Name: string;
  Datacenter: string;
  Tags: string[] | null;
  Nodes: string[];
  ExternalSources: null;
  InstanceCount: number;
  ChecksPassing: number;
  ChecksWarning: number;
  ChecksCritical: number;
  GatewayConfig: Record<string, never>;
  TransparentProxy: false;
  ConnectNative: false;
  ConnectedWithProxy: false;
  ConnectedWithGateway: false;
}
