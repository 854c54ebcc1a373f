/**
 * What `augur watch` and its subcommands do (their specs, flags and help: `commands/watch.ts`),
 * as `consul watch` (command/watch/watch.go):
 *
 * - `augur watch -type=<t> [...] [child...]`: without a child, print the current result as
 *   4-space-indented JSON and exit; with one, run it on every change with the payload on stdin and
 *   `CONSUL_INDEX` set, inheriting stdout/stderr (`-shell`, the default, joins the child's words
 *   and runs them with `$SHELL -c`).
 * - `augur watch deliveries`: the agent's pending deliveries, recent deliveries and dead letters.
 * - `augur watch replay <id> | -all-dead`: re-queue dead letters.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { escapePath, type ConsulClient } from "../client/consul-client.js";
import { requireOk } from "../client/response.js";
import { parseGoBool, UsageError, type ParsedFlags } from "../lib/go-flags.js";
import { systemClock } from "../watch/clock.js";
import { goJson } from "../watch/go-json.js";
import { Params } from "../watch/params.js";
import { WatchPlan } from "../watch/plan.js";
import { parseWatchQuery } from "../watch/query-definition.js";
import { runQuery } from "../watch/query.js";
import type { WatchQuery } from "../watch/types.js";
import { errorText, type CommandContext } from "./command.js";

/** `augur watch`; returns the exit status (errors are written to stderr, as Consul's). */
export async function runWatch(ctx: CommandContext): Promise<number> {
  let query: WatchQuery;
  try {
    query = queryFromFlags(ctx.flags, ctx.help());
  } catch (err) {
    return ctx.fail(errorText(err));
  }
  const client = await ctx.connect();
  if (!client) return 1;
  try {
    requireOk(await client.request("GET", "/v1/agent/self", { timeoutMs: 30_000 }));
  } catch (err) {
    return ctx.fail(`Error querying Consul agent: ${errorText(err)}`);
  }
  if (ctx.args.length === 0) {
    const { result } = await runQuery(client, query, { index: 0n, waitMs: 0 });
    ctx.io.stdout.write(`${goJson(result, "    ")}\n`);
    return 0;
  }
  return runChildOnChanges(ctx, client, query);
}

/** Consul's command: the params map, then watch.Parse. */
function queryFromFlags(flags: ParsedFlags, help: string): WatchQuery {
  const params: Record<string, unknown> = {};
  const s = (name: string, key = name): void => {
    const v = flags.string(name);
    if (v) params[key] = v;
  };
  if (!flags.string("type")) throw new UsageError(`Watch type must be specified\n\n${help}`);
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
  if (flags.bool("stale")) params["stale"] = true;
  const passing = flags.string("passingonly");
  if (passing) {
    const b = parseGoBool(passing);
    if (b === undefined)
      throw new UsageError(
        `Failed to parse passingonly flag: strconv.ParseBool: parsing ${JSON.stringify(passing)}: invalid syntax`,
      );
    params["passingonly"] = b;
  }
  const p = new Params(params);
  const query = parseWatchQuery(p);
  p.assertConsumed();
  return query;
}

/** Runs the child on every change until a signal, or until the child fails (Consul: exit 1). */
async function runChildOnChanges(
  ctx: CommandContext,
  client: ConsulClient,
  query: WatchQuery,
): Promise<number> {
  const useShell = ctx.flags.bool("shell", true);
  const env = ctx.io.env;
  let code = 0;
  let plan: WatchPlan | undefined = undefined;
  const stopOn = (): void => void plan?.stop();
  plan = new WatchPlan({
    source: client,
    query,
    clock: systemClock(),
    onError: (err, retry) =>
      ctx.ui.error(
        `Watch (type: ${query.type}) errored: ${err.message}, retry in ${Math.round(retry / 1000)}s`,
      ),
    onResult: async ({ index, result }) => {
      const status = await runChild(ctx.args, useShell, `${goJson(result)}\n`, {
        ...env,
        CONSUL_INDEX: index.toString(),
      });
      if (status !== undefined) {
        ctx.ui.error(`Error executing handler: ${status}`);
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
function runChild(
  words: readonly string[],
  useShell: boolean,
  input: string,
  env: NodeJS.ProcessEnv,
): Promise<string | undefined> {
  const [cmd, args] = useShell
    ? [env["SHELL"] || "/bin/sh", ["-c", words.join(" ")]]
    : [words[0] as string, words.slice(1)];
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, stdio: ["pipe", "inherit", "inherit"] });
    child.stdin.on("error", () => undefined);
    child.stdin.end(input);
    child.once("error", (err) => resolve(err.message));
    child.once("exit", (c, sig) =>
      resolve(
        c === 0 ? undefined : c !== null ? `exit status ${c}` : `signal: ${sig ?? "unknown"}`,
      ),
    );
  });
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

async function call(
  c: ConsulClient,
  method: "GET" | "PUT",
  path: string,
  query: Record<string, string | undefined>,
): Promise<unknown> {
  return requireOk(await c.request(method, path, { query, timeoutMs: 30_000 })).json<unknown>();
}

/** `augur watch deliveries`. */
export async function runDeliveries(ctx: CommandContext): Promise<number> {
  const { flags } = ctx;
  const client = await ctx.connect();
  if (!client) return 1;
  const query = {
    watch: flags.string("watch") || undefined,
    limit: flags.string("limit") || undefined,
  };
  let report: Record<string, DeliveryJson[]>;
  try {
    report = (await call(client, "GET", "/v1/agent/watch/deliveries", query)) as Record<
      string,
      DeliveryJson[]
    >;
  } catch (err) {
    return ctx.fail(errorText(err));
  }
  if (flags.string("format") === "json") {
    ctx.ui.info(JSON.stringify(report, null, 4));
    return 0;
  }
  for (const [title, key] of [
    ["Pending", "Pending"],
    ["Recent deliveries", "Recent"],
    ["Dead letters", "Dead"],
  ] as const) {
    const rows = report[key] ?? [];
    ctx.io.stdout.write(`${title} (${rows.length}):\n`);
    if (rows.length > 0) ctx.io.stdout.write(table(rows));
  }
  return 0;
}

function table(rows: readonly DeliveryJson[]): string {
  const head = ["ID", "Status", "Watch", "Attempts", "Index", "Created", "Event", "Error"];
  const body = rows.map((r) => [
    r.ID,
    r.Status,
    r.Watch,
    String(r.Attempts),
    r.Index,
    r.CreatedAt ?? "",
    r.EventID,
    r.LastError,
  ]);
  const widths = head.map((h, i) =>
    Math.max(h.length, ...body.map((row) => (row[i] ?? "").length)),
  );
  const line = (cells: readonly string[]): string =>
    `  ${cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join("  ")}`.trimEnd() +
    "\n";
  return [head, ...body].map(line).join("");
}

/** `augur watch replay <id> | -all-dead`. */
export async function runReplay(ctx: CommandContext): Promise<number> {
  const allDead = ctx.flags.bool("all-dead");
  const id = ctx.args[0];
  if ((id === undefined) === !allDead || ctx.args.length > 1)
    return ctx.fail(`Give one delivery ID or -all-dead\n\n${ctx.help()}`);
  const client = await ctx.connect();
  if (!client) return 1;
  const path = allDead
    ? "/v1/agent/watch/replay"
    : `/v1/agent/watch/replay/${escapePath(id ?? "")}`;
  let res: { Replayed: DeliveryJson[] };
  try {
    res = (await call(client, "PUT", path, allDead ? { "all-dead": "" } : {})) as {
      Replayed: DeliveryJson[];
    };
  } catch (err) {
    return ctx.fail(errorText(err));
  }
  const n = res.Replayed.length;
  ctx.ui.info(
    `Re-queued ${n} deliver${n === 1 ? "y" : "ies"}${n > 0 ? `: ${res.Replayed.map((r) => r.ID).join(", ")}` : ""}`,
  );
  return 0;
}
