/**
 * What the catalog stores under each key (design.md "Key layout"), and the key layout itself.
 * Records are Consul's JSON shapes without their indexes: `CreateIndex`/`ModifyIndex` are the
 * store's create/mod revisions, filled in when a record is read.
 *
 * Names in keys are URI-encoded so a service id containing `/` cannot be confused with the
 * separator. Consul matches node and service names case-insensitively; keys keep the case the
 * user registered and the view indexes lowercased names.
 *
 * @module
 */
import type { HealthCheck, Node, NodeService, Session, UserEvent } from "./types.js";
import type { PreparedQuery } from "./prepared-query-types.js";

type WithoutIndexes<T> = Omit<T, "CreateIndex" | "ModifyIndex">;

export type NodeRecord = WithoutIndexes<Node>;
/** A service instance; `Node` names the node it runs on. */
export type ServiceRecord = WithoutIndexes<NodeService> & { Node: string };
export type CheckRecord = WithoutIndexes<HealthCheck>;
export type SessionRecord = WithoutIndexes<Session> & {
  /** The store lease that carries the TTL, when the session has one. */
  Lease?: string;
};
export type EventRecord = UserEvent;
export type QueryRecord = WithoutIndexes<PreparedQuery>;

export interface KvRecord {
  Key: string;
  /** uint64: a number while exact, the decimal text past 2^53 (see catalog/kv.ts). */
  Flags: number | string;
  Value: string | null;
  LockIndex: number;
  Session?: string;
  /**
   * The locking session's Behavior and LockDelay (ns), copied onto the key when it is locked, so
   * the lock can be released the session's way even after the session's record is gone (a crash
   * mid-destroy, an etcd lease that expired while no agent ran). Never shown to clients.
   */
  LockBehavior?: "release" | "delete";
  LockDelayNs?: number;
  /** Epoch ms before which no session may acquire the key (lock-delay after an invalidation). */
  LockDelayUntil?: number;
}

/** An agent that joined the cluster: the source of `agent/members` and of `serfHealth`. */
export interface AgentRecord {
  Node: string;
  ID: string;
  Addr: string;
  Port: number;
  Datacenter: string;
  Tags: Record<string, string>;
  /** Set when the agent left gracefully (`augur leave`); absent while it is a member. */
  LeftAt?: number;
}

export const PREFIX = {
  nodes: "nodes/",
  services: "services/",
  checks: "checks/",
  kv: "kv/",
  sessions: "sessions/",
  events: "events/",
  agents: "agents/",
  alive: "alive/",
  queries: "queries/",
  /** ACL tokens, policies and roles (catalog/acl-store.ts): `acl/token/<accessor>`, ... */
  acl: "acl/",
} as const;

const enc = encodeURIComponent;

export const keys = {
  node: (node: string): string => `${PREFIX.nodes}${enc(node)}`,
  servicesOf: (node: string): string => `${PREFIX.services}${enc(node)}/`,
  service: (node: string, id: string): string => `${PREFIX.services}${enc(node)}/${enc(id)}`,
  checksOf: (node: string): string => `${PREFIX.checks}${enc(node)}/`,
  check: (node: string, id: string): string => `${PREFIX.checks}${enc(node)}/${enc(id)}`,
  kv: (key: string): string => `${PREFIX.kv}${key}`,
  session: (id: string): string => `${PREFIX.sessions}${id}`,
  /** Events sort by a zero-padded sequence so the oldest is first. */
  event: (seq: number): string => `${PREFIX.events}${String(seq).padStart(16, "0")}`,
  agent: (node: string): string => `${PREFIX.agents}${enc(node)}`,
  alive: (node: string): string => `${PREFIX.alive}${enc(node)}`,
  /** Prepared queries by their generated UUID (never user text, so never encoded). */
  query: (id: string): string => `${PREFIX.queries}${id}`,
  /** When a live agent first saw this member failed (not part of the view: only the reaper reads it). */
  failed: (node: string): string => `${FAILED_PREFIX}${enc(node)}`,
};

/** Failure marks, `{ FailedAt }` in epoch ms, kept outside PREFIX so the view ignores them. */
export const FAILED_PREFIX = "failed/";

export interface FailedMark {
  readonly FailedAt: number;
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

export function encodeRecord(value: unknown): Uint8Array {
  return textEncoder.encode(JSON.stringify(value));
}

export function decodeRecord<T>(bytes: Uint8Array): T {
  return JSON.parse(textDecoder.decode(bytes)) as T;
}

/** True when two records would serialise the same: unchanged writes are skipped, as Consul does. */
export function sameRecord(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
