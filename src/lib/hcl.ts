/**
 * HCL (config files and ACL policy rules), parsed by `js-hcl-parser`: HashiCorp's own HCL v1 parser (the one Consul
 * uses) compiled to JavaScript, so HCL quirks behave exactly as in Consul. HCL turns every block
 * into a list of objects; as Consul's loader does, a one-element list of one object is flattened
 * back to the object except for keys that really are lists.
 *
 * @module
 */
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import type { HclAnswer, HclRequest } from "./hcl-worker.js";

interface HclParser {
  parse(text: string): string;
}

/**
 * Loaded on the first `.hcl` file, not at import: the GopherJS runtime the parser is compiled
 * with sets `Error.stackTraceLimit = Infinity` when it loads, which makes every error the
 * process creates afterwards capture its whole stack. An agent configured in JSON, or a CLI
 * command, never loads it; one that reads HCL gets the limit it had back.
 */
let parser: HclParser | undefined;
function hcl(): HclParser {
  if (parser) return parser;
  const limit = Error.stackTraceLimit;
  try {
    parser = createRequire(import.meta.url)("js-hcl-parser") as HclParser;
  } finally {
    Error.stackTraceLimit = limit;
  }
  return parser;
}

/** Keys whose value is a list even with one element. */
const LIST_KEYS = new Set([
  "services",
  "checks",
  "watches",
  "retry_join",
  "start_join",
  "endpoints",
  "args",
  "tags",
]);

export class HclSyntaxError extends Error {}

/** Parses HCL on this thread: config files, and text the agent wrote itself. */
export function parseHcl(text: string): Record<string, unknown> {
  return fromParserOutput(hcl().parse(text));
}

function fromParserOutput(out: string): Record<string, unknown> {
  if (out.startsWith("unable to parse"))
    throw new HclSyntaxError(out.replace(/^unable to parse JSON: /, ""));
  return flatten(JSON.parse(out) as unknown, "") as Record<string, unknown>;
}

/** A parse that takes longer than this is abandoned (its worker ended) and refused. */
const OFF_THREAD_TIMEOUT_MS = 10_000;
/** The worker ends after this long without work: with the parser loaded it holds about 30 MB. */
const WORKER_IDLE_MS = 30_000;

/**
 * Parses HCL a client sent (ACL policy rules) on a worker thread (lib/hcl-worker.ts), one text at
 * a time, so that neither its time nor a stack overflow is the event loop's. Nesting too deep for
 * the parser's stack, or a parse past {@link OFF_THREAD_TIMEOUT_MS}, is an {@link HclSyntaxError}.
 */
export function parseHclOffThread(text: string): Promise<Record<string, unknown>> {
  const run = offThread.then(() => hclWorker.parse(text));
  offThread = run.then(
    () => undefined,
    () => undefined,
  );
  return run.then(fromParserOutput);
}

let offThread: Promise<void> = Promise.resolve();

class HclWorker {
  #worker: Worker | undefined;
  #nextId = 0;
  #idle: NodeJS.Timeout | undefined;

  async parse(text: string): Promise<string> {
    clearTimeout(this.#idle);
    const worker = (this.#worker ??= this.#start());
    const id = ++this.#nextId;
    try {
      return await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.#stop();
          reject(new HclSyntaxError(`parsing took longer than ${OFF_THREAD_TIMEOUT_MS / 1000} s`));
        }, OFF_THREAD_TIMEOUT_MS);
        const settle = (answer: HclAnswer): void => {
          if (answer.id !== id) return;
          clearTimeout(timer);
          worker.off("message", settle);
          worker.off("error", failed);
          if ("overflow" in answer) reject(new HclSyntaxError("the rules are nested too deeply"));
          else resolve(answer.out);
        };
        const failed = (err: Error): void => {
          clearTimeout(timer);
          this.#worker = undefined;
          reject(err);
        };
        worker.on("message", settle);
        worker.once("error", failed);
        worker.postMessage({ id, text } satisfies HclRequest);
      });
    } finally {
      this.#idle = setTimeout(() => this.#stop(), WORKER_IDLE_MS).unref();
    }
  }

  #start(): Worker {
    const worker = new Worker(new URL("./hcl-worker.js", import.meta.url));
    worker.unref();
    return worker;
  }

  #stop(): void {
    void this.#worker?.terminate();
    this.#worker = undefined;
  }
}

const hclWorker = new HclWorker();

function flatten(value: unknown, key: string): unknown {
  if (Array.isArray(value)) {
    const items = value.map((v) => flatten(v, key));
    if (
      !LIST_KEYS.has(key) &&
      items.length === 1 &&
      typeof items[0] === "object" &&
      items[0] !== null &&
      !Array.isArray(items[0])
    )
      return items[0];
    return items;
  }
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = flatten(v, k);
    return out;
  }
  return value;
}
