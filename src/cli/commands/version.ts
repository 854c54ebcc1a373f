/**
 * `augur version` — Consul's command/version layout: `augur v<version>`, then the protocol
 * line Consul prints (augur reports the range its members advertise, `vsn_min`..`vsn_max`);
 * `-format=json` gives Consul's JSON shape.
 *
 * @module
 */
import { VERSION } from "../../lib/version.js";
import type { CommandContext, CommandSpec } from "../command.js";

/** Consul's RPC protocol numbers, as augur's members advertise them (`vsn`, `vsn_min`, `vsn_max`). */
export const PROTOCOL = { Default: 2, Min: 2, Max: 3 } as const;

export function prettyVersion(version: string): string {
  const supplement =
    PROTOCOL.Default < PROTOCOL.Max
      ? ` (agent will automatically use protocol >${PROTOCOL.Default} when speaking to compatible agents)`
      : "";
  return `augur v${version}\nProtocol ${PROTOCOL.Default} spoken by default, understands ${PROTOCOL.Min} to ${PROTOCOL.Max}${supplement}\n`;
}

async function run(ctx: CommandContext): Promise<number> {
  const format = ctx.flags.has("format") ? ctx.flags.string("format") : "pretty";
  const version = VERSION;
  if (format === "pretty") {
    // Consul's formatter ends with a newline and UI.Output adds one: a blank last line.
    ctx.ui.info(prettyVersion(version));
    return 0;
  }
  if (format === "json") {
    ctx.ui.info(
      JSON.stringify({ Version: version, Revision: "", Prerelease: "", RPC: PROTOCOL }, null, 3),
    );
    return 0;
  }
  return ctx.fail(`Unknown format: ${format}`);
}

export const versionCommand: CommandSpec = {
  name: "version",
  synopsis: "Prints the augur version",
  flags: [{ name: "format", kind: "string", help: "Output format {pretty|json}" }],
  help: `
Usage: augur version [options]
`,
  run,
};
