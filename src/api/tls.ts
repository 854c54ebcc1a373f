/**
 * The HTTPS listener's TLS options, read from the files the configuration names: at start, and
 * again on every reload so rotated certificates and CAs reach new connections while the
 * listener stays up (Consul's tlsutil.Configurator.Update on reload).
 *
 * @module
 */
import { createSecureContext, type TlsOptions } from "node:tls";
import type { HttpsTlsConfig } from "../config/tls-config.js";
import { AugurError } from "../lib/errors.js";
import { readTlsMaterial } from "../lib/tls-files.js";

/**
 * What `https.createServer` and `server.setSecureContext` take: the certificate, the CA, and
 * whether a client certificate is required (Go's RequireAndVerifyClientCert). Throws
 * CONFIG_INVALID, in Consul's words, when a file is missing or the key does not fit the cert.
 */
export async function httpsServerOptions(tls: HttpsTlsConfig): Promise<TlsOptions> {
  const material = await readTlsMaterial(tls);
  const options: TlsOptions = {
    ...material,
    minVersion: tls.minVersion,
    ...(tls.ciphers ? { ciphers: tls.ciphers } : {}),
    requestCert: tls.verifyIncoming,
    rejectUnauthorized: tls.verifyIncoming,
    // Consul's HTTPS listener offers h2 and http/1.1; node:https speaks HTTP/1.1 only.
    ALPNProtocols: ["http/1.1"],
  };
  try {
    // Built once here so a key that does not match its certificate fails the start or the
    // reload, not each handshake after it.
    createSecureContext(options);
  } catch (err) {
    throw new AugurError(
      "CONFIG_INVALID",
      `Failed to load cert/key pair: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
  return options;
}
