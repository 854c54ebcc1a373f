/**
 * This agent's liveness: a store lease with its `alive/<node>` key. While the agent runs it
 * keeps the lease alive; if the lease was lost (the store restarted, a partition outlasted the
 * TTL) it grants a new one and rejoins. When the agent dies the lease expires, the key vanishes,
 * and every reader derives `serfHealth` critical.
 *
 * @module
 */
import type { Catalog } from "../catalog/catalog.js";
import type { AgentRecord } from "../catalog/records.js";
import type { LeaseId } from "../store/store.js";

export class Liveness {
  #lease: LeaseId | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(
    private readonly catalog: Catalog,
    private readonly record: () => AgentRecord,
    private readonly ttlSeconds: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  async start(): Promise<void> {
    await this.#join();
    this.#schedule();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  async #join(): Promise<void> {
    this.#lease = await this.catalog.store.grant(this.ttlSeconds);
    await this.catalog.joinAgent(this.record(), this.#lease);
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#beat(), Math.max(200, (this.ttlSeconds * 1000) / 3));
    this.#timer.unref();
  }

  async #beat(): Promise<void> {
    try {
      if (this.#lease === undefined) await this.#join();
      else await this.catalog.store.keepAlive(this.#lease);
    } catch (err) {
      this.#lease = undefined;
      this.onError(err);
      try {
        if (!this.#stopped) await this.#join();
      } catch (e) {
        this.onError(e);
      }
    }
    this.#schedule();
  }
}
