/**
 * The registry: every command augur has, the groups (`kv`, `catalog`, `services`) among them.
 * Adding a command is one spec file and one line here; `augur --help`, `-h`, flag parsing and
 * dispatch follow from the spec.
 *
 * @module
 */
import type { CommandSpec } from "../command.js";
import { CommandRegistry } from "../registry.js";
import { agentCommand } from "./agent.js";
import { devClusterCommand } from "./dev-cluster.js";
import { catalogDatacentersCommand } from "./catalog-datacenters.js";
import { catalogNodesCommand } from "./catalog-nodes.js";
import { catalogServicesCommand } from "./catalog-services.js";
import { eventCommand } from "./event.js";
import { forceLeaveCommand } from "./force-leave.js";
import { infoCommand } from "./info.js";
import { joinCommand } from "./join.js";
import { kvDeleteCommand } from "./kv-delete.js";
import { kvExportCommand } from "./kv-export.js";
import { kvGetCommand } from "./kv-get.js";
import { kvImportCommand } from "./kv-import.js";
import { kvPutCommand } from "./kv-put.js";
import { leaveCommand } from "./leave.js";
import { lockCommand } from "./lock.js";
import { maintCommand } from "./maint.js";
import { membersCommand } from "./members.js";
import { monitorCommand } from "./monitor.js";
import { reloadCommand } from "./reload.js";
import { servicesDeregisterCommand } from "./services-deregister.js";
import { servicesRegisterCommand } from "./services-register.js";
import { UNAVAILABLE_COMMANDS } from "./unavailable.js";
import { snapshotRestoreCommand, snapshotSaveCommand } from "./snapshot.js";
import { snapshotInspectCommand } from "./snapshot-inspect.js";
import { validateCommand } from "./validate.js";
import { versionCommand } from "./version.js";
import { watchCommand, watchDeliveriesCommand, watchReplayCommand } from "./watch.js";

/** A command that only groups subcommands (a spec without `run`). */
const group = (name: string, synopsis: string, help: string): CommandSpec => ({
  name,
  synopsis,
  help,
  flags: [],
});

const GROUPS: readonly CommandSpec[] = [
  group(
    "catalog",
    "Interact with the catalog",
    `
Usage: augur catalog <subcommand> [options] [args]

  This command has subcommands for interacting with the catalog. The catalog
  should not be confused with the agent, although the APIs and responses may
  be similar.

  List all datacenters:

      $ augur catalog datacenters

  List all nodes:

      $ augur catalog nodes

  List all services:

      $ augur catalog services

  For more examples, ask for subcommand help or view the documentation.
`,
  ),
  group(
    "kv",
    "Interact with the key-value store",
    `
Usage: augur kv <subcommand> [options] [args]

  This command has subcommands for interacting with the key-value store.
  Here are some simple examples, and more detailed examples are available in
  the subcommands or the documentation.

  Create or update the key named "redis/config/connections" with the value "5":

      $ augur kv put redis/config/connections 5

  Read this value back:

      $ augur kv get redis/config/connections

  Or get detailed key information:

      $ augur kv get -detailed redis/config/connections

  Finally, delete the key:

      $ augur kv delete redis/config/connections

  For more examples, ask for subcommand help or view the documentation.
`,
  ),
  group(
    "snapshot",
    "Saves, restores and inspects snapshots of Consul server state",
    `
Usage: augur snapshot <subcommand> [options] [args]

  This command has subcommands for saving, restoring, and inspecting the state
  of the cluster for disaster recovery. These are atomic, point-in-time
  snapshots which include key/value entries, service catalog, sessions and
  user events.

  Create a snapshot:

      $ augur snapshot save backup.snap

  Restore a snapshot:

      $ augur snapshot restore backup.snap

  Inspect a snapshot:

      $ augur snapshot inspect backup.snap

  For more examples, ask for subcommand help or view the documentation.
`,
  ),
  group(
    "services",
    "Interact with services",
    `
Usage: augur services <subcommand> [options] [args]

  This command has subcommands for interacting with services. The subcommands
  default to working with services registered with the local agent.

  To register a service from a configuration file:

      $ augur services register web.json

  To deregister a service:

      $ augur services deregister -id=web

  For more examples, ask for subcommand help or view the documentation.
`,
  ),
];

export const COMMANDS = new CommandRegistry([
  agentCommand,
  ...GROUPS,
  catalogDatacentersCommand,
  catalogNodesCommand,
  catalogServicesCommand,
  devClusterCommand,
  eventCommand,
  forceLeaveCommand,
  infoCommand,
  joinCommand,
  kvDeleteCommand,
  kvExportCommand,
  kvGetCommand,
  kvImportCommand,
  kvPutCommand,
  leaveCommand,
  lockCommand,
  maintCommand,
  membersCommand,
  monitorCommand,
  reloadCommand,
  servicesDeregisterCommand,
  servicesRegisterCommand,
  snapshotInspectCommand,
  snapshotRestoreCommand,
  snapshotSaveCommand,
  validateCommand,
  versionCommand,
  watchCommand,
  watchDeliveriesCommand,
  watchReplayCommand,
  ...UNAVAILABLE_COMMANDS,
]);
