/**
 * Per-entity changes between two entity maps: `added`, `removed`, `changed` with old and new
 * values and the state transition (`passing→critical`); plus the `flapping` / `stable` changes
 * noise control adds. This is the `changes` payload's unit.
 *
 * @module
 */
import type { Entity, EntityMap } from "./entities.js";

/**
 * `source_unreachable` / `source_recovered` / `index_reset` are about the watch's source (entity
 * `source`), not an entity of the result: see ChangeDetector.reportSource.
 */
export type ChangeKind =
  | "added"
  | "removed"
  | "changed"
  | "flapping"
  | "stable"
  | "source_unreachable"
  | "source_recovered"
  | "index_reset";

/** One entity's change, as handlers receive it (snake_case: augur's own format). */
export interface EntityChange {
  /** Stable id: the same change detected again (after a crash) gets the same id. */
  readonly id: string;
  readonly entity: string;
  readonly kind: ChangeKind;
  /** `old→new` state (`absent` when there is none) when the state changed; null otherwise. */
  readonly transition: string | null;
  readonly old_state: string | null;
  readonly new_state: string | null;
  readonly old: unknown;
  readonly new: unknown;
}

export type RawChange = Omit<EntityChange, "id">;

export interface DiffOptions {
  /** Skip `changed` entities whose state did not change (check output, indexes). */
  readonly stateOnly?: boolean;
  /** Event watches: an event leaving Consul's buffer is not a change. */
  readonly ignoreRemovals?: boolean;
}

/** The transition text, or null when there is no state or it did not change. */
export function transition(
  oldState: string | undefined,
  newState: string | undefined,
): string | null {
  if (oldState === undefined && newState === undefined) return null;
  if (oldState === newState) return null;
  return `${oldState ?? "absent"}→${newState ?? "absent"}`;
}

export function makeChange(
  kind: ChangeKind,
  entity: string,
  before: Entity | undefined,
  after: Entity | undefined,
  transitionText?: string | null,
): RawChange {
  return {
    entity,
    kind,
    transition:
      transitionText !== undefined ? transitionText : transition(before?.state, after?.state),
    old_state: before?.state ?? null,
    new_state: after?.state ?? null,
    old: before?.value ?? null,
    new: after?.value ?? null,
  };
}

/** Changes from `before` to `after`, in `after`'s order, then removals in `before`'s order. */
export function diffEntities(
  before: EntityMap,
  after: EntityMap,
  options: DiffOptions = {},
): RawChange[] {
  const out: RawChange[] = [];
  for (const [key, next] of after) {
    const prev = before.get(key);
    if (prev === undefined) out.push(makeChange("added", key, undefined, next));
    else if (prev.hash !== next.hash) {
      if (options.stateOnly && prev.state !== undefined && prev.state === next.state) continue;
      out.push(makeChange("changed", key, prev, next));
    }
  }
  if (!options.ignoreRemovals)
    for (const [key, prev] of before)
      if (!after.has(key)) out.push(makeChange("removed", key, prev, undefined));
  return out;
}
