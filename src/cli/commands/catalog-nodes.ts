/**
 * `augur catalog nodes` — Consul's command/catalog/list/nodes: columns `Node ID Address DC`
 * (ID cut at its first dash), or `Node ID Address DC TaggedAddresses Meta` with `-detailed`;
 * `-service`, `-node-meta`, `-near`, `-filter`.
 *
 * @module
 */
import type { Node } from "../../catalog/types.js";
import type { ConsulClient } from "../../client/consul-client.js";
import type { ReadOptions } from "../../client/types.js";
import { errorText, type CommandContext, type CommandSpec } from "../command.js";
import { loadDataSource } from "../data-source.js";
import { columnize } from "../format.js";

/** Consul's mapToKV: `k=v` sorted by key. */
export function mapToKV(m: Record<string, string> | null | undefined, joiner: string): string {
  return Object.keys(m ?? {})
    .sort()
    .map((k) => `${k}=${m?.[k] ?? ""}`)
    .join(joiner);
}

export function nodeRows(nodes: readonly Node[], detailed: boolean): string[][] {
  const rows = [
    detailed
      ? ["Node", "ID", "Address", "DC", "TaggedAddresses", "Meta"]
      : ["Node", "ID", "Address", "DC"],
  ];
  for (const n of nodes) {
    if (detailed)
      rows.push([
        n.Node,
        n.ID,
        n.Address,
        n.Datacenter,
        mapToKV(n.TaggedAddresses, ", "),
        mapToKV(n.Meta, ", "),
      ]);
    else
      rows.push([
        n.Node,
        n.ID.indexOf("-") > 0 ? n.ID.slice(0, n.ID.indexOf("-")) : n.ID,
        n.Address,
        n.Datacenter,
      ]);
  }
  return rows;
}

async function query(
  ctx: CommandContext,
  client: ConsulClient,
  options: ReadOptions,
): Promise<Node[]> {
  const service = ctx.flags.string("service");
  if (!service) return client.catalogNodes(options);
  const instances = await client.catalogService(service, options);
  return instances.map((s) => ({
    ID: s.ID,
    Node: s.Node,
    Address: s.Address,
    Datacenter: s.Datacenter,
    TaggedAddresses: s.TaggedAddresses,
    Meta: s.NodeMeta,
    CreateIndex: s.CreateIndex,
    ModifyIndex: s.ModifyIndex,
  }));
}

async function run(ctx: CommandContext): Promise<number> {
  const { flags } = ctx;
  if (ctx.args.length > 0)
    return ctx.fail(`Too many arguments (expected 0, got ${ctx.args.length})`);
  let filter = flags.string("filter");
  if (filter) {
    try {
      filter = (await loadDataSource(ctx, filter)).toString("utf8");
    } catch (err) {
      return ctx.fail(`Could not process filter argument: ${errorText(err)}`);
    }
  }
  const nodeMeta = flags.map("node-meta");
  const near = flags.string("near");
  const options: ReadOptions = {
    ...ctx.readOptions(),
    ...(filter ? { filter } : {}),
    ...(nodeMeta ? { nodeMeta } : {}),
    ...(near ? { near } : {}),
  };
  const client = await ctx.connect();
  if (!client) return 1;
  let nodes: Node[];
  try {
    nodes = await query(ctx, client, options);
  } catch (err) {
    return ctx.fail(
      `${flags.string("service") ? "Error listing nodes for service" : "Error listing nodes"}: ${errorText(err)}`,
    );
  }
  if (nodes.length === 0) {
    ctx.ui.error("No nodes match the given query - try expanding your search.");
    return 0;
  }
  ctx.ui.info(columnize(nodeRows(nodes, flags.bool("detailed"))));
  return 0;
}

export const catalogNodesCommand: CommandSpec = {
  name: "catalog nodes",
  synopsis: "Lists all nodes in the given datacenter",
  http: "server",
  flags: [
    {
      name: "detailed",
      kind: "bool",
      help: "Output detailed information about the nodes including their addresses and metadata.",
    },
    { name: "filter", kind: "string", help: "Filter to use with the request" },
    {
      name: "near",
      kind: "string",
      help: 'Node name to sort the node list in ascending order based on estimated round-trip time from that node. Passing "_agent" will use this agent\'s node for sorting.',
    },
    {
      name: "node-meta",
      kind: "map",
      placeholder: "key=value",
      help: "Metadata to filter nodes with the given key=value pairs. This flag may be specified multiple times to filter on multiple sources of metadata.",
    },
    {
      name: "service",
      kind: "string",
      placeholder: "id or name",
      help: "Service id or name to filter nodes. Only nodes which are providing the given service will be returned.",
    },
  ],
  help: `
Usage: augur catalog nodes [options]

  Retrieves the list nodes registered in a given datacenter. By default, the
  datacenter of the local agent is queried.

  To retrieve the list of nodes:

      $ augur catalog nodes

  To print detailed information including full node IDs, tagged addresses, and
  metadata information:

      $ augur catalog nodes -detailed

  To list nodes which are running a particular service:

      $ augur catalog nodes -service=web

  To filter by node metadata:

      $ augur catalog nodes -node-meta="foo=bar"
`,
  run,
};
