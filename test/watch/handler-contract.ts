/**
 * The contract every handler kind passes (script, http): what a delivery carries, and how each
 * kind of receiver failure is classified. Each kind supplies a receiver it can make succeed, fail
 * for a while, fail for good, or hang.
 *
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { DeliveryRequest, Handler } from "../../src/watch/handlers/handler.js";

export type Behaviour = "ok" | "transient" | "permanent" | "hang";

export interface Received {
  readonly body: string;
  readonly index: string;
  readonly eventId: string;
}

export interface Receiver {
  readonly handler: Handler;
  received(): Promise<Received[]>;
  close(): Promise<void>;
}

export type ReceiverFactory = (behaviour: Behaviour, timeoutMs: number) => Promise<Receiver>;

export const request = (over: Partial<DeliveryRequest> = {}): DeliveryRequest => ({
  body: '{"Key":"a","Value":"PGI+"}',
  index: "18446744073709551615",
  eventId: "2f6e1a0c-0000-4000-8000-000000000001",
  deliveryId: "17",
  watchId: "w1",
  attempt: 1,
  ...over,
});

async function using(
  factory: ReceiverFactory,
  b: Behaviour,
  timeoutMs: number,
  fn: (r: Receiver) => Promise<void>,
): Promise<void> {
  const r = await factory(b, timeoutMs);
  try {
    await fn(r);
  } finally {
    await r.close();
  }
}

export function handlerContract(name: string, factory: ReceiverFactory): void {
  void test(`${name} - delivers the payload plus Go's newline, the index and the event id`, () =>
    using(factory, "ok", 5000, async (r) => {
      const outcome = await r.handler.deliver(request(), new AbortController().signal);
      assert.equal(outcome.kind, "delivered");
      assert.deepEqual(await r.received(), [
        {
          body: '{"Key":"a","Value":"PGI+"}\n',
          index: "18446744073709551615",
          eventId: "2f6e1a0c-0000-4000-8000-000000000001",
        },
      ]);
    }));

  void test(`${name} - a temporary receiver failure is retryable`, () =>
    using(factory, "transient", 5000, async (r) => {
      const outcome = await r.handler.deliver(request(), new AbortController().signal);
      assert.equal(outcome.kind, "retry");
    }));

  void test(`${name} - a permanent receiver failure is not retried`, () =>
    using(factory, "permanent", 5000, async (r) => {
      const outcome = await r.handler.deliver(request(), new AbortController().signal);
      assert.equal(outcome.kind, "permanent");
    }));

  void test(`${name} - a hung receiver times out, retryably, at the timeout`, () =>
    using(factory, "hang", 300, async (r) => {
      const started = Date.now();
      const outcome = await r.handler.deliver(request(), new AbortController().signal);
      assert.equal(outcome.kind, "retry");
      assert.match(outcome.kind === "retry" ? outcome.error : "", /timed out/);
      assert.ok(Date.now() - started < 4000, "ended near the timeout");
    }));

  void test(`${name} - aborting ends an attempt early, as retryable`, () =>
    using(factory, "hang", 30_000, async (r) => {
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 100);
      const outcome = await r.handler.deliver(request(), ac.signal);
      assert.equal(outcome.kind, "retry");
    }));
}
