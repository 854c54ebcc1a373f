/**
 * A TCP proxy on 127.0.0.1:0 in front of one address, for partition tests: `partition()` cuts
 * every connection and refuses new ones; `heal()` lets traffic through again.
 *
 * @module
 */
import { connect, createServer, type Server, type Socket } from "node:net";

export interface TcpProxy {
  readonly url: string;
  partition(): void;
  heal(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let partitioned = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    if (partitioned) {
      client.destroy();
      return;
    }
    const upstream = connect(target.port, target.host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    partition: () => {
      partitioned = true;
      for (const s of sockets) s.destroy();
    },
    heal: () => {
      partitioned = false;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
