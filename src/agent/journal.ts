/**
 * When the agent's local state is written to its {@link LocalStatePersistence}, as Consul's
 * agent.go decides it: API registrations and maintenance are saved, config-file definitions are
 * not (and replace a saved copy with the same id), TTL reports are saved with the moment they
 * lapse, removals delete. Without a persistence (`-dev`) every call is a no-op.
 *
 * @module
 */
import type { CheckDefinition, CheckStatus, HealthCheck, NodeService } from "../catalog/types.js";
import type { DefinitionSource } from "./local-state.js";
import type {
  LocalStatePersistence,
  PersistedCheck,
  PersistedCheckState,
  PersistedService,
} from "./persistence.js";

export class LocalStateJournal {
  #pending: { services: PersistedService[]; checks: PersistedCheck[] } | undefined;
  /** Unexpired TTL statuses from before the restart, applied when their check is added. */
  readonly #ttlStates = new Map<string, PersistedCheckState>();

  constructor(
    private readonly store: LocalStatePersistence | undefined,
    private readonly now: () => number,
  ) {}

  /** Reads the last run's entries; TTL statuses that have lapsed since are dropped, as Consul does. */
  async load(): Promise<void> {
    if (!this.store) return;
    const { services, checks, states } = await this.store.load();
    const now = this.now();
    for (const s of states) {
      if (s.expires > now) this.#ttlStates.set(s.checkId, s);
      else await this.store.removeCheckState(s.checkId);
    }
    this.#pending = { services, checks };
  }

  /** The loaded services and checks, once: the agent registers them. */
  takeLoaded(): { services: PersistedService[]; checks: PersistedCheck[] } | undefined {
    const pending = this.#pending;
    this.#pending = undefined;
    return pending;
  }

  /** A TTL check's status from before the restart, while restoring. */
  restoredTtl(checkId: string): PersistedCheckState | undefined {
    return this.#ttlStates.get(checkId);
  }

  /** Ends the restore: statuses of checks that did not come back are deleted. */
  async restored(isRegistered: (checkId: string) => boolean): Promise<void> {
    for (const id of this.#ttlStates.keys())
      if (!isRegistered(id)) await this.store?.removeCheckState(id);
    this.#ttlStates.clear();
  }

  async serviceRegistered(service: NodeService, source: DefinitionSource): Promise<void> {
    if (source === "api") await this.store?.saveService({ service });
    else await this.store?.removeService(service.ID);
  }

  async serviceRemoved(id: string): Promise<void> {
    await this.store?.removeService(id);
  }

  async checkRegistered(
    def: CheckDefinition,
    check: HealthCheck,
    source: DefinitionSource,
  ): Promise<void> {
    if (source === "api") await this.store?.saveCheck({ check, definition: def, source: "api" });
    else await this.store?.removeCheck(def.id);
  }

  /** A persisted check that a config file now defines: only the saved definition goes. */
  async checkDefinitionDropped(id: string): Promise<void> {
    await this.store?.removeCheck(id);
  }

  async maintenanceStarted(check: HealthCheck): Promise<void> {
    await this.store?.saveCheck({ check, source: "maintenance" });
  }

  /** A check (or maintenance) is gone: its definition and any TTL status. */
  async checkRemoved(id: string): Promise<void> {
    await this.store?.removeCheck(id);
    await this.store?.removeCheckState(id);
  }

  /** Consul persists TTL reports so a check comes back in a good state (agent.go updateTTLCheck). */
  async ttlReported(
    checkId: string,
    status: CheckStatus,
    output: string,
    ttlMs: number,
  ): Promise<void> {
    await this.store?.saveCheckState({ checkId, status, output, expires: this.now() + ttlMs });
  }
}
