/**
 * Snapshots past the API's 1 MiB body limit: what `snapshot save` writes, `snapshot restore`
 * takes back (the restore's own limit is the archive's largest possible size), and such a body is
 * read only from a caller the restore would accept.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { request } from "node:http";
import { ConsulClient } from "../../src/client/consul-client.js";
import { SNAPSHOT_ARCHIVE_MAX_BYTES } from "../../src/catalog/snapshot-archive.js";
import { aclDenyByDefault, startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";

const MIB = 1024 * 1024;

/** Sends the headers and the first bytes of a body it announces as `length`, and waits for the answer. */
function partialUpload(
  url: string,
  path: string,
  length: number,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}${path}`,
      { method: "PUT", headers: { "Content-Length": String(length), ...headers } },
      (res) => {
        let body = "";
        res.setEncoding("utf8").on("data", (d: string) => (body += d));
        res.on("end", () => {
          resolve({ status: res.statusCode ?? 0, body });
          req.destroy();
        });
      },
    );
    req.on("error", (err) => (err.message.includes("socket hang up") ? undefined : reject(err)));
    // The rest of the body never comes: an answer can only be one given before reading it.
    req.write(Buffer.alloc(1024));
    // An agent waiting for the rest is a failed assertion, not a hung test.
    setTimeout(() => {
      resolve({ status: 0, body: "no answer: the agent is waiting for the body" });
      req.destroy();
    }, 10_000).unref();
  });
}

describe("snapshot - archives past 16 MiB", () => {
  let a: TestAgent;
  before(async () => (a = await startTestAgent()));
  after(() => a.stop());

  it("a snapshot of 24 MiB of incompressible values is saved and restored through the client", async () => {
    const values = new Map<string, Buffer>();
    for (let i = 0; i < 48; i++) {
      const value = randomBytes(500 * 1024);
      values.set(`big/${i}`, value);
      assert.equal((await a.call("PUT", `/v1/kv/big/${i}`, value)).status, 200);
    }
    const client = new ConsulClient({ address: a.url });
    const saved = await client.snapshotSave();
    assert.ok(saved.archive.length > 24 * MIB, `archive of ${saved.archive.length} bytes`);
    assert.equal((await a.call("DELETE", "/v1/kv/big/?recurse")).status, 200);
    assert.equal((await a.call("GET", "/v1/kv/big/0")).status, 404);

    await client.snapshotRestore(saved.archive);
    for (const [key, value] of values) {
      const res = await a.call("GET", `/v1/kv/${key}?raw`);
      assert.equal(res.status, 200, key);
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(value), key);
    }
  });

  it("past the archive's largest size: 413 from the announced length, before the body", async () => {
    const over = await partialUpload(a.url, "/v1/snapshot", SNAPSHOT_ARCHIVE_MAX_BYTES + 1);
    assert.equal(over.status, 413);
    assert.match(over.body, /Request body too large/);
  });

  it("one large upload at a time: a second while the first is still sending is a 429; the slot frees when the first client goes", async () => {
    const first = request(`${a.url}/v1/snapshot`, {
      method: "PUT",
      headers: { "Content-Length": String(100 * MIB) },
    });
    first.on("error", () => undefined);
    first.write(Buffer.alloc(1024));
    // A round trip on another connection: the first upload's headers, sent before it, are in.
    assert.equal((await a.call("GET", "/v1/status/leader")).status, 200);
    const second = await partialUpload(a.url, "/v1/snapshot", 100 * MIB);
    assert.equal(second.status, 429);
    assert.match(second.body, /still sending its body/);
    first.destroy();
    const client = new ConsulClient({ address: a.url });
    let restored = false;
    const end = Date.now() + 10_000;
    while (!restored && Date.now() < end) {
      restored = await client
        .snapshotSave()
        .then(
          (saved) => client.snapshotRestore(saved.archive).then(() => true),
          () => false,
        )
        .catch(() => false);
    }
    assert.ok(restored, "a restore goes through once the first upload is gone");
  });

  it("other routes keep the 16 MiB limit", async () => {
    const kv = await partialUpload(a.url, "/v1/kv/x", 16 * MIB + 1);
    assert.equal(kv.status, 413);
  });
});

describe("snapshot - a large body under ACLs", () => {
  const MANAGEMENT = "5f0d1f6c-4cf3-4a4e-9b43-1b2a6b0a9c11";
  let a: TestAgent;
  before(async () => (a = await startTestAgent({ acl: aclDenyByDefault(MANAGEMENT) })));
  after(() => a.stop());

  it("an anonymous restore is refused with 403 before its 200 MiB body is read", async () => {
    const denied = await partialUpload(a.url, "/v1/snapshot", 200 * MIB);
    assert.equal(denied.status, 403);
    assert.match(denied.body, /Permission denied/);
    // A bodiless restore is checked too (it never reaches the pre-body check).
    assert.equal((await a.call("PUT", "/v1/snapshot")).status, 403);
  });

  it("the management token's restore gets past the check (and fails on its truncated body, not on permission)", async () => {
    const client = new ConsulClient({ address: a.url, token: MANAGEMENT });
    const saved = await client.snapshotSave();
    await client.snapshotRestore(saved.archive);
    const bad = await a.call("PUT", "/v1/snapshot", Buffer.from("not an archive"), {
      "X-Consul-Token": MANAGEMENT,
    });
    assert.equal(bad.status, 500);
  });
});
