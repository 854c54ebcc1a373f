/**
 * JSON shapes the client sends and receives that `catalog/types.ts` (the wire types the server
 * answers with) does not already describe, with Consul's field names (api/agent.go,
 * api/catalog.go). Payloads the server also produces are re-exported from there, never redefined.
 *
 * @module
 */
import type {
  AgentMember,
  HealthCheck,
  Node,
  NodeService,
  ServiceNode,
  ServiceWeights,
  StringMap,
  TaggedAddress,
} from "../catalog/types.js";

export type { AgentMember };

/** `GET /v1/agent/self`: every top-level value is an object or null; `Config` is what callers read. */
export interface AgentSelf {
  Config: {
    Datacenter: string;
    NodeName: string;
    NodeID?: string;
    Version?: string;
    Server?: boolean;
    [k: string]: unknown;
  };
  Member?: AgentMember | null;
  [k: string]: unknown;
}

/** A check inside a service registration (api.AgentServiceCheck). Durations are Go strings. */
export interface AgentServiceCheck {
  CheckID?: string;
  Name?: string;
  Notes?: string;
  Status?: string;
  Args?: string[];
  Interval?: string;
  Timeout?: string;
  TTL?: string;
  HTTP?: string;
  Header?: Record<string, string[]>;
  Method?: string;
  Body?: string;
  DisableRedirects?: boolean;
  TLSServerName?: string;
  TLSSkipVerify?: boolean;
  TCP?: string;
  TCPUseTLS?: boolean;
  UDP?: string;
  GRPC?: string;
  GRPCUseTLS?: boolean;
  H2PING?: string;
  H2PingUseTLS?: boolean;
  AliasNode?: string;
  AliasService?: string;
  SuccessBeforePassing?: number;
  FailuresBeforeWarning?: number;
  FailuresBeforeCritical?: number;
  DeregisterCriticalServiceAfter?: string;
  OutputMaxSize?: number;
}

/** `PUT /v1/agent/service/register` body (api.AgentServiceRegistration); empty fields omitted. */
export interface AgentServiceRegistration {
  Name: string;
  ID?: string;
  Kind?: string;
  Tags?: string[];
  Port?: number;
  Address?: string;
  TaggedAddresses?: Record<string, TaggedAddress>;
  Meta?: StringMap;
  Weights?: ServiceWeights;
  EnableTagOverride?: boolean;
  Check?: AgentServiceCheck;
  Checks?: AgentServiceCheck[];
}

/** `GET /v1/catalog/service/:name` element (api.CatalogService): the server's own type. */
export type CatalogServiceNode = ServiceNode;

/** `GET /v1/catalog/node/:node` (api.CatalogNode); the endpoint answers JSON null for an unknown node. */
export interface CatalogNode {
  Node: Node;
  Services: Record<string, NodeService>;
}

/** `GET /v1/agent/checks`. */
export type AgentChecks = Record<string, HealthCheck>;

/** Query options shared by reads (api.QueryOptions, the subset augur serves). */
export interface ReadOptions {
  /** `dc`: another datacenter (defaults to the agent's). */
  readonly datacenter?: string;
  /** `stale`: let any server answer. */
  readonly stale?: boolean;
  /** `filter`: a go-bexpr expression. */
  readonly filter?: string;
  /** `node-meta=key:value`, all must match. */
  readonly nodeMeta?: Readonly<Record<string, string>>;
  /** `near`: sort by distance from this node (`_agent` for the local one). */
  readonly near?: string;
  readonly signal?: AbortSignal;
}

/** Options for writes that may target another datacenter. */
export interface WriteOptions {
  readonly datacenter?: string;
  readonly signal?: AbortSignal;
}
