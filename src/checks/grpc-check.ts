/**
 * gRPC checks (Consul CheckGRPC): the grpc.health.v1 `Health/Check` call to `grpc`
 * (`host:port[/service]`). SERVING is passing (`gRPC check <target>: success`); any other status
 * is critical (`gRPC <target> serving status: NOT_SERVING`), and so is a failed call, worded as
 * grpc-go words it (`rpc error: code = NotFound desc = unknown service`).
 *
 * The call is made over node:http2 with the two one-field messages encoded by hand: a gRPC unary
 * call is one HTTP/2 POST with a 5-byte-framed body and the status in trailers, and this needs
 * no gRPC or protobuf library.
 *
 * @module
 */
import { constants, type ClientHttp2Session } from "node:http2";
import { connectH2 } from "./h2-session.js";
import { goDialError, goTlsError, isTlsError, splitHostPort } from "./go-net-errors.js";
import { probeTimeoutMs, type Probe, type ProbeResult } from "./runner.js";

export interface GrpcProbeOptions {
  /** `host:port[/service]`. */
  readonly target: string;
  readonly timeoutMs: number;
  readonly useTls?: boolean;
  readonly tlsSkipVerify?: boolean;
  readonly tlsServerName?: string;
}

export const HEALTH_CHECK_PATH = "/grpc.health.v1.Health/Check";

/** grpc.health.v1.HealthCheckResponse.ServingStatus, by number. */
export const SERVING_STATUS = ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"] as const;

/** gRPC status codes by number, as grpc-go's codes.Code prints them. */
const GRPC_CODES = [
  "OK",
  "Canceled",
  "Unknown",
  "InvalidArgument",
  "DeadlineExceeded",
  "NotFound",
  "AlreadyExists",
  "PermissionDenied",
  "ResourceExhausted",
  "FailedPrecondition",
  "Aborted",
  "OutOfRange",
  "Unimplemented",
  "Internal",
  "Unavailable",
  "DataLoss",
  "Unauthenticated",
];

/** A health answer is a few bytes; anything this large is not one, and is not buffered. */
const MAX_RESPONSE_BYTES = 64 * 1024;

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

/** HealthCheckRequest{service} as protobuf: field 1, length-delimited (absent when empty). */
export function encodeHealthCheckRequest(service: string): Buffer {
  if (!service) return Buffer.alloc(0);
  const bytes = Buffer.from(service, "utf8");
  return Buffer.concat([Buffer.from([0x0a, ...varint(bytes.length)]), bytes]);
}

/** HealthCheckResponse{status} from protobuf: field 1, a varint enum (0 when absent). */
export function decodeHealthCheckResponse(buf: Buffer): number {
  let status = 0;
  let i = 0;
  const readVarint = (): number => {
    let value = 0;
    for (let shift = 0; i < buf.length && shift < 64; shift += 7) {
      const b = buf[i++] ?? 0;
      value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return value;
    }
    throw new RangeError("truncated varint");
  };
  while (i < buf.length) {
    const key = readVarint();
    const field = Math.floor(key / 8);
    switch (key & 7) {
      case 0: {
        const v = readVarint();
        if (field === 1) status = v;
        break;
      }
      case 1:
        i += 8;
        break;
      case 2:
        i += readVarint();
        break;
      case 5:
        i += 4;
        break;
      default:
        throw new RangeError(`wire type ${key & 7}`);
    }
    if (i > buf.length) throw new RangeError("truncated field");
  }
  return status;
}

/** One gRPC message in its 5-byte frame: not compressed, big-endian length. */
export function grpcFrame(message: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}

function rpcError(code: number, desc: string): string {
  return `rpc error: code = ${GRPC_CODES[code] ?? `Code(${code})`} desc = ${desc}`;
}

/** The gRPC code an HTTP status stands for when a server answers without gRPC (the gRPC spec's table). */
function codeForHttpStatus(status: number): number {
  if (status === 400) return 13;
  if (status === 401) return 16;
  if (status === 403) return 7;
  if (status === 404) return 12;
  if (status === 429 || status === 502 || status === 503 || status === 504) return 14;
  return 2;
}

function decodeGrpcMessage(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

export function grpcProbe(options: GrpcProbeOptions): Probe {
  const slash = options.target.indexOf("/");
  const server = slash < 0 ? options.target : options.target.slice(0, slash);
  const service = slash < 0 ? "" : options.target.slice(slash + 1);
  const request = grpcFrame(encodeHealthCheckRequest(service));
  const target = options.target;
  return (signal) =>
    new Promise((resolve) => {
      const split = splitHostPort(server);
      if (!split) {
        resolve({
          status: "critical",
          output: rpcError(
            14,
            `connection error: desc = "transport: Error while dialing: ${goDialError("tcp", server)}"`,
          ),
        });
        return;
      }
      let session: ClientHttp2Session | undefined;
      let done = false;
      const finish = (result: ProbeResult): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        session?.destroy();
        resolve(result);
      };
      const fail = (code: number, desc: string): void =>
        finish({ status: "critical", output: rpcError(code, desc) });
      const timer = setTimeout(
        () => fail(4, "context deadline exceeded"),
        probeTimeoutMs(options.timeoutMs),
      );
      const onAbort = (): void => fail(1, "context canceled");
      signal.addEventListener("abort", onAbort, { once: true });

      let connected = false;
      try {
        session = connectH2(server, split.host, options);
      } catch (err) {
        fail(14, `connection error: desc = "transport: ${(err as Error).message}"`);
        return;
      }
      session.once("connect", () => (connected = true));
      session.on("error", (err: NodeJS.ErrnoException) => {
        const why = connected
          ? `connection error: desc = "transport: ${err.message}"`
          : isTlsError(err)
            ? `connection error: desc = "transport: authentication handshake failed: ${goTlsError(err)}"`
            : `connection error: desc = "transport: Error while dialing: ${goDialError("tcp", server, err)}"`;
        fail(14, why);
      });
      const stream = session.request({
        [constants.HTTP2_HEADER_METHOD]: "POST",
        [constants.HTTP2_HEADER_PATH]: HEALTH_CHECK_PATH,
        [constants.HTTP2_HEADER_CONTENT_TYPE]: "application/grpc",
        [constants.HTTP2_HEADER_TE]: "trailers",
        [constants.HTTP2_HEADER_USER_AGENT]: "grpc-go (augur health check)",
      });
      stream.on("error", () => undefined);
      let httpStatus = 0;
      let headerStatus: string | undefined;
      let headerMessage = "";
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on("response", (headers) => {
        httpStatus = Number(headers[constants.HTTP2_HEADER_STATUS] ?? 0);
        // A trailers-only answer carries the status in the headers.
        const s = headers["grpc-status"];
        if (s !== undefined) {
          headerStatus = String(s);
          headerMessage = String(headers["grpc-message"] ?? "");
        }
      });
      stream.on("data", (c: Buffer) => {
        size += c.length;
        if (size > MAX_RESPONSE_BYTES) {
          fail(8, `grpc: received message larger than max (${size} vs. ${MAX_RESPONSE_BYTES})`);
          return;
        }
        chunks.push(c);
      });
      const settle = (statusText: string | undefined, message: string): void => {
        if (httpStatus !== 200) {
          fail(
            codeForHttpStatus(httpStatus),
            `unexpected HTTP status code received from server: ${httpStatus}`,
          );
          return;
        }
        const code = statusText === undefined ? 13 : Number(statusText);
        if (statusText === undefined) {
          fail(13, "server closed the stream without sending trailers");
          return;
        }
        if (code !== 0) {
          fail(code, decodeGrpcMessage(message));
          return;
        }
        const body = Buffer.concat(chunks);
        if (body.length < 5 || body[0] !== 0 || body.readUInt32BE(1) !== body.length - 5) {
          fail(13, "grpc: failed to unmarshal the received message");
          return;
        }
        let status: number;
        try {
          status = decodeHealthCheckResponse(body.subarray(5));
        } catch (err) {
          fail(13, `grpc: failed to unmarshal the received message: ${(err as Error).message}`);
          return;
        }
        if (status === 1) finish({ status: "passing", output: `gRPC check ${target}: success` });
        else
          finish({
            status: "critical",
            output: `gRPC ${target} serving status: ${SERVING_STATUS[status] ?? String(status)}`,
          });
      };
      stream.on("trailers", (trailers) => {
        headerStatus =
          trailers["grpc-status"] === undefined ? undefined : String(trailers["grpc-status"]);
        headerMessage = String(trailers["grpc-message"] ?? "");
      });
      stream.on("end", () => settle(headerStatus, headerMessage));
      stream.on("close", () => {
        if (!done && connected) settle(headerStatus, headerMessage);
      });
      stream.end(request);
    });
}
