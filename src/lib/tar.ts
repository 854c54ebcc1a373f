/**
 * The few bytes of ustar (POSIX.1-1988 tar) a snapshot archive needs: regular files with short
 * names, written as Go's archive/tar writes them for Consul's snapshots, and read back with every
 * header checked. A library would bring streaming, links, PAX and GNU extensions, sparse files
 * and long names: none of which a snapshot has, all of which a reader of untrusted uploads would
 * then have to refuse one by one. Reading only what we write (and what Consul writes) is simpler
 * to get right than configuring that away.
 *
 * @module
 */
import { AugurError } from "./errors.js";

const BLOCK = 512;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** One regular file in an archive. */
export interface TarEntry {
  readonly name: string;
  readonly data: Uint8Array;
}

/** Options for {@link writeTar}. */
export interface TarWriteOptions {
  /** Modification time of every entry, in epoch seconds. */
  readonly mtimeSeconds: number;
}

function octal(header: Uint8Array, offset: number, width: number, value: number): void {
  // width - 1 digits and a NUL, as Go's formatOctal.
  const digits = value.toString(8).padStart(width - 1, "0");
  header.set(encoder.encode(`${digits}\0`), offset);
}

function checksum(header: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (header[i] as number);
  return sum;
}

function headerFor(entry: TarEntry, mtime: number): Uint8Array {
  const name = encoder.encode(entry.name);
  if (name.length > 100) throw new AugurError("INTERNAL", `tar: name too long: ${entry.name}`);
  const header = new Uint8Array(BLOCK);
  header.set(name, 0);
  octal(header, 100, 8, 0o600);
  octal(header, 108, 8, 0);
  octal(header, 116, 8, 0);
  octal(header, 124, 12, entry.data.length);
  octal(header, 136, 12, mtime);
  header[156] = 0x30; // '0': a regular file
  header.set(encoder.encode("ustar\u000000"), 257);
  const sum = checksum(header).toString(8).padStart(6, "0");
  header.set(encoder.encode(`${sum}\0 `), 148);
  return header;
}

/** The archive's bytes: each entry's header and data (padded to 512), then two zero blocks. */
export function writeTar(entries: readonly TarEntry[], options: TarWriteOptions): Buffer {
  const parts: Uint8Array[] = [];
  for (const entry of entries) {
    parts.push(headerFor(entry, Math.floor(options.mtimeSeconds)), entry.data);
    const pad = (BLOCK - (entry.data.length % BLOCK)) % BLOCK;
    if (pad > 0) parts.push(new Uint8Array(pad));
  }
  parts.push(new Uint8Array(BLOCK * 2));
  return Buffer.concat(parts);
}

const bad = (why: string): AugurError => new AugurError("BAD_REQUEST", `archive/tar: ${why}`);

function field(header: Uint8Array, offset: number, width: number): string {
  const bytes = header.subarray(offset, offset + width);
  const end = bytes.indexOf(0);
  try {
    return decoder.decode(end < 0 ? bytes : bytes.subarray(0, end));
  } catch {
    throw bad("invalid header");
  }
}

function parseOctal(header: Uint8Array, offset: number, width: number): number {
  const text = field(header, offset, width).trim();
  if (!/^[0-7]{1,11}$/.test(text)) throw bad("invalid header");
  return parseInt(text, 8);
}

/**
 * The regular files of an archive, in order. Anything else — a link, a directory, an extended
 * header, a bad checksum, a size past the end, more than `maxEntries` entries — is refused
 * (`BAD_REQUEST`, worded as Go's archive/tar words it). The entries' data are views into
 * `archive`, not copies.
 */
export function readTar(archive: Uint8Array, maxEntries = Number.POSITIVE_INFINITY): TarEntry[] {
  const entries: TarEntry[] = [];
  let at = 0;
  for (;;) {
    // Half a million empty entries fit in 256 MiB: a reader that expects a few stops early.
    if (entries.length > maxEntries) throw bad(`more than ${maxEntries} entries`);
    // Go's reader takes an archive that ends at a block boundary without its zero blocks.
    if (at === archive.length) return entries;
    if (at + BLOCK > archive.length) throw bad("unexpected EOF");
    const header = archive.subarray(at, at + BLOCK);
    if (header.every((b) => b === 0)) return entries;
    const stored = parseOctal(header, 148, 8);
    if (stored !== checksum(header)) throw bad("invalid header");
    const type = header[156];
    if (type !== 0x30 && type !== 0) throw bad(`unsupported entry type ${String(type)}`);
    const prefix = field(header, 257, 6) === "ustar" ? field(header, 345, 155) : "";
    const name = prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100);
    const size = parseOctal(header, 124, 12);
    at += BLOCK;
    if (at + size > archive.length) throw bad("unexpected EOF");
    entries.push({ name, data: archive.subarray(at, at + size) });
    at += size + ((BLOCK - (size % BLOCK)) % BLOCK);
  }
}
