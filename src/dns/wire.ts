/**
 * Replies assembled from pieces dns-packet encoded: the 12-byte header, the query's question
 * copied byte for byte (its case, as asked), and each answer record encoded once (kept per record
 * object, which the resolver's bounded cache shares between answers) with its owner name replaced
 * by a pointer to the question's name at offset 12, as Consul (miekg/dns with compression) and
 * dnsmasq send them. Used only for answers whose records are all owned by the question's name;
 * anything else goes through dns-packet whole.
 *
 * @module
 */
import * as packet from "dns-packet";
import type { Answer } from "dns-packet";

const HEADER_SIZE = 12;
/** A compression pointer to offset 12, where the question's name starts. */
const POINTER_TO_QUESTION = 0xc00c;

/** One record's wire form, owner name compressed, and its length uncompressed. */
interface Wire {
  readonly bytes: Buffer;
  readonly uncompressed: number;
}

/** Held as long as the record object is (the resolver's cache bounds those). */
const wires = new WeakMap<Answer, Wire>();

/**
 * Where the query's only question ends (after its type and class), when its name is plain labels
 * (no compression pointer) and its class is IN or ANY with no other bits: then it can be echoed as
 * it came. Undefined otherwise.
 */
export function plainQuestionEnd(msg: Buffer): number | undefined {
  let i = HEADER_SIZE;
  for (;;) {
    const len = msg[i];
    if (len === undefined || len >= 64) return undefined;
    i += 1 + len;
    if (len === 0) break;
  }
  if (i + 4 > msg.length) return undefined;
  const qclass = msg.readUInt16BE(i + 2);
  return qclass === 1 || qclass === 255 ? i + 4 : undefined;
}

function wireOf(rr: Answer): Wire {
  const hit = wires.get(rr);
  if (hit) return hit;
  const encoded = packet.encode({ answers: [rr] });
  let nameEnd = HEADER_SIZE;
  while (encoded[nameEnd] !== 0) nameEnd += 1 + (encoded[nameEnd] as number);
  nameEnd++;
  const bytes = Buffer.allocUnsafe(2 + encoded.length - nameEnd);
  bytes.writeUInt16BE(POINTER_TO_QUESTION, 0);
  encoded.copy(bytes, 2, nameEnd);
  const wire = { bytes, uncompressed: encoded.length - HEADER_SIZE };
  wires.set(rr, wire);
  return wire;
}

/** The reply's length as dns-packet would encode it (no compression), without any OPT record. */
export function uncompressedLength(questionEnd: number, answers: readonly Answer[]): number {
  let n = questionEnd;
  for (const a of answers) n += wireOf(a).uncompressed;
  return n;
}

/**
 * Header (the query's id, `flags` with QR set), the query's question as it came, the answers with
 * compressed owner names, and `trailer` (an encoded OPT record, or nothing) as the one additional
 * record. Every answer must be owned by the question's name.
 */
export function assembleReply(
  msg: Buffer,
  questionEnd: number,
  flags: number,
  answers: readonly Answer[],
  trailer: Buffer | undefined,
): Buffer {
  let size = questionEnd + (trailer?.length ?? 0);
  for (const a of answers) size += wireOf(a).bytes.length;
  const out = Buffer.allocUnsafe(size);
  out.writeUInt16BE(msg.readUInt16BE(0), 0);
  out.writeUInt16BE(0x8000 | flags, 2);
  out.writeUInt16BE(1, 4);
  out.writeUInt16BE(answers.length, 6);
  out.writeUInt16BE(0, 8);
  out.writeUInt16BE(trailer ? 1 : 0, 10);
  msg.copy(out, HEADER_SIZE, HEADER_SIZE, questionEnd);
  let at = questionEnd;
  for (const a of answers) at += wireOf(a).bytes.copy(out, at);
  trailer?.copy(out, at);
  return out;
}
