/**
 * `?filter=` for each endpoint: the go-bexpr engine in ./filter, with the field schema of the
 * Consul type the endpoint returns so an unknown selector fails as it does in Consul — at once,
 * even when there is nothing to filter.
 *
 * Routes compile the expression before they read (a bad one fails before any blocking wait, as
 * Consul builds its evaluator before the query) and filter after, in slices that yield to the
 * event loop: a filter's first run over 10,000 entries, before V8 has optimised it, can take tens
 * of milliseconds, and no single request may hold up every other one that long.
 *
 * @module
 */
import { compileFilter, type FilterTarget } from "./filter/index.js";

export type { FilterTarget } from "./filter/index.js";

/** A compiled `?filter=`; undefined when the request has none. */
export type RequestFilter = ((item: unknown) => boolean) | undefined;

/** Entries checked between looks at the clock. */
const SLICE = 256;
/** Longest run of filtering before yielding to the event loop. */
const YIELD_AFTER_MS = 4;

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Compiles `expression` for `target`; throws Consul's 500 for a bad one. */
export function compileRequestFilter(
  expression: string | undefined,
  target: FilterTarget,
): RequestFilter {
  if (expression === undefined || expression === "") return undefined;
  return compileFilter(expression, target);
}

/** Keeps the items the filter accepts, yielding every few milliseconds. */
export async function filterList<T>(items: readonly T[], filter: RequestFilter): Promise<T[]> {
  if (!filter) return items as T[];
  const out: T[] = [];
  let start = performance.now();
  for (let i = 0; i < items.length; i++) {
    const item = items[i] as T;
    if (filter(item)) out.push(item);
    if (i % SLICE === SLICE - 1 && performance.now() - start > YIELD_AFTER_MS) {
      await yieldToEventLoop();
      start = performance.now();
    }
  }
  return out;
}

/** The same for map-shaped results (agent/services, catalog/node Services): runs on each value. */
export async function filterMap<T>(
  items: Readonly<Record<string, T>>,
  filter: RequestFilter,
): Promise<Record<string, T>> {
  if (!filter) return items as Record<string, T>;
  const keys = await filterList(Object.keys(items), (k) => filter(items[k as string]));
  const out: Record<string, T> = {};
  for (const k of keys) out[k] = items[k] as T;
  return out;
}

/** All at once, without yielding: for small lists and for tests of the filter's semantics. */
export function applyFilter<T>(
  items: readonly T[],
  expression: string | undefined,
  target: FilterTarget,
): T[] {
  const filter = compileRequestFilter(expression, target);
  return filter ? items.filter((item) => filter(item)) : [...items];
}
