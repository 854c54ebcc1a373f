/**
 * Consul's prepared query shapes (agent/structs/prepared_query.go), with fields in Go's order so
 * they encode as Consul encodes them. Consul CE's EnterpriseMeta is empty, so no Namespace or
 * Partition appears.
 *
 * @module
 */

export const TEMPLATE_TYPE_NAME_PREFIX_MATCH = "name_prefix_match";

export interface QueryFailoverTarget {
  Peer: string;
  Datacenter: string;
}

export interface QueryFailoverOptions {
  NearestN: number;
  Datacenters: string[] | null;
  Targets: QueryFailoverTarget[] | null;
}

export interface ServiceQuery {
  Service: string;
  SamenessGroup: string;
  Failover: QueryFailoverOptions;
  OnlyPassing: boolean;
  IgnoreCheckIDs: string[] | null;
  Near: string;
  Tags: string[] | null;
  NodeMeta: Record<string, string> | null;
  ServiceMeta: Record<string, string> | null;
  Connect: boolean;
  Peer: string;
}

export interface QueryTemplateOptions {
  /** Non-empty makes the query a template; Consul knows only `name_prefix_match`. */
  Type: string;
  /** Applied to the name a template is looked up by; its groups are `${match(N)}`. */
  Regexp: string;
  RemoveEmptyTags: boolean;
}

export interface PreparedQuery {
  ID: string;
  Name: string;
  Session: string;
  Token: string;
  Template: QueryTemplateOptions;
  Service: ServiceQuery;
  DNS: { TTL: string };
  CreateIndex: number;
  ModifyIndex: number;
}

/** A query as a request describes it: everything but the indexes. */
export type PreparedQueryDefinition = Omit<PreparedQuery, "CreateIndex" | "ModifyIndex">;

/** Go's zero value of a PreparedQuery (what an empty body decodes to). */
export function emptyQueryDefinition(): PreparedQueryDefinition {
  return {
    ID: "",
    Name: "",
    Session: "",
    Token: "",
    Template: { Type: "", Regexp: "", RemoveEmptyTags: false },
    Service: {
      Service: "",
      SamenessGroup: "",
      Failover: { NearestN: 0, Datacenters: null, Targets: null },
      OnlyPassing: false,
      IgnoreCheckIDs: null,
      Near: "",
      Tags: null,
      NodeMeta: null,
      ServiceMeta: null,
      Connect: false,
      Peer: "",
    },
    DNS: { TTL: "" },
  };
}
