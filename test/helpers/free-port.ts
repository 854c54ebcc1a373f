/**
 * A TCP port free on 127.0.0.1 right now (bound, read, released), for child processes that need
 * a port chosen before they start.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { createServer } from "node:net";

export async function freePort(): Promise<number> {
  const s = createServer().listen(0, "127.0.0.1");
  await new Promise((r) => s.once("listening", r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/**
 * A free port that `listen(0)` never hands out: below the kernel's ephemeral range. For a port
 * that must stay closed for a while and be opened later (a receiver that is down, then back):
 * with freePort(), the agent started meanwhile could be given the same port for its own API, and
 * a "down" receiver would answer 404s.
 */
export async function freePortOutsideEphemeralRange(): Promise<number> {
  const range = await readFile("/proc/sys/net/ipv4/ip_local_port_range", "utf8").catch(
    () => "32768 60999",
  );
  const low = Number(range.trim().split(/\s+/)[0]) || 32768;
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 10_000 + Math.floor(Math.random() * Math.max(1, low - 10_000));
    const s = createServer();
    const ok = await new Promise<boolean>((resolve) => {
      s.once("error", () => resolve(false));
      s.listen(port, "127.0.0.1", () => resolve(true));
    });
    if (ok) {
      await new Promise((r) => s.close(r));
      return port;
    }
  }
  throw new Error("no free port below the ephemeral range");
}
