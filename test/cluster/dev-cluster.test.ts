/** `augur dev-cluster --nodes 2`: a 3-member etcd and two agents in one command, stopped by Ctrl-C. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { AUGUR_BIN } from "../helpers/agent-process.js";

describe("augur dev-cluster", () => {
  it("dev-cluster - starts etcd and N agents that see each other, and stops them all on SIGINT", async () => {
    const proc = spawn(process.execPath, [AUGUR_BIN, "dev-cluster", "--nodes", "2"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    proc.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    proc.stderr.setEncoding("utf8").on("data", (d: string) => (out += d));
    const end = Date.now() + 30_000;
    while (!out.includes("Ctrl-C") && Date.now() < end && proc.exitCode === null)
      await new Promise((r) => setTimeout(r, 100));
    const addrs = [...out.matchAll(/agent-\d+: (http:\/\/\S+)/g)].map((m) => m[1]);
    assert.equal(addrs.length, 2, out);
    const members = (await (await fetch(`${addrs[1]}/v1/agent/members`)).json()) as {
      Name: string;
      Status: number;
    }[];
    assert.deepEqual(
      members.map((m) => [m.Name, m.Status]),
      [
        ["agent-1", 1],
        ["agent-2", 1],
      ],
    );
    const exited = new Promise<number | null>((r) => proc.once("exit", r));
    proc.kill("SIGINT");
    assert.equal(await exited, 0);
    const left = execFileSync("sh", ["-c", "pgrep -f augur-dev-cluste[r]- || true"], {
      encoding: "utf8",
    }).trim();
    assert.equal(left, "", "etcd members or agents were left running");
  });
});
