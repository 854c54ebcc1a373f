/**
 * `augur kv export` — Consul's command/kv/exp: every pair under a prefix as a JSON array of
 * `{"key","flags","value"}` (impexp.Entry: `value` standard base64, `flags` the exact uint64),
 * written as Go's json.MarshalIndent with a tab, for `augur kv import` (or `consul kv import`).
 *
 * @module
 */
import { goJson } from "../../watch/go-json.js";
import { errorText, type CommandContext, type CommandSpec } from "../command.js";

/** impexp.Entry, in its field order. */
export interface KvExportEntry {
  key: string;
  flags: number | bigint;
  value: string;
}

async function run(ctx: CommandContext): Promise<number> {
  if (ctx.args.length > 1)
    return ctx.fail(`Too many arguments (expected 1, got ${ctx.args.length})`);
  // Consul strips one leading "/" as a courtesy: keys cannot start with one.
  let prefix = ctx.args[0] ?? "";
  if (prefix.startsWith("/")) prefix = prefix.slice(1);
  const client = await ctx.connect();
  if (!client) return 1;
  let entries: KvExportEntry[];
  try {
    const pairs = await client.kvList(prefix, ctx.readOptions());
    entries = pairs.map((p) => ({ key: p.Key, flags: p.Flags, value: p.Value ?? "" }));
  } catch (err) {
    return ctx.fail(`Error querying Consul agent: ${errorText(err)}`);
  }
  ctx.ui.info(goJson(entries, "\t"));
  return 0;
}

export const kvExportCommand: CommandSpec = {
  name: "kv export",
  synopsis: "Exports a tree from the KV store as JSON",
  http: "server",
  flags: [],
  help: `
Usage: augur kv export [KEY_OR_PREFIX]

  Retrieves key-value pairs for the given prefix from Consul's key-value store,
  and writes a JSON representation to stdout. This can be used with the command
  "augur kv import" to move entire trees between Consul clusters.

      $ augur kv export vault

  For a full list of options and examples, please see the Consul documentation.
`,
  run,
};
