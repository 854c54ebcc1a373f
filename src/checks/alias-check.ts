/**
 * Alias checks (Consul CheckAlias): the health of another service instance (`alias_service`, a
 * service ID) or node (`alias_node`), mirrored. The aliased node's checks that concern it (its
 * node-level checks, and the service's own) decide: any critical is critical
 * (`Aliased check "<name>" failing: <output>`), else any warning is warning, else passing
 * (`All checks passing.`, or `No checks found.` when there are none). A service that is not on
 * the node is critical: `Service <id> could not be found on node <alias_node>`.
 *
 * No interval: the runner parks on the catalog's scope of the aliased node (a blocking query in
 * process), so it re-evaluates when that node's checks or services change, and once a minute
 * regardless as Consul does.
 *
 * Two guards Consul lacks: the alias never counts itself (a node-level alias of a service on its
 * own node would otherwise read its own critical status and latch there), nor an alias check
 * that, followed through its own target, leads back to it. Two aliases of each other would
 * otherwise each quote the other's output, and keep rewriting their outputs in turn.
 *
 * @module
 */
import type { Catalog } from "../catalog/catalog.js";
import { scope } from "../catalog/scopes.js";
import type { CheckStatus, HealthCheck } from "../catalog/types.js";
import type { CheckRunner, CheckSink } from "./runner.js";

/** What an alias reads: a node's checks and services, and a wait for them to change. */
export interface AliasHealthSource {
  nodeChecks(node: string): { readonly index: number; readonly value: readonly HealthCheck[] };
  nodeHasService(node: string, serviceId: string): boolean;
  /** Resolves once the node's checks or services change after `index`, or when `signal` aborts. */
  waitNode(node: string, index: number, signal: AbortSignal): Promise<void>;
}

export function catalogAliasSource(catalog: Catalog): AliasHealthSource {
  return {
    nodeChecks: (node) => catalog.nodeChecks(node),
    nodeHasService: (node, serviceId) =>
      Object.hasOwn(catalog.node(node).value?.Services ?? {}, serviceId),
    waitNode: (node, index, signal) => catalog.wait(scope.node(node), index, signal),
  };
}

export interface AliasOptions {
  readonly source: AliasHealthSource;
  /** The node this agent runs as: the alias check's own node, and the default target. */
  readonly localNode: string;
  readonly checkId: string;
  readonly aliasNode?: string;
  readonly aliasService?: string;
  readonly sink: CheckSink;
  /** Consul's maxDurationBetweenUpdates / MaxQueryTime: re-read at least this often. */
  readonly refreshMs?: number;
}

/** Consul's liveness check, which the agent's local state (what a local alias reads) lacks. */
const SERF_CHECK_ID = "serfHealth";
/**
 * How many distinct alias targets one evaluation follows looking for a loop back to itself: a
 * longer chain of aliases is not looked through, so a crafted web of them costs bounded work.
 */
const MAX_LOOP_TARGETS = 16;

type AliasState =
  { kind: "idle" } | { kind: "running"; abort: AbortController } | { kind: "stopped" };

export class AliasRunner implements CheckRunner {
  #state: AliasState = { kind: "idle" };
  #last: string | undefined;

  constructor(private readonly options: AliasOptions) {}

  get state(): AliasState["kind"] {
    return this.#state.kind;
  }

  start(): void {
    if (this.#state.kind !== "idle") return;
    const abort = new AbortController();
    this.#state = { kind: "running", abort };
    // #run reports its own failures; nothing is left to reject.
    this.#run(abort.signal).catch(() => undefined);
  }

  stop(): void {
    if (this.#state.kind === "running") this.#state.abort.abort();
    this.#state = { kind: "stopped" };
  }

  /** The aliased node: `alias_node`, or this agent's own. */
  get #target(): string {
    return this.options.aliasNode || this.options.localNode;
  }

  async #run(signal: AbortSignal): Promise<void> {
    const refreshMs = this.options.refreshMs ?? 60_000;
    let failures = 0;
    while (!signal.aborted) {
      try {
        const read = this.options.source.nodeChecks(this.#target);
        this.#report(this.evaluate(read.value), signal);
        failures = 0;
        await this.#waitForChange(read.index, refreshMs, signal);
      } catch (err) {
        // Consul's wording when its query for the aliased checks fails; it retries with backoff.
        const why = err instanceof Error ? err.message : String(err);
        this.#report(
          { status: "critical", output: `Failure checking aliased node or service: ${why}` },
          signal,
        );
        const backoffMs = Math.min(refreshMs, 1000 * 2 ** Math.min(failures++, 6));
        await this.#waitForChange(Number.MAX_SAFE_INTEGER, backoffMs, signal);
      }
      // One evaluation per turn of the event loop at most, however fast the node changes.
      await new Promise((r) => setImmediate(r));
    }
  }

  #report(result: { status: CheckStatus; output: string }, signal: AbortSignal): void {
    const key = `${result.status}\n${result.output}`;
    if (key === this.#last || signal.aborted) return;
    this.#last = key;
    this.options.sink(result.status, result.output);
  }

  /** Until the aliased node changes past `index`, `ms` pass, or stop(). */
  async #waitForChange(index: number, ms: number, signal: AbortSignal): Promise<void> {
    const wake = new AbortController();
    const onStop = (): void => wake.abort();
    signal.addEventListener("abort", onStop, { once: true });
    const timer = setTimeout(() => wake.abort(), ms);
    timer.unref();
    try {
      await this.options.source.waitNode(this.#target, index, wake.signal);
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", onStop);
    }
  }

  /** Consul's processChecks over the aliased node's checks (in the catalog's order). */
  evaluate(checks: readonly HealthCheck[]): { status: CheckStatus; output: string } {
    const serviceId = this.options.aliasService ?? "";
    const local = !this.options.aliasNode;
    let status: CheckStatus = "passing";
    let output = "No checks found.";
    let serviceFound = false;
    const visited = new Set<string>();
    const read = new Map<string, readonly HealthCheck[]>();
    for (const chk of checks) {
      if (chk.ServiceID !== "" && chk.ServiceID !== serviceId) continue;
      if (local && chk.CheckID === SERF_CHECK_ID && chk.ServiceID === "") continue;
      if (this.#isSelf(chk) || this.#leadsBack(chk, visited, read)) continue;
      if (chk.ServiceID === serviceId) serviceFound = true;
      if (chk.Status === "critical" || chk.Status === "warning") {
        status = chk.Status;
        output = `Aliased check ${JSON.stringify(chk.Name)} failing: ${chk.Output}`;
        if (chk.Status === "critical") break;
      } else if (status === "passing") {
        output = "All checks passing.";
      }
    }
    if (!serviceFound && !this.options.source.nodeHasService(this.#target, serviceId)) {
      status = "critical";
      output = `Service ${serviceId} could not be found on node ${this.options.aliasNode ?? ""}`;
    }
    return { status, output };
  }

  #isSelf(chk: HealthCheck): boolean {
    return (
      chk.CheckID === this.options.checkId &&
      chk.Node.toLowerCase() === this.options.localNode.toLowerCase()
    );
  }

  /** Whether `chk` is an alias whose target (followed through further aliases) includes this check. */
  #leadsBack(
    chk: HealthCheck,
    visited: Set<string>,
    read: Map<string, readonly HealthCheck[]>,
  ): boolean {
    if (chk.Type !== "alias") return false;
    const node = chk.Definition.AliasNode || chk.Node;
    const service = chk.Definition.AliasService ?? "";
    const key = `${node.toLowerCase()}\n${service}`;
    if (visited.has(key) || visited.size >= MAX_LOOP_TARGETS) return false;
    visited.add(key);
    // Each node is read once per evaluation, however many aliases point at it.
    let onNode = read.get(node.toLowerCase());
    if (!onNode) {
      onNode = this.options.source.nodeChecks(node).value;
      read.set(node.toLowerCase(), onNode);
    }
    for (const next of onNode) {
      if (next.ServiceID !== "" && next.ServiceID !== service) continue;
      if (this.#isSelf(next) || this.#leadsBack(next, visited, read)) return true;
    }
    return false;
  }
}
