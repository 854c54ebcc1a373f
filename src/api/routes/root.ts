/**
 * `GET /`, Consul's agent index (agent/http.go `Index`): with the web UI on it redirects to
 * `/ui/` (301); without one it answers 200 `Consul Agent`, so an HTTP check pointed at an agent's
 * address passes and a person who opens it learns what is listening. `uiPath` is the UI's content
 * path when the UI is on. Any other path outside `/v1/` and the UI stays a 404.
 *
 * @module
 */
import { raw } from "../response.js";
import type { Route, RouteHandler } from "../router.js";

const TEXT = "text/plain; charset=utf-8";

export function rootRoutes(options: { uiPath?: string } = {}): Route[] {
  const { uiPath } = options;
  const index: RouteHandler = uiPath
    ? () => ({ kind: "empty", status: 301, headers: { Location: uiPath } })
    : () => raw("Consul Agent", TEXT);
  // Exact "/": route() would make a path ending in "/" a prefix of every path.
  return [
    { path: "/", prefix: false, methods: { GET: index, PUT: index, POST: index, DELETE: index } },
  ];
}
