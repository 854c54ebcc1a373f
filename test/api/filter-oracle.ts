/**
 * Builds and drives test/fixtures/bexpr-oracle, a Go program that runs expressions through
 * go-bexpr 0.1.2 (Debian's golang-github-hashicorp-go-bexpr-dev) against Go structs that
 * mirror Consul's. Offline: GOPATH points at Debian's source tree and modules are off.
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const SOURCE = fileURLToPath(
  new URL("../../../test/fixtures/bexpr-oracle/main.go", import.meta.url),
);
const GOPATH = "/usr/share/gocode";
const BEXPR = join(GOPATH, "src/github.com/hashicorp/go-bexpr");

export interface OracleRequest {
  target: string;
  expression: string;
  items: readonly unknown[];
}

export interface OracleAnswer {
  matched: number[] | null;
  error?: string;
  panic?: string;
}

/** Why the oracle cannot run here, or undefined when it can. */
export function oracleUnavailable(): string | undefined {
  const go = spawnSync("go", ["version"], { encoding: "utf8" });
  if (go.error || go.status !== 0)
    return "Go is not installed (apt-get install golang-go golang-github-hashicorp-go-bexpr-dev)";
  if (!existsSync(BEXPR))
    return `go-bexpr source missing at ${BEXPR} (apt-get install golang-github-hashicorp-go-bexpr-dev)`;
  return undefined;
}

/** Builds the oracle once per source version into a temp dir; returns the binary's path. */
export function buildOracle(): string {
  const source = readFileSync(SOURCE);
  const hash = createHash("sha256").update(source).digest("hex").slice(0, 12);
  const dir = join(tmpdir(), `augur-bexpr-oracle-${hash}`);
  const bin = join(dir, "bexpr-oracle");
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  const env = {
    ...process.env,
    GO111MODULE: "off",
    GOPATH,
    GOFLAGS: "",
    GOCACHE: join(dir, "cache"),
    GOPROXY: "off",
    CGO_ENABLED: "0",
  };
  const r = spawnSync("go", ["build", "-o", `${bin}.tmp`, SOURCE], { env, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`building the bexpr oracle failed: ${r.stderr}`);
  spawnSync("mv", [`${bin}.tmp`, bin]);
  return bin;
}

/** Runs every request through the oracle in one process; answers in request order. */
export async function askOracle(
  bin: string,
  requests: readonly OracleRequest[],
): Promise<OracleAnswer[]> {
  const child = spawn(bin, [], { stdio: ["pipe", "pipe", "inherit"] });
  const chunks: Buffer[] = [];
  child.stdout.on("data", (c: Buffer) => chunks.push(c));
  const done = new Promise<void>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`oracle exited ${code}`)),
    );
  });
  child.stdin.end(requests.map((r) => JSON.stringify(r)).join("\n") + "\n");
  await done;
  const lines = Buffer.concat(chunks)
    .toString("utf8")
    .split("\n")
    .filter((l) => l !== "");
  if (lines.length !== requests.length)
    throw new Error(`oracle answered ${lines.length} of ${requests.length}`);
  return lines.map((l) => JSON.parse(l) as OracleAnswer);
}
