/**
 * `augur join` — Consul's command/join: `PUT /v1/agent/join/:address` for each address, then
 * `Successfully joined cluster by contacting N nodes.` (exit 0), or `Failed to join any nodes.`
 * (exit 1). augur has no gossip: the agent answers success when the other agent already shares
 * its catalog (the same etcd and prefix), and otherwise says how to start it on that agent's etcd
 * (`-join <address>` at start learns it; see client/join.ts).
 *
 * @module
 */
import { errorText, type CommandContext, type CommandSpec } from "../command.js";

async function run(ctx: CommandContext): Promise<number> {
  const addresses = ctx.args;
  if (addresses.length === 0) {
    ctx.ui.error("At least one address to join must be specified.");
    ctx.ui.error("");
    ctx.ui.error(ctx.help());
    return 1;
  }
  const client = await ctx.connect();
  if (!client) return 1;
  let joins = 0;
  for (const address of addresses) {
    try {
      await client.join(address, { wan: ctx.flags.bool("wan") });
      joins++;
    } catch (err) {
      ctx.ui.error(`Error joining address '${address}': ${errorText(err)}`);
    }
  }
  if (joins === 0) return ctx.fail("Failed to join any nodes.");
  ctx.ui.info(`Successfully joined cluster by contacting ${joins} nodes.`);
  return 0;
}

export const joinCommand: CommandSpec = {
  name: "join",
  synopsis: "Tell an augur agent to join cluster",
  http: "client",
  flags: [
    {
      name: "wan",
      kind: "bool",
      help: "Joins a server to another server in the WAN pool (augur has none: always refused).",
    },
  ],
  help: `
Usage: augur join [options] address ...

  Tells a running augur agent (with "augur agent") to join the cluster
  by specifying at least one existing member. augur agents share a catalog
  through etcd, not gossip: the join succeeds when the member named already
  uses this agent's etcd and prefix; otherwise the agent answers how to
  restart it on that member's etcd (augur agent -join=<address>).
`,
  run,
};
