/**
 * The ustar subset snapshot archives use: what we write, GNU tar reads; what GNU tar writes in
 * ustar format (as Go's archive/tar writes Consul's archives), we read; anything else is refused.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { readTar, writeTar } from "../../src/lib/tar.js";

const run = promisify(execFile);

describe("tar - the snapshot archive's ustar subset", () => {
  it("tar - an archive GNU tar wrote in ustar format reads back byte for byte", async () => {
    const dir = await mkdtemp(join(tmpdir(), "augur-tar-"));
    try {
      const big = Buffer.alloc(1500, 7);
      await writeFile(join(dir, "meta.json"), "{}\n");
      await writeFile(join(dir, "state.bin"), big);
      await run("tar", ["--format=ustar", "-cf", "a.tar", "meta.json", "state.bin"], { cwd: dir });
      const entries = readTar(await readFile(join(dir, "a.tar")));
      assert.deepEqual(
        entries.map((e) => [e.name, Buffer.from(e.data).toString("hex")]),
        [
          ["meta.json", Buffer.from("{}\n").toString("hex")],
          ["state.bin", big.toString("hex")],
        ],
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("tar - what we write reads back, and a flipped byte, a truncation or a link is refused", () => {
    const archive = writeTar(
      [
        { name: "a", data: Buffer.from("x") },
        { name: "b", data: Buffer.alloc(0) },
      ],
      { mtimeSeconds: 1 },
    );
    assert.deepEqual(
      readTar(archive).map((e) => [e.name, Buffer.from(e.data).toString()]),
      [
        ["a", "x"],
        ["b", ""],
      ],
    );
    const flipped = Buffer.from(archive);
    flipped.writeUInt8(flipped.readUInt8(10) ^ 1, 10);
    assert.throws(() => readTar(flipped), /archive\/tar: invalid header/);
    assert.throws(() => readTar(archive.subarray(0, 700)), /archive\/tar: unexpected EOF/);
    const link = Buffer.from(archive);
    link.write("2", 156, "latin1"); // a symlink
    link.write("        ", 148, "latin1");
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += link.readUInt8(i);
    link.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
    assert.throws(() => readTar(link), /archive\/tar: unsupported entry type 50/);
  });
});
