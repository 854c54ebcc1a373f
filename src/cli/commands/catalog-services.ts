/**
 * `augur catalog services` — Consul's command/catalog/list/services: service names sorted, one
 * per line, or `name<pad>tag,tag` with `-tags` (tabwriter layout); `-node`, `-node-meta`.
 *
 * @module
 */
import type { ConsulClient } from "../../client/consul-client.js";
import { errorText, type CommandContext, type CommandSpec } from "../command.js";
import { tabwrite } from "../format.js";

async function query(ctx: CommandContext, client: ConsulClient): Promise<Record<string, string[]>> {
  const nodeMeta = ctx.flags.map("node-meta");
  const options = { ...ctx.readOptions(), ...(nodeMeta ? { nodeMeta } : {}) };
  const node = ctx.flags.string("node");
  if (!node) return client.catalogServices(options);
  const found = await client.catalogNode(node, options);
  const services: Record<string, string[]> = {};
  for (const s of Object.values(found?.Services ?? {}))
    services[s.Service] = [...(services[s.Service] ?? []), ...s.Tags];
  return services;
}

/** The `-tags` layout: names padded to the longest plus 6, tags sorted and comma-joined. */
export function servicesWithTags(services: Record<string, string[]>): string {
  const lines = Object.keys(services)
    .sort()
    .map((name) => `${name}\t${[...(services[name] ?? [])].sort().join(",")}`);
  return tabwrite(`${lines.join("\n")}\n`).trim();
}

async function run(ctx: CommandContext): Promise<number> {
  if (ctx.args.length > 0)
    return ctx.fail(`Too many arguments (expected 0, got ${ctx.args.length})`);
  const client = await ctx.connect();
  if (!client) return 1;
  let services: Record<string, string[]>;
  try {
    services = await query(ctx, client);
  } catch (err) {
    return ctx.fail(
      `${ctx.flags.string("node") ? "Error listing services for node" : "Error listing services"}: ${errorText(err)}`,
    );
  }
  if (Object.keys(services).length === 0) {
    ctx.ui.error("No services match the given query - try expanding your search.");
    return 0;
  }
  if (ctx.flags.bool("tags")) ctx.ui.info(servicesWithTags(services));
  else for (const name of Object.keys(services).sort()) ctx.ui.info(name);
  return 0;
}

export const catalogServicesCommand: CommandSpec = {
  name: "catalog services",
  synopsis: "Lists all registered services in a datacenter",
  http: "server",
  flags: [
    {
      name: "node",
      kind: "string",
      placeholder: "id or name",
      help: "Node id or name for which to list services.",
    },
    {
      name: "node-meta",
      kind: "map",
      placeholder: "key=value",
      help: "Metadata to filter nodes with the given key=value pairs. If specified, only services running on nodes matching the given metadata will be returned. This flag may be specified multiple times to filter on multiple sources of metadata.",
    },
    {
      name: "tags",
      kind: "bool",
      help: "Display each service's tags as a comma-separated list beside each service entry.",
    },
  ],
  help: `
Usage: augur catalog services [options]

  Retrieves the list services registered in a given datacenter. By default, the
  datacenter of the local agent is queried.

  To retrieve the list of services:

      $ augur catalog services

  To include the services' tags in the output:

      $ augur catalog services -tags

  To list services which run on a particular node:

      $ augur catalog services -node=web

  To filter services on node metadata:

      $ augur catalog services -node-meta="foo=bar"
`,
  run,
};
