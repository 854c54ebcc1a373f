/**
 * This agent's liveness: a store lease with its `alive/<node>` key. While the agent runs it
 * keeps the lease alive; if the lease was lost (a partition outlasted the TTL, the store lost its
 * data) it grants a new one and rejoins; while the store is unreachable it keeps trying the same
 * lease. When the agent dies the lease expires, the key vanishes,
 * and every reader derives `serfHealth` critical.
 *
 * @module
 */
import type { Catalog } from "../catalog/catalog.js";
import type { AgentRecord } from "../catalog/records.js";
import type { LeaseId } from "../store/store.js";
import { isAugurError } from "../lib/errors.js";

export class Liveness {
  #lease: LeaseId | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  /**
   * When the store last answered a keep-alive or a join, on the monotonic clock: a step of the
   * wall clock (NTP, a resumed VM) must not make the agent believe it lost, or kept, the store.
   */
  #lastContact = performance.now();
  /** The contact state last reported to `onContact`. */
  #known = true;
  #watchdog: NodeJS.Timeout | undefined;

  constructor(
    private readonly catalog: Catalog,
    private readonly record: () => AgentRecord,
    private readonly ttlSeconds: number,
    private readonly onError: (err: unknown) => void,
    /** Told when the store stops answering for longer than the TTL, and when it answers again. */
    private readonly onContact: (known: boolean) => void = () => undefined,
  ) {}

  async start(): Promise<void> {
    await this.#join();
    this.#schedule();
    // A keep-alive to an unreachable store can hang; contact is judged on a clock of its own.
    this.#watchdog = setInterval(() => this.#checkContact(), 500);
    this.#watchdog.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearInterval(this.#watchdog);
  }

  #checkContact(): void {
    const known = this.contact().knownLeader;
    if (known === this.#known) return;
    this.#known = known;
    this.onContact(known);
  }

  /**
   * Consul's `X-Consul-KnownLeader` / `X-Consul-LastContact` for this agent: whether the store
   * answered within the lease TTL, and how long ago it last did.
   */
  contact(now = performance.now()): { knownLeader: boolean; lastContactMs: number } {
    const ms = Math.max(0, now - this.#lastContact);
    return { knownLeader: ms <= this.ttlSeconds * 1000, lastContactMs: ms };
  }

  async #join(): Promise<void> {
    this.#lease = await this.catalog.store.grant(this.ttlSeconds);
    await this.catalog.joinAgent(this.record(), this.#lease);
    this.#contacted();
  }

  #contacted(): void {
    this.#lastContact = performance.now();
    this.#checkContact();
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#beat(), Math.max(200, (this.ttlSeconds * 1000) / 3));
    this.#timer.unref();
  }

  async #beat(): Promise<void> {
    try {
      if (this.#lease === undefined) await this.#join();
      else {
        await this.catalog.store.keepAlive(this.#lease);
        this.#contacted();
      }
    } catch (err) {
      this.onError(err);
      // Only a lease the store no longer has is given up. Through an outage (etcd unreachable or
      // without quorum) the same lease is kept alive again as soon as the store answers: etcd
      // restores every lease with a fresh TTL when it regains a leader, so the alive key, and with
      // it serfHealth, the node's sessions and their locks, survive. Granting a new lease instead
      // would leave the old one to expire and take whatever it carries along.
      if (isAugurError(err, "NOT_FOUND")) {
        this.#lease = undefined;
        try {
          if (!this.#stopped) await this.#join();
        } catch (e) {
          this.onError(e);
        }
      }
    }
    this.#schedule();
  }
}
