import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  parseFlags,
  UsageError,
  wantsHelp,
  type FlagSpec,
  type ParseResult,
} from "../../src/lib/go-flags.js";

const SPECS: FlagSpec[] = [
  { name: "recurse", kind: "bool", help: "" },
  { name: "http-addr", kind: "string", help: "" },
  { name: "flags", kind: "uint", help: "" },
  { name: "port", kind: "int", help: "" },
  { name: "tag", kind: "list", help: "" },
  { name: "meta", kind: "map", help: "" },
];

const parse = (args: string[]): ParseResult => parseFlags(args, SPECS);

const usage = (args: string[]): string => {
  try {
    parse(args);
  } catch (err) {
    assert.ok(err instanceof UsageError);
    assert.equal(err.code, "CONFIG_INVALID");
    return err.message;
  }
  assert.fail("expected a usage error");
};

void describe("Go-style flag parsing", () => {
  void test("flags - single and double dash, =value and separate value", () => {
    const { flags, args } = parse(["-http-addr=a:1", "--flags", "7", "-recurse", "key"]);
    assert.equal(flags.string("http-addr"), "a:1");
    assert.equal(flags.string("flags"), "7");
    assert.equal(flags.bool("recurse"), true);
    assert.deepEqual(args, ["key"]);
  });

  void test("flags - parsing stops at the first positional, as Go's flag package does", () => {
    const { flags, args } = parse(["key", "-recurse", "-x"]);
    assert.equal(flags.has("recurse"), false);
    assert.deepEqual(args, ["key", "-recurse", "-x"]);
  });

  void test("flags - `--` ends flags and is consumed; `-` alone is a positional", () => {
    assert.deepEqual(parse(["--", "-recurse"]).args, ["-recurse"]);
    assert.deepEqual(parse(["-recurse", "-", "x"]).args, ["-", "x"]);
  });

  void test("flags - a string flag takes the next argument even when it starts with a dash", () => {
    const { flags, args } = parse(["-http-addr", "-weird"]);
    assert.equal(flags.string("http-addr"), "-weird");
    assert.deepEqual(args, []);
  });

  void test("flags - unset flags read as Go's zero values; `-flag=` is set and empty", () => {
    const { flags } = parse(["-http-addr="]);
    assert.deepEqual([flags.has("http-addr"), flags.string("http-addr")], [true, ""]);
    assert.deepEqual([flags.has("port"), flags.string("port")], [false, ""]);
    assert.equal(flags.bool("recurse"), false);
    assert.equal(flags.bool("recurse", true), true);
    assert.deepEqual(flags.list("tag"), []);
    assert.equal(flags.map("meta"), undefined);
  });

  void test("flags - booleans accept Go's ParseBool values only after `=`, the last one wins", () => {
    assert.equal(parse(["-recurse=false"]).flags.bool("recurse", true), false);
    assert.equal(parse(["-recurse=false", "-recurse=T"]).flags.bool("recurse"), true);
    assert.deepEqual(parse(["-recurse", "false"]).args, ["false"]);
    assert.equal(usage(["-recurse=yes"]), 'invalid boolean value "yes" for -recurse: parse error');
    assert.equal(usage(["-recurse="]), 'invalid boolean value "" for -recurse: parse error');
  });

  void test("flags - lists and maps repeat; a repeated single-valued flag keeps the last", () => {
    const { flags } = parse([
      "-tag",
      "a",
      "-tag=b",
      "-meta",
      "k=v=w",
      "-meta=x=",
      "-port=1",
      "-port=2",
    ]);
    assert.deepEqual(flags.list("tag"), ["a", "b"]);
    assert.deepEqual(flags.map("meta"), { k: "v=w", x: "" });
    assert.equal(flags.string("port"), "2");
  });

  void test("flags - integers are Go base-0 literals, kept as decimal strings", () => {
    const uint = (v: string): string => parse([`-flags=${v}`]).flags.string("flags");
    assert.equal(uint("0x10"), "16");
    assert.equal(uint("010"), "8");
    assert.equal(uint("0b11"), "3");
    assert.equal(uint("18446744073709551615"), "18446744073709551615");
    assert.equal(
      usage(["-flags=18446744073709551616"]),
      'invalid value "18446744073709551616" for flag -flags: value out of range',
    );
    assert.equal(usage(["-flags=-1"]), 'invalid value "-1" for flag -flags: parse error');
    assert.equal(usage(["-flags=abc"]), 'invalid value "abc" for flag -flags: parse error');
    assert.equal(parse(["-port=-1"]).flags.string("port"), "-1");
    assert.equal(
      usage(["-port=9223372036854775808"]),
      'invalid value "9223372036854775808" for flag -port: value out of range',
    );
  });

  void test("flags - Go's error texts for unknown flags, missing values, bad maps and bad syntax", () => {
    assert.equal(usage(["-bogus"]), "flag provided but not defined: -bogus");
    assert.equal(usage(["--bogus=1"]), "flag provided but not defined: -bogus");
    assert.equal(usage(["-http-addr"]), "flag needs an argument: -http-addr");
    assert.equal(
      usage(["-meta", "novalue"]),
      'invalid value "novalue" for flag -meta: Missing "=" value in argument: novalue',
    );
    assert.equal(usage(["---x"]), "bad flag syntax: ---x");
    assert.equal(usage(["-=x"]), "bad flag syntax: -=x");
  });

  void test("help - an undefined -h or -help among the flags stops parsing, as Go's ErrHelp", () => {
    assert.equal(parse(["-recurse", "-h", "-bogus"]).help, true);
    assert.equal(parse(["--help"]).help, true);
    assert.equal(parse(["key", "-h"]).help, false);
    assert.equal(parseFlags(["-h"], [{ name: "h", kind: "bool", help: "" }]).help, false);
  });

  void test("help - mitchellh/cli's rule: -h, -help and --help anywhere before `--`", () => {
    assert.equal(wantsHelp(["key", "-h"]), true);
    assert.equal(wantsHelp(["-help"]), true);
    assert.equal(wantsHelp(["--", "--help"]), false);
    assert.equal(wantsHelp(["-recurse"]), false);
  });
});
