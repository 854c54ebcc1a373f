/**
 * The web UI's files at `ui_config.content_path` (`/ui/` by default), as Consul's agent serves its
 * UI: a file of the build by its path, and `index.html` for any other path, so the UI's own
 * routes (`/ui/services/web`) load it and it routes on the client. `/ui` redirects to `/ui/`.
 *
 * A request never reaches the file system with a path it chose: the build directory is listed
 * once (bounded in count and size) into a table of URL path → file, and a request is a lookup
 * in that table, so `..`, `%2e%2e` and encoded slashes find nothing. Hashed assets
 * (`assets/*-<hash>.js`) are cached for a year; `index.html` must be revalidated, since it names
 * the current hashes. Without a build (tests that run without `vite build`) every path answers
 * a 404 that says how to build it, and the agent runs on.
 *
 * @module
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { extname, join } from "node:path";
import { notFound } from "../../lib/errors.js";
import type { ApiResult } from "../response.js";
import { route, type Route, type RouteHandler } from "../router.js";
import { rootRoutes } from "./root.js";

export interface UiRouteOptions {
  /** The URL path the UI is served under, starting and ending with `/` (`/ui/`). */
  readonly contentPath: string;
  /** The directory holding the built UI (`index.html`, `assets/`). */
  readonly dir: string;
}

/** A build bigger than these is not a UI build; the agent keeps its memory. */
const MAX_FILES = 512;
const MAX_TOTAL_BYTES = 32 * 1024 * 1024;
const MAX_DEPTH = 4;

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
  ".woff2": "font/woff2",
};

const IMMUTABLE = "public, max-age=31536000, immutable";
/** Vite's hashed names: `name-<8+ chars of base64url hash>.ext` under `assets/`. */
const HASHED = /^assets\/[^/]+-[A-Za-z0-9_-]{8,}\.[a-z0-9]+$/;

interface UiFile {
  readonly body: Buffer;
  readonly contentType: string;
  readonly cacheControl: string;
}

const NOT_BUILT =
  "augur's web UI is not built: run `npm ci` (or `npm run build:ui`) in augur's directory, or point ui_config.dir at a built UI";

/** Lists `dir` into URL path → file, reading every file once; undefined when there is no build. */
async function loadBuild(
  dir: string,
  contentPath: string,
): Promise<Map<string, UiFile> | undefined> {
  const files = new Map<string, UiFile>();
  let total = 0;
  const walk = async (rel: string, depth: number): Promise<void> => {
    if (depth > MAX_DEPTH) return;
    const entries = await readdir(join(dir, rel), { withFileTypes: true });
    for (const e of entries) {
      const name = rel === "" ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) await walk(name, depth + 1);
      else if (e.isFile() && files.size < MAX_FILES) {
        const size = (await stat(join(dir, name))).size;
        if (total + size > MAX_TOTAL_BYTES) continue;
        let body = await readFile(join(dir, name));
        total += size;
        // The build names /ui/ in index.html; another content path is written in its place.
        if (name === "index.html" && contentPath !== "/ui/")
          body = Buffer.from(body.toString("utf8").replaceAll('"/ui/', `"${contentPath}`));
        files.set(name, {
          body,
          contentType: CONTENT_TYPES[extname(name)] ?? "application/octet-stream",
          cacheControl: HASHED.test(name) ? IMMUTABLE : "no-cache",
        });
      }
    }
  };
  try {
    await walk("", 0);
  } catch {
    return undefined; // no such directory (or unreadable): answered as "not built"
  }
  return files.has("index.html") ? files : undefined;
}

const answer = (f: UiFile): ApiResult => ({
  kind: "raw",
  body: f.body,
  contentType: f.contentType,
  headers: { "Cache-Control": f.cacheControl },
});

export function uiRoutes(options: UiRouteOptions): Route[] {
  const { contentPath, dir } = options;
  let build: Promise<Map<string, UiFile> | undefined> | undefined;
  const serve: RouteHandler = async (req) => {
    build ??= loadBuild(dir, contentPath);
    const files = await build;
    if (!files) {
      build = undefined; // built later (npm run build:ui while the agent runs): looked for again
      throw notFound(NOT_BUILT);
    }
    const file = files.get(req.rest);
    if (file) return answer(file);
    // A missing asset is a 404 (a stale page asking for an old hash must not get HTML as script);
    // any other path is one of the UI's own routes.
    if (req.rest.startsWith("assets/") || /\.[a-z0-9]+$/i.test(req.rest))
      throw notFound(`no such file: ${contentPath}${req.rest}`);
    return answer(files.get("index.html") as UiFile);
  };
  const bare = contentPath.slice(0, -1);
  const redirect: RouteHandler = () => ({
    kind: "empty",
    status: 301,
    headers: { Location: contentPath },
  });
  return [
    route(contentPath, { GET: serve }),
    { path: bare, prefix: false, methods: { GET: redirect } },
  ];
}

/**
 * `GET /` and the UI's own routes for a `ui_config` (undefined or disabled: `GET /` answers
 * `Consul Agent` and the content path is a 404). A reload that changes `ui_config` swaps these
 * in the server's route table; `builtDir` is the UI shipped with augur, served without `dir`.
 */
export function webUiRoutes(
  ui: { enabled: boolean; contentPath: string; dir?: string } | undefined,
  builtDir: string,
): Route[] {
  if (!ui?.enabled) return rootRoutes();
  return [
    ...rootRoutes({ uiPath: ui.contentPath }),
    ...uiRoutes({ contentPath: ui.contentPath, dir: ui.dir ?? builtDir }),
  ];
}
