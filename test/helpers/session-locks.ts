/**
 * Helpers for session/lock crash tests: take many locks through `/v1/txn`, and read back which
 * keys name which session.
 *
 * @module
 */
import assert from "node:assert/strict";

/** Consul's own `/v1/txn` limit is 64 ops; stay under it. */
const TXN_OPS = 64;

export async function createSession(
  url: string,
  body: Record<string, unknown> = {},
): Promise<string> {
  const res = await fetch(`${url}/v1/session/create`, {
    method: "PUT",
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 200, await res.clone().text());
  return ((await res.json()) as { ID: string }).ID;
}

/** Locks `count` keys `<prefix>k00000`... for `session`, 64 per transaction. */
export async function lockKeys(
  url: string,
  prefix: string,
  session: string,
  count: number,
): Promise<void> {
  for (let i = 0; i < count; i += TXN_OPS) {
    const ops = [];
    for (let j = i; j < Math.min(count, i + TXN_OPS); j++) {
      ops.push({
        KV: {
          Verb: "lock",
          Key: `${prefix}k${String(j).padStart(5, "0")}`,
          Value: Buffer.from(`v${j}`).toString("base64"),
          Session: session,
        },
      });
    }
    const res = await fetch(`${url}/v1/txn`, { method: "PUT", body: JSON.stringify(ops) });
    assert.equal(res.status, 200, await res.clone().text());
  }
}

/** Every key under `prefix` with the session holding it (undefined when free). */
export async function keyHolders(
  url: string,
  prefix: string,
): Promise<Map<string, string | undefined>> {
  const res = await fetch(`${url}/v1/kv/${prefix}?recurse`);
  if (res.status === 404) return new Map();
  const pairs = (await res.json()) as { Key: string; Session?: string }[];
  return new Map(pairs.map((p) => [p.Key, p.Session]));
}

export async function sessionIds(url: string): Promise<Set<string>> {
  const list = (await (await fetch(`${url}/v1/session/list`)).json()) as { ID: string }[];
  return new Set(list.map((s) => s.ID));
}

/** Keys naming a session that does not exist: must always be none. */
export async function orphanedLocks(url: string, prefix: string): Promise<string[]> {
  const holders = await keyHolders(url, prefix);
  const live = await sessionIds(url);
  return [...holders].filter(([, s]) => s !== undefined && !live.has(s)).map(([k]) => k);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
