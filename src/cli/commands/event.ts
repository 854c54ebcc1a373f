/**
 * `augur event` — Consul's command/event: `-name` (required), optional payload argument,
 * `-node`/`-service`/`-tag` regex filters. Prints `Event ID: <id>`.
 *
 * @module
 */
import { compileGoRegexp } from "../../lib/go-regexp.js";
import { errorText, type CommandContext, type CommandSpec } from "../command.js";

function checkRegex(ctx: CommandContext, flag: string, what: string): string | undefined {
  const value = ctx.flags.string(flag);
  if (!value) return undefined;
  // Go's regexp syntax (RE2), as Consul's command/event compiles it; never JS RegExp.
  try {
    compileGoRegexp(value);
    return undefined;
  } catch (err) {
    return `Failed to compile ${what} filter regexp: ${errorText(err)}`;
  }
}

function validate(ctx: CommandContext): string | undefined {
  return (
    checkRegex(ctx, "node", "node") ??
    checkRegex(ctx, "service", "service") ??
    checkRegex(ctx, "tag", "tag") ??
    (ctx.flags.string("tag") && !ctx.flags.string("service")
      ? "Cannot provide tag filter without service filter."
      : undefined)
  );
}

async function run(ctx: CommandContext): Promise<number> {
  const { flags, ui } = ctx;
  const name = flags.string("name");
  if (!name) return ctx.fail(`Event name must be specified\n\n${ctx.help()}`);
  const problem = validate(ctx);
  if (problem) return ctx.fail(problem);
  if (ctx.args.length > 1) return ctx.fail(`Too many command line arguments.\n\n${ctx.help()}`);
  const client = await ctx.connect();
  if (!client) return 1;
  try {
    await client.agentSelf();
  } catch (err) {
    return ctx.fail(`Error querying Consul agent: ${errorText(err)}`);
  }
  const filters = {
    node: flags.string("node"),
    service: flags.string("service"),
    tag: flags.string("tag"),
  };
  try {
    const event = await client.eventFire(name, ctx.args[0], filters);
    ui.info(`Event ID: ${event.ID}`);
    return 0;
  } catch (err) {
    return ctx.fail(`Error firing event: ${errorText(err)}`);
  }
}

export const eventCommand: CommandSpec = {
  name: "event",
  synopsis: "Fire a new event",
  http: "client",
  flags: [
    { name: "name", kind: "string", help: "Name of the event." },
    { name: "node", kind: "string", help: "Regular expression to filter on node names." },
    { name: "service", kind: "string", help: "Regular expression to filter on service instances." },
    {
      name: "tag",
      kind: "string",
      help: "Regular expression to filter on service tags. Must be used with -service.",
    },
  ],
  help: `
Usage: augur event [options] [payload]

  Dispatches a custom user event across a datacenter. An event must provide
  a name, but a payload is optional. Events support filtering using
  regular expressions on node name, service, and tag definitions.
`,
  run,
};
