import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  doubleDashLongFlags,
  toCommanderArgs,
  UsageError,
  wantsHelp,
  type FlagSpec,
} from "../../src/cli/go-flags.js";

const SPECS: FlagSpec[] = [
  { name: "recurse", kind: "bool", help: "" },
  { name: "http-addr", kind: "string", help: "" },
  { name: "flags", kind: "uint", help: "" },
  { name: "port", kind: "int", help: "" },
  { name: "tag", kind: "list", help: "" },
  { name: "meta", kind: "map", help: "" },
];

const usage = (args: string[]): string => {
  try {
    toCommanderArgs(args, SPECS);
  } catch (err) {
    assert.ok(err instanceof UsageError);
    return err.message;
  }
  assert.fail("expected a usage error");
};

void describe("Go-style flag parsing", () => {
  void test("flags - single and double dash, =value and separate value", () => {
    assert.deepEqual(
      toCommanderArgs(["-http-addr=a:1", "--flags", "7", "-recurse", "key"], SPECS),
      ["--http-addr=a:1", "--flags=7", "--recurse", "--", "key"],
    );
  });

  void test("flags - parsing stops at the first positional, as Go's flag package does", () => {
    assert.deepEqual(toCommanderArgs(["key", "-recurse", "-x"], SPECS), [
      "--",
      "key",
      "-recurse",
      "-x",
    ]);
  });

  void test("flags - `--` ends flags and is consumed; `-` alone is a positional", () => {
    assert.deepEqual(toCommanderArgs(["--", "-recurse"], SPECS), ["--", "-recurse"]);
    assert.deepEqual(toCommanderArgs(["k", "-"], SPECS), ["--", "k", "-"]);
  });

  void test("flags - a string flag takes the next argument even when it starts with a dash", () => {
    assert.deepEqual(toCommanderArgs(["-http-addr", "-weird"], SPECS), [
      "--http-addr=-weird",
      "--",
    ]);
  });

  void test("flags - booleans accept Go's ParseBool values and the last one wins", () => {
    assert.deepEqual(toCommanderArgs(["-recurse=false"], SPECS), ["--"]);
    assert.deepEqual(toCommanderArgs(["-recurse=false", "-recurse=T"], SPECS), ["--recurse", "--"]);
    assert.equal(usage(["-recurse=yes"]), 'invalid boolean value "yes" for -recurse: parse error');
  });

  void test("flags - lists and maps repeat", () => {
    assert.deepEqual(toCommanderArgs(["-tag", "a", "-tag=b", "-meta", "k=v=w"], SPECS), [
      "--tag=a",
      "--tag=b",
      "--meta=k=v=w",
      "--",
    ]);
  });

  void test("flags - unsigned integers are Go base-0 literals, kept as decimal strings", () => {
    assert.deepEqual(toCommanderArgs(["-flags=0x10"], SPECS), ["--flags=16", "--"]);
    assert.deepEqual(toCommanderArgs(["-flags=010"], SPECS), ["--flags=8", "--"]);
    assert.deepEqual(toCommanderArgs(["-flags=18446744073709551615"], SPECS), [
      "--flags=18446744073709551615",
      "--",
    ]);
    assert.equal(
      usage(["-flags=18446744073709551616"]),
      'invalid value "18446744073709551616" for flag -flags: value out of range',
    );
    assert.equal(usage(["-flags=-1"]), 'invalid value "-1" for flag -flags: parse error');
    assert.equal(usage(["-flags=abc"]), 'invalid value "abc" for flag -flags: parse error');
    assert.deepEqual(toCommanderArgs(["-port=-1"], SPECS), ["--port=-1", "--"]);
  });

  void test("flags - Go's error texts for unknown flags, missing values, bad maps and bad syntax", () => {
    assert.equal(usage(["-bogus"]), "flag provided but not defined: -bogus");
    assert.equal(usage(["-http-addr"]), "flag needs an argument: -http-addr");
    assert.equal(
      usage(["-meta", "novalue"]),
      'invalid value "novalue" for flag -meta: Missing "=" value in argument: novalue',
    );
    assert.equal(usage(["---x"]), "bad flag syntax: ---x");
  });

  void test("help - -h, -help and --help anywhere before `--`", () => {
    assert.equal(wantsHelp(["key", "-h"]), true);
    assert.equal(wantsHelp(["-help"]), true);
    assert.equal(wantsHelp(["--", "--help"]), false);
    assert.equal(wantsHelp(["-recurse"]), false);
  });

  void test("doubleDashLongFlags - for commands registered without flag specs", () => {
    assert.deepEqual(doubleDashLongFlags(["-name", "x", "-v", "--", "-name"]), [
      "--name",
      "x",
      "-v",
      "--",
      "-name",
    ]);
  });
});
