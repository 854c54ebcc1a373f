/**
 * Help for `augur` itself and for command groups, in mitchellh/cli's layouts (BasicHelpFunc and
 * the subcommand list of its help template), as `consul` prints them.
 *
 * @module
 */
import type { CommandSpec } from "./command.js";
import type { CommandGroup } from "./commands/index.js";

function aligned(entries: readonly { name: string; synopsis: string }[]): string[] {
  const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : 1));
  const width = Math.max(0, ...sorted.map((e) => e.name.length));
  return sorted.map((e) => `    ${e.name.padEnd(width)}    ${e.synopsis}`);
}

/** `Usage: augur [--version] [--help] <command> [<args>]` and the top-level command list. */
export function topHelp(entries: readonly { name: string; synopsis: string }[]): string {
  return [
    "Usage: augur [--version] [--help] <command> [<args>]",
    "",
    "Available commands are:",
    ...aligned(entries),
    "",
  ].join("\n");
}

/** A group's help followed by `Subcommands:` and its children's synopses. */
export function groupHelp(group: CommandGroup, commands: readonly CommandSpec[]): string {
  const children = commands
    .filter((c) => c.name.startsWith(`${group.name} `))
    .map((c) => ({ name: c.name.slice(group.name.length + 1), synopsis: c.synopsis }));
  return [group.help.trim(), "", "Subcommands:", ...aligned(children), ""].join("\n");
}
