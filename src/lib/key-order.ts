/**
 * A set of string keys kept in order, for prefix reads: a B+ tree (`sorted-btree`), where adding
 * or removing a key costs O(log n) and a prefix read touches only its prefix. The store and the
 * catalog view each keep one beside their maps.
 *
 * @module
 */
import sortedBtree from "sorted-btree";

// A CommonJS module: its class is the `default` export of the module object.
const BTree = sortedBtree.default;

/** UTF-16 code unit order, as `<` compares strings (the order the stores and the view answer in). */
function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export class KeyOrder {
  readonly #tree = new BTree<string, undefined>(undefined, compareKeys);

  add(key: string): void {
    this.#tree.set(key, undefined);
  }

  delete(key: string): void {
    this.#tree.delete(key);
  }

  /**
   * Calls `visit` with each key that starts with `prefix`, in order. The tree's own loop, not an
   * iterator: a generator over it cost about 10× as much per key (6.7 ms per 200,000 keys,
   * against 0.6 ms for an array loop), on every recursive KV read.
   */
  forEachWithPrefix(prefix: string, visit: (key: string) => void): void {
    const end = prefixEnd(prefix);
    const high = end ?? this.#tree.maxKey();
    if (high === undefined) return; // empty
    this.#tree.forRange(prefix, high, end === undefined, (key) => {
      visit(key);
    });
  }
}

/**
 * The least string above every string that starts with `prefix` (its last code unit below
 * U+FFFF incremented, what follows dropped), or undefined when there is none ("" or all U+FFFF).
 */
function prefixEnd(prefix: string): string | undefined {
  let i = prefix.length - 1;
  while (i >= 0 && prefix.charCodeAt(i) === 0xffff) i--;
  if (i < 0) return undefined;
  return prefix.slice(0, i) + String.fromCharCode(prefix.charCodeAt(i) + 1);
}
