/**
 * `augur <command>`: the CLI entry point. Dispatch follows mitchellh/cli as `consul` uses it:
 * `-v`/`-version`/`--version` print the version, `-h`/`-help`/`--help` anywhere print help
 * (exit 0), an unknown or missing command prints the command list (exit 127), a group alone
 * (`augur kv`) prints its help (exit 1). Each subcommand's flags are parsed Go-style by
 * `go-flags.ts`, then commander dispatches to the command's `run`.
 *
 * @module
 */
import { Command, CommanderError } from "commander";
import {
  allFlags,
  CommandContext,
  ParsedFlags,
  renderHelp,
  type CliIo,
  type CommandSpec,
} from "./command.js";
import { COMMANDS, GROUPS, OTHER_TOP_LEVEL } from "./commands/index.js";
import { versionCommand } from "./commands/version.js";
import { toCommanderArgs, UsageError, wantsHelp, doubleDashLongFlags } from "./go-flags.js";
import { groupHelp, topHelp } from "./usage.js";


export interface MainOptions {
  /** Streams and environment; defaults to the process's. */
  readonly io?: CliIo;
}

const VERSION_FLAGS = new Set(["-v", "-version", "--version"]);
const HELP_FLAGS = new Set(["-h", "-help", "--help"]);

function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env };
}

const collect = (value: string, previous: string[] | undefined): string[] => [
  ...(previous ?? []),
  value,
];

/** Finds (or creates) the commander command for `words` under `parent`. */
function commandAt(parent: Command, words: readonly string[]): Command {
  let cmd = parent;
  for (const word of words) {
    cmd =
      cmd.commands.find((c) => c.name() === word) ??
      cmd.command(word).helpOption(false).helpCommand(false);
  }
  return cmd;
}

/** The commander tree: one leaf per spec, flags as `--name[=value]`, positionals after `--`. */
function buildProgram(
  io: CliIo,
  onRun: (spec: CommandSpec, args: string[], opts: Record<string, unknown>) => Promise<void>,
): Command {
  const program = new Command("augur")
    .exitOverride()
    .helpOption(false)
    .helpCommand(false)
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  for (const spec of COMMANDS) {
    const words = spec.name.split(" ");
    const leaf = commandAt(program, words.slice(0, -1))
      .command(words.at(-1) ?? spec.name)
      .helpOption(false)
      .argument("[args...]");
    for (const flag of allFlags(spec)) {
      if (flag.kind === "bool") leaf.option(`--${flag.name}`, flag.help);
      else if (flag.kind === "list" || flag.kind === "map")
        leaf.option(`--${flag.name} <value>`, flag.help, collect);
      else leaf.option(`--${flag.name} <value>`, flag.help);
    }
    leaf.action(async (args: string[], opts: Record<string, unknown>) => onRun(spec, args, opts));
  }
  return program;
}

function findSpec(argv: readonly string[]): CommandSpec | undefined {
  const two = argv.slice(0, 2).join(" ");
  return COMMANDS.find((c) => c.name === two) ?? COMMANDS.find((c) => c.name === argv[0]);
}

function topLevelEntries(): { name: string; synopsis: string }[] {
  const singles = COMMANDS.filter((c) => !c.name.includes(" ")).map((c) => ({
    name: c.name,
    synopsis: c.synopsis,
  }));
  return [
    ...singles,
    ...GROUPS.map((g) => ({ name: g.name, synopsis: g.synopsis })),
    ...OTHER_TOP_LEVEL,
  ];
}

async function runSpec(spec: CommandSpec, rest: readonly string[], io: CliIo): Promise<number> {
  if (wantsHelp(rest)) {
    io.stdout.write(`${renderHelp(spec)}\n`);
    return 0;
  }
  let converted: string[];
  try {
    converted = toCommanderArgs(rest, allFlags(spec));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr.write(`${err.message}\n\n${renderHelp(spec)}\n`);
    return 1;
  }
  let code = 1;
  const program = buildProgram(io, async (s, args, opts) => {
    code = await s.run(new CommandContext(s, args, new ParsedFlags(opts), io));
  });
  await program.parseAsync([...spec.name.split(" "), ...converted], { from: "user" });
  return code;
}

/** A command some other module registered on the commander program (none yet; see the TODO above). */
async function dispatchOther(argv: readonly string[], io: CliIo): Promise<number | undefined> {
  const program = buildProgram(io, async () => undefined);
  const ours = new Set(COMMANDS.map((s) => s.name.split(" ")[0]));
  if (!program.commands.some((c) => c.name() === argv[0] && !ours.has(c.name()))) return undefined;
  await program.parseAsync([...doubleDashLongFlags(argv)], { from: "user" });
  return 0;
}

async function dispatch(argv: readonly string[], io: CliIo): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    io.stderr.write(topHelp(topLevelEntries()));
    return 127;
  }
  if (VERSION_FLAGS.has(first)) return runSpec(versionCommand, [], io);
  if (HELP_FLAGS.has(first)) {
    io.stdout.write(topHelp(topLevelEntries()));
    return 0;
  }
  if (first === "agent") {
    // Imported on demand: the agent pulls in the HTTP server and stores, which no other command needs.
    const { runAgentCommand } = await import("./agent-command.js");
    return runAgentCommand(rest);
  }
  if (first === "dev-cluster") {
    const { runDevCluster } = await import("./dev-cluster.js");
    return runDevCluster(rest, { stdout: (t) => io.stdout.write(t), stderr: (t) => io.stderr.write(t) });
  }
  if (first === "watch") {
    // `augur watch` parses its own flags: everything after them is the child command, untouched.
    const { runWatchCommand } = await import("./watch-command.js");
    return runWatchCommand(rest, { stdout: (t) => io.stdout.write(t), stderr: (t) => io.stderr.write(t) }, io.env);
  }
  const spec = findSpec(argv);
  if (spec) return runSpec(spec, argv.slice(spec.name.split(" ").length), io);
  const group = GROUPS.find((g) => g.name === first);
  if (group) {
    const help = groupHelp(group, COMMANDS);
    if (wantsHelp(rest)) io.stdout.write(help);
    else io.stderr.write(help);
    return wantsHelp(rest) ? 0 : 1;
  }
  if (first.startsWith("-")) {
    io.stderr.write(
      `Invalid flags before the subcommand. If these flags are for\nthe subcommand, please put them after the subcommand.\n\n${topHelp(topLevelEntries())}`,
    );
    return 1;
  }
  const other = await dispatchOther(argv, io);
  if (other !== undefined) return other;
  io.stderr.write(topHelp(topLevelEntries()));
  return 127;
}

/**
 * Runs `augur` with `argv` (`process.argv.slice(2)`) and returns the exit code: 0 ok, 1 error or
 * usage error, 2 `members` with no match, 127 unknown command.
 */
export async function main(argv: string[], options: MainOptions = {}): Promise<number> {
  const io = options.io ?? processIo();
  try {
    return await dispatch(argv, io);
  } catch (err) {
    if (err instanceof CommanderError) {
      io.stderr.write(`${err.message.replace(/^error: /, "")}\n`);
      return err.exitCode === 0 ? 0 : 1;
    }
    io.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
