/**
 * `main()` in-process, with captured streams: dispatch, usage errors and exit codes, and output
 * formats against a real local HTTP server answering as a Consul agent would (no augur agent
 * needed).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { main } from "../../src/cli/main.js";
import type { CliIo } from "../../src/cli/command.js";
import { COMMANDS } from "../../src/cli/commands/index.js";
import {
  closedPort,
  json,
  startServer,
  type Reply,
  type TestServer,
} from "../client/http-server.js";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(args: string[], env: NodeJS.ProcessEnv = {}, stdin = ""): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const io: CliIo = {
    stdout: { write: (c: string | Uint8Array) => (stdout += Buffer.from(c).toString()) },
    stderr: { write: (c: string | Uint8Array) => (stderr += Buffer.from(c).toString()) },
    stdin: Readable.from([Buffer.from(stdin)]),
    env,
  };
  const code = await main(args, { io });
  return { code, stdout, stderr };
}

void describe("augur dispatch and usage", () => {
  void test("no command - the command list on stderr, exit 127 (mitchellh/cli)", async () => {
    const r = await run([]);
    assert.equal(r.code, 127);
    assert.match(
      r.stderr,
      /^Usage: augur \[--version\] \[--help\] <command> \[<args>\]\n\nAvailable commands are:\n/,
    );
    // Names padded to the longest, `dev-cluster`.
    assert.match(r.stderr, /\n {4}kv {13}Interact with the key-value store\n/);
  });

  void test("unknown command - exit 127", async () => {
    assert.equal((await run(["frobnicate"])).code, 127);
  });

  void test("-h / --help - help on stdout, exit 0", async () => {
    const top = await run(["--help"]);
    assert.equal(top.code, 0);
    assert.match(top.stdout, /Available commands are:/);
    const sub = await run(["kv", "get", "foo", "-h"]);
    assert.equal(sub.code, 0);
    assert.match(sub.stdout, /^Usage: augur kv get \[options\] \[KEY_OR_PREFIX\]/);
    // Consul's order: its HTTP flags sorted, the TLS ones first.
    assert.match(sub.stdout, /\nHTTP API Options\n\n {2}-ca-file=<value>\n/);
    assert.match(sub.stdout, /\n {2}-client-cert=<value>\n/);
    assert.match(sub.stdout, /\n {2}-tls-server-name=<value>\n/);
    assert.match(sub.stdout, /\nCommand Options\n\n {2}-base64\n/);
  });

  void test("a group alone - its help and subcommands on stderr, exit 1", async () => {
    const r = await run(["kv"]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /Subcommands:\n {4}delete {4}Removes data from the KV store\n {4}export {4}Exports a tree/,
    );
  });

  void test("an unknown flag - Go's message and the command's usage on stderr, exit 1", async () => {
    const r = await run(["kv", "get", "-bogus", "foo"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^flag provided but not defined: -bogus\n\nUsage: augur kv get/);
    assert.equal(r.stdout, "");
  });

  void test("usage errors - Consul's texts, exit 1, nothing sent", async () => {
    const cases: [string[], string][] = [
      [["kv", "get"], "Error! Missing KEY argument\n"],
      [["kv", "get", "a", "b"], "Too many arguments (expected 1, got 2)\n"],
      [["kv", "put"], "Error! Missing KEY argument\n"],
      [["kv", "put", "k", "v", "x"], "Error! Too many arguments (expected 1 or 2, got 3)\n"],
      [
        ["kv", "put", "-acquire", "k"],
        "Error! Missing -session (required with -acquire and -release)\n",
      ],
      [
        ["kv", "delete", "-cas", "k"],
        "Cannot delete a key that does not exist. Provide a -modify-index greater than than 0.\n",
      ],
      [["kv", "delete", "-modify-index=3", "k"], "Cannot specify -modify-index without -cas!\n"],
      [
        ["kv", "delete", "-recurse", "-cas", "-modify-index=3", "k"],
        "Cannot specify both -cas and -recurse!\n",
      ],
      [["catalog", "nodes", "extra"], "Too many arguments (expected 0, got 1)\n"],
      [["services", "register"], "Service registration requires at least one argument or flags.\n"],
      [
        ["services", "register", "-name=web", "web.json"],
        "Service registration requires arguments or -id, not both.\n",
      ],
      [
        ["services", "register", "-name=web", "-tagged-address", "lan=10.0.0.1"],
        "Invalid Tagged Address: address 10.0.0.1: missing port in address\n",
      ],
      [
        ["services", "deregister"],
        "Service deregistration requires at least one argument or -id.\n",
      ],
      [["maint", "-enable", "-disable"], "Only one of -enable or -disable may be provided\n"],
      [["maint", "-reason=x"], "Reason may only be provided with -enable\n"],
      [["event", "-name=e", "-tag=t"], "Cannot provide tag filter without service filter.\n"],
      [["validate"], "Must specify at least one config file or directory\n"],
      [["version", "-format=xml"], "Unknown format: xml\n"],
    ];
    for (const [args, stderr] of cases) {
      const r = await run(args, { CONSUL_HTTP_ADDR: "127.0.0.1:9" });
      assert.deepEqual({ args, code: r.code, stderr: r.stderr }, { args, code: 1, stderr });
    }
  });

  void test("event without -name - the message then the usage, exit 1", async () => {
    const r = await run(["event"]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^Event name must be specified\n\nUsage: augur event \[options\] \[payload\]/,
    );
  });

  void test("version and -v - augur v<package version> and Consul's protocol line", async () => {
    const r = await run(["version"]);
    assert.equal(r.code, 0);
    assert.match(
      r.stdout,
      /^augur v\d+\.\d+\.\d+\nProtocol 2 spoken by default, understands 2 to 3 \(agent will automatically use protocol >2 when speaking to compatible agents\)\n\n$/,
    );
    assert.equal((await run(["-v"])).stdout, r.stdout);
    const j = JSON.parse((await run(["version", "-format=json"])).stdout) as {
      Version: string;
      RPC: unknown;
    };
    assert.deepEqual(j.RPC, { Default: 2, Min: 2, Max: 3 });
  });

  void test("connection refused - 'Error querying Consul agent: ...', exit 1", async () => {
    const port = await closedPort();
    const r = await run(["kv", "get", `-http-addr=127.0.0.1:${port}`, "foo"]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(
        `^Error querying Consul agent: Get "http://127.0.0.1:${port}/v1/kv/foo": .*ECONNREFUSED`,
      ),
    );
  });

  void test("a bad address scheme - 'Error connecting to Consul agent: ...', exit 1", async () => {
    const r = await run(["members", "-http-addr", "ftp://x:1"]);
    assert.deepEqual(
      [r.code, r.stderr],
      [1, "Error connecting to Consul agent: Unknown protocol scheme: ftp\n"],
    );
  });
});

void describe("augur - one registry, one parser for every command", () => {
  const names = COMMANDS.all().map((c) => c.name);

  void test("-h, -help and --help on every command - its own usage on stdout, exit 0", async () => {
    for (const name of names)
      for (const flag of ["-h", "-help", "--help"]) {
        const r = await run([...name.split(" "), flag], { CONSUL_HTTP_ADDR: "127.0.0.1:9" });
        assert.deepEqual(
          { name, flag, code: r.code, stderr: r.stderr },
          { name, flag, code: 0, stderr: "" },
        );
        assert.ok(
          r.stdout.startsWith(`Usage: augur ${name}\n`) ||
            r.stdout.startsWith(`Usage: augur ${name} `),
          `${name} ${flag}: ${r.stdout}`,
        );
      }
  });

  void test("help - before the command, or after its arguments, but not after `--`", async () => {
    assert.match((await run(["-h", "kv", "get"])).stdout, /^Usage: augur kv get /);
    assert.match((await run(["kv", "get", "some/key", "-help"])).stdout, /^Usage: augur kv get /);
    const r = await run(["kv", "get", "--", "-h"], { CONSUL_HTTP_ADDR: "127.0.0.1:9" });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Error querying Consul agent: /);
  });

  void test("augur --help lists every top-level command; each group lists its subcommands", async () => {
    const top = await run(["--help"]);
    assert.equal(top.code, 0);
    for (const name of names.filter((n) => !n.includes(" ")))
      assert.match(top.stdout, new RegExp(`\\n {4}${name} +\\S`), name);
    for (const name of names.filter((n) => n.includes(" "))) {
      const words = name.split(" ");
      const parent = await run([...words.slice(0, -1), "-h"]);
      assert.match(
        parent.stdout,
        new RegExp(`\\nSubcommands:\\n(.*\\n)* {4}${words.at(-1)} +\\S`),
        name,
      );
    }
  });

  void test("an unknown flag on every command - Go's message and that command's usage, exit 1", async () => {
    for (const spec of COMMANDS.all()) {
      const r = await run([...spec.name.split(" "), "-no-such-flag"]);
      const expected =
        spec.unavailable !== undefined
          ? spec.unavailable
          : spec.run
            ? `flag provided but not defined: -no-such-flag\n\nUsage: augur ${spec.name}`
            : `Usage: augur ${spec.name}`;
      assert.equal(r.code, 1, spec.name);
      assert.equal(r.stdout, "", spec.name);
      assert.ok(
        [" ", "\n"].some((end) => r.stderr.startsWith(expected + end)),
        `${spec.name}: ${r.stderr}`,
      );
    }
  });

  void test("flag values - Go's wording for missing, boolean and integer values, exit 1", async () => {
    const cases: [string[], string][] = [
      [["kv", "get", "-separator"], "flag needs an argument: -separator"],
      [
        ["kv", "get", "-recurse=maybe", "k"],
        'invalid boolean value "maybe" for -recurse: parse error',
      ],
      [["kv", "put", "-flags=-1", "k"], 'invalid value "-1" for flag -flags: parse error'],
      [["kv", "put", "-flags=1e3", "k"], 'invalid value "1e3" for flag -flags: parse error'],
      [
        ["kv", "put", "-modify-index=18446744073709551616", "k"],
        'invalid value "18446744073709551616" for flag -modify-index: value out of range',
      ],
      [["services", "register", "-port=x"], 'invalid value "x" for flag -port: parse error'],
      [
        ["catalog", "nodes", "-node-meta=nokey"],
        'invalid value "nokey" for flag -node-meta: Missing "=" value in argument: nokey',
      ],
      [["members", "---status"], "bad flag syntax: ---status"],
      [["dev-cluster", "-nodes=two"], 'invalid value "two" for flag -nodes: parse error'],
    ];
    for (const [args, message] of cases) {
      const r = await run(args);
      assert.equal(r.code, 1, args.join(" "));
      assert.ok(
        r.stderr.startsWith(`${message}\n\nUsage: augur `),
        `${args.join(" ")}: ${r.stderr}`,
      );
    }
  });

  void test("-v, -version, --version before the command - the version; after it - the command's flag", async () => {
    const version = (await run(["version"])).stdout;
    for (const flag of ["-v", "-version", "--version"])
      assert.deepEqual(await run([flag, "members"]), { code: 0, stdout: version, stderr: "" });
    const r = await run(["members", "-version"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^flag provided but not defined: -version\n/);
  });

  void test("other flags before the command - mitchellh/cli's message and the command's usage, exit 1", async () => {
    const r = await run(["-x", "members"]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^Invalid flags before the subcommand\. If these flags are for\nthe subcommand, please put them after the subcommand\.\n\nUsage: augur members /,
    );
    assert.equal((await run(["-x"])).code, 127);
  });

  void test("a group with an unknown subcommand - the group's help on stderr, exit 1", async () => {
    const r = await run(["kv", "nope"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Usage: augur kv <subcommand>/);
  });

  void test("dev-cluster - its own usage errors before anything starts", async () => {
    assert.deepEqual(await run(["dev-cluster", "-nodes=0"]), {
      code: 1,
      stdout: "",
      stderr: "-nodes must be a whole number from 1 to 50, got 0\n",
    });
    assert.deepEqual(await run(["dev-cluster", "extra"]), {
      code: 1,
      stdout: "",
      stderr: "Too many arguments (expected 0, got 1)\n",
    });
  });
});

void describe("augur against a local HTTP server", () => {
  let server: TestServer;
  let reply: (method: string, url: string) => Reply = () => json({});
  before(async () => (server = await startServer((req) => reply(req.method, req.url))));
  after(() => server.close());
  const env = (): NodeJS.ProcessEnv => ({ CONSUL_HTTP_ADDR: server.address });

  const member = (name: string, role: string, status = 1): unknown => ({
    Name: name,
    Addr: "10.0.0.1",
    Port: 8301,
    Tags: { role, dc: "dc1", build: "1.2.3:abc", vsn: "2" },
    Status: status,
  });

  void test("members - Consul's columns, servers first, client/server types", async () => {
    reply = () =>
      json([
        member("b-client", "node"),
        member("a-client", "node"),
        member("z-server", "consul"),
        member("odd", "other", 4),
      ]);
    const r = await run(["members"], env());
    assert.equal(r.code, 0);
    assert.equal(
      r.stdout,
      [
        "Node      Address        Status  Type     Build  Protocol  DC   Partition  Segment",
        "z-server  10.0.0.1:8301  alive   server   1.2.3  2         dc1  default    <all>",
        "a-client  10.0.0.1:8301  alive   client   1.2.3  2         dc1  default    <default>",
        "b-client  10.0.0.1:8301  alive   client   1.2.3  2         dc1  default    <default>",
        "odd       10.0.0.1:8301  failed  unknown                                   ",
        "",
      ].join("\n"),
    );
  });

  void test("members -status - a regex over the status; no match exits 2 with no output", async () => {
    reply = () => json([member("a", "node"), member("b", "node", 3)]);
    const left = await run(["members", "-status=left"], env());
    assert.equal(left.code, 0);
    assert.match(left.stdout, /\nb +10\.0\.0\.1:8301 +left/);
    assert.doesNotMatch(left.stdout, /\na /);
    const none = await run(["members", "-status=failed"], env());
    assert.deepEqual([none.code, none.stdout, none.stderr], [2, "", ""]);
  });

  void test("-token and CONSUL_HTTP_TOKEN - sent as X-Consul-Token, the flag winning", async () => {
    reply = () => json([member("a", "node")]);
    await run(["members", "-token=flag-token"], { ...env(), CONSUL_HTTP_TOKEN: "env-token" });
    assert.equal(server.requests.at(-1)?.headers["x-consul-token"], "flag-token");
    await run(["members"], { ...env(), CONSUL_HTTP_TOKEN: "env-token" });
    assert.equal(server.requests.at(-1)?.headers["x-consul-token"], "env-token");
  });

  void test("-http-addr beats AUGUR_HTTP_ADDR beats CONSUL_HTTP_ADDR", async () => {
    reply = () => json([member("a", "node")]);
    const port = await closedPort();
    const viaFlag = await run(["members", `-http-addr=http://${server.address}`], {
      AUGUR_HTTP_ADDR: `127.0.0.1:${port}`,
    });
    assert.equal(viaFlag.code, 0);
    const viaAugur = await run(["members"], {
      AUGUR_HTTP_ADDR: server.address,
      CONSUL_HTTP_ADDR: `127.0.0.1:${port}`,
    });
    assert.equal(viaAugur.code, 0);
  });

  void test("kv put - reads '-' from stdin, sends -flags, -cas with -modify-index", async () => {
    reply = () => json(true);
    const r = await run(
      ["kv", "put", "-flags=5", "-cas", "-modify-index=12", "cfg/key", "-"],
      env(),
      "from stdin",
    );
    assert.deepEqual([r.code, r.stdout], [0, "Success! Data written to: cfg/key\n"]);
    const req = server.requests.at(-1);
    assert.equal(req?.url, "/v1/kv/cfg/key?flags=5&cas=12");
    assert.equal(req?.body.toString(), "from stdin");
  });

  void test("kv put - flags stop at the key: a later -x is the value; `--` ends flags and help", async () => {
    reply = () => json(true);
    assert.equal((await run(["kv", "put", "k", "-x"], env())).code, 0);
    assert.deepEqual(
      [server.requests.at(-1)?.url, server.requests.at(-1)?.body.toString()],
      ["/v1/kv/k", "-x"],
    );
    assert.equal((await run(["kv", "put", "--", "-k", "-h"], env())).code, 0);
    assert.deepEqual(
      [server.requests.at(-1)?.url, server.requests.at(-1)?.body.toString()],
      ["/v1/kv/-k", "-h"],
    );
  });

  void test("kv put -cas - a false answer is 'CAS failed', exit 1", async () => {
    reply = () => json(false);
    const r = await run(["kv", "put", "-cas", "-modify-index=3", "k", "v"], env());
    assert.deepEqual([r.code, r.stderr], [1, "Error! Did not write to k: CAS failed\n"]);
  });

  void test("kv put - a server error is 'Error! Failed writing data: Unexpected response code: ...'", async () => {
    reply = () => ({
      status: 413,
      body: "Request body(600000 bytes) too large, max size: 524288 bytes.",
    });
    const r = await run(["kv", "put", "k", "v"], env());
    assert.deepEqual(
      [r.code, r.stderr],
      [
        1,
        "Error! Failed writing data: Unexpected response code: 413 (Request body(600000 bytes) too large, max size: 524288 bytes.)\n",
      ],
    );
  });

  void test("kv get - a binary value is written byte for byte plus a newline", async () => {
    reply = () =>
      json([
        {
          Key: "b",
          Value: Buffer.from([0xff, 0x00, 0x41]).toString("base64"),
          Flags: 0,
          LockIndex: 0,
          CreateIndex: 1,
          ModifyIndex: 1,
        },
      ]);
    let bytes = Buffer.alloc(0);
    const io: CliIo = {
      stdout: {
        write: (c: string | Uint8Array) => (bytes = Buffer.concat([bytes, Buffer.from(c)])),
      },
      stderr: { write: () => true },
      stdin: Readable.from([]),
      env: env(),
    };
    assert.equal(await main(["kv", "get", "b"], { io }), 0);
    assert.deepEqual([...bytes], [0xff, 0x00, 0x41, 0x0a]);
  });
});
