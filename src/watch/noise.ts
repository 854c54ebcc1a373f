/**
 * Per-entity noise control between what a watch observes and what it reports.
 *
 * Hold (Prometheus `for`): an entity's new *signature* (its state, or its value for entities
 * without a state) is reported only once it has been observed continuously for `holdMs`. A
 * change that reverts inside the hold time is never reported.
 *
 * Flap detection with hysteresis (Nagios-style): each entity counts its signature changes in a
 * sliding window. At `startThreshold` it becomes *flapping* — one `flapping` change is reported
 * and the entity is frozen at its last reported value; at `stopThreshold` or fewer it becomes
 * *stable* — one `stable` change reports where it settled. Two thresholds, so an entity near one
 * threshold does not alternate between the two reports.
 *
 * Per entity: `settled ──signature differs──▶ pending ──held long enough──▶ settled`,
 * and independently `calm ──≥ start──▶ flapping ──≤ stop──▶ calm`.
 *
 * The trackers are part of the watch's persisted state ({@link NoiseFilter.snapshot}), so a
 * restart neither restarts a hold that was already running nor forgets that an entity flaps:
 * times are wall-clock, and a state observed before and after the restart counts as lasting.
 *
 * @module
 */
import { makeChange, type RawChange } from "./changes.js";
import type { Entity, EntityMap } from "./entities.js";
import type { FlapOptions } from "./types.js";

interface Tracker {
  sig: string;
  since: number;
  transitions: number[];
  flapping: boolean;
}

/** A tracker as persisted: `[entity, signature, since, transitions, flapping]`. */
export type TrackerSnapshot = readonly [string, string, number, readonly number[], boolean];

const ABSENT = "\u0000absent";
const signature = (e: Entity | undefined): string =>
  e === undefined ? ABSENT : (e.state ?? e.hash);

export interface NoiseFilterOptions {
  readonly holdMs: number;
  readonly flap?: FlapOptions;
}

export class NoiseFilter {
  readonly #o: NoiseFilterOptions;
  readonly #trackers = new Map<string, Tracker>();
  #observed: EntityMap = new Map();
  #synthetic: RawChange[] = [];

  constructor(options: NoiseFilterOptions) {
    this.#o = options;
  }

  /** True when this filter can hold anything back (otherwise effective = observed). */
  get active(): boolean {
    return this.#o.holdMs > 0 || this.#o.flap !== undefined;
  }

  /** The trackers worth keeping across a restart (pending holds and recent transitions). */
  snapshot(): TrackerSnapshot[] {
    return [...this.#trackers]
      .filter(([, t]) => t.transitions.length > 0 || t.flapping)
      .map(([key, t]) => [key, t.sig, t.since, [...t.transitions], t.flapping]);
  }

  /** Takes back a {@link snapshot} (at start, before the first observation). */
  restore(trackers: readonly TrackerSnapshot[]): void {
    for (const [key, sig, since, transitions, flapping] of trackers)
      this.#trackers.set(key, { sig, since, transitions: [...transitions], flapping });
  }

  /**
   * Records the latest observation; `reported` is what handlers were last told. Returns whether a
   * tracker moved (a hold started, a transition was counted), i.e. whether the snapshot changed.
   */
  observe(observed: EntityMap, reported: EntityMap, now: number): boolean {
    let moved = false;
    this.#observed = observed;
    const keys = new Set([...observed.keys(), ...this.#trackers.keys()]);
    for (const key of keys) {
      const sig = signature(observed.get(key));
      let t = this.#trackers.get(key);
      if (t === undefined) {
        t = { sig: signature(reported.get(key)), since: now, transitions: [], flapping: false };
        this.#trackers.set(key, t);
      }
      if (t.sig !== sig) {
        t.sig = sig;
        t.since = now;
        t.transitions.push(now);
        moved = true;
      }
    }
    this.#evaluateFlaps(reported, now);
    return moved;
  }

  /** What to report at `now`: observed entities, except those still held or frozen by flapping. */
  effective(reported: EntityMap, now: number): Map<string, Entity> {
    this.#evaluateFlaps(reported, now);
    const out = new Map<string, Entity>();
    const keys = new Set([...this.#observed.keys(), ...reported.keys()]);
    for (const key of keys) {
      const pick = this.#pick(key, this.#observed.get(key), reported.get(key), now);
      if (pick !== undefined) out.set(key, pick);
    }
    this.#forgetSettled(reported, now);
    return out;
  }

  #pick(
    key: string,
    obs: Entity | undefined,
    rep: Entity | undefined,
    now: number,
  ): Entity | undefined {
    const t = this.#trackers.get(key);
    if (t?.flapping) return rep;
    if (signature(obs) === signature(rep)) return obs;
    if (t === undefined || now - t.since >= this.#o.holdMs) return obs;
    return rep;
  }

  /** `flapping` / `stable` changes produced since the last call. */
  takeSynthetic(): RawChange[] {
    const out = this.#synthetic;
    this.#synthetic = [];
    return out;
  }

  /** The next time a hold matures or a flap window slides, so a flush can run without new input. */
  nextWakeAt(reported: EntityMap): number | undefined {
    let at: number | undefined;
    const consider = (t: number): void => void (at = at === undefined ? t : Math.min(at, t));
    for (const [key, t] of this.#trackers) {
      if (t.flapping && this.#o.flap) {
        const first = t.transitions[0];
        if (first !== undefined) consider(first + this.#o.flap.windowMs);
      } else if (this.#o.holdMs > 0 && t.sig !== signature(reported.get(key)))
        consider(t.since + this.#o.holdMs);
    }
    return at;
  }

  #evaluateFlaps(reported: EntityMap, now: number): void {
    const flap = this.#o.flap;
    if (flap === undefined) return;
    for (const [key, t] of this.#trackers) {
      while (t.transitions.length > 0 && (t.transitions[0] as number) <= now - flap.windowMs)
        t.transitions.shift();
      const count = t.transitions.length;
      const rep = reported.get(key);
      const obs = this.#observed.get(key);
      if (!t.flapping && count >= flap.startThreshold) {
        t.flapping = true;
        this.#synthetic.push(
          makeChange("flapping", key, rep, obs, `${rep?.state ?? "absent"}→flapping`),
        );
      } else if (t.flapping && count <= flap.stopThreshold) {
        t.flapping = false;
        // Report where it settled now; the hold has been served by the quiet window.
        t.since = Math.min(t.since, now - this.#o.holdMs);
        this.#synthetic.push(
          makeChange("stable", key, rep, obs, `flapping→${obs?.state ?? "absent"}`),
        );
      }
    }
  }

  #forgetSettled(reported: EntityMap, now: number): void {
    const windowMs = this.#o.flap?.windowMs ?? 0;
    for (const [key, t] of this.#trackers) {
      const recent = t.transitions.some((at) => at > now - windowMs);
      if (!t.flapping && !recent && !this.#observed.has(key) && !reported.has(key))
        this.#trackers.delete(key);
    }
  }
}
