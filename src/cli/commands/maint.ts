/**
 * `augur maint` — Consul's command/maint: `-enable`/`-disable` node maintenance, or a service's
 * with `-service`, optional `-reason`; without either flag, lists what is in maintenance.
 *
 * @module
 */
import type { ConsulClient } from "../../client/consul-client.js";
import { errorText, type CommandContext, type CommandSpec } from "../command.js";

function validate(ctx: CommandContext): string | undefined {
  const { flags } = ctx;
  const [enable, disable] = [flags.bool("enable"), flags.bool("disable")];
  if (enable && disable) return "Only one of -enable or -disable may be provided";
  if (!enable && flags.string("reason") !== "") return "Reason may only be provided with -enable";
  if (!enable && !disable && flags.string("service") !== "")
    return "Service requires either -enable or -disable";
  return undefined;
}

/** List mode: `Node:`/`Service:` blocks for the maintenance checks, blank when none. */
async function list(ctx: CommandContext, client: ConsulClient, nodeName: string): Promise<number> {
  let checks;
  try {
    checks = await client.agentChecks();
  } catch (err) {
    return ctx.fail(`Error getting checks: ${errorText(err)}`);
  }
  for (const check of Object.values(checks)) {
    if (check.CheckID === "_node_maintenance")
      ctx.ui.info(`Node:\n  Name:   ${nodeName}\n  Reason: ${check.Notes}\n`);
    else if (check.CheckID.startsWith("_service_maintenance:"))
      ctx.ui.info(`Service:\n  ID:     ${check.ServiceID}\n  Reason: ${check.Notes}\n`);
  }
  return 0;
}

async function toggle(ctx: CommandContext, client: ConsulClient, enable: boolean): Promise<number> {
  const service = ctx.flags.string("service");
  const reason = ctx.flags.string("reason");
  const verb = enable ? "enabl" : "disabl";
  try {
    if (service) await client.serviceMaintenance(service, enable, reason);
    else await client.maintenance(enable, reason);
  } catch (err) {
    return ctx.fail(
      `Error ${verb}ing ${service ? "service" : "node"} maintenance: ${errorText(err)}`,
    );
  }
  ctx.ui.info(
    service
      ? `Service maintenance is now ${verb}ed for ${JSON.stringify(service)}`
      : `Node maintenance is now ${verb}ed`,
  );
  return 0;
}

async function run(ctx: CommandContext): Promise<number> {
  const problem = validate(ctx);
  if (problem) return ctx.fail(problem);
  const client = await ctx.connect();
  if (!client) return 1;
  let nodeName: string;
  try {
    nodeName = (await client.agentSelf()).Config.NodeName;
  } catch (err) {
    return ctx.fail(`Error querying Consul agent: ${errorText(err)}`);
  }
  const { flags } = ctx;
  if (!flags.bool("enable") && !flags.bool("disable")) return list(ctx, client, nodeName);
  return toggle(ctx, client, flags.bool("enable"));
}

export const maintCommand: CommandSpec = {
  name: "maint",
  synopsis: "Controls node or service maintenance mode",
  http: "client",
  flags: [
    { name: "disable", kind: "bool", help: "Disable maintenance mode." },
    { name: "enable", kind: "bool", help: "Enable maintenance mode." },
    { name: "reason", kind: "string", help: "Text describing the maintenance reason." },
    {
      name: "service",
      kind: "string",
      help: "Control maintenance mode for a specific service ID.",
    },
  ],
  help: `
Usage: augur maint [options]

  Places a node or service into maintenance mode. During maintenance mode,
  the node or service will be excluded from all queries through the DNS
  or API interfaces, effectively taking it out of the pool of available
  nodes. This is done by registering an additional critical health check.

  When enabling maintenance mode for a node or service, you may optionally
  specify a reason string. This string will appear in the "Notes" field
  of the critical health check which is registered against the node or
  service. If no reason is provided, a default value will be used.

  Maintenance mode is persistent, and will be restored in the event of an
  agent restart. It is therefore required to disable maintenance mode on
  a given node or service before it will be placed back into the pool.

  By default, we operate on the node as a whole. By specifying the
  "-service" argument, this behavior can be changed to enable or disable
  only a specific service.

  If no arguments are given, the agent's maintenance status will be shown.
  This will return blank if nothing is currently under maintenance.
`,
  run,
};
