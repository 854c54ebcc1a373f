/**
 * Reads `X-Consul-Index` from every read endpoint that returns one, after a fixed workload of
 * writes and deletes, for the "indexes never go backwards" tests.
 *
 * @module
 */
import assert from "node:assert/strict";

/** The read endpoints probed; each must answer with an X-Consul-Index. */
export const INDEXED_ENDPOINTS = [
  "/v1/kv/mono/a/1",
  "/v1/kv/mono/a/2",
  "/v1/kv/mono/gone",
  "/v1/kv/mono/a/?recurse",
  "/v1/kv/mono/?keys",
  "/v1/kv/mono/b/?recurse",
  "/v1/catalog/nodes",
  "/v1/catalog/services",
  "/v1/catalog/service/web",
  "/v1/catalog/service/db",
  "/v1/catalog/node/ext1",
  "/v1/catalog/node/ext2",
  "/v1/health/service/web",
  "/v1/health/service/db",
  "/v1/health/checks/web",
  "/v1/health/node/ext1",
  "/v1/health/state/any",
  "/v1/health/state/critical",
  "/v1/session/list",
  "/v1/session/node/ext1",
];

async function call(url: string, method: string, path: string, body?: unknown): Promise<Response> {
  const res = await fetch(`${url}${path}`, {
    method,
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${await res.clone().text()}`);
  return res;
}

/**
 * Writes, then deletes, so that many endpoints' last change is a deletion (the index a view can
 * only know from memory): a KV key under a prefix and a whole prefix, a service, a check, a node,
 * a session. Also fires an event.
 */
export async function writeThenDelete(url: string): Promise<void> {
  const check = (node: string, id: string, service?: string): unknown => ({
    Node: node,
    CheckID: id,
    Name: id,
    Status: "passing",
    ...(service ? { ServiceID: service } : {}),
  });
  await call(url, "PUT", "/v1/catalog/register", {
    Node: "ext1",
    Address: "10.0.0.1",
    Service: { ID: "web1", Service: "web", Port: 80 },
    Checks: [check("ext1", "web-alive", "web1"), check("ext1", "disk")],
  });
  await call(url, "PUT", "/v1/catalog/register", {
    Node: "ext2",
    Address: "10.0.0.2",
    Service: { ID: "db1", Service: "db", Port: 5432 },
  });
  for (const k of ["a/1", "a/2", "b/1", "b/2", "gone"])
    await call(url, "PUT", `/v1/kv/mono/${k}`, k);
  const session = (
    (await (
      await call(url, "PUT", "/v1/session/create", { Node: "ext1", NodeChecks: [] })
    ).json()) as { ID: string }
  ).ID;
  await call(url, "PUT", "/v1/event/fire/mono", "x");

  await call(url, "DELETE", "/v1/kv/mono/a/2");
  await call(url, "DELETE", "/v1/kv/mono/b/?recurse");
  await call(url, "DELETE", "/v1/kv/mono/gone");
  await call(url, "PUT", "/v1/catalog/deregister", { Node: "ext1", ServiceID: "web1" });
  await call(url, "PUT", "/v1/catalog/deregister", { Node: "ext1", CheckID: "disk" });
  await call(url, "PUT", "/v1/catalog/deregister", { Node: "ext2" });
  await call(url, "PUT", `/v1/session/destroy/${session}`);
}

export interface IndexSnapshot {
  readonly indexes: Map<string, number>;
  /** `/v1/event/list`'s index: Consul's hash of the last event's ID, not an ordered number. */
  readonly eventIndex: string;
}

export async function readIndexes(url: string): Promise<IndexSnapshot> {
  const indexes = new Map<string, number>();
  for (const path of INDEXED_ENDPOINTS) {
    const res = await fetch(`${url}${path}`);
    await res.arrayBuffer();
    const header = res.headers.get("x-consul-index");
    assert.ok(header !== null, `${path} answers an X-Consul-Index`);
    const index = Number(header);
    assert.ok(index >= 1, `${path}: the index is never 0 (got ${header})`);
    indexes.set(path, index);
  }
  const events = await fetch(`${url}/v1/event/list?name=mono`);
  await events.arrayBuffer();
  return { indexes, eventIndex: events.headers.get("x-consul-index") ?? "" };
}

/** Every index in `later` is ≥ the one in `earlier`; the event index is the same. */
export function assertNotBackwards(
  earlier: IndexSnapshot,
  later: IndexSnapshot,
  what: string,
): void {
  const backwards = [...earlier.indexes]
    .filter(([path, index]) => (later.indexes.get(path) ?? 0) < index)
    .map(([path, index]) => `${path}: ${index} -> ${later.indexes.get(path)}`);
  assert.deepEqual(backwards, [], `${what}: indexes went backwards`);
  assert.equal(
    later.eventIndex,
    earlier.eventIndex,
    `${what}: the event list's index (the last event's ID) is unchanged`,
  );
}
