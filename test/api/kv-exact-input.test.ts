/**
 * Exact input handling for KV: `Flags` are uint64 end to end (kv PUT ?flags=, txn Flags, GET's
 * JSON, `augur kv get -detailed`), bad flags get Consul's errors, and txn values must be Go's
 * strict standard base64.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";
import { AUGUR_BIN } from "../helpers/agent-process.js";

const BIG = [
  "18446744073709551615",
  "9007199254740993",
  "9007199254740992",
  "12345678901234567890",
];

void describe("kv - exact uint64 flags and strict txn base64", () => {
  let agent: TestAgent;
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "augur-flags-"));
    // A data dir: records go through the on-disk store's encoding.
    agent = await startTestAgent({ dev: false, dataDir: dir });
  });
  after(async () => {
    await agent.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** Async: the agent runs in this process and must keep answering while the CLI waits. */
  const augur = (
    args: string[],
  ): Promise<{ status: number | null; stdout: string; stderr: string }> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [AUGUR_BIN, ...args], {
        env: {
          ...process.env,
          CONSUL_HTTP_ADDR: agent.url.replace("http://", ""),
          AUGUR_HTTP_ADDR: "",
        },
      });
      let stdout = "";
      let stderr = "";
      child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
      child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
      child.on("error", reject);
      child.on("close", (status) => resolve({ status, stdout, stderr }));
    });

  const text = async (
    method: string,
    path: string,
    body?: string | object,
  ): Promise<{ status: number; body: string }> => {
    const res = await agent.call(method, path, body);
    return { status: res.status, body: await res.text() };
  };

  for (const flags of BIG) {
    test(`kv PUT ?flags=${flags} comes back exactly in GET's JSON`, async () => {
      assert.deepEqual(await text("PUT", `/v1/kv/f/${flags}?flags=${flags}`, "v"), {
        status: 200,
        body: "true",
      });
      const got = await text("GET", `/v1/kv/f/${flags}`);
      assert.equal(got.status, 200);
      assert.match(got.body, new RegExp(`"Flags":${flags},`));
      assert.match(
        (await text("GET", `/v1/kv/f/${flags}?pretty`)).body,
        new RegExp(`"Flags": ${flags},`),
      );
      assert.match((await text("GET", `/v1/kv/f/?recurse`)).body, new RegExp(`"Flags":${flags},`));
    });
  }

  test("kv recurse - one huge Flags value among many keys (the chunked encoder's path) is exact, compact and ?pretty", async () => {
    const txn = Array.from({ length: 64 }, (_, i) => ({
      KV: { Verb: "set", Key: `many/${String(i).padStart(3, "0")}`, Value: "dg==" },
    }));
    for (let base = 0; base < 192; base += 64) {
      const res = await agent.call(
        "PUT",
        "/v1/txn",
        txn.map((op, i) => ({
          KV: { ...op.KV, Key: `many/${String(base + i).padStart(3, "0")}` },
        })),
      );
      assert.equal(res.status, 200);
    }
    assert.equal(
      await (await agent.call("PUT", "/v1/kv/many/big?flags=18446744073709551615", "x")).text(),
      "true",
    );
    for (const [query, spelled] of [
      ["", '"Flags":18446744073709551615'],
      ["&pretty", '"Flags": 18446744073709551615'],
    ] as const) {
      const res = await agent.call("GET", `/v1/kv/many/?recurse${query}`);
      assert.equal(res.status, 200, `recurse${query}`);
      assert.ok((await res.text()).includes(spelled), `recurse${query} keeps the exact number`);
    }
  });

  test("kv PUT - small flags stay plain numbers", async () => {
    await text("PUT", "/v1/kv/small?flags=42", "v");
    assert.equal(
      (JSON.parse((await text("GET", "/v1/kv/small")).body) as { Flags: number }[])[0]?.Flags,
      42,
    );
  });

  for (const [raw, why] of [
    ["18446744073709551616", "value out of range"],
    ["abc", "invalid syntax"],
    ["-1", "invalid syntax"],
    ["", "invalid syntax"],
  ] as const) {
    test(`kv PUT ?flags=${raw} is Consul's strconv error`, async () => {
      const res = await text("PUT", `/v1/kv/bad?flags=${raw}`, "v");
      assert.equal(res.status, 500);
      assert.equal(res.body, `strconv.ParseUint: parsing ${JSON.stringify(raw)}: ${why}`);
      assert.equal((await text("GET", "/v1/kv/bad")).status, 404);
    });
  }

  for (const [raw, why] of [
    ["18446744073709551616", "value out of range"],
    ["1.5", "invalid syntax"],
    ["-1", "invalid syntax"],
    ["", "invalid syntax"],
  ] as const) {
    test(`kv PUT and DELETE ?cas=${raw} is Consul's strconv error`, async () => {
      await text("PUT", "/v1/kv/casbad", "v");
      for (const method of ["PUT", "DELETE"]) {
        const res = await text(method, `/v1/kv/casbad?cas=${raw}`, "w");
        assert.equal(res.status, 500, method);
        assert.equal(res.body, `strconv.ParseUint: parsing ${JSON.stringify(raw)}: ${why}`);
      }
      assert.equal((await text("GET", "/v1/kv/casbad?raw")).body, "v");
    });
  }

  test("kv DELETE without a key names the missing key before a bad cas, as Consul", async () => {
    const res = await text("DELETE", "/v1/kv/?cas=abc");
    assert.deepEqual([res.status, res.body], [400, "Missing key name"]);
  });

  test("txn - KV Flags are exact uint64 in sets and in get results", async () => {
    const body = `[{"KV":{"Verb":"set","Key":"t/a","Value":"YQ==","Flags":18446744073709551615}},{"KV":{"Verb":"set","Key":"t/b","Value":"Yg==","flags":9007199254740993}}]`;
    assert.equal((await text("PUT", "/v1/txn", body)).status, 200);
    const got = await text("PUT", "/v1/txn", [{ KV: { Verb: "get-tree", Key: "t/" } }]);
    assert.equal(got.status, 200);
    assert.match(got.body, /"Key":"t\/a","Flags":18446744073709551615,/);
    assert.match(got.body, /"Key":"t\/b","Flags":9007199254740993,/);
    assert.match((await text("GET", "/v1/kv/t/b")).body, /"Flags":9007199254740993,/);
  });

  for (const [flags, what] of [
    ["-1", "number -1"],
    ["18446744073709551616", "number 18446744073709551616"],
    ['"5"', "string"],
    ["1.5", "number 1.5"],
  ] as const) {
    test(`txn - Flags ${flags} is refused as Go's decoder refuses it`, async () => {
      const res = await text(
        "PUT",
        "/v1/txn",
        `[{"KV":{"Verb":"set","Key":"t/x","Flags":${flags}}}]`,
      );
      assert.equal(res.status, 400);
      assert.equal(
        res.body,
        `Failed to parse body: json: cannot unmarshal ${what} into Go struct field KVTxnOp.KV.Flags of type uint64`,
      );
    });
  }

  // Offsets checked against Go 1.19's base64.StdEncoding.DecodeString.
  for (const [value, offset] of [
    ["YWI", 0],
    ["YW Jj", 2],
    ["YWJj====", 4],
    ["YWI=YWI=", 4],
    ["aGVsbG8-d29ybGQ_", 7],
    ["YQ=", 3],
    ["Y", 0],
    ["éA==", 0],
  ] as const) {
    test(`txn - Value ${JSON.stringify(value)} is not strict base64: 400 at byte ${offset}, nothing written`, async () => {
      const res = await text("PUT", "/v1/txn", [
        { KV: { Verb: "set", Key: "b64/bad", Value: value } },
      ]);
      assert.equal(res.status, 400);
      assert.equal(res.body, `Failed to parse body: illegal base64 data at input byte ${offset}`);
      assert.equal((await text("GET", "/v1/kv/b64/bad")).status, 404);
    });
  }

  test("txn - Go skips \\r and \\n inside base64, and so does augur", async () => {
    assert.equal(
      (await text("PUT", "/v1/txn", [{ KV: { Verb: "set", Key: "b64/nl", Value: "YW\nJj\r\n" } }]))
        .status,
      200,
    );
    assert.equal((await text("GET", "/v1/kv/b64/nl?raw")).body, "abc");
  });

  test("augur kv get -detailed prints exact flags", async () => {
    await text("PUT", "/v1/kv/cli/big?flags=18446744073709551615", "v");
    const run = await augur(["kv", "get", "-detailed", "cli/big"]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^Flags +18446744073709551615$/m);
  });

  test("augur kv put -flags stores exact flags", async () => {
    const run = await augur(["kv", "put", "-flags=9007199254740993", "cli/put", "v"]);
    assert.equal(run.status, 0, run.stderr);
    assert.match((await text("GET", "/v1/kv/cli/put")).body, /"Flags":9007199254740993,/);
  });
});
