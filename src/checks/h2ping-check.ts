/**
 * H2PING checks (Consul CheckH2PING): an HTTP/2 connection to `h2ping` (TLS with ALPN `h2` by
 * default, cleartext prior-knowledge h2c with `h2ping_use_tls: false`) and one PING frame.
 * An acknowledged ping is passing (`HTTP2 ping was successful`); a failed dial
 * (`Failed to dial to <addr>: ...`) or ping (`HTTP2 ping failed: ...`) is critical.
 *
 * @module
 */
import type { ClientHttp2Session } from "node:http2";
import { connectH2 } from "./h2-session.js";
import { goDialError, goTlsError, isTlsError, splitHostPort } from "./go-net-errors.js";
import { probeTimeoutMs, type Probe, type ProbeResult } from "./runner.js";

export interface H2PingProbeOptions {
  readonly address: string;
  readonly timeoutMs: number;
  readonly useTls: boolean;
  readonly tlsSkipVerify?: boolean;
  readonly tlsServerName?: string;
}

export function h2pingProbe(options: H2PingProbeOptions): Probe {
  const { address } = options;
  return (signal) =>
    new Promise((resolve) => {
      const split = splitHostPort(address);
      if (!split) {
        resolve({
          status: "critical",
          output: `Failed to dial to ${address}: ${goDialError("tcp", address)}`,
        });
        return;
      }
      let session: ClientHttp2Session | undefined;
      let connected = false;
      let done = false;
      const finish = (result: ProbeResult): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        session?.destroy();
        resolve(result);
      };
      const failed = (why: string): void =>
        finish({
          status: "critical",
          output: connected ? `HTTP2 ping failed: ${why}` : `Failed to dial to ${address}: ${why}`,
        });
      const timer = setTimeout(
        () => failed(connected ? "context deadline exceeded" : `dial tcp ${address}: i/o timeout`),
        probeTimeoutMs(options.timeoutMs),
      );
      const onAbort = (): void => failed("context canceled");
      signal.addEventListener("abort", onAbort, { once: true });
      try {
        session = connectH2(address, split.host, options);
      } catch (err) {
        failed((err as Error).message);
        return;
      }
      session.on("error", (err: NodeJS.ErrnoException) =>
        failed(
          connected
            ? err.message
            : isTlsError(err)
              ? goTlsError(err)
              : goDialError("tcp", address, err),
        ),
      );
      // A peer that is no HTTP/2 server hangs up without an error event.
      session.once("close", () => failed(connected ? "http2: client connection lost" : "EOF"));
      session.once("connect", (s: ClientHttp2Session) => {
        connected = true;
        s.ping((err) => {
          if (err) failed(err.message);
          else finish({ status: "passing", output: "HTTP2 ping was successful" });
        });
      });
    });
}
