/**
 * The agent's logger: pino (fast, structured, maintained) writing either JSON lines
 * (`log_json`) or Consul-style human lines — `2026-11-25T01:02:03.456Z [INFO]  agent: message:
 * key=value` — so operators' eyes and greps keep working.
 *
 * @module
 */
import { Writable } from "node:stream";
import pino, { type Logger } from "pino";

export type { Logger } from "pino";

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error";

const LEVEL_NAMES: Record<number, string> = {
  10: "TRACE",
  20: "DEBUG",
  30: "INFO",
  40: "WARN",
  50: "ERROR",
  60: "ERROR",
};

/** Turns pino's JSON lines into Consul-style text lines. */
function humanStream(out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (!line) continue;
        try {
          const {
            level,
            time,
            msg,
            name,
            pid: _p,
            hostname: _h,
            ...fields
          } = JSON.parse(line) as Record<string, unknown>;
          const lvl = (LEVEL_NAMES[Number(level)] ?? "INFO").padEnd(5);
          const extra = Object.entries(fields)
            .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
            .join(" ");
          out.write(
            `${new Date(Number(time)).toISOString()} [${lvl}] ${name ? `${String(name)}: ` : ""}${String(msg ?? "")}${extra ? `: ${extra}` : ""}\n`,
          );
        } catch {
          out.write(`${line}\n`);
        }
      }
      done();
    },
  });
}

export function createLogger(options: {
  level: LogLevel;
  json: boolean;
  out?: NodeJS.WritableStream;
}): Logger {
  const out = options.out ?? process.stdout;
  const level = options.level;
  if (options.json)
    return pino({ level, base: undefined }, pino.destination({ dest: 1, sync: true }));
  return pino({ level, base: undefined }, humanStream(out));
}
