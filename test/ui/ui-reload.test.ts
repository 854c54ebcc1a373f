/**
 * #13: `augur reload` applies `ui_config` (enabled, content_path, dir) without a restart. A real
 * agent process reads a config file the test rewrites; `augur reload` (the real CLI) applies it.
 * With the UI off, its path is the plain 404 of any unknown path and `GET /` answers
 * `Consul Agent`, as a Consul agent started without a UI.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { AUGUR_BIN, startAgentProcess, type AgentProcess } from "../helpers/agent-process.js";
import { tempDir, type TempDir } from "../watch/receivers.js";

const BUILT = existsSync(fileURLToPath(new URL("../../ui/index.html", import.meta.url)));

describe("ui_config reload", () => {
  let dir: TempDir;
  let conf: string;
  let agent: AgentProcess;
  const get = async (path: string): Promise<{ status: number; location: string; text: string }> => {
    const res = await fetch(`${agent.url}${path}`, { redirect: "manual" });
    return {
      status: res.status,
      location: res.headers.get("location") ?? "",
      text: await res.text(),
    };
  };
  const reloadWith = async (ui: Record<string, unknown>): Promise<void> => {
    await writeFile(conf, JSON.stringify({ ui_config: ui }));
    const { stdout } = await promisify(execFile)(process.execPath, [
      AUGUR_BIN,
      "reload",
      "-http-addr",
      agent.httpAddr,
    ]);
    assert.equal(stdout, "Configuration reload triggered\n");
  };

  before(async () => {
    dir = await tempDir("augur-ui-reload-");
    conf = join(dir.path, "ui.json");
    await writeFile(conf, JSON.stringify({ ui_config: { enabled: true } }));
    agent = await startAgentProcess({ args: ["-dev", "-config-file", conf] });
  });
  after(async () => {
    await agent?.stop();
    await dir?.remove();
  });

  it("reload - ui_config.enabled = false takes the UI away; enabled = true brings it back", async () => {
    assert.deepEqual((await get("/")).location, "/ui/");
    if (BUILT) assert.equal((await get("/ui/")).status, 200);
    await reloadWith({ enabled: false });
    assert.deepEqual(await get("/ui/"), {
      status: 404,
      location: "",
      text: "404 page not found\n",
    });
    assert.deepEqual(await get("/ui/services"), {
      status: 404,
      location: "",
      text: "404 page not found\n",
    });
    assert.deepEqual(await get("/"), { status: 200, location: "", text: "Consul Agent" });
    // The API is untouched by the swap.
    assert.equal((await get("/v1/agent/self")).status, 200);
    await reloadWith({ enabled: true });
    assert.equal((await get("/")).location, "/ui/");
    if (BUILT) assert.match((await get("/ui/services")).text, /<html/i);
  });

  it("reload - a new content_path moves the UI; the old path is a 404", async () => {
    await reloadWith({ enabled: true, content_path: "/dash/" });
    assert.equal((await get("/")).location, "/dash/");
    assert.equal((await get("/dash")).location, "/dash/");
    assert.equal((await get("/ui/")).status, 404);
    if (BUILT) assert.match((await get("/dash/")).text, /"\/dash\/assets\//);
    await reloadWith({ enabled: true });
    assert.equal((await get("/dash/")).status, 404);
    assert.equal((await get("/")).location, "/ui/");
  });

  it("reload - a new dir is served from the next request", async () => {
    const other = join(dir.path, "other-ui");
    await mkdir(other);
    await writeFile(join(other, "index.html"), "<!doctype html><title>other</title>");
    await reloadWith({ dir: other });
    assert.equal((await get("/ui/")).text, "<!doctype html><title>other</title>");
    await writeFile(join(other, "index.html"), "<!doctype html><title>rebuilt</title>");
    await reloadWith({ dir: other });
    assert.equal((await get("/ui/anything")).text, "<!doctype html><title>rebuilt</title>");
  });

  it("reload - an invalid ui_config is refused and the UI stays as it was", async () => {
    await reloadWith({ enabled: true });
    await writeFile(conf, JSON.stringify({ ui_config: { enabled: true, content_path: "/v1/x/" } }));
    const res = await fetch(`${agent.url}/v1/agent/reload`, { method: "PUT" });
    assert.equal(res.status, 500);
    assert.match(await res.text(), /would hide the HTTP API under \/v1\//);
    assert.equal((await get("/")).location, "/ui/");
  });
});
