/**
 * `augur force-leave <node>` — Consul's command/forceleave: `PUT /v1/agent/force-leave/:node`,
 * which marks a failed member as left (and removes it from the catalog). Silent on success.
 *
 * @module
 */
import { errorText, type CommandContext, type CommandSpec } from "../command.js";

async function run(ctx: CommandContext): Promise<number> {
  if (ctx.args.length !== 1) {
    ctx.ui.error("A single node name must be specified to force leave.");
    ctx.ui.error(ctx.help());
    return 1;
  }
  const client = await ctx.connect();
  if (!client) return 1;
  try {
    await client.forceLeave(ctx.args[0] as string);
  } catch (err) {
    return ctx.fail(`Error force leaving: ${errorText(err)}`);
  }
  return 0;
}

export const forceLeaveCommand: CommandSpec = {
  name: "force-leave",
  synopsis: 'Forces a member of the cluster to enter the "left" state',
  http: "client",
  flags: [],
  help: `
Usage: augur force-leave [options] name

  Forces a member of the cluster to enter the "left" state. Note
  that if the member is still actually alive, it will eventually rejoin
  the cluster. The name given must be a member's node name.
`,
  run,
};
