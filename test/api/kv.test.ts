import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";

describe("kv", () => {
  let a: TestAgent;
  before(async () => (a = await startTestAgent()));
  after(async () => a.stop());

  it("kv - put then get returns the value as base64 with indexes and headers", async () => {
    const put = await a.call("PUT", "/v1/kv/app/config?flags=42", "hello");
    assert.equal(put.status, 200);
    assert.equal(put.headers.get("content-type"), "application/json");
    assert.equal(await put.text(), "true");
    const res = await a.call("GET", "/v1/kv/app/config");
    assert.equal(res.status, 200);
    const [pair] = (await res.json()) as {
      Key: string;
      Value: string;
      Flags: number;
      CreateIndex: number;
      ModifyIndex: number;
      LockIndex: number;
    }[];
    assert.ok(pair);
    assert.equal(pair.Key, "app/config");
    assert.equal(Buffer.from(pair.Value, "base64").toString(), "hello");
    assert.equal(pair.Flags, 42);
    assert.equal(pair.LockIndex, 0);
    assert.equal(res.headers.get("x-consul-index"), String(pair.ModifyIndex));
    assert.equal(res.headers.get("x-consul-knownleader"), "true");
    assert.equal(res.headers.get("x-consul-lastcontact"), "0");
  });

  it("kv - an empty PUT body stores a null value", async () => {
    await a.call("PUT", "/v1/kv/empty", "");
    const [pair] = (await (await a.call("GET", "/v1/kv/empty")).json()) as { Value: unknown }[];
    assert.equal(pair?.Value, null);
  });

  it("kv - a missing key is a 404 with an empty body and the index headers", async () => {
    const res = await a.call("GET", "/v1/kv/nope/not/here");
    assert.equal(res.status, 404);
    assert.equal(await res.text(), "");
    assert.ok(Number(res.headers.get("x-consul-index")) >= 1);
  });

  it("kv - raw returns the bytes", async () => {
    await a.call("PUT", "/v1/kv/raw/k", "bytes<&>");
    const res = await a.call("GET", "/v1/kv/raw/k?raw");
    assert.equal(await res.text(), "bytes<&>");
  });

  it("kv - recurse lists a prefix in key order and keys+separator folds subtrees", async () => {
    for (const k of ["tree/b", "tree/a", "tree/c/d", "tree/c/e", "treetop"])
      await a.call("PUT", `/v1/kv/${k}`, k);
    const rec = (await (await a.call("GET", "/v1/kv/tree/?recurse")).json()) as { Key: string }[];
    assert.deepEqual(
      rec.map((p) => p.Key),
      ["tree/a", "tree/b", "tree/c/d", "tree/c/e"],
    );
    const keys = await (await a.call("GET", "/v1/kv/tree/?keys&separator=/")).json();
    assert.deepEqual(keys, ["tree/a", "tree/b", "tree/c/"]);
    const none = await a.call("GET", "/v1/kv/nothing-under/?keys");
    assert.equal(none.status, 404);
  });

  it("kv - a recursive read's pairs are kept per record, and every write shows in the next read", async () => {
    type Pair = { Key: string; Value: string | null; Flags: number; Session?: string };
    const recurse = async (): Promise<Pair[]> =>
      (await (await a.call("GET", "/v1/kv/rec/?recurse")).json()) as Pair[];
    // Each listed pair equals what a GET of its key answers (built apart, with no shared cache).
    const agreesWithGets = async (pairs: Pair[]): Promise<void> => {
      for (const p of pairs) {
        const [one] = (await (await a.call("GET", `/v1/kv/${p.Key}`)).json()) as Pair[];
        assert.deepEqual(p, one, p.Key);
      }
    };
    await a.call("PUT", "/v1/kv/rec/a", "1");
    await a.call("PUT", "/v1/kv/rec/b", "2");
    await agreesWithGets(await recurse());
    // Unchanged records answer the same pair objects, read after read.
    const catalog = a.running.catalog;
    const [first] = catalog.kvPrefix("rec/").value;
    assert.ok(first);
    assert.equal(catalog.kvPrefix("rec/").value[0], first);

    const session = (
      (await (await a.call("PUT", "/v1/session/create", {})).json()) as { ID: string }
    ).ID;
    await a.call("PUT", "/v1/kv/rec/a", "3");
    await a.call("PUT", "/v1/kv/rec/b?flags=7", "2");
    await a.call("PUT", `/v1/kv/rec/a?acquire=${session}`, "4");
    const locked = await recurse();
    assert.deepEqual(
      locked.map((p) => [
        p.Key,
        Buffer.from(p.Value ?? "", "base64").toString(),
        p.Flags,
        p.Session,
      ]),
      [
        ["rec/a", "4", 0, session],
        ["rec/b", "2", 7, undefined],
      ],
    );
    assert.notEqual(catalog.kvPrefix("rec/").value[0], first, "a written key gets a new pair");
    await agreesWithGets(locked);
    await a.call("PUT", `/v1/kv/rec/a?release=${session}`, "5");
    await a.call("DELETE", "/v1/kv/rec/b");
    const released = await recurse();
    assert.deepEqual(
      released.map((p) => [p.Key, p.Session]),
      [["rec/a", undefined]],
    );
    await agreesWithGets(released);
  });

  it("kv - prefix reads stay in key order through inserts and deletes in random order", async () => {
    // A seeded shuffle: the order of writes is not the order of keys.
    let seed = 7;
    const random = (): number => (seed = (seed * 48271) % 0x7fffffff) / 0x7fffffff;
    const names = Array.from(
      { length: 400 },
      (_, i) => `ord/${String(i % 7)}/${(i * 7919) % 1000}`,
    );
    const shuffled = [...new Set(names)].sort(() => random() - 0.5);
    const kept = new Set<string>();
    for (const [i, key] of shuffled.entries()) {
      assert.equal((await a.call("PUT", `/v1/kv/${key}`, "v")).status, 200);
      kept.add(key);
      if (i % 5 === 4) {
        const gone = [...kept][Math.floor(random() * kept.size)] as string;
        assert.equal((await a.call("DELETE", `/v1/kv/${gone}`)).status, 200);
        kept.delete(gone);
      }
    }
    const sorted = [...kept].sort();
    assert.deepEqual(await (await a.call("GET", "/v1/kv/ord/?keys")).json(), sorted);
    const pairs = (await (await a.call("GET", "/v1/kv/ord/?recurse")).json()) as { Key: string }[];
    assert.deepEqual(
      pairs.map((p) => p.Key),
      sorted,
    );
    assert.deepEqual(
      await (await a.call("GET", "/v1/kv/ord/3/?keys")).json(),
      sorted.filter((k) => k.startsWith("ord/3/")),
    );
  });

  it("kv - cas=0 creates only when absent; cas=N writes only at that index", async () => {
    assert.equal(await (await a.call("PUT", "/v1/kv/cas/k?cas=0", "v1")).text(), "true");
    assert.equal(await (await a.call("PUT", "/v1/kv/cas/k?cas=0", "v2")).text(), "false");
    const [pair] = (await (await a.call("GET", "/v1/kv/cas/k")).json()) as {
      ModifyIndex: number;
    }[];
    assert.ok(pair);
    assert.equal(
      await (await a.call("PUT", `/v1/kv/cas/k?cas=${pair.ModifyIndex + 100}`, "v3")).text(),
      "false",
    );
    assert.equal(
      await (await a.call("PUT", `/v1/kv/cas/k?cas=${pair.ModifyIndex}`, "v3")).text(),
      "true",
    );
    assert.equal(await (await a.call("DELETE", `/v1/kv/cas/k?cas=1`)).text(), "false");
  });

  it("kv - delete and recursive delete", async () => {
    await a.call("PUT", "/v1/kv/del/a", "1");
    await a.call("PUT", "/v1/kv/del/b", "2");
    assert.equal(await (await a.call("DELETE", "/v1/kv/del/a")).text(), "true");
    assert.equal((await a.call("GET", "/v1/kv/del/a")).status, 404);
    assert.equal(await (await a.call("DELETE", "/v1/kv/del/missing")).text(), "true");
    await a.call("DELETE", "/v1/kv/del/?recurse");
    assert.equal((await a.call("GET", "/v1/kv/del/?recurse")).status, 404);
  });

  it("kv - bad requests get Consul's statuses and texts", async () => {
    const big = await a.call("PUT", "/v1/kv/big", Buffer.alloc(512 * 1024 + 1));
    assert.equal(big.status, 413);
    assert.equal(await big.text(), "Request body(524289 bytes) too large, max size: 524288 bytes.");
    // Past the server's 1 MiB read limit, refused from its Content-Length in the same words.
    const huge = await a.call("PUT", "/v1/kv/big", Buffer.alloc(4 * 1024 * 1024));
    assert.equal(huge.status, 413);
    assert.equal(
      await huge.text(),
      "Request body(4194304 bytes) too large, max size: 524288 bytes.",
    );
    const conflict = await a.call("PUT", "/v1/kv/x?cas=0&acquire=abc", "v");
    assert.equal(conflict.status, 400);
    assert.match(await conflict.text(), /^Conflicting flags: /);
    const missing = await a.call("GET", "/v1/kv/");
    assert.equal(missing.status, 400);
    assert.equal(await missing.text(), "Missing key name");
    const badIndex = await a.call("GET", "/v1/kv/app/config?index=abc");
    assert.equal(badIndex.status, 400);
    assert.equal(await badIndex.text(), "Invalid index");
    const badWait = await a.call("GET", "/v1/kv/app/config?index=1&wait=forever");
    assert.equal(badWait.status, 400);
    assert.equal(await badWait.text(), "Invalid wait time");
    const both = await a.call("GET", "/v1/kv/app/config?stale&consistent");
    assert.equal(both.status, 400);
    const dc = await a.call("GET", "/v1/kv/app/config?dc=elsewhere");
    assert.equal(dc.status, 500);
    assert.equal(await dc.text(), "No path to datacenter");
  });

  it("kv - ?pretty indents by 4 spaces with a trailing newline", async () => {
    const text = await (await a.call("GET", "/v1/kv/app/config?pretty")).text();
    assert.match(text, /^\[\n {4}\{\n {8}"LockIndex"/);
    assert.ok(text.endsWith("\n"));
  });
});
