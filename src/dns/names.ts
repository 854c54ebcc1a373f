/**
 * Name and address helpers for the DNS interface: IP parsing for A/AAAA and `in-addr.arpa` /
 * `ip6.arpa`, Consul's `<hex>.addr` names, and the label limits the wire format imposes.
 *
 * @module
 */
import { isIP } from "node:net";

/** An IP's 4 or 16 bytes; undefined when `s` is not an IP. IPv4-mapped IPv6 gives 4 bytes, as Go's To4. */
export function ipBytes(s: string): Uint8Array | undefined {
  const family = isIP(s);
  if (family === 4) return Uint8Array.from(s.split(".").map(Number));
  if (family !== 6) return undefined;
  let text = s.split("%")[0] ?? s;
  const out = new Uint8Array(16);
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  let tail: number[] = [];
  if (dotted?.[1]) {
    tail = dotted[1].split(".").map(Number);
    text = text.slice(0, -dotted[1].length) + "0:0";
  }
  const [head = "", rest] = text.split("::");
  const groups = (part: string): number[] =>
    part === "" ? [] : part.split(":").map((g) => parseInt(g, 16));
  const left = groups(head);
  const right = rest === undefined ? [] : groups(rest);
  const words = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  words.forEach((w, i) => {
    out[i * 2] = w >> 8;
    out[i * 2 + 1] = w & 0xff;
  });
  if (tail.length === 4) out.set(tail, 12);
  const mapped = out.slice(0, 12).every((b, i) => (i < 10 ? b === 0 : b === 0xff));
  return mapped ? out.slice(12) : out;
}

/** The text form dns-packet encodes: dotted for 4 bytes, colon groups for 16. */
export function ipText(bytes: Uint8Array): string {
  if (bytes.length === 4) return [...bytes].join(".");
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2)
    words.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return words.join(":");
}

export function sameIp(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The IP a reverse name stands for (`4.3.2.1.in-addr.arpa`, 32 nibbles `.ip6.arpa`). */
export function ipFromArpa(lowerName: string): Uint8Array | undefined {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.in-addr\.arpa$/.exec(lowerName);
  if (v4) {
    const bytes = v4.slice(1, 5).reverse().map(Number);
    return bytes.every((b) => b <= 255) ? Uint8Array.from(bytes) : undefined;
  }
  const v6 = /^((?:[0-9a-f]\.){32})ip6\.arpa$/.exec(lowerName);
  if (!v6?.[1]) return undefined;
  const nibbles = v6[1].split(".").filter(Boolean).reverse();
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = parseInt(`${nibbles[i * 2]}${nibbles[i * 2 + 1]}`, 16);
  return out;
}

/** Consul's `<hex>.addr` label: 8 hex digits for IPv4, 32 for IPv6. */
export function hexOfIp(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

/** The IP a `<hex>.addr` label stands for; undefined unless it is 8 or 32 hex digits. */
export function ipFromHex(label: string): Uint8Array | undefined {
  if (!/^(?:[0-9a-f]{8}|[0-9a-f]{32})$/.test(label)) return undefined;
  return Uint8Array.from(Buffer.from(label, "hex"));
}

/**
 * Whether a name fits the wire format (labels of 1 to 63 bytes, 253 in all). Node and service
 * names come from the catalog, where nothing bounds them; dns-packet would write a longer label's
 * length into one byte and corrupt the packet, so such an instance is left out of answers.
 */
export function encodable(name: string): boolean {
  if (Buffer.byteLength(name) > 253) return false;
  return name.split(".").every((l) => {
    const n = Buffer.byteLength(l);
    return n > 0 && n <= 63;
  });
}
