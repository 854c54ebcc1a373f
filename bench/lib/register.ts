/**
 * Fills an agent's catalog for a benchmark: `PUT /v1/catalog/register` of each body, a few
 * requests at a time (the agent's per-client connection limit is 200).
 *
 * @module
 */

/** Registers every body through `url`'s `catalog/register`, `concurrency` requests at a time. */
export async function registerAll(
  url: string,
  bodies: Iterable<object>,
  concurrency = 32,
): Promise<void> {
  const it = bodies[Symbol.iterator]();
  const worker = async (): Promise<void> => {
    for (let next = it.next(); !next.done; next = it.next()) {
      const res = await fetch(`${url}/v1/catalog/register`, {
        method: "PUT",
        body: JSON.stringify(next.value),
      });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`catalog/register: ${res.status} ${text}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}
