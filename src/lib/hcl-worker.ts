/**
 * The worker thread {@link parseHclOffThread} parses on: HashiCorp's HCL parser, compiled to
 * JavaScript, is slow (about 0.4 ms per ACL rule, so 32 KiB of rules held the event loop 0.4 s)
 * and recursive (deep nesting overflows its stack). Here it holds only this thread, and the
 * GopherJS runtime's process-wide settings stay in this thread's isolate.
 *
 * @module
 */
import { createRequire } from "node:module";
import { parentPort } from "node:worker_threads";

/** Asked: `{ id, text }`; answered: `{ id, out }` (the parser's JSON or its error text) or `{ id, overflow: true }`. */
export interface HclRequest {
  readonly id: number;
  readonly text: string;
}
export type HclAnswer =
  { readonly id: number; readonly out: string } | { readonly id: number; readonly overflow: true };

const parser = createRequire(import.meta.url)("js-hcl-parser") as { parse(text: string): string };

parentPort?.on("message", ({ id, text }: HclRequest) => {
  let answer: HclAnswer;
  try {
    answer = { id, out: parser.parse(text) };
  } catch (err) {
    // The one way the parser throws: its recursion past the thread's stack (nesting thousands deep).
    if (!(err instanceof RangeError)) throw err;
    answer = { id, overflow: true };
  }
  parentPort?.postMessage(answer);
});
