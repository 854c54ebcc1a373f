/**
 * `augur validate` refuses what `augur agent` would refuse at start: check types augur does not
 * run, a DockerContainerID script, script checks without enable_script_checks or
 * enable_local_script_checks, bad durations.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AUGUR_BIN } from "../helpers/agent-process.js";

let dir: string;
before(async () => (dir = await mkdtemp(join(tmpdir(), "augur-validate-"))));
after(async () => rm(dir, { recursive: true, force: true }));

async function validate(
  name: string,
  config: object,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const file = join(dir, `${name}.json`);
  await writeFile(file, JSON.stringify({ data_dir: join(dir, "data"), ...config }));
  const run = spawnSync(process.execPath, [AUGUR_BIN, "validate", file], {
    encoding: "utf8",
    timeout: 10_000,
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

const refused: [string, object, RegExp][] = [
  [
    "os_service",
    { services: [{ name: "a", checks: [{ os_service: "sshd", interval: "10s" }] }] },
    /os_service \(OSService\) checks are not supported/,
  ],
  [
    "docker",
    {
      enable_script_checks: true,
      checks: [{ name: "d", docker_container_id: "abc", args: ["true"], interval: "10s" }],
    },
    /docker \(DockerContainerID\) checks are not supported/,
  ],
  [
    "script-disabled",
    { checks: [{ name: "s", args: ["true"], interval: "10s" }] },
    /Scripts are disabled on this agent/,
  ],
  ["bad-duration", { checks: [{ name: "t", ttl: "10 parsecs" }] }, /invalid duration/],
  ["negative-ttl", { checks: [{ name: "t", ttl: "-10s" }] }, /TTL must be > 0/],
];

for (const [name, config, why] of refused) {
  test(`validate - refuses ${name} as the agent would`, async () => {
    const run = await validate(name, config);
    assert.equal(run.status, 1, run.stdout);
    assert.match(run.stderr, /^Config validation failed: /);
    assert.match(run.stderr, why);
  });
}

test("validate - accepts a script check from a file with enable_local_script_checks", async () => {
  const run = await validate("local-script", {
    enable_local_script_checks: true,
    checks: [{ name: "s", args: ["true"], interval: "10s" }],
  });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout, "Configuration is valid!\n");
});
