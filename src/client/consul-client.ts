/**
 * A typed HTTP client for Consul's API — augur's own agent or a real Consul — over HTTP or HTTPS
 * (client/transport.ts). One low-level {@link ConsulClient.request} (used by the watch engine for blocking
 * queries) and typed helpers for what the CLI needs. The helpers speak as Consul's Go client
 * does: a KV 404 is "no such key", other non-2xx answers throw {@link UnexpectedResponseError}.
 *
 * @module
 */
import { SNAPSHOT_ARCHIVE_MAX_BYTES } from "../catalog/snapshot-archive.js";
import { AugurError } from "../lib/errors.js";
import { parseJsonLossless } from "../lib/lossless-json.js";
import type { KVPair, Node, Session, UserEvent } from "../catalog/types.js";
import { parseGoDuration } from "../lib/duration.js";
import { readTlsMaterial } from "../lib/tls-files.js";
import { resolveAddress, resolveTls, resolveToken, type ClientTlsOptions } from "./address.js";
import { connectionPool, open, readBody, type ClientTls } from "./transport.js";
import type { Agent as HttpAgent, IncomingHttpHeaders, IncomingMessage } from "node:http";
import {
  makeResponse,
  requireOk,
  UnexpectedResponseError,
  type ClientResponse,
} from "./response.js";
import {
  causeText,
  escapePath,
  goOp,
  queryString,
  readQuery,
  type QueryParams,
} from "./encoding.js";

import type {
  AgentChecks,
  AgentMember,
  AgentSelf,
  AgentServiceRegistration,
  CatalogNode,
  CatalogServiceNode,
  ReadOptions,
  WriteOptions,
} from "./types.js";

export { escapePath, type QueryParams };

export type HttpMethod = "GET" | "PUT" | "POST" | "DELETE";

export interface ConsulClientOptions {
  /** `host:port` or `http(s)://host:port`; defaults from AUGUR_HTTP_ADDR, CONSUL_HTTP_ADDR, then 127.0.0.1:8500. */
  address?: string;
  /** ACL token sent as `X-Consul-Token`; defaults from AUGUR_HTTP_TOKEN, then CONSUL_HTTP_TOKEN. */
  token?: string;
  /** Environment to read defaults from (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** Per-request timeout in ms; undefined or 0 means none (blocking queries set their own). */
  timeoutMs?: number;
  /** `dc` for every request that names none, as the Go client's Config.Datacenter. */
  datacenter?: string;
  /** CA, client certificate and server name; each unset one defaults from the environment. */
  tls?: ClientTlsOptions & { readonly skipHostnameCheck?: boolean };
  /** The most of one answer's body read into memory (default 64 MiB); more is REMOTE_ERROR. */
  maxResponseBytes?: number;
  /**
   * How long connecting and getting an answer's headers may take (default 60 s; 0: no limit).
   * A blocking query (`?index=`) gets its wait, Consul's jitter (wait/16) and this margin.
   */
  headersTimeoutMs?: number;
}

/** Default cap on a response body: far above any real answer, far below the process's memory. */
export const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
/** Default time to connect and receive an answer's headers. */
export const DEFAULT_HEADERS_TIMEOUT_MS = 60_000;
/** A blocking query without `?wait` waits up to the agent's max_query_time (Consul: 10 min). */
const DEFAULT_MAX_QUERY_MS = 10 * 60_000;

export interface RequestOptions {
  /** Query parameters; undefined values are skipped, arrays repeat, `""` sends the bare key (`?recurse`). */
  query?: QueryParams;
  body?: string | Uint8Array;
  signal?: AbortSignal;
  /** Overrides the client's timeout for this request; 0 means none. */
  timeoutMs?: number;
  /** Extra request headers (for example `Content-Type`). */
  headers?: Record<string, string>;
  /** Overrides the client's cap on the answer's body for this request (a saved snapshot). */
  maxResponseBytes?: number;
}

export interface KvPutOptions extends WriteOptions {
  /** Opaque uint64 flags; sent only when non-zero, as the Go client does. Decimal string for values past 2^53. */
  flags?: number | bigint | string;
  /** Check-and-set: 0 creates only if absent, N writes only if ModifyIndex is N. */
  cas?: number | bigint | string;
  acquire?: string;
  release?: string;
}

export interface KvDeleteOptions extends WriteOptions {
  recurse?: boolean;
  cas?: number | bigint | string;
}

/** A blocking read (api.QueryOptions' WaitIndex, WaitTime, RequireConsistent). */
export interface BlockingReadOptions {
  /** Answer only once the index passes this (`?index=`); 0 or unset answers at once. */
  readonly waitIndex?: number;
  /** The longest the agent may hold the answer (`?wait=<ms>ms`); unset is the agent's 5 minutes. */
  readonly waitMs?: number;
  /** `?consistent`: the leader confirms it still leads before answering. */
  readonly consistent?: boolean;
  readonly signal?: AbortSignal;
}

/** A read with its `X-Consul-Index` (api.QueryMeta.LastIndex). */
export interface Indexed<T> {
  readonly value: T;
  readonly lastIndex: number;
}

/** `PUT /v1/session/create` (api.SessionEntry); empty fields are left out, as the Go client does. */
export interface SessionCreateOptions extends WriteOptions {
  name?: string;
  /** Go duration string (`15s`). */
  ttl?: string;
  behavior?: "release" | "delete";
  /** Milliseconds; unset is the agent's default (15 s). */
  lockDelayMs?: number;
}

export interface EventFireOptions extends WriteOptions {
  /** Regular expressions restricting which agents handle the event. */
  node?: string;
  service?: string;
  tag?: string;
}

/** KV pairs with `Flags` exact past 2^53 (a bigint there), as `kv get -detailed` prints them. */
const kvPairs = (res: ClientResponse): KVPair[] => parseJsonLossless(res.text()) as KVPair[];
const bool = (res: ClientResponse): boolean => res.json<unknown>() === true;

/** The longest partial line a monitor stream holds before handing it on. */
const MAX_MONITOR_LINE = 1024 * 1024;

/** A streamed body as lines without their newline; a cut stream simply ends. */
async function* monitorLines(body: AsyncIterable<Buffer>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let pending = "";
  try {
    for await (const chunk of body) {
      pending += decoder.decode(chunk, { stream: true });
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      yield* lines;
      // A line without end is handed on in pieces rather than held whole.
      if (pending.length > MAX_MONITOR_LINE) {
        yield pending;
        pending = "";
      }
    }
  } catch {
    // aborted by the caller, or the agent went away: the stream is over either way
  }
  if (pending) yield pending;
}

/** A client for one agent address. */
export class ConsulClient {
  /** Normalised `http://host:port` (or `https://`). */
  readonly address: string;
  readonly #token: string | undefined;
  readonly #timeoutMs: number | undefined;
  readonly #datacenter: string | undefined;
  readonly #tls: ClientTlsOptions & { readonly skipHostnameCheck?: boolean };
  readonly #maxResponseBytes: number;
  readonly #headersTimeoutMs: number;
  /** Connections, made once the TLS files are read (on the first request). */
  #pool: Promise<HttpAgent> | undefined;

  /** Throws CONFIG_INVALID for an address with an unknown scheme. */
  constructor(options: ConsulClientOptions = {}) {
    const env = options.env ?? process.env;
    this.address = resolveAddress(options.address, env);
    this.#token = resolveToken(options.token, env);
    this.#tls = {
      ...resolveTls(options.tls, env),
      ...(options.tls?.skipHostnameCheck ? { skipHostnameCheck: true } : {}),
    };
    this.#timeoutMs = options.timeoutMs;
    this.#datacenter = options.datacenter || undefined;
    this.#maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.#headersTimeoutMs = options.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS;
  }

  /**
   * The connection pool, with the TLS files read on first use (CONFIG_INVALID, in Consul's
   * words, when one cannot be read). A failed read is not kept: the next request tries again.
   */
  #connections(url: URL): Promise<HttpAgent> {
    this.#pool ??= (async () => {
      const material = url.protocol === "https:" ? await readTlsMaterial(this.#tls) : {};
      const tls: ClientTls = {
        ...material,
        ...(this.#tls.insecureSkipVerify ? { insecureSkipVerify: true } : {}),
        ...(this.#tls.serverName ? { serverName: this.#tls.serverName } : {}),
        ...(this.#tls.skipHostnameCheck ? { skipHostnameCheck: true } : {}),
      };
      return connectionPool(url, tls);
    })();
    this.#pool.catch(() => (this.#pool = undefined));
    return this.#pool;
  }

  /** Headers timeout for a request: a blocking query may be held for its wait, plus a margin. */
  #headersTimeout(query: QueryParams | undefined): number {
    if (this.#headersTimeoutMs === 0) return 0;
    const index = query?.["index"];
    if (index === undefined || index === "0") return this.#headersTimeoutMs;
    const wait = typeof query?.["wait"] === "string" ? parseGoDuration(query["wait"]) : undefined;
    const held = wait ?? DEFAULT_MAX_QUERY_MS;
    return held + held / 16 + this.#headersTimeoutMs;
  }

  /**
   * One HTTP request. `path` is used as given (for example `/v1/kv/foo`; escape segments with
   * {@link escapePath}). Any status is returned; connection failures, timeouts and aborts throw
   * `AugurError("UNREACHABLE", '<Op> "<url>": <cause>')` (retryable).
   */
  async request(
    method: HttpMethod,
    path: string,
    options: RequestOptions = {},
  ): Promise<ClientResponse> {
    const query =
      this.#datacenter && options.query?.["dc"] === undefined
        ? { ...options.query, dc: this.#datacenter }
        : options.query;
    const url = `${this.address}${path}${queryString(query)}`;
    const headers: Record<string, string> = { ...options.headers };
    if (this.#token !== undefined) headers["X-Consul-Token"] = this.#token;
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    // One controller per request, fed by the caller's signal and our timer, both detached in
    // `finally`: a watch passes one long-lived signal to many blocking queries, and listeners
    // must not pile up on it.
    const controller = new AbortController();
    let timedOut = false;
    const timer = timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          controller.abort();
        }, timeoutMs)
      : undefined;
    const onAbort = (): void => controller.abort();
    if (options.signal?.aborted) controller.abort();
    else options.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const target = new URL(url);
      const res = await open(target, await this.#connections(target), {
        method,
        headers,
        signal: controller.signal,
        headersTimeoutMs: this.#headersTimeout(query),
        ...(options.body !== undefined ? { body: options.body } : {}),
      });
      const body = await readBody(res, options.maxResponseBytes ?? this.#maxResponseBytes);
      return makeResponse(res.statusCode ?? 0, toHeaders(res.headers), body);
    } catch (err) {
      if (err instanceof AugurError && err.code === "CONFIG_INVALID") throw err;
      const why = timedOut
        ? `timed out after ${timeoutMs}ms`
        : options.signal?.aborted
          ? "request aborted"
          : causeText(err);
      const code = err instanceof AugurError ? err.code : "UNREACHABLE";
      throw new AugurError(code, `${goOp(method)} "${url}": ${why}`, { cause: err });
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
    }
  }

  async #json<T>(method: HttpMethod, path: string, options: RequestOptions = {}): Promise<T> {
    return requireOk(await this.request(method, path, options)).json<T>();
  }

  async #ok(method: HttpMethod, path: string, options: RequestOptions = {}): Promise<void> {
    requireOk(await this.request(method, path, options));
  }

  // --- KV -------------------------------------------------------------------------------------

  /** One key, or undefined when it does not exist (Consul answers 404). */
  async kvGet(key: string, options: ReadOptions = {}): Promise<KVPair | undefined> {
    const res = await this.request("GET", `/v1/kv/${escapePath(key)}`, {
      query: readQuery(options),
      ...signalOf(options),
    });
    if (res.status === 404) return undefined;
    return kvPairs(requireOk(res))[0];
  }

  /** Every key under `prefix`, sorted by key; `[]` when none. */
  async kvList(prefix: string, options: ReadOptions = {}): Promise<KVPair[]> {
    const res = await this.request("GET", `/v1/kv/${escapePath(prefix)}`, {
      query: { ...readQuery(options), recurse: "" },
      ...signalOf(options),
    });
    if (res.status === 404) return [];
    return kvPairs(requireOk(res)) ?? [];
  }

  /** Key names under `prefix`, cut after the first `separator` past the prefix when one is given. */
  async kvKeys(prefix: string, separator = "", options: ReadOptions = {}): Promise<string[]> {
    const query = { ...readQuery(options), keys: "", separator: separator || undefined };
    const res = await this.request("GET", `/v1/kv/${escapePath(prefix)}`, {
      query,
      ...signalOf(options),
    });
    if (res.status === 404) return [];
    return requireOk(res).json<string[]>() ?? [];
  }

  /** {@link kvGet} as a blocking query, with the index to wait on next. */
  async kvGetIndexed(
    key: string,
    options: BlockingReadOptions = {},
  ): Promise<Indexed<KVPair | undefined>> {
    const res = await this.request("GET", `/v1/kv/${escapePath(key)}`, {
      query: blockingQuery(options),
      ...signalOf(options),
    });
    const lastIndex = res.index ?? 0;
    if (res.status === 404) return { value: undefined, lastIndex };
    return { value: kvPairs(requireOk(res))[0], lastIndex };
  }

  /** {@link kvList} as a blocking query, with the index to wait on next. */
  async kvListIndexed(
    prefix: string,
    options: BlockingReadOptions = {},
  ): Promise<Indexed<KVPair[]>> {
    const res = await this.request("GET", `/v1/kv/${escapePath(prefix)}`, {
      query: { ...blockingQuery(options), recurse: "" },
      ...signalOf(options),
    });
    const lastIndex = res.index ?? 0;
    if (res.status === 404) return { value: [], lastIndex };
    return { value: kvPairs(requireOk(res)) ?? [], lastIndex };
  }

  /** Writes a value; false when a `cas`, `acquire` or `release` condition did not hold. */
  async kvPut(
    key: string,
    value: string | Uint8Array,
    options: KvPutOptions = {},
  ): Promise<boolean> {
    const query: QueryParams = {
      dc: options.datacenter || undefined,
      flags:
        options.flags !== undefined && String(options.flags) !== "0"
          ? String(options.flags)
          : undefined,
      cas: options.cas !== undefined ? String(options.cas) : undefined,
      acquire: options.acquire || undefined,
      release: options.release || undefined,
    };
    return bool(
      requireOk(
        await this.request("PUT", `/v1/kv/${escapePath(key)}`, {
          query,
          body: value,
          ...signalOf(options),
        }),
      ),
    );
  }

  /** Deletes a key (or a prefix with `recurse`); false only when a `cas` did not hold. */
  async kvDelete(key: string, options: KvDeleteOptions = {}): Promise<boolean> {
    const query: QueryParams = {
      dc: options.datacenter || undefined,
      recurse: options.recurse ? "" : undefined,
      cas: options.cas !== undefined ? String(options.cas) : undefined,
    };
    const res = requireOk(
      await this.request("DELETE", `/v1/kv/${escapePath(key)}`, { query, ...signalOf(options) }),
    );
    return res.body.length === 0 || bool(res);
  }

  // --- sessions -------------------------------------------------------------------------------

  /** Creates a session; resolves its ID. */
  async sessionCreate(options: SessionCreateOptions = {}): Promise<string> {
    const body: Record<string, unknown> = {};
    if (options.name) body["Name"] = options.name;
    if (options.lockDelayMs) body["LockDelay"] = `${Math.floor(options.lockDelayMs)}ms`;
    if (options.behavior) body["Behavior"] = options.behavior;
    if (options.ttl) body["TTL"] = options.ttl;
    const res = await this.#json<{ ID: string }>("PUT", "/v1/session/create", {
      query: { dc: options.datacenter || undefined },
      body: JSON.stringify(body),
      ...signalOf(options),
    });
    return res.ID;
  }

  /** Renews a session; undefined when the agent no longer knows it (404), as the Go client. */
  async sessionRenew(id: string, options: WriteOptions = {}): Promise<Session | undefined> {
    const res = await this.request("PUT", `/v1/session/renew/${escapePath(id)}`, {
      query: { dc: options.datacenter || undefined },
      ...signalOf(options),
    });
    if (res.status === 404) return undefined;
    return requireOk(res).json<Session[] | null>()?.[0];
  }

  async sessionDestroy(id: string, options: WriteOptions = {}): Promise<void> {
    await this.#ok("PUT", `/v1/session/destroy/${escapePath(id)}`, {
      query: { dc: options.datacenter || undefined },
      ...signalOf(options),
    });
  }

  // --- catalog --------------------------------------------------------------------------------

  async datacenters(options: { signal?: AbortSignal } = {}): Promise<string[]> {
    return (
      (await this.#json<string[] | null>("GET", "/v1/catalog/datacenters", signalOf(options))) ?? []
    );
  }

  async catalogNodes(options: ReadOptions = {}): Promise<Node[]> {
    return (
      (await this.#json<Node[] | null>("GET", "/v1/catalog/nodes", {
        query: readQuery(options),
        ...signalOf(options),
      })) ?? []
    );
  }

  /** Service name → its tags. */
  async catalogServices(options: ReadOptions = {}): Promise<Record<string, string[]>> {
    return (
      (await this.#json<Record<string, string[]> | null>("GET", "/v1/catalog/services", {
        query: readQuery(options),
        ...signalOf(options),
      })) ?? {}
    );
  }

  /** The instances of one service. */
  async catalogService(
    name: string,
    options: ReadOptions & { tag?: string } = {},
  ): Promise<CatalogServiceNode[]> {
    const query = { ...readQuery(options), tag: options.tag || undefined };
    return (
      (await this.#json<CatalogServiceNode[] | null>(
        "GET",
        `/v1/catalog/service/${escapePath(name)}`,
        { query, ...signalOf(options) },
      )) ?? []
    );
  }

  /** One node with its services, or null when the catalog does not know it. */
  async catalogNode(node: string, options: ReadOptions = {}): Promise<CatalogNode | null> {
    return this.#json<CatalogNode | null>("GET", `/v1/catalog/node/${escapePath(node)}`, {
      query: readQuery(options),
      ...signalOf(options),
    });
  }

  // --- agent ----------------------------------------------------------------------------------

  async agentSelf(options: { signal?: AbortSignal } = {}): Promise<AgentSelf> {
    return this.#json<AgentSelf>("GET", "/v1/agent/self", signalOf(options));
  }

  async members(
    options: { wan?: boolean; filter?: string; signal?: AbortSignal } = {},
  ): Promise<AgentMember[]> {
    const query = { wan: options.wan ? "1" : undefined, filter: options.filter || undefined };
    return (
      (await this.#json<AgentMember[] | null>("GET", "/v1/agent/members", {
        query,
        ...signalOf(options),
      })) ?? []
    );
  }

  async agentChecks(options: { filter?: string; signal?: AbortSignal } = {}): Promise<AgentChecks> {
    const query = { filter: options.filter || undefined };
    return (
      (await this.#json<AgentChecks | null>("GET", "/v1/agent/checks", {
        query,
        ...signalOf(options),
      })) ?? {}
    );
  }

  async agentServiceRegister(
    registration: AgentServiceRegistration,
    options: { replaceExistingChecks?: boolean; signal?: AbortSignal } = {},
  ): Promise<void> {
    await this.#ok("PUT", "/v1/agent/service/register", {
      query: { "replace-existing-checks": options.replaceExistingChecks ? "" : undefined },
      body: JSON.stringify(registration),
      headers: { "Content-Type": "application/json" },
      ...signalOf(options),
    });
  }

  async agentServiceDeregister(
    serviceId: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<void> {
    await this.#ok(
      "PUT",
      `/v1/agent/service/deregister/${escapePath(serviceId)}`,
      signalOf(options),
    );
  }

  /** Node maintenance mode on or off (`PUT /v1/agent/maintenance`). */
  async maintenance(
    enable: boolean,
    reason?: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<void> {
    await this.#ok("PUT", "/v1/agent/maintenance", {
      query: { enable: String(enable), reason: reason || undefined },
      ...signalOf(options),
    });
  }

  /** Service maintenance mode on or off (`PUT /v1/agent/service/maintenance/:id`). */
  async serviceMaintenance(
    serviceId: string,
    enable: boolean,
    reason?: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<void> {
    const query = { enable: String(enable), reason: reason || undefined };
    await this.#ok("PUT", `/v1/agent/service/maintenance/${escapePath(serviceId)}`, {
      query,
      ...signalOf(options),
    });
  }

  async reload(options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.#ok("PUT", "/v1/agent/reload", signalOf(options));
  }

  async leave(options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.#ok("PUT", "/v1/agent/leave", signalOf(options));
  }

  /** `PUT /v1/agent/force-leave/:node`: marks a failed member as left. */
  async forceLeave(node: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.#ok("PUT", `/v1/agent/force-leave/${escapePath(node)}`, signalOf(options));
  }

  /**
   * `PUT /v1/agent/join/:address` (`?wan=1` for the WAN pool), as the Go client's Agent().Join:
   * asks the agent to join the cluster `address` belongs to.
   */
  async join(
    address: string,
    options: { wan?: boolean; signal?: AbortSignal } = {},
  ): Promise<void> {
    await this.#ok("PUT", `/v1/agent/join/${escapePath(address)}`, {
      query: { wan: options.wan ? "1" : undefined },
      ...signalOf(options),
    });
  }

  /**
   * `GET /v1/agent/monitor`: resolves once the agent has started the stream (rejects with
   * {@link UnexpectedResponseError} when it refuses, as for an unknown level) with the agent's
   * log lines, newline stripped, as they come. The lines end when the agent ends the stream or
   * `signal` aborts.
   */
  async monitor(
    options: { logLevel?: string; logJson?: boolean; signal?: AbortSignal } = {},
  ): Promise<AsyncIterable<string>> {
    const query = queryString({
      loglevel: options.logLevel || undefined,
      logjson: options.logJson ? "true" : undefined,
    });
    const url = `${this.address}/v1/agent/monitor${query}`;
    const headers: Record<string, string> = {};
    if (this.#token !== undefined) headers["X-Consul-Token"] = this.#token;
    const target = new URL(url);
    let res: IncomingMessage;
    try {
      res = await open(target, await this.#connections(target), {
        method: "GET",
        headers,
        signal: options.signal ?? new AbortController().signal,
        headersTimeoutMs: this.#headersTimeoutMs,
      });
    } catch (err) {
      if (err instanceof AugurError && err.code === "CONFIG_INVALID") throw err;
      const why = options.signal?.aborted ? "request aborted" : causeText(err);
      throw new AugurError("UNREACHABLE", `Get "${url}": ${why}`, { cause: err });
    }
    if (res.statusCode !== 200) {
      const text = await readBody(res, 64 * 1024).catch(() => Buffer.alloc(0));
      throw new UnexpectedResponseError(res.statusCode ?? 0, text.toString("utf8").trim());
    }
    return monitorLines(res);
  }

  // --- events ---------------------------------------------------------------------------------

  /** Fires a user event; the payload is sent as the raw body. */
  async eventFire(
    name: string,
    payload?: string | Uint8Array,
    options: EventFireOptions = {},
  ): Promise<UserEvent> {
    const query = {
      dc: options.datacenter || undefined,
      node: options.node || undefined,
      service: options.service || undefined,
      tag: options.tag || undefined,
    };
    return this.#json<UserEvent>("PUT", `/v1/event/fire/${escapePath(name)}`, {
      query,
      ...(payload !== undefined ? { body: payload } : {}),
      ...signalOf(options),
    });
  }

  // --- snapshots ------------------------------------------------------------------------------

  /** `GET /v1/snapshot`: the gzip'd archive, and the index it was read at (api.Snapshot.Save). */
  async snapshotSave(
    options: Pick<ReadOptions, "datacenter" | "stale" | "signal"> = {},
  ): Promise<{ archive: Buffer; index: number }> {
    const res = requireOk(
      await this.request("GET", "/v1/snapshot", {
        query: { dc: options.datacenter || undefined, stale: options.stale ? "" : undefined },
        ...signalOf(options),
        maxResponseBytes: Math.max(this.#maxResponseBytes, SNAPSHOT_ARCHIVE_MAX_BYTES),
      }),
    );
    return { archive: res.body, index: res.index ?? 0 };
  }

  /** `PUT /v1/snapshot`: replaces the cluster's state with the archive's (api.Snapshot.Restore). */
  async snapshotRestore(archive: Uint8Array, options: WriteOptions = {}): Promise<void> {
    await this.#ok("PUT", "/v1/snapshot", {
      query: { dc: options.datacenter || undefined },
      body: archive,
      ...signalOf(options),
    });
  }
}

function blockingQuery(options: BlockingReadOptions): QueryParams {
  return {
    index: options.waitIndex ? String(options.waitIndex) : undefined,
    wait: options.waitMs ? `${Math.floor(options.waitMs)}ms` : undefined,
    consistent: options.consistent ? "" : undefined,
  };
}

function signalOf(options: { signal?: AbortSignal }): { signal?: AbortSignal } {
  return options.signal ? { signal: options.signal } : {};
}

/** node's header object as the WHATWG Headers the responses carry. */
function toHeaders(raw: IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else headers.set(name, value);
  }
  return headers;
}
