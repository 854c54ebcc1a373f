/**
 * `GET /v1/agent/monitor` (Consul agent/agent_endpoint.go AgentMonitor): streams the agent's log
 * lines as they are written, at `?loglevel=` (trace, debug, info, warn, err/error; default info,
 * even below the agent's own level), as hclog text or, with `?logjson`, hclog JSON lines. The
 * body is chunked and each line is sent as it comes; the stream ends when the client goes away.
 *
 * A client that reads slower than the agent logs never slows the agent nor grows its memory: its
 * subscription buffers at most 512 lines (lib/logger.ts) and drops the rest, and when it
 * disconnects the agent logs how many were dropped, as Consul does.
 *
 * @module
 */
import { AugurError, badRequest } from "../../lib/errors.js";
import type { Logger, LogLevel, LogTap } from "../../lib/logger.js";
import type { ApiRequest } from "../request.js";
import type { ApiResult } from "../response.js";
import { route, type Route } from "../router.js";
import { guard } from "../acl-filter.js";

/** Consul's logging.ValidateLogLevel list (case-insensitive), with hclog's level for each. */
const LEVELS: Readonly<Record<string, LogLevel>> = {
  TRACE: "trace",
  DEBUG: "debug",
  INFO: "info",
  WARN: "warn",
  ERR: "error",
  ERROR: "error",
};

/** What Go's http sniffs for a body that starts empty, as Consul's monitor's does. */
const TEXT = "text/plain; charset=utf-8";

/** `?loglevel=`: empty or absent is info; anything Consul does not know is its 400. */
export function monitorLevel(raw: string | undefined): LogLevel {
  if (raw === undefined || raw === "") return "info";
  const level = LEVELS[raw.toUpperCase()];
  if (!level) throw badRequest(`Unknown log level: ${raw}`);
  return level;
}

/**
 * `tap`: the agent logger's tap (`logTapOf(logger)`); an agent whose logger has none answers 500.
 * `log`: where the dropped-lines warning goes.
 */
export function agentMonitorRoutes(tap: LogTap | undefined, log: Logger, nodeName = ""): Route[] {
  // Consul's AgentMonitor: `agent` read on this agent's node.
  return [
    guard(route("/v1/agent/monitor", { GET: (req) => monitor(tap, log, req) }), (a) =>
      a.require("agent", nodeName, "read"),
    ),
  ];
}

function monitor(tap: LogTap | undefined, log: Logger, req: ApiRequest): ApiResult {
  const level = monitorLevel(req.param("loglevel"));
  const format = req.flag("logjson") ? "json" : "text";
  if (!tap)
    throw new AugurError(
      "INVALID_STATE",
      "Streaming not supported: this agent's logger has no tap",
    );
  return {
    kind: "stream",
    contentType: TEXT,
    open(signal) {
      const sub = tap.subscribe({ level, format }, signal);
      return (async function* () {
        try {
          yield* sub;
        } finally {
          const dropped = sub.close();
          if (dropped > 0)
            log.warn({ dropped_count: dropped }, "Dropped logs during monitor request");
        }
      })();
    },
  };
}
