/**
 * The DNS interface's resolver: one question, the catalog and the DNS settings in; an rcode and
 * the answer, authority and additional sections out. No sockets here (server.ts has them). Follows
 * Consul's agent/dns.go: dispatch on the rightmost `service`/`node`/`query`/`addr` label (or an
 * RFC 2782 `_name._tag` SRV name), drop critical instances, shuffle, and NXDOMAIN with the SOA.
 *
 * @module
 */
import type { Answer, StringAnswer } from "dns-packet";
import type { Catalog } from "../catalog/catalog.js";
import type { ServiceHealthEntry } from "../catalog/health.js";
import { filterQueryNodes, orderQueryNodes } from "../catalog/prepared-query-execute.js";
import type { Node } from "../catalog/types.js";
import type { DnsConfig } from "../config/dns-config.js";
import { parseGoDuration } from "../lib/duration.js";
import { isAugurError } from "../lib/errors.js";
import { encodable, hexOfIp, ipBytes, ipFromArpa, ipFromHex, ipText, sameIp } from "./names.js";

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
}

type Accept = "A" | "AAAA" | "any";

/** A record's owner and data, before it becomes an A, AAAA or CNAME. */
interface Lookup {
  readonly qtype: string;
  readonly qname: string;
  readonly domain: string;
  readonly ttl: number;
  readonly maxAnswers: number;
}

const NAME_ERROR = Symbol("nxdomain");
/** Consul's InvalidNameRe, negated: node names usable in NS targets. */
const VALID_NODE_NAME = /^[A-Za-z0-9-]+$/;

export class DnsResolver {
  readonly #catalog: Catalog;
  readonly #cfg: DnsConfig;
  readonly #dc: string;
  readonly #nodeName: string;
  readonly #random: () => number;
  readonly #domain: string;
  readonly #alt: string | undefined;

  constructor(options: DnsResolverOptions) {
    this.#catalog = options.catalog;
    this.#cfg = options.config;
    this.#dc = options.datacenter;
    this.#nodeName = options.nodeName;
    this.#random = options.random ?? Math.random;
    this.#domain = options.config.domain.replace(/\.$/, "");
    this.#alt = options.config.altDomain?.replace(/\.$/, "");
  }

  /**
   * Answers one question. `maxAnswers` bounds the answer section before anything is encoded, so
   * a service with thousands of instances costs the event loop what the packet can carry, not
   * what the catalog holds (the server still trims by bytes afterwards).
   */
  async resolve(q: DnsQuestion, maxAnswers: number): Promise<DnsOutcome> {
    const lower = q.name.toLowerCase().replace(/\.$/, "");
    const domain = this.#responseDomain(lower);
    if (domain === undefined) {
      if (lower.endsWith(".arpa") || lower === "arpa") return this.#ptr(q, lower);
      return { kind: "recurse" };
    }
    if (!this.#cfg.allowStale) await this.#catalog.catchUp();
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
    let entries = this.#catalog.serviceHealth(service).value.filter((e) => this.#healthy(e));
    if (tag !== "")
      entries = entries.filter((e) => (e.Service.Tags ?? []).some((t) => t.toLowerCase() === tag));
    if (entries.length === 0) throw NAME_ERROR;
    shuffle(entries, this.#random);
    return this.#serviceRecords(q, entries, domain, this.#serviceTtl(service), max, out);
  }

  /** Consul's CheckServiceNodes.Filter: no critical check; with only_passing, no warning either. */
  #healthy(e: ServiceHealthEntry): boolean {
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
    entries: readonly ServiceHealthEntry[],
    domain: string,
    ttl: number,
    max: number,
    out: DnsAnswer,
  ): boolean {
    const lookup: Lookup = { qtype: q.type, qname: q.name, domain, ttl, maxAnswers: max };
    let capped = false;
    if (q.type === "SRV") {
      const seen = new Set<string>();
      for (const e of entries) {
        if (out.answers.length >= max) {
          capped = true;
          break;
        }
        const tuple = `${e.Node.Node}:${serviceAddress(e, "any")}:${e.Service.Port ?? 0}`;
        if (seen.has(tuple)) continue;
        seen.add(tuple);
        const target = this.#srvRecords(lookup, e);
        if (!target) continue;
        out.answers.push(target.srv);
        out.additionals.push(...target.extra);
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
        const records = this.#addressRecords(lookup, e);
        const head = records[0];
        if (!head) continue;
        const key = `${head.type} ${"data" in head ? String(head.data) : ""}`;
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
  #addressRecords(l: Lookup, e: ServiceHealthEntry): Answer[] {
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
  #srvRecords(l: Lookup, e: ServiceHealthEntry): { srv: Answer; extra: Answer[] } | undefined {
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
    const entries = orderQueryNodes(
      filterQueryNodes(this.#catalog.serviceHealth(svc.Service).value, svc),
      near,
      0,
      this.#random,
    );
    if (entries.length === 0) throw NAME_ERROR;
    const queryTtl = query.DNS.TTL !== "" ? parseGoDuration(query.DNS.TTL) : undefined;
    const ttl =
      queryTtl !== undefined ? Math.floor(queryTtl / 1000) : this.#serviceTtl(svc.Service);
    return this.#serviceRecords(q, entries, domain, ttl, max, out);
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
    if (ip) {
      const node = this.#catalog
        .nodes()
        .value.find(
          (n) => sameIpText(n.Address, ip) && encodable(this.#nodeFqdn(n.Node, this.#domain)),
        );
      if (node) out.answers.push(ptr(q.name, this.#nodeFqdn(node.Node, this.#domain)));
      else {
        const s = this.#catalog
          .serviceNodesAll()
          .value.find((sn) => sn.ServiceAddress !== "" && sameIpText(sn.ServiceAddress, ip));
        const target = s && `${s.ServiceName}.service.${this.#dc}.${this.#domain}`;
        if (target && encodable(target)) out.answers.push(ptr(q.name, target));
      }
    }
    if (out.answers.some((a) => a.type === "PTR")) return out;
    if (this.#cfg.recursors.length > 0) return { kind: "recurse" };
    out.authorities.push(this.#soa(this.#domain));
    return { ...out, rcode: "NXDOMAIN" };
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
    const servers = this.#catalog.serviceHealth("consul").value.filter((e) => this.#healthy(e));
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

function shuffle<T>(items: T[], random: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
}

function acceptFor(qtype: string): Accept {
  return qtype === "A" ? "A" : qtype === "AAAA" ? "AAAA" : "any";
}

/** Consul's translateAddressAccept: the tagged address of the family asked, else the default. */
function translate(def: string, v4: string | undefined, v6: string | undefined, a: Accept): string {
  if (a === "AAAA" && v6) return v6;
  if (a === "A" && v4) return v4;
  if (a === "any" && def !== "") return def;
  const ip = ipBytes(def);
  if (ip && ip.length === 4 && a === "A") return def;
  if (ip && ip.length === 16 && a === "AAAA") return def;
  if (!ip && def !== "") return def;
  return "";
}

function serviceAddress(e: ServiceHealthEntry, a: Accept): string {
  const tagged = e.Service.TaggedAddresses;
  return translate(
    e.Service.Address,
    tagged?.["lan_ipv4"]?.Address,
    tagged?.["lan_ipv6"]?.Address,
    a,
  );
}

function nodeAddress(n: Node, a: Accept): string {
  return translate(n.Address, n.TaggedAddresses?.["lan_ipv4"], n.TaggedAddresses?.["lan_ipv6"], a);
}

/** Consul's makeARecord: A for IPv4, AAAA for IPv6, when the question's type takes it. */
function addressRecord(
  qtype: string,
  ip: Uint8Array,
  ttl: number,
  name: string,
): Answer | undefined {
  const takes = ["SRV", "ANY", "NS", "TXT"].includes(qtype);
  if (ip.length === 4 && (takes || qtype === "A"))
    return { type: "A", name, ttl, data: ipText(ip) };
  if (ip.length === 16 && (takes || qtype === "AAAA"))
    return { type: "AAAA", name, ttl, data: ipText(ip) };
  return undefined;
}

/** Consul's makeRecordFromNode: the node's address record, or a CNAME to its host name. */
function nodeRecords(n: Node, qtype: string, name: string, ttl: number): Answer[] {
  const addr = nodeAddress(n, acceptFor(qtype));
  const ip = ipBytes(addr);
  if (ip) {
    const rr = addressRecord(qtype, ip, ttl, name);
    return rr ? [rr] : [];
  }
  if (addr === "" || !encodable(addr.replace(/\.$/, ""))) return [];
  return [{ type: "CNAME", name, ttl, data: addr.replace(/\.$/, "") }];
}

/** Node meta as TXT, RFC 1464 `key=value` (a `rfc1035-` key gives its value alone), as Consul. */
function metaTxt(n: Node, name: string, ttl: number): Answer[] {
  return Object.entries(n.Meta ?? {}).map(([key, value]) => ({
    type: "TXT",
    name,
    ttl,
    data: [
      Buffer.from(key.toLowerCase().startsWith("rfc1035-") ? value : rfc1464(key, value)).subarray(
        0,
        255,
      ),
    ],
  }));
}

function rfc1464(key: string, value: string): string {
  let k = key.replaceAll("`", "``").replaceAll("=", "`=");
  k = k.replace(/^ +/, (s) => "` ".repeat(s.length)).replace(/ +$/, (s) => "` ".repeat(s.length));
  return `${k}=${value.replaceAll("`", "``")}`;
}

/** Consul's findWeight: the instance's passing or warning weight by its checks' aggregate. */
function weightOf(e: ServiceHealthEntry): number {
  const checks = e.Checks.filter(
    (c) => c.ServiceName === e.Service.Service || c.ServiceName === "",
  );
  const w = e.Service.Weights ?? { Passing: 1, Warning: 1 };
  const status = checks.some((c) => c.Status === "critical")
    ? "critical"
    : checks.some((c) => c.Status === "warning")
      ? "warning"
      : "passing";
  const weight = status === "warning" ? w.Warning : status === "passing" ? w.Passing : 0;
  return Math.max(0, Math.min(65535, weight));
}

function ptr(name: string, target: string): Answer {
  return { type: "PTR", name, ttl: 0, data: target };
}

function sameIpText(address: string, ip: Uint8Array): boolean {
  const b = ipBytes(address);
  return b !== undefined && sameIp(b, ip);
}
