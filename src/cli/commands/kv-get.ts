/**
 * `augur kv get` — Consul's command/kv/get: the raw value, `-detailed` metadata (tabwriter
 * layout), `-recurse` as `key:value` lines, `-keys` with `-separator`, `-base64`.
 *
 * @module
 */
import type { KVPair } from "../../catalog/types.js";
import { errorText, type CommandContext, type CommandSpec } from "../command.js";
import { tabwrite } from "../format.js";

const valueOf = (pair: KVPair): Buffer => Buffer.from(pair.Value ?? "", "base64");

/** Consul's prettyKVPair: fields in this order, a key column padded by tabwriter. */
export function prettyKVPair(pair: KVPair, base64: boolean): Buffer {
  const head = tabwrite(
    [
      `CreateIndex\t${pair.CreateIndex}`,
      `Flags\t${pair.Flags}`,
      `Key\t${pair.Key}`,
      `LockIndex\t${pair.LockIndex}`,
      `ModifyIndex\t${pair.ModifyIndex}`,
      `Session\t${pair.Session ? pair.Session : "-"}`,
      "Value\t",
    ].join("\n"),
  );
  const value = base64 ? Buffer.from(valueOf(pair).toString("base64")) : valueOf(pair);
  return Buffer.concat([Buffer.from(head), value]);
}

async function run(ctx: CommandContext): Promise<number> {
  const { flags, ui } = ctx;
  if (ctx.args.length > 1)
    return ctx.fail(`Too many arguments (expected 1, got ${ctx.args.length})`);
  // Consul strips one leading "/" as a courtesy: keys cannot start with one.
  let key = ctx.args[0] ?? "";
  if (key.startsWith("/")) key = key.slice(1);
  const recurse = flags.bool("recurse");
  const keys = flags.bool("keys");
  if (key === "" && !recurse && !keys) return ctx.fail("Error! Missing KEY argument");
  const client = await ctx.connect();
  if (!client) return 1;
  const base64 = flags.bool("base64");
  const detailed = flags.bool("detailed");
  try {
    if (keys) {
      const separator = flags.has("separator") ? flags.string("separator") : "/";
      for (const k of await client.kvKeys(key, separator, ctx.readOptions())) ui.info(k);
      return 0;
    }
    if (recurse) {
      const pairs = await client.kvList(key, ctx.readOptions());
      pairs.forEach((pair, i) => {
        if (detailed) {
          ui.info(prettyKVPair(pair, base64));
          if (i < pairs.length - 1) ui.info("");
        } else {
          const value = base64 ? Buffer.from(valueOf(pair).toString("base64")) : valueOf(pair);
          ui.info(Buffer.concat([Buffer.from(`${pair.Key}:`), value]));
        }
      });
      return 0;
    }
    const pair = await client.kvGet(key, ctx.readOptions());
    if (!pair) return ctx.fail(`Error! No key exists at: ${key}`);
    ui.info(
      detailed
        ? prettyKVPair(pair, base64)
        : base64
          ? valueOf(pair).toString("base64")
          : valueOf(pair),
    );
    return 0;
  } catch (err) {
    return ctx.fail(`Error querying Consul agent: ${errorText(err)}`);
  }
}

export const kvGetCommand: CommandSpec = {
  name: "kv get",
  synopsis: "Retrieves or lists data from the KV store",
  http: "server",
  flags: [
    { name: "base64", kind: "bool", help: "Base64 encode the value. The default value is false." },
    {
      name: "detailed",
      kind: "bool",
      help: "Provide additional metadata about the key in addition to the value such as the ModifyIndex and any flags that may have been set on the key. The default value is false.",
    },
    {
      name: "keys",
      kind: "bool",
      help: "List keys which start with the given prefix, but not their values. This option is commonly combined with the -separator option. The default value is false.",
    },
    {
      name: "recurse",
      kind: "bool",
      help: "Recursively look at all keys prefixed with the given path. The default value is false.",
    },
    {
      name: "separator",
      kind: "string",
      help: 'String to use as a separator between keys. The default value is "/", but this option is only taken into account when paired with the -keys flag.',
    },
  ],
  help: `
Usage: augur kv get [options] [KEY_OR_PREFIX]

  Retrieves the value from the key-value store at the given key name. If no
  key exists with that name, an error is returned. If a key exists with that
  name but has no data, nothing is returned. If the name or prefix is omitted,
  it defaults to "" which is the root of the key-value store.

  To retrieve the value for the key named "foo" in the key-value store:

      $ augur kv get foo

  To view detailed information about the key, specify the "-detailed" flag:

      $ augur kv get -detailed foo

  To treat the path as a prefix and list all keys which start with the given
  prefix, specify the "-recurse" flag:

      $ augur kv get -recurse foo

  To just list the keys which start with the specified prefix, use "-keys":

      $ augur kv get -keys foo
`,
  run,
};
