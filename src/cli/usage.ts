/**
 * Help for `augur` itself and for a command with subcommands, in mitchellh/cli's layouts
 * (BasicHelpFunc, and the `Subcommands:` list of its help template), as `consul` prints them.
 *
 * @module
 */
import { renderHelp, type CommandSpec } from "./command.js";

/** The last word of each name, aligned as mitchellh/cli aligns them, in name order. */
function aligned(entries: readonly CommandSpec[]): string[] {
  const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : 1));
  const names = sorted.map((e) => e.name.split(" ").at(-1) ?? e.name);
  const width = Math.max(0, ...names.map((n) => n.length));
  return sorted.map((e, i) => `    ${(names[i] ?? "").padEnd(width)}    ${e.synopsis}`);
}

/**
 * `Usage: augur [--version] [--help] <command> [<args>]` and the top-level command list; Consul
 * commands augur refuses (gossip, service mesh) under a heading of their own.
 */
export function topHelp(topLevel: readonly CommandSpec[]): string {
  const refused = topLevel.filter((s) => s.unavailable !== undefined);
  return [
    "Usage: augur [--version] [--help] <command> [<args>]",
    "",
    "Available commands are:",
    ...aligned(topLevel.filter((s) => s.unavailable === undefined)),
    "",
    ...(refused.length > 0
      ? [
          "Consul commands augur does not have (no gossip, no service mesh):",
          ...aligned(refused),
          "",
        ]
      : []),
  ].join("\n");
}

/** A command's help (with its flags), then `Subcommands:` and its children's synopses. */
export function commandHelp(spec: CommandSpec, children: readonly CommandSpec[]): string {
  const help = renderHelp(spec);
  if (children.length === 0) return `${help}\n`;
  return [help, "", "Subcommands:", ...aligned(children), ""].join("\n");
}
