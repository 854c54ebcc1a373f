/**
 * URL path building shared by everything that names a Consul API path (the HTTP client, the
 * watch types, the watch leadership lock).
 *
 * @module
 */

/** Percent-encodes each segment of a KV key or an id, keeping `/` separators. */
export function escapePath(key: string): string {
  return key.split("/").map(encodeURIComponent).join("/");
}
