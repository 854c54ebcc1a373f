/**
 * `augur catalog datacenters` — Consul's command/catalog/list/dc: one datacenter per line.
 *
 * @module
 */
import { errorText, type CommandContext, type CommandSpec } from "../command.js";

async function run(ctx: CommandContext): Promise<number> {
  if (ctx.args.length > 0)
    return ctx.fail(`Too many arguments (expected 0, got ${ctx.args.length})`);
  const client = await ctx.connect();
  if (!client) return 1;
  try {
    for (const dc of await client.datacenters()) ctx.ui.info(dc);
  } catch (err) {
    // Consul prints the error and still exits 0 here; a failed query exiting 1 is what scripts need.
    return ctx.fail(`Error listing datacenters: ${errorText(err)}`);
  }
  return 0;
}

export const catalogDatacentersCommand: CommandSpec = {
  name: "catalog datacenters",
  synopsis: "Lists all known datacenters",
  http: "server",
  flags: [],
  help: `
Usage: augur catalog datacenters [options]

  Retrieves the list of all known datacenters.

  To retrieve the list of datacenters:

      $ augur catalog datacenters
`,
  run,
};
