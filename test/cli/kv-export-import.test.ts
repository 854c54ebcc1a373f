/**
 * `augur kv export` and `augur kv import` as real child processes against a real
 * `augur agent -dev`: Consul's JSON format, an exact round trip of binary values and uint64
 * flags, `-prefix`, and Go's decoder texts for bad input.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";
import { runAugur, type AugurRun } from "../helpers/augur-cli.js";
import { ConsulClient } from "../../src/client/index.js";

const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const MAX_U64 = 18446744073709551615n;
const LOCK_FLAG = 0x2ddccbc058a50c18n;

void describe("augur kv export / import", () => {
  let agent: AgentProcess;
  let dir: string;
  let client: ConsulClient;
  let env: NodeJS.ProcessEnv;
  const run = (args: string[], input?: string | Buffer): Promise<AugurRun> =>
    runAugur(args, env, input);

  before(async () => {
    agent = await startAgentProcess();
    dir = await mkdtemp(join(tmpdir(), "augur-kvexp-"));
    env = { CONSUL_HTTP_ADDR: agent.httpAddr };
    client = new ConsulClient({ address: agent.httpAddr, env: {} });
  });
  after(async () => {
    await agent.stop();
    await rm(dir, { recursive: true, force: true });
  });

  void test("export - Consul's tab-indented array of key, flags, base64 value; uint64 flags exact", async () => {
    await client.kvPut("exp/a", "hello", { flags: "42" });
    await client.kvPut("exp/b<&>", "", { flags: MAX_U64 });
    const r = await run(["kv", "export", "/exp/"]);
    assert.equal(r.stderr, "");
    assert.equal(r.code, 0);
    assert.equal(
      r.stdout,
      [
        "[",
        "\t{",
        '\t\t"key": "exp/a",',
        '\t\t"flags": 42,',
        '\t\t"value": "aGVsbG8="',
        "\t},",
        "\t{",
        '\t\t"key": "exp/b\\u003c\\u0026\\u003e",',
        '\t\t"flags": 18446744073709551615,',
        '\t\t"value": ""',
        "\t}",
        "]",
        "",
      ].join("\n"),
    );
    assert.deepEqual(await run(["kv", "export", "nothing-here/"]), {
      code: 0,
      signal: null,
      stdout: "[]\n",
      stderr: "",
    });
  });

  void test("export then import - binary values and big flags come back byte for byte", async () => {
    await client.kvPut("rt/bin", ALL_BYTES, { flags: LOCK_FLAG });
    await client.kvPut("rt/empty", "");
    await client.kvPut("rt/dir/", "", { flags: "9007199254740993" });
    await client.kvPut("rt/text", "plain");
    const exported = await run(["kv", "export", "rt/"]);
    assert.equal(exported.code, 0, exported.stderr);
    const before = await client.kvList("rt/");

    await client.kvDelete("rt/", { recurse: true });
    assert.deepEqual(await client.kvList("rt/"), []);
    const file = join(dir, "rt.json");
    await writeFile(file, exported.stdout);
    const imported = await run(["kv", "import", `@${file}`]);
    assert.equal(imported.stderr, "");
    assert.equal(imported.code, 0);
    assert.equal(
      imported.stdout,
      "Imported: rt/bin\nImported: rt/dir/\nImported: rt/empty\nImported: rt/text\n",
    );
    const after = await client.kvList("rt/");
    const strip = (pairs: typeof before): unknown[] =>
      pairs.map(({ Key, Flags, Value }) => ({ Key, Flags, Value }));
    assert.deepEqual(strip(after), strip(before));
    assert.deepEqual(Buffer.from(after[0]?.Value ?? "", "base64"), ALL_BYTES);
    assert.equal(after[0]?.Flags, LOCK_FLAG);
    assert.equal(after[1]?.Flags, 9007199254740993n);

    // The same document from stdin, under -prefix: the directory key keeps its slash.
    const under = await run(["kv", "import", "-prefix=copy", "-"], exported.stdout);
    assert.equal(under.code, 0, under.stderr);
    assert.match(under.stdout, /^Imported: copy\/rt\/bin\nImported: copy\/rt\/dir\/\n/);
    assert.deepEqual(
      strip(await client.kvList("copy/")).map((p) => (p as { Flags: unknown }).Flags),
      [LOCK_FLAG, 9007199254740993n, 0, 0],
    );
  });

  void test("import - the data as an argument; key names joined as Go's path.Join", async () => {
    const r = await run([
      "kv",
      "import",
      "-prefix=p//",
      '[{"key":"x//y","flags":1,"value":"eA=="},{"Key":"z","FLAGS":2,"value":"eg==","extra":true}]',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "Imported: p/x/y\nImported: p/z\n");
    const z = await client.kvGet("p/z");
    assert.equal(z?.Flags, 2);
  });

  void test("import - bad input gets Consul's texts and exit 1", async () => {
    const cases: [string[], string][] = [
      [["kv", "import"], "Error! Missing DATA argument\n"],
      [["kv", "import", ""], "Error! Empty DATA argument\n"],
      [["kv", "import", "a", "b"], "Error! Too many arguments (expected 1, got 2)\n"],
      [
        ["kv", "import", "@/nonexistent/file.json"],
        "Error! Failed to read file: ENOENT: no such file or directory, open '/nonexistent/file.json'\n",
      ],
      [
        ["kv", "import", "nope"],
        "Cannot unmarshal data: invalid character 'o' in literal null (expecting 'u')\n",
      ],
      [
        ["kv", "import", '[{"key":"a"},]'],
        "Cannot unmarshal data: invalid character ']' looking for beginning of value\n",
      ],
      [
        ["kv", "import", '{"key":"a"}'],
        "Cannot unmarshal data: json: cannot unmarshal object into Go value of type []*impexp.Entry\n",
      ],
      [
        ["kv", "import", '["a"]'],
        "Cannot unmarshal data: json: cannot unmarshal string into Go value of type impexp.Entry\n",
      ],
      [
        ["kv", "import", '[{"key":"a","flags":-1}]'],
        "Cannot unmarshal data: json: cannot unmarshal number -1 into Go struct field Entry.flags of type uint64\n",
      ],
      [
        ["kv", "import", '[{"key":"a","flags":18446744073709551616}]'],
        "Cannot unmarshal data: json: cannot unmarshal number 18446744073709551616 into Go struct field Entry.flags of type uint64\n",
      ],
      [
        ["kv", "import", '[{"key":"a","flags":"1"}]'],
        "Cannot unmarshal data: json: cannot unmarshal string into Go struct field Entry.flags of type uint64\n",
      ],
      [
        ["kv", "import", '[{"key":7}]'],
        "Cannot unmarshal data: json: cannot unmarshal number into Go struct field Entry.key of type string\n",
      ],
      [
        ["kv", "import", '[{"key":"bad64","value":"!!!!"}]'],
        "Error base 64 decoding value for key bad64: illegal base64 data at input byte 0\n",
      ],
    ];
    for (const [args, stderr] of cases) {
      const r = await run(args);
      assert.deepEqual(
        { code: r.code, stdout: r.stdout, stderr: r.stderr },
        { code: 1, stdout: "", stderr },
        args.join(" "),
      );
    }
    assert.equal(await client.kvGet("bad64"), undefined);
  });

  void test("import - a key the agent refuses stops the import after the ones before it", async () => {
    const r = await run(["kv", "import", '[{"key":"ok1","value":""},{"key":"","value":""}]']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "Imported: ok1\n");
    assert.equal(
      r.stderr,
      "Error! Failed writing data for key : Unexpected response code: 400 (Missing key name)\n",
    );
  });
});
