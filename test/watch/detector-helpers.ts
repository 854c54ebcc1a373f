/**
 * Builders for detector tests: Consul-shaped checks, health entries and events, and a detector
 * whose commits are collected.
 *
 * @module
 */
import {
  ChangeDetector,
  type DetectedEvent,
  type PersistedWatchState,
} from "../../src/watch/detector.js";
import type { NoiseOptions, OnStart, WatchType } from "../../src/watch/types.js";
import { FakeClock } from "./fake-clock.js";

export const check = (
  node: string,
  id: string,
  status: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> => ({
  Node: node,
  CheckID: id,
  Name: id,
  Status: status,
  Notes: "",
  Output: "",
  ServiceID: "",
  ServiceName: "",
  ServiceTags: [],
  Type: "",
  ...extra,
});

export const userEvent = (id: string, name = "deploy"): Record<string, unknown> => ({
  ID: id,
  Name: name,
  Payload: null,
  NodeFilter: "",
  ServiceFilter: "",
  TagFilter: "",
  Version: 1,
  LTime: 0,
});

export const NO_NOISE: NoiseOptions = {
  quietPeriodMs: 0,
  quietPeriodMaxMs: 0,
  holdMs: 0,
  stateChangesOnly: false,
  maintenanceAware: true,
};

export interface Harness {
  readonly clock: FakeClock;
  readonly detector: ChangeDetector;
  readonly events: DetectedEvent[];
  readonly states: PersistedWatchState[];
  feed(index: number, result: unknown): Promise<void>;
}

export function harness(
  options: {
    type?: WatchType;
    onStart?: OnStart;
    noise?: Partial<NoiseOptions>;
    initial?: PersistedWatchState;
    clock?: FakeClock;
  } = {},
): Harness {
  const clock = options.clock ?? new FakeClock();
  const events: DetectedEvent[] = [];
  const states: PersistedWatchState[] = [];
  const detector = new ChangeDetector({
    watchId: "w1",
    type: options.type ?? "checks",
    onStart: options.onStart ?? "fire",
    noise: { ...NO_NOISE, ...options.noise },
    clock,
    ...(options.initial ? { initial: options.initial } : {}),
    commit: async (state, event) => {
      if (state) states.push(state);
      if (event) events.push(event);
    },
  });
  return {
    clock,
    detector,
    events,
    states,
    feed: (index, result) => detector.handle({ index: BigInt(index), result }),
  };
}
