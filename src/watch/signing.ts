/**
 * HMAC-SHA256 signatures on HTTP deliveries, so a receiver can check a delivery came from this
 * agent and is fresh: `X-Augur-Signature: sha256=<hex HMAC of "<timestamp>.<body>">` with
 * `X-Augur-Timestamp: <unix seconds>`. The timestamp is signed, so an old delivery cannot be
 * replayed with a new one. The secret comes from a file or an environment variable.
 *
 * @module
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";
import { AugurError } from "../lib/errors.js";
import type { SigningOptions } from "./types.js";

export const SIGNATURE_HEADER = "X-Augur-Signature";
export const TIMESTAMP_HEADER = "X-Augur-Timestamp";

/** Reads the secret (trailing newline of a file trimmed). Throws CONFIG_INVALID when missing. */
export async function loadSecret(options: SigningOptions, env: NodeJS.ProcessEnv = process.env): Promise<Buffer> {
  if (options.secretEnv !== undefined) {
    const value = env[options.secretEnv];
    if (!value) throw new AugurError("CONFIG_INVALID", `signing_secret_env: environment variable ${options.secretEnv} is not set`);
    return Buffer.from(value, "utf8");
  }
  if (options.secretFile !== undefined) {
    try {
      const text = (await readFile(options.secretFile, "utf8")).replace(/\r?\n$/, "");
      if (text === "") throw new Error("file is empty");
      return Buffer.from(text, "utf8");
    } catch (err) {
      throw new AugurError("CONFIG_INVALID", `signing_secret_file ${options.secretFile}: ${(err as Error).message}`, { cause: err });
    }
  }
  throw new AugurError("CONFIG_INVALID", "signing needs signing_secret_file or signing_secret_env");
}

/** `sha256=<hex>` over `<timestamp>.<body>`. */
export function sign(secret: Buffer, timestamp: string, body: Buffer | string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.`).update(body).digest("hex")}`;
}

/** Receiver side (used in tests and documented for users): constant-time comparison. */
export function verify(secret: Buffer, timestamp: string, body: Buffer | string, signature: string): boolean {
  const expected = Buffer.from(sign(secret, timestamp, body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
