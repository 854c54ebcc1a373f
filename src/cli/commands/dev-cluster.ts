/**
 * `augur dev-cluster [-nodes N]` — a 3-member etcd and N agents on loopback, stopped by Ctrl-C.
 * The run lives in `dev-cluster.ts`, imported only when asked for.
 *
 * @module
 */
import type { CommandContext, CommandSpec } from "../command.js";

const MAX_NODES = 50;

export const devClusterCommand: CommandSpec = {
  name: "dev-cluster",
  synopsis: "Runs a local etcd cluster and augur agents for testing",
  flags: [
    {
      name: "nodes",
      kind: "int",
      placeholder: "n",
      help: `How many agents to start, 1 to ${MAX_NODES}. The default value is 3.`,
    },
  ],
  help: `
Usage: augur dev-cluster [options]

  Starts a 3-member etcd cluster (Debian's /usr/bin/etcd, or $AUGUR_ETCD_BIN)
  and N augur agents on loopback, each with its own HTTP port, prints where
  they listen, and stops them all on Ctrl-C.
`,
  async run(ctx: CommandContext): Promise<number> {
    if (ctx.args.length > 0)
      return ctx.fail(`Too many arguments (expected 0, got ${ctx.args.length})`);
    const nodes = ctx.flags.has("nodes") ? Number(ctx.flags.string("nodes")) : 3;
    if (nodes < 1 || nodes > MAX_NODES)
      return ctx.fail(
        `-nodes must be a whole number from 1 to ${MAX_NODES}, got ${ctx.flags.string("nodes")}`,
      );
    const { runDevCluster } = await import("../dev-cluster.js");
    return runDevCluster(nodes, ctx.ui);
  },
};
