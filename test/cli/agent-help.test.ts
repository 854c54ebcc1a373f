/**
 * `augur agent -h` prints its usage and flags and exits 0, as `consul agent -h` does; every flag
 * it lists is one the agent parses.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { AUGUR_BIN } from "../helpers/agent-process.js";
import { AGENT_FLAGS, parseAgentFlags } from "../../src/config/index.js";
import { isAugurError } from "../../src/lib/errors.js";

const listed = AGENT_FLAGS.filter((f) => !f.hidden);

for (const flag of ["-h", "-help", "--help"]) {
  test(`agent ${flag} - prints usage and every flag, exits 0, starts nothing`, () => {
    const run = spawnSync(process.execPath, [AUGUR_BIN, "agent", flag], {
      encoding: "utf8",
      timeout: 10_000,
    });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /^Usage: augur agent \[options\]\n/);
    for (const f of listed) assert.ok(run.stdout.includes(`\n  -${f.name}`), `-${f.name} listed`);
    for (const f of AGENT_FLAGS.filter((g) => g.hidden))
      assert.ok(!run.stdout.includes(`\n  -${f.name}\n`), `-${f.name} hidden`);
    assert.doesNotMatch(run.stdout, /HTTP API listening/);
  });
}

test("agent -h - every flag it lists is one the agent accepts", () => {
  for (const f of listed) {
    const value = f.kind === "int" ? "1" : "x";
    assert.doesNotThrow(
      () => parseAgentFlags(f.kind === "bool" ? [`-${f.name}`] : [`-${f.name}`, value]),
      `-${f.name}`,
    );
  }
});

test("agent flags - Go's wording for flag errors; Consul's for extra arguments and bad ports", () => {
  const message = (argv: string[]): string => {
    try {
      parseAgentFlags(argv);
    } catch (err) {
      assert.ok(isAugurError(err, "CONFIG_INVALID"));
      return err.message;
    }
    assert.fail(`no error for ${argv.join(" ")}`);
  };
  assert.equal(message(["-nope"]), "flag provided but not defined: -nope");
  assert.equal(message(["-node"]), "flag needs an argument: -node");
  assert.equal(message(["-dev=maybe"]), 'invalid boolean value "maybe" for -dev: parse error');
  assert.equal(message(["-http-port=x"]), 'invalid value "x" for flag -http-port: parse error');
  assert.equal(
    message(["-http-port=70000"]),
    'invalid value "70000" for flag -http-port: parse error',
  );
  assert.equal(message(["-retry-max=-1"]), 'invalid value "-1" for flag -retry-max: parse error');
  assert.equal(message(["-dev", "extra", "args"]), "config: Unknown extra arguments: [extra args]");
});

test("agent flags - booleans take a value only after `=`; -server is honoured, Consul's Raft flags are accepted and noted", () => {
  const f = parseAgentFlags([
    "-enable-script-checks=false",
    "-log-json",
    "-server",
    "-bootstrap-expect",
    "3",
    "-recursor=1.1.1.1",
  ]);
  assert.equal(f.enableScriptChecks, false);
  assert.equal(f.logJson, true);
  assert.equal(f.server, true);
  assert.deepEqual(f.ignored, ["bootstrap-expect"]);
  assert.deepEqual(f.recursor, ["1.1.1.1"]);
  assert.equal(f.httpPort, undefined);
  assert.deepEqual(parseAgentFlags(["-etcd=http://a:1, http://b:2", "-http-port=0x10"]).etcd, [
    "http://a:1",
    "http://b:2",
  ]);
  assert.equal(parseAgentFlags(["-http-port=-1"]).httpPort, -1);
});

test("agent - a flag error exits 1 with Go's message and the agent's usage on stderr", () => {
  const run = spawnSync(process.execPath, [AUGUR_BIN, "agent", "-dev", "-nope"], {
    encoding: "utf8",
    timeout: 10_000,
  });
  assert.equal(run.status, 1);
  assert.match(
    run.stderr,
    /^flag provided but not defined: -nope\n\nUsage: augur agent \[options\]\n/,
  );
  assert.equal(run.stdout, "");
  const extra = spawnSync(process.execPath, [AUGUR_BIN, "agent", "-dev", "extra"], {
    encoding: "utf8",
    timeout: 10_000,
  });
  assert.deepEqual(
    [extra.status, extra.stderr],
    [1, "==> config: Unknown extra arguments: [extra]\n"],
  );
});
