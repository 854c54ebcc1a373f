/**
 * What a command is (a {@link CommandSpec}: name, synopsis, help, flags, run) and what it gets to
 * run with (a {@link CommandContext}: arguments, parsed flags, output, a client). Every command,
 * `agent` and `watch` included, is one spec in `commands/index.ts`; `main.ts` resolves, parses
 * and runs them all the same way. Help is rendered the way Consul's `flags.Usage` does: the usage
 * text, then "HTTP API Options", then "Command Options".
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { ConsulClient } from "../client/consul-client.js";
import type { ReadOptions } from "../client/types.js";
import type { FlagSpec, ParsedFlags } from "../lib/go-flags.js";

/** Where a command reads and writes; `main()` uses the process's, tests may pass their own. */
export interface CliIo {
  readonly stdout: { write(chunk: string | Uint8Array): unknown };
  readonly stderr: { write(chunk: string | Uint8Array): unknown };
  readonly stdin: AsyncIterable<string | Buffer>;
  readonly env: NodeJS.ProcessEnv;
}

/** mitchellh/cli's BasicUi: Info/Output to stdout, Error to stderr, each line newline-terminated. */
export class Ui {
  readonly #io: CliIo;

  constructor(io: CliIo) {
    this.#io = io;
  }

  info(text: string | Uint8Array): void {
    this.#io.stdout.write(
      typeof text === "string" ? `${text}\n` : Buffer.concat([text, Buffer.from("\n")]),
    );
  }

  error(text: string): void {
    this.#io.stderr.write(`${text}\n`);
  }
}

/** Which of Consul's shared HTTP flags a command takes: client flags, or client plus server flags. */
export type HttpFlagSet = "client" | "server";

/**
 * One command of the registry. A spec without `run` is a group (`kv`, `catalog`): run alone it
 * prints its help and subcommands and exits 1, as mitchellh/cli's RunResultHelp does.
 */
export interface CommandSpec {
  /** Words after `augur`: `kv get`. Nested commands resolve by the longest registered prefix. */
  readonly name: string;
  /** One line for the command list. */
  readonly synopsis: string;
  /** Help text starting with `Usage: augur ...`; the flags are appended by {@link renderHelp}. */
  readonly help: string;
  readonly http?: HttpFlagSet;
  readonly flags: readonly FlagSpec[];
  /**
   * The positional arguments are a command line of their own (`augur watch ... <child...>`):
   * `-h` counts as help only among the flags, so a child's own `-h` reaches the child.
   */
  readonly passthrough?: boolean;
  /**
   * A Consul command augur deliberately does not have (gossip, service mesh): the one line it
   * answers with on stderr, exit 1, whatever its arguments. Listed apart in `augur --help`.
   */
  readonly unavailable?: string;
  run?(ctx: CommandContext): Promise<number>;
}

export const HTTP_CLIENT_FLAGS: readonly FlagSpec[] = [
  {
    name: "http-addr",
    kind: "string",
    placeholder: "address",
    help:
      "The address and port of the agent's HTTP API. The value can be an IP address or DNS address, but it must also include the port. " +
      "This can also be specified via the AUGUR_HTTP_ADDR or CONSUL_HTTP_ADDR environment variable. The default value is http://127.0.0.1:8500.",
  },
  {
    name: "token",
    kind: "string",
    help: "ACL token to use in the request. This can also be specified via the AUGUR_HTTP_TOKEN or CONSUL_HTTP_TOKEN environment variable.",
  },
  {
    name: "token-file",
    kind: "string",
    help: "File containing the ACL token to use in the request instead of one specified via the -token argument or an environment variable.",
  },
  {
    name: "ca-file",
    kind: "string",
    help: "Path to a CA file to use for TLS when communicating with Consul. This can also be specified via the CONSUL_CACERT environment variable.",
  },
  {
    name: "ca-path",
    kind: "string",
    help: "Path to a directory of CA certificates to use for TLS when communicating with Consul. This can also be specified via the CONSUL_CAPATH environment variable.",
  },
  {
    name: "client-cert",
    kind: "string",
    help: "Path to a client cert file to use for TLS when 'verify_incoming' is enabled. This can also be specified via the CONSUL_CLIENT_CERT environment variable.",
  },
  {
    name: "client-key",
    kind: "string",
    help: "Path to a client key file to use for TLS when 'verify_incoming' is enabled. This can also be specified via the CONSUL_CLIENT_KEY environment variable.",
  },
  {
    name: "tls-server-name",
    kind: "string",
    help: "The server name to use as the SNI host when connecting via TLS. This can also be specified via the CONSUL_TLS_SERVER_NAME environment variable.",
  },
];

export const HTTP_SERVER_FLAGS: readonly FlagSpec[] = [
  {
    name: "datacenter",
    kind: "string",
    help: "Name of the datacenter to query. If unspecified, this will default to the datacenter of the queried agent.",
  },
  {
    name: "stale",
    kind: "bool",
    help: "Permit any server (non-leader) to respond to this request. The default value is false.",
  },
];

/** Every flag a command accepts, HTTP ones included. */
export function allFlags(spec: CommandSpec): FlagSpec[] {
  const http =
    spec.http === "server"
      ? [...HTTP_CLIENT_FLAGS, ...HTTP_SERVER_FLAGS]
      : spec.http === "client"
        ? [...HTTP_CLIENT_FLAGS]
        : [];
  return [...http, ...spec.flags];
}

/** Greedy word wrap to Consul's usage width, each line indented by `pad`. */
function wrap(text: string, pad: number, width = 72): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width - pad) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.map((l) => " ".repeat(pad) + l).join("\n");
}

function flagSection(title: string, flags: readonly FlagSpec[]): string {
  const sorted = [...flags].sort((a, b) => (a.name < b.name ? -1 : 1));
  const items = sorted.map(
    (f) =>
      `  -${f.name}${f.kind === "bool" ? "" : `=<${f.placeholder ?? "value"}>`}\n${wrap(f.help, 5)}`,
  );
  return `${title}\n\n${items.join("\n\n")}`;
}

/** Consul's `flags.Usage(help, flagset)` layout. */
export function renderHelp(spec: CommandSpec): string {
  const parts = [spec.help.trim()];
  const shown = spec.flags.filter((f) => !f.hidden);
  const http = allFlags(spec).filter((f) => !spec.flags.includes(f));
  if (http.length > 0) parts.push(flagSection("HTTP API Options", http));
  if (shown.length > 0) parts.push(flagSection("Command Options", shown));
  return parts.join("\n\n");
}

/** Everything a command's `run` gets. */
export class CommandContext {
  readonly spec: CommandSpec;
  readonly args: readonly string[];
  readonly flags: ParsedFlags;
  readonly io: CliIo;
  readonly ui: Ui;

  constructor(spec: CommandSpec, args: readonly string[], flags: ParsedFlags, io: CliIo) {
    this.spec = spec;
    this.args = args;
    this.flags = flags;
    this.io = io;
    this.ui = new Ui(io);
  }

  help(): string {
    return renderHelp(this.spec);
  }

  /**
   * A client from `-http-addr`, `-token` / `-token-file`, the TLS flags (`-ca-file`, `-ca-path`,
   * `-client-cert`, `-client-key`, `-tls-server-name`) and the environment; on failure prints
   * Consul's "Error connecting to Consul agent: ..." and returns undefined. `datacenter` goes on
   * every request (Consul's commands that build their client from `-datacenter`).
   */
  async connect(options: { datacenter?: string } = {}): Promise<ConsulClient | undefined> {
    try {
      let token = this.flags.string("token");
      const tokenFile = this.flags.string("token-file");
      if (!token && tokenFile) token = (await readFile(tokenFile, "utf8")).trim();
      const address = this.flags.string("http-addr");
      const tls = {
        caFile: this.flags.string("ca-file"),
        caPath: this.flags.string("ca-path"),
        certFile: this.flags.string("client-cert"),
        keyFile: this.flags.string("client-key"),
        serverName: this.flags.string("tls-server-name"),
      };
      return new ConsulClient({
        env: this.io.env,
        tls,
        ...(address ? { address } : {}),
        ...(token ? { token } : {}),
        ...(options.datacenter ? { datacenter: options.datacenter } : {}),
      });
    } catch (err) {
      this.ui.error(
        `Error connecting to Consul agent: ${err instanceof Error ? err.message : String(err)}`,
      );
      return undefined;
    }
  }

  /** `-datacenter` and `-stale` as read options. */
  readOptions(): ReadOptions {
    const dc = this.flags.string("datacenter");
    return {
      ...(dc ? { datacenter: dc } : {}),
      ...(this.flags.bool("stale") ? { stale: true } : {}),
    };
  }

  /** Prints "Error! ..."-style messages and returns 1, for `return ctx.fail(...)`. */
  fail(message: string): number {
    this.ui.error(message);
    return 1;
  }

  /** Reads all of stdin (for `-` data arguments). */
  async readStdin(): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of this.io.stdin)
      chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
    return Buffer.concat(chunks);
  }
}

/** The message of anything thrown, for user-facing lines. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
