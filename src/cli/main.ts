/**
 * `augur <command>`: the CLI entry point.
 *
 * @module
 */
import { runAgentCommand } from "./agent-command.js";

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === "agent") return runAgentCommand(rest);
  process.stderr.write(`Usage: augur <command> [args]\n`);
  return 1;
}
