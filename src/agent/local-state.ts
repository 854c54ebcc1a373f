/**
 * The agent's own services and checks (Consul's agent/local/state.go): the source of truth for
 * what this node runs. Each entry carries an in-sync flag; anti-entropy pushes out-of-sync
 * entries into the catalog. Status changes are synced at once; output-only changes are deferred
 * by `check_update_interval` (Consul's default 5 min) so chatty check output does not churn the
 * catalog — and every watcher behind it.
 *
 * @module
 */
import type { HealthCheck, NodeService } from "../catalog/types.js";

export type CheckStatus = "passing" | "warning" | "critical";

/** Where a definition came from: config files may run local scripts, the API may not. */
export type DefinitionSource = "config" | "api" | "maintenance";

export interface LocalServiceEntry {
  service: NodeService;
  source: DefinitionSource;
  inSync: boolean;
}

export interface LocalCheckEntry {
  check: HealthCheck;
  source: DefinitionSource;
  inSync: boolean;
  /** When an output-only change is due to be synced (epoch ms), if one is deferred. */
  deferredUntil?: number;
}

export interface LocalStateOptions {
  /** How long an output-only change may wait before it is synced (Consul `check_update_interval`). */
  readonly checkUpdateIntervalMs: number;
  /** Called when something went out of sync; the syncer schedules a pass. */
  readonly onChange: () => void;
  readonly now?: () => number;
}

export class LocalState {
  readonly #services = new Map<string, LocalServiceEntry>();
  readonly #checks = new Map<string, LocalCheckEntry>();
  /** Ids removed locally that the catalog may still hold. */
  readonly #removedServices = new Set<string>();
  readonly #removedChecks = new Set<string>();
  readonly #options: LocalStateOptions;

  constructor(options: LocalStateOptions) {
    this.#options = options;
  }

  services(): ReadonlyMap<string, LocalServiceEntry> {
    return this.#services;
  }

  checks(): ReadonlyMap<string, LocalCheckEntry> {
    return this.#checks;
  }

  service(id: string): LocalServiceEntry | undefined {
    return this.#services.get(id);
  }

  check(id: string): LocalCheckEntry | undefined {
    return this.#checks.get(id);
  }

  addService(service: NodeService, source: DefinitionSource): void {
    this.#services.set(service.ID, { service, source, inSync: false });
    this.#removedServices.delete(service.ID);
    this.#options.onChange();
  }

  /** Removes a service and the checks bound to it; returns the removed check ids. */
  removeService(id: string): string[] {
    if (!this.#services.delete(id)) return [];
    this.#removedServices.add(id);
    const removed: string[] = [];
    for (const [checkId, entry] of this.#checks) {
      if (entry.check.ServiceID === id) {
        this.#checks.delete(checkId);
        this.#removedChecks.add(checkId);
        removed.push(checkId);
      }
    }
    this.#options.onChange();
    return removed;
  }

  addCheck(check: HealthCheck, source: DefinitionSource): void {
    this.#checks.set(check.CheckID, { check, source, inSync: false });
    this.#removedChecks.delete(check.CheckID);
    this.#options.onChange();
  }

  removeCheck(id: string): boolean {
    if (!this.#checks.delete(id)) return false;
    this.#removedChecks.add(id);
    this.#options.onChange();
    return true;
  }

  /**
   * Records a check result. A status change goes out at once; an output-only change is deferred
   * (agent/local/state.go UpdateCheck with CheckUpdateInterval). Returns whether anything changed.
   */
  updateCheck(id: string, status: CheckStatus, output: string): boolean {
    const entry = this.#checks.get(id);
    if (!entry) return false;
    const old = entry.check;
    if (old.Status === status && old.Output === output) return false;
    entry.check = { ...old, Status: status, Output: output };
    const now = this.#now();
    if (old.Status === status && this.#options.checkUpdateIntervalMs > 0) {
      // Output-only: keep the first deadline so steady chatter still syncs once per interval.
      entry.deferredUntil ??= now + this.#options.checkUpdateIntervalMs;
      if (entry.inSync) {
        entry.inSync = false;
        this.#options.onChange();
      }
      return true;
    }
    entry.deferredUntil = undefined;
    entry.inSync = false;
    this.#options.onChange();
    return true;
  }

  /** Marks every entry out of sync (a full anti-entropy pass found drift or the node changed). */
  markAllOutOfSync(): void {
    for (const e of this.#services.values()) e.inSync = false;
    for (const e of this.#checks.values()) {
      e.inSync = false;
      e.deferredUntil = undefined;
    }
  }

  /** Removed ids not yet confirmed gone from the catalog; the syncer clears them. */
  takeRemoved(): { services: string[]; checks: string[] } {
    const out = { services: [...this.#removedServices], checks: [...this.#removedChecks] };
    this.#removedServices.clear();
    this.#removedChecks.clear();
    return out;
  }

  /** Puts ids back after a failed sync so the next pass retries them. */
  restoreRemoved(removed: { services: string[]; checks: string[] }): void {
    for (const id of removed.services) if (!this.#services.has(id)) this.#removedServices.add(id);
    for (const id of removed.checks) if (!this.#checks.has(id)) this.#removedChecks.add(id);
  }

  #now(): number {
    return (this.#options.now ?? Date.now)();
  }
}
