/**
 * Raw DNS queries over one UDP socket, encoded and decoded with dns-packet, for benches that poll
 * a DNS server faster than spawning `dig` allows.
 *
 * @module
 */
import { createSocket, type Socket } from "node:dgram";
import { once } from "node:events";
import packet from "dns-packet";

export interface UdpDnsClient {
  /** The A records' addresses for `name`, in answer order; rejects after `timeoutMs`. */
  resolve4(name: string, timeoutMs?: number): Promise<string[]>;
  close(): void;
}

export async function udpDnsClient(port: number, host = "127.0.0.1"): Promise<UdpDnsClient> {
  const socket: Socket = createSocket("udp4");
  socket.bind(0, "127.0.0.1");
  await once(socket, "listening");
  const pending = new Map<number, (answer: packet.Packet) => void>();
  let nextId = 1;
  socket.on("message", (msg) => {
    let answer: packet.Packet;
    try {
      answer = packet.decode(msg);
    } catch {
      return;
    }
    const settle = answer.id === undefined ? undefined : pending.get(answer.id);
    if (answer.id !== undefined) pending.delete(answer.id);
    settle?.(answer);
  });
  return {
    resolve4: (name, timeoutMs = 1000) => {
      const id = nextId;
      nextId = (nextId % 65535) + 1;
      const query = packet.encode({
        id,
        type: "query",
        flags: packet.RECURSION_DESIRED,
        questions: [{ type: "A", name, class: "IN" }],
      });
      return new Promise<string[]>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`no answer for ${name} in ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, (answer) => {
          clearTimeout(timer);
          resolve((answer.answers ?? []).flatMap((a) => (a.type === "A" ? [a.data] : [])));
        });
        socket.send(query, port, host);
      });
    },
    close: () => socket.close(),
  };
}
