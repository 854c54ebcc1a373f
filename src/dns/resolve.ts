/**
 * The DNS interface's resolver: one question, the catalog and the DNS settings in; an rcode and
 * the answer, authority and additional sections out. No sockets here (server.ts has them). Follows
 * Consul's agent/dns.go: dispatch on the rightmost `service`/`node`/`query`/`addr` label (or an
 * RFC 2782 `_name._tag` SRV name), drop critical instances, shuffle, and NXDOMAIN with the SOA.
 *
 * @module
 */
import type { Answer, StringAnswer } from "dns-packet";
import type { Catalog, InstanceEntry } from "../catalog/catalog.js";
import { ANONYMOUS_ACCESSOR_ID, Authorizer } from "../lib/acl-authorizer.js";
import { filterQueryNodes, orderQueryNodes } from "../catalog/prepared-query-execute.js";
import { scope } from "../catalog/scopes.js";
import type { DnsConfig } from "../config/dns-config.js";
import { parseGoDuration } from "../lib/duration.js";
import { isAugurError } from "../lib/errors.js";
import { encodable, hexOfIp, ipBytes, ipFromArpa, ipFromHex, ipText } from "./names.js";
import {
  acceptFor,
  addressRecord,
  metaTxt,
  nodeAddress,
  nodeRecords,
  ptr,
  serviceAddress,
  weightOf,
} from "./records.js";

export type DnsRcode = "NOERROR" | "FORMERR" | "SERVFAIL" | "NXDOMAIN" | "NOTIMP" | "REFUSED";

export interface DnsQuestion {
  /** As asked (case kept), without the trailing dot. */
  readonly name: string;
  /** dns-packet's type name (`A`, `SRV`, `UNKNOWN_65280`, ...). */
  readonly type: string;
}

export interface DnsAnswer {
  readonly kind: "answer";
  readonly rcode: DnsRcode;
  readonly answers: Answer[];
  readonly authorities: Answer[];
  readonly additionals: Answer[];
  /** More records existed than `maxAnswers` let through: the answer is already cut. */
  readonly capped: boolean;
}

/** A name outside the domain, for the recursors (REFUSED when there are none). */
export type DnsOutcome = DnsAnswer | { readonly kind: "recurse" };

export interface DnsResolverOptions {
  readonly catalog: Catalog;
  readonly config: DnsConfig;
  readonly datacenter: string;
  readonly nodeName: string;
  readonly random?: () => number;
  /**
   * With ACLs on: the authorizer DNS answers with, Consul's `acl.tokens.default` (else the
   * anonymous token). Services and nodes it may not read are not there.
   */
  readonly authorizer?: () => Authorizer;
}

/** A record's owner and data, before it becomes an A, AAAA or CNAME. */
interface Lookup {
  readonly qtype: string;
  readonly qname: string;
  readonly domain: string;
  readonly ttl: number;
  readonly maxAnswers: number;
}

const NAME_ERROR = Symbol("nxdomain");
/** What a default token that no longer resolves may read: nothing. */
const DENY_ALL = new Authorizer({ named: {}, global: {} }, "deny", ANONYMOUS_ACCESSOR_ID);

/** A PTR answer, and the node or service whose read permission it needs. */
interface ReverseTarget {
  readonly target: string;
  readonly kind: "node" | "service";
  readonly name: string;
}
/** Instances the per-service cache may hold in all (see #instances). */
const CACHE_MAX_INSTANCES = 100_000;
/** Built records (one instance's, for one question) the caches may hold in all (see #built). */
const CACHE_MAX_BUILT = 50_000;
/** Distinct questions (name as asked, type, domain, TTL) one service keeps built records for. */
const CACHE_MAX_QUESTIONS = 16;

/** One instance's records for one question, and what deduplicates them. */
interface Built {
  readonly records: Answer[];
  readonly key: string;
  readonly extra: Answer[];
}

interface CachedInstances {
  readonly index: number;
  readonly all: InstanceEntry[];
  readonly healthy: InstanceEntry[];
  /** Per question, each instance's records: shared by every answer until the index moves. */
  readonly built: Map<string, Map<InstanceEntry, Built>>;
  builtCount: number;
  cached: boolean;
}
/** Consul's InvalidNameRe, negated: node names usable in NS targets. */
const VALID_NODE_NAME = /^[A-Za-z0-9-]+$/;

export class DnsResolver {
  readonly #catalog: Catalog;
  #cfg: DnsConfig;
  readonly #dc: string;
  readonly #nodeName: string;
  readonly #random: () => number;
  #domain: string;
  #alt: string | undefined;
  readonly #cache = new Map<string, CachedInstances>();
  #reverseMap: { key: string; map: Map<string, ReverseTarget> } | undefined;
  #cached = 0;
  #builtTotal = 0;

  readonly #authorizer: (() => Authorizer) | undefined;

  constructor(options: DnsResolverOptions) {
    this.#authorizer = options.authorizer;
    this.#catalog = options.catalog;
    this.#cfg = options.config;
    this.#dc = options.datacenter;
    this.#nodeName = options.nodeName;
    this.#random = options.random ?? Math.random;
    this.#domain = options.config.domain.replace(/\.$/, "");
    this.#alt = options.config.altDomain?.replace(/\.$/, "");
  }

  /** A reload's settings (Consul reloads dns_config): used from the next question on. */
  setConfig(config: DnsConfig): void {
    this.#cfg = config;
    this.#domain = config.domain.replace(/\.$/, "");
    this.#alt = config.altDomain?.replace(/\.$/, "");
    // only_passing decides which instances are kept as healthy.
    this.#cache.clear();
    this.#cached = 0;
    this.#builtTotal = 0;
  }

  /**
   * Answers one question. `maxAnswers` bounds the answer section before anything is encoded, so
   * a service with thousands of instances costs the event loop what the packet can carry, not
   * what the catalog holds (the server still trims by bytes afterwards).
   */
  resolve(q: DnsQuestion, maxAnswers: number): DnsOutcome | Promise<DnsOutcome> {
    const lower = q.name.toLowerCase().replace(/\.$/, "");
    const domain = this.#responseDomain(lower);
    if (domain === undefined) {
      if (lower.endsWith(".arpa") || lower === "arpa") return this.#ptr(q, lower);
      return { kind: "recurse" };
    }
    // With allow_stale (the default) nothing waits, so the answer is returned as it is: a promise
    // per query costs the UDP path microtask turns and garbage at tens of thousands a second.
    if (!this.#cfg.allowStale)
      return this.#catalog.catchUp().then(() => this.#resolveIn(q, lower, domain, maxAnswers));
    return this.#resolveIn(q, lower, domain, maxAnswers);
  }

  #resolveIn(q: DnsQuestion, lower: string, domain: string, maxAnswers: number): DnsOutcome {
    const out = answer("NOERROR");
    const soa = (): void => void out.authorities.push(this.#soa(domain));
    if (q.type === "SOA") {
      out.answers.push(this.#soa(domain));
      const { ns, glue } = this.#nameservers(domain);
      out.authorities.push(...ns);
      out.additionals.push(...glue);
      return out;
    }
    if (q.type === "NS") {
      const { ns, glue } = this.#nameservers(domain);
      out.answers.push(...ns);
      out.additionals.push(...glue);
      return out;
    }
    if (q.type === "AXFR" || q.type === "IXFR") return { ...out, rcode: "NOTIMP" };
    const rest = lower === domain ? "" : lower.slice(0, -domain.length - 1);
    try {
      const noData = this.#dispatch(q, rest, domain, maxAnswers, out);
      if (noData) soa();
      return out;
    } catch (err) {
      if (err === NAME_ERROR) {
        soa();
        return { ...out, rcode: "NXDOMAIN" };
      }
      // A prepared query template that cannot render, or a store that is out of reach.
      if (isAugurError(err)) return { ...out, rcode: "SERVFAIL" };
      throw err;
    }
  }

  /** The domain (or alt domain) the name is in, matched as Consul's getResponseDomain. */
  #responseDomain(lower: string): string | undefined {
    for (const d of [this.#domain, this.#alt])
      if (d !== undefined && (lower === d || lower.endsWith(`.${d}`))) return d;
    return undefined;
  }

  /** Fills `out`; true when the name exists but has no record of the type (NODATA: SOA too). */
  #dispatch(q: DnsQuestion, rest: string, domain: string, max: number, out: DnsAnswer): boolean {
    const labels = rest === "" ? [] : rest.split(".");
    for (let i = labels.length - 1; i >= 0; i--) {
      const label = labels[i] as string;
      const parts = labels.slice(0, i);
      const suffixes = labels.slice(i + 1);
      switch (label) {
        case "service":
          return this.#serviceName(q, parts, suffixes, domain, max, out);
        case "node":
          return this.#nodeQuery(q, parts, suffixes, domain, out);
        case "query":
          return this.#preparedQuery(q, parts, suffixes, domain, max, out);
        case "addr":
          return this.#addr(q, parts, suffixes, domain, out);
        case "connect":
        case "virtual":
        case "ingress":
          // Service mesh names: augur has no mesh, so nothing is registered under them.
          throw NAME_ERROR;
        default:
          // `_name._tag.consul` SRV: the `service` label is optional for RFC 2782 names.
          if (q.type === "SRV" && label.startsWith("_"))
            return this.#serviceName(q, labels.slice(0, i + 1), suffixes, domain, max, out);
      }
    }
    throw NAME_ERROR;
  }

  /** The datacenter of `<...>.<kind>[.<dc>[.dc]]`; NXDOMAIN for any other datacenter. */
  #locality(suffixes: readonly string[]): void {
    const dc =
      suffixes.length === 0
        ? this.#dc
        : suffixes.length === 1
          ? suffixes[0]
          : suffixes.length === 2 && suffixes[1] === "dc"
            ? suffixes[0]
            : undefined;
    // augur is one datacenter; Consul answers "No path to datacenter" with NXDOMAIN.
    if (dc === undefined || dc !== this.#dc.toLowerCase()) throw NAME_ERROR;
  }

  #serviceName(
    q: DnsQuestion,
    parts: readonly string[],
    suffixes: readonly string[],
    domain: string,
    max: number,
    out: DnsAnswer,
  ): boolean {
    const n = parts.length;
    if (n < 1) throw NAME_ERROR;
    this.#locality(suffixes);
    let service: string;
    let tag: string;
    const [first = "", second = ""] = parts;
    if (n === 2 && first.startsWith("_") && second.startsWith("_")) {
      service = first.slice(1);
      tag = second === "_tcp" ? "" : second.slice(1);
    } else {
      service = parts[n - 1] as string;
      tag = parts.slice(0, n - 1).join(".");
    }
    const inst = this.#instances(service);
    let entries = inst.healthy.slice();
    if (tag !== "")
      entries = entries.filter((e) => (e.Service.Tags ?? []).some((t) => t.toLowerCase() === tag));
    if (entries.length === 0) throw NAME_ERROR;
    return this.#serviceRecords(
      q,
      lazyShuffle(entries, this.#random),
      domain,
      this.#serviceTtl(service),
      max,
      out,
      inst,
    );
  }

  /**
   * A service's instances, and those that pass #healthy, kept while the service's scope index (which
   * every change to its instances, their nodes and their checks bumps, as blocking queries rely on)
   * stays the same: a busy service's answers then cost the packet, not a pass over its instances.
   */
  #instances(service: string): CachedInstances {
    const inst = this.#allInstances(service);
    const authz = this.#authz();
    if (authz === undefined) return inst;
    // Consul filters DNS answers by the default token: a service it may not read has no
    // instances, and instances on nodes it may not read are left out.
    if (!authz.allows("service", service, "read"))
      return {
        index: inst.index,
        all: [],
        healthy: [],
        built: new Map(),
        builtCount: 0,
        cached: false,
      };
    const all = inst.all.filter((e) => authz.allows("node", e.Node.Node, "read"));
    if (all.length === inst.all.length) return inst;
    return {
      index: inst.index,
      all,
      healthy: inst.healthy.filter((e) => authz.allows("node", e.Node.Node, "read")),
      built: new Map(),
      builtCount: 0,
      cached: false,
    };
  }

  /** The default token's authorizer while ACLs restrict anything; undefined otherwise. */
  #authz(): Authorizer | undefined {
    if (this.#authorizer === undefined) return undefined;
    let authz: Authorizer;
    try {
      authz = this.#authorizer();
    } catch {
      return DENY_ALL; // a default token that no longer exists reads nothing
    }
    return authz.isManagement ? undefined : authz;
  }

  #allInstances(service: string): CachedInstances {
    const key = service.toLowerCase();
    const index = this.#catalog.scopeIndex(scope.service(key));
    const hit = this.#cache.get(key);
    if (hit && hit.index === index && index !== 0) return hit;
    const all = this.#catalog.serviceInstances(service);
    const entry: CachedInstances = {
      index,
      all,
      healthy: all.filter((e) => this.#healthy(e)),
      built: new Map(),
      builtCount: 0,
      cached: false,
    };
    if (hit) this.#drop(key, hit);
    // Bounded by instances held, oldest service first out.
    while (this.#cached + all.length > CACHE_MAX_INSTANCES && this.#cache.size > 0) {
      const [oldest, old] = this.#cache.entries().next().value as [string, CachedInstances];
      this.#drop(oldest, old);
    }
    if (index !== 0 && all.length <= CACHE_MAX_INSTANCES) {
      this.#cache.set(key, entry);
      this.#cached += all.length;
      entry.cached = true;
    }
    return entry;
  }

  #drop(key: string, old: CachedInstances): void {
    this.#cache.delete(key);
    this.#cached -= old.all.length;
    this.#builtTotal -= old.builtCount;
    old.cached = false;
  }

  /**
   * Where one question's built records are kept for this service's instances, or undefined when
   * they are not kept (the instances are not cached, or the bounds are reached): then each answer
   * builds its own, as before. Records depend on the name as asked (its case is echoed), the
   * type, the domain and the TTL; everything else they read is the instance or the settings, and
   * a settings reload empties the cache.
   */
  #builtFor(inst: CachedInstances, l: Lookup): Map<InstanceEntry, Built> | undefined {
    if (!inst.cached) return undefined;
    const key = `${l.qtype}\u0000${l.qname}\u0000${l.domain}\u0000${l.ttl}`;
    let map = inst.built.get(key);
    if (!map && inst.built.size < CACHE_MAX_QUESTIONS) inst.built.set(key, (map = new Map()));
    return map;
  }

  /** An instance's records for the question, from `memo` when kept there. */
  #built(
    memo: Map<InstanceEntry, Built> | undefined,
    inst: CachedInstances | undefined,
    e: InstanceEntry,
    build: () => Built,
  ): Built {
    const hit = memo?.get(e);
    if (hit) return hit;
    const built = build();
    if (memo && inst?.cached && this.#builtTotal < CACHE_MAX_BUILT) {
      memo.set(e, built);
      inst.builtCount++;
      this.#builtTotal++;
    }
    return built;
  }

  /** A copy of the healthy instances: the caller shuffles it in place. */
  #healthyInstances(service: string): InstanceEntry[] {
    return this.#instances(service).healthy.slice();
  }

  /** Consul's CheckServiceNodes.Filter: no critical check; with only_passing, no warning either. */
  #healthy(e: InstanceEntry): boolean {
    return e.Checks.every(
      (c) => c.Status !== "critical" && !(this.#cfg.onlyPassing && c.Status !== "passing"),
    );
  }

  /** `service_ttl`: the exact name, else the longest `prefix*` key, else 0. */
  #serviceTtl(service: string): number {
    const ttls = this.#cfg.serviceTtlSeconds;
    const exact = ttls[service];
    if (exact !== undefined) return exact;
    let best: [number, number] | undefined;
    for (const [key, ttl] of Object.entries(ttls))
      if (key.endsWith("*") && service.startsWith(key.slice(0, -1)))
        if (!best || key.length > best[0]) best = [key.length, ttl];
    return best?.[1] ?? 0;
  }

  /** SRV or address records for instances already filtered and shuffled; true for NODATA. */
  #serviceRecords(
    q: DnsQuestion,
    entries: Iterable<InstanceEntry>,
    domain: string,
    ttl: number,
    max: number,
    out: DnsAnswer,
    inst?: CachedInstances,
  ): boolean {
    const lookup: Lookup = { qtype: q.type, qname: q.name, domain, ttl, maxAnswers: max };
    const memo = inst && this.#builtFor(inst, lookup);
    let capped = false;
    if (q.type === "SRV") {
      const seen = new Set<string>();
      for (const e of entries) {
        if (out.answers.length >= max) {
          capped = true;
          break;
        }
        const built = this.#built(memo, inst, e, () => {
          const target = this.#srvRecords(lookup, e);
          return {
            key: `${e.Node.Node}:${serviceAddress(e, "any")}:${e.Service.Port ?? 0}`,
            records: target ? [target.srv] : [],
            extra: target?.extra ?? [],
          };
        });
        if (seen.has(built.key)) continue;
        seen.add(built.key);
        const srv = built.records[0];
        if (!srv) continue;
        out.answers.push(srv);
        out.additionals.push(...built.extra);
      }
    } else {
      const seen = new Set<string>();
      let count = 0;
      let cname: Answer[] | undefined;
      for (const e of entries) {
        if (out.answers.length >= max) {
          capped = true;
          break;
        }
        const { records, key } = this.#built(memo, inst, e, () => {
          const records = this.#addressRecords(lookup, e);
          const head = records[0];
          const key = head ? `${head.type} ${"data" in head ? String(head.data) : ""}` : "";
          return { records, key, extra: [] };
        });
        const head = records[0];
        if (!head) continue;
        if (seen.has(key)) continue;
        seen.add(key);
        // Consul answers a CNAME only when no instance has an address record.
        if (head.type === "CNAME") {
          cname ??= records;
          continue;
        }
        out.answers.push(...records);
        if (++count === this.#cfg.aRecordLimit) break;
      }
      if (out.answers.length === 0 && cname) out.answers.push(...cname);
    }
    (out as { capped: boolean }).capped = capped;
    return out.answers.length === 0;
  }

  /** Consul's makeNodeServiceRecords for A/AAAA/ANY/...: the service's, else the node's address. */
  #addressRecords(l: Lookup, e: InstanceEntry): Answer[] {
    const accept = acceptFor(l.qtype);
    const svc = serviceAddress(e, accept);
    const node = nodeAddress(e.Node, accept);
    if (svc === "" && node === "") return [];
    const nodeIp = ipBytes(node);
    const svcIp = ipBytes(svc);
    const ip =
      svc === ""
        ? nodeIp
        : (svcIp ?? (svc.toLowerCase() === l.qname.toLowerCase() ? nodeIp : undefined));
    if (ip) {
      const rr = addressRecord(l.qtype, ip, l.ttl, l.qname);
      return rr ? [rr] : [];
    }
    const target = svc === "" ? node : svc;
    if (!encodable(target)) return [];
    return [{ type: "CNAME", name: l.qname, ttl: l.ttl, data: target.replace(/\.$/, "") }];
  }

  /** One instance's SRV record and the A/AAAA (and node meta TXT) for its target. */
  #srvRecords(l: Lookup, e: InstanceEntry): { srv: Answer; extra: Answer[] } | undefined {
    const svc = serviceAddress(e, "any");
    const node = nodeAddress(e.Node, "any");
    if (svc === "" && node === "") return undefined;
    const nodeIp = ipBytes(node);
    const svcIp = ipBytes(svc);
    const nodeFqdn = this.#nodeFqdn(e.Node.Node, l.domain);
    let target: string;
    const extra: Answer[] = [];
    if (svc === "" && nodeIp && e.Node.Address === node) {
      target = nodeFqdn;
      extra.push(addressRecord("SRV", nodeIp, l.ttl, target) as Answer);
    } else if (svcIp ?? (svc === "" ? nodeIp : undefined)) {
      const ip = (svcIp ?? nodeIp) as Uint8Array;
      target = `${hexOfIp(ip)}.addr.${this.#dc}.${l.domain}`;
      extra.push(addressRecord("SRV", ip, l.ttl, target) as Answer);
    } else {
      // An external service: the SRV names the host; its addresses are the client's to find.
      target = (svc === "" ? node : svc).replace(/\.$/, "");
    }
    if (!encodable(target)) return undefined;
    if (this.#cfg.nodeMetaTxt && encodable(nodeFqdn))
      extra.push(...metaTxt(e.Node, nodeFqdn, l.ttl));
    return {
      srv: {
        type: "SRV",
        name: l.qname,
        ttl: l.ttl,
        data: { priority: 1, weight: weightOf(e), port: e.Service.Port ?? 0, target },
      },
      extra,
    };
  }

  #nodeFqdn(node: string, domain: string): string {
    return `${node}.node.${this.#dc}.${domain}`.toLowerCase();
  }

  #nodeQuery(
    q: DnsQuestion,
    parts: readonly string[],
    suffixes: readonly string[],
    domain: string,
    out: DnsAnswer,
  ): boolean {
    if (parts.length < 1) throw NAME_ERROR;
    this.#locality(suffixes);
    if (!["ANY", "A", "AAAA", "TXT"].includes(q.type)) return false;
    const found = this.#catalog.node(parts.join(".")).value;
    if (!found) throw NAME_ERROR;
    if (this.#authz()?.allows("node", found.Node.Node, "read") === false) throw NAME_ERROR;
    const ttl = this.#cfg.nodeTtlSeconds;
    if (q.type !== "TXT") out.answers.push(...nodeRecords(found.Node, q.type, q.name, ttl));
    const txt = metaTxt(found.Node, q.name, ttl);
    if (q.type === "TXT" || q.type === "ANY") out.answers.push(...txt);
    else if (this.#cfg.nodeMetaTxt) out.additionals.push(...txt);
    return false;
  }

  #preparedQuery(
    q: DnsQuestion,
    parts: readonly string[],
    suffixes: readonly string[],
    domain: string,
    max: number,
    out: DnsAnswer,
  ): boolean {
    const n = parts.length;
    if (n < 1 || suffixes.length > 1) throw NAME_ERROR;
    if (suffixes.length === 1 && suffixes[0] !== this.#dc.toLowerCase()) throw NAME_ERROR;
    const first = parts[0] as string;
    const name =
      n >= 2 && first.startsWith("_") && (parts[n - 1] as string).startsWith("_")
        ? parts
            .slice(0, n - 1)
            .join(".")
            .slice(1)
        : parts.join(".");
    const query = this.#catalog.queries.resolve(name, "").value;
    if (!query) throw NAME_ERROR;
    const svc = query.Service;
    let near = svc.Near;
    if (near === "_agent") near = this.#nodeName;
    if (near === "_ip") near = "";
    const inst = this.#instances(svc.Service);
    const entries = orderQueryNodes(filterQueryNodes(inst.all, svc), near, 0, this.#random);
    if (entries.length === 0) throw NAME_ERROR;
    const queryTtl = query.DNS.TTL !== "" ? parseGoDuration(query.DNS.TTL) : undefined;
    const ttl =
      queryTtl !== undefined ? Math.floor(queryTtl / 1000) : this.#serviceTtl(svc.Service);
    return this.#serviceRecords(q, entries, domain, ttl, max, out, inst);
  }

  /** `<hex>.addr[.<dc>].consul`: the address itself, in the answer for A/AAAA/ANY. */
  #addr(
    q: DnsQuestion,
    parts: readonly string[],
    suffixes: readonly string[],
    _domain: string,
    out: DnsAnswer,
  ): boolean {
    if (parts.length !== 1 || suffixes.length > 1) throw NAME_ERROR;
    const ip = ipFromHex(parts[0] as string);
    if (!ip) throw NAME_ERROR;
    const type = ip.length === 4 ? "A" : "AAAA";
    const rr: StringAnswer = {
      type,
      name: q.name,
      ttl: this.#cfg.nodeTtlSeconds,
      data: ipText(ip),
    };
    if (q.type === type || q.type === "ANY") out.answers.push(rr);
    else out.additionals.push(rr);
    return false;
  }

  /** Reverse lookups: a node with that address, else a service instance with it. */
  #ptr(q: DnsQuestion, lower: string): DnsOutcome {
    const ip = ipFromArpa(lower);
    const out = answer("NOERROR");
    if (q.type === "SOA") out.answers.push(this.#soa(this.#domain));
    const reverse = ip ? this.#reverse().get(ipText(ip)) : undefined;
    const authz = this.#authz();
    const target =
      reverse && (!authz || authz.allows(reverse.kind, reverse.name, "read"))
        ? reverse.target
        : undefined;
    if (target) {
      out.answers.push(ptr(q.name, target));
      return out;
    }
    if (this.#cfg.recursors.length > 0) return { kind: "recurse" };
    out.authorities.push(this.#soa(this.#domain));
    return { ...out, rcode: "NXDOMAIN" };
  }

  /**
   * Address to PTR target: nodes first (in name order, as Consul walks its node list), then
   * service addresses. Rebuilt only when the nodes or services table changes, so a stream of
   * reverse lookups does not walk the whole catalog once per query.
   */
  #reverse(): Map<string, ReverseTarget> {
    const key = `${this.#catalog.tableIndex("nodes")}/${this.#catalog.tableIndex("services")}/${this.#domain}`;
    if (this.#reverseMap?.key === key) return this.#reverseMap.map;
    const map = new Map<string, ReverseTarget>();
    for (const n of this.#catalog.nodes().value) {
      const ip = ipBytes(n.Address);
      const target = this.#nodeFqdn(n.Node, this.#domain);
      if (ip && !map.has(ipText(ip)) && encodable(target))
        map.set(ipText(ip), { target, kind: "node", name: n.Node });
    }
    for (const sn of this.#catalog.serviceNodesAll().value) {
      const ip = ipBytes(sn.ServiceAddress);
      const target = `${sn.ServiceName}.service.${this.#dc}.${this.#domain}`;
      if (ip && !map.has(ipText(ip)) && encodable(target))
        map.set(ipText(ip), { target, kind: "service", name: sn.ServiceName });
    }
    this.#reverseMap = { key, map };
    return map;
  }

  #soa(domain: string): Answer {
    const soa = this.#cfg.soa;
    return {
      type: "SOA",
      name: domain,
      // Consul: the SOA's own TTL follows its minimum, so negative answers are cached as long.
      ttl: soa.minTtl,
      data: {
        mname: `ns.${domain}`,
        rname: `hostmaster.${domain}`,
        serial: Math.floor(Date.now() / 1000) >>> 0,
        refresh: soa.refresh,
        retry: soa.retry,
        expire: soa.expire,
        minimum: soa.minTtl,
      },
    };
  }

  /** Up to three healthy `consul` service nodes, shuffled, as NS records with their addresses. */
  #nameservers(domain: string): { ns: Answer[]; glue: Answer[] } {
    const servers = this.#healthyInstances("consul");
    shuffle(servers, this.#random);
    const ns: Answer[] = [];
    const glue: Answer[] = [];
    const ttl = this.#cfg.nodeTtlSeconds;
    for (const s of servers) {
      if (!VALID_NODE_NAME.test(s.Node.Node)) continue;
      const fqdn = this.#nodeFqdn(s.Node.Node, domain);
      if (!encodable(fqdn)) continue;
      ns.push({ type: "NS", name: domain, ttl, data: fqdn });
      glue.push(...nodeRecords(s.Node, "ANY", fqdn, ttl));
      if (ns.length >= 3) break;
    }
    return { ns, glue };
  }
}

function answer(rcode: DnsRcode): DnsAnswer {
  return { kind: "answer", rcode, answers: [], authorities: [], additionals: [], capped: false };
}

/**
 * A Fisher-Yates shuffle done as the items are taken: a uniformly random order, paid only for the
 * items read. An answer holds a few of a service's instances, not its 10,000.
 */
function* lazyShuffle<T>(items: T[], random: () => number): Generator<T> {
  for (let i = 0; i < items.length; i++) {
    const j = i + Math.floor(random() * (items.length - i));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
    yield items[i] as T;
  }
}

function shuffle<T>(items: T[], random: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
}
