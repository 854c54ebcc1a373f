/**
 * A TCP port free on 127.0.0.1 right now (bound, read, released), for child processes that need
 * a port chosen before they start.
 *
 * @module
 */
import { createServer } from "node:net";

export async function freePort(): Promise<number> {
  const s = createServer().listen(0, "127.0.0.1");
  await new Promise((r) => s.once("listening", r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}
