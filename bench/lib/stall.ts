/**
 * What one large read does to every other request: a pinger process that sends a trivial
 * request every 2 ms and reports the longest it waited, a bare node:http server that sends a
 * captured body (the floor for a node server sending it), and one measured read.
 *
 * @module
 */
import { spawn, type ChildProcess } from "node:child_process";

/** A child process that GETs `url` every 2 ms; SIGUSR2 makes it print and reset its worst wait. */
const PINGER = `
let worst = 0;
process.on("SIGUSR2", () => { process.stdout.write(worst.toFixed(2) + "\\n"); worst = 0; });
process.stdout.write("ready\\n");
(async () => { for (;;) { const s = performance.now(); try { await fetch(process.argv[1]).then((r) => r.text()); } catch {} worst = Math.max(worst, performance.now() - s); await new Promise((r) => setTimeout(r, 2)); } })();`;

export class Pinger {
  readonly #proc: ChildProcess;
  private constructor(proc: ChildProcess) {
    this.#proc = proc;
  }
  /** Started once it says so: a SIGUSR2 before its handler is in place would end it. */
  static async start(url: string): Promise<Pinger> {
    const proc = spawn(process.execPath, ["-e", PINGER, url], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    await new Promise((resolve) => proc.stdout?.once("data", resolve));
    return new Pinger(proc);
  }
  /** The worst wait since the last call. */
  async worst(): Promise<number> {
    const line = new Promise<string>((resolve) =>
      this.#proc.stdout?.once("data", (d: Buffer) => resolve(d.toString())),
    );
    this.#proc.kill("SIGUSR2");
    return Number(await line);
  }
  stop(): void {
    this.#proc.kill();
  }
}

/** A bare node:http server answering every request with the bytes in `file`. */
export async function bareServer(file: string): Promise<{ url: string; proc: ChildProcess }> {
  const code = `const body = require("node:fs").readFileSync(process.argv[1]);
require("node:http").createServer((q, s) => {
  if (q.url === "/ping") return s.end("ok");
  s.writeHead(200, { "Content-Type": "application/json", "Content-Length": body.length });
  s.end(body);
}).listen(0, "127.0.0.1", function () { console.log(this.address().port); });`;
  const proc = spawn(process.execPath, ["-e", code, file], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<string>((resolve) =>
    proc.stdout?.once("data", (d: Buffer) => resolve(d.toString().trim())),
  );
  return { url: `http://127.0.0.1:${port}`, proc };
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One read of `url` while `pinger` pings: the read's time and the pings' worst wait. */
export async function measured(
  url: string,
  pinger: Pinger,
): Promise<{ readMs: number; pingMs: number }> {
  await pause(100);
  await pinger.worst(); // reset
  const start = performance.now();
  await (await fetch(url)).arrayBuffer();
  const readMs = performance.now() - start;
  await pause(50);
  return { readMs, pingMs: await pinger.worst() };
}
