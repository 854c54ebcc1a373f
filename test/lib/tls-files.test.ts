/**
 * Reading CA bundles and key pairs as Consul's tlsutil does, with Consul's errors, and the bounds
 * that keep a wrong path from reading a disk into memory.
 */
import assert from "node:assert/strict";
import { copyFile, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  MAX_CA_PATH_FILES,
  MAX_PEM_FILE_BYTES,
  readCaBundle,
  readTlsMaterial,
} from "../../src/lib/tls-files.js";
import { makeTlsMaterial, type TlsMaterial } from "../helpers/tls-material.js";

const refusedWith = (message: string | RegExp) => (err: Error & { code?: string }) => {
  assert.equal(err.code, "CONFIG_INVALID");
  if (typeof message === "string") assert.equal(err.message, message);
  else assert.match(err.message, message);
  return true;
};

describe("lib - TLS files", () => {
  let m: TlsMaterial;
  before(async () => {
    m = await makeTlsMaterial();
  });
  after(() => m.cleanup());

  it("ca_file wins over ca_path; nothing configured is undefined", async () => {
    assert.equal(await readCaBundle({}), undefined);
    const bundle = await readCaBundle({ caFile: m.ca.cert, caPath: "/nonexistent" });
    assert.equal(bundle?.length, 1);
  });

  it("ca_path - an empty directory is Consul's 'no CAs found'; a missing one names its path", async () => {
    const empty = join(m.dir, "empty");
    await mkdir(empty);
    await assert.rejects(
      readCaBundle({ caPath: empty }),
      refusedWith("Error loading from CAPath: no CAs found"),
    );
    await assert.rejects(
      readCaBundle({ caPath: join(m.dir, "missing") }),
      refusedWith(`Error loading from ${join(m.dir, "missing")}: no such file or directory`),
    );
  });

  it("a file that holds no certificate is refused (Go's 'failed to parse PEM')", async () => {
    await assert.rejects(readCaBundle({ caFile: m.ca.key }), refusedWith(/^failed to parse PEM /));
  });

  it("bounds - a file over 1 MiB, and more than 512 files under ca_path, are refused", async () => {
    const big = join(m.dir, "big.pem");
    await writeFile(big, Buffer.alloc(MAX_PEM_FILE_BYTES + 1, 0x41));
    await assert.rejects(readCaBundle({ caFile: big }), refusedWith(/more than 1048576/));
    const many = join(m.dir, "many");
    await mkdir(many);
    for (let i = 0; i <= MAX_CA_PATH_FILES; i++)
      await copyFile(m.ca.cert, join(many, `${String(i).padStart(4, "0")}.pem`));
    await assert.rejects(readCaBundle({ caPath: many }), refusedWith(/more than 512 files/));
  });

  it("key pair - a missing key is Consul's 'Failed to load cert/key pair'", async () => {
    await assert.rejects(
      readTlsMaterial({ certFile: m.server.cert, keyFile: join(m.dir, "nokey.pem") }),
      refusedWith(
        `Failed to load cert/key pair: open ${join(m.dir, "nokey.pem")}: no such file or directory`,
      ),
    );
    const ok = await readTlsMaterial({ certFile: m.server.cert, keyFile: m.server.key });
    assert.ok(ok.cert && ok.key && ok.ca === undefined);
  });
});
