/**
 * Debian's dnsmasq (/usr/sbin/dnsmasq) in the foreground on a loopback port, with its own config
 * file in a temp dir: as a forwarder of the `consul` domain to augur (Consul's DNS forwarding
 * guide's `server=/consul/127.0.0.1#8600`), or as a peer answering from a hosts file.
 *
 * @module
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { startDaemon, type DaemonProcess } from "./daemon-process.js";
import { freePort } from "./free-port.js";

export const DNSMASQ_BIN = "/usr/sbin/dnsmasq";

export interface DnsmasqOptions {
  /** Config lines (dnsmasq.conf syntax), e.g. `server=/consul/127.0.0.1#8600`. */
  readonly config: readonly string[];
  /** Contents of a hosts file passed as `addn-hosts` (`<ip> <name>` lines). */
  readonly hosts?: string;
}

export interface Dnsmasq {
  /** UDP and TCP, on 127.0.0.1. */
  readonly port: number;
  output(): string;
  stop(): Promise<void>;
}

export async function startDnsmasq(options: DnsmasqOptions): Promise<Dnsmasq> {
  const dir = await mkdtemp(join(tmpdir(), "augur-dnsmasq-"));
  const lines = [
    // Nothing from the machine: not /etc/resolv.conf, not /etc/hosts, no pid file.
    "no-resolv",
    "no-hosts",
    "listen-address=127.0.0.1",
    "bind-interfaces",
    // dnsmasq drops root for its own user unless told to stay who runs it.
    `user=${userInfo().username}`,
    ...options.config,
  ];
  if (options.hosts !== undefined) {
    await writeFile(join(dir, "hosts"), options.hosts);
    lines.push(`addn-hosts=${join(dir, "hosts")}`);
  }
  // A port taken between freePort() and dnsmasq's bind makes it exit at once; try another.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const conf = join(dir, "dnsmasq.conf");
    await writeFile(conf, [...lines, `port=${port}`, ""].join("\n"));
    const args = ["--keep-in-foreground", `--conf-file=${conf}`, "--pid-file=", "--log-facility=-"];
    let daemon: DaemonProcess;
    try {
      daemon = await startDaemon(DNSMASQ_BIN, args, { ready: /started, version/ });
    } catch (err) {
      if (attempt < 3 && /Address already in use/.test(String(err))) continue;
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    return {
      port,
      output: daemon.output,
      stop: async () => {
        await daemon.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
}
