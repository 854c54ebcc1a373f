/**
 * A WatchManager against a real in-process agent, for manager and route tests.
 *
 * @module
 */
import { join } from "node:path";
import { Registry } from "prom-client";
import { ConsulClient } from "../../src/client/consul-client.js";
import { parseWatchDefinition } from "../../src/watch/definition.js";
import { LmdbWatchStore } from "../../src/watch/lmdb-store.js";
import { WatchManager, type WatchManagerOptions } from "../../src/watch/manager.js";
import type { WatchDefinition } from "../../src/watch/types.js";
import type { TestAgent } from "../helpers/in-process-agent.js";

export interface LogLine {
  readonly level: string;
  readonly msg: string;
  readonly fields?: object;
}

/** `dataDir`: a durable lmdb outbox in `<dataDir>/watches`, as the agent opens it. */
export function manager(
  agent: TestAgent,
  options: Partial<WatchManagerOptions> & { dataDir?: string } = {},
): { m: WatchManager; registry: Registry; logs: LogLine[] } {
  const { dataDir, ...over } = options;
  const logs: LogLine[] = [];
  const registry = new Registry();
  const log = (level: string) => (msg: string, fields?: object) =>
    void logs.push({ level, msg, ...(fields ? { fields } : {}) });
  const m = new WatchManager({
    client: new ConsulClient({ address: agent.url }),
    registry,
    logger: { info: log("info"), warn: log("warn"), error: log("error") },
    stopGraceMs: 200,
    killGraceMs: 200,
    ...(dataDir ? { openDurableStore: () => LmdbWatchStore.open(join(dataDir, "watches")) } : {}),
    ...over,
  });
  return { m, registry, logs };
}

export const defs = (...raw: Record<string, unknown>[]): WatchDefinition[] =>
  raw.map((r) => parseWatchDefinition(r));

export async function until(
  cond: () => boolean | Promise<boolean>,
  ms = 8000,
  what = "condition",
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`${what} not met in ${ms} ms`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

export const pause = (ms: number): Promise<void> => new Promise((res) => setTimeout(res, ms));
