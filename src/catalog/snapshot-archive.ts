/**
 * The snapshot archive, laid out as Consul's (snapshot/archive.go): a gzip'd tar of `meta.json`
 * (raft.SnapshotMeta's fields), `state.bin` and `SHA256SUMS` (`<hex>  <name>` lines), checked on
 * the way in as Consul checks it. Only `state.bin`'s encoding is augur's own (catalog/snapshot.ts),
 * so a Consul snapshot passes these checks and is refused by the state decoder, and an augur
 * snapshot is refused by Consul's.
 *
 * Reading is bounded: the archive is inflated off the event loop and never past
 * {@link SNAPSHOT_MAX_BYTES}, so a gzip bomb costs at most that much memory and is refused.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { promisify } from "node:util";
import { gunzip, gzip } from "node:zlib";
import { AugurError } from "../lib/errors.js";
import { readTar, writeTar } from "../lib/tar.js";

/** The most an archive may inflate to (the tar: state and metadata together). */
export const SNAPSHOT_MAX_BYTES = 256 * 1024 * 1024;

/**
 * The most a gzip'd archive of {@link SNAPSHOT_MAX_BYTES} can take (gzip adds at most 5 bytes
 * per 16 KiB block to incompressible data, plus its header): the restore's body limit and the
 * client's cap on a saved snapshot, both past the API's usual 1 MiB.
 */
export const SNAPSHOT_ARCHIVE_MAX_BYTES = SNAPSHOT_MAX_BYTES + SNAPSHOT_MAX_BYTES / 1024 + 65_536;

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);
/** A meta.json or SHA256SUMS is a few hundred bytes; a larger one is not a snapshot's. */
const MAX_SMALL_FILE = 64 * 1024;
/** Consul's reader takes a file twice (the last wins); more entries than this are not a snapshot. */
const MAX_ENTRIES = 16;
/** Hashing and copying work in slices of this size, yielding in between. */
const SLICE = 4 * 1024 * 1024;

/** raft.SnapshotMeta as Go's encoding/json writes it, in its field order. */
export interface SnapshotMeta {
  readonly Version: number;
  /** `<term>-<index>-<epoch ms>`, as raft names a snapshot. */
  readonly ID: string;
  readonly Index: number;
  readonly Term: number;
  readonly Peers: null;
  readonly Configuration: { readonly Servers: readonly unknown[] };
  readonly ConfigurationIndex: number;
  /** state.bin's length in bytes. */
  readonly Size: number;
}

/** A failure to read an upload: Consul answers every restore failure with a 500 and its text. */
export function snapshotError(message: string, cause?: unknown): AugurError {
  return new AugurError("BAD_REQUEST", message, {
    status: 500,
    ...(cause === undefined ? {} : { cause }),
  });
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function sha256(data: Uint8Array): Promise<Buffer> {
  const hash = createHash("sha256");
  for (let at = 0; at < data.length; at += SLICE) {
    hash.update(data.subarray(at, at + SLICE));
    if (at + SLICE < data.length) await yieldToEventLoop();
  }
  return hash.digest();
}

/** Writes the archive: meta.json, state.bin and SHA256SUMS, gzip'd off the event loop. */
export async function packArchive(meta: SnapshotMeta, state: Uint8Array): Promise<Buffer> {
  // json.Encoder ends its output with a newline.
  const metaBytes = Buffer.from(`${JSON.stringify(meta)}\n`);
  const sums =
    `${(await sha256(metaBytes)).toString("hex")}  meta.json\n` +
    `${(await sha256(state)).toString("hex")}  state.bin\n`;
  const tar = writeTar(
    [
      { name: "meta.json", data: metaBytes },
      { name: "state.bin", data: state },
      { name: "SHA256SUMS", data: Buffer.from(sums) },
    ],
    { mtimeSeconds: Date.now() / 1000 },
  );
  return gzipAsync(tar);
}

/** What an archive holds once it passed every check. */
export interface UnpackedArchive {
  readonly meta: SnapshotMeta;
  readonly state: Uint8Array;
}

async function inflate(body: Uint8Array, maxBytes: number): Promise<Buffer> {
  try {
    return await gunzipAsync(body, { maxOutputLength: maxBytes });
  } catch (err) {
    const code = (err as { code?: string }).code;
    const why =
      code === "ERR_BUFFER_TOO_LARGE"
        ? `the archive inflates to more than ${maxBytes} bytes`
        : code === "Z_DATA_ERROR" && body.length >= 2 && (body[0] !== 0x1f || body[1] !== 0x8b)
          ? "gzip: invalid header"
          : code === "Z_BUF_ERROR"
            ? "unexpected EOF"
            : err instanceof Error
              ? err.message
              : String(err);
    throw snapshotError(`failed to decompress snapshot: ${why}`, err);
  }
}

/**
 * Reads an archive as Consul's snapshot.Read does, with its error texts: decompression, the tar
 * walk (only the three files may be there), then every SHA-256 sum in both directions. Throws a
 * 500 `BAD_REQUEST` naming what is wrong.
 */
export async function unpackArchive(
  body: Uint8Array,
  maxBytes = SNAPSHOT_MAX_BYTES,
): Promise<UnpackedArchive> {
  if (body.length === 0) throw snapshotError("failed to decompress snapshot: EOF");
  const tar = await inflate(body, maxBytes);
  const fail = (why: string, cause?: unknown): AugurError =>
    snapshotError(`failed to read snapshot file: ${why}`, cause);
  let entries;
  try {
    entries = readTar(tar, MAX_ENTRIES);
  } catch (err) {
    throw fail(`failed reading snapshot: ${(err as Error).message}`, err);
  }
  let metaBytes: Uint8Array | undefined;
  let state: Uint8Array = new Uint8Array(0);
  let sums = "";
  for (const entry of entries) {
    if (
      (entry.name === "meta.json" || entry.name === "SHA256SUMS") &&
      entry.data.length > MAX_SMALL_FILE
    )
      throw fail(`${entry.name} is larger than ${MAX_SMALL_FILE} bytes`);
    if (entry.name === "meta.json") metaBytes = entry.data;
    else if (entry.name === "state.bin") state = entry.data;
    else if (entry.name === "SHA256SUMS") sums = Buffer.from(entry.data).toString("utf8");
    else throw fail(`unexpected file ${JSON.stringify(entry.name)} in snapshot`);
  }
  let meta: SnapshotMeta | undefined;
  if (metaBytes) {
    try {
      meta = JSON.parse(Buffer.from(metaBytes).toString("utf8")) as SnapshotMeta;
    } catch (err) {
      throw fail(`failed to decode snapshot metadata: ${(err as Error).message}`, err);
    }
  }
  const hashes = new Map([
    ["meta.json", await sha256(metaBytes ?? new Uint8Array(0))],
    ["state.bin", await sha256(state)],
  ]);
  verifySums(sums, hashes, fail);
  if (!isMeta(meta)) throw fail("failed to decode snapshot metadata: not a snapshot's metadata");
  if (meta.Size !== state.length)
    throw fail(`state.bin has ${state.length} bytes, meta.json says ${meta.Size}`);
  return { meta, state };
}

/** hashList.DecodeAndVerify: every listed file matches, and every file is listed. */
function verifySums(
  sums: string,
  hashes: ReadonlyMap<string, Buffer>,
  fail: (why: string) => AugurError,
): void {
  const integrity = (why: string): AugurError =>
    fail(`failed checking integrity of snapshot: ${why}`);
  const seen = new Set<string>();
  for (const line of sums.split("\n")) {
    if (line === "") continue;
    const m = /^([0-9a-fA-F]{64}) {2}(\S+)$/.exec(line);
    if (!m) throw integrity(`malformed line ${JSON.stringify(line.slice(0, 100))}`);
    const [, hex, file] = m as unknown as [string, string, string];
    const actual = hashes.get(file);
    if (!actual) throw integrity(`list missing hash for ${JSON.stringify(file)}`);
    if (!actual.equals(Buffer.from(hex, "hex")))
      throw integrity(`hash check failed for ${JSON.stringify(file)}`);
    seen.add(file);
  }
  for (const file of hashes.keys())
    if (!seen.has(file)) throw integrity(`file missing for ${JSON.stringify(file)}`);
}

function isMeta(value: unknown): value is SnapshotMeta {
  if (typeof value !== "object" || value === null) return false;
  const m = value as Record<string, unknown>;
  return (
    typeof m["ID"] === "string" &&
    Number.isSafeInteger(m["Index"]) &&
    Number.isSafeInteger(m["Term"]) &&
    Number.isSafeInteger(m["Version"]) &&
    Number.isSafeInteger(m["Size"])
  );
}
