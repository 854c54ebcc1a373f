/**
 * `augur info` — Consul's command/info: the agent's `Stats` from `GET /v1/agent/self`, one
 * section per key in name order, each stat as a tab-indented `key = value` line in name order.
 *
 * @module
 */
import { errorText, type CommandContext, type CommandSpec } from "../command.js";

async function run(ctx: CommandContext): Promise<number> {
  if (ctx.args.length > 0)
    return ctx.fail(`Too many arguments (expected 0, got ${ctx.args.length})`);
  const client = await ctx.connect();
  if (!client) return 1;
  let stats: Record<string, Record<string, unknown>>;
  try {
    stats = ((await client.agentSelf()).Stats ?? {}) as Record<string, Record<string, unknown>>;
  } catch (err) {
    return ctx.fail(`Error querying agent: ${errorText(err)}`);
  }
  const lines: string[] = [];
  for (const section of Object.keys(stats).sort()) {
    lines.push(`${section}:`);
    const values = stats[section] ?? {};
    for (const key of Object.keys(values).sort()) lines.push(`\t${key} = ${String(values[key])}`);
  }
  ctx.ui.info(lines.join("\n"));
  return 0;
}

export const infoCommand: CommandSpec = {
  name: "info",
  synopsis: "Provides debugging information for operators.",
  http: "client",
  flags: [],
  help: `
Usage: augur info [options]

  Provides debugging information for operators
`,
  run,
};
