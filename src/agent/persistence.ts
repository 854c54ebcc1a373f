/**
 * What the agent keeps across restarts (Consul agent/agent.go persistService, persistCheck,
 * persistCheckState): services and checks registered through the agent API, maintenance checks,
 * and the last status a TTL check was given. Config-file definitions are not persisted: the
 * config files are their source. The agent knows only this contract; main.ts picks the adapter.
 *
 * @module
 */
import type { CheckDefinition, CheckStatus, HealthCheck, NodeService } from "../catalog/types.js";

export interface PersistedService {
  readonly service: NodeService;
}

export interface PersistedCheck {
  readonly check: HealthCheck;
  /** What the runner is started from; absent for maintenance checks, which run nothing. */
  readonly definition?: CheckDefinition;
  readonly source: "api" | "maintenance";
}

/** A TTL check's last reported status; Consul restores it only until `expires`. */
export interface PersistedCheckState {
  readonly checkId: string;
  readonly status: CheckStatus;
  readonly output: string;
  /** Epoch ms: the moment the TTL would have lapsed. */
  readonly expires: number;
}

export interface PersistedLocalState {
  readonly services: PersistedService[];
  readonly checks: PersistedCheck[];
  readonly states: PersistedCheckState[];
}

/** Durable storage for the agent's own registrations. Each write is atomic: all or nothing. */
export interface LocalStatePersistence {
  load(): Promise<PersistedLocalState>;
  saveService(entry: PersistedService): Promise<void>;
  removeService(id: string): Promise<void>;
  saveCheck(entry: PersistedCheck): Promise<void>;
  removeCheck(id: string): Promise<void>;
  saveCheckState(state: PersistedCheckState): Promise<void>;
  removeCheckState(id: string): Promise<void>;
}
