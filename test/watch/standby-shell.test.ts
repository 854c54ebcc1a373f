/**
 * A script handler's waiting shell (src/watch/handlers/standby-shell.ts): after a delivery, the
 * next one's process is started ahead, and what the command sees through it must be exactly what
 * a direct spawn gives it: argv, environment (dash's own variables put back), stdin holding only
 * the payload, its own process group. It ends with the handler, after its idle time, and when
 * the agent dies.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, realpathSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ScriptHandler } from "../../src/watch/handlers/script-handler.js";
import type { ScriptHandlerDefinition } from "../../src/watch/types.js";
import { request } from "./handler-contract.js";
import { scriptDef, tempDir, type TempDir } from "./receivers.js";

/** The standby undoes dash's changes to the environment only; elsewhere it is not used. */
const skip =
  basename(realpathSync("/bin/sh")) === "dash"
    ? false
    : "/bin/sh is not dash: script handlers start every process directly here";

const dirs: TempDir[] = [];
/** A temporary directory removed after the file's tests. */
async function scratchDir(): Promise<TempDir> {
  const dir = await tempDir();
  dirs.push(dir);
  return dir;
}
after(async () => {
  for (const d of dirs) await d.remove();
});

const def = (over: Partial<ScriptHandlerDefinition>): ScriptHandlerDefinition =>
  scriptDef({ timeoutMs: 10_000, ...over });

/** What the command saw, written by a node one-liner to `<out>.<n>`. */
interface Seen {
  argv: string[];
  env: Record<string, string>;
  stdinSha: string;
  stdinBytes: number;
  pid: number;
  pgid: number;
}

const DUMP = `
const fs = require("node:fs");
const chunks = [];
process.stdin.on("data", (c) => chunks.push(c));
process.stdin.on("end", () => {
  const stdin = Buffer.concat(chunks);
  const stat = fs.readFileSync("/proc/self/stat", "utf8");
  const pgid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
  const out = process.argv[1];
  let n = 0;
  while (fs.existsSync(out + "." + n)) n++;
  fs.writeFileSync(out + "." + n, JSON.stringify({
    argv: process.argv.slice(2),
    env: process.env,
    stdinSha: require("node:crypto").createHash("sha256").update(stdin).digest("hex"),
    stdinBytes: stdin.length,
    pid: process.pid,
    pgid,
  }));
});
`;

const readSeen = async (out: string, n: number): Promise<Seen> =>
  JSON.parse(await readFile(`${out}.${n}`, "utf8")) as Seen;

/** Running (not gone, not a zombie waiting to be reaped). */
const alive = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
};

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const sha = (s: string): string => createHash("sha256").update(s).digest("hex");
const PER_DELIVERY = [
  "CONSUL_INDEX",
  "AUGUR_EVENT_ID",
  "AUGUR_DELIVERY_ID",
  "AUGUR_WATCH_ID",
  "AUGUR_DELIVERY_ATTEMPT",
  "AUGUR_FENCING_TOKEN",
];
const withoutPerDelivery = (env: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(env).filter(([k]) => !PER_DELIVERY.includes(k)));

void test(
  "standby shell - the second delivery runs in the process started ahead, and the command sees what a direct spawn gave it",
  { skip },
  async () => {
    const dir = await scratchDir();
    const out = join(dir.path, "seen");
    // dash sets PWD, IFS, OPTIND and PPID itself: the agent's values must reach the command.
    const env: NodeJS.ProcessEnv = {
      PATH: process.env["PATH"] ?? "/usr/bin:/bin",
      HOME: "/home/nobody",
      PWD: "/not/where/it/runs",
      IFS: ":",
      OPTIND: "3",
      QUOTED: `it's "quoted" $(not run) \`nor this\` \\ back`,
      MULTILINE: "one\ntwo\n",
      EMPTY: "",
      UNICODE: "héllo ✓",
    };
    const handler = new ScriptHandler(
      def({ args: [process.execPath, "-e", DUMP, out, "arg with spaces", "it's", "$HOME", ""] }),
      { env },
    );
    try {
      const signal = new AbortController().signal;
      // A payload bigger than a pipe's buffer, with every kind of line, after the header lines.
      const body = JSON.stringify({ lines: "x\n".repeat(200_000), unicode: "✓\u0000\r\n", n: 1 });
      assert.equal(handler.standbyPid, undefined, "no shell waits before the first delivery");
      const first = await handler.deliver(request({ body, attempt: 1 }), signal);
      assert.equal(first.kind, "delivered", JSON.stringify(first));
      await until("a shell waiting for the next delivery", () => handler.standbyPid !== undefined);
      const waiting = Number(handler.standbyPid);
      const second = await handler.deliver(
        request({ body, attempt: 2, deliveryId: "18", fencingToken: "42" }),
        signal,
      );
      assert.equal(second.kind, "delivered", JSON.stringify(second));

      const direct = await readSeen(out, 0);
      const viaStandby = await readSeen(out, 1);
      assert.equal(viaStandby.pid, waiting, "the second delivery ran in the waiting process");
      assert.notEqual(direct.pid, waiting);
      assert.deepEqual(viaStandby.argv, ["arg with spaces", "it's", "$HOME", ""]);
      assert.deepEqual(viaStandby.argv, direct.argv);
      assert.deepEqual(withoutPerDelivery(viaStandby.env), withoutPerDelivery(direct.env));
      assert.equal(viaStandby.env["PWD"], "/not/where/it/runs");
      assert.equal(viaStandby.env["IFS"], ":");
      assert.equal(viaStandby.env["OPTIND"], "3");
      assert.equal(viaStandby.env["QUOTED"], env["QUOTED"]);
      assert.equal(viaStandby.env["MULTILINE"], "one\ntwo\n");
      assert.equal(viaStandby.env["PPID"], undefined, "dash's PPID is not exported");
      // The delivery's own variables.
      const req = request();
      assert.equal(direct.env["CONSUL_INDEX"], req.index);
      assert.equal(viaStandby.env["CONSUL_INDEX"], req.index);
      assert.equal(viaStandby.env["AUGUR_EVENT_ID"], req.eventId);
      assert.equal(viaStandby.env["AUGUR_WATCH_ID"], req.watchId);
      assert.equal(viaStandby.env["AUGUR_DELIVERY_ID"], "18");
      assert.equal(viaStandby.env["AUGUR_DELIVERY_ATTEMPT"], "2");
      assert.equal(viaStandby.env["AUGUR_FENCING_TOKEN"], "42");
      assert.equal(direct.env["AUGUR_FENCING_TOKEN"], undefined);
      // stdin: only the payload and its newline, byte for byte.
      assert.equal(direct.stdinSha, sha(`${body}\n`));
      assert.equal(viaStandby.stdinSha, sha(`${body}\n`));
      assert.equal(viaStandby.stdinBytes, Buffer.byteLength(`${body}\n`));
      // Its own process group, so a timeout kills what it started too.
      assert.equal(viaStandby.pgid, viaStandby.pid);
      assert.equal(direct.pgid, direct.pid);

      // A third delivery without a fencing token: none is left over from the second.
      await until("the next waiting shell", () => handler.standbyPid !== undefined);
      const third = await handler.deliver(request({ body: "{}", attempt: 3 }), signal);
      assert.equal(third.kind, "delivered", JSON.stringify(third));
      assert.equal((await readSeen(out, 2)).env["AUGUR_FENCING_TOKEN"], undefined);
    } finally {
      handler.close();
    }
  },
);

void test(
  "standby shell - `handler` strings run through $SHELL -c the same way",
  { skip },
  async () => {
    const dir = await scratchDir();
    const out = join(dir.path, "out");
    const handler = new ScriptHandler(
      def({ shellCommand: `echo "$0|$CONSUL_INDEX|$(cat)|$PWD" >> ${out}` }),
      { env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", SHELL: "/bin/sh", PWD: "/x" } },
    );
    try {
      const signal = new AbortController().signal;
      assert.equal((await handler.deliver(request({ body: '"a"' }), signal)).kind, "delivered");
      await until("a waiting shell", () => handler.standbyPid !== undefined);
      assert.equal((await handler.deliver(request({ body: '"b"' }), signal)).kind, "delivered");
      const lines = (await readFile(out, "utf8")).trim().split("\n");
      // (The -c shell sets PWD to where it runs, as it does under a direct spawn.)
      assert.deepEqual(lines, [
        `/bin/sh|${request().index}|"a"|${process.cwd()}`,
        `/bin/sh|${request().index}|"b"|${process.cwd()}`,
      ]);
    } finally {
      handler.close();
    }
  },
);

void test(
  "standby shell - a timeout kills the process group of a command started ahead",
  { skip },
  async () => {
    const dir = await scratchDir();
    const pids = join(dir.path, "pids");
    const script = await dir.script(
      "h.sh",
      `read -r line\nif [ "$line" = '"hang"' ]; then sleep 30 & echo $! >> ${pids}; wait; fi`,
    );
    const handler = new ScriptHandler(def({ args: [script], timeoutMs: 300 }), {
      killGraceMs: 200,
      env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin" },
    });
    try {
      const signal = new AbortController().signal;
      assert.equal((await handler.deliver(request({ body: '"ok"' }), signal)).kind, "delivered");
      await until("a waiting shell", () => handler.standbyPid !== undefined);
      const hung = await handler.deliver(request({ body: '"hang"' }), signal);
      assert.equal(hung.kind, "retry");
      assert.match(JSON.stringify(hung), /timed out after 300ms; process group killed/);
      const sleeper = Number((await readFile(pids, "utf8")).trim());
      await until("the script's child to be killed with its group", () => !alive(sleeper));
    } finally {
      handler.close();
    }
  },
);

void test(
  "standby shell - not used when the environment has a name dash would drop, or a variable was hidden since it started",
  { skip },
  async () => {
    const dir = await scratchDir();
    const out = join(dir.path, "seen");
    const signal = new AbortController().signal;
    const odd = new ScriptHandler(def({ args: [process.execPath, "-e", DUMP, out] }), {
      env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", "dotted.name": "kept" },
    });
    try {
      assert.equal((await odd.deliver(request(), signal)).kind, "delivered");
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(odd.standbyPid, undefined);
      assert.equal((await odd.deliver(request(), signal)).kind, "delivered");
      assert.equal((await readSeen(out, 1)).env["dotted.name"], "kept");
    } finally {
      odd.close();
    }

    // The manager adds a signing secret's variable to the live hidden set on reload.
    const hidden = new Set<string>();
    const out2 = join(dir.path, "seen2");
    const handler = new ScriptHandler(def({ args: [process.execPath, "-e", DUMP, out2] }), {
      env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", SECRET_VAR: "s3cret" },
      hiddenEnv: hidden,
    });
    try {
      assert.equal((await handler.deliver(request(), signal)).kind, "delivered");
      await until("a waiting shell", () => handler.standbyPid !== undefined);
      const waiting = Number(handler.standbyPid);
      hidden.add("SECRET_VAR");
      assert.equal((await handler.deliver(request(), signal)).kind, "delivered");
      const seen = await readSeen(out2, 1);
      assert.notEqual(seen.pid, waiting, "the stale waiting shell was not used");
      assert.equal(seen.env["SECRET_VAR"], undefined);
      await until("the stale shell to end", () => !alive(waiting));
    } finally {
      handler.close();
    }
  },
);

void test(
  "standby shell - ends when the handler closes and after its idle time",
  { skip },
  async () => {
    const signal = new AbortController().signal;
    const env = { PATH: process.env["PATH"] ?? "/usr/bin:/bin" };
    const closing = new ScriptHandler(def({ args: ["true"] }), { env });
    assert.equal((await closing.deliver(request(), signal)).kind, "delivered");
    await until("a waiting shell", () => closing.standbyPid !== undefined);
    const pid = closing.standbyPid as number;
    closing.close();
    await until("the waiting shell to end on close", () => !alive(pid));

    const idle = new ScriptHandler(def({ args: ["true"] }), { env, standbyIdleMs: 300 });
    try {
      assert.equal((await idle.deliver(request(), signal)).kind, "delivered");
      await until("a waiting shell", () => idle.standbyPid !== undefined);
      const idlePid = idle.standbyPid as number;
      await until("the idle shell to end", () => !alive(idlePid));
      assert.equal(idle.standbyPid, undefined);
      // The next delivery starts its own process and prepares a new one.
      assert.equal((await idle.deliver(request(), signal)).kind, "delivered");
      await until("a new waiting shell", () => idle.standbyPid !== undefined);
    } finally {
      idle.close();
    }

    const none = new ScriptHandler(def({ args: ["true"] }), { env, standbyIdleMs: 0 });
    assert.equal((await none.deliver(request(), signal)).kind, "delivered");
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(none.standbyPid, undefined, "standbyIdleMs 0: no shell is kept");
  },
);

void test(
  "standby shell - ends when the process that started it is killed with SIGKILL",
  { skip },
  async () => {
    const dir = await scratchDir();
    const child = join(dir.path, "child.mjs");
    const handlerModule = fileURLToPath(
      new URL("../../src/watch/handlers/script-handler.js", import.meta.url),
    );
    await writeFile(
      child,
      `import { ScriptHandler } from ${JSON.stringify(handlerModule)};
const h = new ScriptHandler({ kind: "script", key: "k", payload: "consul", durable: true, timeoutMs: 5000,
  outputMaxSize: 4096, retry: { initialIntervalMs: 10, maxIntervalMs: 100, maxAttempts: 3, maxAgeMs: 0 },
  args: ["true"] }, { env: { PATH: process.env.PATH } });
await h.deliver({ body: "{}", index: "1", eventId: "e", deliveryId: "1", watchId: "w", attempt: 1 }, new AbortController().signal);
const t = setInterval(() => { if (h.standbyPid) { console.log(h.standbyPid); clearInterval(t); setInterval(() => {}, 1000); } }, 10);
`,
    );
    const proc = spawn(process.execPath, [child], { stdio: ["ignore", "pipe", "inherit"] });
    const pid = await new Promise<number>((resolve, reject) => {
      let got = "";
      proc.stdout.on("data", (d: Buffer) => {
        got += d.toString();
        if (got.includes("\n")) resolve(Number(got.trim()));
      });
      proc.once("exit", (code) => reject(new Error(`child exited ${code} before a shell waited`)));
    });
    assert.ok(alive(pid));
    proc.kill("SIGKILL");
    await until("the orphaned waiting shell to end (its stdin closed)", () => !alive(pid));
  },
);

void test(
  "standby shell - a `sh -c` command runs in the waiting shell itself, and its script sees what a direct spawn's shell gives it",
  { skip },
  async () => {
    const dir = await scratchDir();
    const out = join(dir.path, "seen");
    // Everything the script can see of its shell, then a failure whose message names a line.
    const script = [
      `{ echo "$0|$#|$*|$$|$(cat | wc -c)"; set; export -p; } > ${out}.$AUGUR_DELIVERY_ATTEMPT`,
      `cat /proc/$$/cmdline > ${out}.$AUGUR_DELIVERY_ATTEMPT.argv`,
      "no-such-command-here",
    ].join("\n");
    const env: NodeJS.ProcessEnv = {
      PATH: process.env["PATH"] ?? "/usr/bin:/bin",
      PWD: "/not/where/it/runs",
      IFS: ":",
      OPTIND: "3",
    };
    const handler = new ScriptHandler(
      def({ args: ["sh", "-c", script, "name", "arg one", "it's"] }),
      { env },
    );
    try {
      const signal = new AbortController().signal;
      const body = JSON.stringify({ lines: "x\n".repeat(100_000) });
      const first = await handler.deliver(request({ body, attempt: 1 }), signal);
      await until("a waiting shell", () => handler.standbyPid !== undefined);
      const waiting = Number(handler.standbyPid);
      const second = await handler.deliver(request({ body, attempt: 2 }), signal);
      // The same failure, reported the same way: exit 127, dash's message for line 2.
      assert.equal(first.kind, "permanent", JSON.stringify(first));
      assert.deepEqual(second, first);
      assert.match(JSON.stringify(first), /name: 3: no-such-command-here: not found/);

      const [direct, inPlace] = await Promise.all(
        [1, 2].map(async (n) => (await readFile(`${out}.${n}`, "utf8")).split("\n")),
      );
      const perDelivery = (line: string): boolean =>
        PER_DELIVERY.some((v) => line.includes(v)) || /^(export )?PPID=/.test(line);
      const [directHead, ...directRest] = direct as string[];
      const [inPlaceHead, ...inPlaceRest] = inPlace as string[];
      assert.equal(inPlaceHead, `name|2|arg one it's|${waiting}|${Buffer.byteLength(body) + 1}`);
      assert.equal(
        directHead?.replace(/\|\d+\|(\d+)$/, "|$1"),
        inPlaceHead?.replace(/\|\d+\|(\d+)$/, "|$1"),
      );
      // Shell variables and exported ones alike, but for the delivery's own and the parent pid.
      const vars = (lines: string[]): string[] => lines.filter((l) => !perDelivery(l));
      assert.deepEqual(vars(inPlaceRest), vars(directRest));
      assert.ok(inPlaceRest.includes("export AUGUR_DELIVERY_ATTEMPT='2'"));
      // argv: `sh -c`, the set-up, the script, then its own $0 and arguments.
      const argv = async (n: number): Promise<string[]> =>
        (await readFile(`${out}.${n}.argv`, "utf8")).split("\0").slice(0, -1);
      assert.deepEqual(await argv(1), ["sh", "-c", script, "name", "arg one", "it's"]);
      const inPlaceArgv = await argv(2);
      assert.deepEqual(inPlaceArgv.slice(0, 2), ["sh", "-c"]);
      assert.ok(inPlaceArgv[2]?.startsWith("IFS= read -r CONSUL_INDEX"), inPlaceArgv[2]);
      assert.ok(inPlaceArgv[2]?.endsWith(`;${script}`));
      assert.deepEqual(inPlaceArgv.slice(3), ["name", "arg one", "it's"]);
    } finally {
      handler.close();
    }
  },
);

void test(
  "standby shell - a `sh` that is not /bin/sh's file is exec'd, not replaced by the waiting dash",
  { skip },
  async () => {
    const dir = await scratchDir();
    const out = join(dir.path, "out");
    // A PATH whose first `sh` is the user's own wrapper: it must be what runs.
    await mkdir(join(dir.path, "bin"));
    const wrapper = join(dir.path, "bin", "sh");
    await writeFile(wrapper, `#!/bin/sh\necho "wrapped $*" >> ${out}\n`, { mode: 0o755 });
    const handler = new ScriptHandler(def({ args: ["sh", "-c", "echo direct"] }), {
      env: { PATH: `${join(dir.path, "bin")}:${process.env["PATH"] ?? "/usr/bin:/bin"}` },
    });
    try {
      const signal = new AbortController().signal;
      assert.equal((await handler.deliver(request(), signal)).kind, "delivered");
      await until("a waiting shell", () => handler.standbyPid !== undefined);
      assert.equal((await handler.deliver(request(), signal)).kind, "delivered");
      assert.deepEqual((await readFile(out, "utf8")).trim().split("\n"), [
        "wrapped -c echo direct",
        "wrapped -c echo direct",
      ]);
    } finally {
      handler.close();
    }
  },
);

void test(
  "standby shell - a `sh -c` script with a syntax error fails each delivery as a direct spawn does",
  { skip },
  async () => {
    // In place, dash parses the set-up line with the script's first line: the waiting shell
    // ends at once, and a delivery that finds it gone (or takes it as it ends) reports the same.
    const handler = new ScriptHandler(def({ args: ["sh", "-c", "if true"] }), {
      env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin" },
    });
    try {
      const signal = new AbortController().signal;
      const outcomes = [];
      for (let i = 0; i < 4; i++) {
        outcomes.push(await handler.deliver(request(), signal));
        await new Promise((r) => setTimeout(r, i * 30));
      }
      for (const o of outcomes)
        assert.deepEqual(o, {
          kind: "permanent",
          error: "exit status 2",
          output: 'sh: 1: Syntax error: end of file unexpected (expecting "then")\n',
        });
    } finally {
      handler.close();
    }
  },
);
