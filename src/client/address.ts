/**
 * Where a client talks to and with which token, resolved the way Consul's Go client does
 * (api.DefaultConfig + api.NewClient), with augur's own variables taking precedence:
 *
 * - address: explicit option > `AUGUR_HTTP_ADDR` > `CONSUL_HTTP_ADDR` > `127.0.0.1:8500`
 * - token: explicit option > `AUGUR_HTTP_TOKEN` > `CONSUL_HTTP_TOKEN`
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
