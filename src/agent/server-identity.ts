/**
 * What a Consul server shows that a client does not (`server` / `-server` / `-dev`): the `consul`
 * service on its node, its serf tags, and the ports clients see in `status/leader` and
 * `members -wan`. augur has no Raft or gossip of its own (etcd's members hold the data), but
 * tools look for these to find the servers: `catalog/service/consul`, `Config.Server`,
 * `Stats.consul.leader_addr`, and Consul's own `members` table sorts and labels by `role`.
 *
 * @module
 */
import type { NodeService } from "../catalog/types.js";

/** structs.ConsulServiceID / ConsulServiceName: anti-entropy never deregisters it. */
export const CONSUL_SERVICE_ID = "consul";

/** Consul's server RPC port: what `status/leader`, `status/peers` and the service announce. */
export const SERVER_RPC_PORT = 8300;
/** Consul's serf LAN and WAN ports, as member records show them. */
export const SERF_LAN_PORT = 8301;
export const SERF_WAN_PORT = 8302;

/** The `consul` service as Consul's leader registers it for each alive server (leader.go). */
export function consulService(version: string): Omit<NodeService, "CreateIndex" | "ModifyIndex"> {
  return {
    ID: CONSUL_SERVICE_ID,
    Service: CONSUL_SERVICE_ID,
    Tags: [],
    Address: "",
    Meta: {
      non_voter: "false",
      raft_version: "3",
      read_replica: "false",
      serf_protocol_current: "2",
      serf_protocol_max: "5",
      serf_protocol_min: "1",
      version,
    },
    Port: SERVER_RPC_PORT,
    Weights: { Passing: 1, Warning: 1 },
    EnableTagOverride: false,
    Proxy: {},
    Connect: {},
  };
}

/** The serf tags a Consul server adds to a member's: `role=consul` is what marks a server. */
export function serverTags(): Record<string, string> {
  return { role: "consul", port: String(SERVER_RPC_PORT), raft_vsn: "3" };
}
