/**
 * Per-scope change indexes and the waiters parked on them: the heart of "a blocking query wakes
 * only when its own result changes". A scope is a string naming one query's result set
 * (`service:web`, `node:n1`, `kv:a/b`, `kvp:a/`...). Applying a store revision bumps exactly the
 * scopes it touched and wakes only their waiters.
 *
 * A parked query costs one entry in one Set: no timer (the caller's signal carries the
 * deadline) and no closure beyond its resolver, so 10,000 parked queries stay cheap.
 *
 * @module
 */

/**
 * What a wait listens on to give up: the part of AbortSignal it uses, so a caller holding
 * thousands of parked waits can pass something lighter than an AbortSignal (api/parked.ts).
 */
export interface WaitSignal {
  readonly aborted: boolean;
  addEventListener(type: "abort", listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: "abort", listener: () => void): void;
}

interface Waiter {
  readonly after: number;
  readonly resolve: () => void;
}

/** Scope names. Names are lowercased where Consul matches case-insensitively. */
export const scope = {
  nodes: "nodes",
  services: "services",
  checks: "checks",
  sessions: "sessions",
  events: "events",
  members: "members",
  queries: "queries",
  /** Any change to services, checks, nodes or liveness: what a whole-catalog health summary reads. */
  serviceSummaries: "service-summaries",
  node: (name: string): string => `node:${name.toLowerCase()}`,
  service: (name: string): string => `service:${name.toLowerCase()}`,
  kv: (key: string): string => `kv:${key}`,
  kvPrefix: (prefix: string): string => `kvp:${prefix}`,
};

export class ScopeIndex {
  readonly #index = new Map<string, number>();
  readonly #waiters = new Map<string, Set<Waiter>>();
  /** Prefix scopes with parked waiters, so a KV write visits only prefixes someone waits on. */
  readonly #parkedPrefixes = new Set<string>();
  #woken = 0;

  /** The revision that last changed `name`, or 0 when it never changed. */
  get(name: string): number {
    return this.#index.get(name) ?? 0;
  }

  /** Records that `names` changed at `revision` and wakes their waiters. */
  bump(names: Iterable<string>, revision: number): void {
    for (const name of names) {
      this.#index.set(name, revision);
      this.#wake(name, revision);
    }
  }

  /** Wakes every parked prefix scope that `key` falls under (KV prefix queries, tree deletes). */
  bumpPrefixesOf(key: string, revision: number): void {
    for (const name of this.#parkedPrefixes) {
      if (key.startsWith(name.slice(4))) this.#wake(name, revision);
    }
  }

  /**
   * Drops `name`'s index (a deleted key's scope, once its tombstone is reaped) unless queries are
   * parked on it. Safe: a scope without an index reads 0, so a later wait parks until its next
   * change, which is exactly what a query on a key that no longer exists waits for.
   */
  forget(name: string): void {
    if (!this.#waiters.has(name)) this.#index.delete(name);
  }

  /** How many scopes have an index (for tests of memory bounds). */
  size(): number {
    return this.#index.size;
  }

  /** Resolves once `name` changes past `after`, or when `signal` aborts. */
  wait(name: string, after: number, signal: WaitSignal): Promise<void> {
    if (signal.aborted || this.get(name) > after) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let set = this.#waiters.get(name);
      if (!set) {
        set = new Set();
        this.#waiters.set(name, set);
        if (name.startsWith("kvp:")) this.#parkedPrefixes.add(name);
      }
      const waiters = set;
      const waiter: Waiter = {
        after,
        resolve: () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        this.#remove(name, waiters, waiter);
        resolve();
      };
      signal.addEventListener("abort", onAbort, { once: true });
      waiters.add(waiter);
    });
  }

  /** Waiters parked right now (for metrics and the benchmark). */
  parked(): number {
    let n = 0;
    for (const set of this.#waiters.values()) n += set.size;
    return n;
  }

  /** How many waiters have been woken by changes since start (for the unrelated-wake benchmark). */
  woken(): number {
    return this.#woken;
  }

  #wake(name: string, revision: number): void {
    const set = this.#waiters.get(name);
    if (!set) return;
    for (const w of set) {
      if (revision > w.after) {
        this.#remove(name, set, w);
        this.#woken++;
        w.resolve();
      }
    }
  }

  #remove(name: string, set: Set<Waiter>, waiter: Waiter): void {
    set.delete(waiter);
    if (set.size === 0) {
      this.#waiters.delete(name);
      this.#parkedPrefixes.delete(name);
    }
  }
}
