/**
 * `augur services deregister` — Consul's command/services/deregister: `-id`, or every service
 * in the given config files (by ID, else name). Prints `Deregistered service: <id>`.
 *
 * @module
 */
import { errorText, type CommandContext, type CommandSpec } from "../command.js";
import { servicesFromFiles } from "../service-files.js";

async function ids(ctx: CommandContext): Promise<string[] | number> {
  const id = ctx.flags.string("id");
  if (ctx.args.length === 0 && id === "")
    return ctx.fail("Service deregistration requires at least one argument or -id.");
  if (ctx.args.length > 0 && id !== "")
    return ctx.fail("Service deregistration requires arguments or -id, not both.");
  if (ctx.args.length === 0) return [id];
  try {
    return (await servicesFromFiles(ctx.args)).map((s) => s.id || s.name).filter(Boolean);
  } catch (err) {
    return ctx.fail(`Error: ${errorText(err)}`);
  }
}

async function run(ctx: CommandContext): Promise<number> {
  const list = await ids(ctx);
  if (typeof list === "number") return list;
  const client = await ctx.connect();
  if (!client) return 1;
  for (const id of list) {
    try {
      await client.agentServiceDeregister(id);
    } catch (err) {
      return ctx.fail(`Error deregistering service ${JSON.stringify(id)}: ${errorText(err)}`);
    }
    ctx.ui.info(`Deregistered service: ${id}`);
  }
  return 0;
}

export const servicesDeregisterCommand: CommandSpec = {
  name: "services deregister",
  synopsis: "Deregister services with the local agent",
  http: "server",
  flags: [
    {
      name: "id",
      kind: "string",
      help: "ID to delete. This must not be set if arguments are given.",
    },
  ],
  help: `
Usage: augur services deregister [options] [FILE...]

  Deregister one or more services that were previously registered with
  the local agent.

      $ augur services deregister web.json db.json

  The -id flag may be used to deregister a single service by ID:

      $ augur services deregister -id=web

  Services are deregistered from the local agent catalog. This command must
  be run against the same agent where the service was registered.
`,
  run,
};
