/**
 * Where the agent's listeners (HTTP, HTTPS, DNS) bind, as Consul's config builder decides it
 * (makeAddrs): the listener's own `addresses.<name>` first, then the client address (`-client`,
 * else `client_addr`), else loopback. Several addresses are space separated. One place, so the
 * listeners cannot disagree on which setting wins.
 *
 * @module
 */
import { AugurError } from "../lib/errors.js";
import { jsonType } from "../lib/json-fields.js";

/** The part of the merged configuration read here (load.ts's Merged). */
export interface ListenerConfigSource {
  get<T>(
    key: string,
    kind: "string" | "boolean" | "number" | "object" | "strings",
  ): { value: T; file: string } | undefined;
}

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** A configuration value of the wrong type: the file, the key, what was expected and what came. */
export function configFail(file: string, path: string, expected: string, got: unknown): AugurError {
  return new AugurError(
    "CONFIG_INVALID",
    `${file}: ${path}: expected ${expected}, got ${jsonType(got)}${typeof got === "string" || typeof got === "number" ? ` ${JSON.stringify(got)}` : ""}`,
  );
}

/** The hosts a listener binds to (see the module comment); `client` is `-client`. */
export function listenHosts(
  m: ListenerConfigSource,
  name: "http" | "https" | "dns",
  client: string | undefined,
): string {
  const addresses = m.get<Record<string, unknown>>("addresses", "object");
  const own = addresses?.value[name];
  if (own !== undefined && typeof own !== "string")
    throw configFail(addresses?.file ?? "", `addresses.${name}`, "a string", own);
  return (
    (own as string | undefined) ??
    client ??
    m.get<string>("client_addr", "string")?.value ??
    "127.0.0.1"
  );
}

/** `hosts` (space separated) each on `port`. */
export function listenAddresses(hosts: string, port: number): ListenAddress[] {
  return hosts
    .split(/\s+/)
    .filter(Boolean)
    .map((host) => ({ host, port }));
}
