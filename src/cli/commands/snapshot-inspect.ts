/**
 * `augur snapshot inspect` — Consul's command/snapshot/inspect: the archive's metadata (ID, Size,
 * Index, Term, Version) and a Type/Count/Size table, in Consul's tabwriter layout, or `-format
 * json`; `-kvdetails` breaks the KV space down by key prefix (`-kvdepth`, `-kvfilter`). Read from
 * the file alone, no agent needed. A file named `state.bin` is read with the `meta.json` beside
 * it, as Consul reads a server's internal snapshot directory.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { snapshotError, unpackArchive, type SnapshotMeta } from "../../catalog/snapshot-archive.js";
import { decodeState, type DecodedState } from "../../catalog/snapshot-state.js";
import { PREFIX } from "../../catalog/records.js";
import { goHtmlEscape } from "../../lib/go-html-escape.js";
import { errorText, type CommandContext, type CommandSpec } from "../command.js";
import { tabwrite } from "../format.js";
import { fileArgument } from "./snapshot.js";

interface TypeStats {
  Name: string;
  Sum: number;
  Count: number;
}

/** Consul's OutputFormat, in its field order. */
interface InspectOutput {
  Meta: { ID: string; Size: number; Index: number; Term: number; Version: number };
  Stats: TypeStats[];
  StatsKV: TypeStats[] | null;
  TotalSize: number;
  TotalSizeKV: number;
}

/** Consul's message type names where augur keeps the same records; `Event` is augur's. */
function typeOf(key: string): string {
  if (key.startsWith(PREFIX.kv)) return "KVS";
  if (key.startsWith(PREFIX.sessions)) return "Session";
  if (key.startsWith(PREFIX.events)) return "Event";
  // A query's name claim (`query-names/`, prepared-queries.ts) has no Consul type: "Other".
  if (key.startsWith(PREFIX.queries)) return "PreparedQuery";
  if (key.startsWith(`${PREFIX.acl}token/`)) return "ACLToken";
  if (key.startsWith(`${PREFIX.acl}policy/`)) return "ACLPolicy";
  if (key.startsWith(`${PREFIX.acl}role/`)) return "ACLRole";
  if (key === "acl-bootstrap") return "ACLBootstrap";
  // Consul's snapshot holds a node, each service and each check as a Register record.
  if ([PREFIX.nodes, PREFIX.services, PREFIX.checks].some((p) => key.startsWith(p)))
    return "Register";
  return "Other";
}

/** Biggest first, then by name (Consul's sortTypeStats). */
const sorted = (stats: Iterable<TypeStats>): TypeStats[] =>
  [...stats].sort((a, b) =>
    a.Sum === b.Sum ? (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0) : b.Sum - a.Sum,
  );

function add(map: Map<string, TypeStats>, name: string, size: number): void {
  const s = map.get(name) ?? { Name: name, Sum: 0, Count: 0 };
  s.Sum += size;
  s.Count++;
  map.set(name, s);
}

export interface KvDetails {
  readonly depth: number;
  readonly filter: string;
}

export function inspectOutput(
  meta: SnapshotMeta,
  state: DecodedState,
  kv?: KvDetails,
): InspectOutput {
  const stats = new Map<string, TypeStats>();
  const statsKV = new Map<string, TypeStats>();
  let total = 0;
  let totalKV = 0;
  state.entries.forEach((e, i) => {
    const size = state.sizes[i] ?? 0;
    const type = typeOf(e.key);
    add(stats, type, size);
    total += size;
    if (!kv || type !== "KVS") return;
    const key = e.key.slice(PREFIX.kv.length);
    if (kv.filter && !key.startsWith(kv.filter)) return;
    add(statsKV, key.split("/").slice(0, Math.max(kv.depth, 0)).join("/"), size);
    totalKV += size;
  });
  return {
    Meta: {
      ID: meta.ID,
      Size: meta.Size,
      Index: meta.Index,
      Term: meta.Term,
      Version: meta.Version,
    },
    Stats: sorted(stats.values()),
    StatsKV: kv && statsKV.size > 0 ? sorted(statsKV.values()) : null,
    TotalSize: total,
    TotalSizeKV: totalKV,
  };
}

/** Consul's ByteSize: binary units, one decimal, a trailing ".0" dropped. */
export function byteSize(bytes: number): string {
  const units: [number, string][] = [
    [2 ** 40, "TB"],
    [2 ** 30, "GB"],
    [2 ** 20, "MB"],
    [2 ** 10, "KB"],
    [1, "B"],
  ];
  if (bytes === 0) return "0";
  const [scale, unit] = units.find(([s]) => bytes >= s) ?? [1, "B"];
  return `${(bytes / scale).toFixed(1).replace(/\.0$/, "")}${unit}`;
}

/** The pretty format: one tabwriter (minwidth 8, padding 6) over every line, as Consul's. */
export function formatPretty(out: InspectOutput): string {
  const rows = [
    ` ID\t${out.Meta.ID}`,
    ` Size\t${out.Meta.Size}`,
    ` Index\t${out.Meta.Index}`,
    ` Term\t${out.Meta.Term}`,
    ` Version\t${out.Meta.Version}`,
    "",
    ...table(" Type", out.Stats, out.TotalSize),
  ];
  if (out.StatsKV) rows.push("", ...table(" Key Name", out.StatsKV, out.TotalSizeKV));
  return tabwrite(rows.join("\n"), 6);
}

function table(head: string, stats: readonly TypeStats[], total: number): string[] {
  return [
    `${head}\tCount\tSize`,
    " ----\t----\t----",
    ...stats.map((s) => ` ${s.Name}\t${s.Count}\t${byteSize(s.Sum)}`),
    " ----\t----\t----",
    ` Total\t\t${byteSize(total)}`,
  ];
}

async function readSnapshot(file: string): Promise<{ meta: SnapshotMeta; state: Uint8Array }> {
  if (basename(file).toLowerCase() !== "state.bin") return unpackArchive(await readFile(file));
  const state = await readFile(file);
  let meta: SnapshotMeta;
  try {
    meta = JSON.parse(await readFile(join(dirname(file), "meta.json"), "utf8")) as SnapshotMeta;
  } catch (err) {
    throw snapshotError(`Error reading meta.json from internal snapshot dir: ${errorText(err)}`);
  }
  return { meta, state };
}

async function run(ctx: CommandContext): Promise<number> {
  const file = fileArgument(ctx);
  if (typeof file !== "string") return ctx.fail(file.error);
  const format = ctx.flags.string("format") || "pretty";
  if (format !== "pretty" && format !== "json")
    return ctx.fail(`Error outputting enhanced snapshot data: Unknown format: ${format}`);
  let snapshot;
  try {
    snapshot = await readSnapshot(file);
  } catch (err) {
    const code = (err as { code?: string }).code;
    return ctx.fail(
      code === "ENOENT" || code === "EACCES" || code === "EISDIR"
        ? `Error opening snapshot file: ${errorText(err)}`
        : `Error reading snapshot: ${errorText(err)}`,
    );
  }
  let state: DecodedState;
  try {
    state = await decodeState(snapshot.state);
  } catch (err) {
    return ctx.fail(`Error extracting snapshot data: ${errorText(err)}`);
  }
  const depth = ctx.flags.has("kvdepth") ? Number(ctx.flags.string("kvdepth")) : 2;
  const kv = ctx.flags.bool("kvdetails")
    ? { depth, filter: ctx.flags.string("kvfilter") }
    : undefined;
  const out = inspectOutput(snapshot.meta, state, kv);
  ctx.ui.info(format === "json" ? goHtmlEscape(JSON.stringify(out, null, 3)) : formatPretty(out));
  return 0;
}

export const snapshotInspectCommand: CommandSpec = {
  name: "snapshot inspect",
  synopsis: "Displays information about a Consul snapshot file",
  flags: [
    {
      name: "format",
      kind: "string",
      help: "Output format {pretty|json}",
    },
    {
      name: "kvdepth",
      kind: "int",
      help: "Can only be used with -kvdetails. The key prefix depth used to breakdown KV store data. Defaults to 2.",
    },
    {
      name: "kvdetails",
      kind: "bool",
      help: "Provides a detailed KV space usage breakdown for any KV data that's been stored.",
    },
    {
      name: "kvfilter",
      kind: "string",
      help: "Can only be used with -kvdetails. Limits KV key breakdown using this prefix filter.",
    },
  ],
  help: `
Usage: augur snapshot inspect [options] FILE

  Displays information about a snapshot file on disk.

  To inspect the file "backup.snap":

      $ augur snapshot inspect backup.snap
`,
  run,
};
