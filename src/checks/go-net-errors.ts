/**
 * Node's socket errors worded as Go's net package words them, since Consul's check outputs quote
 * Go's errors (`dial tcp 127.0.0.1:1: connect: connection refused`).
 *
 * @module
 */

/** `host:port` split as Go's net.SplitHostPort does; `[::1]:80` gives `::1`. */
export function splitHostPort(address: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):(\d{1,5})$/.exec(address);
  if (!m) return undefined;
  const port = Number(m[3]);
  return port <= 65535 ? { host: m[1] ?? m[2] ?? "", port } : undefined;
}

/** `host:port` as Go prints an address: an IPv6 host in brackets. */
export function joinHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Go's text for a failed dial (`connect: connection refused`), after `dial <net> <addr>: `. */
export function goSyscallError(
  err: NodeJS.ErrnoException,
  op: "connect" | "read" | "write",
): string {
  switch (err.code) {
    case "ECONNREFUSED":
      return `${op}: connection refused`;
    case "EHOSTUNREACH":
      return `${op}: no route to host`;
    case "ENETUNREACH":
      return `${op}: network is unreachable`;
    case "ECONNRESET":
      return `${op}: connection reset by peer`;
    default:
      return err.message;
  }
}

/** The whole of Go's dial error: `dial tcp 127.0.0.1:1: connect: connection refused`. */
export function goDialError(
  network: "tcp" | "udp",
  address: string,
  err?: NodeJS.ErrnoException,
): string {
  const split = splitHostPort(address);
  if (!split || !err) return `dial ${network}: address ${address}: missing port in address`;
  if (err.code === "ENOTFOUND" || err.code === "EAI_AGAIN")
    return `dial ${network}: lookup ${split.host}: no such host`;
  if (err.code === "ETIMEDOUT") return `dial ${network} ${address}: i/o timeout`;
  return `dial ${network} ${address}: ${goSyscallError(err, "connect")}`;
}

/** Node's TLS verification codes that Go reports as an unknown authority. */
const UNKNOWN_AUTHORITY = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
]);

/** Whether a connect error came from the TLS handshake rather than the socket. */
export function isTlsError(err: NodeJS.ErrnoException): boolean {
  return (
    !err.syscall && (UNKNOWN_AUTHORITY.has(err.code ?? "") || /TLS|SSL|CERT/.test(err.code ?? ""))
  );
}

/** A TLS handshake failure as Go's crypto/tls words the common ones. */
export function goTlsError(err: NodeJS.ErrnoException): string {
  if (UNKNOWN_AUTHORITY.has(err.code ?? ""))
    return "tls: failed to verify certificate: x509: certificate signed by unknown authority";
  if (err.code === "CERT_HAS_EXPIRED")
    return "tls: failed to verify certificate: x509: certificate has expired or is not yet valid";
  if (err.code === "ERR_TLS_CERT_ALTNAME_INVALID")
    return `tls: failed to verify certificate: x509: ${err.message}`;
  return `tls: ${err.message}`;
}
