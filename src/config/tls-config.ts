/**
 * Consul's TLS configuration for the HTTPS listener: `tls { defaults {...} https {...} }`, where
 * `https` overrides `defaults` key by key, and the older top-level spellings (`ca_file`,
 * `verify_incoming`, `tls_min_version`, ...), which apply only where the `tls` block says nothing
 * (Consul's applyDeprecatedConfig). Values are checked and worded as Consul's config builder and
 * tlsutil word them. Files are read by the agent (lib/tls-files.ts), at start and on reload.
 *
 * @module
 */
import { listenAddresses } from "./listeners.js";
import { AugurError } from "../lib/errors.js";
import { jsonType } from "../lib/json-fields.js";
import type { TlsFiles } from "../lib/tls-files.js";

/** node:tls's spelling of a protocol version. */
export type NodeTlsVersion = "TLSv1" | "TLSv1.1" | "TLSv1.2" | "TLSv1.3";

/** The HTTPS listener's TLS settings after merging `tls.https` over `tls.defaults`. */
export interface HttpsTlsConfig extends TlsFiles {
  /** Clients must present a certificate signed by the CA (`verify_incoming`). */
  readonly verifyIncoming: boolean;
  /** `tls_min_version` (Consul's default TLS 1.2). */
  readonly minVersion: NodeTlsVersion;
  /** `tls_cipher_suites` as an OpenSSL cipher list; undefined keeps node's defaults. */
  readonly ciphers?: string;
}

/** The HTTPS API: where it listens and with what. Absent while `ports.https` is off. */
export interface HttpsConfig {
  readonly addresses: readonly { readonly host: string; readonly port: number }[];
  readonly tls: HttpsTlsConfig;
}

/** The part of the merged configuration this module reads (load.ts's Merged). */
export interface TlsConfigSource {
  readonly notices: string[];
  readonly values: ReadonlyMap<string, { file: string; value: unknown }>;
}

type Raw = Record<string, unknown>;

/** Consul's TLS versions (types.TLSVersion) and the deprecated `tlsNN` spellings. */
const VERSIONS: Record<string, NodeTlsVersion> = {
  TLS_AUTO: "TLSv1.2",
  TLSv1_0: "TLSv1",
  TLSv1_1: "TLSv1.1",
  TLSv1_2: "TLSv1.2",
  TLSv1_3: "TLSv1.3",
  tls10: "TLSv1",
  tls11: "TLSv1.1",
  tls12: "TLSv1.2",
  tls13: "TLSv1.3",
};

/** Consul's agent cipher suites (types.consulAgentTLSCipherSuites) by their OpenSSL names. */
export const CIPHER_SUITES: Readonly<Record<string, string>> = {
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: "ECDHE-ECDSA-CHACHA20-POLY1305",
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: "ECDHE-ECDSA-AES128-SHA",
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: "ECDHE-ECDSA-AES128-GCM-SHA256",
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: "ECDHE-ECDSA-AES256-SHA",
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: "ECDHE-ECDSA-AES256-GCM-SHA384",
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: "ECDHE-RSA-CHACHA20-POLY1305",
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: "ECDHE-RSA-AES128-SHA",
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: "ECDHE-RSA-AES128-GCM-SHA256",
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: "ECDHE-RSA-AES256-SHA",
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: "ECDHE-RSA-AES256-GCM-SHA384",
};

/**
 * Go does not let TLS 1.3 suites be configured; neither do we. node takes both lists in one
 * string, so its TLS 1.3 defaults are named explicitly or TLS 1.3 would have no suite at all.
 */
const TLS13_SUITES = "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256";

const PROTOCOL_KEYS = new Set([
  "ca_file",
  "ca_path",
  "cert_file",
  "key_file",
  "verify_incoming",
  "verify_outgoing",
  "verify_server_hostname",
  "tls_min_version",
  "tls_cipher_suites",
  "use_auto_cert",
]);
const BLOCKS = new Set(["defaults", "https", "internal_rpc", "grpc"]);

/** Top-level keys this module reads: load.ts counts them as known. */
export const TLS_TOP_LEVEL_KEYS = [
  "tls",
  "ca_file",
  "ca_path",
  "cert_file",
  "key_file",
  "verify_incoming",
  "verify_incoming_https",
  "verify_incoming_rpc",
  "verify_outgoing",
  "verify_server_hostname",
  "tls_min_version",
  "tls_cipher_suites",
  "tls_prefer_server_cipher_suites",
] as const;

function fail(file: string, path: string, expected: string, got: unknown): AugurError {
  return new AugurError(
    "CONFIG_INVALID",
    `${file}: ${path}: expected ${expected}, got ${jsonType(got)}`,
  );
}

/** One block of `tls` (`defaults`, `https`), its keys type-checked; {} when absent. */
function block(m: TlsConfigSource, name: string): { file: string; value: Raw } {
  const tls = m.values.get("tls");
  if (!tls) return { file: "", value: {} };
  if (typeof tls.value !== "object" || tls.value === null || Array.isArray(tls.value))
    throw fail(tls.file, "tls", "an object", tls.value);
  const raw = (tls.value as Raw)[name];
  if (raw === undefined) return { file: tls.file, value: {} };
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    throw fail(tls.file, `tls.${name}`, "an object", raw);
  const value = raw as Raw;
  for (const [k, v] of Object.entries(value)) {
    if (!PROTOCOL_KEYS.has(k)) {
      m.notices.push(`${tls.file}: unknown config key "tls.${name}.${k}" ignored`);
      continue;
    }
    const want = k.startsWith("verify_") || k === "use_auto_cert" ? "boolean" : "string";
    if (typeof v !== want) throw fail(tls.file, `tls.${name}.${k}`, `a ${want}`, v);
  }
  return { file: tls.file, value };
}

/**
 * The deprecated top-level keys as a `tls.defaults` / `tls.https` overlay (applyDeprecatedConfig):
 * each fills only what the block leaves unset.
 */
function deprecated(m: TlsConfigSource): { defaults: Raw; https: Raw } {
  const defaults: Raw = {};
  const https: Raw = {};
  const take = (key: string, into: Raw, as: string, kind: "string" | "boolean"): void => {
    const e = m.values.get(key);
    if (e === undefined || e.value === undefined || e.value === null) return;
    if (typeof e.value !== kind) throw fail(e.file, key, `a ${kind}`, e.value);
    into[as] = e.value;
  };
  for (const k of ["ca_file", "ca_path", "cert_file", "key_file"]) take(k, defaults, k, "string");
  take("verify_incoming", defaults, "verify_incoming", "boolean");
  take("verify_outgoing", defaults, "verify_outgoing", "boolean");
  take("tls_min_version", defaults, "tls_min_version", "string");
  take("tls_cipher_suites", defaults, "tls_cipher_suites", "string");
  take("verify_incoming_https", https, "verify_incoming", "boolean");
  // verify_incoming_rpc and verify_server_hostname configure Consul's server RPC, which augur
  // does not have (etcd is its server); they are type-checked and have no effect.
  const rpcOnly: Raw = {};
  take("verify_incoming_rpc", rpcOnly, "verify_incoming", "boolean");
  take("verify_server_hostname", rpcOnly, "verify_server_hostname", "boolean");
  take("tls_prefer_server_cipher_suites", rpcOnly, "prefer", "boolean");
  return { defaults, https };
}

function tlsVersion(name: string, raw: unknown): NodeTlsVersion | undefined {
  if (raw === undefined || raw === "") return undefined;
  const v = VERSIONS[raw as string];
  if (v === undefined)
    throw new AugurError(
      "CONFIG_INVALID",
      `${name}: invalid TLS version: no matching TLS version found for ${String(raw)}, please specify one of [TLS_AUTO, TLSv1_0, TLSv1_1, TLSv1_2, TLSv1_3]`,
    );
  return v;
}

/** b.tlsCipherSuites: Go names, comma-separated, to an OpenSSL list; unknown names refused. */
function cipherSuites(
  name: string,
  raw: unknown,
  minVersion: NodeTlsVersion,
): string | undefined | null {
  if (raw === undefined) return undefined;
  if (minVersion === "TLSv1.3")
    throw new AugurError("CONFIG_INVALID", `${name}: TLS 1.3 cipher suites are not configurable`);
  const text = (raw as string).trim();
  if (text === "") return null;
  const names = text.split(",");
  const unmatched = names.filter((n) => CIPHER_SUITES[n] === undefined);
  if (unmatched.length > 0)
    throw new AugurError(
      "CONFIG_INVALID",
      `${name}: invalid TLS cipher suites: no matching Consul Agent TLS cipher suite found for ${unmatched.join(",")}`,
    );
  return [...names.map((n) => CIPHER_SUITES[n] as string), TLS13_SUITES].join(":");
}

/**
 * The HTTPS listener's TLS settings (Consul's buildTLSConfig for the `https` protocol), checked
 * as tlsutil checks them before reading any file: verify_incoming needs a CA and a key pair
 * (checked only when `listening`: with HTTPS off nothing uses them).
 */
export function httpsTlsConfig(m: TlsConfigSource, listening = true): HttpsTlsConfig {
  for (const k of Object.keys(tlsObject(m)))
    if (!BLOCKS.has(k))
      m.notices.push(`${m.values.get("tls")?.file ?? ""}: unknown config key "tls.${k}" ignored`);
  const old = deprecated(m);
  const defaultsBlock = block(m, "defaults").value;
  const httpsBlock = block(m, "https").value;
  // Checked (and ignored) as Consul checks them: these belong to server RPC, which augur has not.
  block(m, "internal_rpc");
  block(m, "grpc");
  if (
    defaultsBlock["verify_server_hostname"] !== undefined ||
    httpsBlock["verify_server_hostname"] !== undefined
  )
    throw new AugurError(
      "CONFIG_INVALID",
      "verify_server_hostname is only valid in the tls.internal_rpc stanza",
    );
  const defaults = { ...old.defaults, ...defaultsBlock };
  const https = { ...old.https, ...httpsBlock };
  const pick = <T>(key: string): T | undefined =>
    (https[key] !== undefined ? https[key] : defaults[key]) as T | undefined;
  const defaultVersion = tlsVersion("tls.defaults.tls_min_version", defaults["tls_min_version"]);
  const minVersion =
    https["tls_min_version"] !== undefined
      ? (tlsVersion("tls.https.tls_min_version", https["tls_min_version"]) ?? "TLSv1.2")
      : (defaultVersion ?? "TLSv1.2");
  const defaultCiphers = cipherSuites(
    "tls.defaults.tls_cipher_suites",
    defaults["tls_cipher_suites"],
    defaultVersion ?? "TLSv1.2",
  );
  const ciphers =
    https["tls_cipher_suites"] !== undefined
      ? cipherSuites("tls.https.tls_cipher_suites", https["tls_cipher_suites"], minVersion)
      : minVersion === "TLSv1.3"
        ? undefined // inherited suites that TLS 1.3 cannot use are dropped, as Consul drops them
        : defaultCiphers;
  const files = {
    ...(pick<string>("ca_file") ? { caFile: pick<string>("ca_file") as string } : {}),
    ...(pick<string>("ca_path") ? { caPath: pick<string>("ca_path") as string } : {}),
    ...(pick<string>("cert_file") ? { certFile: pick<string>("cert_file") as string } : {}),
    ...(pick<string>("key_file") ? { keyFile: pick<string>("key_file") as string } : {}),
  };
  const verifyIncoming = pick<boolean>("verify_incoming") ?? false;
  // Without the HTTPS listener these settings have no effect in augur; a Consul client agent's
  // file (verify_incoming with auto_encrypt, say) still starts.
  if (verifyIncoming && listening) {
    if (!files.caFile && !files.caPath)
      throw new AugurError(
        "CONFIG_INVALID",
        "VerifyIncoming set but no CA certificates were provided",
      );
    if (!files.certFile || !files.keyFile)
      throw new AugurError(
        "CONFIG_INVALID",
        "VerifyIncoming requires either a Cert and Key pair in the configuration file, or auto_encrypt/auto_config be enabled",
      );
  }
  return {
    ...files,
    verifyIncoming,
    minVersion,
    ...(typeof ciphers === "string" ? { ciphers } : {}),
  };
}

function tlsObject(m: TlsConfigSource): Raw {
  const tls = m.values.get("tls");
  if (!tls || typeof tls.value !== "object" || tls.value === null || Array.isArray(tls.value))
    return {};
  return tls.value as Raw;
}

/**
 * The HTTPS listener: `ports.https` (off unless set; negative is off, 0 a free port, as augur
 * treats `ports.http`), on `addresses.https`, else `client_addr`. It needs a certificate: Consul
 * would accept the port and fail every handshake; augur refuses to start instead.
 */
export function httpsConfig(
  m: TlsConfigSource,
  port: number | undefined,
  hosts: string,
): HttpsConfig | undefined {
  const listening = port !== undefined && port >= 0;
  const tls = httpsTlsConfig(m, listening);
  if (!listening) return undefined;
  if (!tls.certFile || !tls.keyFile)
    throw new AugurError(
      "CONFIG_INVALID",
      "ports.https is set but no cert_file and key_file are configured for tls.https (or tls.defaults)",
    );
  return {
    addresses: listenAddresses(hosts, port),
    tls,
  };
}
