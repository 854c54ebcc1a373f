/**
 * `augur watch`, as `consul watch` (command/watch/watch.go):
 *
 * - `augur watch -type=<t> [-key -prefix -service -tag -passingonly -state -name -filter]
 *   [-http-addr -token -token-file -datacenter -stale] [-shell=true] [child...]`: without a child,
 *   print the current result as 4-space-indented JSON and exit; with one, run it on every change
 *   with the payload on stdin and `CONSUL_INDEX` set, inheriting stdout/stderr (`-shell`, the
 *   default, joins the child's words and runs them with `$SHELL -c`).
 * - `augur watch deliveries [-watch=<id>] [-limit=<n>] [-format=json]`: the agent's pending
 *   deliveries, recent deliveries and dead letters.
 * - `augur watch replay <id> | -all-dead`: re-queue dead letters.
 *
 * Flags are parsed Go-style here (single or double dash, `-f=v` or `-f v`, parsing stops at the
 * first non-flag word or `--`), because a child command's own flags must reach it untouched.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { CommanderError, type Command } from "commander";
import { ConsulClient, escapePath } from "../client/consul-client.js";
import { toAugurError } from "../lib/errors.js";
import { systemClock } from "../watch/clock.js";
import { goJson } from "../watch/go-json.js";
import { Params } from "../watch/params.js";
import { WatchPlan } from "../watch/plan.js";
import { parseWatchQuery } from "../watch/query-definition.js";
import { runQuery } from "../watch/query.js";
import type { WatchQuery } from "../watch/types.js";

/** Thrown to end the command with a status; main prints the message. */
const fail = (message: string, code = 1): CommanderError => new CommanderError(code, "augur.watch", message);

/** Registers `augur watch` on the CLI's commander program. */
export function registerWatchCommand(program: Command): void {
  program
    .command("watch")
    .description("Watch for changes in Consul")
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument("[args...]")
    .action(async (args: string[]) => {
      const conf = program.configureOutput();
      const out: Out = {
        stdout: (s) => (conf.writeOut ? conf.writeOut(s) : process.stdout.write(s)),
        stderr: (s) => (conf.writeErr ? conf.writeErr(s) : process.stderr.write(s)),
      };
      const code = await runWatchCommand(args, out);
      if (code !== 0) throw fail("", code);
    });
}

/** Runs `augur watch <args>`; returns the exit status (errors are written to `out.stderr`). */
export async function runWatchCommand(args: readonly string[], out: Out, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  try {
    if (args[0] === "deliveries") return await watchDeliveries(args.slice(1), out, env);
    if (args[0] === "replay") return await watchReplay(args.slice(1), out, env);
    const flags = parseGoFlags(args, WATCH_FLAGS);
    if (flags.help) {
      out.stdout(WATCH_HELP);
      return 0;
    }
    return await watch(flags, out, env);
  } catch (err) {
    out.stderr(`${toAugurError(err).message}\n`);
    return 1;
  }
}

/** Consul's command: the params map, then watch.Parse. */
function queryFromFlags(flags: GoFlags): WatchQuery {
  const params: Record<string, unknown> = {};
  const s = (name: string, key = name): void => {
    const v = flags.string(name);
    if (v) params[key] = v;
  };
  if (!flags.string("type")) throw new Error(`Watch type must be specified\n\n${WATCH_HELP}`);
  s("type");
  s("datacenter");
  s("key");
  s("prefix");
  s("service");
  s("state");
  s("name");
  s("filter");
  const tags = flags.list("tag");
  if (tags.length > 0) params["tag"] = tags.length === 1 ? tags[0] : tags;
  if (flags.bool("stale", false)) params["stale"] = true;
  const passing = flags.string("passingonly");
  if (passing) {
    const b = { "1": true, t: true, T: true, TRUE: true, true: true, True: true, "0": false, f: false, F: false, FALSE: false, false: false, False: false }[passing];
    if (b === undefined) throw new Error(`Failed to parse passingonly flag: strconv.ParseBool: parsing ${JSON.stringify(passing)}: invalid syntax`);
    params["passingonly"] = b;
  }
  const p = new Params(params);
  const query = parseWatchQuery(p);
  p.assertConsumed();
  return query;
}

function clientFromFlags(flags: GoFlags, env: NodeJS.ProcessEnv): ConsulClient {
  const tokenFile = flags.string("token-file");
  const token = flags.string("token") || (tokenFile ? readFileSync(tokenFile, "utf8").trim() : undefined);
  const address = flags.string("http-addr");
  return new ConsulClient({ env, ...(address ? { address } : {}), ...(token ? { token } : {}) });
}

async function watch(flags: GoFlags, out: Out, env: NodeJS.ProcessEnv): Promise<number> {
  const query = queryFromFlags(flags);
  const client = clientFromFlags(flags, env);
  try {
    await client.request("GET", "/v1/agent/self", { timeoutMs: 30_000 }).then((r) => {
      if (r.status !== 200) throw new Error(`Unexpected response code: ${r.status} (${r.text().trim()})`);
    });
  } catch (err) {
    out.stderr(`Error querying Consul agent: ${toAugurError(err).message}\n`);
    return 1;
  }
  if (flags.rest.length === 0) {
    const { result } = await runQuery(client, query, { index: 0n, waitMs: 0 });
    out.stdout(`${goJson(result, "    ")}\n`);
    return 0;
  }
  return runChildOnChanges(client, query, flags, out, env);
}

/** Runs the child on every change until a signal, or until the child fails (Consul: exit 1). */
async function runChildOnChanges(client: ConsulClient, query: WatchQuery, flags: GoFlags, out: Out, env: NodeJS.ProcessEnv): Promise<number> {
  const useShell = flags.bool("shell", true);
  let code = 0;
  let plan: WatchPlan | undefined = undefined;
  const stopOn = (): void => void plan?.stop();
  plan = new WatchPlan({
    source: client,
    query,
    clock: systemClock(),
    onError: (err, retry) => out.stderr(`Watch (type: ${query.type}) errored: ${err.message}, retry in ${Math.round(retry / 1000)}s\n`),
    onResult: async ({ index, result }) => {
      const status = await runChild(flags.rest, useShell, `${goJson(result)}\n`, { ...env, CONSUL_INDEX: index.toString() });
      if (status !== undefined) {
        out.stderr(`Error executing handler: ${status}\n`);
        code = 1;
        void plan?.stop();
      }
    },
  });
  process.once("SIGINT", stopOn);
  process.once("SIGTERM", stopOn);
  plan.start();
  await plan.finished();
  process.off("SIGINT", stopOn);
  process.off("SIGTERM", stopOn);
  return code;
}

/** Runs the child once; resolves undefined on success, or Go's error text (`exit status 2`). */
function runChild(words: readonly string[], useShell: boolean, input: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const [cmd, args] = useShell ? [env["SHELL"] || "/bin/sh", ["-c", words.join(" ")]] : [words[0] as string, words.slice(1)];
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, stdio: ["pipe", "inherit", "inherit"] });
    child.stdin.on("error", () => undefined);
    child.stdin.end(input);
    child.once("error", (err) => resolve(err.message));
    child.once("exit", (c, sig) => resolve(c === 0 ? undefined : c !== null ? `exit status ${c}` : `signal: ${sig ?? "unknown"}`));
  });
}

// --- Go-style flags ---------------------------------------------------------------------------

export interface Out {
  stdout(text: string): void;
  stderr(text: string): void;
}

export interface FlagSpec {
  readonly kind: "string" | "bool" | "list";
}

export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

const STRING: FlagSpec = { kind: "string" };
const BOOL: FlagSpec = { kind: "bool" };

/** The HTTP flags every client command takes (Consul's flags.HTTPFlags). */
export const HTTP_FLAGS: FlagSpecs = { "http-addr": STRING, token: STRING, "token-file": STRING, datacenter: STRING, stale: BOOL };

export const WATCH_FLAGS: FlagSpecs = {
  ...HTTP_FLAGS,
  type: STRING,
  key: STRING,
  prefix: STRING,
  service: STRING,
  tag: { kind: "list" },
  passingonly: STRING,
  state: STRING,
  name: STRING,
  filter: STRING,
  shell: BOOL,
};

export const WATCH_HELP = `Usage: augur watch [options] [child...]

  Watches for changes in a given data view from Consul. If a child process
  is specified, it will be invoked with the latest results on changes. Otherwise,
  the latest values are dumped to stdout and the watch terminates.

  Providing the watch type is required, and other parameters may be required
  or supported depending on the watch type.

  Subcommands:
    augur watch deliveries [-watch=<id>] [-limit=<n>] [-format=json]
    augur watch replay <delivery-id> | -all-dead

Options:
  -type=<t>          key, keyprefix, services, nodes, service, checks or event.
  -key=<k>           The key to watch ('key').
  -prefix=<p>        The key prefix to watch ('keyprefix').
  -service=<s>       The service ('service'; optional for 'checks').
  -tag=<t>           A service tag to filter on ('service'); may repeat.
  -passingonly=<b>   Only instances passing all checks ('service'): true or false.
  -state=<s>         Check state ('checks'): any, passing, warning, critical.
  -name=<n>          Event name ('event').
  -filter=<expr>     A filter expression (services, nodes, service, checks).
  -shell=<b>         Run the child through $SHELL -c (default true).
  -http-addr=<addr>  Agent address (default $CONSUL_HTTP_ADDR or 127.0.0.1:8500).
  -token=<t>, -token-file=<f>, -datacenter=<dc>, -stale
`;

export interface GoFlags {
  readonly help: boolean;
  /** Words after the flags (the child command). */
  readonly rest: readonly string[];
  string(name: string): string | undefined;
  bool(name: string, fallback: boolean): boolean;
  list(name: string): string[];
}

const GO_BOOL: Record<string, boolean> = { "1": true, t: true, T: true, TRUE: true, true: true, True: true, "0": false, f: false, F: false, FALSE: false, false: false, False: false };

/** Parses `args`; throws with Go's wording for an unknown flag or a missing value. */
export function parseGoFlags(args: readonly string[], specs: FlagSpecs): GoFlags {
  const values = new Map<string, string[]>();
  let help = false;
  let i = 0;
  for (; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === "--") {
      i++;
      break;
    }
    const m = /^--?([^=]+)(?:=(.*))?$/s.exec(arg);
    if (arg === "-" || m === null) break;
    const name = m[1] as string;
    if (name === "h" || name === "help") {
      help = true;
      continue;
    }
    const spec = specs[name];
    if (spec === undefined) throw new Error(`flag provided but not defined: -${name}`);
    let value = m[2];
    if (value === undefined) {
      if (spec.kind === "bool") value = "true";
      else if (i + 1 < args.length) value = args[++i] as string;
      else throw new Error(`flag needs an argument: -${name}`);
    }
    if (spec.kind === "bool" && GO_BOOL[value] === undefined) throw new Error(`invalid boolean value ${JSON.stringify(value)} for -${name}: parse error`);
    values.set(name, [...(values.get(name) ?? []), value]);
  }
  const rest = args.slice(i);
  return {
    help,
    rest,
    string: (name) => values.get(name)?.at(-1),
    bool: (name, fallback) => {
      const v = values.get(name)?.at(-1);
      return v === undefined ? fallback : (GO_BOOL[v] ?? fallback);
    },
    list: (name) => values.get(name) ?? [],
  };
}

// --- deliveries and replay --------------------------------------------------------------------

interface DeliveryJson {
  ID: string;
  EventID: string;
  Watch: string;
  Status: string;
  Index: string;
  CreatedAt: string | null;
  Attempts: number;
  NextAttemptAt: string | null;
  FinishedAt: string | null;
  LastError: string;
}

const DELIVERIES_HELP = `Usage: augur watch deliveries [options]

  Lists the agent's pending watch deliveries, recent deliveries and dead letters.

Options:
  -watch=<id>      Only this watch.
  -limit=<n>       At most n entries per list (default 100).
  -format=json     Print the API's JSON.
  -http-addr, -token, -token-file
`;

const REPLAY_HELP = `Usage: augur watch replay <delivery-id> | -all-dead

  Re-queues dead letters for delivery (attempts reset; the same Idempotency-Key).
`;

async function call(c: ConsulClient, method: "GET" | "PUT", path: string, query: Record<string, string | undefined>): Promise<unknown> {
  const res = await c.request(method, path, { query, timeoutMs: 30_000 });
  if (res.status !== 200) throw new Error(`Unexpected response code: ${res.status} (${res.text().trim()})`);
  return res.json<unknown>();
}

export async function watchDeliveries(args: readonly string[], out: Out, env: NodeJS.ProcessEnv): Promise<number> {
  const flags = parseGoFlags(args, { ...HTTP_FLAGS, watch: { kind: "string" }, limit: { kind: "string" }, format: { kind: "string" } });
  if (flags.help) {
    out.stdout(DELIVERIES_HELP);
    return 0;
  }
  const report = (await call(clientFromFlags(flags, env), "GET", "/v1/agent/watch/deliveries", { watch: flags.string("watch"), limit: flags.string("limit") })) as Record<string, DeliveryJson[]>;
  if (flags.string("format") === "json") {
    out.stdout(`${JSON.stringify(report, null, 4)}\n`);
    return 0;
  }
  for (const [title, key] of [["Pending", "Pending"], ["Recent deliveries", "Recent"], ["Dead letters", "Dead"]] as const) {
    const rows = report[key] ?? [];
    out.stdout(`${title} (${rows.length}):\n`);
    if (rows.length > 0) out.stdout(table(rows));
  }
  return 0;
}

function table(rows: readonly DeliveryJson[]): string {
  const head = ["ID", "Status", "Watch", "Attempts", "Index", "Created", "Event", "Error"];
  const body = rows.map((r) => [r.ID, r.Status, r.Watch, String(r.Attempts), r.Index, r.CreatedAt ?? "", r.EventID, r.LastError]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? "").length)));
  const line = (cells: readonly string[]): string => `  ${cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join("  ")}`.trimEnd() + "\n";
  return [head, ...body].map(line).join("");
}

export async function watchReplay(args: readonly string[], out: Out, env: NodeJS.ProcessEnv): Promise<number> {
  const flags = parseGoFlags(args, { ...HTTP_FLAGS, "all-dead": { kind: "bool" } });
  if (flags.help) {
    out.stdout(REPLAY_HELP);
    return 0;
  }
  const allDead = flags.bool("all-dead", false);
  const id = flags.rest[0];
  if ((id === undefined) === !allDead || flags.rest.length > 1) {
    out.stderr(`Give one delivery ID or -all-dead\n\n${REPLAY_HELP}`);
    return 1;
  }
  const path = allDead ? "/v1/agent/watch/replay" : `/v1/agent/watch/replay/${escapePath(id ?? "")}`;
  const res = (await call(clientFromFlags(flags, env), "PUT", path, allDead ? { "all-dead": "" } : {})) as { Replayed: DeliveryJson[] };
  out.stdout(`Re-queued ${res.Replayed.length} deliver${res.Replayed.length === 1 ? "y" : "ies"}${res.Replayed.length > 0 ? `: ${res.Replayed.map((r) => r.ID).join(", ")}` : ""}\n`);
  return 0;
}
