/**
 * What `augur agent` does (its spec and flags: `commands/agent.ts`): loads the configuration
 * (files, dirs, flags), starts the agent, and maps signals as Consul does — SIGHUP reloads,
 * SIGINT/SIGTERM stop (leaving first when `leave_on_terminate` is set). A bad configuration exits
 * 1 before anything listens.
 *
 * @module
 */
import {
  agentFlagsFrom,
  loadConfig,
  type AgentFlags,
  type RuntimeConfig,
} from "../config/index.js";
import { startAgent, type AgentSettings, type RunningAgent } from "../main.js";
import { createLogger } from "../lib/logger.js";
import { toAugurError } from "../lib/errors.js";

/** How long a SIGINT/SIGTERM stop may take before the process exits anyway. */
const STOP_DEADLINE_MS = 4000;
import { joinCluster } from "../client/join.js";
import type { Logger } from "../lib/logger.js";
import type { CommandContext } from "./command.js";
import { rmSync } from "node:fs";
import { writeFile } from "node:fs/promises";

/**
 * start_join / retry_join: an agent with no etcd endpoints of its own learns them (and the key
 * prefix) from another agent; with endpoints configured, the join addresses are not needed.
 */
async function learnedEtcd(config: RuntimeConfig, logger: Logger): Promise<AgentSettings["etcd"]> {
  const { startJoin, retryJoin, retryIntervalMs, retryMax } = config.cluster;
  if (startJoin.length === 0 && retryJoin.length === 0) return undefined;
  if (config.etcd) {
    logger.info("etcd endpoints are configured: start_join and retry_join are not needed");
    return undefined;
  }
  const joined = await joinCluster({
    startJoin,
    retryJoin,
    retryIntervalMs,
    retryMax,
    log: (level, msg) => logger[level](msg),
    ...(config.acl?.agentToken ? { token: config.acl.agentToken } : {}),
  });
  if (!joined) return undefined;
  return {
    endpoints: joined.endpoints,
    prefix: joined.prefix,
    ...(config.etcdTls ? { tls: config.etcdTls } : {}),
    ...(config.etcdLivenessTtlSeconds !== undefined
      ? { livenessTtlSeconds: config.etcdLivenessTtlSeconds }
      : {}),
  };
}

/** Runs the agent until a signal stops it; returns the exit status. */
export async function runAgent(ctx: CommandContext): Promise<number> {
  let flags: AgentFlags;
  let config: RuntimeConfig;
  const load = async (): Promise<RuntimeConfig> => {
    const { config, notices } = await loadConfig({
      flags,
      files: flags.configFiles,
      dirs: flags.configDirs,
    });
    for (const n of notices) ctx.ui.info(`==> ${n}`);
    return config;
  };
  try {
    // Consul reports flag values it cannot use, and extra arguments, as config errors: "==> ...".
    flags = agentFlagsFrom(ctx.flags, ctx.args);
    config = await load();
  } catch (err) {
    ctx.ui.error(`==> ${toAugurError(err).message}`);
    return 1;
  }
  const logger = createLogger({ level: config.logLevel, json: config.logJson });
  // Consul writes the PID file before it starts anything, and a file it cannot write fails the start.
  const pidFile = config.pidFile;
  if (pidFile) {
    try {
      await writeFile(pidFile, String(process.pid));
    } catch (err) {
      ctx.ui.error(`==> Failed to write PID file: ${toAugurError(err).message}`);
      return 1;
    }
  }
  const removePidFile = (): void => {
    if (pidFile) rmSync(pidFile, { force: true });
  };
  // Signals are taken from before the start: an agent announces its HTTP address while it is still
  // opening other listeners, and a SIGTERM then must stop it cleanly (removing the PID file), not
  // kill it through the default action. One that arrives during the start stops it once started.
  let agent: RunningAgent | undefined;
  let stopAsked = false;
  const onHup = (): void => {
    if (!agent) return void logger.warn("SIGHUP during start: ignored, nothing to reload yet");
    agent
      .reload()
      .catch((err: unknown) =>
        logger.error({ err: err instanceof Error ? err.message : String(err) }, "reload failed"),
      );
  };
  const stop = (running: RunningAgent): void => {
    // A graceful stop talks to the store (releasing leadership locks, leaving, closing watches);
    // with etcd unreachable each of those calls waits out its deadline. Process supervisors expect
    // an agent to stop promptly, so the stop gets a bounded time and the process exits after it.
    const deadline = setTimeout(() => {
      logger.warn(
        `shutdown did not finish within ${STOP_DEADLINE_MS / 1000}s (is the store unreachable?); exiting now`,
      );
      removePidFile();
      process.exit(1);
    }, STOP_DEADLINE_MS);
    deadline.unref();
    const leave = config.leaveOnTerminate;
    (leave ? running.agent.leave().then(() => running.stop()) : running.stop()).catch(
      () => undefined,
    );
  };
  const onTerm = (): void => {
    logger.info("caught signal, shutting down");
    if (agent) stop(agent);
    else stopAsked = true;
  };
  const offSignals = (): void => {
    process.off("SIGHUP", onHup);
    process.off("SIGINT", onTerm);
    process.off("SIGTERM", onTerm);
  };
  process.on("SIGHUP", onHup);
  process.on("SIGINT", onTerm);
  process.on("SIGTERM", onTerm);
  try {
    const joined = await learnedEtcd(config, logger);
    const settings = (c: RuntimeConfig): AgentSettings => (joined ? { ...c, etcd: joined } : c);
    agent = await startAgent(settings(config), {
      logger,
      reloadSettings: async () => settings(await load()),
    });
  } catch (err) {
    logger.error(
      { err: err instanceof Error ? err.message : String(err) },
      "agent failed to start",
    );
    offSignals();
    removePidFile();
    return 1;
  }
  ctx.ui.info(`==> augur agent running! node=${config.nodeName} datacenter=${config.datacenter}`);
  if (stopAsked) stop(agent);
  await agent.stopped;
  offSignals();
  removePidFile();
  logger.info("agent stopped");
  return 0;
}
