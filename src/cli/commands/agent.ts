/**
 * `augur agent` — Consul's command/agent: loads the configuration and runs the agent until a
 * signal. The flags are the config layer's (`config/flags.ts`); the run lives in
 * `agent-command.ts`, imported only when the agent starts since it pulls in the HTTP server and
 * the stores, which no other command needs.
 *
 * @module
 */
import { AGENT_FLAGS } from "../../config/flags.js";
import type { CommandContext, CommandSpec } from "../command.js";

export const agentCommand: CommandSpec = {
  name: "agent",
  synopsis: "Runs an augur agent",
  flags: AGENT_FLAGS,
  help: `
Usage: augur agent [options]

  Starts the augur agent and runs until an interrupt is received. The
  agent represents a single node in a cluster.
`,
  async run(ctx: CommandContext): Promise<number> {
    const { runAgent } = await import("../agent-command.js");
    return runAgent(ctx);
  },
};
