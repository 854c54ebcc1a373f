/**
 * `augur members` — Consul's command/members: columns
 * `Node Address Status Type Build Protocol DC Partition Segment` (or `Node Address Status Tags`
 * with `-detailed`), servers first, `-status` regex filter, exit 2 when nothing matches.
 *
 * @module
 */
import { isIP } from "node:net";
import type { RE2JS } from "re2js";
import { compileGoRegexp } from "../../lib/go-regexp.js";
import type { AgentMember } from "../../client/types.js";
import { errorText, type CommandContext, type CommandSpec } from "../command.js";
import { columnize } from "../format.js";

/** serf.MemberStatus.String(). */
const STATUS = ["none", "alive", "leaving", "left", "failed"];
export const memberStatus = (n: number): string => STATUS[n] ?? "unknown";

/** Go's net.TCPAddr.String(): IPv6 in brackets; an unparsable IP prints as empty. */
function tcpAddr(ip: string, port: number): string {
  const family = isIP(ip);
  return family === 6 ? `[${ip}]:${port}` : family === 4 ? `${ip}:${port}` : `:${port}`;
}

/** Consul fills the partition with "default" and the segment with "<default>" (or "<all>" for servers). */
function withDisplayTags(m: AgentMember): AgentMember & { Tags: Record<string, string> } {
  const tags: Record<string, string> = { ...(m.Tags ?? {}) };
  if (!tags["ap"]) tags["ap"] = "default";
  if (tags["ap"] === "default") {
    if (tags["role"] === "consul") tags["segment"] = "<all>";
    else if (!tags["segment"]) tags["segment"] = "<default>";
  } else tags["segment"] = "";
  return { ...m, Tags: tags };
}

/** Servers first, then the default partition, then by segment, partition and name. */
function compareMembers(
  a: AgentMember & { Tags: Record<string, string> },
  b: AgentMember & { Tags: Record<string, string> },
): number {
  const key = (m: typeof a): [number, number, string, string, string] => [
    m.Tags["role"] === "consul" ? 0 : 1,
    m.Tags["ap"] === "default" || !m.Tags["ap"] ? 0 : 1,
    m.Tags["segment"] ?? "",
    m.Tags["ap"] ?? "",
    m.Name,
  ];
  const [ka, kb] = [key(a), key(b)];
  for (let i = 0; i < ka.length; i++)
    if (ka[i] !== kb[i]) return (ka[i] ?? "") < (kb[i] ?? "") ? -1 : 1;
  return 0;
}

/** The standard table rows, header first. */
export function standardRows(
  members: readonly (AgentMember & { Tags: Record<string, string> })[],
): string[][] {
  const rows = [
    ["Node", "Address", "Status", "Type", "Build", "Protocol", "DC", "Partition", "Segment"],
  ];
  for (const m of members) {
    const t = m.Tags;
    const build = t["build"] ? (t["build"].split(":")[0] ?? "") : "< 0.3";
    const head = [m.Name, tcpAddr(m.Addr, m.Port), memberStatus(m.Status)];
    const type = t["role"] === "node" ? "client" : t["role"] === "consul" ? "server" : undefined;
    rows.push(
      type
        ? [...head, type, build, t["vsn"] ?? "", t["dc"] ?? "", t["ap"] ?? "", t["segment"] ?? ""]
        : [...head, "unknown", "", "", "", "", ""],
    );
  }
  return rows;
}

function detailedRows(
  members: readonly (AgentMember & { Tags: Record<string, string> })[],
): string[][] {
  const rows = [["Node", "Address", "Status", "Tags"]];
  for (const m of members) {
    const tags = Object.keys(m.Tags)
      .sort()
      .map((k) => `${k}=${m.Tags[k] ?? ""}`)
      .join(",");
    rows.push([m.Name, tcpAddr(m.Addr, m.Port), memberStatus(m.Status), tags]);
  }
  return rows;
}

async function run(ctx: CommandContext): Promise<number> {
  const { flags } = ctx;
  let statusRe: RE2JS;
  try {
    // Go's regexp (RE2), as consul members compiles -status: linear time, Go's syntax.
    statusRe = compileGoRegexp(flags.has("status") ? flags.string("status") : ".*");
  } catch (err) {
    return ctx.fail(`Failed to compile status regexp: ${errorText(err)}`);
  }
  const client = await ctx.connect();
  if (!client) return 1;
  let members: AgentMember[];
  try {
    members = await client.members({ wan: flags.bool("wan"), filter: flags.string("filter") });
  } catch (err) {
    return ctx.fail(`Error retrieving members: ${errorText(err)}`);
  }
  const shown = members
    .map(withDisplayTags)
    .filter((m) => statusRe.matcher(memberStatus(m.Status)).find());
  // Consul exits 2 when no member matches, without output.
  if (shown.length === 0) return 2;
  shown.sort(compareMembers);
  ctx.ui.info(columnize(flags.bool("detailed") ? detailedRows(shown) : standardRows(shown)));
  return 0;
}

export const membersCommand: CommandSpec = {
  name: "members",
  synopsis: "Lists the members of a cluster",
  http: "client",
  flags: [
    { name: "detailed", kind: "bool", help: "Provides detailed information about nodes." },
    { name: "filter", kind: "string", help: "Filter to use with the request" },
    {
      name: "status",
      kind: "string",
      help: "If provided, output is filtered to only nodes matching the regular expression for status.",
    },
    {
      name: "wan",
      kind: "bool",
      help: "If the agent is in server mode, this can be used to return the other peers in the WAN pool.",
    },
  ],
  help: `
Usage: augur members [options]

  Outputs the members of a running agent.
`,
  run,
};
