/**
 * The DNS interface's wire side: UDP and TCP listeners (node:dgram, node:net), dns-packet decode
 * and encode, EDNS0 buffer sizes, Consul's trimming (answer limits, then bytes, with the TC bit
 * under `enable_truncate`), TCP length framing with connection and idle bounds, and forwarding to
 * `recursors` with a timeout. What to answer is resolve.ts's.
 *
 * @module
 */
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { createServer, isIPv6, type Server, type Socket } from "node:net";
import * as packet from "dns-packet";
import type { Answer, DecodedPacket, Packet, Question } from "dns-packet";
import type { DnsConfig } from "../config/dns-config.js";
import { encodable } from "./names.js";
import type { DnsAnswer, DnsOutcome, DnsQuestion, DnsRcode } from "./resolve.js";
import { assembleReply, plainQuestionEnd, uncompressedLength } from "./wire.js";

/** What the server asks of the resolver (resolve.ts's DnsResolver). */
export interface DnsResolverPort {
  /** The outcome itself when nothing needs waiting for (allow_stale), else a promise of it. */
  resolve(q: DnsQuestion, maxAnswers: number): DnsOutcome | Promise<DnsOutcome>;
}

/** A reply to send, none (drop the message), or either later. */
type Reply = Buffer | undefined | Promise<Buffer | undefined>;

export interface DnsServerLimits {
  /** TCP connections held at once; more are closed on arrival (default 1000). */
  readonly maxTcpConnections?: number;
  /** A TCP connection with no traffic for this long is closed (default 8 s, as miekg/dns). */
  readonly tcpIdleTimeoutMs?: number;
  /** Questions forwarded to recursors at once; more answer SERVFAIL (default 256). */
  readonly maxRecursions?: number;
}

export interface DnsServerOptions {
  readonly resolver: DnsResolverPort;
  readonly config: Pick<
    DnsConfig,
    "recursors" | "recursorTimeoutMs" | "udpAnswerLimit" | "enableTruncate"
  >;
  readonly limits?: DnsServerLimits;
  /** A failure answering one query (the query gets SERVFAIL; the server goes on). */
  readonly onError?: (err: unknown) => void;
}

export interface DnsListenAddress {
  readonly host: string;
  readonly port: number;
}

const RCODES: Record<DnsRcode, number> = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
};
const QR = 0x8000;
const AA = packet.AUTHORITATIVE_ANSWER;
const TC = packet.TRUNCATED_RESPONSE;
const RD = packet.RECURSION_DESIRED;
const RA = packet.RECURSION_AVAILABLE;
/** Consul's defaultMaxUDPSize, maxUDPAnswerLimit and maxUDPDatagramSize. */
const DEFAULT_UDP_SIZE = 512;
const MAX_UDP_ANSWERS = 8;
const MAX_UDP_DATAGRAM = 65535 - 68;
const MAX_TCP_SIZE = 65523;
/** Consul's trimTCPResponse: no more than this many records fit 64 KiB anyway. */
const TCP_ANSWER_CAP = 4096;
const TCP_SRV_ANSWER_CAP = 1024;
/** Pipelined TCP queries one connection may have waiting before reading from it pauses. */
const TCP_PIPELINE_MAX = 16;
const HEADER_SIZE = 12;

type Transport = "udp" | "tcp";

export class DnsServer {
  readonly #resolver: DnsResolverPort;
  #cfg: DnsServerOptions["config"];
  readonly #maxConns: number;
  readonly #idleMs: number;
  readonly #maxRecursions: number;
  readonly #onError: (err: unknown) => void;
  readonly #tcp: Server[] = [];
  readonly #udp: UdpSocket[] = [];
  readonly #conns = new Set<Socket>();
  #recursions = 0;

  constructor(options: DnsServerOptions) {
    this.#resolver = options.resolver;
    this.#cfg = options.config;
    this.#maxConns = options.limits?.maxTcpConnections ?? 1000;
    this.#idleMs = options.limits?.tcpIdleTimeoutMs ?? 8000;
    this.#maxRecursions = options.limits?.maxRecursions ?? 256;
    this.#onError = options.onError ?? (() => undefined);
  }

  /** A reload's settings: recursors, their timeout, answer limits, truncation (not addresses). */
  setConfig(config: DnsServerOptions["config"]): void {
    this.#cfg = config;
  }

  /** Opens UDP and TCP on each address (one port for both, also when 0 asks for a free one). */
  async listen(addresses: readonly DnsListenAddress[]): Promise<DnsListenAddress[]> {
    const out: DnsListenAddress[] = [];
    for (const a of addresses) out.push(await this.#listenOne(a));
    return out;
  }

  async close(): Promise<void> {
    for (const c of this.#conns) c.destroy();
    await Promise.all([
      ...this.#tcp.map((s) => new Promise<void>((r) => s.close(() => r()))),
      ...this.#udp.map((s) => new Promise<void>((r) => s.close(() => r()))),
    ]);
    this.#tcp.length = 0;
    this.#udp.length = 0;
  }

  async #listenOne(a: DnsListenAddress): Promise<DnsListenAddress> {
    // With port 0 the TCP port is chosen first and UDP takes the same number; another process may
    // hold that UDP port, so a few fresh tries.
    for (let attempt = 0; ; attempt++) {
      const tcp = await this.#openTcp(a);
      const port = (tcp.address() as { port: number }).port;
      try {
        const udp = await this.#openUdp({ host: a.host, port });
        this.#tcp.push(tcp);
        this.#udp.push(udp);
        return { host: a.host, port };
      } catch (err) {
        await new Promise<void>((r) => tcp.close(() => r()));
        if (a.port !== 0 || attempt >= 5) throw err;
      }
    }
  }

  #openTcp(a: DnsListenAddress): Promise<Server> {
    const server = createServer((socket) => this.#onConnection(socket));
    server.maxConnections = this.#maxConns;
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: a.host, port: a.port }, () => {
        server.removeAllListeners("error");
        server.on("error", (err) => this.#onError(err));
        resolve(server);
      });
    });
  }

  #openUdp(a: DnsListenAddress): Promise<UdpSocket> {
    const socket = createSocket({ type: isIPv6(a.host) ? "udp6" : "udp4" });
    return new Promise((resolve, reject) => {
      socket.once("error", (err) => {
        socket.close();
        reject(err);
      });
      socket.bind({ address: a.host, port: a.port }, () => {
        socket.removeAllListeners("error");
        socket.on("error", (err) => this.#onError(err));
        socket.on("message", (msg, rinfo) => {
          // Answered in this turn when the resolver need not wait: no promise, no closure.
          const reply = this.#answer(msg, "udp");
          if (reply instanceof Promise)
            void reply.then((r) => this.#sendUdp(socket, r, rinfo.port, rinfo.address));
          else this.#sendUdp(socket, reply, rinfo.port, rinfo.address);
        });
        resolve(socket);
      });
    });
  }

  #sendUdp(socket: UdpSocket, reply: Buffer | undefined, port: number, address: string): void {
    // The socket may have closed while the answer was built (the agent stopping).
    try {
      if (reply) socket.send(reply, port, address);
    } catch (err) {
      this.#onError(err);
    }
  }

  /** RFC 1035 4.2.2 framing: a 2-byte length before each message; queries answered in order. */
  #onConnection(socket: Socket): void {
    this.#conns.add(socket);
    socket.setTimeout(this.#idleMs, () => socket.destroy());
    socket.on("close", () => this.#conns.delete(socket));
    socket.on("error", () => socket.destroy());
    let buffered: Buffer = Buffer.alloc(0);
    let waiting = 0;
    let unsent = false;
    let chain = Promise.resolve();
    // Backpressure instead of buffering: reading stops while queries wait to be answered or a
    // client is not reading its answers, so one connection holds a bounded amount of memory.
    const flow = (): void => {
      if (socket.destroyed) return;
      if (waiting >= TCP_PIPELINE_MAX || unsent) socket.pause();
      else socket.resume();
    };
    socket.on("drain", () => {
      unsent = false;
      flow();
    });
    socket.on("data", (chunk: Buffer) => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2) {
        const len = buffered.readUInt16BE(0);
        if (buffered.length < 2 + len) break;
        const msg = Buffer.from(buffered.subarray(2, 2 + len));
        buffered = buffered.subarray(2 + len);
        waiting++;
        chain = chain.then(async () => {
          const reply = await this.#answer(msg, "tcp");
          waiting--;
          if (!reply) {
            socket.destroy();
            return;
          }
          if (socket.destroyed) return;
          const head = Buffer.alloc(2);
          head.writeUInt16BE(reply.length);
          if (!socket.write(Buffer.concat([head, reply]))) unsent = true;
          flow();
        });
      }
      flow();
    });
  }

  /** The reply to one message, or undefined to drop it (too short to answer, or not a query). */
  #answer(msg: Buffer, transport: Transport): Reply {
    try {
      const reply = this.#answerOrThrow(msg, transport);
      return reply instanceof Promise ? reply.catch((err) => this.#failed(msg, err)) : reply;
    } catch (err) {
      return this.#failed(msg, err);
    }
  }

  #failed(msg: Buffer, err: unknown): Buffer | undefined {
    this.#onError(err);
    return msg.length >= 12 ? header(msg, RCODES.SERVFAIL) : undefined;
  }

  #answerOrThrow(msg: Buffer, transport: Transport): Reply {
    if (msg.length < 12 || (msg.readUInt16BE(2) & QR) !== 0) return undefined;
    let req: DecodedPacket;
    try {
      req = packet.decode(msg);
    } catch {
      return header(msg, RCODES.FORMERR);
    }
    const opcode = (msg.readUInt16BE(2) >> 11) & 0xf;
    if (opcode !== 0) return header(msg, RCODES.NOTIMP);
    const questions = req.questions ?? [];
    const opts = (req.additionals ?? []).filter((a) => a.type === "OPT");
    const q = questions[0];
    if (questions.length !== 1 || !q || opts.length > 1) return header(msg, RCODES.FORMERR);
    // A label that decodes longer than it came (bytes that are not UTF-8) could not be echoed.
    if (q.name !== "." && !encodable(q.name)) return header(msg, RCODES.FORMERR);
    if (q.class !== undefined && q.class !== "IN" && q.class !== "ANY")
      return header(msg, RCODES.NOTIMP);
    const opt = opts[0] as { udpPayloadSize?: number } | undefined;
    const maxSize =
      transport === "tcp"
        ? MAX_TCP_SIZE
        : Math.min(Math.max(DEFAULT_UDP_SIZE, opt?.udpPayloadSize ?? 0), MAX_UDP_DATAGRAM);
    const cap =
      transport === "udp" && maxSize === DEFAULT_UDP_SIZE
        ? Math.max(1, Math.min(MAX_UDP_ANSWERS, this.#cfg.udpAnswerLimit))
        : q.type === "SRV"
          ? TCP_SRV_ANSWER_CAP
          : TCP_ANSWER_CAP;
    // No record is smaller than the question's name and 14 bytes (an A record, uncompressed), so
    // more than this many can never fit: the resolver need not build them.
    const fits = Math.floor(maxSize / (Buffer.byteLength(q.name) + 2 + 14));
    const outcome = this.#resolver.resolve(
      { name: q.name, type: q.type },
      Math.max(1, Math.min(cap, fits + 1)),
    );
    if (outcome instanceof Promise)
      return outcome.then((o) => this.#reply(msg, req, q, opt, maxSize, transport, o));
    return this.#reply(msg, req, q, opt, maxSize, transport, outcome);
  }

  #reply(
    msg: Buffer,
    req: DecodedPacket,
    q: Question,
    opt: { udpPayloadSize?: number } | undefined,
    maxSize: number,
    transport: Transport,
    outcome: DnsOutcome,
  ): Buffer | Promise<Buffer> {
    const recursion = this.#cfg.recursors.length > 0;
    if (outcome.kind === "recurse") {
      if (!recursion) return header(msg, RCODES.REFUSED);
      return this.#recurse(msg, req, q);
    }
    const flags = AA | ((req.flags ?? 0) & RD) | (recursion ? RA : 0) | RCODES[outcome.rcode];
    const ednsBytes = opt ? 11 : 0;
    const limit = maxSize - ednsBytes - (transport === "udp" ? 8 : 0);
    const truncate = this.#cfg.enableTruncate;
    const fast = this.#assembled(msg, q, opt, flags, limit, outcome);
    if (fast) return fast;
    const res: Packet = {
      id: req.id ?? 0,
      type: "response",
      flags,
      questions: [q],
      answers: outcome.answers,
      authorities: outcome.authorities,
      additionals: outcome.additionals,
    };
    const answers = res.answers ?? [];
    // Most answers fit as they are: encoded once, without trim's sizing of each record. Without
    // SRV answers trim's measure is exactly the packet's length (with SRV it counts additional
    // records by target, so those take the long way), so what is sent is the same either way.
    if (answers.length <= 1 || !answers.some((a) => a.type === "SRV")) {
      const { flags, additionals } = res;
      if (outcome.capped && truncate) res.flags = (res.flags ?? 0) | TC;
      if (opt) res.additionals = withOpt(res.additionals, opt);
      const whole = packet.encode(res);
      if (answers.length <= 1 || whole.length - ednsBytes <= limit) return whole;
      res.flags = flags;
      res.additionals = additionals;
    }
    const trimmed = trim(res, limit);
    if ((trimmed || outcome.capped) && truncate) res.flags = (res.flags ?? 0) | TC;
    if (opt) res.additionals = withOpt(res.additionals, opt);
    return packet.encode(res);
  }

  /**
   * The reply assembled from records encoded once (wire.ts), when every answer is owned by the
   * question's name, there is nothing else to send but an OPT record, and the whole answer fits
   * uncompressed (so trim would keep it whole): a service or node lookup's usual answer. Undefined
   * for anything else, which dns-packet encodes whole.
   */
  #assembled(
    msg: Buffer,
    q: Question,
    opt: { udpPayloadSize?: number } | undefined,
    flags: number,
    limit: number,
    outcome: DnsAnswer,
  ): Buffer | undefined {
    const { answers } = outcome;
    if (answers.length === 0 || outcome.authorities.length > 0 || outcome.additionals.length > 0)
      return undefined;
    for (const a of answers) if (a.name !== q.name) return undefined;
    const end = plainQuestionEnd(msg);
    if (end === undefined) return undefined;
    if (answers.length > 1 && uncompressedLength(end, answers) > limit) return undefined;
    const tc = outcome.capped && this.#cfg.enableTruncate ? TC : 0;
    const trailer = opt
      ? packet.encode({ additionals: withOpt([], opt) }).subarray(HEADER_SIZE)
      : undefined;
    return assembleReply(msg, end, flags | tc, answers, trailer);
  }

  /**
   * Forwards the query as it came to each recursor in turn (Consul's sequential strategy) over
   * UDP, each with `recursor_timeout`; SERVFAIL when none answers, as Consul.
   */
  async #recurse(msg: Buffer, req: DecodedPacket, q: Question): Promise<Buffer> {
    const fail = (): Buffer =>
      packet.encode({
        id: req.id ?? 0,
        type: "response",
        flags: RA | ((req.flags ?? 0) & RD) | RCODES.SERVFAIL,
        questions: [q],
      });
    if (this.#recursions >= this.#maxRecursions) return fail();
    this.#recursions++;
    try {
      for (const r of this.#cfg.recursors) {
        const reply = await exchange(msg, r, this.#cfg.recursorTimeoutMs);
        if (reply) return reply;
      }
      return fail();
    } finally {
      this.#recursions--;
    }
  }
}

/** The additional records and the reply's OPT record (EDNS0, the client's buffer size). */
function withOpt(additionals: Answer[] | undefined, opt: { udpPayloadSize?: number }): Answer[] {
  return [
    ...(additionals ?? []),
    {
      type: "OPT",
      name: ".",
      udpPayloadSize: opt.udpPayloadSize ?? DEFAULT_UDP_SIZE,
      extendedRcode: 0,
      ednsVersion: 0,
      flags: 0,
      flag_do: false,
      options: [],
    },
  ];
}

/** A header-only reply: the query's id and opcode, RD kept, the rcode, no sections. */
function header(msg: Buffer, rcode: number): Buffer {
  const out = Buffer.alloc(12);
  out.writeUInt16BE(msg.readUInt16BE(0), 0);
  const flags = msg.readUInt16BE(2);
  out.writeUInt16BE(QR | (flags & 0x7800) | (flags & RD) | rcode, 2);
  return out;
}

/**
 * Consul's trimUDPResponse / trimTCPResponse by bytes: drop the authority section, then keep the
 * most answers that fit (Consul binary-searches; here each record is measured once and the sizes
 * summed, since measuring a 4,000-record packet a dozen times held the event loop for 200 ms),
 * keeping only the additional records for the SRV targets still answered. One answer is always
 * kept. True when cut.
 */
function trim(res: Packet, maxSize: number): boolean {
  const answers = res.answers ?? [];
  const extras = res.additionals ?? [];
  if (answers.length <= 1) return false;
  const sizeOf = (a: Answer): number => packet.encodingLength({ answers: [a] }) - HEADER_SIZE;
  const sum = (list: readonly Answer[]): number => list.reduce((n, a) => n + sizeOf(a), 0);
  const hasSrv = answers.some((a) => a.type === "SRV");
  // With SRV answers the additional records follow the kept targets; otherwise they stay whole.
  const byTarget = new Map<string, number>();
  if (hasSrv)
    for (const e of extras) {
      const key = e.name.toLowerCase();
      byTarget.set(key, (byTarget.get(key) ?? 0) + sizeOf(e));
    }
  const fixed =
    packet.encodingLength({ questions: res.questions ?? [] }) + (hasSrv ? 0 : sum(extras));
  const authorities = sum(res.authorities ?? []);
  const cumulative: number[] = [];
  const seen = new Set<string>();
  let running = 0;
  for (const a of answers) {
    running += sizeOf(a);
    if (a.type === "SRV") {
      const t = a.data.target.toLowerCase();
      if (!seen.has(t)) {
        seen.add(t);
        running += byTarget.get(t) ?? 0;
      }
    }
    cumulative.push(running);
  }
  if (fixed + authorities + running <= maxSize) return false;
  let keep = 0;
  while (keep < answers.length && fixed + (cumulative[keep] ?? 0) <= maxSize) keep++;
  res.authorities = [];
  res.answers = answers.slice(0, Math.max(1, keep));
  if (hasSrv && extras.length > 0) res.additionals = extrasFor(res.answers, extras);
  return res.answers.length < answers.length;
}

/** Consul's syncExtra: the additional records named by the kept SRV answers' targets. */
function extrasFor(answers: readonly Answer[], extras: readonly Answer[]): Answer[] {
  const targets = new Set<string>();
  for (const a of answers) if (a.type === "SRV") targets.add(a.data.target.toLowerCase());
  return extras.filter((e) => targets.has(e.name.toLowerCase()));
}

/** One UDP exchange with a recursor: its reply (same id), or undefined on timeout or error. */
function exchange(
  msg: Buffer,
  to: { host: string; port: number },
  timeoutMs: number,
): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket(isIPv6(to.host) ? "udp6" : "udp4");
    const id = msg.readUInt16BE(0);
    let finished = false;
    const done = (reply: Buffer | undefined): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket.close();
      resolve(reply);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.on("error", () => done(undefined));
    socket.on("message", (reply, rinfo) => {
      // Only the recursor's reply to this query: a stray datagram must not pass for it.
      if (rinfo.port !== to.port || reply.length < 12 || reply.readUInt16BE(0) !== id) return;
      done(reply);
    });
    socket.send(msg, to.port, to.host, (err) => {
      if (err) done(undefined);
    });
  });
}
