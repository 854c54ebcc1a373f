import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { main } from "../../src/cli/main.js";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";
import { tempDir, type TempDir } from "./receivers.js";

/** `augur watch <args>` through the CLI's one dispatch path, with captured output. */
function runWatchCommand(
  args: string[],
  out: { stdout(s: string): void; stderr(s: string): void },
): Promise<number> {
  const io = {
    stdout: { write: (s: string | Uint8Array) => out.stdout(Buffer.from(s).toString()) },
    stderr: { write: (s: string | Uint8Array) => out.stderr(Buffer.from(s).toString()) },
    stdin: Readable.from([]),
    env: {},
  };
  return main(["watch", ...args], { io });
}

function capture(): {
  out: { stdout(s: string): void; stderr(s: string): void };
  stdout: () => string;
  stderr: () => string;
} {
  let o = "";
  let e = "";
  return {
    out: { stdout: (s) => void (o += s), stderr: (s) => void (e += s) },
    stdout: () => o,
    stderr: () => e,
  };
}

void describe("augur watch", () => {
  let a: TestAgent;
  let dir: TempDir;
  before(async () => {
    a = await startTestAgent();
    dir = await tempDir();
  });
  after(async () => {
    await a.stop();
    await dir.remove();
  });

  void it("cli - without a child it prints the current result as 4-space JSON and exits 0", async () => {
    await a.call("PUT", "/v1/kv/cli/a", "x&y");
    const c = capture();
    assert.equal(
      await runWatchCommand(["-http-addr", a.url, "-type=keyprefix", "-prefix", "cli/"], c.out),
      0,
    );
    const parsed = JSON.parse(c.stdout()) as { Key: string }[];
    assert.equal(parsed[0]?.Key, "cli/a");
    assert.match(c.stdout(), /^\[\n {4}\{\n {8}"Key": "cli\/a",\n {8}"CreateIndex"/);
    const missing = capture();
    assert.equal(
      await runWatchCommand(
        ["--http-addr", a.url, "--type", "key", "--key", "cli/none"],
        missing.out,
      ),
      0,
    );
    assert.equal(missing.stdout(), "null\n");
  });

  void it("cli - Consul's validation errors and a missing type", async () => {
    const c = capture();
    assert.equal(await runWatchCommand(["-http-addr", a.url, "-type=key"], c.out), 1);
    assert.equal(c.stderr(), "Must specify a single key to watch\n");
    const t = capture();
    assert.equal(await runWatchCommand(["-http-addr", a.url], t.out), 1);
    assert.match(t.stderr(), /^Watch type must be specified\n\nUsage: augur watch/);
    const bad = capture();
    assert.equal(await runWatchCommand(["-nope"], bad.out), 1);
    assert.match(bad.stderr(), /^flag provided but not defined: -nope\n\nUsage: augur watch /);
  });

  void it("cli - an unreachable agent is Consul's 'Error querying Consul agent'", async () => {
    const c = capture();
    assert.equal(await runWatchCommand(["-http-addr", "127.0.0.1:1", "-type=nodes"], c.out), 1);
    assert.match(c.stderr(), /^Error querying Consul agent: /);
  });

  void it("cli - with a child it runs it on every change with the payload and CONSUL_INDEX; a failing child ends it", async () => {
    const log = join(dir.path, "runs");
    // Records each run; fails on the second so the command ends (Consul: exit 1).
    const child = await dir.script(
      "child.sh",
      `cat >> "${log}"; echo "idx=$CONSUL_INDEX" >> "${log}"; n=$(grep -c idx= "${log}"); [ "$n" -lt 2 ]`,
    );
    const c = capture();
    const running = runWatchCommand(
      ["-http-addr", a.url, "-type=key", "-key=cli/child", child],
      c.out,
    );
    await new Promise((res) => setTimeout(res, 500));
    await a.call("PUT", "/v1/kv/cli/child", "v");
    assert.equal(await running, 1);
    assert.equal(c.stderr(), "Error executing handler: exit status 1\n");
    const runs = (await readFile(log, "utf8")).split("\n");
    assert.equal(runs[0], "null");
    assert.match(runs[1] ?? "", /^idx=\d+$/);
    assert.match(runs[2] ?? "", /^\{"Key":"cli\/child",/);
  });

  void it("cli - `watch -h` prints its usage, flags and subcommands on stdout; a child's own -h reaches the child", async () => {
    const help = capture();
    assert.equal(await runWatchCommand(["-type=key", "-h"], help.out), 0);
    assert.match(help.stdout(), /^Usage: augur watch \[options\] \[child\.\.\.\]\n/);
    assert.match(help.stdout(), /\n {2}-type=<value>\n/);
    assert.match(help.stdout(), /\nSubcommands:\n {4}deliveries {4}Lists/);
    const child = capture();
    assert.equal(
      await runWatchCommand(
        ["-http-addr", a.url, "-type=nodes", "-shell=false", "/bin/sh", "-c", "exit 3", "-h"],
        child.out,
      ),
      1,
    );
    assert.equal(child.stderr(), "Error executing handler: exit status 3\n");
  });
});
