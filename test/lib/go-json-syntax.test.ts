import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { goJsonSyntaxError } from "../../src/lib/go-json-syntax.js";

const check = (text: string): string | undefined => goJsonSyntaxError(Buffer.from(text));

void test("go-json-syntax - Go's checkValid texts for each kind of mistake", () => {
  const cases: [string, string | undefined][] = [
    ["[]", undefined],
    [' {"a": [1, -2.5e+3, true, false, null, "x\\u00e9\\n"]} ', undefined],
    ["", "unexpected end of JSON input"],
    ["[", "unexpected end of JSON input"],
    ['"abc', "unexpected end of JSON input"],
    ["nope", "invalid character 'o' in literal null (expecting 'u')"],
    ["tru", "invalid character ' ' in literal true (expecting 'e')"],
    ["-", "invalid character ' ' in numeric literal"],
    ["1.", "invalid character ' ' after decimal point in numeric literal"],
    ["1e", "invalid character ' ' in exponent of numeric literal"],
    ['{"a":1,}', "invalid character '}' looking for beginning of object key string"],
    ["[1,]", "invalid character ']' looking for beginning of value"],
    ["[1 2]", "invalid character '2' after array element"],
    ['{"a" 1}', "invalid character '1' after object key"],
    ['{"a":1 "b":2}', `invalid character '"' after object key:value pair`],
    ["[1] x", "invalid character 'x' after top-level value"],
    ["01", "invalid character '1' after top-level value"],
    ['"a\\x"', "invalid character 'x' in string escape code"],
    ['"\\u12g4"', "invalid character 'g' in \\u hexadecimal character escape"],
    ['"a\nb"', "invalid character '\\n' in string literal"],
    ["'a'", "invalid character '\\'' looking for beginning of value"],
    ["{a:1}", "invalid character 'a' looking for beginning of object key string"],
  ];
  for (const [text, want] of cases) assert.equal(check(text), want, JSON.stringify(text));
});

void test("go-json-syntax - agrees with JSON.parse on what is valid", () => {
  const alphabet = fc.constantFrom(...'[]{},:"\\ 0123-.eE+tfnrulasx\n'.split(""));
  fc.assert(
    fc.property(fc.array(alphabet, { maxLength: 24 }), (chars) => {
      const text = chars.join("");
      let valid = true;
      try {
        JSON.parse(text);
      } catch {
        valid = false;
      }
      assert.equal(check(text) === undefined, valid, JSON.stringify(text));
    }),
    { numRuns: 5000 },
  );
});

void test("go-json-syntax - nesting past Go's 10000 levels is refused without recursion", () => {
  assert.equal(check("[".repeat(10_000) + "]".repeat(10_000)), undefined);
  // Five million levels would overflow any recursive parser's stack.
  assert.equal(
    goJsonSyntaxError(Buffer.from("[".repeat(5_000_000))),
    "invalid character '[' exceeded max depth",
  );
  assert.equal(check('{"a":'.repeat(10_001)), "invalid character '{' exceeded max depth");
});
