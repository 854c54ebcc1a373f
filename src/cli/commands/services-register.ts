/**
 * `augur services register` — Consul's command/services/register: one service from flags
 * (`-name`, `-id`, `-address`, `-port`, `-tag`, `-meta`, `-tagged-address`, `-kind`) or every
 * service in the given config files. Prints `Registered service: <name>` per service.
 *
 * @module
 */
import type { TaggedAddress } from "../../catalog/types.js";
import type { AgentServiceRegistration } from "../../client/types.js";
import { errorText, type CommandContext, type CommandSpec } from "../command.js";
import { UsageError } from "../../lib/go-flags.js";
import { serviceRegistration, servicesFromFiles } from "../service-files.js";

/** Consul's api.ParseServiceAddr: `host:port`, Go's net.SplitHostPort rules. */
export function parseServiceAddr(text: string): TaggedAddress {
  const m = /^\[([^\]]*)\]:([^:]*)$/.exec(text) ?? /^([^:[\]]*):([^:]*)$/.exec(text);
  if (!m)
    throw new UsageError(
      text.includes(":")
        ? `address ${text}: too many colons in address`
        : `address ${text}: missing port in address`,
    );
  const port = m[2] ?? "";
  if (!/^[+-]?\d+$/.test(port))
    throw new UsageError(`strconv.Atoi: parsing ${JSON.stringify(port)}: invalid syntax`);
  return { Address: m[1] ?? "", Port: Number(port) };
}

/** The registration the flags describe; throws with Consul's message for a bad tagged address. */
function fromFlags(ctx: CommandContext): AgentServiceRegistration {
  const f = ctx.flags;
  const tagged = f.map("tagged-address");
  const taggedAddresses: Record<string, TaggedAddress> = {};
  for (const [k, v] of Object.entries(tagged ?? {})) {
    try {
      taggedAddresses[k] = parseServiceAddr(v);
    } catch (err) {
      throw new UsageError(`Invalid Tagged Address: ${errorText(err)}`);
    }
  }
  const meta = f.map("meta");
  const reg: AgentServiceRegistration = { Name: f.string("name") };
  if (f.string("kind")) reg.Kind = f.string("kind");
  if (f.string("id")) reg.ID = f.string("id");
  if (f.list("tag").length > 0) reg.Tags = f.list("tag");
  if (f.has("port") && f.string("port") !== "0") reg.Port = Number(f.string("port"));
  if (f.string("address")) reg.Address = f.string("address");
  if (tagged) reg.TaggedAddresses = taggedAddresses;
  if (meta) reg.Meta = meta;
  return reg;
}

async function registrations(ctx: CommandContext): Promise<AgentServiceRegistration[] | number> {
  let fromFlagsReg: AgentServiceRegistration;
  try {
    fromFlagsReg = fromFlags(ctx);
  } catch (err) {
    return ctx.fail(errorText(err));
  }
  const name = ctx.flags.string("name");
  if (ctx.args.length === 0 && name === "")
    return ctx.fail("Service registration requires at least one argument or flags.");
  if (ctx.args.length > 0 && name !== "")
    return ctx.fail("Service registration requires arguments or -id, not both.");
  if (ctx.args.length === 0) return [fromFlagsReg];
  try {
    return (await servicesFromFiles(ctx.args)).map(serviceRegistration);
  } catch (err) {
    return ctx.fail(`Error: ${errorText(err)}`);
  }
}

async function run(ctx: CommandContext): Promise<number> {
  const regs = await registrations(ctx);
  if (typeof regs === "number") return regs;
  const client = await ctx.connect();
  if (!client) return 1;
  for (const reg of regs) {
    try {
      await client.agentServiceRegister(reg);
    } catch (err) {
      return ctx.fail(`Error registering service ${JSON.stringify(reg.Name)}: ${errorText(err)}`);
    }
    ctx.ui.info(`Registered service: ${reg.Name}`);
  }
  return 0;
}

export const servicesRegisterCommand: CommandSpec = {
  name: "services register",
  synopsis: "Register services with the local agent",
  http: "server",
  flags: [
    {
      name: "address",
      kind: "string",
      help: "Address of the service to register for arg-based registration.",
    },
    {
      name: "id",
      kind: "string",
      help: "ID of the service to register for arg-based registration. If this isn't set, it will default to the -name value.",
    },
    { name: "kind", kind: "string", help: "The services 'kind'" },
    {
      name: "meta",
      kind: "map",
      help: "Metadata to set on the service, formatted as key=value. This flag may be specified multiple times to set multiple meta fields.",
    },
    {
      name: "name",
      kind: "string",
      help: "Name of the service to register for arg-based registration.",
    },
    {
      name: "port",
      kind: "int",
      placeholder: "int",
      help: "Port of the service to register for arg-based registration.",
    },
    {
      name: "tag",
      kind: "list",
      help: "Tag to add to the service. This flag can be specified multiple times to set multiple tags.",
    },
    {
      name: "tagged-address",
      kind: "map",
      help: "Tagged address to set on the service, formatted as key=value. This flag may be specified multiple times to set multiple addresses.",
    },
  ],
  help: `
Usage: augur services register [options] [FILE...]

  Register one or more services using the local agent API. Services can
  be registered from standard agent configuration files (HCL or JSON) or
  using flags. The service is registered and the command returns. The caller
  must remember to call "augur services deregister" or a similar API to
  deregister the service when complete.

      $ augur services register web.json

  Additional flags and more advanced use cases are detailed below.
`,
  run,
};
