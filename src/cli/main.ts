/**
 * `augur <command>`: the CLI entry point and its one dispatch path. Arguments are read as
 * mitchellh/cli reads them for `consul`: `-v`/`-version`/`--version` before the command print
 * the version; `-h`/`-help`/`--help` anywhere before `--` print the command's help on stdout
 * (exit 0); the command is the longest registered run of words (`kv get`); an unknown or missing
 * command prints the command list on stderr (exit 127); a group alone (`augur kv`) prints its
 * help on stderr (exit 1). Then the command's flags are parsed Go style (`lib/go-flags.ts`)
 * against its spec, and its `run` gets the rest.
 *
 * @module
 */
import { allFlags, CommandContext, errorText, type CliIo, type CommandSpec } from "./command.js";
import { COMMANDS } from "./commands/index.js";
import { parseFlags, UsageError, wantsHelp } from "../lib/go-flags.js";
import { commandHelp, topHelp } from "./usage.js";

export interface MainOptions {
  /** Streams and environment; defaults to the process's. */
  readonly io?: CliIo;
}

const VERSION_FLAGS = new Set(["-v", "-version", "--version"]);
const HELP_FLAGS = new Set(["-h", "-help", "--help"]);

function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env };
}

/** What mitchellh/cli's processArgs finds in the arguments. */
interface Invocation {
  /** The command, or undefined when none is named (or not even its first word is known). */
  readonly spec: CommandSpec | undefined;
  /** Whether any word was given where a command goes. */
  readonly named: boolean;
  /** The command's own arguments. */
  readonly args: readonly string[];
  /** A help flag before the command. */
  readonly help: boolean;
  readonly version: boolean;
  /** Other flags before the command (an error). */
  readonly topFlags: readonly string[];
}

function processArgs(argv: readonly string[]): Invocation {
  let help = false;
  let version = false;
  const topFlags: string[] = [];
  for (const [i, arg] of argv.entries()) {
    if (arg === "--") break;
    if (HELP_FLAGS.has(arg)) help = true;
    else if (VERSION_FLAGS.has(arg)) version = true;
    else if (arg.startsWith("-")) topFlags.push(arg);
    else if (arg !== "") {
      const words = argv.slice(i);
      const found = COMMANDS.resolve(words);
      const args = words.slice(found?.length ?? 1);
      return { spec: found?.spec, named: true, args, help, version, topFlags };
    }
  }
  return { spec: undefined, named: false, args: [], help, version, topFlags };
}

function helpOf(spec: CommandSpec): string {
  return commandHelp(spec, COMMANDS.children(spec.name));
}

/** Parses `args` against the spec and runs it; usage errors print with the command's help. */
async function runCommand(spec: CommandSpec, args: readonly string[], io: CliIo): Promise<number> {
  if (spec.unavailable !== undefined) {
    io.stderr.write(`${spec.unavailable}\n`);
    return 1;
  }
  if (!spec.run) {
    io.stderr.write(helpOf(spec));
    return 1;
  }
  let parsed;
  try {
    parsed = parseFlags(args, allFlags(spec));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr.write(`${err.message}\n\n${helpOf(spec)}`);
    return 1;
  }
  // Reached for passthrough commands only: the others saw their help flag before parsing.
  if (parsed.help) {
    io.stdout.write(helpOf(spec));
    return 0;
  }
  return spec.run(new CommandContext(spec, parsed.args, parsed.flags, io));
}

async function dispatch(argv: readonly string[], io: CliIo): Promise<number> {
  const call = processArgs(argv);
  const versionSpec = COMMANDS.get("version");
  // Consul's main checks for the version flag before anything else.
  if (call.version && versionSpec) return runCommand(versionSpec, [], io);
  if (call.help && !call.named) {
    io.stdout.write(topHelp(COMMANDS.topLevel()));
    return 0;
  }
  const { spec } = call;
  if (!spec) {
    io.stderr.write(topHelp(COMMANDS.topLevel()));
    return 127;
  }
  if (call.help || (!spec.passthrough && wantsHelp(call.args))) {
    io.stdout.write(helpOf(spec));
    return 0;
  }
  if (call.topFlags.length > 0) {
    io.stderr.write(
      `Invalid flags before the subcommand. If these flags are for\nthe subcommand, please put them after the subcommand.\n\n${helpOf(spec)}`,
    );
    return 1;
  }
  return runCommand(spec, call.args, io);
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
    io.stderr.write(`${errorText(err)}\n`);
    return 1;
  }
}
