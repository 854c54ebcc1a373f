/**
 * Differential test: augur's `?filter=` against go-bexpr 0.1.2 itself (the version Consul pins),
 * run by a Go oracle over structs mirroring Consul's. A seeded generator builds a few thousand
 * expressions — valid and invalid selectors, every operator spelling, bare keyword values,
 * numbers, escaped and raw strings, regexes, and/or/not nesting, odd whitespace and broken
 * syntax — and both engines must agree on the match set, or both fail with the same text.
 *
 * Error texts are compared exactly, parse errors included (position, rule, and pigeon's list of
 * expected tokens). The one documented exception: where go-bexpr 0.1.2 panics (selecting
 * through a nil pointer such as AgentService.Proxy of a typical service) augur answers an
 * error instead.
 *
 * FILTER_DIFF_SEED and FILTER_DIFF_COUNT pick another seed or a longer run.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { isAugurError } from "../../src/lib/errors.js";
import { applyFilter } from "../../src/api/filtering.js";
import { TARGETS, type FilterTarget, type GoType } from "../../src/api/filter/schema.js";
import {
  askOracle,
  buildOracle,
  oracleUnavailable,
  type OracleAnswer,
  type OracleRequest,
} from "./filter-oracle.js";
import { CATALOG } from "./filter-catalog.js";

const SEED = Number(process.env.FILTER_DIFF_SEED ?? 20260101);
const COUNT = Number(process.env.FILTER_DIFF_COUNT ?? 3000);

/** mulberry32: small, seeded, good enough to spread choices. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MAP_KEYS = ["env", "rack", "lan", "wan", "missing", "num", "a.b", "", "in", "Env"];
const BARE = [
  "prod",
  "web",
  "true",
  "false",
  "in",
  "not",
  "and",
  "or",
  "is",
  "empty",
  "contains",
  "matches",
  "t",
  "F",
  "TRUE",
  "passing",
  "critical",
  "v1",
  "dc1",
  "Meta",
  "x_1",
];
const NUMBERS = [
  "0",
  "1",
  "-1",
  "8080",
  "1.5",
  "-0",
  "0.0",
  "9000",
  "65535",
  "99999999999999999999",
  "017",
  "1.",
];
const QUOTED = [
  '"prod"',
  '"web-1"',
  '"\\x41"',
  '"\\u00e9"',
  '"\\t"',
  '"\\""',
  '"\\\\"',
  '"\\\'"',
  '"\\q"',
  '"\\101"',
  '"0x1F"',
  '"0o17"',
  '"0b101"',
  '"1_000"',
  '"_1"',
  '"+5"',
  '" 1"',
  '"é"',
  '""',
  '"\\xff"',
  '"\\xc3\\xa9"',
  '"true"',
  '"T"',
  '"yes"',
  '"-9223372036854775808"',
  '"9223372036854775808"',
  '"017"',
  '"08"',
  '"1e3"',
  '"\\U0001F600"',
  '"\\uD800"',
  '"a b"',
  '"10.0.0.1"',
  '"é-node\\n"',
  '"db \\"quoted\\""',
  '"\\x01"',
  '"\\x7f"',
  '"\\u0085"',
  '"\\u00ad"',
  '"\\u2028"',
  '"\\u00a0"',
  '"\\ufeff"',
  '"\\U000e0001"',
  '"\\a\\b\\f\\v"',
  '"0X1f"',
  '"-0x8000000000000000"',
  '"1__0"',
  '"0_x1"',
  '"\\377"',
  '"\\400"',
  '"\\x4"',
  '"\\U00110000"',
  '"日本"',
  '"\\u65e5"',
];
const RAW = ["`a\rb`", "`\r`", "`prod`", "`a\\b`", "`0b101`", "``", "`\\d+`", "`v1`"];
const REGEXES = [
  '"^web"',
  '"(a+)+$"',
  '"["',
  '"(?i)PROD"',
  '"\\\\d+"',
  '".*"',
  '"a|"',
  '"\\\\pL"',
  '"(?P<n>x)"',
  '"x{2,}"',
  '"\\\\Q.\\\\E"',
  '"[[:alpha:]]"',
  '"^.$"',
  '"^..$"',
  '"(?i)ſ"',
  '"(?i)k"',
  '"\\\\x{1F600}"',
  '"[😀]"',
  '"^\\\\p{Greek}"',
  '"(?i)Σ"',
  '"\\\\C"',
  '"(?U)a+"',
  '"^$"',
  '"\\\\bweb\\\\b"',
  '"(?<n>x)"',
  '"a{1001}"',
  '"\\\\8"',
  '"é"',
  '"[^\\\\x00-\\\\x7f]"',
  "`^1`",
  '"\\\\z"',
  '"(?s).+"',
];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)] as T;
}

function isIdent(s: string): boolean {
  return /^[a-zA-Z][a-zA-Z0-9_]*$/.test(s);
}

/** A selector: mostly a real path of the target type, sometimes a wrong one. */
function selector(r: () => number, t: GoType): string {
  const parts: string[] = [];
  let cur: GoType | undefined = t;
  while (cur) {
    if (cur.kind === "struct") {
      const names: string[] = Object.keys(cur.fields);
      const name: string =
        r() < 0.06
          ? pick(r, [
              "CreateIndex",
              "ModifyIndex",
              "Definition",
              "RaftIndex",
              "Foo",
              "node",
              "EnterpriseMeta",
              "Config",
            ])
          : pick(r, names);
      parts.push(name);
      cur = cur.fields[name];
      if (!cur) break;
      if (cur.kind === "struct" && r() < 0.15) break;
    } else if (cur.kind === "slice") {
      if (r() < 0.5 || cur.elem.kind !== "struct") break;
      cur = cur.elem;
    } else if (cur.kind === "map") {
      if (r() < 0.25) break;
      parts.push(pick(r, MAP_KEYS));
      cur = cur.value;
    } else {
      if (r() < 0.05) parts.push("x");
      break;
    }
  }
  if (parts.length === 0) parts.push("Node");
  return parts
    .map((p, i) =>
      i > 0 && (!isIdent(p) || r() < 0.1) ? `[${JSON.stringify(p)}]` : (i > 0 ? "." : "") + p,
    )
    .join("");
}

function value(r: () => number, regex: boolean): string {
  const x = r();
  if (regex && x < 0.7) return pick(r, REGEXES);
  if (x < 0.25) return pick(r, BARE);
  if (x < 0.45) return pick(r, NUMBERS);
  if (x < 0.9) return pick(r, QUOTED);
  return pick(r, RAW);
}

function sp(r: () => number): string {
  const x = r();
  return x < 0.85 ? " " : x < 0.9 ? "  " : x < 0.95 ? "\t" : "\n";
}

function match(r: () => number, t: GoType): string {
  const sel = selector(r, t);
  const x = r();
  if (x < 0.25)
    return `${sel}${r() < 0.1 ? "" : sp(r)}${pick(r, ["==", "!="])}${r() < 0.1 ? "" : sp(r)}${value(r, false)}`;
  if (x < 0.4)
    return `${sel}${sp(r)}${pick(r, ["contains", "not contains"])}${sp(r)}${value(r, false)}`;
  if (x < 0.55)
    return `${sel}${sp(r)}${pick(r, ["matches", "not matches"])}${sp(r)}${value(r, true)}`;
  if (x < 0.7) return `${sel}${sp(r)}${pick(r, ["is empty", "is not empty", "is  empty"])}`;
  return `${value(r, false)}${sp(r)}${pick(r, ["in", "not in"])}${sp(r)}${sel}`;
}

function expression(r: () => number, t: GoType, depth = 0): string {
  const x = r();
  if (depth > 3 || x < 0.45) return match(r, t);
  if (x < 0.6) return `not${sp(r)}${expression(r, t, depth + 1)}`;
  if (x < 0.75)
    return `(${r() < 0.2 ? " " : ""}${expression(r, t, depth + 1)}${r() < 0.2 ? " " : ""})`;
  return `${expression(r, t, depth + 1)}${sp(r)}${pick(r, ["and", "or"])}${sp(r)}${expression(r, t, depth + 1)}`;
}

const BREAKERS: ((s: string, r: () => number) => string)[] = [
  (s) => `(${s}`,
  (s) => `${s})`,
  (s) => `${s} and`,
  (s) => s.replace("==", "="),
  (s) => s.replace(" and ", " AND "),
  (s) => s.replace(/"/, ""),
  (s) => ` ${s} `,
  (s) => s.replace(" ", ""),
  (s, r) => s.slice(0, Math.floor(r() * s.length)),
  (s) => `not(${s})`,
  (s) => `${s} or${s}`,
  (s, r) => {
    const at = Math.floor(r() * (s.length + 1));
    return (
      s.slice(0, at) +
      pick(r, ["(", ")", '"', "`", "[", "]", ".", "!", "=", "-", "0", "\\", " ", "\n", "é", "x"]) +
      s.slice(at)
    );
  },
  (s, r) => {
    const at = Math.floor(r() * s.length);
    return s.slice(0, at) + s.slice(at + 1);
  },
];

interface Outcome {
  matched?: number[];
  error?: string;
}

function runAugur(target: FilterTarget, expression: string, items: readonly unknown[]): Outcome {
  try {
    // The endpoints' entry point, so an empty expression means "no filter" as in Consul.
    return {
      matched: applyFilter([...items], expression, target).map((kept) => items.indexOf(kept)),
    };
  } catch (err) {
    if (isAugurError(err)) return { error: err.message };
    throw err;
  }
}

function generate(): OracleRequest[] {
  const r = rng(SEED);
  const targets = Object.keys(TARGETS) as FilterTarget[];
  const out: OracleRequest[] = [];
  for (let i = 0; i < COUNT; i++) {
    const target = targets[i % targets.length] as FilterTarget;
    let expr = expression(r, TARGETS[target]);
    if (r() < 0.12) expr = pick(r, BREAKERS)(expr, r);
    out.push({ target, expression: expr, items: CATALOG[target] });
  }
  return out;
}

/** Compares one case; returns a description of the disagreement or undefined. */
function disagreement(go: OracleAnswer, ts: Outcome): string | undefined {
  if (go.panic !== undefined)
    return ts.error === undefined
      ? `go-bexpr panics (${go.panic}) but augur matched ${JSON.stringify(ts.matched)}`
      : undefined;
  if (go.error !== undefined) {
    if (ts.error === undefined)
      return `go-bexpr fails (${go.error}) but augur matched ${JSON.stringify(ts.matched)}`;
    return go.error === ts.error
      ? undefined
      : `texts differ:\n  go:    ${go.error}\n  augur: ${ts.error}`;
  }
  if (ts.error !== undefined)
    return `augur fails (${ts.error}) but go-bexpr matched ${JSON.stringify(go.matched)}`;
  return JSON.stringify(go.matched) === JSON.stringify(ts.matched)
    ? undefined
    : `match sets differ: go ${JSON.stringify(go.matched)} / augur ${JSON.stringify(ts.matched)}`;
}

const unavailable = oracleUnavailable();

test(
  "filter - augur agrees with go-bexpr 0.1.2 on generated expressions",
  { skip: unavailable, timeout: 300_000 },
  async () => {
    const bin = buildOracle();
    const requests = generate();
    const answers = await askOracle(bin, requests);
    const failures: string[] = [];
    const tally = { matched: 0, errors: 0, panics: 0 };
    requests.forEach((req, i) => {
      const go = answers[i] as OracleAnswer;
      if (go.panic !== undefined) tally.panics++;
      else if (go.error !== undefined) tally.errors++;
      else tally.matched++;
      const d = disagreement(go, runAugur(req.target as FilterTarget, req.expression, req.items));
      if (d) failures.push(`[${req.target}] ${JSON.stringify(req.expression)}: ${d}`);
    });
    // A generator that only produced errors would prove little.
    assert.ok(tally.matched > COUNT / 4, `too few evaluated cases: ${JSON.stringify(tally)}`);
    assert.deepEqual(
      failures.slice(0, 25),
      [],
      `${failures.length} of ${COUNT} disagree (seed ${SEED}; tally ${JSON.stringify(tally)})`,
    );
  },
);
