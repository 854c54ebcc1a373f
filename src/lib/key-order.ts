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
export function compareKeys(a: string, b: string): number {
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

  /** The keys that start with `prefix`, in order. */
  *withPrefix(prefix: string): Generator<string> {
    for (const key of this.#tree.keys(prefix)) {
      if (!key.startsWith(prefix)) return;
      yield key;
    }
  }
}
