/**
 * UDP checks (Consul CheckUDP): an empty datagram to `udp`, then a wait for an answer. Any answer
 * is passing, and so is silence until the timeout (UDP has no handshake: a silent service may be
 * up). Only an error is critical: the ICMP "port unreachable" a closed port answers with
 * (`read udp <local>-><remote>: read: connection refused`), or a failed resolve.
 *
 * Consul waits for the answer with no deadline, so a silent service leaves its check waiting
 * forever; augur waits at most the check's timeout and then reports what Consul's timeout branch
 * reports (passing).
 *
 * @module
 */
import { createSocket, type Socket } from "node:dgram";
import { isIPv6 } from "node:net";
import { goDialError, goSyscallError, joinHostPort, splitHostPort } from "./go-net-errors.js";
import { probeTimeoutMs, type Probe, type ProbeResult } from "./runner.js";

export interface UdpProbeOptions {
  readonly address: string;
  readonly timeoutMs: number;
}

export function udpProbe(options: UdpProbeOptions): Probe {
  const { address } = options;
  const success: ProbeResult = { status: "passing", output: `UDP connect ${address}: Success` };
  return (signal) =>
    new Promise((resolve) => {
      const split = splitHostPort(address);
      if (!split) {
        resolve({ status: "critical", output: goDialError("udp", address) });
        return;
      }
      const socket: Socket = createSocket(isIPv6(split.host) ? "udp6" : "udp4");
      let connected = false;
      let done = false;
      const finish = (result: ProbeResult): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        try {
          socket.close();
        } catch {
          // Already closed.
        }
        resolve(result);
      };
      const timer = setTimeout(() => finish(success), probeTimeoutMs(options.timeoutMs));
      const onAbort = (): void => finish({ status: "critical", output: "check stopped" });
      signal.addEventListener("abort", onAbort, { once: true });
      socket.on("message", () => finish(success));
      socket.on("error", (err: NodeJS.ErrnoException) => {
        if (!connected) {
          finish({ status: "critical", output: goDialError("udp", address, err) });
          return;
        }
        const local = socket.address();
        const remote = socket.remoteAddress();
        const op = err.syscall === "send" ? "write" : "read";
        finish({
          status: "critical",
          output: `${op} udp ${joinHostPort(local.address, local.port)}->${joinHostPort(remote.address, remote.port)}: ${goSyscallError(err, op)}`,
        });
      });
      socket.connect(split.port, split.host, () => {
        connected = true;
        // Consul writes its (empty) message: a zero-length datagram.
        socket.send(Buffer.alloc(0), (err) => {
          if (err) socket.emit("error", err);
        });
      });
    });
}
