/**
 * `augur kv import` — Consul's command/kv/imp: the JSON `augur kv export` (or `consul kv
 * export`) writes, from the argument, `@file` or `-` (stdin), each entry put under `-prefix`
 * and reported as `Imported: <key>`. Decoding follows Go's json.Unmarshal into
 * `[]*impexp.Entry`, with its error texts: the syntax check first, then field types (`flags` a
 * uint64, exact past 2^53), then each value's strict base64 as the entry is written.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { CorruptBase64Error, decodeGoBase64 } from "../../lib/go-base64.js";
import { goJsonSyntaxError } from "../../lib/go-json-syntax.js";
import { goPathJoin } from "../../lib/go-path.js";
import { parseJsonLossless } from "../../lib/lossless-json.js";
import { errorText, type CommandContext, type CommandSpec } from "../command.js";

const MAX_UINT64 = 2n ** 64n - 1n;

interface ImportEntry {
  key: string;
  flags: bigint;
  value: string;
}

/** Consul's dataFromArgs: the text to decode, or the error to print after "Error! ". */
async function dataFromArgs(ctx: CommandContext): Promise<Buffer | string> {
  if (ctx.args.length === 0) return "Missing DATA argument";
  if (ctx.args.length > 1) return `Too many arguments (expected 1, got ${ctx.args.length})`;
  const data = ctx.args[0] as string;
  if (data === "") return "Empty DATA argument";
  if (data.startsWith("@")) {
    try {
      return await readFile(data.slice(1));
    } catch (err) {
      return `Failed to read file: ${errorText(err)}`;
    }
  }
  if (data === "-") {
    try {
      return await ctx.readStdin();
    } catch (err) {
      return `Failed to read stdin: ${errorText(err)}`;
    }
  }
  return Buffer.from(data);
}

/** Go's UnmarshalTypeError value: the JSON kind, with the literal for numbers that do not fit. */
function kindOf(v: unknown): string {
  if (Array.isArray(v)) return "array";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "number" || typeof v === "bigint") return "number";
  return typeof v === "object" ? "object" : typeof v;
}

const typeError = (value: string, into: string): string =>
  `json: cannot unmarshal ${value} into Go ${into}`;

/** One array element as Go fills an impexp.Entry: names matched case-insensitively, the rest ignored. */
function decodeEntry(raw: unknown): ImportEntry | string {
  const entry: ImportEntry = { key: "", flags: 0n, value: "" };
  // Go leaves a null element a nil *Entry, which Consul then dereferences and panics on; an
  // empty entry instead fails cleanly on its empty key.
  if (raw === null) return entry;
  if (typeof raw !== "object" || Array.isArray(raw))
    return typeError(kindOf(raw), "value of type impexp.Entry");
  for (const [name, v] of Object.entries(raw as Record<string, unknown>)) {
    const field = name.toLowerCase();
    if (v === null || !["key", "flags", "value"].includes(field)) continue;
    const into = `struct field Entry.${field} of type ${field === "flags" ? "uint64" : "string"}`;
    if (field === "flags") {
      if (typeof v !== "number" && typeof v !== "bigint") return typeError(kindOf(v), into);
      if (typeof v === "number" && !Number.isInteger(v)) return typeError(`number ${v}`, into);
      const n = BigInt(v);
      if (n < 0n || n > MAX_UINT64) return typeError(`number ${v}`, into);
      entry.flags = n;
    } else {
      if (typeof v !== "string") return typeError(kindOf(v), into);
      entry[field as "key" | "value"] = v;
    }
  }
  return entry;
}

/** json.Unmarshal(data, &[]*impexp.Entry): the entries, or Go's error text. */
export function decodeEntries(data: Buffer): ImportEntry[] | string {
  const syntax = goJsonSyntaxError(data);
  if (syntax !== undefined) return syntax;
  const doc = parseJsonLossless(data.toString("utf8"));
  if (doc === null) return [];
  if (!Array.isArray(doc)) return typeError(kindOf(doc), "value of type []*impexp.Entry");
  const entries: ImportEntry[] = [];
  for (const raw of doc) {
    const entry = decodeEntry(raw);
    if (typeof entry === "string") return entry;
    entries.push(entry);
  }
  return entries;
}

async function run(ctx: CommandContext): Promise<number> {
  const data = await dataFromArgs(ctx);
  if (typeof data === "string") return ctx.fail(`Error! ${data}`);
  const client = await ctx.connect();
  if (!client) return 1;
  const entries = decodeEntries(data);
  if (typeof entries === "string") return ctx.fail(`Cannot unmarshal data: ${entries}`);
  const prefix = ctx.flags.string("prefix");
  const dc = ctx.flags.string("datacenter");
  for (const entry of entries) {
    let value: Buffer;
    try {
      value = decodeGoBase64(entry.value);
    } catch (err) {
      if (!(err instanceof CorruptBase64Error)) throw err;
      return ctx.fail(`Error base 64 decoding value for key ${entry.key}: ${err.message}`);
    }
    let key = goPathJoin(prefix, entry.key);
    // path.Join drops a trailing slash; a "directory" key keeps it.
    if (entry.key.endsWith("/")) key += "/";
    try {
      await client.kvPut(key, value, { flags: entry.flags, ...(dc ? { datacenter: dc } : {}) });
    } catch (err) {
      return ctx.fail(`Error! Failed writing data for key ${key}: ${errorText(err)}`);
    }
    ctx.ui.info(`Imported: ${key}`);
  }
  return 0;
}

export const kvImportCommand: CommandSpec = {
  name: "kv import",
  synopsis: "Imports a tree stored as JSON to the KV store",
  http: "server",
  flags: [{ name: "prefix", kind: "string", help: "Key prefix for imported data" }],
  help: `
Usage: augur kv import [DATA]

  Imports key-value pairs to the key-value store from the JSON representation
  generated by the "augur kv export" command.

  The data can be read from a file by prefixing the filename with the "@"
  symbol. For example:

      $ augur kv import @filename.json

  Or it can be read from stdin using the "-" symbol:

      $ cat filename.json | augur kv import -

  Alternatively the data may be provided as the final parameter to the command,
  though care must be taken with regards to shell escaping.

  For a full list of options and examples, please see the Consul documentation.
`,
  run,
};
