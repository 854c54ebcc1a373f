import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { CorruptBase64Error, decodeGoBase64 } from "../../src/lib/go-base64.js";

void test("go-base64 - any padded encoding decodes to its bytes (the native fast path), with or without line breaks", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat({ max: 400 }), (bytes, breakAt) => {
      const text = Buffer.from(bytes).toString("base64");
      assert.deepEqual(decodeGoBase64(text), Buffer.from(bytes));
      // \r\n inside takes the byte-by-byte path, which Go also accepts: same bytes.
      const at = Math.min(breakAt, text.length);
      assert.deepEqual(
        decodeGoBase64(`${text.slice(0, at)}\r\n${text.slice(at)}`),
        Buffer.from(bytes),
      );
    }),
  );
});

void test("go-base64 - what Go refuses is refused at Go's offset, fast path or not", () => {
  const offset = (s: string): number | undefined => {
    try {
      decodeGoBase64(s);
      return undefined;
    } catch (err) {
      assert.ok(err instanceof CorruptBase64Error);
      return err.offset;
    }
  };
  assert.equal(offset("YWJj"), undefined);
  assert.equal(offset("YWI"), 0, "missing padding: Go reports the start of the last quantum");
  assert.equal(offset("YW J"), 2, "a space");
  assert.equal(offset("YW-_"), 2, "URL-safe alphabet");
  assert.equal(offset("YQ==YQ=="), 4, "data after the padding");
});
