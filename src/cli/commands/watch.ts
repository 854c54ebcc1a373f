/**
 * `augur watch`, `augur watch deliveries` and `augur watch replay`: Consul's command/watch flags
 * and help, plus augur's delivery subcommands. The runs live in `watch-command.ts`, imported only
 * when asked for (they pull in the watch plan and queries).
 *
 * @module
 */
import type { FlagSpec } from "../../lib/go-flags.js";
import type { CommandContext, CommandSpec } from "../command.js";

const str = (name: string, help: string): FlagSpec => ({ name, kind: "string", help });

/** A `run` that loads `watch-command.ts` only when the command runs. */
const lazy =
  (name: "runWatch" | "runDeliveries" | "runReplay") =>
  async (ctx: CommandContext): Promise<number> =>
    (await import("../watch-command.js"))[name](ctx);

export const watchCommand: CommandSpec = {
  name: "watch",
  synopsis: "Watch for changes in Consul",
  http: "server",
  // A child's own flags (and its `-h`) must reach it untouched.
  passthrough: true,
  flags: [
    str("filter", "Filter to use with the request (services, nodes, service, checks)."),
    str("key", "Specifies the key to watch. Only for 'key' type."),
    str("name", "Specifies an event name to watch. Only for 'event' type."),
    str(
      "passingonly",
      "Specifies if only hosts passing all checks are displayed. Optional for 'service' type, must be one of `[true|false]`. Defaults false.",
    ),
    str("prefix", "Specifies the key prefix to watch. Only for 'keyprefix' type."),
    str(
      "service",
      "Specifies the service to watch. Required for 'service' type, optional for 'checks' type.",
    ),
    {
      name: "shell",
      kind: "bool",
      help: "Use a shell to run the command (can set a custom shell via the SHELL environment variable). The default value is true.",
    },
    str("state", "Specifies the states to watch. Optional for 'checks' type."),
    {
      name: "tag",
      kind: "list",
      help: "Specifies the service tag(s) to filter on. Optional for 'service' type. May be specified multiple times.",
    },
    str(
      "type",
      "Specifies the watch type. One of key, keyprefix, services, nodes, service, checks, or event.",
    ),
  ],
  help: `
Usage: augur watch [options] [child...]

  Watches for changes in a given data view from Consul. If a child process
  is specified, it will be invoked with the latest results on changes. Otherwise,
  the latest values are dumped to stdout and the watch terminates.

  Providing the watch type is required, and other parameters may be required
  or supported depending on the watch type.
`,
  run: lazy("runWatch"),
};

export const watchDeliveriesCommand: CommandSpec = {
  name: "watch deliveries",
  synopsis: "Lists the agent's watch deliveries and dead letters",
  http: "server",
  flags: [
    str("format", "Output format: the default table, or json for the API's JSON."),
    {
      name: "limit",
      kind: "string",
      placeholder: "n",
      help: "At most n entries per list (default 100).",
    },
    { name: "watch", kind: "string", placeholder: "id", help: "Only this watch's deliveries." },
  ],
  help: `
Usage: augur watch deliveries [options]

  Lists the agent's pending watch deliveries, recent deliveries and dead letters.
`,
  run: lazy("runDeliveries"),
};

export const watchReplayCommand: CommandSpec = {
  name: "watch replay",
  synopsis: "Re-queues dead letters for delivery",
  http: "server",
  flags: [{ name: "all-dead", kind: "bool", help: "Re-queue every dead letter." }],
  help: `
Usage: augur watch replay [options] <delivery-id> | -all-dead

  Re-queues dead letters for delivery (attempts reset; the same Idempotency-Key).
`,
  run: lazy("runReplay"),
};
