/**
 * Where a client talks to, with which token and TLS settings, resolved the way Consul's Go client does
 * (api.DefaultConfig + api.NewClient), with augur's own variables taking precedence:
 *
 * - address: explicit option > `AUGUR_HTTP_ADDR` > `CONSUL_HTTP_ADDR` > `127.0.0.1:8500`
 * - token: explicit option > `AUGUR_HTTP_TOKEN` > `CONSUL_HTTP_TOKEN`
 * - TLS: explicit option > `AUGUR_CACERT` > `CONSUL_CACERT` (and CAPATH, CLIENT_CERT,
 *   CLIENT_KEY, TLS_SERVER_NAME, HTTP_SSL_VERIFY likewise)
 *
 * Empty values count as unset, as in Go (`if addr := os.Getenv(...); addr != ""`).
 *
 * @module
 */
import { AugurError } from "../lib/errors.js";

/** Consul's default agent address. */
export const DEFAULT_HTTP_ADDR = "127.0.0.1:8500";

const nonEmpty = (v: string | undefined): string | undefined =>
  v === undefined || v === "" ? undefined : v;

/** Go's strconv.ParseBool. */
function parseGoBool(text: string): boolean | undefined {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(text)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(text)) return false;
  return undefined;
}

/**
 * Normalises `host:port`, `http://host:port` or `https://host:port` into `scheme://host:port`.
 * Without a scheme, `https` is used when `CONSUL_HTTP_SSL` (or `AUGUR_HTTP_SSL`) is true, as the Go
 * client does. Throws CONFIG_INVALID for other schemes (`unix://` needs a socket dispatcher that
 * global fetch does not have).
 */
export function normalizeAddress(address: string, env: NodeJS.ProcessEnv = {}): string {
  const text = address.trim();
  const split = text.indexOf("://");
  let scheme: string;
  let rest: string;
  if (split >= 0) {
    scheme = text.slice(0, split).toLowerCase();
    rest = text.slice(split + 3);
    if (scheme === "unix")
      throw new AugurError("CONFIG_INVALID", `Unix socket addresses are not supported: ${text}`);
    if (scheme !== "http" && scheme !== "https")
      throw new AugurError("CONFIG_INVALID", `Unknown protocol scheme: ${scheme}`);
  } else {
    const ssl = nonEmpty(env["AUGUR_HTTP_SSL"]) ?? nonEmpty(env["CONSUL_HTTP_SSL"]);
    scheme = ssl !== undefined && parseGoBool(ssl) === true ? "https" : "http";
    rest = text;
  }
  rest = rest.replace(/\/+$/, "");
  if (rest === "")
    throw new AugurError("CONFIG_INVALID", `Invalid HTTP address: ${JSON.stringify(address)}`);
  return `${scheme}://${rest}`;
}

/** The agent address: `explicit` > AUGUR_HTTP_ADDR > CONSUL_HTTP_ADDR > 127.0.0.1:8500, normalised. */
export function resolveAddress(explicit: string | undefined, env: NodeJS.ProcessEnv): string {
  const raw =
    nonEmpty(explicit) ??
    nonEmpty(env["AUGUR_HTTP_ADDR"]) ??
    nonEmpty(env["CONSUL_HTTP_ADDR"]) ??
    DEFAULT_HTTP_ADDR;
  return normalizeAddress(raw, env);
}

/** The ACL token: `explicit` > AUGUR_HTTP_TOKEN > CONSUL_HTTP_TOKEN; undefined means none. */
export function resolveToken(
  explicit: string | undefined,
  env: NodeJS.ProcessEnv,
): string | undefined {
  return (
    nonEmpty(explicit) ?? nonEmpty(env["AUGUR_HTTP_TOKEN"]) ?? nonEmpty(env["CONSUL_HTTP_TOKEN"])
  );
}

/** TLS settings of a client, as paths (Go's api.TLSConfig); read when the client first connects. */
export interface ClientTlsOptions {
  /** `-ca-file`, `AUGUR_CACERT`, `CONSUL_CACERT`: a PEM file of CA certificates. */
  readonly caFile?: string;
  /** `-ca-path`, `AUGUR_CAPATH`, `CONSUL_CAPATH`: a directory of PEM CA files. */
  readonly caPath?: string;
  /** `-client-cert`, `AUGUR_CLIENT_CERT`, `CONSUL_CLIENT_CERT`: presented when the agent asks. */
  readonly certFile?: string;
  /** `-client-key`, `AUGUR_CLIENT_KEY`, `CONSUL_CLIENT_KEY`. */
  readonly keyFile?: string;
  /** `-tls-server-name`, `AUGUR_TLS_SERVER_NAME`, `CONSUL_TLS_SERVER_NAME`. */
  readonly serverName?: string;
  /** `AUGUR_HTTP_SSL_VERIFY` / `CONSUL_HTTP_SSL_VERIFY` false: the agent's certificate is not checked. */
  readonly insecureSkipVerify?: boolean;
}

const TLS_ENV: readonly [keyof ClientTlsOptions, string][] = [
  ["caFile", "CACERT"],
  ["caPath", "CAPATH"],
  ["certFile", "CLIENT_CERT"],
  ["keyFile", "CLIENT_KEY"],
  ["serverName", "TLS_SERVER_NAME"],
];

/**
 * TLS settings as Consul's Go client and CLI resolve them: each explicit value (a flag) over
 * `AUGUR_<NAME>` over `CONSUL_<NAME>`; `CONSUL_HTTP_SSL_VERIFY=false` turns verification off.
 */
export function resolveTls(
  explicit: ClientTlsOptions | undefined,
  env: NodeJS.ProcessEnv,
): ClientTlsOptions {
  const out: { -readonly [K in keyof ClientTlsOptions]: ClientTlsOptions[K] } = {};
  for (const [key, name] of TLS_ENV) {
    const value =
      nonEmpty(explicit?.[key] as string | undefined) ??
      nonEmpty(env[`AUGUR_${name}`]) ??
      nonEmpty(env[`CONSUL_${name}`]);
    if (value !== undefined) (out as Record<string, string>)[key] = value;
  }
  if (explicit?.insecureSkipVerify !== undefined)
    out.insecureSkipVerify = explicit.insecureSkipVerify;
  else {
    const verify =
      nonEmpty(env["AUGUR_HTTP_SSL_VERIFY"]) ?? nonEmpty(env["CONSUL_HTTP_SSL_VERIFY"]);
    if (verify !== undefined) {
      // Go's api.DefaultConfig only logs a value that is not a bool; it keeps verifying.
      if (parseGoBool(verify) === false) out.insecureSkipVerify = true;
    }
  }
  return out;
}
