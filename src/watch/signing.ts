/**
 * HMAC-SHA256 signatures on HTTP deliveries, so a receiver can check that a delivery came from
 * this agent, is fresh, and that the fields it deduplicates and orders on were not altered:
 * `X-Augur-Signature: sha256=<hex>` with `X-Augur-Timestamp: <unix seconds>`.
 *
 * The signed input binds every header a receiver acts on, not just the body: an attacker who
 * captured one delivery must not be able to replay its body under a fresh `Idempotency-Key`
 * (defeating dedupe), a different `X-Consul-Index` (reordering) or another fencing token
 * (sneaking a deposed leader's delivery past the fence). It is the lines
 *
 *     augur-v1
 *     <X-Augur-Timestamp>
 *     <Idempotency-Key>
 *     <X-Consul-Index>
 *     <X-Augur-Fencing-Token, or empty>
 *     <raw body>
 *
 * joined by "\n" (the body last, as is, so no escaping is needed). The secret comes from a file or
 * an environment variable of the agent; the variable is removed from script handlers' environment.
 *
 * @module
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";
import { AugurError } from "../lib/errors.js";
import type { SigningOptions } from "./types.js";

export const SIGNATURE_HEADER = "X-Augur-Signature";
export const TIMESTAMP_HEADER = "X-Augur-Timestamp";
/** First line of the signed input; a new scheme gets a new tag, so old verifiers fail closed. */
export const SIGNATURE_SCHEME = "augur-v1";

/** The header values a signature binds besides the body. */
export interface SignedFields {
  /** `X-Augur-Timestamp`, unix seconds as a decimal string. */
  readonly timestamp: string;
  /** `Idempotency-Key`: the event id receivers deduplicate on. */
  readonly idempotencyKey: string;
  /** `X-Consul-Index`. */
  readonly consulIndex: string;
  /** `X-Augur-Fencing-Token` (once_per_cluster watches only). */
  readonly fencingToken?: string | undefined;
}

/** Reads the secret (trailing newline of a file trimmed). Throws CONFIG_INVALID when missing. */
export async function loadSecret(
  options: SigningOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Buffer> {
  if (options.secretEnv !== undefined) {
    const value = env[options.secretEnv];
    if (!value)
      throw new AugurError(
        "CONFIG_INVALID",
        `signing_secret_env: environment variable ${options.secretEnv} is not set`,
      );
    return Buffer.from(value, "utf8");
  }
  if (options.secretFile !== undefined) {
    let text: string;
    try {
      text = (await readFile(options.secretFile, "utf8")).replace(/\r?\n$/, "");
    } catch (err) {
      throw new AugurError(
        "CONFIG_INVALID",
        `signing_secret_file ${options.secretFile}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    if (text === "")
      throw new AugurError(
        "CONFIG_INVALID",
        `signing_secret_file ${options.secretFile}: file is empty`,
      );
    return Buffer.from(text, "utf8");
  }
  throw new AugurError("CONFIG_INVALID", "signing needs signing_secret_file or signing_secret_env");
}

/** `sha256=<hex>` over the signed input (see the module comment). */
export function sign(secret: Buffer, fields: SignedFields, body: Buffer | string): string {
  const head = [
    SIGNATURE_SCHEME,
    fields.timestamp,
    fields.idempotencyKey,
    fields.consulIndex,
    fields.fencingToken ?? "",
  ].join("\n");
  return `sha256=${createHmac("sha256", secret).update(`${head}\n`).update(body).digest("hex")}`;
}

export interface VerifyOptions {
  /** Receiver's clock (ms); default Date.now. */
  readonly now?: number;
  /** Oldest accepted timestamp age in seconds (either direction); default 300. */
  readonly maxAgeSeconds?: number;
}

/**
 * Receiver side (used in tests and documented for users): constant-time comparison, and the
 * timestamp must be within the replay window. A receiver should also drop an `Idempotency-Key`
 * it has already processed within that window — the signature makes the key trustworthy.
 */
export function verify(
  secret: Buffer,
  fields: SignedFields,
  body: Buffer | string,
  signature: string,
  options: VerifyOptions = {},
): boolean {
  const ts = Number(fields.timestamp);
  const now = (options.now ?? Date.now()) / 1000;
  if (!/^\d+$/.test(fields.timestamp) || Math.abs(now - ts) > (options.maxAgeSeconds ?? 300))
    return false;
  const expected = Buffer.from(sign(secret, fields, body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** The environment variables that hold signing secrets, to keep out of child processes. */
export function secretEnvNames(signings: Iterable<SigningOptions | undefined>): Set<string> {
  const out = new Set<string>();
  for (const s of signings) if (s?.secretEnv !== undefined) out.add(s.secretEnv);
  return out;
}

/** A copy of `env` without the named variables. */
export function withoutEnv(env: NodeJS.ProcessEnv, names: ReadonlySet<string>): NodeJS.ProcessEnv {
  if (names.size === 0) return env;
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) if (!names.has(k)) out[k] = v;
  return out;
}
