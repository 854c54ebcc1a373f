/**
 * Consul commands augur deliberately does not have, because they work on Consul's gossip pool or
 * its service mesh, neither of which augur has (agents share one catalog through etcd; there are
 * no sidecar proxies, CA, intentions or config entries). Each is registered so that it answers
 * with one line saying why (exit 1) instead of "unknown command", and `augur --help` lists them
 * under their own heading. Picked from Consul's command registry (command/registry.go).
 *
 * @module
 */
import type { CommandSpec } from "../command.js";

const NO_GOSSIP = "augur has no gossip pool: its agents share one catalog through etcd";
const NO_MESH = "augur has no service mesh (no proxies, CA, intentions or config entries)";
const ONE_TENANT = "augur has a single default partition and namespace";

/** name, what it does in Consul, why augur has none. */
const REFUSED: readonly (readonly [string, string, string])[] = [
  ["keyring", "manages gossip encryption keys", NO_GOSSIP],
  ["keygen", "generates a gossip encryption key", NO_GOSSIP],
  ["rtt", "estimates round-trip times from gossip network coordinates", NO_GOSSIP],
  ["connect", "runs the service mesh's CA and sidecar proxies", NO_MESH],
  ["intention", "manages the service mesh's service-to-service permissions", NO_MESH],
  ["config", "manages centralized configuration entries (mesh and proxy defaults)", NO_MESH],
  ["troubleshoot", "troubleshoots service mesh proxies", NO_MESH],
  ["peering", "peers clusters to share services over the mesh", NO_MESH],
  ["resource", "reads and writes Consul's v2 resource (mesh) API", NO_MESH],
  ["services export", "exports services to peers and partitions", NO_MESH],
  ["services exported-services", "lists services exported to peers and partitions", NO_MESH],
  ["services imported-services", "lists services imported from peers and partitions", NO_MESH],
  ["partition", "manages admin partitions (Consul Enterprise)", ONE_TENANT],
  ["namespace", "manages namespaces (Consul Enterprise)", ONE_TENANT],
];

function unavailable([name, what, why]: readonly [string, string, string]): CommandSpec {
  const refusal = `"consul ${name}" ${what}; ${why}, so augur has no "${name}" command.`;
  return {
    name,
    synopsis: `Not in augur: ${what}`,
    help: `
Usage: augur ${name}

  ${refusal}
`,
    flags: [],
    unavailable: refusal,
  };
}

/** The refusals, in the registry's usual order. */
export const UNAVAILABLE_COMMANDS: readonly CommandSpec[] = REFUSED.map(unavailable);
