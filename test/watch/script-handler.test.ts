import { after, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ScriptHandler } from "../../src/watch/handlers/script-handler.js";
import { handlerContract, request, type Behaviour } from "./handler-contract.js";
import { RECORD, readRecorded, scriptDef, tempDir, type TempDir } from "./receivers.js";

const dirs: TempDir[] = [];
after(async () => {
  for (const d of dirs) await d.remove();
});

const def = scriptDef;

const EXIT: Record<Behaviour, string> = {
  ok: "exit 0",
  transient: "exit 75",
  permanent: "exit 2",
  hang: "sleep 30",
};

handlerContract("script handler", async (behaviour, timeoutMs) => {
  const dir = await tempDir();
  dirs.push(dir);
  const file = await dir.script("h.sh", `${RECORD(dir.path)}\n${EXIT[behaviour]}`);
  const handler = new ScriptHandler(def({ args: [file], timeoutMs }), { killGraceMs: 200 });
  return {
    handler,
    received: async () =>
      (await readRecorded(dir.path)).map((r) => ({
        body: r.body,
        index: r.env[0] ?? "",
        eventId: r.env[1] ?? "",
      })),
    close: async () => handler.close(),
  };
});

void test("script handler - stdin is byte-exact: compact JSON and one newline, HTML-escaped as Go", async () => {
  const dir = await tempDir();
  dirs.push(dir);
  const file = await dir.script("h.sh", `cat > "${dir.path}/stdin"`);
  const body = '{"Key":"a\\u003cb\\u003e","Value":null}';
  const outcome = await new ScriptHandler(def({ args: [file] })).deliver(
    request({ body }),
    new AbortController().signal,
  );
  assert.equal(outcome.kind, "delivered");
  assert.deepEqual(await readFile(join(dir.path, "stdin")), Buffer.from(`${body}\n`));
});

void test("script handler - the deprecated `handler` string runs through $SHELL -c with args intact", async () => {
  const dir = await tempDir();
  dirs.push(dir);
  const h = new ScriptHandler(
    def({
      shellCommand: `echo "$CONSUL_INDEX|$AUGUR_WATCH_ID|$AUGUR_DELIVERY_ATTEMPT" > '${dir.path}/out'; cat >/dev/null`,
    }),
    { env: { ...process.env, SHELL: "/bin/sh" } },
  );
  assert.equal(
    (await h.deliver(request({ attempt: 3 }), new AbortController().signal)).kind,
    "delivered",
  );
  assert.equal(await readFile(join(dir.path, "out"), "utf8"), "18446744073709551615|w1|3\n");
});

void test("script handler - a handler that ignores stdin (EPIPE) still succeeds", async () => {
  const body = JSON.stringify({ big: "x".repeat(1 << 20) });
  const h = new ScriptHandler(def({ args: ["/bin/true"] }));
  assert.equal(
    (await h.deliver(request({ body }), new AbortController().signal)).kind,
    "delivered",
  );
});

void test("script handler - exit 75 retries with EX_TEMPFAIL, exit 2 is permanent with Go's text", async () => {
  const h75 = new ScriptHandler(def({ args: ["/bin/sh", "-c", "exit 75"] }));
  const h2 = new ScriptHandler(def({ args: ["/bin/sh", "-c", "echo oops >&2; exit 2"] }));
  const r75 = await h75.deliver(request(), new AbortController().signal);
  const r2 = await h2.deliver(request(), new AbortController().signal);
  assert.deepEqual(
    [r75.kind, r75.kind === "retry" && r75.error],
    ["retry", "exit status 75 (EX_TEMPFAIL)"],
  );
  assert.deepEqual(
    [r2.kind, r2.kind === "permanent" && r2.error, r2.output],
    ["permanent", "exit status 2", "oops\n"],
  );
});

void test("script handler - a command that cannot start is permanent", async () => {
  const h = new ScriptHandler(def({ args: ["/nonexistent/handler"] }));
  const r = await h.deliver(request(), new AbortController().signal);
  assert.equal(r.kind, "permanent");
  assert.match(r.kind === "permanent" ? r.error : "", /ENOENT/);
});

void test("script handler - output is capped like Consul's circbuf", async () => {
  const h = new ScriptHandler(
    def({
      args: ["/bin/sh", "-c", "i=0; while [ $i -lt 100 ]; do echo 0123456789; i=$((i+1)); done"],
      outputMaxSize: 50,
    }),
  );
  const r = await h.deliver(request(), new AbortController().signal);
  assert.equal(
    r.output,
    `Captured 50 of 1100 bytes\n...\n${"0123456789\n".repeat(100).slice(-50)}`,
  );
});

/** Running (a zombie left for a non-reaping PID 1 in a container counts as dead). */
async function alive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

void test("script handler - a timeout kills the whole process group, SIGKILL after the grace", async () => {
  const dir = await tempDir();
  dirs.push(dir);
  // The script ignores SIGTERM and leaves a grandchild behind; both must die.
  const file = await dir.script(
    "hang.sh",
    `trap '' TERM\nsleep 60 &\necho $! > "${dir.path}/child"\necho $$ > "${dir.path}/self"\nwait`,
  );
  const h = new ScriptHandler(def({ args: [file], timeoutMs: 300 }), { killGraceMs: 300 });
  const started = Date.now();
  const r = await h.deliver(request(), new AbortController().signal);
  assert.equal(r.kind, "retry");
  assert.ok(Date.now() - started >= 550, "waited for the grace before SIGKILL");
  const child = Number(await readFile(join(dir.path, "child"), "utf8"));
  const self = Number(await readFile(join(dir.path, "self"), "utf8"));
  await new Promise((res) => setTimeout(res, 100));
  assert.equal(await alive(self), false);
  assert.equal(await alive(child), false, "the grandchild in the group was killed too");
});
