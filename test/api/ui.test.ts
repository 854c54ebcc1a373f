/**
 * The web UI's serving path: files of a build by path, index.html for the UI's own routes, cache
 * headers, Content-Types, no way out of the build directory, `GET /` → 301 when the UI is on, a
 * clear 404 when there is no build, and `ui_config` / `-ui` / `-dev` in the config loader.
 * A fake build in a temp directory stands in for `vite build`, so these run without one.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "node:http";
import { startTestAgent, type TestAgent } from "../helpers/in-process-agent.js";
import { loadConfig } from "../../src/config/load.js";
import { parseAgentFlags } from "../../src/config/flags.js";

const INDEX = `<!doctype html><html><head><meta name="augur-content-path" content="/ui/" /><script type="module" src="/ui/assets/index-AbCd1234.js"></script></head><body></body></html>`;

/** A raw GET whose path is sent exactly as written (fetch would normalise `..`). */
function rawGet(url: string, path: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method: "GET" }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

describe("web UI serving", () => {
  let dir: string;
  let build: string;
  let a: TestAgent;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "augur-ui-"));
    build = join(dir, "build");
    await mkdir(join(build, "assets"), { recursive: true });
    await writeFile(join(build, "index.html"), INDEX);
    await writeFile(join(build, "assets", "index-AbCd1234.js"), "console.log(1)");
    await writeFile(join(build, "assets", "index-EfGh5678.css"), "body{}");
    await writeFile(join(build, "favicon.svg"), "<svg/>");
    await writeFile(join(dir, "secret.txt"), "top secret");
    a = await startTestAgent({ ui: { enabled: true, contentPath: "/ui/", dir: build } });
  });
  after(async () => {
    await a.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("ui - GET / redirects 301 to /ui/ when the UI is on, as Consul; /ui redirects to /ui/", async () => {
    const root = await a.call("GET", "/", undefined, {});
    assert.equal(root.redirected, true);
    const manual = await fetch(`${a.url}/`, { redirect: "manual" });
    assert.deepEqual([manual.status, manual.headers.get("location")], [301, "/ui/"]);
    const bare = await fetch(`${a.url}/ui`, { redirect: "manual" });
    assert.deepEqual([bare.status, bare.headers.get("location")], [301, "/ui/"]);
  });

  it("ui - index.html for /ui/ and the UI's own routes, no-cache, text/html", async () => {
    for (const path of ["/ui/", "/ui/index.html", "/ui/services/web", "/ui/kv/a/b/"]) {
      const res = await a.call("GET", path);
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8", path);
      assert.equal(res.headers.get("cache-control"), "no-cache", path);
      assert.equal(await res.text(), INDEX, path);
    }
  });

  it("ui - hashed assets are immutable for a year, with their Content-Type; other files no-cache", async () => {
    const js = await a.call("GET", "/ui/assets/index-AbCd1234.js");
    assert.equal(js.status, 200);
    assert.equal(js.headers.get("content-type"), "text/javascript; charset=utf-8");
    assert.equal(js.headers.get("cache-control"), "public, max-age=31536000, immutable");
    assert.equal(await js.text(), "console.log(1)");
    const css = await a.call("GET", "/ui/assets/index-EfGh5678.css");
    assert.equal(css.headers.get("content-type"), "text/css; charset=utf-8");
    const svg = await a.call("GET", "/ui/favicon.svg");
    assert.equal(svg.headers.get("content-type"), "image/svg+xml");
    assert.equal(svg.headers.get("cache-control"), "no-cache");
  });

  it("ui - a missing asset is a 404, not index.html", async () => {
    const res = await a.call("GET", "/ui/assets/index-Old00000.js");
    assert.equal(res.status, 404);
    assert.match(await res.text(), /no such file/);
    assert.equal((await a.call("GET", "/ui/nope.png")).status, 404);
  });

  it("ui - no path leaves the build: .., %2e%2e, encoded slashes and backslashes find nothing", async () => {
    for (const path of [
      "/ui/../secret.txt",
      "/ui/assets/../../secret.txt",
      "/ui/%2e%2e/secret.txt",
      "/ui/%2E%2E%2Fsecret.txt",
      "/ui/assets%2f..%2f..%2fsecret.txt",
      "/ui/..%5csecret.txt",
      "/ui/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
      "/ui//etc/passwd",
    ]) {
      const res = await rawGet(a.url, path);
      assert.ok(!res.body.includes("top secret"), path);
      assert.ok(!res.body.includes("root:"), path);
      // Either a 404 or the UI's index for a client-side route; never another file.
      assert.ok(
        res.status === 404 || (res.status === 200 && res.body === INDEX),
        `${path} ${res.status}`,
      );
    }
  });

  it("ui - only GET: PUT is a 405 with Allow, as Consul's routes", async () => {
    const res = await a.call("PUT", "/ui/", "x");
    assert.equal(res.status, 405);
    assert.equal(res.headers.get("allow"), "OPTIONS,GET");
  });
});

describe("web UI without a build, and elsewhere", () => {
  it("ui - with no build the agent runs and /ui/ answers a 404 saying how to build it", async () => {
    const a = await startTestAgent({
      ui: { enabled: true, contentPath: "/ui/", dir: join(tmpdir(), "augur-no-such-ui-build") },
    });
    try {
      const res = await a.call("GET", "/ui/services");
      assert.equal(res.status, 404);
      assert.match(await res.text(), /web UI is not built: run `npm ci`/);
      assert.equal((await a.call("GET", "/v1/status/leader")).status, 200);
    } finally {
      await a.stop();
    }
  });

  it("ui - content_path /dash/: served there, GET / redirects there, index.html names it, /ui/ is a 404", async () => {
    const dir = await mkdtemp(join(tmpdir(), "augur-ui-"));
    await writeFile(join(dir, "index.html"), INDEX);
    const a = await startTestAgent({ ui: { enabled: true, contentPath: "/dash/", dir } });
    try {
      const root = await fetch(`${a.url}/`, { redirect: "manual" });
      assert.equal(root.headers.get("location"), "/dash/");
      const page = await (await a.call("GET", "/dash/nodes")).text();
      assert.ok(page.includes('content="/dash/"') && page.includes('src="/dash/assets/'), page);
      assert.equal((await a.call("GET", "/ui/")).status, 404);
    } finally {
      await a.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("ui - with the UI off there is no /ui/ and GET / answers `Consul Agent`", async () => {
    const a = await startTestAgent();
    try {
      assert.equal((await a.call("GET", "/ui/")).status, 404);
      assert.equal(await (await a.call("GET", "/")).text(), "Consul Agent");
    } finally {
      await a.stop();
    }
  });
});

describe("ui_config and -ui", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "augur-ui-config-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));
  const load = async (flags: string[], config?: object) => {
    const files: string[] = [];
    if (config) {
      const p = join(dir, `c${Math.random().toString(36).slice(2)}.json`);
      await writeFile(p, JSON.stringify({ data_dir: join(dir, "data"), ...config }));
      files.push(p);
    }
    return loadConfig({ flags: parseAgentFlags(flags), files, dirs: [] });
  };

  it("config - -dev turns the UI on at /ui/; without it and without -ui it is off", async () => {
    assert.deepEqual((await load(["-dev"])).config.ui, { enabled: true, contentPath: "/ui/" });
    assert.equal((await load(["-data-dir", join(dir, "d")])).config.ui, undefined);
    assert.equal((await load(["-dev", "-ui=false"])).config.ui, undefined);
  });

  it("config - -ui, ui_config { enabled, content_path } (trimmed and wrapped in slashes, as Consul's UIPathBuilder), legacy `ui`", async () => {
    assert.equal((await load(["-ui", "-data-dir", join(dir, "d")])).config.ui?.enabled, true);
    const { config, notices } = await load([], {
      ui_config: { enabled: true, content_path: "//console", metrics_provider: "prometheus" },
    });
    assert.deepEqual(config.ui, { enabled: true, contentPath: "/console/" });
    assert.ok(
      notices.some((n) => n.includes('"ui_config.metrics_provider"')),
      notices.join("\n"),
    );
    assert.ok(!notices.some((n) => n.includes('"ui_config" is')), notices.join("\n"));
    assert.equal((await load([], { ui: true })).config.ui?.enabled, true);
    assert.equal(
      (await load(["-ui-content-path", "x/y/"], { ui_config: { enabled: true } })).config.ui
        ?.contentPath,
      "/x/y/",
    );
  });

  it("config - ui_config.dir with enabled is Consul's error; a path under /v1/ and a non-boolean are refused", async () => {
    await assert.rejects(
      load(["-ui", "-ui-dir", "/tmp/x", "-data-dir", join(dir, "d")]),
      /Both the ui_config.enabled and ui_config.dir/,
    );
    assert.deepEqual((await load(["-ui-dir", "/tmp/x", "-data-dir", join(dir, "d")])).config.ui, {
      enabled: true,
      contentPath: "/ui/",
      dir: "/tmp/x",
    });
    await assert.rejects(
      load([], { ui_config: { enabled: true, content_path: "/v1/" } }),
      /would hide the HTTP API/,
    );
    await assert.rejects(
      load([], { ui_config: { enabled: true, content_path: "/ui/:id" } }),
      /may only hold letters/,
    );
    await assert.rejects(
      load([], { ui_config: { enabled: "yes" } }),
      /ui_config.enabled: expected a boolean/,
    );
  });
});
