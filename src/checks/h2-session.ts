/**
 * The HTTP/2 dial the `grpc` and `h2ping` checks share: h2 over TLS (ALPN `h2`, the server name
 * from `tls_server_name` or the host) or cleartext h2c, as grpc-go and Consul's CheckH2PING dial.
 *
 * @module
 */
import { connect, type ClientHttp2Session } from "node:http2";

export interface H2TlsOptions {
  readonly useTls?: boolean;
  readonly tlsSkipVerify?: boolean;
  readonly tlsServerName?: string;
}

/** Opens a session to `address` (`host:port`); `host` names the server for TLS. */
export function connectH2(address: string, host: string, tls: H2TlsOptions): ClientHttp2Session {
  return connect(
    `${tls.useTls ? "https" : "http"}://${address}`,
    tls.useTls
      ? {
          rejectUnauthorized: !tls.tlsSkipVerify,
          servername: tls.tlsServerName || host,
          ALPNProtocols: ["h2"],
        }
      : {},
  );
}
