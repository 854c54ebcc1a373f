/**
 * `augur reload` — Consul's command/reload: `PUT /v1/agent/reload`, prints
 * `Configuration reload triggered`.
 *
 * @module
 */
import { errorText, type CommandContext, type CommandSpec } from "../command.js";

async function run(ctx: CommandContext): Promise<number> {
  const client = await ctx.connect();
  if (!client) return 1;
  try {
    await client.reload();
  } catch (err) {
    return ctx.fail(`Error reloading: ${errorText(err)}`);
  }
  ctx.ui.info("Configuration reload triggered");
  return 0;
}

export const reloadCommand: CommandSpec = {
  name: "reload",
  synopsis: "Triggers the agent to reload configuration files",
  http: "client",
  flags: [],
  help: `
Usage: augur reload

  Causes the agent to reload configurations. This can be used instead
  of sending the SIGHUP signal to the agent.
`,
  run,
};
