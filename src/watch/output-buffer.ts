/**
 * Keeps the last N bytes of a handler's output, like Consul's circbuf (WatchBufSize, 4 KB), and
 * renders it as Consul logs it: `Captured N of M bytes\n...\n<tail>` when cut.
 *
 * @module
 */

export class OutputBuffer {
  readonly #size: number;
  #chunks: Buffer[] = [];
  #kept = 0;
  #total = 0;

  constructor(size: number) {
    this.#size = Math.max(0, size);
  }

  write(chunk: Buffer): void {
    this.#total += chunk.length;
    this.#chunks.push(chunk);
    this.#kept += chunk.length;
    while (this.#kept - (this.#chunks[0]?.length ?? 0) >= this.#size && this.#chunks.length > 1) {
      this.#kept -= (this.#chunks.shift() as Buffer).length;
    }
  }

  get totalWritten(): number {
    return this.#total;
  }

  toString(): string {
    const all = Buffer.concat(this.#chunks);
    const tail = all.subarray(Math.max(0, all.length - this.#size));
    if (this.#total > this.#size)
      return `Captured ${this.#size} of ${this.#total} bytes\n...\n${tail.toString("utf8")}`;
    return tail.toString("utf8");
  }
}
