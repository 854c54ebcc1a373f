/**
 * The logger the watch engine writes to: the shape the agent passes in (`info/warn/error` with a
 * message and structured fields), adaptable to pino by the wiring.
 *
 * @module
 */

export interface WatchLogger {
  info(msg: string, fields?: object): void;
  warn(msg: string, fields?: object): void;
  error(msg: string, fields?: object): void;
}

export const silentLogger: WatchLogger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
