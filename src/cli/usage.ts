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

/** `augur agent`'s flags as `augur agent -h` lists them; a test parses each one. */
export const AGENT_FLAGS: readonly { flag: string; arg?: string; help: string }[] = [
  { flag: "advertise", arg: "addr", help: "The address this node gives other nodes and the catalog (the node's Address)." },
  { flag: "bind", arg: "addr", help: "The address to bind to; also the advertise address unless -advertise is given." },
  { flag: "client", arg: "addrs", help: "Space-separated addresses the HTTP API listens on. Default 127.0.0.1." },
  { flag: "config-dir", arg: "dir", help: "A directory of .json/.hcl config files, loaded in name order. Can be given multiple times." },
  { flag: "config-file", arg: "path", help: "A JSON or HCL config file (or a directory). Can be given multiple times." },
  { flag: "data-dir", arg: "dir", help: "Where the catalog, API-registered services and checks, and the watch outbox are kept. Required unless -dev." },
  { flag: "datacenter", arg: "dc", help: "The datacenter this agent answers for. Default dc1." },
  { flag: "dev", help: "Development mode: an in-memory store on 127.0.0.1; nothing is persisted." },
  { flag: "enable-local-script-checks", help: "Allow script checks from config files only." },
  { flag: "enable-script-checks", help: "Allow script checks from any source, the HTTP API included." },
  { flag: "etcd", arg: "endpoints", help: "Cluster mode: comma-separated etcd endpoints that hold the shared catalog." },
  { flag: "etcd-prefix", arg: "prefix", help: "The key prefix in etcd. Default augur/." },
  { flag: "http-port", arg: "port", help: "The HTTP API port; -1 disables it. Default 8500." },
  { flag: "join", arg: "addr", help: "An agent to learn the etcd endpoints from at start. Can be given multiple times." },
  { flag: "log-json", help: "Log JSON lines instead of text." },
  { flag: "log-level", arg: "level", help: "trace, debug, info, warn or error. Default info." },
  { flag: "node", arg: "name", help: "This node's name. Default the host name." },
  { flag: "node-id", arg: "uuid", help: "This node's UUID. Default random, kept in the data dir." },
  { flag: "retry-interval", arg: "duration", help: "The pause between -retry-join rounds. Default 30s." },
  { flag: "retry-join", arg: "addr", help: "Like -join, retried until an agent answers. Can be given multiple times." },
  { flag: "retry-max", arg: "n", help: "Give up -retry-join after this many rounds; 0 retries forever." },
];

/** `augur agent -h`, in the layout `consul agent -h` uses. */
export function agentHelp(): string {
  const lines = [
    "Usage: augur agent [options]",
    "",
    "  Starts the augur agent and runs until an interrupt is received. The",
    "  agent represents a single node in a cluster.",
    "",
    "Command Options",
    "",
  ];
  for (const f of AGENT_FLAGS) lines.push(`  -${f.flag}${f.arg ? `=<${f.arg}>` : ""}`, `     ${f.help}`, "");
  return `${lines.join("\n")}`;
}
