/**
 * `augur validate` — Consul's command/validate: loads the files and directories exactly as
 * `augur agent` would (without writing anything) and prints `Configuration is valid!`, or
 * `Config validation failed: <why>` and exits 1. `-quiet` drops the success line.
 *
 * @module
 */
import { errorText, type CommandContext, type CommandSpec } from "../command.js";
import { readOnlyFlags } from "../service-files.js";

async function run(ctx: CommandContext): Promise<number> {
  if (ctx.args.length < 1) return ctx.fail("Must specify at least one config file or directory");
  // Loaded lazily: the config parser is only needed here.
  const { loadConfig } = await import("../../config/index.js");
  const { validateDefinitions } = await import("../../agent/validate.js");
  const { assertRunnable } = await import("../../checks/index.js");
  let notices: string[];
  try {
    let config;
    ({ config, notices } = await loadConfig({
      flags: readOnlyFlags(false),
      files: ctx.args,
      dirs: [],
    }));
    // What the agent refuses at start: script checks it may not run, check types it does not run.
    validateDefinitions(config.services, config.checks, "config", {
      ...config,
      validateCheck: assertRunnable,
    });
  } catch (err) {
    return ctx.fail(`Config validation failed: ${errorText(err)}`);
  }
  // Warnings go to stderr so stdout stays Consul's one line.
  for (const n of notices) ctx.ui.error(n);
  if (!ctx.flags.bool("quiet")) ctx.ui.info("Configuration is valid!");
  return 0;
}

export const validateCommand: CommandSpec = {
  name: "validate",
  synopsis: "Validate config files/directories",
  flags: [
    { name: "quiet", kind: "bool", help: "When given, a successful run will produce no output." },
  ],
  help: `
Usage: augur validate [options] FILE_OR_DIRECTORY...

  Performs a thorough sanity test on agent configuration files. For each file
  or directory given, the validate command will attempt to parse the contents
  just as the "augur agent" command would, and catch any errors.

  This is useful to do a test of the configuration only, without actually
  starting the agent. This performs all of the validation the agent would, so
  this should be given the complete set of configuration files that are going
  to be loaded by the agent.

  Returns 0 if the configuration is valid, or 1 if there are problems.
`,
  run,
};
