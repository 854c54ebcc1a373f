import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

const CHILD = fileURLToPath(new URL("./emfile-delivery-child.js", import.meta.url));

/** Runs the child under a low `ulimit -n`, so running out of descriptors is real and quick. */
function runChild(out: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(
      "/bin/sh",
      ["-c", 'ulimit -n 256 && exec "$0" "$1" "$2"', process.execPath, CHILD, out],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    p.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    p.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const kill = setTimeout(() => p.kill("SIGKILL"), 30_000);
    p.once("exit", (code) => {
      clearTimeout(kill);
      resolve({ code, stdout, stderr });
    });
  });
}

void test(
  "script handler - spawn failing with EMFILE is retried, never dead-lettered, and delivered once descriptors are free",
  { timeout: 60_000 },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), "augur-emfile-"));
    try {
      const out = join(dir, "delivered.json");
      const r = await runChild(out);
      assert.equal(r.code, 0, r.stderr);
      const result = JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "{}") as {
        heldFds: number;
        failedWhileExhausted: number;
        delivered: number;
        dead: number;
        deadLetters: number;
        errors: string[];
        written: string;
      };
      assert.ok(result.heldFds > 0, "the child used up its descriptors");
      assert.ok(
        result.failedWhileExhausted >= 2,
        `attempts while out of descriptors: ${result.failedWhileExhausted}`,
      );
      assert.match(result.errors[0] ?? "", /EMFILE/);
      assert.match(result.errors[0] ?? "", /will retry/);
      assert.equal(result.dead, 0, `dead-lettered: ${result.errors.join("; ")}`);
      assert.equal(result.deadLetters, 0);
      assert.equal(result.delivered, 1);
      assert.equal(result.written, '{"n":1}\n');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
);
