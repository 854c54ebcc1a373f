/**
 * TCP checks (Consul CheckTCP): a connect within the timeout is passing, anything else
 * critical. `tcp_use_tls` completes a TLS handshake instead.
 *
 * @module
 */
import { connect as netConnect } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { probeTimeoutMs, type ProbeResult } from "./runner.js";

export interface TcpProbeOptions {
  readonly address: string;
  readonly timeoutMs: number;
  readonly useTls?: boolean;
  readonly tlsSkipVerify?: boolean;
  readonly tlsServerName?: string;
}

function splitHostPort(address: string): { host: string; port: number } {
  const m = /^\[?([^\]]*)\]?:(\d+)$/.exec(address);
  return m ? { host: m[1] ?? "", port: Number(m[2]) } : { host: address, port: NaN };
}

export function tcpProbe(options: TcpProbeOptions): (signal: AbortSignal) => Promise<ProbeResult> {
  return (signal) =>
    new Promise((resolve) => {
      const { host, port } = splitHostPort(options.address);
      if (!Number.isInteger(port)) {
        resolve({
          status: "critical",
          output: `dial tcp: address ${options.address}: missing port in address`,
        });
        return;
      }
      const socket = options.useTls
        ? tlsConnect({
            host,
            port,
            rejectUnauthorized: !options.tlsSkipVerify,
            servername: options.tlsServerName || host,
          })
        : netConnect({ host, port });
      const finish = (result: ProbeResult): void => {
        clearTimeout(timer);
        socket.destroy();
        resolve(result);
      };
      const timer = setTimeout(
        () => finish({ status: "critical", output: `dial tcp ${options.address}: i/o timeout` }),
        probeTimeoutMs(options.timeoutMs),
      );
      signal.addEventListener(
        "abort",
        () => finish({ status: "critical", output: "check stopped" }),
        { once: true },
      );
      socket.once(options.useTls ? "secureConnect" : "connect", () =>
        finish({ status: "passing", output: `TCP connect ${options.address}: Success` }),
      );
      socket.once("error", (err: NodeJS.ErrnoException) =>
        finish({ status: "critical", output: `dial tcp ${options.address}: ${describe(err)}` }),
      );
    });
}

function describe(err: NodeJS.ErrnoException): string {
  if (err.code === "ECONNREFUSED") return "connect: connection refused";
  if (err.code === "EHOSTUNREACH") return "connect: no route to host";
  return err.message;
}
