/**
 * `?filter=` for each endpoint: the go-bexpr engine in ./filter, with the field schema of the
 * Consul type the endpoint returns so an unknown selector fails as it does in Consul — at once,
 * even when there is nothing to filter.
 *
 * @module
 */
import { compileFilter, type FilterTarget } from "./filter/index.js";

export type { FilterTarget } from "./filter/index.js";

/** Keeps the items the expression accepts; no expression keeps all. */
export function applyFilter<T>(items: T[], expression: string | undefined, target: FilterTarget): T[] {
  if (expression === undefined || expression === "") return items;
  const filter = compileFilter(expression, target);
  return items.filter((item) => filter(item));
}

/** The same for map-shaped results (agent/services, catalog/node Services): runs on each value. */
export function applyFilterToMap<T>(items: Record<string, T>, expression: string | undefined, target: FilterTarget): Record<string, T> {
  if (expression === undefined || expression === "") return items;
  const filter = compileFilter(expression, target);
  const out: Record<string, T> = {};
  for (const [k, v] of Object.entries(items)) if (filter(v)) out[k] = v;
  return out;
}
