/**
 * `augur kv delete` — Consul's command/kv/del: one key, a prefix with `-recurse`, or a
 * check-and-set delete with `-cas -modify-index`.
 *
 * @module
 */
import { errorText, type CommandContext, type CommandSpec } from "../command.js";

function validate(ctx: CommandContext, key: string): string | undefined {
  const { flags } = ctx;
  const cas = flags.bool("cas");
  const recurse = flags.bool("recurse");
  const modifyIndex = flags.has("modify-index") ? flags.string("modify-index") : "0";
  if (key === "" && !recurse) return "Error! Missing KEY argument";
  if (cas && modifyIndex === "0")
    return "Cannot delete a key that does not exist. Provide a -modify-index greater than than 0.";
  if (modifyIndex !== "0" && !cas) return "Cannot specify -modify-index without -cas!";
  if (recurse && cas) return "Cannot specify both -cas and -recurse!";
  return undefined;
}

async function run(ctx: CommandContext): Promise<number> {
  const { flags, ui } = ctx;
  if (ctx.args.length > 1)
    return ctx.fail(`Too many arguments (expected 1, got ${ctx.args.length})`);
  let key = ctx.args[0] ?? "";
  if (key.startsWith("/")) key = key.slice(1);
  const problem = validate(ctx, key);
  if (problem) return ctx.fail(problem);
  const client = await ctx.connect();
  if (!client) return 1;
  const dc = flags.string("datacenter");
  const base = dc ? { datacenter: dc } : {};
  if (flags.bool("recurse")) {
    try {
      await client.kvDelete(key, { ...base, recurse: true });
    } catch (err) {
      return ctx.fail(`Error! Did not delete prefix ${key}: ${errorText(err)}`);
    }
    ui.info(`Success! Deleted keys with prefix: ${key}`);
    return 0;
  }
  if (flags.bool("cas")) {
    let ok: boolean;
    try {
      ok = await client.kvDelete(key, { ...base, cas: flags.string("modify-index") });
    } catch (err) {
      return ctx.fail(`Error! Did not delete key ${key}: ${errorText(err)}`);
    }
    if (!ok) return ctx.fail(`Error! Did not delete key ${key}: CAS failed`);
    ui.info(`Success! Deleted key: ${key}`);
    return 0;
  }
  try {
    await client.kvDelete(key, base);
  } catch (err) {
    return ctx.fail(`Error deleting key ${key}: ${errorText(err)}`);
  }
  ui.info(`Success! Deleted key: ${key}`);
  return 0;
}

export const kvDeleteCommand: CommandSpec = {
  name: "kv delete",
  synopsis: "Removes data from the KV store",
  http: "server",
  flags: [
    {
      name: "cas",
      kind: "bool",
      help: "Perform a Check-And-Set operation. Specifying this value also requires the -modify-index flag to be set. The default value is false.",
    },
    {
      name: "modify-index",
      kind: "uint",
      placeholder: "uint",
      help: "Unsigned integer representing the ModifyIndex of the key. This is used in combination with the -cas flag.",
    },
    {
      name: "recurse",
      kind: "bool",
      help: "Recursively delete all keys with the path. The default value is false.",
    },
  ],
  help: `
Usage: augur kv delete [options] KEY_OR_PREFIX

  Removes the value from the key-value store at the given path. If no key
  exists at the path, no action is taken.

  To delete the value for the key named "foo" in the key-value store:

      $ augur kv delete foo

  To delete all keys which start with "foo", specify the -recurse option:

      $ augur kv delete -recurse foo

  This will delete the keys named "foo", "food", and "foo/bar/zip" if they
  existed.
`,
  run,
};
