/**
 * `augur monitor` — Consul's command/monitor: streams the agent's log lines (`GET
 * /v1/agent/monitor`) at `-log-level` (default INFO, even below the agent's own level), as JSON
 * with `-log-json`, until interrupted (SIGINT or SIGTERM: exit 0). A refused start prints
 * `Error starting monitor: ...` (exit 1); an agent that ends the stream prints Consul's "Remote
 * side ended the monitor!" (exit 1).
 *
 * @module
 */
import { errorText, type CommandContext, type CommandSpec } from "../command.js";

async function run(ctx: CommandContext): Promise<number> {
  const client = await ctx.connect();
  if (!client) return 1;
  const stop = new AbortController();
  let quitting = false;
  const onSignal = (): void => {
    quitting = true;
    stop.abort();
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    let lines: AsyncIterable<string>;
    try {
      lines = await client.monitor({
        logLevel: ctx.flags.string("log-level") || "INFO",
        logJson: ctx.flags.bool("log-json"),
        signal: stop.signal,
      });
    } catch (err) {
      if (quitting) return 0;
      return ctx.fail(`Error starting monitor: ${errorText(err)}`);
    }
    for await (const line of lines) ctx.ui.info(line);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  if (quitting) return 0;
  ctx.ui.info("");
  ctx.ui.info(
    "Remote side ended the monitor! This usually means that the\nremote side has exited or crashed.",
  );
  return 1;
}

export const monitorCommand: CommandSpec = {
  name: "monitor",
  synopsis: "Stream logs from an augur agent",
  http: "client",
  flags: [
    { name: "log-level", kind: "string", help: "Log level of the agent." },
    { name: "log-json", kind: "bool", help: "Output logs in JSON format." },
  ],
  help: `
Usage: augur monitor [options]

  Shows recent log messages of an augur agent, and attaches to the agent,
  outputting log messages as they occur in real time. The monitor lets you
  listen for log levels that may be filtered out of the agent. For
  example your agent may only be logging at INFO level, but with the monitor
  you can see the DEBUG level logs.
`,
  run,
};
