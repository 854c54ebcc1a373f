/**
 * Record building for the DNS interface, as Consul's makeARecord, makeRecordFromNode,
 * makeTXTRecordFromNodeMeta, findWeight and TranslateAddress: which address an instance or node
 * answers with, and the A, AAAA, CNAME, TXT and PTR records made from it.
 *
 * @module
 */
import type { Answer } from "dns-packet";
import type { InstanceEntry } from "../catalog/catalog.js";
import type { Node } from "../catalog/types.js";
import { encodable, ipBytes, ipText } from "./names.js";

/** Which address family a question takes (Consul's TranslateAddressAccept). */
export type Accept = "A" | "AAAA" | "any";

export function acceptFor(qtype: string): Accept {
  return qtype === "A" ? "A" : qtype === "AAAA" ? "AAAA" : "any";
}

/** Consul's translateAddressAccept: the tagged address of the family asked, else the default. */
export function translate(
  def: string,
  v4: string | undefined,
  v6: string | undefined,
  a: Accept,
): string {
  if (a === "AAAA" && v6) return v6;
  if (a === "A" && v4) return v4;
  if (a === "any" && def !== "") return def;
  const ip = ipBytes(def);
  if (ip && ip.length === 4 && a === "A") return def;
  if (ip && ip.length === 16 && a === "AAAA") return def;
  if (!ip && def !== "") return def;
  return "";
}

export function serviceAddress(e: InstanceEntry, a: Accept): string {
  const tagged = e.Service.TaggedAddresses;
  return translate(
    e.Service.Address,
    tagged?.["lan_ipv4"]?.Address,
    tagged?.["lan_ipv6"]?.Address,
    a,
  );
}

export function nodeAddress(n: Node, a: Accept): string {
  return translate(n.Address, n.TaggedAddresses?.["lan_ipv4"], n.TaggedAddresses?.["lan_ipv6"], a);
}

/** Consul's makeARecord: A for IPv4, AAAA for IPv6, when the question's type takes it. */
export function addressRecord(
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
export function nodeRecords(n: Node, qtype: string, name: string, ttl: number): Answer[] {
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
export function metaTxt(n: Node, name: string, ttl: number): Answer[] {
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

export function rfc1464(key: string, value: string): string {
  let k = key.replaceAll("`", "``").replaceAll("=", "`=");
  k = k.replace(/^ +/, (s) => "` ".repeat(s.length)).replace(/ +$/, (s) => "` ".repeat(s.length));
  return `${k}=${value.replaceAll("`", "``")}`;
}

/** Consul's findWeight: the instance's passing or warning weight by its checks' aggregate. */
export function weightOf(e: InstanceEntry): number {
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

export function ptr(name: string, target: string): Answer {
  return { type: "PTR", name, ttl: 0, data: target };
}
