/**
 * The agent's HTTP API as the UI uses it: blocking queries (`?index=&wait=`) that keep a page
 * live without polling (augur's watch API included), a plain poll for agent/members (which does
 * not block in Consul either), and one shared connection state that backs off while the agent is
 * unreachable and shows a banner.
 */
import { useEffect, useState } from "preact/hooks";
import { getToken } from "./token";

/** How long one blocking query may park in the agent. */
const WAIT = "60s";
const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 30_000;

export interface Connection {
  readonly reachable: boolean;
  /** When the next try is due (ms since epoch), while unreachable. */
  readonly retryAt: number;
  readonly lastError: string;
}

let connection: Connection = { reachable: true, retryAt: 0, lastError: "" };
const listeners = new Set<(c: Connection) => void>();

function setConnection(next: Connection): void {
  if (next.reachable === connection.reachable && next.retryAt === connection.retryAt) return;
  connection = next;
  for (const l of listeners) l(connection);
}

export function useConnection(): Connection {
  const [c, set] = useState(connection);
  useEffect(() => {
    listeners.add(set);
    return () => void listeners.delete(set);
  }, []);
  return c;
}

/** An HTTP answer the agent gave (as opposed to no answer at all). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly text: string,
  ) {
    super(`${status}: ${text}`);
  }
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
  });

/** Full jitter around an exponential step, so many tabs do not retry in step. */
function nextBackoff(previous: number): number {
  return Math.min(BACKOFF_MAX_MS, previous === 0 ? BACKOFF_MIN_MS : previous * 2);
}

/** The first read index.html started before the app loaded (the services page's), taken once. */
function takePrefetch(path: string): Promise<Response> | undefined {
  const w = window as unknown as {
    __augurPrefetch?: { path: string; response: Promise<Response> };
  };
  const p = w.__augurPrefetch;
  if (!p || p.path !== path) return undefined;
  delete w.__augurPrefetch;
  return p.response;
}

/** One request; a network failure or a 5xx from a proxy marks the agent unreachable. */
export async function api(
  method: string,
  path: string,
  body?: BodyInit,
  signal?: AbortSignal,
): Promise<Response> {
  let res: Response;
  try {
    const early = method === "GET" ? takePrefetch(path) : undefined;
    const token = getToken();
    res = await (early ??
      fetch(path, {
        method,
        ...(token ? { headers: { "X-Consul-Token": token } } : {}),
        ...(body !== undefined ? { body } : {}),
        ...(signal ? { signal } : {}),
      }));
  } catch (err) {
    if (signal?.aborted) throw err;
    setConnection({
      reachable: false,
      retryAt: Date.now() + BACKOFF_MIN_MS,
      lastError: String(err),
    });
    throw err;
  }
  if (res.status === 502 || res.status === 503 || res.status === 504) {
    setConnection({
      reachable: false,
      retryAt: Date.now() + BACKOFF_MIN_MS,
      lastError: `HTTP ${res.status}`,
    });
    throw new ApiError(res.status, await res.text());
  }
  setConnection({ reachable: true, retryAt: 0, lastError: "" });
  return res;
}

export interface Live<T> {
  readonly data: T | undefined;
  /** The agent's refusal (4xx/5xx text) of the last request, if it refused. */
  readonly error: string;
  readonly loading: boolean;
}

/**
 * Reads `path` and then re-reads it as a blocking query on the last `X-Consul-Index`, so the
 * value changes as soon as the agent's does. An index that goes backwards starts over from 0
 * (Consul's rule for clients). `notFound` is the value of a 404 (a KV key that is not there).
 */
export function useBlocking<T>(path: string | null, notFound?: T): Live<T> {
  const [state, setState] = useState<Live<T>>({ data: undefined, error: "", loading: true });
  useEffect(() => {
    if (path === null) return;
    setState((s) => ({ ...s, loading: true, error: "" }));
    const ctl = new AbortController();
    const { signal } = ctl;
    void (async () => {
      let index = 0;
      let backoff = 0;
      while (!signal.aborted) {
        const started = Date.now();
        try {
          const sep = path.includes("?") ? "&" : "?";
          const url = index > 0 ? `${path}${sep}index=${index}&wait=${WAIT}` : path;
          const res = await api("GET", url, undefined, signal);
          const next = Number(res.headers.get("X-Consul-Index") ?? "0");
          if (res.status === 404 && notFound !== undefined) {
            await res.body?.cancel();
            setState({ data: notFound, error: "", loading: false });
          } else if (!res.ok) {
            const text = await res.text();
            setState((s) => ({ ...s, error: text || `HTTP ${res.status}`, loading: false }));
            await sleep(5000, signal);
            continue;
          } else if (next !== index || index === 0) {
            const data = (await res.json()) as T;
            if (!signal.aborted) setState({ data, error: "", loading: false });
          } else await res.body?.cancel();
          backoff = 0;
          const unchanged = index > 0 && next === index;
          index = next < index ? 0 : next;
          // A blocking query answered at once with the same index must not be repeated in a
          // tight loop.
          if (unchanged && Date.now() - started < 50) await sleep(250, signal);
        } catch {
          if (signal.aborted) return;
          backoff = nextBackoff(backoff);
          const wait = backoff / 2 + Math.random() * (backoff / 2);
          setConnection({ reachable: false, retryAt: Date.now() + wait, lastError: "no answer" });
          // The next try reads at once instead of blocking: a parked query would leave the banner
          // up until its wait ran out, long after the agent is back.
          index = 0;
          await sleep(wait, signal);
        }
      }
    })();
    return () => ctl.abort();
  }, [path]);
  return state;
}

/** For endpoints that do not block (agent/members): read every `everyMs`. */
export function usePoll<T>(path: string | null, everyMs: number, refresh = 0): Live<T> {
  const [state, setState] = useState<Live<T>>({ data: undefined, error: "", loading: true });
  useEffect(() => {
    if (path === null) return;
    const ctl = new AbortController();
    const { signal } = ctl;
    void (async () => {
      let backoff = 0;
      while (!signal.aborted) {
        try {
          const res = await api("GET", path, undefined, signal);
          if (!res.ok) {
            const text = await res.text();
            setState((s) => ({ ...s, error: text, loading: false }));
          } else {
            const data = (await res.json()) as T;
            if (!signal.aborted) setState({ data, error: "", loading: false });
          }
          backoff = 0;
          await sleep(everyMs, signal);
        } catch {
          if (signal.aborted) return;
          backoff = nextBackoff(backoff);
          const wait = backoff / 2 + Math.random() * (backoff / 2);
          setConnection({ reachable: false, retryAt: Date.now() + wait, lastError: "no answer" });
          await sleep(wait, signal);
        }
      }
    })();
    return () => ctl.abort();
  }, [path, everyMs, refresh]);
  return state;
}

/** Base64 of a KV value to UTF-8 text (lossy for binary values, which the editor shows as base64). */
export function fromBase64(b64: string | null): string {
  if (!b64) return "";
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

/** Whether base64 decodes to valid UTF-8 without control characters other than whitespace. */
export function isText(b64: string | null): boolean {
  if (!b64) return true;
  try {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return !/[\u0000-\u0008\u000e-\u001f]/.test(text);
  } catch {
    return false;
  }
}

export function toBase64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

export const enc = encodeURIComponent;
/** A KV key or path segment list in a URL: each segment encoded, slashes kept. */
export const encPath = (key: string): string => key.split("/").map(enc).join("/");
