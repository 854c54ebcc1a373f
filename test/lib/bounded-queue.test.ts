import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { BoundedQueue } from "../../src/lib/bounded-queue.js";

const overflowError = (): Error =>
  Object.assign(new Error("fell behind"), { code: "STORE_COMPACTED" });

async function drain<T>(q: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of q) out.push(x);
  return out;
}

void describe("BoundedQueue", () => {
  void it("queue - items come out in push order; a read waits for the next push", async () => {
    const q = new BoundedQueue<number>();
    q.push(1);
    q.push(2);
    assert.deepEqual(await q.next(), { value: 1, done: false });
    assert.deepEqual(await q.next(), { value: 2, done: false });
    const waiting = q.next();
    let settled = false;
    void waiting.then(() => (settled = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(settled, false, "an empty queue makes the reader wait");
    q.push(3);
    assert.deepEqual(await waiting, { value: 3, done: false });
  });

  void it("queue - close: the reader gets what is queued, then the end; pushes are refused", async () => {
    const q = new BoundedQueue<string>();
    q.push("a");
    q.push("b");
    q.close();
    assert.equal(q.push("c"), false);
    assert.deepEqual(await drain(q), ["a", "b"]);
  });

  void it("queue - close with drop ends the reader at once, and wakes a waiting one", async () => {
    const q = new BoundedQueue<string>();
    const waiting = q.next();
    q.close({ drop: true });
    assert.deepEqual(await waiting, { value: undefined, done: true });
    const q2 = new BoundedQueue<string>();
    q2.push("a");
    q2.close({ drop: true });
    assert.deepEqual(await drain(q2), []);
  });

  void it("queue - fail: the reader gets the queued items, then the error", async () => {
    const q = new BoundedQueue<number>();
    q.push(1);
    q.fail(overflowError());
    assert.deepEqual(await q.next(), { value: 1, done: false });
    await assert.rejects(q.next(), /fell behind/);
    assert.equal(q.push(2), false);
  });

  void it("queue - 'reject' overflow: a push past maxItems returns false and the queue stays open", async () => {
    const q = new BoundedQueue<number>({ maxItems: 2 });
    assert.equal(q.push(1), true);
    assert.equal(q.push(2), true);
    assert.equal(q.push(3), false, "the producer is told");
    assert.equal(q.size, 2);
    assert.equal(q.closed, false);
    q.shift();
    assert.equal(q.push(3), true, "room again once the reader takes one");
    q.close();
    assert.deepEqual(await drain(q), [2, 3]);
  });

  void it("queue - 'fail' overflow: the queued items are dropped and the reader gets the error at once", async () => {
    const q = new BoundedQueue<number>({ maxItems: 3, overflow: { fail: overflowError } });
    for (let i = 0; i < 3; i++) assert.equal(q.push(i), true);
    assert.equal(q.push(3), false);
    assert.equal(q.size, 0, "memory released");
    await assert.rejects(
      q.next(),
      (err: unknown) => (err as { code?: string }).code === "STORE_COMPACTED",
    );
  });

  void it("queue - the weight bound counts item weights; one item over it alone still gets through", async () => {
    const q = new BoundedQueue<string>({ maxWeight: 10, weigh: (s) => s.length });
    assert.equal(q.push("aaaaaaaaaaaaaaaa"), true, "16 > 10, but the queue was empty");
    assert.equal(q.push("b"), false);
    q.shift();
    assert.equal(q.weight, 0);
    assert.equal(q.push("12345"), true);
    assert.equal(q.push("67890"), true);
    assert.equal(q.push("x"), false);
    assert.equal(q.weight, 10);
  });

  void it("queue - with an order, a late item is inserted in place; peek, replaceHead and toArray see the order", () => {
    const q = new BoundedQueue<number>({ order: (a, b) => a - b });
    for (const n of [1, 2, 5, 3, 4, 6]) q.push(n);
    assert.deepEqual(q.toArray(), [1, 2, 3, 4, 5, 6]);
    assert.equal(q.peek(), 1);
    q.replaceHead(0);
    assert.equal(q.shift(), 0);
    assert.equal(q.peek(), 2);
  });

  void it("queue - wait resolves on a push, a close or an abort, and leaves the item queued", async () => {
    const q = new BoundedQueue<number>();
    const w = q.wait();
    q.push(7);
    await w;
    assert.equal(q.peek(), 7);
    q.shift();
    const ac = new AbortController();
    const aborted = q.wait(ac.signal);
    ac.abort();
    await aborted;
    assert.equal(q.size, 0);
    const closed = q.wait();
    q.close();
    await closed;
  });

  void it("queue - breaking out of for-await closes the queue", async () => {
    const q = new BoundedQueue<number>();
    q.push(1);
    q.push(2);
    for await (const x of q) {
      assert.equal(x, 1);
      break;
    }
    assert.equal(q.closed, true);
    assert.equal(q.push(3), false);
  });

  void it("queue - a queue kept full through 100,000 pushes and takes hands out every item once, in order", () => {
    const q = new BoundedQueue<number>({ maxItems: 10 });
    let taken = 0;
    for (let i = 0; i < 100_000; i++) {
      assert.equal(q.push(i), true);
      if (q.size === 10) taken += q.shift() === taken ? 1 : 0;
    }
    assert.equal(taken, 100_000 - 9);
    assert.equal(q.size, 9);
  });

  void it("queue - two reads waiting at once each get their own item", async () => {
    const q = new BoundedQueue<number>();
    const a = q.next();
    const b = q.next();
    q.push(1);
    q.push(2);
    const got = [(await a).value, (await b).value].sort();
    assert.deepEqual(got, [1, 2]);
  });
});
