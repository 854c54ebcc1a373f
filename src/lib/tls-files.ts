/**
 * Reading TLS material from files the way Consul does (tlsutil.LoadCAs, tls.LoadX509KeyPair),
 * shared by the HTTPS listener and the HTTP client: a CA bundle from `ca_file` or every file
 * under `ca_path`, a certificate and its key. Failures are CONFIG_INVALID in Consul's words.
 * Sizes and counts are bounded so a wrong path (`ca_path = "/"`) fails instead of reading a disk.
 *
 * @module
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import { AugurError } from "./errors.js";

/** A PEM file larger than this is not a certificate bundle anyone meant. */
export const MAX_PEM_FILE_BYTES = 1024 * 1024;
/** Files read under a `ca_path` (Go walks it recursively; so do we, to this many). */
export const MAX_CA_PATH_FILES = 512;
const MAX_CA_PATH_DEPTH = 8;
/** All CA files together: a bundle of every public CA is about 200 KiB. */
export const MAX_CA_BUNDLE_BYTES = 16 * 1024 * 1024;

/** Where the material is; every path is optional, as in Consul's config. */
export interface TlsFiles {
  readonly caFile?: string;
  readonly caPath?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
}

/** What was read: PEM bytes as node:tls takes them. */
export interface TlsMaterial {
  /** The CA certificates, one entry per file; undefined when neither ca_file nor ca_path is set. */
  readonly ca?: Buffer[];
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

const errnoText = (err: unknown): string => {
  const e = err as NodeJS.ErrnoException;
  if (e.code === "ENOENT") return "no such file or directory";
  if (e.code === "EACCES") return "permission denied";
  if (e.code === "EISDIR") return "is a directory";
  return e.message ?? String(err);
};

async function readPem(path: string, what: (why: string) => string): Promise<Buffer> {
  try {
    const info = await stat(path);
    if (info.size > MAX_PEM_FILE_BYTES)
      throw new AugurError(
        "CONFIG_INVALID",
        what(`file is ${info.size} bytes, more than ${MAX_PEM_FILE_BYTES}`),
      );
    return await readFile(path);
  } catch (err) {
    if (err instanceof AugurError) throw err;
    throw new AugurError("CONFIG_INVALID", what(`open ${path}: ${errnoText(err)}`), {
      cause: err,
    });
  }
}

/** Every regular file under `dir`, sorted, depth-first (Go's filepath.Walk order). */
async function walk(dir: string, depth: number, out: string[]): Promise<void> {
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (err) {
    throw new AugurError("CONFIG_INVALID", `Error loading from ${dir}: ${errnoText(err)}`, {
      cause: err,
    });
  }
  for (const name of names) {
    const path = join(dir, name);
    const info = await stat(path).catch(() => undefined);
    if (info?.isDirectory()) {
      if (depth < MAX_CA_PATH_DEPTH) await walk(path, depth + 1, out);
    } else if (info?.isFile()) {
      if (out.length >= MAX_CA_PATH_FILES)
        throw new AugurError(
          "CONFIG_INVALID",
          `Error loading from CAPath: more than ${MAX_CA_PATH_FILES} files under ${dir}`,
        );
      out.push(path);
    }
  }
}

/** tlsutil.LoadCAs: `caFile` wins over `caPath`; an empty `caPath` is an error. */
export async function readCaBundle(files: TlsFiles): Promise<Buffer[] | undefined> {
  let paths: string[];
  if (files.caFile) paths = [files.caFile];
  else if (files.caPath) {
    paths = [];
    await walk(files.caPath, 0, paths);
    if (paths.length === 0)
      throw new AugurError("CONFIG_INVALID", "Error loading from CAPath: no CAs found");
  } else return undefined;
  const pems: Buffer[] = [];
  let total = 0;
  for (const path of paths) {
    const pem = await readPem(path, (why) => `Error loading from ${path}: ${why}`);
    total += pem.length;
    if (total > MAX_CA_BUNDLE_BYTES)
      throw new AugurError(
        "CONFIG_INVALID",
        `Error loading from CAPath: more than ${MAX_CA_BUNDLE_BYTES} bytes of CA files`,
      );
    // Go's newX509CertPool refuses a file that holds no certificate.
    if (!hasCertificate(pem))
      throw new AugurError("CONFIG_INVALID", `failed to parse PEM ${pem.toString("utf8", 0, 200)}`);
    pems.push(pem);
  }
  return pems;
}

function hasCertificate(pem: Buffer): boolean {
  const text = pem.toString("latin1");
  const start = text.indexOf("-----BEGIN CERTIFICATE-----");
  if (start < 0) return false;
  try {
    new X509Certificate(text.slice(start));
    return true;
  } catch {
    return false;
  }
}

/** tls.LoadX509KeyPair, with Consul's `Failed to load cert/key pair:` prefix. */
export async function readKeyPair(
  files: TlsFiles,
): Promise<{ cert: Buffer; key: Buffer } | undefined> {
  if (!files.certFile || !files.keyFile) return undefined;
  const fail = (why: string): string => `Failed to load cert/key pair: ${why}`;
  const cert = await readPem(files.certFile, fail);
  const key = await readPem(files.keyFile, fail);
  return { cert, key };
}

/** Reads everything `files` names. */
export async function readTlsMaterial(files: TlsFiles): Promise<TlsMaterial> {
  const ca = await readCaBundle(files);
  const pair = await readKeyPair(files);
  return { ...(ca ? { ca } : {}), ...(pair ?? {}) };
}
