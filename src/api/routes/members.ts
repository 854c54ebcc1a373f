/**
 * `agent/members` and `agent/self` bodies. Members come from the store's agent records, so in
 * cluster mode every agent lists every other with alive (1), left (3) or failed (4), the serf
 * status numbers Consul's clients expect.
 *
 * @module
 */
import type { Agent } from "../../agent/agent.js";
import type { Catalog } from "../../catalog/catalog.js";
import type { AgentRecord } from "../../catalog/records.js";
import type { AgentMember } from "../../catalog/types.js";
import { SERF_WAN_PORT } from "../../agent/server-identity.js";

export const MEMBER_STATUS = { alive: 1, leaving: 2, left: 3, failed: 4 } as const;

/** The build date augur reports where Consul reports its binary's (`agent/self`, `agent/version`). */
export const BUILD_DATE = "2026-11-25T00:00:00Z";

/** `GET /v1/agent/version` (api.AgentVersion, Consul 1.14+). */
export function versionOf(agent: Agent): {
  SHA: string;
  BuildDate: string;
  HumanVersion: string;
  FIPS: string;
} {
  return { SHA: "", BuildDate: BUILD_DATE, HumanVersion: agent.identity.version, FIPS: "" };
}

export function toMember(rec: AgentRecord, alive: boolean): AgentMember {
  const status =
    rec.LeftAt !== undefined
      ? MEMBER_STATUS.left
      : alive
        ? MEMBER_STATUS.alive
        : MEMBER_STATUS.failed;
  return {
    Name: rec.Node,
    Addr: rec.Addr,
    Port: rec.Port,
    Tags: rec.Tags,
    Status: status,
    ProtocolMin: 1,
    ProtocolMax: 5,
    ProtocolCur: 2,
    DelegateMin: 2,
    DelegateMax: 5,
    DelegateCur: 4,
  };
}

export function membersOf(catalog: Catalog): AgentMember[] {
  const out = catalog.members().map((m) => toMember(m.record, m.alive));
  return out.sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
}

/**
 * augur's addition to `/v1/agent/self`: where this agent keeps the catalog. Another agent's
 * `start_join` / `retry_join` reads `Etcd` from here to join the same cluster.
 */
export interface ClusterInfo {
  readonly Store: "etcd" | "disk" | "memory";
  readonly Etcd?: { readonly Endpoints: readonly string[]; readonly Prefix: string };
}

/**
 * `agent/members?wan=1`: the WAN pool, which only servers are in, named `<node>.<dc>` at the serf
 * WAN port (Consul's memberlist names). A client agent is in no WAN pool and lists none.
 */
export function wanMembersOf(agent: Agent, catalog: Catalog): AgentMember[] {
  if (!agent.identity.server) return [];
  const out = catalog
    .members()
    .filter((m) => m.record.Tags["role"] === "consul")
    .map((m) => {
      const member = toMember(m.record, m.alive);
      return {
        ...member,
        Name: `${m.record.Node}.${m.record.Datacenter}`,
        Port: SERF_WAN_PORT,
        // The WAN pool has no segments (serf's WAN tags carry none).
        Tags: Object.fromEntries(
          Object.entries(member.Tags ?? {}).filter(([k]) => k !== "segment"),
        ),
      };
    });
  return out.sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
}

/** `Stats.consul` as a Consul server (server.go Stats) or client (client.go Stats) reports it. */
function consulStats(agent: Agent, catalog: Catalog, leaderAddr: string): Record<string, string> {
  if (agent.identity.server)
    return {
      acl: "disabled",
      bootstrap: "false",
      known_datacenters: "1",
      leader: String(leaderAddr !== ""),
      leader_addr: leaderAddr,
      server: "true",
    };
  const servers = catalog
    .members()
    .filter((m) => m.alive && m.record.LeftAt === undefined && m.record.Tags["role"] === "consul");
  return { acl: "disabled", known_servers: String(servers.length), server: "false" };
}

export function selfOf(
  agent: Agent,
  catalog: Catalog,
  cluster: ClusterInfo,
  leaderAddr: string,
): Record<string, unknown> {
  const id = agent.identity;
  const rec = agent.agentRecord();
  return {
    Config: {
      Datacenter: id.datacenter,
      PrimaryDatacenter: id.datacenter,
      NodeName: id.nodeName,
      NodeID: id.nodeId,
      Revision: "augur",
      Server: id.server === true,
      Version: id.version,
      BuildDate: BUILD_DATE,
    },
    DebugConfig: {
      Datacenter: id.datacenter,
      NodeName: id.nodeName,
      AdvertiseAddrLAN: id.advertiseAddr,
    },
    Coord: null,
    Member: toMember(rec, catalog.member(id.nodeName)?.alive ?? false),
    Stats: {
      consul: consulStats(agent, catalog, leaderAddr),
      agent: {
        check_monitors: "0",
        checks: String(Object.keys(agent.checks()).length),
        services: String(Object.keys(agent.services()).length),
      },
      build: { version: id.version, revision: "augur", prerelease: "" },
      runtime: { arch: process.arch, os: process.platform, version: process.version },
    },
    Meta: {},
    xDS: null,
    Cluster: cluster,
  };
}
