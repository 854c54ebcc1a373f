/**
 * HTTP checks (Consul CheckHTTP): 2xx passing, 429 warning, anything else critical; output
 * `HTTP GET <url>: 200 OK Output: <body>` with the body cut to output_max_size. Uses node:http
 * directly for per-check TLS verification and redirect control without a new dependency.
 *
 * @module
 */
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { probeTimeoutMs, type ProbeResult } from "./runner.js";

export interface HttpProbeOptions {
  readonly url: string;
  readonly method?: string;
  readonly header?: Record<string, string[]>;
  readonly body?: string;
  readonly timeoutMs: number;
  readonly tlsSkipVerify?: boolean;
  readonly tlsServerName?: string;
  readonly disableRedirects?: boolean;
  readonly outputMaxSize: number;
}

const MAX_REDIRECTS = 10;

interface Answer {
  readonly res: IncomingMessage;
  readonly body: Buffer;
}

function send(
  url: URL,
  options: HttpProbeOptions,
  method: string,
  signal: AbortSignal,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | string[]> = {
      "User-Agent": "Consul Health Check",
      Accept: "text/plain, text/*, */*",
    };
    for (const [k, v] of Object.entries(options.header ?? {})) headers[k] = v;
    const request = url.protocol === "https:" ? httpsRequest : httpRequest;
    const req = request(url, {
      method,
      headers,
      signal,
      ...(url.protocol === "https:"
        ? {
            rejectUnauthorized: !options.tlsSkipVerify,
            ...(options.tlsServerName ? { servername: options.tlsServerName } : {}),
          }
        : {}),
    });
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (c: Buffer) => {
        // Consul reads at most output_max_size bytes of the body.
        if (size < options.outputMaxSize) chunks.push(c.subarray(0, options.outputMaxSize - size));
        size += c.length;
      });
      res.on("end", () => resolve({ res, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

export function httpProbe(
  options: HttpProbeOptions,
): (signal: AbortSignal) => Promise<ProbeResult> {
  const method = options.method || "GET";
  return async (outer) => {
    const signal = AbortSignal.any([outer, AbortSignal.timeout(probeTimeoutMs(options.timeoutMs))]);
    let url = new URL(options.url);
    try {
      for (let hop = 0; ; hop++) {
        const { res, body } = await send(url, options, method, signal);
        const code = res.statusCode ?? 0;
        const location = res.headers.location;
        if (
          !options.disableRedirects &&
          code >= 300 &&
          code < 400 &&
          location &&
          hop < MAX_REDIRECTS
        ) {
          url = new URL(location, url);
          continue;
        }
        const output = `HTTP ${method} ${options.url}: ${code} ${res.statusMessage ?? ""} Output: ${body.toString("utf8")}`;
        if (code >= 200 && code < 300) return { status: "passing", output };
        if (code === 429) return { status: "warning", output };
        return { status: "critical", output };
      }
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const why =
        signal.aborted && !outer.aborted
          ? `(Client.Timeout exceeded while awaiting headers)`
          : e.code === "ECONNREFUSED"
            ? "connect: connection refused"
            : e.message;
      return { status: "critical", output: `${method} ${JSON.stringify(options.url)}: ${why}` };
    }
  };
}
