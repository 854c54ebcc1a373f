/**
 * The agent's logger: pino (fast, structured, maintained) writing hclog's layouts, as Consul's
 * agent does: human lines — `2026-11-25T01:02:03.456Z [INFO]  agent: message: key=value` — or,
 * with `log_json`, hclog's JSON objects (`@level`, `@message`, `@module`, `@timestamp`), so
 * operators' eyes, greps and log shippers keep working.
 *
 * Every logger made here writes through a {@link LogTap}: its pino destination, which also hands
 * each record to the tap's subscribers (`GET /v1/agent/monitor`), each at its own level, as
 * Consul's monitor registers a sink on its intercept logger. A subscriber may ask for levels
 * below the agent's own (`-log-level=info`, monitor at `debug`): pino's level is lowered to the
 * lowest level anyone wants while such a subscriber exists, and the agent's own output still
 * filters at its configured level.
 *
 * @module
 */
import pino, { type Logger } from "pino";
import { AugurError } from "./errors.js";
import { goHtmlEscape } from "./go-html-escape.js";

export type { Logger } from "pino";

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error";

const LEVEL_VALUES: Readonly<Record<LogLevel, number>> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
};

/** pino's level numbers (60 is fatal, which hclog does not have) to hclog's names. */
function levelName(value: number): LogLevel {
  if (value >= 50) return "error";
  if (value >= 40) return "warn";
  if (value >= 30) return "info";
  if (value >= 20) return "debug";
  return "trace";
}

/** hclog's `_levelToBracket`: the level and its padding, as in `[INFO]  agent: ...`. */
const BRACKETS: Readonly<Record<LogLevel, string>> = {
  trace: "[TRACE]",
  debug: "[DEBUG]",
  info: "[INFO] ",
  warn: "[WARN] ",
  error: "[ERROR]",
};

/** The module (hclog's logger name) of a record that names none. */
const DEFAULT_MODULE = "agent";

/** One log record, before it is formatted. */
export interface LogRecord {
  readonly level: LogLevel;
  /** ms since the epoch. */
  readonly time: number;
  readonly module: string;
  readonly message: string;
  /** The record's key/value pairs, in the order they were given. */
  readonly fields: Readonly<Record<string, unknown>>;
}

const fieldText = (v: unknown): string => {
  if (typeof v === "string") return /[\s"=]/.test(v) || v === "" ? JSON.stringify(v) : v;
  if (v instanceof Error) return JSON.stringify(v.message);
  return JSON.stringify(v) ?? String(v);
};

/** hclog's text layout: `<time> [LEVEL] <module>: <message>: k=v k=v`, newline-terminated. */
export function formatLogText(r: LogRecord): string {
  let line = `${new Date(r.time).toISOString()} ${BRACKETS[r.level]} ${r.module}: ${r.message}`;
  const keys = Object.keys(r.fields);
  if (keys.length > 0) line += `: ${keys.map((k) => `${k}=${fieldText(r.fields[k])}`).join(" ")}`;
  return `${line}\n`;
}

/** hclog's `TimeFormatJSON` (`2006-01-02T15:04:05.000000Z07:00`), in UTC. */
const jsonTimestamp = (ms: number): string => new Date(ms).toISOString().replace("Z", "000Z");

/**
 * hclog's JSON layout: one object per line, keys sorted (Go's json.Marshal of a map, so the
 * record's own fields sort among `@level`, `@message`, `@module`, `@timestamp`), HTML-escaped as
 * Go's json.Encoder does.
 */
export function formatLogJson(r: LogRecord): string {
  const all: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r.fields)) all[k] = v instanceof Error ? v.message : v;
  all["@level"] = r.level;
  all["@message"] = r.message;
  all["@module"] = r.module;
  all["@timestamp"] = jsonTimestamp(r.time);
  const sorted: Record<string, unknown> = {};
  for (const k of Object.keys(all).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) sorted[k] = all[k];
  return `${goHtmlEscape(safeStringify(sorted))}\n`;
}

/** A field that cannot be serialised (a cycle, a bigint) must not cost the agent its log line. */
function safeStringify(value: object): string {
  try {
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
  } catch {
    return JSON.stringify({ "@message": "(unserialisable log record)" });
  }
}

export type LogFormat = "text" | "json";

export interface LogSubscribeOptions {
  readonly level: LogLevel;
  readonly format: LogFormat;
}

/**
 * Lines a subscriber may hold before newer ones are dropped: Consul's monitor buffers 512 lines
 * and counts what it drops. The byte bound keeps 512 huge lines from holding megabytes.
 */
export const SUBSCRIBER_MAX_LINES = 512;
export const SUBSCRIBER_MAX_BYTES = 1024 * 1024;
/** Subscribers (monitors) one agent serves at once; each costs at most its buffer. */
export const MAX_SUBSCRIBERS = 64;

/**
 * One subscriber's stream of formatted lines. Iterating yields every line that arrived since the
 * last turn, joined; lines that arrive while the buffer is full are dropped and counted. Ends
 * when closed (`close()` or the signal given to `subscribe`).
 */
export class LogSubscription implements AsyncIterable<string> {
  readonly level: LogLevel;
  readonly format: LogFormat;
  readonly #minLevel: number;
  #lines: string[] = [];
  #bytes = 0;
  #dropped = 0;
  #closed = false;
  #wake: (() => void) | undefined;
  readonly #onClose: (s: LogSubscription) => void;

  /** @internal made by {@link LogTap.subscribe}. */
  constructor(options: LogSubscribeOptions, onClose: (s: LogSubscription) => void) {
    this.level = options.level;
    this.format = options.format;
    this.#minLevel = LEVEL_VALUES[options.level];
    this.#onClose = onClose;
  }

  get minLevel(): number {
    return this.#minLevel;
  }

  /** Lines dropped so far because the subscriber did not keep up. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Lines waiting to be read. */
  get buffered(): number {
    return this.#lines.length;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** @internal called by the tap for each record at or above this subscriber's level. */
  offer(line: string): void {
    if (this.#closed) return;
    if (
      this.#lines.length >= SUBSCRIBER_MAX_LINES ||
      this.#bytes + line.length > SUBSCRIBER_MAX_BYTES
    ) {
      this.#dropped++;
      return;
    }
    this.#lines.push(line);
    this.#bytes += line.length;
    this.#wake?.();
  }

  /** Stops the subscription (once); returns how many lines were dropped. */
  close(): number {
    if (!this.#closed) {
      this.#closed = true;
      this.#lines = [];
      this.#bytes = 0;
      this.#onClose(this);
      this.#wake?.();
    }
    return this.#dropped;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<string> {
    while (!this.#closed) {
      if (this.#lines.length === 0) {
        await new Promise<void>((resolve) => (this.#wake = resolve));
        this.#wake = undefined;
        continue;
      }
      const batch = this.#lines.join("");
      this.#lines = [];
      this.#bytes = 0;
      yield batch;
    }
  }
}

/** pino's mark for a destination that wants each record's level, message and fields. */
const NEEDS_METADATA = Symbol.for("pino.metadata");

/** Where the agent's own lines go, in hclog's text or JSON layout (pino's own line unused). */
type Output = (pinoLine: string, record: () => LogRecord) => void;

/**
 * A logger's pino destination that also feeds subscribers. pino hands a destination marked with
 * `pino.metadata` the record's level, message and fields beside the serialised line, so neither
 * the text output nor the subscribers parse JSON back.
 */
export class LogTap {
  /** pino fills `lastLevel`, `lastMsg`, `lastObj` before each write on such a destination. */
  readonly [NEEDS_METADATA] = true;
  lastLevel = 0;
  lastMsg: unknown = "";
  lastObj: unknown = undefined;

  readonly #subscribers = new Set<LogSubscription>();
  readonly #output: Output;
  readonly #outputLevel: number;
  #logger: Logger | undefined;

  /** @internal made by {@link createLogger}. */
  constructor(output: Output, level: LogLevel) {
    this.#output = output;
    this.#outputLevel = LEVEL_VALUES[level];
  }

  /** @internal */
  attach(logger: Logger): void {
    this.#logger = logger;
  }

  /** Subscribers now. */
  get subscribers(): number {
    return this.#subscribers.size;
  }

  /** The current subscriptions (for tests and diagnostics). */
  subscriptions(): LogSubscription[] {
    return [...this.#subscribers];
  }

  /**
   * A new subscriber at `level`, ended by `signal` (or its `close()`). Throws (429) when
   * {@link MAX_SUBSCRIBERS} are already attached.
   */
  subscribe(options: LogSubscribeOptions, signal?: AbortSignal): LogSubscription {
    if (this.#subscribers.size >= MAX_SUBSCRIBERS)
      throw new AugurError(
        "INVALID_STATE",
        `Too many monitors: this agent streams its logs to at most ${MAX_SUBSCRIBERS} at once`,
        { status: 429 },
      );
    const sub = new LogSubscription(options, (s) => {
      this.#subscribers.delete(s);
      this.#retune();
    });
    this.#subscribers.add(sub);
    this.#retune();
    if (signal) {
      if (signal.aborted) sub.close();
      else signal.addEventListener("abort", () => sub.close(), { once: true });
    }
    return sub;
  }

  /** pino's level: the lowest of the agent's own and every subscriber's. */
  #retune(): void {
    if (!this.#logger) return;
    let lowest = this.#outputLevel;
    for (const s of this.#subscribers) lowest = Math.min(lowest, s.minLevel);
    const name = levelName(lowest);
    if (this.#logger.level !== name) this.#logger.level = name;
  }

  /** pino's write: one serialised record. */
  write(line: string): void {
    const value = this.lastLevel;
    let record: LogRecord | undefined;
    const get = (): LogRecord => (record ??= this.#record(value));
    if (value >= this.#outputLevel) this.#output(line, get);
    if (this.#subscribers.size === 0) return;
    let text: string | undefined;
    let json: string | undefined;
    for (const s of this.#subscribers) {
      if (value < s.minLevel) continue;
      s.offer(
        s.format === "json" ? (json ??= formatLogJson(get())) : (text ??= formatLogText(get())),
      );
    }
  }

  #record(value: number): LogRecord {
    const obj = (this.lastObj ?? {}) as Record<string, unknown>;
    const { name, ...fields } = obj;
    return {
      level: levelName(value),
      time: Date.now(),
      module: typeof name === "string" && name ? name : DEFAULT_MODULE,
      message: typeof this.lastMsg === "string" ? this.lastMsg : String(this.lastMsg ?? ""),
      fields,
    };
  }
}

export function createLogger(options: {
  level: LogLevel;
  json: boolean;
  out?: NodeJS.WritableStream;
}): Logger {
  const out = options.out;
  // JSON to stdout goes straight to fd 1, synchronously, as before the tap existed.
  const fd1 = options.json && !out ? pino.destination({ dest: 1, sync: true }) : undefined;
  // Both layouts are hclog's, as Consul's `-log-json` writes `@level`/`@message`/`@module`/
  // `@timestamp` objects: the same lines `agent/monitor?logjson` streams.
  const output: Output = options.json
    ? (_line, record) => {
        const json = formatLogJson(record());
        if (fd1) fd1.write(json);
        else out?.write(json);
      }
    : (_line, record) => (out ?? process.stdout).write(formatLogText(record()));
  const tap = new LogTap(output, options.level);
  const logger = pino({ level: options.level, base: undefined }, tap);
  tap.attach(logger);
  return logger;
}

/** The tap of a logger made by {@link createLogger}; undefined for any other pino logger. */
export function logTapOf(logger: Logger): LogTap | undefined {
  const stream: unknown = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym];
  return stream instanceof LogTap ? stream : undefined;
}
