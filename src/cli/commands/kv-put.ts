/**
 * `augur kv put` — Consul's command/kv/put: `KEY [DATA]` where DATA may be `@file` or `-`
 * (stdin), `-flags`, `-base64`, `-cas -modify-index`, `-acquire`/`-release` with `-session`.
 *
 * @module
 */
import { errorText, type CommandContext, type CommandSpec } from "../command.js";
import { loadDataSource } from "../data-source.js";

/** Go's base64.StdEncoding.DecodeString is strict: padded, no whitespace. */
function decodeStdBase64(text: string): Buffer | undefined {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  return Buffer.from(text, "base64");
}

async function readArgs(ctx: CommandContext): Promise<{ key: string; data: Buffer } | string> {
  const [key, data] = ctx.args;
  if (key === undefined) return "Missing KEY argument";
  if (ctx.args.length > 2) return `Too many arguments (expected 1 or 2, got ${ctx.args.length})`;
  try {
    return { key, data: await loadDataSource(ctx, data ?? "") };
  } catch (err) {
    return errorText(err);
  }
}

async function run(ctx: CommandContext): Promise<number> {
  const { flags, ui } = ctx;
  const parsed = await readArgs(ctx);
  if (typeof parsed === "string") return ctx.fail(`Error! ${parsed}`);
  const { key } = parsed;
  let data = parsed.data;
  if (flags.bool("base64")) {
    const decoded = decodeStdBase64(data.toString("utf8"));
    // Consul prints this and carries on with what it decoded; stopping is the safer reading.
    if (!decoded) return ctx.fail("Error! Cannot base 64 decode data: illegal base64 data");
    data = decoded;
  }
  const session = flags.string("session");
  const acquire = flags.bool("acquire");
  const release = flags.bool("release");
  if ((acquire || release) && session === "")
    return ctx.fail("Error! Missing -session (required with -acquire and -release)");
  const client = await ctx.connect();
  if (!client) return 1;
  const modifyIndex = flags.has("modify-index") ? flags.string("modify-index") : "0";
  const kvFlags = flags.has("flags") ? flags.string("flags") : "0";
  const dc = flags.string("datacenter");
  const base = { flags: kvFlags, ...(dc ? { datacenter: dc } : {}) };
  if (flags.bool("cas")) {
    let ok: boolean;
    try {
      ok = await client.kvPut(key, data, { ...base, cas: modifyIndex });
    } catch (err) {
      return ctx.fail(`Error! Did not write to ${key}: ${errorText(err)}`);
    }
    if (!ok && modifyIndex === "0")
      return ctx.fail(
        `Error! Did not write to ${key}: CAS performed with index=0 and key already exists.`,
      );
    if (!ok) return ctx.fail(`Error! Did not write to ${key}: CAS failed`);
    ui.info(`Success! Data written to: ${key}`);
    return 0;
  }
  if (acquire || release) {
    const verb = acquire ? "acquire" : "release";
    let ok: boolean;
    try {
      ok = await client.kvPut(key, data, { ...base, [verb]: session });
    } catch (err) {
      return ctx.fail(`Error! Failed writing data: ${errorText(err)}`);
    }
    if (!ok) return ctx.fail(`Error! Did not ${verb} lock`);
    ui.info(`Success! Lock ${acquire ? "acquired" : "released"} on: ${key}`);
    return 0;
  }
  try {
    await client.kvPut(key, data, base);
  } catch (err) {
    return ctx.fail(`Error! Failed writing data: ${errorText(err)}`);
  }
  ui.info(`Success! Data written to: ${key}`);
  return 0;
}

export const kvPutCommand: CommandSpec = {
  name: "kv put",
  synopsis: "Sets or updates data in the KV store",
  http: "server",
  flags: [
    {
      name: "acquire",
      kind: "bool",
      help: "Obtain a lock on the key. If the key does not exist, this operation will create the key and obtain the lock. The session must already exist and be specified via the -session flag. The default value is false.",
    },
    {
      name: "base64",
      kind: "bool",
      help: "Treat the data as base 64 encoded. The default value is false.",
    },
    {
      name: "cas",
      kind: "bool",
      help: "Perform a Check-And-Set operation. Specifying this value also requires the -modify-index flag to be set. The default value is false.",
    },
    {
      name: "flags",
      kind: "uint",
      placeholder: "uint",
      help: "Unsigned integer value to assign to this key-value pair. This value is not read by the agent, so clients can use this value however makes sense for their use case. The default value is 0 (no flags).",
    },
    {
      name: "modify-index",
      kind: "uint",
      placeholder: "uint",
      help: "Unsigned integer representing the ModifyIndex of the key. This is used in combination with the -cas flag.",
    },
    {
      name: "release",
      kind: "bool",
      help: "Forfeit the lock on the key at the given path. This requires the -session flag to be set. The key must be held by the session in order to be unlocked. The default value is false.",
    },
    {
      name: "session",
      kind: "string",
      help: "User-defined identifer for this session as a string. This is commonly used with the -acquire and -release operations to build robust locking, but it can be set on any key. The default value is empty (no session).",
    },
  ],
  help: `
Usage: augur kv put [options] KEY [DATA]

  Writes the data to the given path in the key-value store. The data can be of
  any type.

      $ augur kv put config/redis/maxconns 5

  The data can also be consumed from a file on disk by prefixing with the "@"
  symbol. For example:

      $ augur kv put config/program/license @license.lic

  Or it can be read from stdin using the "-" symbol:

      $ echo "abcd1234" | augur kv put config/program/license -

  The DATA argument itself is optional. If omitted, this will create an empty
  key-value pair at the specified path:

      $ augur kv put webapp/beta/active

  If the -base64 flag is specified, the data will be treated as base 64
  encoded.

  To perform a Check-And-Set operation, specify the -cas flag with the
  appropriate -modify-index flag corresponding to the key you want to perform
  the CAS operation on:

      $ augur kv put -cas -modify-index=844 config/redis/maxconns 5
`,
  run,
};
