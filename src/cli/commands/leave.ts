/**
 * `augur leave` — Consul's command/leave: `PUT /v1/agent/leave`, prints
 * `Graceful leave complete`.
 *
 * @module
 */
import { errorText, type CommandContext, type CommandSpec } from "../command.js";

/** Go's `%v` of a string slice: `[a b]`. */
const goSlice = (items: readonly string[]): string => `[${items.join(" ")}]`;

async function run(ctx: CommandContext): Promise<number> {
  if (ctx.args.length > 0) {
    ctx.ui.error(`Error found unexpected args: ${goSlice(ctx.args)}`);
    ctx.ui.info(ctx.help());
    return 1;
  }
  const client = await ctx.connect();
  if (!client) return 1;
  try {
    await client.leave();
  } catch (err) {
    return ctx.fail(`Error leaving: ${errorText(err)}`);
  }
  ctx.ui.info("Graceful leave complete");
  return 0;
}

export const leaveCommand: CommandSpec = {
  name: "leave",
  synopsis: "Gracefully leaves the cluster and shuts down",
  http: "client",
  flags: [],
  help: `
Usage: augur leave [options]

  Causes the agent to gracefully leave the cluster and shutdown.
`,
  run,
};
