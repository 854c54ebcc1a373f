/**
 * Every CLI subcommand augur has (besides `agent`, which `main.ts` hands to
 * `agent-command.ts`), and the command groups with their help.
 *
 * @module
 */
import type { CommandSpec } from "../command.js";
import { catalogDatacentersCommand } from "./catalog-datacenters.js";
import { catalogNodesCommand } from "./catalog-nodes.js";
import { catalogServicesCommand } from "./catalog-services.js";
import { eventCommand } from "./event.js";
import { kvDeleteCommand } from "./kv-delete.js";
import { kvGetCommand } from "./kv-get.js";
import { kvPutCommand } from "./kv-put.js";
import { leaveCommand } from "./leave.js";
import { maintCommand } from "./maint.js";
import { membersCommand } from "./members.js";
import { reloadCommand } from "./reload.js";
import { servicesDeregisterCommand } from "./services-deregister.js";
import { servicesRegisterCommand } from "./services-register.js";
import { validateCommand } from "./validate.js";
import { versionCommand } from "./version.js";

export const COMMANDS: readonly CommandSpec[] = [
  catalogDatacentersCommand,
  catalogNodesCommand,
  catalogServicesCommand,
  eventCommand,
  kvDeleteCommand,
  kvGetCommand,
  kvPutCommand,
  leaveCommand,
  maintCommand,
  membersCommand,
  reloadCommand,
  servicesDeregisterCommand,
  servicesRegisterCommand,
  validateCommand,
  versionCommand,
];

/** A command that only groups subcommands; run alone it prints its help and exits 1 (mitchellh/cli). */
export interface CommandGroup {
  readonly name: string;
  readonly synopsis: string;
  readonly help: string;
}

export const GROUPS: readonly CommandGroup[] = [
  {
    name: "catalog",
    synopsis: "Interact with the catalog",
    help: `
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
  },
  {
    name: "kv",
    synopsis: "Interact with the key-value store",
    help: `
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
  },
  {
    name: "services",
    synopsis: "Interact with services",
    help: `
Usage: augur services <subcommand> [options] [args]

  This command has subcommands for interacting with services. The subcommands
  default to working with services registered with the local agent.

  To register a service from a configuration file:

      $ augur services register web.json

  To deregister a service:

      $ augur services deregister -id=web

  For more examples, ask for subcommand help or view the documentation.
`,
  },
];

/** Top-level commands that are neither groups nor in {@link COMMANDS}. */
export const OTHER_TOP_LEVEL: readonly { name: string; synopsis: string }[] = [
  { name: "agent", synopsis: "Runs an augur agent" },
];
