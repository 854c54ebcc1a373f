/**
 * Certificates for TLS tests, made at test time with Debian's `/usr/bin/openssl` in a fresh
 * temporary directory (nothing is committed): a CA, certificates it signs (a server certificate
 * for 127.0.0.1 and localhost, a client certificate), and a second, unrelated CA.
 *
 * @module
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
export const OPENSSL = "/usr/bin/openssl";

/** A certificate and its key, as file paths. */
export interface CertFiles {
  readonly cert: string;
  readonly key: string;
}

/** A CA that can sign more certificates. */
export interface TestCa extends CertFiles {
  /** Signs a new certificate; `san` is openssl's subjectAltName (default IP:127.0.0.1,DNS:localhost). */
  issue(name: string, options?: { san?: string; cn?: string }): Promise<CertFiles>;
}

export interface TlsMaterial {
  readonly dir: string;
  readonly ca: TestCa;
  /** Server certificate for 127.0.0.1 and localhost, signed by `ca`. */
  readonly server: CertFiles;
  /** Client certificate signed by `ca`. */
  readonly client: CertFiles;
  /** A CA unrelated to `ca`, and a client certificate it signed. */
  readonly otherCa: TestCa;
  readonly otherClient: CertFiles;
  cleanup(): Promise<void>;
}

const CA_EXT = [
  "basicConstraints=critical,CA:TRUE",
  "keyUsage=critical,keyCertSign,cRLSign",
  "subjectKeyIdentifier=hash",
].join("\n");

const leafExt = (san: string): string =>
  [
    "basicConstraints=critical,CA:FALSE",
    "keyUsage=critical,digitalSignature",
    "extendedKeyUsage=serverAuth,clientAuth",
    "subjectKeyIdentifier=hash",
    "authorityKeyIdentifier=keyid,issuer",
    `subjectAltName=${san}`,
  ].join("\n");

const KEY_ARGS = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

async function makeCa(dir: string, name: string): Promise<TestCa> {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}.key`);
  const ext = join(dir, `${name}.ext`);
  await writeFile(ext, CA_EXT);
  await run(OPENSSL, [
    "req",
    "-x509",
    ...KEY_ARGS,
    "-keyout",
    key,
    "-out",
    cert,
    "-days",
    "2",
    "-subj",
    `/CN=${name}`,
    "-extensions",
    "v3_ca",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  let serial = 1;
  const issue: TestCa["issue"] = async (leaf, options = {}) => {
    const leafCert = join(dir, `${leaf}.pem`);
    const leafKey = join(dir, `${leaf}.key`);
    const csr = join(dir, `${leaf}.csr`);
    const leafExtFile = join(dir, `${leaf}.ext`);
    await writeFile(leafExtFile, leafExt(options.san ?? "IP:127.0.0.1,DNS:localhost"));
    await run(OPENSSL, [
      "req",
      ...KEY_ARGS,
      "-keyout",
      leafKey,
      "-out",
      csr,
      "-subj",
      `/CN=${options.cn ?? leaf}`,
    ]);
    await run(OPENSSL, [
      "x509",
      "-req",
      "-in",
      csr,
      "-CA",
      cert,
      "-CAkey",
      key,
      "-set_serial",
      String(serial++),
      "-days",
      "2",
      "-out",
      leafCert,
      "-extfile",
      leafExtFile,
    ]);
    return { cert: leafCert, key: leafKey };
  };
  return { cert, key, issue };
}

/** Makes a CA, a server and a client certificate, and an unrelated CA with its own client. */
export async function makeTlsMaterial(): Promise<TlsMaterial> {
  const dir = await mkdtemp(join(tmpdir(), "augur-tls-"));
  const ca = await makeCa(dir, "ca");
  const server = await ca.issue("server", { cn: "server.dc1.consul" });
  const client = await ca.issue("client", { san: "DNS:client.dc1.consul" });
  const otherCa = await makeCa(dir, "other-ca");
  const otherClient = await otherCa.issue("other-client", { san: "DNS:client.dc1.consul" });
  return {
    dir,
    ca,
    server,
    client,
    otherCa,
    otherClient,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
